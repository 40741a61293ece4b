"""Augmentation of digit images: each training batch randomly shifted, rotated and scaled, in memory, on its device.

One affine warp per image (torch's affine_grid + grid_sample) does all three at once. The random amounts come
from the run's own generator (on the CPU, so any device draws the same numbers), seeded from the run's seed:
the same seed, the same warps. Validation and test images are never touched.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from core.config import augment_strengths

SEED_OFFSET = 19_019  # the augmentation's generator: seed + this, a stream apart from the shuffle order's
SIDE = 28  # pixels a side: a shift of SIDE / 2 pixels is 1 in affine_grid's [-1, 1] coordinates


class Augmenter:
    """Warps batches of (B, 1, 28, 28) images by random amounts within the chosen strengths."""

    def __init__(self, augment: tuple[str, ...], seed: int) -> None:
        strengths = augment_strengths(augment)
        self.shift = strengths.get("shift", 0.0) * 2 / SIDE  # pixels -> grid units
        self.rotate = math.radians(strengths.get("rotate", 0.0))
        self.scale = strengths.get("scale", 0.0) / 100
        self.generator = torch.Generator().manual_seed(seed + SEED_OFFSET)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """A warped copy of `images` (B, 1, 28, 28), in their memory format; each image its own draw."""
        # Four numbers per image, always drawn, whichever warps are on: the stream does not depend on the choice.
        u = torch.rand((len(images), 4), generator=self.generator) * 2 - 1  # uniform in [-1, 1]
        angle, zoom = u[:, 0] * self.rotate, 1 + u[:, 1] * self.scale
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom  # the grid maps output -> input: 1/zoom
        theta = torch.stack([torch.stack([cos, -sin, u[:, 2] * self.shift], 1),
                             torch.stack([sin, cos, u[:, 3] * self.shift], 1)], 1)  # (B, 2, 3)
        theta = theta.to(device=images.device, dtype=images.dtype)
        grid = nn.functional.affine_grid(theta, list(images.shape), align_corners=False)  # (B, 28, 28, 2)
        # "border": pixels warped in from outside copy the edge, which is the background in every digit
        warped = nn.functional.grid_sample(images, grid, padding_mode="border", align_corners=False)
        channels_last = images.is_contiguous(memory_format=torch.channels_last)
        return warped.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
