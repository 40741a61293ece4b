"""Browser fixtures: one Streamlit server for the session, headless Chromium, a fresh page per test.

Everything talks to 127.0.0.1 only, every wait has a time limit, and every loop a count limit.
Screenshots, the server log and the latency figures go to test-artifacts/. Page helpers: helpers.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.browser.helpers import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    LATENCY,
    WAIT_MS,
    is_local,
    record_latency,
    require_chromium,
    wait_for_session,
)
from tests.browser.server import serve_app
from tests.conftest import mnist_dir
from tests.load.measure import slow_day_factor, speed_gauge_s

ROOT = ARTIFACTS.parent
VIEWPORT = {"width": 1400, "height": 900}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/browser as `browser` (deselect them with -m "not browser")."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/, without the previous run's list of blocked requests."""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "blocked-requests.txt").unlink(missing_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def mnist_available() -> Path | None:
    """The real MNIST folder handed to the app, or None (the MNIST steps then skip)."""
    return mnist_dir()


@pytest.fixture(scope="session")
def served(artifacts: Path, mnist_available: Path | None) -> Iterator[tuple[str, int]]:
    """The shared server of the journey tests: (its URL, its process id)."""
    with serve_app(artifacts / "streamlit-server.log", mnist_available) as (url, server):
        yield url, server.pid


@pytest.fixture(scope="session")
def app_url(served: tuple[str, int]) -> str:
    return served[0]


@pytest.fixture(scope="session")
def server_pid(served: tuple[str, int]) -> int:
    return served[1]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright's sync API."""
    require_chromium()
    expect.set_options(timeout=WAIT_MS)
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


def _local_only(route: Route) -> None:
    """Let requests to the local server through; abort (and log) anything else."""
    if is_local(route.request.url):
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def page(browser: Browser, app_url: str, artifacts: Path) -> Iterator[Page]:
    """A fresh browser context (so a fresh Streamlit session) opened on the home page."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT_MS)
    context.route("**/*", _local_only)
    page = context.new_page()
    try:
        page.goto(app_url)
        wait_for_session(page)
        yield page
    finally:
        context.close()


@pytest.fixture
def slow_day(request: pytest.FixtureRequest) -> float:
    """How many times slower than the quiet day this machine is at the start of the test (at least 1; see
    tests.load.measure), recorded per test in latency.json: a timing ceiling is stretched by it."""
    factor = slow_day_factor(speed_gauge_s())
    record_latency(slow_day_factor={**LATENCY.get("slow_day_factor", {}), request.node.name: factor})
    return factor


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the latency figures the browser tests measured (measurements, not pass/fail limits)."""
    if LATENCY:
        terminalreporter.write_sep("-", "browser latency (ms), also in test-artifacts/latency.json")
        for name, value in LATENCY.items():
            terminalreporter.write_line(f"{name}: {value}")
