"""Real MNIST digits as phone photos of handwriting (grey paper, uneven light, blur, noise, JPEG) and as clean scans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from core.data.mnist import read_idx
from tests.image_corpus import encode

# Picked once, before any run of the pipeline, and never changed: the photos are not tuned to pass.
PHOTO_SEED = 9_2025
PHOTO_SIDES = (400, 900)  # the photo's shorter side, px: a phone photo sent at a typical "medium" size
DIGIT_FRACTION = (0.3, 0.6)  # the digit's height as a share of the shorter side: held close, or from arm's length
PAPER = (160.0, 220.0)  # grey paper under room light, 0-255
INK = (40.0, 110.0)  # pencil or a worn pen: grey, not black
LIGHT = (0.1, 0.25)  # a window on one side: brightness falls by up to +-25% across the sheet
VIGNETTE = (0.0, 0.15)  # darker corners, as a phone lens gives
TILT = 8.0  # degrees either way
BLUR = (0.8, 2.5)  # Gaussian radius, px: focus and hand shake
NOISE = (2.0, 6.0)  # sensor noise, grey levels (standard deviation)
TINT = 10.0  # warm or cool paper: each channel off by up to this many grey levels
JPEG_QUALITY = 70  # what messaging apps re-encode photos at


def mnist_test_digits(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The official MNIST test images (10000, 28, 28) uint8, white on black, and their labels."""
    return read_idx(folder / "t10k-images-idx3-ubyte.gz"), read_idx(folder / "t10k-labels-idx1-ubyte.gz")


def clean_scan(digit: np.ndarray) -> bytes:
    """A clean scan: the digit black on white at 4x (each MNIST pixel a 4x4 block), as a PNG."""
    return encode(Image.fromarray(255 - digit).resize((112, 112), Image.Resampling.NEAREST), "PNG")


def phone_photo(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """One digit photographed on grey paper: tilted, unevenly lit, blurred, noisy, tinted, saved as JPEG."""
    short = int(rng.integers(PHOTO_SIDES[0], PHOTO_SIDES[1] + 1))
    height, width = (short, short * 4 // 3) if rng.random() < 0.5 else (short * 4 // 3, short)
    alpha = _placed_ink(digit, (height, width), rng)
    reflectance = rng.uniform(*PAPER) * (1.0 - alpha) + rng.uniform(*INK) * alpha
    gray = Image.fromarray(np.clip(reflectance * _lighting((height, width), rng), 0, 255).astype(np.uint8))
    blurred = np.asarray(gray.filter(ImageFilter.GaussianBlur(rng.uniform(*BLUR))), dtype=np.float32)
    noisy = blurred + rng.standard_normal((height, width), dtype=np.float32) * rng.uniform(*NOISE)
    rgb = noisy[..., None] + rng.uniform(-TINT, TINT, size=3).astype(np.float32)  # (h, w) -> (h, w, 3)
    return encode(Image.fromarray(np.clip(rgb, 0, 255).round().astype(np.uint8)), "JPEG", quality=JPEG_QUALITY)


def phone_photos(digits: np.ndarray, *, seed: int = PHOTO_SEED) -> list[bytes]:
    """One photo per digit, all drawn from one seeded generator."""
    rng = np.random.default_rng(seed)
    return [phone_photo(digit, rng) for digit in digits]


def _placed_ink(digit: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """(h, w) ink coverage in [0, 1]: the digit scaled up, tilted and put somewhere on the sheet."""
    height, width = size
    # MNIST's digit fills 20 of its 28 pixels; scale so those 20 span the chosen share of the shorter side.
    frame_side = round(28 * rng.uniform(*DIGIT_FRACTION) * min(size) / 20)
    frame = Image.fromarray(digit).resize((frame_side, frame_side), Image.Resampling.BICUBIC)
    frame = frame.rotate(rng.uniform(-TILT, TILT), resample=Image.Resampling.BICUBIC, expand=True)
    ink = np.zeros(size, dtype=np.float32)
    top = int(rng.integers(0, height - frame.height + 1))
    left = int(rng.integers(0, width - frame.width + 1))
    ink[top: top + frame.height, left: left + frame.width] = np.asarray(frame, dtype=np.float32) / 255.0
    return np.clip(ink, 0.0, 1.0)


def _lighting(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """(h, w) brightness factor around 1: a linear fall-off in a random direction times a lens vignette."""
    rows = np.linspace(-1.0, 1.0, size[0], dtype=np.float32)[:, None]  # (h, 1)
    cols = np.linspace(-1.0, 1.0, size[1], dtype=np.float32)[None, :]  # (1, w): together, (h, w)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    slope = rng.uniform(*LIGHT) * (np.cos(angle) * cols + np.sin(angle) * rows) / np.sqrt(2.0)
    vignette = rng.uniform(*VIGNETTE) * (rows**2 + cols**2) / 2.0
    return ((1.0 + slope) * (1.0 - vignette)).astype(np.float32)

