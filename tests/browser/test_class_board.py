"""A class board in real Chromium: a teacher starts it, two students (two browser contexts) open the student
link, train, submit with nicknames, and each sees both entries; the teacher's view at 1024 px, and a teacher tab
left alone that is told when another browser took the role."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import Browser, Page, expect

from app_pages.board_panels import LOST
from tests.browser.helpers import WAIT_MS, act, assert_no_exception, go_to, screenshot, wait_for_app, wait_for_session
from tests.browser.layout import settled_layout_problems
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
            expect(projector.locator(".board-present")).to_contain_text(name)
        assert projector.get_by_role("button").filter(has_text=re.compile("Submit|Remove|Close")).count() == 0
        screenshot(projector, "board-present")
    finally:
        for student in students:
            student.context.close()


def test_the_teacher_view_fits_a_projector_and_an_idle_teacher_tab_is_told(page: Page, browser: Browser) -> None:
    """QA at 1024 px: the 240-px QR code stuck out of the Teacher: links panel; and a teacher tab left alone after
    another browser opened its new teacher link kept its links and Close the board, with no word of why."""
    page.set_viewport_size({"width": 1024, "height": 768})
    go_to(page, "Board")
    page.get_by_label("Board name").fill("Projector class")
    act(page, page.get_by_role("button", name="Start a board").click)
    board_links(page)
    act(page, page.get_by_role("button", name="I have kept it").click)
    problems = settled_layout_problems(page)
    screenshot(page, "layout-1024-board-teacher")
    assert not problems, problems
    act(page, page.get_by_role("button", name="New teacher link").click)
    _, teacher_link = board_links(page)
    act(page, page.get_by_role("button", name="I have kept it").click)
    laptop = open_fresh(browser, teacher_link)
    try:
        expect(laptop.get_by_role("button", name="Close the board")).to_be_visible()
        # No click in the old tab: its live table's refresh (every 2 s) finds out and the page says so.
        expect(page.get_by_text(LOST[:40])).to_be_visible(timeout=10_000)
        expect(page.get_by_role("button", name="Close the board")).to_have_count(0)
        expect(page.get_by_role("button", name="New teacher link")).to_have_count(0)
        assert_no_exception(page, "board-lost-teacher")
    finally:
        laptop.context.close()
