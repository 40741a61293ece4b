"""Run history in real Chromium: two trainings with different learning rates, overlaid on the Runs page.
Screenshot: test-artifacts/runs-overlay.png."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.helpers import WAIT_MS, act, assert_no_exception, charts, go_to, screenshot, wait_for_chart

CURVES = "Learning curves"
TRACE_NAMES_JS = """(title) => {
  const gd = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(g => (g._fullLayout.title?.text || '').includes(title));
  return gd ? {title: gd._fullLayout.title.text, names: gd._fullData.filter(t => t.showlegend).map(t => t.name)} : null;
}"""
ROW_PX, HEADER_PX = 35, 35  # the data grid's default row and header heights


def train_with_lr(page: Page, moves: list[str]) -> None:
    """Move the learning-rate slider by keyboard (Auto-train is off), then press Train and wait for the run."""
    thumb = page.get_by_role("slider", name="Learning rate (log scale)")
    for key in moves:
        thumb.focus()
        act(page, lambda k=key: page.keyboard.press(k))
    act(page, page.get_by_role("button", name="Train", exact=True).click)
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled(timeout=WAIT_MS)


def select_rows(page: Page, rows: list[int]) -> None:
    """Tick the row markers (the grid's first, narrow column) of these rows of the runs table."""
    grid = page.get_by_test_id("stDataFrame").first
    grid.wait_for(timeout=WAIT_MS)
    box = grid.bounding_box()
    for row in rows:
        act(page, lambda r=row: page.mouse.click(box["x"] + 18, box["y"] + HEADER_PX + ROW_PX * (r + 0.5)))


def test_two_runs_with_different_learning_rates_are_overlaid(page: Page) -> None:
    go_to(page, "Train")
    act(page, page.get_by_text("Auto-train", exact=True).click)  # off: only the Train button trains now
    train_with_lr(page, [])  # the preset's 0.03
    train_with_lr(page, ["ArrowRight", "ArrowRight"])  # 0.03 -> 0.1 -> 0.3
    expect(page.get_by_role("slider", name="Learning rate (log scale)")).to_have_attribute("aria-valuetext", "0.3")

    go_to(page, "Runs")
    assert_no_exception(page, "runs")
    select_rows(page, [0, 1])  # newest first: the two Train runs (the session's first, automatic run is third)
    assert wait_for_chart(page, "scatter", title=CURVES), f"no overlay: {charts(page)}"
    overlay = page.evaluate(TRACE_NAMES_JS, CURVES)
    screenshot(page, "runs-overlay")
    assert "lr 0.03 vs 0.3" in overlay["title"], overlay
    assert len(overlay["names"]) == 2 and any("lr 0.03" in n for n in overlay["names"]) and any(
        n.endswith("lr 0.3") for n in overlay["names"]), overlay
    assert wait_for_chart(page, "heatmap", title="Final decision boundaries"), f"no boundaries: {charts(page)}"
