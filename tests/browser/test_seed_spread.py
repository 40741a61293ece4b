"""The seed spread in real Chromium: "Train 5 seeds" on the Sweep page draws the validation band and the finals
beside one run's 95% interval. Screenshot: test-artifacts/seed-spread.png; its time goes to latency.json."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from tests.browser.helpers import (
    WAIT_MS,
    act,
    assert_no_exception,
    charts,
    go_to,
    record_latency,
    screenshot,
    wait_for_chart,
)

TITLE = "Validation accuracy across seeds"


def test_train_five_seeds_shows_the_band_and_the_interval(page: Page) -> None:
    go_to(page, "Sweep")
    started = time.perf_counter()
    act(page, page.get_by_role("button", name="Train 5 seeds").click)
    assert wait_for_chart(page, "scatter", title=TITLE, timeout_ms=2 * WAIT_MS), f"no seed band: {charts(page)}"
    record_latency(seed_spread_5_circles_ms=round(1000 * (time.perf_counter() - started)))
    assert_no_exception(page, "seed-spread")
    summary = page.get_by_test_id("stMarkdown").filter(has_text="Final validation accuracy over 5 seeds")
    expect(summary).to_contain_text("One run's 95% interval")
    summary.scroll_into_view_if_needed()
    screenshot(page, "seed-spread")
