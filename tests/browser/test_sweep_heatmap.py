"""A sweep in real Chromium: the default 3 x 3 circles grid (learning rate x units), kept across a reload, a
heatmap cell clicked, and that run opened on the Train page. Screenshots: test-artifacts/sweep-heatmap.png and
sweep-opened.png."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from tests.browser.helpers import (
    WAIT_MS,
    act,
    assert_no_exception,
    chart_point,
    charts,
    go_to,
    record_latency,
    screenshot,
    wait_for_chart,
)
from tests.browser.test_journey import metric_value

HEATMAP = "click a cell to open its run"

def test_a_circles_sweep_heatmap_cell_opens_its_run(page: Page) -> None:
    go_to(page, "Sweep")
    started = time.perf_counter()
    act(page, page.get_by_role("button", name="Run 9 runs").click)
    assert wait_for_chart(page, "heatmap", title=HEATMAP, timeout_ms=WAIT_MS), f"no heatmap: {charts(page)}"
    record_latency(sweep_3x3_circles_ms=round(1000 * (time.perf_counter() - started)))
    assert_no_exception(page, "sweep")
    expect(page.get_by_text("Best by validation accuracy")).to_be_visible()
    screenshot(page, "sweep-heatmap")
    page.reload()  # the sweep is kept with the session's Lab in the server's store: a reload shows it again
    assert wait_for_chart(page, "heatmap", title=HEATMAP, timeout_ms=WAIT_MS), f"lost on reload: {charts(page)}"
    expect(page.get_by_text("Best by validation accuracy")).to_be_visible()

    # The middle cell: columns are lr 0.001, 0.01, 0.1 and rows units 2, 8, 32, so cell 4 is lr 0.01 with 8 units.
    cell = chart_point(page, HEATMAP, "runs", 4)
    act(page, lambda: page.mouse.click(cell["x"], cell["y"]))
    page.get_by_role("heading", name="Train", exact=True).first.wait_for(timeout=WAIT_MS)
    assert_no_exception(page, "sweep-opened")
    expect(page.get_by_role("slider", name="Learning rate (log scale)")).to_have_attribute("aria-valuetext", "0.01")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("mlp 8-8")
    validation = cell["customdata"][1]  # the cell's validation accuracy, as its hover shows it
    assert metric_value(page, "Validation accuracy") == f"{validation:.1f}%"  # the same run as the sweep's cell
    screenshot(page, "sweep-opened")
