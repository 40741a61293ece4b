"""The Train page's Step after the replay's own ❚❚ Pause or slider, in real Chromium on a 1024-px screen.

Play, Pause and the slider run in the browser; Step runs on the server, from the frame the server holds. The browser
used to keep the frame a Pause left the chart on to itself: Step then stayed disabled (the server still held the
last frame) or jumped back to the frame before the Play. app_pages/common/replay_chart.js now reports the frame at
rest, once, and never during a Play; and, as a rerun draws the chart again, Play goes on from the frame on screen.
"""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.helpers import WATCH_RUNS_JS, act, go_to
from tests.browser.test_replay_pause import PLAYING_MS, button, shown_epoch, start_a_play, until_the_epoch_leaves


def step(page: Page) -> int:
    """Click the page's Step (it must be enabled) and return the epoch shown after its rerun."""
    control = page.get_by_role("button", name="Step", exact=True)
    assert control.is_enabled(), f"Step is disabled at epoch {shown_epoch(page)}: the server is still on the last"
    before = shown_epoch(page)[0]
    act(page, control.click)
    until_the_epoch_leaves(page, before)
    return shown_epoch(page)[0]


def pause_a_play(page: Page) -> int:
    """Play, then ❚❚ Pause while frames are still to come; the epoch it stopped on. Asserts the Play caused no run."""
    runs = page.evaluate(WATCH_RUNS_JS)["runs"]
    start_a_play(page)
    page.wait_for_timeout(PLAYING_MS)  # frames go on showing: none of them may run the page
    assert page.evaluate(WATCH_RUNS_JS)["runs"] == runs, "a Play made the server run the page"
    epoch, last = shown_epoch(page)
    assert epoch < last, f"Play reached its last frame (epoch {epoch} of {last}) before it could be paused"
    act(page, button(page, "Pause"))  # the browser reports the frame: one run (none before the fix)
    return shown_epoch(page)[0]


def test_step_goes_on_from_where_pause_or_the_slider_left_the_replay(page: Page) -> None:
    page.set_viewport_size({"width": 1024, "height": 768})
    go_to(page, "Train")
    act(page, page.get_by_text("Watch it learn (replay)").click)
    # From the last frame (where the replay opens): Play starts over. Pause mid-way, Play on, Pause, then Step.
    paused = pause_a_play(page)
    again = pause_a_play(page)
    assert again > paused, f"Play after a Pause at epoch {paused} started over: paused again at epoch {again}"
    stepped = step(page)
    assert stepped == again + 1
    # Play goes on from a Step too (its rerun draws the chart again).
    paused = pause_a_play(page)
    assert paused > stepped, f"Play after a Step to epoch {stepped} started over: paused at epoch {paused}"
    assert step(page) == paused + 1
    # The QA's steps: Reset, Step, Play, Pause, Step.
    act(page, page.get_by_role("button", name="Reset", exact=True).click)
    assert shown_epoch(page)[0] == 0
    assert step(page) == 1
    paused = pause_a_play(page)
    assert paused > 1, f"Pause stopped the Play at epoch {paused}, before it had moved on"
    assert step(page) == paused + 1
    # A click on the slider's track, near its start, moves the chart there: Step goes on from that frame.
    rail = page.locator("g.slider-container rect.slider-rail-touch-rect").first
    act(page, lambda: rail.click(position={"x": 20, "y": 5}))
    until_the_epoch_leaves(page, paused + 1)
    moved = shown_epoch(page)[0]
    assert moved < paused, f"the slider click left the chart at epoch {moved}, not near the start"
    assert step(page) == moved + 1

