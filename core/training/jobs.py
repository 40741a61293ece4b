"""A training job on a worker thread that the UI can poll and stop, with a cap on jobs at once."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from torch import nn

from core.boundary import GridShare, RunSnapshots, Snapshot, boundary_grid, grid_box
from core.config import RunOptions, TrainConfig
from core.data.dataset import Dataset
from core.training.budget import duration_text
from core.training.recorder import GradientRecorder, StateRecorder
from core.training.result import EpochStats, TrainResult
from core.training.train import load_optimizers, steps_per_epoch, train_model

JOB_STATES = ("waiting", "running", "finished", "failed")
# A run's time limit counts the CPU seconds of the thread that trains it, so a busy server (a class training at
# once, each run waiting its turn for a core) does not cut runs short; a run whose wall-clock time passes this
# many times its limit ends anyway.
WALL_SLACK = 4.0


class TimeLimit:
    """A limit of `seconds` CPU seconds of the thread that computes, counted from when it is made, in that thread
    (or until the clock has passed WALL_SLACK times as long); ask it between two steps. `seconds` None: no limit."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds, self.reached = seconds, False
        if seconds is not None:
            load_optimizers()  # the process's first optimizer costs seconds of imports, not of this run
        self._wall, self._cpu = time.perf_counter(), time.thread_time()

    def __call__(self) -> bool:
        """True once the limit is reached (and from then on)."""
        if self.seconds is not None and not self.reached:
            self.reached = (time.thread_time() - self._cpu > self.seconds
                            or time.perf_counter() - self._wall > WALL_SLACK * self.seconds)
        return self.reached

    def ended(self, result: TrainResult) -> TrainResult:
        """A run that this limit stopped: `result` as status time_limit, with a message that says what to do."""
        return replace(result, status="time_limit", message=(
            f"Stopped at the time limit ({duration_text(self.seconds)} of computing on this server) after "
            f"{len(result.history):,} epochs; the model keeps what it learned. Lower the epochs or the "
            "network's size for a run that finishes."))


class JobSlots:
    """At most `capacity` jobs train at once; the others wait in line (first come, first served) and can say
    where they stand."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1. Got {capacity} instead.")
        self.capacity = capacity
        self._ready = threading.Condition()
        self._running = 0
        self._line: list[object] = []  # interactive runs waiting, in order: low-priority work lets them go first

    def acquire(self, should_give_up: Callable[[], bool], *, low_priority: bool = False,
                on_wait: Callable[[int], None] | None = None) -> bool:
        """Block until a slot is free (True) or `should_give_up()` turns true (False); `on_wait(position)` hears
        the place in line (1: next) whenever it changes.

        `low_priority` (a sweep's next cell) takes a slot only while no interactive run is waiting for one.
        """
        ticket, told = object(), 0
        with self._ready:
            if not low_priority:
                self._line.append(ticket)
            try:
                while True:
                    ahead = self._line.index(ticket) if not low_priority else len(self._line)
                    if self._running + ahead < self.capacity:
                        self._running += 1
                        return True
                    if on_wait is not None and ahead + 1 != told:
                        told = ahead + 1
                        on_wait(told)
                    if should_give_up():
                        return False
                    self._ready.wait(0.05)
            finally:
                if ticket in self._line:
                    self._line.remove(ticket)
                    self._ready.notify_all()

    def release(self) -> None:
        with self._ready:
            self._running -= 1
            self._ready.notify_all()

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._line)


def server_capacity(cores: int | None = None) -> tuple[int, int]:
    """(torch threads per run, runs at once) for a web server on `cores` cores, keeping one core to serve pages.

    Small nets gain little past a few threads, so wide machines run more jobs rather than wider ones.
    """
    cores = cores or os.cpu_count() or 1
    if cores < 1:
        raise ValueError(f"cores must be at least 1. Got {cores} instead.")
    threads = max(1, min(4, cores // 4))
    return threads, max(1, (cores - 1) // threads)


def max_jobs_setting(default: int) -> int:
    """Runs at once: $NNLAB_MAX_JOBS when set, else `default`; a value that is not a positive integer is refused."""
    text = os.environ.get(MAX_JOBS_ENV, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{MAX_JOBS_ENV} must be a positive whole number of training runs. Got {text!r} instead.")
    return int(text)


MAX_JOBS_ENV = "NNLAB_MAX_JOBS"
RUN_THREADS, MAX_JOBS = server_capacity()
# One process-wide pool: the web server's sessions share the machine's cores fairly; the rest wait their turn.
SHARED_SLOTS = JobSlots(max_jobs_setting(MAX_JOBS))
# The short 2-D runs that pages train in their own thread (core.lab: a slider move with auto-train) go one at a time.
# They are Python-bound and the server's threads share one interpreter lock, so many at once only take turns,
# slowly: in the 30-student class test (tests/load) the median move took 3.1 s with every page training at once
# and 0.8 s in this one lane, and the worker slots' MNIST runs 33 s against 2.2 s (5 December 2026).
INLINE_LANE = threading.Lock()


@dataclass(frozen=True)
class JobProgress:
    """A consistent copy of a job's state for the UI to draw."""

    state: str
    epochs: int
    history: tuple[EpochStats, ...] = ()
    snapshot: Snapshot | None = None  # the latest boundary, 2-D data only
    steps: int = 0
    last_loss: float | None = None
    result: TrainResult | None = None
    error: str | None = None
    started_at: float = 0.0
    steps_per_epoch: int = 0
    queue_position: int = 0  # while waiting: 1 = next in line for a slot
    shared: bool = False  # the run was trained before on this server and handed over (core.training.shared_runs)

    @property
    def fraction(self) -> float:
        """Share of the planned steps done, 0..1: it moves within the first epoch too."""
        if self.result is not None:
            return 1.0
        total = self.epochs * self.steps_per_epoch
        if total:
            return min(1.0, self.steps / total)
        return len(self.history) / self.epochs if self.epochs else 0.0

    @property
    def done(self) -> bool:
        return self.state in ("finished", "failed")


@dataclass(eq=False)
class TrainingJob:
    """Train `model` on `data` with `config`, on a worker thread (`start`) or inline (`run`).

    `snapshot_every` > 0 keeps a 2-D run's weights every k epochs, for its boundaries (drawn on demand)
    and the replay. `slots` None trains without waiting for a slot (short inline runs); otherwise the
    shared slots cap the runs at once, and the live view gets the latest boundary as it trains.
    """

    model: nn.Module
    data: Dataset
    config: TrainConfig
    options: RunOptions = RunOptions()
    snapshot_every: int = 0
    snapshot_resolution: int = 60
    slots: JobSlots | None = field(default_factory=lambda: SHARED_SLOTS)
    time_limit: float | None = None  # CPU seconds of training after which the run stops, keeping what it learned

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._limit = TimeLimit(self.time_limit)  # made again in `begin`, where the run starts
        self._thread: threading.Thread | None = None
        per_epoch = steps_per_epoch(len(self.data.y_train), self.config.batch_size)
        # The weights each epoch and the gradient flow: small 2-D models only (see core.training.recorder).
        keep = bool(self.snapshot_every) and not self.data.is_image
        self._states = StateRecorder(every=self.snapshot_every, epochs=self.config.epochs) if keep else None
        self._gradients = GradientRecorder() if keep else None
        self._box = grid_box(self.data.X_all) if keep else None
        self._progress = JobProgress(state="waiting", epochs=self.config.epochs, started_at=time.time(),
                                     steps_per_epoch=per_epoch)
        # Changes not yet in `_progress`: the training loop reports every epoch and many steps, and nobody may look
        # (an inline run's page waits for its end), so a new JobProgress is made when one is asked for, not each
        # time (a frozen copy and the history as a new tuple per epoch were ~6% of a small 2-D run).
        self._changes: dict[str, object] = {}
        self._history: list[EpochStats] = []

    def _update(self, **changes) -> None:
        with self._lock:
            self._changes.update(changes)

    def _on_epoch(self, stats: EpochStats, model: nn.Module) -> None:
        snapshot = None
        if self._states is not None:
            self._states(stats, model)
            self._gradients.on_epoch(stats, model)
            if self.slots is not None:  # a run on a worker is watched live: draw its latest boundary now
                snapshot = Snapshot(stats.epoch, boundary_grid(model, box=self._box,
                                                               resolution=self.snapshot_resolution))
        with self._lock:
            self._history.append(stats)
            self._changes.update(history=self._history, steps=stats.steps,
                                 **({"snapshot": snapshot} if snapshot else {}))

    def _on_step(self, step: int, loss: float, model: nn.Module) -> None:
        if self._gradients is not None:
            self._gradients.on_step(step, loss, model)
        self._update(steps=step, last_loss=loss)

    def begin(self) -> dict:
        """Mark the job running and record the starting weights; the keyword arguments for `train_model`."""
        self._update(state="running")
        if self._states is not None:
            self._states.record(0, self.model)  # the starting weights: the replay's first frame
        self._limit = TimeLimit(self.time_limit)  # in the thread that trains; `time_limit` may be set late
        return {"on_epoch": self._on_epoch, "on_step": self._on_step, "should_stop": self._should_stop}

    def _should_stop(self) -> bool:
        """Asked between optimizer steps (in the training thread): a Stop, or the run's time limit reached."""
        return self._stop.is_set() or self._limit()

    def finish(self, result: TrainResult | None = None, error: BaseException | None = None) -> JobProgress:
        """End the job with `train_model`'s result (a 2-D run gets its snapshots), or as failed with `error`."""
        if error is not None:
            self._update(state="failed", error=f"{type(error).__name__}: {error}")
        else:
            if self._limit.reached and result.status == "stopped":
                result = self._limit.ended(result)
            self._update(state="finished", result=self._with_snapshots(result))
        return self.progress()

    def _with_snapshots(self, result: TrainResult) -> TrainResult:
        if self._states is None:
            return result
        if result.history and not result.diverged:  # a run that ended early still shows where it got to
            self._states.record(result.history[-1].epoch, self.model)
        states = tuple(self._states.states) if not result.diverged else ()  # NaN weights draw nothing
        return self._drawn(replace(result, states=states, gradients=self._gradients.result()))

    def _drawn(self, result: TrainResult, shared: GridShare | None = None) -> TrainResult:
        """`result` with the boundaries of its kept weights, drawn on demand from this job's model (or taken from
        `shared`, those of a run the server's sessions share, when drawn there before)."""
        if self._states is None:
            return result
        return replace(result, snapshots=RunSnapshots(self.model, result.states, self._box,
                                                      resolution=self.snapshot_resolution, shared=shared))

    def adopt(self, result: TrainResult, shared: GridShare | None = None) -> JobProgress:
        """End the job with the same run trained before (core.training.shared_runs), its final weights already
        loaded into this job's model, and its boundaries as drawn there (`shared`): what training would have
        given, without the training."""
        self._update(state="finished", history=result.history, steps=result.steps,
                     result=self._drawn(result, shared), shared=True)
        return self.progress()

    def run(self) -> JobProgress:
        """Train in the calling thread (waiting for a slot first, if any); return the final progress."""
        if self.slots is not None and not self.slots.acquire(
                self._stop.is_set, on_wait=lambda place: self._update(queue_position=place)):
            self._update(state="finished", result=TrainResult((), "stopped", "Stopped before it started.", 0, 0.0))
            return self.progress()
        try:
            result = train_model(self.model, self.data, self.config, self.options, **self.begin())
            return self.finish(result)
        except Exception as exc:  # the worker must always end in a state the UI can explain
            return self.finish(error=exc)
        finally:
            if self.slots is not None:
                self.slots.release()

    def start(self) -> TrainingJob:
        """Run on a daemon worker thread and return at once."""
        self._thread = threading.Thread(target=self.run, name="nnlab-train", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the job to stop between two optimizer steps (or before it starts)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> JobProgress:
        """Wait for the worker thread to end (at most `timeout` seconds)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.progress()

    def progress(self) -> JobProgress:
        with self._lock:
            if self._changes:
                changes, self._changes = self._changes, {}
                if changes.get("history") is self._history:  # the epochs so far, frozen as they are now
                    changes["history"] = tuple(self._history)
                self._progress = replace(self._progress, **changes)
            return self._progress


@dataclass(eq=False)
class SlotTask:
    """A slow computation that is not a training run (t-SNE) on a worker thread, inside the job slots, so a
    class clicking at once cannot starve the server. Poll `done`, `elapsed`, then `result` or `error`."""

    work: Callable[[], object]
    slots: JobSlots | None = field(default_factory=lambda: SHARED_SLOTS)

    def __post_init__(self) -> None:
        self.state, self.result, self.error = "waiting", None, None
        self._started: float | None = None
        self._ended: float | None = None
        self._stop = threading.Event()

    def start(self) -> SlotTask:
        """Run on a daemon thread (after waiting for a slot) and return at once."""
        threading.Thread(target=self._run, name="nnlab-task", daemon=True).start()
        return self

    def stop(self) -> None:
        """Give up waiting for a slot (its session has gone); a computation already running ends on its own."""
        self._stop.set()

    def _run(self) -> None:
        if self.slots is not None and not self.slots.acquire(self._stop.is_set):
            self.error, self.state, self._ended = "Stopped before it started.", "failed", time.time()
            return
        self._started, self.state = time.time(), "running"
        try:
            self.result = self.work()
            self.state = "finished"
        except Exception as exc:  # the page shows the reason instead of waiting for ever
            self.error, self.state = f"{type(exc).__name__}: {exc}", "failed"
        finally:
            self._ended = time.time()
            if self.slots is not None:
                self.slots.release()

    @property
    def done(self) -> bool:
        return self.state in ("finished", "failed")

    @property
    def elapsed(self) -> float:
        """Seconds since it started computing (0 while it waits for a slot)."""
        if self._started is None:
            return 0.0
        return (self._ended or time.time()) - self._started
