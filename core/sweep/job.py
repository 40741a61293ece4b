"""A sweep on a worker thread that a page can poll and stop (Stop, from the page or the session store's reaper,
reaches the running cell as it reaches a run: between two steps; the cell cut short is left out).

Each finished cell is also an `EndedRun` for the run history, held until the page takes it (`take_ended`):
the worker thread has no browser session, so the page's own run hands them to the history, exactly as it
does a run of the Train page (with or without a store token yet).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from core.config import RunOptions, Settings
from core.data.dataset import Dataset
from core.history.writer import EndedRun
from core.sweep.grid import CellResult, SweepResult, SweepSpec
from core.sweep.run import Backend, check_cells, default_backend, run_sweep
from core.training.budget import Budget


@dataclass(frozen=True)
class SweepProgress:
    """A consistent copy of a background sweep's state for the page to draw."""

    state: str  # "running", "finished" or "failed"
    total: int
    result: SweepResult
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.state != "running"


class SweepJob:
    """A sweep on a daemon thread: poll `progress()`; `stop()` ends it, the running cell included."""

    def __init__(self, spec: SweepSpec, data: Dataset, *, backend: Backend | None = None,
                 options: RunOptions | None = None, on_cell: Callable[[CellResult], None] | None = None,
                 budget: Budget | None = None) -> None:
        """`budget`: the server's (core.training.budget); a grid over it is refused here (BudgetError), and the local
        backend stops each batch at its time limit."""
        cells = spec.cells()
        if budget is not None:
            check_cells(cells, data, budget, names=[spec.name(cell) for cell in cells])
        self.spec, self._data, self._options, self._on_cell = spec, data, options, on_cell
        self.id = uuid.uuid4().hex[:12]  # names the sweep in the run history
        self._ended: list[EndedRun] = []  # finished cells not yet taken for the run history
        self._backend = backend if backend is not None else default_backend(budget=budget)
        self._stop, self._lock = threading.Event(), threading.Lock()
        self._progress = SweepProgress("running", len(cells), SweepResult(spec, ()))
        self._thread = threading.Thread(target=self._run, name="nnlab-sweep", daemon=True)

    def start(self) -> SweepJob:
        """Start the worker thread and return at once."""
        self._thread.start()
        return self

    def _add(self, cell: CellResult) -> None:
        with self._lock:
            cells = tuple(sorted(self._progress.result.cells + (cell,), key=lambda c: c.cell.index))
            self._progress = replace(self._progress, result=SweepResult(self.spec, cells))
            settings = Settings(cell.cell.data, cell.cell.model, cell.cell.train)
            self._ended.append(EndedRun(settings, "sweep", self._data, cell.result, cell.model, sweep=self.id))
        if self._on_cell is not None:
            self._on_cell(cell)

    def _run(self) -> None:
        try:
            result = run_sweep(self.spec, self._data, backend=self._backend, options=self._options,
                               on_cell=self._add, should_stop=self._stop.is_set)
            update = {"state": "finished", "result": result}
        except Exception as exc:  # the page explains a failed sweep instead of waiting for ever
            update = {"state": "failed", "error": f"{type(exc).__name__}: {exc}"}
        with self._lock:
            self._progress = replace(self._progress, **update)

    def stop(self) -> None:
        """Stop the running cell between two steps (it is left out) and start no further one."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> SweepProgress:
        """Wait for the worker (at most `timeout` seconds) and return the progress."""
        self._thread.join(timeout)
        return self.progress()

    def take_ended(self) -> list[EndedRun]:
        """The cells finished since the last call, as runs for the history (each handed out once)."""
        with self._lock:
            ended, self._ended = self._ended, []
        return ended

    def progress(self) -> SweepProgress:
        """A consistent copy of the sweep's state."""
        with self._lock:
            return self._progress
