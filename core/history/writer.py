"""From a run that has just ended to its record in the history, saved on one background thread.

The Lab (and a sweep) hand over an `EndedRun`; `describe_run` measures it (metrics per split, the 2-D
boundary) and `RunWriter` saves it with core.history.runs.record_run, so training never waits for the database.
Its queue is bounded, and what is still queued when the process ends (normally or on SIGTERM) is saved first.

What a slider move costs the server counts here: an auto run (a moved slider) waits AUTO_DELAY_S before it is
measured, so a student's next move replaces it unmeasured; the validation figures are the run's own (its last
kept epoch), and the other splits are scored with one forward pass each and numpy, not scikit-learn's validated
metrics (whose argument checks cost more than the arithmetic on these small arrays).
"""

from __future__ import annotations

import atexit
import copy
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import Engine
from torch import nn

from core.boundary import boundary_grid, grid_box
from core.config import Settings
from core.data.dataset import Dataset
from core.history.db import StorageError, now
from core.history.runs import (
    BUTTONS,
    Retention,
    RunError,
    RunRecord,
    finite,
    history_records,
    record_run,
    settings_params,
)
from core.models import predict_proba
from core.training.result import TrainResult

MAX_QUEUED = 64  # runs waiting to be saved; past this, waiting auto runs are dropped first, then the oldest
SHUTDOWN_FLUSH_S = 10.0  # at exit or SIGTERM, how long every writer together may take to save what waits
BOUNDARY_RESOLUTION = 40  # cells a side: 1,600 probabilities per class, rounded, about 10 KB a run
EVAL_LIMIT = 10_000  # samples measured per split for the record (MNIST's training split is cut to its first 10,000)
AUTO_DELAY_S = 10.0  # an auto run waits this long to be measured: the session's next move usually replaces it
KEPT = ("completed", "converged", "early_stopped")  # statuses whose kept epoch's entry scores the weights kept


@dataclass(frozen=True, eq=False)
class EndedRun:
    """A run that has just ended, as the Lab hands it over: what was trained, how it ended, the model."""

    settings: Settings
    origin: str
    data: Dataset
    result: TrainResult | None  # None when the run failed
    model: nn.Module | None  # None when it failed or diverged
    sweep: str | None = None
    ended: datetime = field(default_factory=now)  # its place in the history, however late it is saved


def _same_run(one: EndedRun, other: EndedRun) -> bool:
    """The same data, model and training settings (the page aside): runs are seeded, so the same run."""
    return (one.settings.data, one.settings.model, one.settings.train) == (
        other.settings.data, other.settings.model, other.settings.train)


def scores(proba: np.ndarray, y: np.ndarray) -> dict[str, float | int | None]:
    """Accuracy, cross-entropy (as scikit-learn's log_loss: probabilities clipped at float64's eps) and count."""
    proba = proba.astype(np.float64)
    proba /= proba.sum(axis=1, keepdims=True)  # float32 softmax rows sum to 1 only nearly
    picked = np.clip(proba[np.arange(len(y)), y], np.finfo(np.float64).eps, 1.0)
    return {"accuracy": finite(float(np.mean(proba.argmax(axis=1) == y))),
            "loss": finite(float(-np.log(picked).mean())), "n": len(y)}


def run_validation(ended: EndedRun) -> dict[str, float | int | None] | None:
    """The validation figures the run measured on the weights it kept (its kept epoch's history entry: the best
    one it went back to, or its last), when it measured cross-entropy on the whole split; None when they must be
    measured again."""
    result, data = ended.result, ended.data
    if result is None or not result.history or result.status not in KEPT:
        return None
    if ended.settings.train.loss != "cross_entropy":  # the history scored another loss
        return None
    last = result.kept_stats
    if not (np.isfinite(last.val_loss) and np.isfinite(last.val_acc)) or not 0 < len(data.y_val) <= EVAL_LIMIT:
        return None
    return {"accuracy": finite(last.val_acc), "loss": finite(last.val_loss), "n": len(data.y_val)}


def split_metrics(model: nn.Module, data: Dataset,
                  validation: dict[str, float | int | None] | None = None) -> dict[str, dict[str, float | int | None]]:
    """Accuracy, cross-entropy and sample count of `model` on each split (at most EVAL_LIMIT samples each);
    `validation`: that split's figures as the run already measured them."""
    splits = (("train", data.X_train, data.y_train), ("validation", data.X_val, data.y_val),
              ("test", data.X_test, data.y_test))
    out = {}
    for split, X, y in splits:
        X, y = X[:EVAL_LIMIT], np.asarray(y[:EVAL_LIMIT])
        if len(y) == 0:
            continue
        out[split] = validation if split == "validation" and validation else scores(predict_proba(model, X), y)
    return out


def boundary_record(model: nn.Module, data: Dataset, resolution: int = BOUNDARY_RESOLUTION) -> dict:
    """The final boundary of a 2-D model on a small grid: box corners and probabilities rounded to 0.001."""
    grid = boundary_grid(model, box=grid_box(data.X_all), resolution=resolution)
    return {"x": [float(grid.xs[0]), float(grid.xs[-1])], "y": [float(grid.ys[0]), float(grid.ys[-1])],
            "proba": np.round(grid.proba.astype(np.float64), 3).tolist()}


def describe_run(ended: EndedRun) -> RunRecord:
    """The record of an ended run: settings, history, status and, when it trained, metrics and boundary."""
    result, model = ended.result, ended.model
    if model is not None:
        model = copy.deepcopy(model)  # measured on a copy: the page may be using the model at the same time
    trained = model is not None and result is not None and bool(result.history) and not result.diverged
    metrics = split_metrics(model, ended.data, run_validation(ended)) if trained else {}
    return RunRecord(
        settings=settings_params(ended.settings), status=result.status if result else "failed",
        seconds=(finite(result.seconds, 4) or 0.0) if result else 0.0,
        history=history_records(result.history) if result else (),
        # each split's figures say which epoch's weights they are of: early stopping keeps an earlier one
        metrics={split: {**figures, "epoch": result.kept_epoch} for split, figures in metrics.items()},
        boundary=boundary_record(model, ended.data) if trained and not ended.data.is_image else None)


class RunWriter:
    """Saves ended runs on one background thread, so that training never waits for the database.

    A failure is kept per session (`error`) for the page to show once; the run itself is then lost. At most
    `max_queued` runs wait: past that, the oldest waiting auto run is dropped (a later one replaces it in the
    history anyway), else the oldest waiting run; `dropped` counts them. An auto run waits `auto_delay` seconds
    first, and is skipped when a later auto run of its session arrives meanwhile; `wait` and `close` save what
    waits at once. Every writer is flushed at exit.
    """

    def __init__(self, engine: Callable[[], Engine], retention: Retention | None = None, *,
                 max_queued: int = MAX_QUEUED, auto_delay: float = AUTO_DELAY_S) -> None:
        if max_queued < 1:
            raise ValueError(f"max_queued must be at least 1. Got {max_queued} instead.")
        self._engine, self._retention, self._max_queued = engine, retention, max_queued
        self._auto_delay = auto_delay
        self._jobs: list[tuple[str, EndedRun, float]] = []  # (session, run, when it may be saved)
        self._busy = 0
        self._dropped = 0
        self._hurry = 0  # callers of wait() and close() now waiting: delayed runs are saved at once
        self._closed = False
        self._errors: dict[str, str] = {}
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        _register(self)

    @property
    def dropped(self) -> int:
        """How many runs were dropped unsaved: queued past `max_queued`, or submitted after `close`."""
        with self._ready:
            return self._dropped

    def submit(self, session: str, ended: EndedRun) -> None:
        """Queue `ended` to be saved under `session`; returns at once."""
        with self._ready:
            if self._closed:
                self._drop(session, ended)
                return
            delay = self._auto_delay if ended.origin == "auto" else 0.0
            self._jobs.append((session, ended, time.monotonic() + delay))
            self._busy += 1
            if len(self._jobs) > self._max_queued:
                autos = [i for i, (_, job, _) in enumerate(self._jobs) if job.origin == "auto"]
                self._drop(*self._jobs.pop(autos[0] if autos else 0)[:2])
                self._busy -= 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="nnlab-runs", daemon=True)
                self._thread.start()
            self._ready.notify_all()

    def wait(self, timeout: float = 5.0) -> bool:
        """Block until every submitted run is saved (or has failed), delayed ones at once; False when `timeout`
        seconds pass first."""
        with self._ready:
            self._hurry += 1
            self._ready.notify_all()
            try:
                return self._ready.wait_for(lambda: self._busy == 0, timeout)
            finally:
                self._hurry -= 1

    flush = wait

    def close(self, timeout: float = SHUTDOWN_FLUSH_S) -> bool:
        """Save what waits (for at most `timeout` seconds) and stop: later runs are dropped. True when all saved."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
            saved = self._ready.wait_for(lambda: self._busy == 0, timeout)
            self._ready.notify_all()  # the worker sees `_closed` with nothing left and ends
            return saved

    def error(self, session: str) -> str | None:
        """The last failure saving one of `session`'s runs, once (it is forgotten when read)."""
        with self._ready:
            return self._errors.pop(session, None)

    def _drop(self, session: str, ended: EndedRun) -> None:
        self._dropped += 1
        if ended.origin != "auto":  # an auto run is replaced by the next one: not worth a message
            self._errors[session] = "The server was too busy to keep this run in the history."

    def _replaced(self, index: int) -> bool:
        """Whether the waiting job at `index` is an auto run that a later run of its session replaces: a later auto
        run, or a button's run of the same settings (Train pressed on what a slider just trained)."""
        session, ended, _ = self._jobs[index]
        return ended.origin == "auto" and any(
            who == session and (later.origin == "auto" or later.origin in BUTTONS and _same_run(later, ended))
            for who, later, _ in self._jobs[index + 1:])

    def _take(self) -> tuple[str, EndedRun, bool] | None:
        """The next job that may be saved now, and whether it is replaced (waiting for one); None once closed."""
        with self._ready:
            while True:
                now, hurry = time.monotonic(), self._hurry > 0 or self._closed
                ready = [i for i, (_, _, due) in enumerate(self._jobs) if hurry or due <= now or self._replaced(i)]
                if ready:
                    session, ended, _ = self._jobs[ready[0]]
                    replaced = self._replaced(ready[0])
                    del self._jobs[ready[0]]
                    return session, ended, replaced
                if self._closed:
                    return None
                self._ready.wait(min((due for _, _, due in self._jobs), default=now + 60.0) - now)

    def _work(self) -> None:
        while (job := self._take()) is not None:
            session, ended, replaced = job
            try:
                if not replaced:  # a later auto run of this session replaces it in the history anyway
                    record_run(self._engine(), session, describe_run(ended), origin=ended.origin, sweep=ended.sweep,
                               retention=self._retention, created=ended.ended)
            except (StorageError, RunError) as exc:
                self._fail(session, str(exc))
            except Exception as exc:  # a run that cannot be measured must not stop the writer for everyone
                self._fail(session, f"This run could not be kept in the history ({type(exc).__name__}).")
            finally:
                with self._ready:
                    self._busy -= 1
                    self._ready.notify_all()

    def _fail(self, session: str, message: str) -> None:
        with self._ready:
            self._errors[session] = message


_WRITERS: weakref.WeakSet[RunWriter] = weakref.WeakSet()
_HOOKS = {"atexit": False, "sigterm": False}
_HOOKS_LOCK = threading.Lock()


def flush_all(timeout: float = SHUTDOWN_FLUSH_S) -> bool:
    """Save what every writer of this process still holds, within `timeout` seconds in all; True when all saved."""
    deadline = time.monotonic() + timeout
    return all([writer.flush(max(0.0, deadline - time.monotonic())) for writer in list(_WRITERS)])


def _on_sigterm(previous: object) -> Callable[[int, object], None]:
    """A SIGTERM handler that saves the queued runs, then does what `previous` (the handler it replaces) did."""

    def handler(signum: int, frame: object) -> None:
        flush_all()
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:  # the default: end the process as the signal would have
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    return handler


def _register(writer: RunWriter) -> None:
    """Flush `writer` at exit; the first writer made on the main thread also hooks SIGTERM (Python lets only the
    main thread set handlers; under Streamlit pages run on other threads, and its own SIGTERM handler ends the
    server normally, so the atexit hook covers it)."""
    with _HOOKS_LOCK:
        _WRITERS.add(writer)
        if not _HOOKS["atexit"]:
            atexit.register(flush_all)
            _HOOKS["atexit"] = True
        if not _HOOKS["sigterm"] and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _on_sigterm(signal.getsignal(signal.SIGTERM)))
            _HOOKS["sigterm"] = True
