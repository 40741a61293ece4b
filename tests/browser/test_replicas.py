"""Two app servers behind a real HAProxy, on one PostgreSQL database (.ci/replicas.sh), in real Chromium.

A teacher's board started through server a receives a student's entry submitted through server b; a reload stays on
its server and keeps its Lab; when server a is stopped, its tab lands on b with a plain notice that the server
restarted, and finds its run history again in PostgreSQL. Each browser is pinned to a server by HAProxy's own
SERVERID cookie, set before the first visit. Times go to test-artifacts/latency.json; the servers' logs beside.
"""

from __future__ import annotations

import os
import re
import secrets
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, text

from tests.browser.helpers import (
    ARTIFACTS,
    WAIT_MS,
    act,
    assert_no_exception,
    go_to,
    record_latency,
    wait_for_app,
    wait_for_session,
)
from tests.browser.test_class_board import TABLE, board_links, submit_as
from tests.browser.test_journey import TRAIN_MS, train_button
from tests.conftest import POSTGRES_URL_ENV, ROOT

SCRIPT = ROOT / ".ci" / "replicas.sh"
START_S = 240  # both servers and the proxy healthy
COOKIE = "SERVERID"
SIDEBAR = '[data-testid="stSidebar"]'
RESTARTED = "this server restarted"


@dataclass(frozen=True)
class Replicas:
    """The proxy's address, the database the servers share, and the script's folder (pids, ports, logs)."""

    url: str
    db_url: str
    folder: Path

    def pid(self, server: str) -> int:
        return int((self.folder / f"{server}.pid").read_text())


def _required(what: str, how: str) -> None:
    """Skip for want of `what`, or fail where CI requires it (NNLAB_REQUIRE_BROWSER / NNLAB_REQUIRE_POSTGRES)."""
    message = f"{what} is missing: {how}"
    if os.environ.get("NNLAB_REQUIRE_BROWSER") == "1" or os.environ.get("NNLAB_REQUIRE_POSTGRES") == "1":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def _schema(url: str) -> Iterator[str]:
    """A schema of its own on the test server, first on the search path of the URL handed to the servers."""
    schema = f"replicas_{secrets.token_hex(6)}"
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _announced(script: subprocess.Popen, deadline: float) -> tuple[str, str] | None:
    """(proxy URL, folder) from the one line the script's command prints once the proxy is healthy; None if it
    never comes."""
    with selectors.DefaultSelector() as selector:
        selector.register(script.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline and script.poll() is None:
            if selector.select(timeout=1.0):
                url, _, folder = script.stdout.readline().strip().partition(" ")
                return (url, folder) if folder else None
    return None


@pytest.fixture(scope="module")
def replicas() -> Iterator[Replicas]:
    """Two servers behind HAProxy on a fresh schema, started by .ci/replicas.sh and stopped when the module ends."""
    if shutil.which("haproxy", path=os.environ.get("PATH", "") + ":/usr/sbin") is None:  # not on a user's PATH
        _required("HAProxy", "apt-get install -y haproxy (.ci/run installs it)")
    if not os.environ.get(POSTGRES_URL_ENV):
        _required("PostgreSQL", f"{POSTGRES_URL_ENV} is unset (run the tests under .ci/postgres.sh)")
    ARTIFACTS.mkdir(exist_ok=True)
    with _schema(os.environ[POSTGRES_URL_ENV]) as db_url, open(ARTIFACTS / "replicas.log", "w") as log:
        started = time.monotonic()
        # The command holds the servers until its stdin closes: `read` returns, and the script stops everything.
        command = [str(SCRIPT), "sh", "-c", 'echo "$NNLAB_TEST_PROXY_URL $NNLAB_TEST_REPLICAS"; read _']
        script = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ, NNLAB_DATABASE_URL=db_url),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        found = None
        try:
            found = _announced(script, started + START_S)
            if found is None:
                pytest.fail(f"the replicas did not start within {START_S} s; see test-artifacts/replicas.log")
            record_latency(replicas_ready_s=round(time.monotonic() - started, 1))
            yield Replicas(found[0], db_url, Path(found[1]))
        finally:
            _keep_logs(Path(found[1]) if found else None)
            script.stdin.close()
            try:
                script.wait(timeout=60)
            except subprocess.TimeoutExpired:
                script.terminate()
                script.wait(timeout=30)


def _keep_logs(folder: Path | None) -> None:
    """The servers' logs into test-artifacts/ before the script removes its folder."""
    for name in ("a", "b"):
        if folder is not None and (folder / f"{name}.log").is_file():
            shutil.copy(folder / f"{name}.log", ARTIFACTS / f"replica-{name}.log")


def open_on(browser: Browser, replicas: Replicas, server: str, url: str | None = None) -> Page:
    """A fresh browser (context) pinned to `server` by HAProxy's cookie, opened on `url` (the proxy's home)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(WAIT_MS)
    context.add_cookies([{"name": COOKIE, "value": server, "url": replicas.url}])
    page = context.new_page()
    page.goto(url or replicas.url)
    wait_for_session(page)
    return page


def server_of(page: Page) -> str | None:
    """The server HAProxy's cookie pins this browser to."""
    return next((c["value"] for c in page.context.cookies() if c["name"] == COOKIE), None)


def token_of(page: Page) -> str | None:
    """The session token in the address bar (s=)."""
    match = re.search(r"[?&]s=([A-Za-z0-9_-]+)", page.url)
    return match.group(1) if match else None


def saved_runs(replicas: Replicas, token: str) -> int:
    """How many runs PostgreSQL holds under this session token."""
    engine = create_engine(replicas.db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM runs WHERE session = :s"), {"s": token}).scalar())
    finally:
        engine.dispose()


def test_a_board_started_on_one_server_gets_an_entry_submitted_on_the_other(browser: Browser,
                                                                            replicas: Replicas) -> None:
    teacher = open_on(browser, replicas, "a")
    student = None
    try:
        go_to(teacher, "Board")
        teacher.get_by_label("Board name").fill("Two servers")
        act(teacher, teacher.get_by_role("button", name="Start a board").click)
        student_link, _ = board_links(teacher)
        assert student_link.startswith(replicas.url), f"the link goes through the proxy: {student_link}"
        student = open_on(browser, replicas, "b", student_link)
        expect(student.get_by_text("Two servers")).to_be_visible()
        nickname = f"ada-{secrets.token_hex(2)}"
        submit_as(student, nickname)
        expect(teacher.locator(TABLE)).to_contain_text(nickname, timeout=15_000)  # a's table, read from PostgreSQL
        assert (server_of(teacher), server_of(student)) == ("a", "b"), "each browser stayed on its own server"
        assert_no_exception(teacher, "replicas-board-teacher")
    finally:
        for page in (teacher, student):
            if page is not None:
                page.context.close()


def test_a_reload_stays_on_its_server_and_a_stopped_server_leaves_the_history(browser: Browser,
                                                                             replicas: Replicas) -> None:
    page = open_on(browser, replicas, "a")
    try:
        go_to(page, "Train")
        act(page, train_button(page).click)
        expect(page.locator(SIDEBAR)).to_contain_text("Trained", timeout=TRAIN_MS)
        wait_for_app(page)
        token = token_of(page)
        assert token, f"no session token in {page.url}"

        page.reload()
        wait_for_session(page)
        expect(page.locator(SIDEBAR)).to_contain_text("Trained", timeout=WAIT_MS)
        assert token_of(page) == token and server_of(page) == "a", "a reload keeps its server and its Lab"
        expect(page.get_by_text("not known to the server")).to_have_count(0)
        kept = saved_runs(replicas, token)
        assert kept >= 1, "the runs are in PostgreSQL"

        started = time.monotonic()
        os.kill(replicas.pid("a"), signal.SIGTERM)  # the browser stays idle on a's page until it does something
        page.wait_for_function("() => document.cookie.includes('SERVERID=b')", timeout=60_000)
        record_latency(replicas_stop_to_moved_s=round(time.monotonic() - started, 1))
        # An idle page stays as it was until it runs again on b with its address (s=): here, a reload. (A page link
        # would start afresh, since Streamlit drops the query on a page change; a fragment's widget does nothing.)
        page.reload()
        wait_for_session(page)
        expect(page.get_by_text(re.compile(RESTARTED, re.IGNORECASE))).to_be_visible()
        record_latency(replicas_stop_to_notice_s=round(time.monotonic() - started, 1))
        new_token = token_of(page)
        assert new_token and new_token != token, "the live server opened a Lab of its own"
        go_to(page, "Runs")
        page.get_by_test_id("stDataFrame").first.wait_for(timeout=WAIT_MS)
        assert saved_runs(replicas, token) == 0, "the tab's run history moved to its new session"
        assert saved_runs(replicas, new_token) >= kept, "all of it"
        assert_no_exception(page, "replicas-after-stop")
    finally:
        page.context.close()
