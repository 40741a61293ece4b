"""The Board page's table, its projector view and the teacher's Remove list in real Chromium, at 1024 and 1920 px.

Entries are put on the board straight into the server's database (board.submit, as a student's Submit does), so
that no student has to train first.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from app_pages.board_table import REFRESH_S
from core.config import ModelConfig, TrainConfig
from core.history import board
from core.history.db import shared_engine
from tests.browser.helpers import WAIT_MS, act, assert_no_exception, go_to, screenshot, wait_for_app
from tests.browser.layout import settled_layout_problems

TABLE = '[data-testid="stDataFrame"]'
PRESENT = ".board-present"  # the projector's table
LONG = "a_very_long_nickname_abc"  # the 24 characters a nickname may have
HOSTILE = "<b>bob</b> and a long one"[:24]
NAMES = [LONG, HOSTILE, "ada"]
WIDE_SETUP = ModelConfig(hidden=(16, 16, 16, 16), activation="tanh", head="sigmoid")  # the longest setups
PROJECTOR_FONT_PX = 28  # at 1920 px a row is read from the back of a room


@pytest.fixture(scope="module", autouse=True)
def warm_server(browser: Browser, app_url: str) -> None:
    """The server's first page, opened with time to spare: on a busy machine it takes longer than the `page`
    fixture waits (Home trains its example first), and this module may be the first to ask."""
    context = browser.new_context()
    try:
        context.new_page().goto(app_url)
        wait_for_app(context.pages[0], timeout_ms=4 * WAIT_MS)
    finally:
        context.close()


def start_board(page: Page, name: str) -> str:
    """Start a board from the teacher's tab, put its one-time link dialog away, and return the board's id."""
    go_to(page, "Board")
    page.get_by_label("Board name").fill(name)
    act(page, page.get_by_role("button", name="Start a board").click)
    act(page, page.get_by_role("button", name="I have kept it").click)
    return parse_qs(urlsplit(page.url).query)["board"][0]


def seed(board_id: str, names: list[str]) -> None:
    """Each name's run on the board, sent from its own tab (the best first)."""
    db = shared_engine()  # the server's database: the tests run in the same folder and environment
    data = board.get_board(db, board_id).data
    for n, name in enumerate(names):
        run = board.BoardRun(data, WIDE_SETUP, TrainConfig(loss="mse"), 0.95 - n / 20, 0.9 - n / 20)
        board.submit(db, board_id, name, f"browser-seed-{n}", run)


def test_long_nicknames_are_whole_at_1024_and_1920_and_the_projector_shows_large_rows(page: Page,
                                                                                    browser: Browser) -> None:
    """QA at 1024 px: 24-character nicknames and the Setup column were cut off in the table, and the present view
    showed normal-size text with Setup cut off too. The layout check reads every text of the projector's table."""
    board_id = start_board(page, "Wide class")
    seed(board_id, NAMES)
    present = browser.new_context().new_page()  # the projector: no sidebar, so no session summary to wait for
    present.goto(page.url.split("?")[0] + f"?board={board_id}&present=1")
    try:
        for width in (1024, 1920):
            for view in (page, present):
                view.set_viewport_size({"width": width, "height": 900})
                wait_for_app(view)
                name = "teacher" if view is page else "present"
                shown = view.locator(f"{TABLE}, {PRESENT}")
                for nickname in NAMES:
                    expect(shown).to_contain_text(nickname, timeout=WAIT_MS)
                problems = settled_layout_problems(view)
                screenshot(view, f"layout-{width}-board-{name}-long-names")
                assert not problems, (width, name, problems)
                assert view.locator("b", has_text="bob").count() == 0, "a nickname is never rendered as markup"
            expect(present.locator(PRESENT)).to_be_visible()  # a table of text, not a canvas of small print
            cells = present.locator(f"{PRESENT} td:not(.setup)")
            font = min(float(px.removesuffix("px")) for px in cells.evaluate_all(
                "cells => cells.map(c => getComputedStyle(c).fontSize)"))
            assert font >= (PROJECTOR_FONT_PX if width == 1920 else 20), (width, font)
        assert_no_exception(present, "board-present")
    finally:
        present.context.close()


def test_the_remove_list_opens_with_one_click_and_stays_open_past_a_refresh(page: Page) -> None:
    """QA at 1024 px saw the first click on "Entry to remove" show no options. The cause was the test driver:
    Playwright scrolls a box below the fold into view and clicks in the same moment, and the scroll event that
    arrives just after closes the list (Streamlit's select box closes its popover when the page scrolls). A person
    scrolls to the box first, as this test does; then one click opens it. The select box is redrawn with the table
    every refresh, and its open list stays open while its entries do not change."""
    page.set_viewport_size({"width": 1024, "height": 768})
    board_id = start_board(page, "Remove class")
    seed(board_id, ["ada", "bob"])
    expect(page.locator(TABLE)).to_contain_text("bob", timeout=WAIT_MS)
    box = page.get_by_role("combobox", name="Entry to remove", exact=True)
    wait_for_app(page)
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # the scroll is over, as it is for a person who scrolled down to the list
    box.click()  # once
    bob = page.get_by_role("option", name="#2 bob", exact=True)
    expect(bob).to_be_visible(timeout=1_000)
    page.wait_for_timeout(int(2.5 * REFRESH_S * 1000))  # two refreshes of the live table
    expect(bob).to_be_visible(timeout=100)
    act(page, bob.click)
    expect(box).to_have_value("#2 bob")
    act(page, page.get_by_role("button", name="Remove entry").click)
    expect(page.locator(TABLE)).not_to_contain_text("bob", timeout=WAIT_MS)
    assert [e.nickname for e in board.entries(shared_engine(), board_id)] == ["ada"]
    assert_no_exception(page, "board-remove")
