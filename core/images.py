"""Uploaded image bytes -> a 28x28 MNIST-style model input, keeping every intermediate step."""

from __future__ import annotations

import numpy as np
from PIL import Image


def resize_pixels(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a float [0, 1] image to (height, width) with antialiasing."""
    img = Image.fromarray(pixels.astype(np.float32), mode="F")
    return np.asarray(img.resize((size[1], size[0]), Image.Resampling.BILINEAR), dtype=np.float32)


def center_by_mass(frame: np.ndarray) -> np.ndarray:
    """Shift ink so its centre of mass sits at the frame's centre (as MNIST was made)."""
    total = frame.sum()
    if total <= 0:
        return frame
    rows, cols = np.indices(frame.shape)
    dy = int(round((frame.shape[0] - 1) / 2 - (rows * frame).sum() / total))
    dx = int(round((frame.shape[1] - 1) / 2 - (cols * frame).sum() / total))
    out = np.zeros_like(frame)
    h, w = frame.shape
    src = frame[max(0, -dy): h - max(0, dy), max(0, -dx): w - max(0, dx)]
    out[max(0, dy): max(0, dy) + src.shape[0], max(0, dx): max(0, dx) + src.shape[1]] = src
    return out
