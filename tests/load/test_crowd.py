"""The class's bookkeeping (tests/load/crowd.py) on a scripted tab: when a move counts as done."""

from __future__ import annotations

from types import SimpleNamespace

from tests.load.client import Run
from tests.load.crowd import UNITS, model_line, send_move
from tests.load.measure import run_in_thread
from tests.load.protocol import SUCCESS


class ScriptedTab:
    """Just what send_move uses of a Tab: the units widget, send, the sidebar's text and the finish watchers."""

    def __init__(self) -> None:
        self.on_finish: list = []
        self.clock = 0.0
        self.shown = model_line("16", 2)

    def widget(self, key: str) -> SimpleNamespace:
        assert key == "train.arch.units"
        return SimpleNamespace(options=list(UNITS))

    async def send(self, changes: dict) -> float:
        self.clock += 1.0
        return self.clock

    def sidebar(self) -> str:
        return self.shown

    def finish(self, line: str, started: float, finished: float) -> None:
        """A full run finished successfully and the sidebar now shows `line`."""
        self.shown = line
        for watcher in self.on_finish:
            watcher(Run("r", (), started, finished, SUCCESS))


class Picks:
    """A student who always moves the units slider, to the given values in turn."""

    def __init__(self, *units: str) -> None:
        self.units = list(units)

    def random(self) -> float:
        return 0.0

    def choice(self, options: list[str]) -> str:
        pick = self.units.pop(0)
        assert pick in options
        return pick


def moved(tab: ScriptedTab, picks: Picks, shape: list):
    """send_move, run on a thread of its own (the browser tests' sync Playwright may own this thread's loop)."""
    return run_in_thread(send_move(tab, picks, shape), 10)


def test_a_move_is_done_by_a_run_that_started_after_it_and_shows_its_value() -> None:
    tab, shape = ScriptedTab(), ["16", 2]
    move = moved(tab, Picks("24"), shape)
    tab.finish(model_line("16", 2), started=move.sent - 0.5, finished=move.sent + 0.1)  # the run before it
    assert move.done is None
    tab.finish(model_line("24", 2), started=move.sent + 0.01, finished=move.sent + 0.2)
    assert move.seconds is not None and abs(move.seconds - 0.2) < 1e-9


def test_a_superseded_move_is_not_done_by_a_later_run_that_returns_to_its_value() -> None:
    tab, shape, picks = ScriptedTab(), ["16", 2], Picks("24", "8", "24")
    first = moved(tab, picks, shape)
    first.superseded = tab.clock + 0.5  # the student moved on before the first move's run finished
    moved(tab, picks, shape)
    back = moved(tab, picks, shape)  # much later, back to the first move's value
    tab.finish(model_line("24", 2), started=back.sent + 0.01, finished=back.sent + 0.3)
    assert back.seconds is not None and abs(back.seconds - 0.3) < 1e-9
    assert first.done is None, f"the superseded move was counted as done, {first.seconds:.0f} s after it was sent"
