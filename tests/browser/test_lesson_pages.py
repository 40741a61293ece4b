"""Guided lessons in real Chromium: a new browser context completes three lessons by moving the controls as a
person would (arrow keys on a slider, a menu, feature buttons), sees "Got it" after each, and keeps its progress
across a reload."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from core.lessons import load_lessons
from tests.browser.helpers import (
    WAIT_MS,
    act,
    assert_no_exception,
    go_to,
    screenshot,
    wait_for_chart,
    wait_for_session,
)
from tests.browser.layout import settled_layout_problems
from tests.browser.test_journey import choose

GOT_IT = "Got it!"


def open_lesson(page: Page, lesson_id: str, title: str) -> None:
    """Press the lesson's Open button in the list and wait for its page."""
    act(page, page.locator(f".st-key-lessons-open-{lesson_id} button").click)
    assert_no_exception(page, lesson_id)
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    expect(page.get_by_text("Not yet.")).to_be_visible()  # the starting setup fails the check
    assert wait_for_chart(page, "heatmap", title="Decision boundary"), "the start's boundary is drawn"


def back_to_the_list(page: Page) -> None:
    act(page, page.get_by_role("button", name="All lessons").click)
    expect(page.get_by_role("heading", name="Lessons", exact=True)).to_be_visible()


def done_text(done: int) -> str:
    return f"{done} of {len(load_lessons())} lessons done"


def test_three_lessons_done_by_hand_and_kept_across_a_reload(page: Page) -> None:
    go_to(page, "Lessons")
    expect(page.get_by_text(done_text(0))).to_be_visible()

    # 1. How many hidden units make a ring? One unit fails; the arrow key adds units one step at a time.
    open_lesson(page, "hidden-units", "How many hidden units make a ring?")
    units = page.get_by_role("slider", name="Units per hidden layer")
    for _ in range(2):  # 1 -> 2 (still not a ring: a hint appears) -> 3
        units.focus()
        act(page, lambda: page.keyboard.press("ArrowRight"))
    expect(units).to_have_attribute("aria-valuetext", "3")
    expect(page.get_by_text(GOT_IT)).to_be_visible()
    expect(page.get_by_text("What just happened.")).to_be_visible()
    back_to_the_list(page)

    # 2. Why a network needs a bend: from 'linear' to 'relu' in the Activation menu.
    open_lesson(page, "non-linearity", "Why a network needs a bend")
    expect(page.get_by_role("slider", name="Units per hidden layer")).to_be_disabled()  # the lesson locks the size
    # Low on the page: scrolled to first, since a scroll while its menu opens closes the menu again.
    page.get_by_role("combobox", name="Activation", exact=True).scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    choose(page, "Activation", "relu")
    expect(page.get_by_text(GOT_IT)).to_be_visible()
    back_to_the_list(page)

    # 3. Feature engineering: logistic regression draws a circle once it is given x² and y².
    open_lesson(page, "feature-engineering", "Feature engineering: x² and y²")
    for feature in ("x²", "y²"):
        act(page, page.get_by_role("button", name=feature, exact=True).click)
    expect(page.get_by_text(GOT_IT)).to_be_visible()
    screenshot(page, "lessons")  # the README's picture: docs/screenshots/lessons.png is copied from it
    back_to_the_list(page)
    expect(page.get_by_text(done_text(3))).to_be_visible()

    page.reload()
    wait_for_session(page)
    assert_no_exception(page, "lessons-after-reload")
    expect(page.get_by_text(done_text(3))).to_be_visible(timeout=WAIT_MS)
    for lesson_id in ("hidden-units", "non-linearity", "feature-engineering"):
        expect(page.locator(f".st-key-lessons-open-{lesson_id} button")).to_have_text("Again")
    expect(page.locator(".st-key-lessons-open-depth button")).to_have_text("Open")


def test_an_open_lesson_fits_a_projector(page: Page) -> None:
    """QA at 1024 px: the buttons under a lesson's title read "All le…" and "Start …" (the Lessons page of the
    responsive check is the list: an open lesson is only reached from it)."""
    page.set_viewport_size({"width": 1024, "height": 768})
    go_to(page, "Lessons")
    open_lesson(page, "hidden-units", "How many hidden units make a ring?")
    problems = settled_layout_problems(page)
    screenshot(page, "layout-1024-lesson")
    assert not problems, problems
    for label in ("All lessons", "Start again"):
        expect(page.get_by_role("button", name=label)).to_be_visible()
