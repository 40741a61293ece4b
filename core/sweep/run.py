"""Running a sweep: each cell trained as an ordinary run would be, on a backend (local job slots, or Ray when
$NNLAB_RAY_ADDRESS is set), results handed back as they finish. Locally, cells that share one 2-D MLP train
together as one batched model (core.sweep.batched: the same numbers, in about the time of one or two runs);
cells of different architectures still run one after another.

On the server a sweep is held to the budget a run is (core.training.budget): `check_cells` refuses, before anything
trains, a grid with a cell over the per-run ceiling or more work in all than a sweep may take, and the local backend
stops each batch (or cell) at the time limit its estimate gives, as a run is stopped; its cells keep what they
learned, with status time_limit, and the sweep goes on."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from core.config import RunOptions
from core.data.dataset import Dataset
from core.sweep.batched import batches, run_batch
from core.sweep.grid import RAY_ADDRESS_ENV, CellResult, SweepCell, SweepError, SweepResult, SweepSpec, run_cell
from core.sweep.ray_backend import RayBackend
from core.training.budget import Budget, RunCost, estimate
from core.training.jobs import SHARED_SLOTS, JobSlots, TimeLimit


class Backend(Protocol):
    """Runs cells and yields each result as it finishes; stops starting new ones once `should_stop()`."""

    def results(self, cells: Sequence[SweepCell], data: Dataset, options: RunOptions,
                should_stop: Callable[[], bool]) -> Iterator[CellResult]: ...


@dataclass(frozen=True)
class LocalBackend:
    """Cells in this process, one batch (or one unbatchable cell) at a time; with `slots`, each batch waits for a
    slot behind every interactive run."""

    slots: JobSlots | None = None
    budget: Budget | None = None  # each batch (or cell) stopped at the time limit of its estimate; None: never
    seconds: float | None = None  # or at this many CPU seconds (the command line's --max-seconds)

    def results(self, cells: Sequence[SweepCell], data: Dataset, options: RunOptions,
                should_stop: Callable[[], bool]) -> Iterator[CellResult]:
        """Each cell's result, a batch at a time in the order of their first cells, until `should_stop()` (which
        also stops the running cells, as it stops a run; a cell cut short is left out). A batch stopped at its
        time limit hands back every cell, those cut short with status time_limit, and the next batch starts."""
        for group in batches(cells):
            if should_stop():
                return
            if self.slots is not None and not self.slots.acquire(should_stop, low_priority=True):
                return
            try:
                limit = TimeLimit(self._seconds(group, data))
                stop = lambda limit=limit: should_stop() or limit()  # noqa: E731 - asked between two steps
                if len(group) > 1:
                    done = run_batch(group, data, options, stop, keep_cut=True)
                else:
                    done = [run_cell(group[0], data, options, stop)]
            finally:
                if self.slots is not None:
                    self.slots.release()
            if limit.reached and not should_stop():
                done = [replace(c, result=limit.ended(c.result)) if c.result.status == "stopped" else c for c in done]
            finished = [cell for cell in done if cell.result.status != "stopped"]
            yield from finished
            if len(finished) < len(group):
                return

    def _seconds(self, group: Sequence[SweepCell], data: Dataset) -> float | None:
        """The time limit of cells trained together: `seconds`, or the budget's for their estimates summed."""
        if self.seconds is not None or self.budget is None:
            return self.seconds
        return self.budget.time_limit(sum(cell_cost(cell, data).seconds for cell in group))


def cell_cost(cell: SweepCell, data: Dataset) -> RunCost:
    """A cell's estimated cost, as its solo run's."""
    return estimate(cell.model, cell.train, len(data.y_train), len(data.y_val) if data.has_validation else 0)


def check_cells(cells: Sequence[SweepCell], data: Dataset, budget: Budget, *, names: Sequence[str],
                what: str = "sweep") -> None:
    """BudgetError (a ValueError) for cells over the budget: one over a run's ceiling (named by `names`, one per
    cell), or all together over a sweep's."""
    budget.check_many([(name, cell_cost(cell, data), cell.train) for name, cell in zip(names, cells, strict=True)],
                      what)


def default_backend(slots: JobSlots | None = SHARED_SLOTS, budget: Budget | None = None) -> Backend:
    """Ray when $NNLAB_RAY_ADDRESS is set, else the local job slots (with `budget`'s time limits)."""
    address = os.environ.get(RAY_ADDRESS_ENV, "").strip()
    if address:
        return RayBackend(address)
    return LocalBackend(slots, budget)


def run_sweep(spec: SweepSpec, data: Dataset, *, backend: Backend | None = None, options: RunOptions | None = None,
              on_cell: Callable[[CellResult], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> SweepResult:
    """Run every cell of `spec` on `data` (local, no slots, unless a backend is given); `on_cell` sees each."""
    if not data.has_validation:
        raise SweepError("A sweep picks its best cell by validation accuracy: set a validation share above 0.")
    stop = should_stop or (lambda: False)
    done: list[CellResult] = []
    for cell in (backend or LocalBackend()).results(spec.cells(), data, options or RunOptions(), stop):
        done.append(cell)
        if on_cell is not None:
            on_cell(cell)
    cells = tuple(sorted(done, key=lambda c: c.cell.index))
    return SweepResult(spec, cells, stopped=len(cells) < len(spec.cells()))

