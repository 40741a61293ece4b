"""Running a sweep: each cell trained as an ordinary run would be, on a backend (local job slots, or Ray when
$NNLAB_RAY_ADDRESS is set), results handed back as they finish. Locally, cells that share one 2-D MLP train
together as one batched model (core.sweep.batched: the same numbers, in about the time of one or two runs);
cells of different architectures still run one after another."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from core.config import RunOptions
from core.data.dataset import Dataset
from core.sweep.batched import batches, run_batch
from core.sweep.grid import RAY_ADDRESS_ENV, CellResult, SweepCell, SweepError, SweepResult, SweepSpec, run_cell
from core.sweep.ray_backend import RayBackend
from core.training.jobs import SHARED_SLOTS, JobSlots


class Backend(Protocol):
    """Runs cells and yields each result as it finishes; stops starting new ones once `should_stop()`."""

    def results(self, cells: Sequence[SweepCell], data: Dataset, options: RunOptions,
                should_stop: Callable[[], bool]) -> Iterator[CellResult]: ...


@dataclass(frozen=True)
class LocalBackend:
    """Cells in this process, one batch (or one unbatchable cell) at a time; with `slots`, each batch waits for a
    slot behind every interactive run."""

    slots: JobSlots | None = None

    def results(self, cells: Sequence[SweepCell], data: Dataset, options: RunOptions,
                should_stop: Callable[[], bool]) -> Iterator[CellResult]:
        """Each cell's result, a batch at a time in the order of their first cells, until `should_stop()` (which
        also stops the running cells, as it stops a run; a cell cut short is left out)."""
        for group in batches(cells):
            if should_stop():
                return
            if self.slots is not None and not self.slots.acquire(should_stop, low_priority=True):
                return
            try:
                if len(group) > 1:
                    done = run_batch(group, data, options, should_stop)
                else:
                    done = [run_cell(group[0], data, options, should_stop)]
            finally:
                if self.slots is not None:
                    self.slots.release()
            finished = [cell for cell in done if cell.result.status != "stopped"]
            yield from finished
            if len(finished) < len(group):
                return


def default_backend(slots: JobSlots | None = SHARED_SLOTS) -> Backend:
    """Ray when $NNLAB_RAY_ADDRESS is set, else the local job slots."""
    address = os.environ.get(RAY_ADDRESS_ENV, "").strip()
    if address:
        return RayBackend(address)
    return LocalBackend(slots)


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

