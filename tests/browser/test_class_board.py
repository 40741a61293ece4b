"""A class board in real Chromium: a teacher starts it, two students (two browser contexts) open the student
link, train, submit with nicknames, and each sees both entries."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import Browser, Page, expect

from tests.browser.helpers import WAIT_MS, act, assert_no_exception, go_to, screenshot, wait_for_app, wait_for_session
from tests.browser.test_classroom import open_fresh
from tests.browser.test_journey import TRAIN_MS, train_button

CODE = '[data-testid="stCode"]'
TABLE = '[data-testid="stDataFrame"]'


def board_links(page: Page) -> tuple[str, str]:
    """(student link, teacher link) as the teacher's panel shows them."""
    page.locator(CODE).filter(has_text="board=").first.wait_for(timeout=WAIT_MS)
    codes = [text.strip() for text in page.locator(CODE).all_inner_texts()]
    student = next(c for c in codes if "board=" in c and "key=" not in c and "present" not in c)
    teacher = next(c for c in codes if "key=" in c)
    return student, teacher


def submit_as(page: Page, nickname: str, *, reload: bool = False) -> None:
    """Train on the board's data, come back to the board and submit the run under `nickname`.

    `reload`: reload the browser on the Train page first; the Board page must still find the board.
    """
    go_to(page, "Train")
    act(page, train_button(page).click)
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Trained", timeout=TRAIN_MS)
    if reload:
        page.reload()
        wait_for_session(page)
    go_to(page, "Board")
    page.get_by_label("Nickname").fill(nickname)
    act(page, page.get_by_role("button", name="Submit my run").click)
    expect(page.get_by_text("Submitted: your run is on the board.")).to_be_visible()
    assert_no_exception(page, f"board-submit-{nickname}")


def test_two_students_submit_to_one_board_and_both_see_both(page: Page, browser: Browser) -> None:
    go_to(page, "Board")
    page.get_by_label("Board name").fill("Browser class")
    act(page, page.get_by_role("button", name="Start a board").click)
    student_link, teacher_link = board_links(page)
    key = teacher_link.split("key=")[1]
    assert key not in student_link and key not in page.url, "the key stays out of the student link and address bar"

    names = [f"ada-{secrets.token_hex(2)}", f"<b>bo</b>-{secrets.token_hex(2)}"]
    students = [open_fresh(browser, student_link) for _ in names]
    try:
        for n, (student, name) in enumerate(zip(students, names)):
            expect(student.get_by_text("Browser class")).to_be_visible()
            assert_no_exception(student, "board-student")
            submit_as(student, name, reload=n == 0)
        for viewer in [*students, page]:  # the live table (refreshed every 2 s) shows both, as plain text
            table = viewer.locator(TABLE)
            for name in names:
                expect(table).to_contain_text(name, timeout=10_000)
            assert viewer.locator("b", has_text="bo").count() == 0, "a nickname is never rendered as markup"
        screenshot(students[1], "board-student")
        screenshot(page, "board-teacher")
        assert not students[0].get_by_role("button", name="Close the board").count()
        projector = students[0]
        projector.goto(student_link + "&present=1")
        wait_for_app(projector)
        for name in names:
            expect(projector.locator(TABLE)).to_contain_text(name)
        assert projector.get_by_role("button").filter(has_text=re.compile("Submit|Remove|Close")).count() == 0
        screenshot(projector, "board-present")
    finally:
        for student in students:
            student.context.close()
