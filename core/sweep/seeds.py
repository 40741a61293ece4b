"""A seed spread: the current settings trained with several seeds, to see how much a result owes to chance.

The cells differ only in their seeds (the shuffle order and dropout masks, and the starting weights, both set to
the base seeds plus k); the data and its split stay as they are. Cells of a 2-D MLP train together as one batched
model (core.sweep.batched), others one after another, on the local backend behind interactive runs. The summary
sets the spread of the final validation accuracy across seeds beside the 95% interval that the size of the
validation split alone gives one run: a change smaller than both is not shown to be real.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from core.config import RunOptions, Settings
from core.data.dataset import Dataset
from core.evaluate import accuracy_interval
from core.sweep.grid import CellResult, SweepCell, SweepError
from core.sweep.run import LocalBackend, check_cells
from core.training.budget import Budget
from core.training.jobs import SHARED_SLOTS, JobSlots

SEEDS = 5  # "Train 5 seeds"
MAX_SEEDS = 10


@dataclass(frozen=True)
class SeedSpread:
    """The validation curves and final validation accuracies of runs that differ only by seed."""

    seeds: tuple[int, ...]  # the shuffle (and weight) seed of each run, in order
    val_acc: np.ndarray  # (runs, epochs) validation accuracy per epoch, NaN after a run ended
    final: np.ndarray  # (runs,) the final validation accuracy of each run (of the weights it kept)
    n_val: int  # validation points: the size behind each run's 95% interval
    statuses: tuple[str, ...]

    @property
    def mean(self) -> float:
        return float(self.final.mean())

    @property
    def sd(self) -> float:
        """The sample standard deviation across seeds (0 for a single run)."""
        return float(self.final.std(ddof=1)) if len(self.final) > 1 else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        """The 95% interval (Wilson) of one run's accuracy at the mean, from the validation split's size alone."""
        return accuracy_interval(self.mean, self.n_val)


def seed_cells(settings: Settings, *, seeds: int = SEEDS) -> list[SweepCell]:
    """`seeds` cells of `settings`, cell k with both seeds raised by k (cell 0 is the current run)."""
    if not 2 <= seeds <= MAX_SEEDS:
        raise SweepError(f"A seed spread trains 2 to {MAX_SEEDS} seeds. Got {seeds}.")
    train = settings.train
    return [SweepCell(k, (train.seed + k,), settings.data, settings.model,
                      replace(train, seed=train.seed + k, init_seed=train.init_seed + k)) for k in range(seeds)]


def summarize(cells: list[CellResult]) -> SeedSpread:
    """The spread of finished cells (in seed order); SweepError when none has a validation score."""
    cells = sorted(cells, key=lambda c: c.cell.index)
    if not cells or any(math.isnan(c.val_acc) for c in cells):
        raise SweepError("A seed spread compares validation accuracy: set a validation share above 0.")
    epochs = max(len(c.history) for c in cells)
    curves = np.full((len(cells), epochs), np.nan)
    for row, c in enumerate(cells):
        curves[row, :len(c.history)] = [s.val_acc for s in c.history]
    n_val = int(cells[0].metrics["validation"]["n_samples"])
    return SeedSpread(tuple(c.cell.train.seed for c in cells), curves, np.array([c.val_acc for c in cells]), n_val,
                      tuple(c.status for c in cells))


def seed_spread(settings: Settings, data: Dataset, *, seeds: int = SEEDS, options: RunOptions = RunOptions(),  # noqa: B008
                slots: JobSlots | None = None, should_stop: Callable[[], bool] | None = None,
                budget: Budget | None = None) -> SeedSpread:
    """Train `settings` with `seeds` seeds (batched where the model allows) and summarize the spread; with
    `budget`, the runs stop at its time limit as a run does."""
    if not data.has_validation:
        raise SweepError("A seed spread compares validation accuracy: set a validation share above 0.")
    stop = should_stop or (lambda: False)
    done = list(LocalBackend(slots, budget).results(seed_cells(settings, seeds=seeds), data, options, stop))
    if len(done) < seeds:
        raise SweepError(f"Stopped after {len(done)} of {seeds} seeds: train them again to see the spread.")
    return summarize(done)


class SeedSpreadJob:
    """A seed spread on a daemon thread, behind interactive runs in the job slots: poll `done`, then `spread` or
    `error`."""

    def __init__(self, settings: Settings, data: Dataset, *, seeds: int = SEEDS, options: RunOptions = RunOptions(),  # noqa: B008
                 slots: JobSlots | None = SHARED_SLOTS, budget: Budget | None = None) -> None:
        cells = seed_cells(settings, seeds=seeds)  # a bad count fails here, before a thread starts
        if budget is not None:  # as a sweep: over the server's budget, refused here (BudgetError)
            check_cells(cells, data, budget, names=[f"seed {cell.train.seed}" for cell in cells], what="seed spread")
        self.settings, self.seeds, self._budget = settings, seeds, budget
        self.spread: SeedSpread | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(data, options, slots), name="nnlab-seeds",
                                        daemon=True)

    def start(self) -> SeedSpreadJob:
        """Start the worker and return at once."""
        self._thread.start()
        return self

    def _run(self, data: Dataset, options: RunOptions, slots: JobSlots | None) -> None:
        try:
            self.spread = seed_spread(self.settings, data, seeds=self.seeds, options=options, slots=slots,
                                      should_stop=self._stop.is_set, budget=self._budget)
        except Exception as exc:  # the page explains a failed spread instead of waiting for ever
            self.error = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"

    @property
    def done(self) -> bool:
        return not self._thread.is_alive() and (self.spread is not None or self.error is not None)

    def stop(self) -> None:
        """Stop the runs between two steps; the job ends with an error that says so."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> SeedSpreadJob:
        """Wait for the worker (at most `timeout` seconds)."""
        self._thread.join(timeout)
        return self
