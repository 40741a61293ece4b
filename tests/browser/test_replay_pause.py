"""The replay's own ❚❚ Pause and frame slider in real Chromium, on Home and on Train, on a 1024-px screen.

Plotly rejects the promise of an animation that Pause (or a click on the slider) interrupts, and the Play button that
started it never handles that promise: each Pause during a Play was reported as a page error, "undefined".
app_pages/common/replay_chart.js cancels those reports, and only those.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page

from tests.browser.helpers import act, go_to
from tests.browser.test_responsive import TITLE_JS

PLAYING_MS = 600  # longer than a frame (Home shows one each 400 ms, Train each 125 ms): a stopped Play shows no new one
REPORTED_MS = 500  # time for a page error to be reported after the click that caused it


def button(page: Page, label: str) -> Callable[[], None]:
    """A click on one of the replay's own buttons (Plotly's update menu)."""
    return page.locator("g.updatemenu-button").filter(has_text=label).click


def shown_epoch(page: Page) -> tuple[int, int]:
    """(the epoch on screen, the last epoch), from the replay's title "Epoch 3 of 56 · …"."""
    match = re.match(r"Epoch (\d+) of (\d+)", page.evaluate(TITLE_JS) or "")
    assert match, f"no replay title on the page: {page.evaluate(TITLE_JS)!r}"
    return int(match[1]), int(match[2])


def until_the_epoch_leaves(page: Page, epoch: int) -> None:
    """Wait until the replay shows another epoch than `epoch` (a Play's next frame, a Step's rerun)."""
    page.wait_for_function(f"(a) => !({TITLE_JS})().startsWith(`Epoch ${{a}} of`)", arg=epoch)


def start_a_play(page: Page) -> None:
    """▶ Play, and wait until it has shown a new frame (on a busy machine its first may come late)."""
    before = shown_epoch(page)[0]
    button(page, "Play")()
    until_the_epoch_leaves(page, before)


def stop_a_play(page: Page, stop: Callable[[], None]) -> tuple[int, int]:
    """Play, then `stop` while frames are still to come (the case Plotly rejects); the epoch shown then."""
    start_a_play(page)
    epoch, last = shown_epoch(page)
    assert epoch < last, f"Play reached its last frame (epoch {epoch} of {last}) before it could be stopped"
    stop()
    page.wait_for_timeout(REPORTED_MS)
    return shown_epoch(page)


def test_stopping_a_playing_replay_reports_no_page_error(page: Page) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(error.message))
    page.set_viewport_size({"width": 1024, "height": 768})
    page.locator("g.updatemenu-button").filter(has_text="Pause").wait_for()
    # The guard is narrow: a rejection with no reason that follows no interruption is still reported.
    with page.expect_event("pageerror"):
        page.evaluate("() => { Promise.reject(); }")
    assert errors == ["undefined"], errors
    errors.clear()
    stopped = {}
    rail = page.locator("g.slider-container rect.slider-rail-touch-rect").first  # the frame slider's track
    for where in ("Home", "Train"):
        if where == "Train":
            go_to(page, "Train")
            act(page, page.get_by_text("Watch it learn (replay)").click)
        stopped[f"{where}: Pause"] = stop_a_play(page, button(page, "Pause"))
        stopped[f"{where}: slider"] = stop_a_play(page, lambda: rail.click(position={"x": 20, "y": 5}))
        held = shown_epoch(page)
        page.wait_for_timeout(PLAYING_MS)
        assert shown_epoch(page) == held, f"{where}: the slider did not stop the Play"
    assert not errors, f"page errors when a Play was stopped ({stopped}): {errors}"
