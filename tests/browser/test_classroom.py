"""Classroom-ready in real Chromium: remembered on reload, shared by link (and QR code), hidden and locked controls,
and a session that belongs to its browser tab.

The share link is read from the Share dialog itself, as a teacher would copy it, and opened in a fresh
browser context, as a student would. The tab's secret is read from its sessionStorage, as tab_secret.js keeps it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import VIEWPORT
from tests.browser.helpers import WAIT_MS, act, assert_no_exception, go_to, screenshot, wait_for_session
from tests.browser.test_journey import TRAIN_MS, choose, metric, train_button

DIALOG = '[data-testid="stDialog"]'
SIDEBAR = '[data-testid="stSidebar"]'
TAB_SECRET_JS = "() => sessionStorage.getItem('nnlab.tab.secret')"
MISTAKES = re.compile(r"Mistakes on the test split: ([\d,]+) of ([\d,]+) points?")


def token_of(page: Page) -> str | None:
    """The session token in the page's address bar."""
    values = parse_qs(urlsplit(page.url).query).get("s")
    return values[0] if values else None


def evaluate_accuracy(page: Page) -> str:
    """The Evaluate page's test accuracy to 4 decimals, from its exact count of mistakes."""
    heading = page.get_by_role("heading", name=MISTAKES).first
    heading.wait_for(timeout=WAIT_MS)
    wrong, total = (int(n.replace(",", "")) for n in MISTAKES.search(heading.inner_text()).groups())
    return f"{1 - wrong / total:.4f}"


def open_fresh(browser: Browser, url: str) -> Page:
    """`url` in a fresh browser context (a new Streamlit session, as a student's browser), the app idle."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(url)
    wait_for_session(page)
    return page


def tick(page: Page, key: str) -> None:
    """Click the Share dialog's checkbox with widget key `key` and wait for the dialog to redraw."""
    act(page, page.locator(f"{DIALOG} .st-key-{key} label").click)


def test_a_reload_keeps_the_mnist_model(page: Page, mnist_available: Path | None) -> None:
    if mnist_available is None:
        pytest.skip("real MNIST files not found in ../shared/data/mnist (set NNLAB_TEST_MNIST_DIR)")
    go_to(page, "Data")
    choose(page, "Dataset", "MNIST digits (real)")
    go_to(page, "Train")
    act(page, train_button(page).click)
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Trained · completed", timeout=TRAIN_MS)
    go_to(page, "Evaluate")
    before, f1_before, token = evaluate_accuracy(page), metric(page, "Macro F1").inner_text(), token_of(page)
    assert token and "data=mnist" in page.url, page.url
    page.reload()
    wait_for_session(page)
    assert_no_exception(page, "evaluate-after-reload")
    assert evaluate_accuracy(page) == before
    assert metric(page, "Macro F1").inner_text() == f1_before
    assert token_of(page) == token, "a reload opens its own session again, not a copy"
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Data · mnist")


def test_a_share_link_reproduces_the_setup_and_obeys_hide_and_lock(page: Page, browser: Browser) -> None:
    go_to(page, "Data")
    choose(page, "Dataset", "Moons")
    go_to(page, "Train")
    act(page, page.get_by_role("button", name="Share").click)
    page.locator(DIALOG).wait_for(timeout=WAIT_MS)
    for key in ("share_hide_opt", "share_hide_auto", "share_lock_lr", "share_page_predict"):
        tick(page, key)
    code = page.locator(f"{DIALOG} [data-testid='stCode'] code")
    expect(code).to_contain_text("lock=lr")
    link = code.inner_text().strip()
    query = parse_qs(urlsplit(link).query)
    assert "s" not in query, f"a share link must never hold the session token: {link}"
    assert query["data"] == ["moons"] and query["hide"] == ["opt,auto"] and query["lock"] == ["lr"], link
    qr = page.locator(f"{DIALOG} [data-testid='stImage'] img").first
    expect(qr).to_be_visible()
    decoded = [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))]
    assert decoded == [link]
    screenshot(page, "share-dialog")  # the README's picture: docs/screenshots/share-dialog.png is copied from it
    page.keyboard.press("Escape")
    go_to(page, "Evaluate")
    teacher = evaluate_accuracy(page)

    student = open_fresh(browser, link)
    try:
        assert_no_exception(student, "share-link")
        assert token_of(student) not in (None, token_of(page)), "the student gets a session of their own"
        expect(student.get_by_role("slider", name="Learning rate (log scale)")).to_be_disabled()
        expect(student.get_by_role("combobox", name="Optimizer", exact=True)).to_have_count(0)
        expect(student.get_by_text("Auto-train", exact=True)).to_have_count(0)
        nav = student.locator('[data-testid="stSidebarNav"] a')
        expect(nav.filter(has_text="Predict")).to_have_count(0)
        expect(nav.filter(has_text="Evaluate")).to_have_count(1)
        go_to(student, "Evaluate")
        assert evaluate_accuracy(student) == teacher
        go_to(student, "Data")
        expect(student.get_by_role("combobox", name="Dataset", exact=True)).to_have_value("Moons")
    finally:
        student.context.close()

    other = open_fresh(browser, page.url)  # the teacher's own address bar, token and all, in another browser
    try:
        expect(other.locator(".st-key-session_notice")).to_contain_text("belongs to another browser tab")
        assert token_of(other) not in (None, token_of(page)), "another browser gets a session of its own"
        go_to(other, "Evaluate")
        assert evaluate_accuracy(other) == teacher, "built from the URL's settings, as a share link would be"
    finally:
        other.context.close()


def test_a_hostile_link_shows_the_notice_and_the_page_works(browser: Browser, app_url: str) -> None:
    page = open_fresh(browser, f"{app_url}/train?lr=<script>alert(1)</script>&noise=x&noise=0.2&zz=1&hide=nope")
    try:
        assert_no_exception(page, "hostile-link")
        notice = page.locator(".st-key-session_notice")
        expect(notice).to_contain_text("lr=?script?alert(1)?/script? ignored")
        expect(notice).to_contain_text("unknown setting zz ignored")
        expect(page.locator("script", has_text="alert(1)")).to_have_count(0)
        screenshot(page, "hostile-link-notice")
        act(page, notice.get_by_role("button", name="Dismiss").click)
        expect(page.locator(".st-key-session_notice")).to_have_count(0)
        expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Trained")
    finally:
        page.context.close()


def test_a_tab_keeps_its_session_on_reload_and_nothing_else_gets_it(page: Page, browser: Browser) -> None:
    go_to(page, "Data")
    choose(page, "Dataset", "Moons")
    expect(page.locator(SIDEBAR)).to_contain_text("Data · moons")
    token, secret = token_of(page), page.evaluate(TAB_SECRET_JS)
    assert token and secret and len(secret) == 43 and secret not in page.url, "the secret never goes in a URL"
    expect(page.locator(".st-key-tab-secret")).to_be_hidden()

    page.reload()
    wait_for_session(page)
    expect(page.locator(SIDEBAR)).to_contain_text("Data · moons")
    assert_no_exception(page, "reload")
    assert token_of(page) == token and page.evaluate(TAB_SECRET_JS) == secret, "a reload finds its own session"
    expect(page.locator(".st-key-session_notice")).to_have_count(0)

    new_tab = page.context.new_page()  # the same browser, another tab: its own sessionStorage
    try:
        new_tab.goto(page.url)
        wait_for_session(new_tab)
        expect(new_tab.locator(".st-key-session_notice")).to_contain_text("belongs to another browser tab")
        assert token_of(new_tab) not in (None, token) and new_tab.evaluate(TAB_SECRET_JS) not in (None, secret)
        expect(new_tab.locator(SIDEBAR)).to_contain_text("Data · moons")  # the URL's settings, nothing else
    finally:
        new_tab.close()
    other = open_fresh(browser, page.url)  # another browser on the same URL, s= and all
    try:
        expect(other.locator(".st-key-session_notice")).to_contain_text("belongs to another browser tab")
        assert token_of(other) not in (None, token) and other.evaluate(TAB_SECRET_JS) != secret
    finally:
        other.context.close()
    assert token_of(page) == token

    ended_url = page.url
    act(page, page.locator(SIDEBAR).get_by_role("button", name="End my session").click)  # a shared computer
    expect(page.locator(SIDEBAR)).to_contain_text("Data · circles", timeout=WAIT_MS)
    assert_no_exception(page, "end-my-session")
    fresh = token_of(page)
    assert fresh not in (None, token) and page.evaluate(TAB_SECRET_JS) not in (None, secret)
    page.goto(ended_url)  # the next person opens the ended session's URL in the same tab
    wait_for_session(page)
    expect(page.locator(".st-key-session_notice")).to_contain_text("ended in its browser tab")
    assert token_of(page) not in (None, token, fresh)
