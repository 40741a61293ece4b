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


@dataclass(frozen=True)
class Snapshot:
    """The decision boundary after `epoch` epochs."""

    epoch: int
    grid: BoundaryGrid


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


class BoundaryRecorder:
    """An `on_epoch` callback that keeps the boundary every `every` epochs, and after the last one."""

    def __init__(self, X: np.ndarray, *, every: int, epochs: int, resolution: int = 60) -> None:
        if every < 1:
            raise ValueError(f"every must be at least 1 epoch. Got {every} instead.")
        self.box, self.every, self.epochs, self.resolution = grid_box(X), every, epochs, resolution
        self.snapshots: list[Snapshot] = []

    def __call__(self, stats, model: nn.Module) -> None:
        if stats.epoch % self.every == 0 or stats.epoch == self.epochs:
            self.record(stats.epoch, model)

    def record(self, epoch: int, model: nn.Module) -> None:
        """Keep the boundary after `epoch` (once per epoch)."""
        if self.snapshots and self.snapshots[-1].epoch == epoch:
            return
        grid = boundary_grid(model, box=self.box, resolution=self.resolution)
        self.snapshots.append(Snapshot(epoch, grid))

    @property
    def latest(self) -> Snapshot | None:
        return self.snapshots[-1] if self.snapshots else None
