"""Playground's controls in real Chromium: per-layer widths set with − and + survive a reload and a share link,
and the network drawing tells an edge's weight under the mouse."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Browser, Page, expect

from tests.browser.helpers import (
    WAIT_MS,
    act,
    assert_no_exception,
    chart_point,
    go_to,
    screenshot,
    wait_for_session,
)
from tests.browser.test_classroom import DIALOG, open_fresh

SIDEBAR = '[data-testid="stSidebar"]'
NETWORK = "The network"  # the Model page's drawing
HOVER_TRACE = "weight values"  # core.plots.network.HOVER_NAME


def width_button(page: Page, prefix: str, side: str, layer: int):
    """The − (side "less") or + ("more") button of one hidden layer (widget key f"{prefix}.{side}{layer}")."""
    return page.locator(f".st-key-{prefix.replace('.', '-')}-{side}{layer} button:visible")  # (and a hidden sizer)


def expect_widths(page: Page, prefix: str, widths: tuple[int, ...]) -> None:
    """The sidebar names the network by its widths, and each layer's row says its own."""
    expect(page.locator(SIDEBAR)).to_contain_text(f"Model · mlp {'-'.join(map(str, widths))}", timeout=WAIT_MS)
    for layer, units in enumerate(widths):
        expect(page.get_by_text(f"Layer {layer + 1} · {units} units", exact=True)).to_be_visible()
    expect(width_button(page, prefix, "less", len(widths))).to_have_count(0)  # no row for a layer not there


def test_a_16_4_network_set_with_plus_and_minus_survives_a_reload_and_a_share_link(page: Page,
                                                                                  browser: Browser) -> None:
    go_to(page, "Train")
    expect_widths(page, "train.arch", (16, 16))  # the circles preset
    for _ in range(5):  # 16 -> 12 -> 8 -> 6 -> 4 -> 3
        act(page, width_button(page, "train.arch", "less", 1).click)
    act(page, width_button(page, "train.arch", "more", 1).click)  # 3 -> 4
    assert_no_exception(page, "train-widths")
    expect_widths(page, "train.arch", (16, 4))
    assert parse_qs(urlsplit(page.url).query)["hidden"] == ["16,4"], page.url

    page.reload()
    wait_for_session(page)
    assert_no_exception(page, "train-widths-reloaded")
    expect_widths(page, "train.arch", (16, 4))

    act(page, page.get_by_role("button", name="Share").click)
    code = page.locator(f"{DIALOG} [data-testid='stCode'] code")
    expect(code).to_contain_text("hidden=16,4")
    link = code.inner_text().strip()
    page.keyboard.press("Escape")
    student = open_fresh(browser, link)
    try:
        assert_no_exception(student, "share-link-widths")
        go_to(student, "Model")
        expect_widths(student, "model", (16, 4))
        screenshot(student, "model-layer-widths")
    finally:
        student.context.close()


def test_hovering_an_edge_of_the_network_shows_its_weight(page: Page) -> None:
    go_to(page, "Model")  # a fresh session has the default circles model trained
    expect(page.get_by_text("Point at an edge to read its weight", exact=False)).to_be_visible()
    page.wait_for_function("(t) => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                           ".some(g => (g._fullLayout.title?.text || '').includes(t))", arg=NETWORK, timeout=WAIT_MS)
    told = page.evaluate("""(a) => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .find(g => (g._fullLayout.title?.text || '').includes(a.title))._fullData
        .find(t => t.name === a.trace).hovertext[0]""", {"title": NETWORK, "trace": HOVER_TRACE})
    assert "weight = " in told, told
    point = chart_point(page, NETWORK, HOVER_TRACE, 0)
    page.mouse.move(point["x"] - 20, point["y"])
    page.mouse.move(point["x"], point["y"], steps=4)
    label = page.locator(".hoverlayer .hovertext").first
    expect(label).to_be_visible()
    weight = told.split("weight = ")[1].split("<br>")[0]
    expect(label).to_contain_text(f"weight = {weight}")
    screenshot(page, "network-weight-hover")
