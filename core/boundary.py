"""Decision-boundary grids: class probabilities over a padded box around 2-D data."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
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


class GridShare(Protocol):
    """Boundaries shared between the drawers of one run (core.training.shared_runs.SharedFrames), by position."""

    def get(self, position: int) -> BoundaryGrid | None: ...

    def offer(self, position: int, grid: BoundaryGrid) -> None: ...


class RunSnapshots(Sequence):
    """A run's boundaries, one per kept set of weights, each computed the first time it is asked for.

    Training keeps only the weights after each epoch (a few hundred numbers for a 2-D net); the grid is
    drawn from them on demand: the Train page's final view needs the last one, the replay all of them.
    `states` are the recorder's (epoch, state) records (core.training.recorder.EpochState). With `shared`, the
    boundaries of a run that the server's sessions share (core.training.shared_runs): a grid another session has
    drawn is taken from there, and one drawn here is offered to it, so a class showing the same run draws each
    boundary once.

    Only `model`'s structure is used: each state is loaded into a private copy of it, made when a grid is first
    drawn here (a shared run whose boundaries were all drawn elsewhere copies nothing).
    """

    def __init__(self, model: nn.Module, states: Sequence, box: tuple[float, float, float, float], *,
                 resolution: int = 40, shared: GridShare | None = None) -> None:
        self._source: nn.Module | None = model
        self._model: nn.Module | None = None  # the private copy that each state is loaded into in turn
        self._states, self._box, self._resolution = tuple(states), box, resolution
        self._grids: dict[int, BoundaryGrid] = {}
        self._shared = shared

    def share(self, shared: GridShare) -> None:
        """Take and offer boundaries through `shared` from now on (the run has just been kept for sharing)."""
        self._shared = shared

    def __getstate__(self) -> dict:
        """A copy or pickle (a fork, the session store) keeps the boundaries drawn so far and draws the rest
        itself: what the server's sessions share stays with this server's drawers."""
        return {**self.__dict__, "_shared": None}

    def __len__(self) -> int:
        return len(self._states)

    @property
    def drawn(self) -> int:
        """How many of the boundaries this object holds so far (what it holds grows with it)."""
        return len(self._grids)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        state = self._states[index]
        position = index % len(self)
        if position not in self._grids:
            grid = self._shared.get(position) if self._shared is not None else None
            if grid is None:
                grid = self._draw(state.state)
                if self._shared is not None:
                    self._shared.offer(position, grid)
            self._grids[position] = grid
        return Snapshot(state.epoch, self._grids[position])

    def _draw(self, state: Mapping[str, np.ndarray]) -> BoundaryGrid:
        if self._model is None:
            self._model, self._source = copy.deepcopy(self._source), None
        self._model.load_state_dict({name: torch.from_numpy(v.copy()) for name, v in state.items()})
        return boundary_grid(self._model, box=self._box, resolution=self._resolution)
