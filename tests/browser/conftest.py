"""Browser fixtures: one Streamlit server for the session, headless Chromium, a fresh page per test.

Everything talks to 127.0.0.1 only, every wait has a time limit, and every loop a count limit.
Screenshots, the server log and the latency figures go to test-artifacts/. Page helpers: helpers.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.browser.helpers import ARTIFACTS, LATENCY, WAIT_MS, wait_for_app
from tests.conftest import mnist_dir

ROOT = ARTIFACTS.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
HEALTH_TIMEOUT_S = 60.0
HEALTH_POLL_S = 0.25
VIEWPORT = {"width": 1400, "height": 900}
LOCAL = ("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/browser as `browser` (deselect them with -m "not browser")."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    for _ in range(int(HEALTH_TIMEOUT_S / HEALTH_POLL_S) + 1):
        if server.poll() is not None:
            pytest.fail(f"Streamlit exited with code {server.returncode} before it was healthy; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            break
        time.sleep(HEALTH_POLL_S)
    pytest.fail(f"Streamlit was not healthy at {url} after {HEALTH_TIMEOUT_S:.0f} s; see {log}")


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
def app_url(artifacts: Path, mnist_available: Path | None) -> Iterator[str]:
    """A Streamlit server on a free local port, running app.py from the repository root."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if mnist_available is not None:
        env["NNLAB_DATA_DIR"] = str(mnist_available)
    venv_python = ROOT / ".venv" / "bin" / "python"
    python = str(venv_python) if venv_python.is_file() else sys.executable
    command = [python, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.address",
               "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
               # No reruns when a file changes mid-test (others may be editing), and no inotify load.
               "--server.fileWatcherType", "none"]
    log_path = artifacts / "streamlit-server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(url, server, log_path)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright's sync API."""
    if not CHROMIUM.is_file():
        message = f"Chromium not installed at {CHROMIUM}: apt-get install -y chromium"
        if os.environ.get("NNLAB_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
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
    if route.request.url.startswith(LOCAL):
        route.continue_()
        return
    with open(ARTIFACTS / "blocked-requests.txt", "a") as blocked:
        blocked.write(route.request.url + "\n")
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
        wait_for_app(page)
        yield page
    finally:
        context.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the latency figures the browser tests measured (measurements, not pass/fail limits)."""
    if LATENCY:
        terminalreporter.write_sep("-", "browser latency (ms), also in test-artifacts/latency.json")
        for name, value in LATENCY.items():
            terminalreporter.write_line(f"{name}: {value}")
