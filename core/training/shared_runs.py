"""Finished slider-move runs, shared by every session of one server: a setting trained once is not trained again.

A class works through the same lesson, so thirty students move the same sliders to the same places on the same data.
A run is a pure function of what it trains on and how (its own seeded generators, never the process-wide one;
tests/test_reproducible.py), so the second student to ask for a setting gets the first one's run, weights and
records identical to what training again would give, without the training. Only the short 2-D runs a page trains in
its own thread (core.lab: a slider move, or Train on a run that short) are shared, and only on the generated
datasets: nobody's own points are kept here. Each session loads the weights into its own model; the records every
adopting session reads are the same arrays, made read-only when kept. So are the run's boundaries (SharedFrames): the
final one is drawn once, when the run is kept (the Train page shows it after every move), and each replay frame by
the first session that plays it; they count against MAX_BYTES with the run, and once the store is full a session
draws what is not kept for itself.

Bounded by $NNLAB_SHARED_RUNS runs (0 turns sharing off) and MAX_BYTES, least recently used first out.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from core.boundary import BoundaryGrid, RunSnapshots
from core.config import OWN_POINTS, DataConfig, ModelConfig, RunOptions, TrainConfig
from core.data.dataset import Dataset
from core.training.result import TrainResult
from core.training.state_copy import StateCopier

SHARED_RUNS_ENV = "NNLAB_SHARED_RUNS"
DEFAULT_RUNS = 256  # a lesson's settings on a few datasets; a small 2-D run with its records is ~50-200 kB
MAX_BYTES = 128 * 1024 * 1024  # all kept runs together at most; one run over a quarter of it is not kept
KEPT = ("completed", "converged", "early_stopped", "still_improving", "diverged", "stalled", "not_learning")


class SharedFrames:
    """A kept run's boundaries by position (core.boundary.GridShare), shared by the drawers of every session that
    shows the run: read without a lock, added through the store, which counts their bytes. A copy of a drawer (a
    fork, a pickle) leaves it behind, and the session store's walk does not go into it (no __dict__)."""

    __slots__ = ("_store", "_key", "_grids", "nbytes")

    def __init__(self, store: SharedRuns, key: tuple) -> None:
        self._store, self._key, self._grids, self.nbytes = store, key, {}, 0

    def get(self, position: int) -> BoundaryGrid | None:
        return self._grids.get(position)

    def offer(self, position: int, grid: BoundaryGrid) -> None:
        self._store._keep_frame(self, position, grid)

    def _add(self, position: int, grid: BoundaryGrid) -> int:
        """Keep `grid` (read-only from now on) and return its bytes; the store's lock held, or the run not yet in
        the store."""
        _read_only(_grid_arrays(grid))
        self._grids[position] = grid
        size = _nbytes(grid)
        self.nbytes += size
        return size

    def __len__(self) -> int:
        return len(self._grids)


@dataclass(frozen=True)
class SharedRun:
    """A finished run as kept: its result (without the boundary drawer, which holds a model), final weights, and
    boundaries (`frames`; the final one drawn when kept, unless the run kept no weights, e.g. one that diverged).
    `nbytes` counts the result and weights; the frames count their own."""

    result: TrainResult
    weights: dict[str, np.ndarray]
    nbytes: int
    frames: SharedFrames

    @property
    def held(self) -> int:
        """Bytes of the run with its boundaries drawn so far."""
        return self.nbytes + self.frames.nbytes


def data_digest(data: Dataset) -> str:
    """A digest of what training reads from `data`: the training and validation points and labels."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (data.X_train, data.y_train, data.X_val, data.y_val):
        a = np.ascontiguousarray(array if array is not None else np.zeros(0))
        digest.update(f"{a.dtype}{a.shape}".encode())
        digest.update(a.data)
    return digest.hexdigest()


def run_key(config: DataConfig, data: Dataset, model: ModelConfig, train: TrainConfig, options: RunOptions,
            records: tuple[int, int]) -> tuple | None:
    """What decides a run's outcome, as a key; None for data that is someone's own (never shared)."""
    if config.name == OWN_POINTS or data.is_image:
        return None
    return data_digest(data), model, train, options, records


def _read_only(arrays: list[np.ndarray]) -> None:
    """Every session reads these very arrays: none may write to them (nor to the array one is a view of)."""
    for array in arrays:
        array.setflags(write=False)
        if isinstance(array.base, np.ndarray):  # a view (the kept weights: of their epoch's one flat copy)
            array.base.setflags(write=False)


def _grid_arrays(grid: BoundaryGrid) -> list[np.ndarray]:
    return [grid.xs, grid.ys, grid.proba]


def _nbytes(grid: BoundaryGrid) -> int:
    return sum(a.nbytes for a in _grid_arrays(grid))


class SharedRuns:
    """A thread-safe, bounded store of finished runs by `run_key`, least recently used out first."""

    def __init__(self, capacity: int, max_bytes: int = MAX_BYTES) -> None:
        if capacity < 0:
            raise ValueError(f"capacity must be 0 or more runs. Got {capacity} instead.")
        self.capacity, self.max_bytes = capacity, max_bytes
        self._runs: OrderedDict[tuple, SharedRun] = OrderedDict()
        self._lock = threading.Lock()
        self.nbytes = self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._runs)

    def get(self, key: tuple | None, *, miss_counted: bool = True) -> SharedRun | None:
        """The run kept under `key`, or None. A hit is counted; a miss only with `miss_counted` (a first look that
        is tried again once the page lane is free counts once, as what the second look finds)."""
        if key is None or not self.capacity:
            return None
        with self._lock:
            run = self._runs.get(key)
            if run is not None:
                self._runs.move_to_end(key)
            self.hits, self.misses = self.hits + (run is not None), self.misses + (run is None and miss_counted)
            return run

    def put(self, key: tuple | None, result: TrainResult, model: nn.Module) -> SharedRun | None:
        """Keep a finished run (one that the user or the time limit stopped is not the setting's run) and return it
        as kept. Its final boundary is drawn here when it has not been yet: the page that trained it shows it
        next, from the same drawer, which from now on shares its boundaries through the kept run's frames."""
        if key is None or not self.capacity or result.status not in KEPT:
            return None
        weights = StateCopier().copy(model).arrays()  # on the CPU, one flat copy that the names view
        kept = SharedRun(replace(result, snapshots=()), weights,
                         result.records_nbytes() + sum(a.nbytes for a in weights.values()), SharedFrames(self, key))
        at = result.kept_index if result.snapshots else None  # the boundary shown after the run: the kept weights'
        final = result.snapshots[at].grid if at is not None else None
        size = kept.nbytes + (_nbytes(final) if final is not None else 0)
        if size > self.max_bytes // 4:
            return None
        _read_only([*weights.values(), *result.record_arrays()])
        if final is not None:
            kept.frames._add(at, final)
        with self._lock:
            old = self._runs.pop(key, None)
            self.nbytes -= old.held if old is not None else 0
            self._runs[key] = kept
            self.nbytes += kept.held
            self._evict()
        if isinstance(result.snapshots, RunSnapshots):
            result.snapshots.share(kept.frames)
        return kept

    def _evict(self) -> None:
        """Least recently used runs out until the store is within its bounds (lock held)."""
        while len(self._runs) > self.capacity or self.nbytes > self.max_bytes:
            self.nbytes -= self._runs.popitem(last=False)[1].held

    def _keep_frame(self, frames: SharedFrames, position: int, grid: BoundaryGrid) -> None:
        """Add a boundary a session has drawn to a kept run's frames, while the run is still kept and the store has
        room for it; otherwise the session keeps it for itself alone."""
        size = _nbytes(grid)
        with self._lock:
            run = self._runs.get(frames._key)
            if run is None or run.frames is not frames or position in frames._grids or (
                    self.nbytes + size > self.max_bytes):
                return
            self.nbytes += frames._add(position, grid)

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()
            self.nbytes = self.hits = self.misses = 0


def load_weights(model: nn.Module, run: SharedRun) -> None:
    """Copy the run's final weights into `model` (the session's own)."""
    with torch.no_grad():
        model.load_state_dict({name: torch.from_numpy(w.copy()) for name, w in run.weights.items()})


def shared_runs_setting(environ: Mapping[str, str] | None = None) -> int:
    """Runs kept: $NNLAB_SHARED_RUNS when set (0 turns sharing off), else DEFAULT_RUNS."""
    text = (os.environ if environ is None else environ).get(SHARED_RUNS_ENV, "").strip()
    if not text:
        return DEFAULT_RUNS
    if not text.isdigit():
        raise ValueError(f"{SHARED_RUNS_ENV} must be a whole number of runs (0 turns sharing off). "
                         f"Got {text!r} instead.")
    return int(text)


SHARED_RUNS = SharedRuns(shared_runs_setting())
