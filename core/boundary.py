"""Decision-boundary grids: class probabilities over a padded box around 2-D data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from core.models import predict_proba


@dataclass(frozen=True, eq=False)
class BoundaryGrid:
    """Probabilities on a regular grid: proba[i, j] is for the point (xs[j], ys[i])."""

    xs: np.ndarray  # (resolution,)
    ys: np.ndarray  # (resolution,)
    proba: np.ndarray  # (resolution, resolution, n_classes) float32

    @property
    def predicted(self) -> np.ndarray:
        """(resolution, resolution) winning class per grid cell."""
        return self.proba.argmax(axis=2)


def grid_box(X: np.ndarray, *, padding: float = 0.5) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) of 2-D points X, padded on every side."""
    if X.ndim != 2 or X.shape[1] != 2 or len(X) == 0:
        raise ValueError(f"A decision boundary needs 2-D points of shape (n, 2). Got {X.shape} instead.")
    lo, hi = X.min(axis=0) - padding, X.max(axis=0) + padding
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def boundary_grid(model: nn.Module, X: np.ndarray | None = None, *, resolution: int = 200,
                  padding: float = 0.5, box: tuple[float, float, float, float] | None = None) -> BoundaryGrid:
    """Evaluate the model on a resolution x resolution grid over `box` (default: around X)."""
    if resolution < 2:
        raise ValueError(f"resolution must be > 1. Got {resolution} instead.")
    if box is None:
        if X is None:
            raise ValueError("boundary_grid needs the data X or an explicit box.")
        box = grid_box(X, padding=padding)
    x0, x1, y0, y1 = box
    xs = np.linspace(x0, x1, resolution, dtype=np.float32)
    ys = np.linspace(y0, y1, resolution, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)  # (r, r) each; rows follow ys
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    proba = predict_proba(model, points, batch_size=resolution * resolution)
    return BoundaryGrid(xs, ys, proba.reshape(resolution, resolution, -1))
