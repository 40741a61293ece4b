"""A class on one server, played by protocol-level tabs (tests/load/client.py): the students arrive within a few
seconds and open Train; each moves the units or layers slider every few seconds (seeded); some switch to MNIST and
train; some of those open Inside, pick a test digit in the embedding projector and open it on Predict.

A move is done when a full run that started after it finishes successfully with its value (the sidebar's model
line). A move still open when the same student makes the next one is superseded (its run was stopped for the next,
FINISHED_EARLY_FOR_RERUN, or had not started yet: the frontend's fast reruns replace it). The last move still open
MOVE_TIMEOUT_S after it was sent is lost.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

import websockets

from tests.load.client import Run, Tab
from tests.load.protocol import SUCCESS, ProtocolError

UNITS = ("2", "3", "4", "6", "8", "12", "16", "24", "32", "48", "64")  # the units a student picks among
LAYERS = (1, 2, 3)
OPEN_TIMEOUT_S = 120.0  # arriving, a page switch, a dataset switch
MOVE_TIMEOUT_S = 60.0
TRAIN_TIMEOUT_S = 240.0  # an MNIST run, its wait for a slot included
STALE_S = 10.0  # the page shows the run ended and the sidebar still says training this long: stale
POLL_S = 0.1


@dataclass(frozen=True)
class ClassPlan:
    """The scenario: how many students, for how long, how often they move, and who does what else."""

    sessions: int = 30
    arrive_within_s: float = 10.0
    moving_s: float = 120.0
    move_every_s: tuple[float, float] = (3.0, 8.0)
    mnist: int = 5  # students 0..mnist-1 switch to MNIST and train (when the server has the MNIST files)
    inspect: int = 3  # students 0..inspect-1 then open Inside and Predict with a test digit
    seed: int = 0


@dataclass
class Move:
    """One slider move: when it was sent, the sidebar line it should bring, and what became of it."""

    sent: float
    line: str
    done: float | None = None
    superseded: float | None = None  # when the next move was sent while this one was not done
    stopped: bool = False  # superseded after a run for it had started (it ended FINISHED_EARLY_FOR_RERUN)

    @property
    def seconds(self) -> float | None:
        return None if self.done is None else self.done - self.sent

    @property
    def at_least_s(self) -> float | None:
        """Its time, or for a superseded move the time it was open (a lower bound)."""
        return self.seconds if self.superseded is None else self.superseded - self.sent


@dataclass
class Student:
    """What one student did and saw."""

    index: int
    arrived_s: float | None = None
    moves: list[Move] = field(default_factory=list)
    slot_wait_s: float | None = None  # MNIST: from the Train click until the run left the slots' queue
    train_s: float | None = None  # MNIST: from the Train click until the sidebar said it was trained
    inside: str | None = None  # Inside's line for the picked test digit: "True 3, predicted 3"
    prediction: str | None = None  # Predict's answer for it
    predict_stuck: bool = False  # Predict stayed at "Loading…" after "Open it on Predict" (see the report)
    stale_sidebar: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return sum(1 for move in self.moves if move.done is None and move.superseded is None)


async def sleep_until(when: float) -> None:
    await asyncio.sleep(max(0.0, when - time.monotonic()))


async def drawn(tab: Tab, sent: float, what: str, *, timeout: float = OPEN_TIMEOUT_S, condition=None) -> None:
    """Until a full run started after `sent` has finished successfully (and `condition()` holds)."""
    await tab.wait_for(lambda: tab.finished_since(sent) and (condition is None or condition()), timeout, what)


def model_line(units: str, layers: int) -> str:
    """The sidebar's line for an MLP of `layers` layers of `units` units."""
    return f"**Model** · mlp {'-'.join([units] * layers)}"


async def send_move(tab: Tab, rng: random.Random, shape: list) -> Move:
    """Move the units select slider (mostly) or the layers slider to a value it does not have."""
    units, layers = shape
    if rng.random() < 0.8:
        units = rng.choice([u for u in UNITS if u != units])
        changes = {"train.arch.units": tab.widget("train.arch.units").options.index(units)}
    else:
        layers = rng.choice([n for n in LAYERS if n != layers])
        changes = {"train.arch.layers": layers}
    shape[:] = [units, layers]
    move = Move(0.0, model_line(units, layers))

    def finished(run: Run) -> None:
        # A superseded move stays undone: when the student later returns to the same value, that later run is the
        # later move's (counting it here made a move of seconds look like 89 s at 100 students, 6 December 2026).
        if move.done is None and move.superseded is None and run.full and run.status == SUCCESS \
                and run.started >= move.sent and move.line in tab.sidebar():
            move.done = run.finished

    tab.on_finish.append(finished)
    move.sent = await tab.send(changes)
    return move


async def moving(tab: Tab, rng: random.Random, plan: ClassPlan, student: Student, until: float) -> None:
    """Move a slider every few seconds until `until`; wait for the last move to be done."""
    shape, move = ["16", 2], None  # the Train page's default MLP: 2 layers of 16
    when = time.monotonic() + rng.uniform(*plan.move_every_s)
    while when < until:
        await sleep_until(when)
        if move is not None and move.done is None:
            move.superseded, move.stopped = time.monotonic(), any(start >= move.sent for start in tab.full_starts)
        move = await send_move(tab, rng, shape)
        student.moves.append(move)
        when += rng.uniform(*plan.move_every_s)
    if move is not None:
        try:
            await tab.wait_for(lambda: move.done is not None, MOVE_TIMEOUT_S, "last move done")
        except TimeoutError:
            pass
    tab.on_finish.clear()


def training_state(tab: Tab) -> str:
    """'waiting' (in the slots' queue), 'running', 'done' (sidebar: trained, Train enabled) or 'stale'."""
    go = tab.widgets.get("train.go")
    enabled, sidebar = go is not None and not go.proto.disabled, tab.sidebar()
    if "Waiting for a free training slot" in tab.text():
        return "waiting"
    if enabled and "**Trained** · " in sidebar and "not yet" not in sidebar:
        return "done"
    return "stale" if enabled and "**Training** · " in sidebar else "running"


async def train_mnist(tab: Tab, student: Student) -> None:
    """Data: MNIST; Train: press Train and follow the run until the sidebar says it is trained."""
    await drawn(tab, await tab.goto("data"), "Data page", condition=lambda: "data.name" in tab.widgets)
    await drawn(tab, await tab.send({"data.name": "MNIST digits (real)"}), "MNIST loaded",
                condition=lambda: "**Data** · mnist" in tab.sidebar())
    await drawn(tab, await tab.goto("train"), "Train page", condition=lambda: "train.go" in tab.widgets)
    clicked = await tab.click("train.go")
    stale_since = None
    while (state := training_state(tab)) != "done":
        now = time.monotonic()
        if now - clicked > TRAIN_TIMEOUT_S:
            page = " | ".join(tab.text().splitlines())
            raise TimeoutError(f"{tab.name}: MNIST not trained after {TRAIN_TIMEOUT_S:g} s, {state} "
                               f"({tab.sidebar()!r}; the page ends {page!r})")
        if state != "waiting" and student.slot_wait_s is None and tab.finished_since(clicked, full=False):
            student.slot_wait_s = now - clicked
        stale_since = (stale_since or now) if state == "stale" else None
        if stale_since is not None and now - stale_since > STALE_S:  # a person would reload the page
            student.stale_sidebar += 1
            stale_since = None
            await tab.send()
        await asyncio.sleep(POLL_S)
    student.train_s = time.monotonic() - clicked


async def inspect(tab: Tab, student: Student, digit: int) -> None:
    """Inside: pick test digit `digit` in the embedding projector (its true and predicted class show), then open it
    on Predict and read the prediction there."""
    await drawn(tab, await tab.goto("inside"), "Inside page", condition=lambda: "inside.projector" in tab.widgets)
    selection = {"points": [{"customdata": digit, "point_index": digit, "curve_number": 0}],
                 "point_indices": [digit], "box": [], "lasso": []}
    sent = await tab.send({"inside.projector": {"selection": selection}})
    await drawn(tab, sent, "digit picked", condition=lambda: "inside.open" in tab.widgets and "predicted" in tab.text())
    student.inside = next(line for line in tab.text().splitlines() if line.startswith("True "))
    opened = await tab.click("inside.open")
    await drawn(tab, opened, "Predict page", condition=lambda: tab.path == "predict")
    if tab.text().strip() == "Loading…":  # a browser shows the same: the page waits for a secret never re-sent
        student.predict_stuck = True
        return
    await drawn(tab, opened, "Predict with the digit", condition=lambda: "Prediction: " in tab.text())
    student.prediction = next(line.split(": ", 1)[1] for line in tab.text().splitlines()
                              if line.startswith("Prediction: "))


async def student(url: str, index: int, plan: ClassPlan, start: float, mnist: bool) -> Student:
    """One student's whole visit; failures are recorded in the report, not raised."""
    rng, report = random.Random(plan.seed * 100_003 + index), Student(index)
    tab, end = Tab(url, name=f"student-{index}"), start + plan.arrive_within_s + plan.moving_s
    try:
        await sleep_until(start + rng.uniform(0.0, plan.arrive_within_s))
        arriving = time.monotonic()
        await tab.open("train", timeout=OPEN_TIMEOUT_S)
        report.arrived_s = time.monotonic() - arriving
        trains = mnist and index < plan.mnist
        switch = time.monotonic() + rng.uniform(0.2, 0.5) * plan.moving_s if trains else end
        await moving(tab, rng, plan, report, min(switch, end))
        if trains:
            await train_mnist(tab, report)
            if index < plan.inspect:
                await inspect(tab, report, digit=rng.randrange(100))
    except (TimeoutError, KeyError, ProtocolError, websockets.ConnectionClosed, OSError) as exc:
        report.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        report.errors.extend(tab.counters.errors)
        await tab.close()
    return report


async def play(url: str, plan: ClassPlan, *, mnist: bool) -> list[Student]:
    """Every student of `plan` at once on the server at `url`."""
    start = time.monotonic()
    return list(await asyncio.gather(*(student(url, i, plan, start, mnist) for i in range(plan.sessions))))
