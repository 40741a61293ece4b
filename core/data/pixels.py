"""Pixel helpers shared by the datasets and the upload pipeline: normalisation, resizing, centring."""

from __future__ import annotations

import numpy as np
from PIL import Image

# MNIST training-set pixel statistics, used for every image input (training and uploads).
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def normalize_pixels(pixels: np.ndarray) -> np.ndarray:
    """[0, 1] pixels -> model input, with the MNIST constants."""
    return ((pixels - MNIST_MEAN) / MNIST_STD).astype(np.float32)


def to_pixels(X: np.ndarray) -> np.ndarray:
    """Model input -> [0, 1] pixels for display (inverse of `normalize_pixels`)."""
    return np.clip(X * MNIST_STD + MNIST_MEAN, 0.0, 1.0)


def resize_pixels(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a float [0, 1] image to (height, width) with antialiasing."""
    img = Image.fromarray(pixels.astype(np.float32), mode="F")
    return np.asarray(img.resize((size[1], size[0]), Image.Resampling.BILINEAR), dtype=np.float32)


def center_by_mass(frame: np.ndarray) -> np.ndarray:
    """Shift ink so its centre of mass sits on pixel (h // 2, w // 2), as MNIST was made."""
    total = frame.sum()
    if total <= 0:
        return frame
    rows, cols = np.indices(frame.shape)
    h, w = frame.shape
    # MNIST's test digits have their centre of mass at (14.0, 14.0) +- 0.3 (whole-pixel shifts), not 13.5.
    dy = int(round(h // 2 - (rows * frame).sum() / total))
    dx = int(round(w // 2 - (cols * frame).sum() / total))
    # A lopsided digit (a heavy bar, a thin stem) may want a shift past the frame's edge: never cut ink off.
    ink_rows, ink_cols = np.flatnonzero(frame.any(axis=1)), np.flatnonzero(frame.any(axis=0))
    dy = min(max(dy, -int(ink_rows[0])), h - 1 - int(ink_rows[-1]))
    dx = min(max(dx, -int(ink_cols[0])), w - 1 - int(ink_cols[-1]))
    out = np.zeros_like(frame)
    src = frame[max(0, -dy): h - max(0, dy), max(0, -dx): w - max(0, dx)]
    out[max(0, dy): max(0, dy) + src.shape[0], max(0, dx): max(0, dx) + src.shape[1]] = src
    return out
