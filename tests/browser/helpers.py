"""Page helpers for the browser tests: wait for Streamlit runs, navigate, screenshot, check for tracebacks.

Streamlit's app root carries data-test-script-state ("initial", "running", "notRunning", ...). The
status widget ("Running...") only shows once a run has lasted 0.5 s, so on its own it cannot tell a
short run from no run at all; a MutationObserver on that attribute counts finished runs instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
LOCAL = ("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:")
WAIT_MS = 30_000  # any one page or widget wait
APP = '[data-testid="stApp"]'
STATUS = '[data-testid="stStatusWidget"]'
EXCEPTION = '[data-testid="stException"]'

QUIET_MS = 2_000  # no run seen this long after an action, and the app idle: take it as done (see below)
MAX_SHOT_HEIGHT = 4_000  # px
LATENCY: dict[str, object] = {}  # this session's measurements, also written to test-artifacts/latency.json

WATCH_RUNS_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return null;
  if (app.__nnlabRuns === undefined) {
    app.__nnlabRuns = 0;
    app.__nnlabChanged = performance.now();
    new MutationObserver(() => {
      app.__nnlabChanged = performance.now();
      if (app.getAttribute('data-test-script-state') === 'notRunning') app.__nnlabRuns += 1;
    }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  }
  return {runs: app.__nnlabRuns, at: performance.now()};
}"""
RUN_FINISHED_JS = """(a) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  const quiet = performance.now() - Math.max(a.mark.at, app.__nnlabChanged);
  return app.__nnlabRuns > a.mark.runs || quiet > a.quiet;
}"""

_CHARTS_DRAWN = """() => Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]'))
  .every(el => el.querySelector('.main-svg'))"""
# Streamlit scrolls its main section, not the document, so a "full page" shot is one screen high:
# the viewport is stretched to the content for the shot instead.
_CONTENT_HEIGHT = """() => Math.max(document.body.scrollHeight, ...Array.from(
  document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]')).map(e => e.scrollHeight))"""
_CHARTS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => ({
  title: (gd._fullLayout && gd._fullLayout.title && gd._fullLayout.title.text) || '',
  types: (gd._fullData || gd.data || []).map(t => t.type),
}))"""
# A hash of the chart's title and data. It is polled on every animation frame while a test waits for a
# redraw, so it is kept per data object: hashing a boundary's ~100 KB of JSON each frame in eight tabs at
# once took the very cores the pages needed to draw, and the load test timed its own polling.
FINGERPRINT_JS = """(title) => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const text = (gd._fullLayout && gd._fullLayout.title && gd._fullLayout.title.text) || '';
    if (!text.includes(title)) continue;
    if (gd.__nnlabData === gd.data && gd.__nnlabTitle === text) return gd.__nnlabHash;
    const s = text + JSON.stringify(gd.data);
    let h = 0;
    for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
    gd.__nnlabData = gd.data; gd.__nnlabTitle = text; gd.__nnlabHash = h;
    return h;
  }
  return null;
}"""


# Page coordinates of point n of the trace named a.trace in the chart titled a.title, through the axes' own
# scales (numeric or category), with the point's customdata. _fullData holds decoded arrays (gd.data may hold
# base64).
_POINT_JS = """(a) => {
  const gd = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(g => (g._fullLayout.title?.text || '').includes(a.title));
  const trace = gd._fullData.find(t => t.name === a.trace);
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  return {x: box.left + xa._offset + xa.l2p(xa.d2l(trace.x[a.n])),
          y: box.top + ya._offset + ya.l2p(ya.d2l(trace.y[a.n])),
          customdata: trace.customdata ? trace.customdata[a.n] : null};
}"""


def chart_point(page: Page, title: str, trace: str, n: int) -> dict:
    """Where point `n` of `trace` in the chart titled `title` is on the page ({x, y, customdata}), to click it."""
    return page.evaluate(_POINT_JS, {"title": title, "trace": trace, "n": n})


def run_mark(page: Page) -> dict:
    """A mark to wait from: the finished-run count and the time now (installs the run counter)."""
    page.wait_for_selector(APP, timeout=WAIT_MS)
    return page.evaluate(WATCH_RUNS_JS)


def wait_for_app(page: Page, *, after: dict | None = None, timeout_ms: int = WAIT_MS, settle_ms: int = 300) -> None:
    """Wait until the script is idle: app root present, state notRunning, status widget hidden.

    With `after` (a run_mark taken before an action), first wait for a run to finish since the mark.
    A run shorter than a frame can show no "running" state at all (React renders the two state
    changes together), so an idle app with no state change for QUIET_MS also counts as done;
    callers then wait for the content they expect.
    """
    page.wait_for_selector(APP, timeout=timeout_ms)
    run_mark(page)
    if after is not None:
        page.wait_for_function(RUN_FINISHED_JS, arg={"mark": after, "quiet": QUIET_MS}, timeout=timeout_ms)
    page.wait_for_selector(f'{APP}[data-test-script-state="notRunning"]', timeout=timeout_ms)
    page.wait_for_selector(STATUS, state="hidden", timeout=timeout_ms)
    page.wait_for_timeout(settle_ms)


def wait_for_session(page: Page, *, timeout_ms: int = WAIT_MS) -> None:
    """After arriving: wait until the tab has reported its secret and its session is open (the sidebar's summary is
    drawn, and the address bar holds the session's token), then until the app is idle. The first run only says
    "Loading…" and ends idle, so wait_for_app alone can return before the session's own run has begun."""
    wait_for_app(page, timeout_ms=timeout_ms)
    page.locator('[data-testid="stSidebar"]').get_by_text("CURRENT SESSION").wait_for(timeout=timeout_ms)
    wait_for_app(page, timeout_ms=timeout_ms)


def act(page: Page, action: Callable[[], object], *, timeout_ms: int = WAIT_MS) -> None:
    """Do `action()` (a click, a key press) and wait for the rerun it causes to finish."""
    mark = run_mark(page)
    action()
    wait_for_app(page, after=mark, timeout_ms=timeout_ms)


def go_to(page: Page, title: str) -> None:
    """Switch page through the sidebar links (a reload would start a new, empty Streamlit session)."""
    link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first
    act(page, link.click)
    assert_no_exception(page, title.lower())
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=WAIT_MS)


def screenshot(page: Page, name: str) -> Path:
    """Whole-content PNG at test-artifacts/<name>.png, once the Plotly charts are drawn (waits at most 10 s)."""
    try:
        page.wait_for_function(_CHARTS_DRAWN, timeout=10_000)
    except PlaywrightTimeoutError:
        pass  # a screenshot of a half-drawn page still helps more than none
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    viewport = page.viewport_size
    height = min(max(page.evaluate(_CONTENT_HEIGHT), viewport["height"]), MAX_SHOT_HEIGHT)
    page.set_viewport_size({"width": viewport["width"], "height": height})
    try:
        page.wait_for_timeout(200)  # let the layout follow the new height
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(viewport)
    return path


def assert_no_exception(page: Page, where: str) -> None:
    """No Streamlit traceback box on the page; on failure, a screenshot and the box's text."""
    boxes = page.locator(EXCEPTION)
    if boxes.count():
        screenshot(page, f"exception-{where}")
        text = " | ".join(boxes.all_inner_texts())[:300]
        pytest.fail(f"exception box on {where}: {text}\nLast error in test-artifacts/streamlit-server.log:\n"
                    f"{last_server_error()}")


def last_server_error(lines: int = 12) -> str:
    """The tail of the last traceback in the server log (the browser only shows a redacted message)."""
    log = ARTIFACTS / "streamlit-server.log"
    text = log.read_text(errors="replace") if log.is_file() else ""
    start = text.rfind("Traceback (most recent call last)")
    if start < 0:
        return "(no traceback in the server log)"
    return "\n".join(text[start:].splitlines()[-lines:])


def charts(page: Page) -> list[dict]:
    """Every Plotly chart on the page as {"title": ..., "types": [trace types]}."""
    return page.evaluate(_CHARTS)


def wait_for_chart(page: Page, trace_type: str, *, title: str = "", timeout_ms: int = WAIT_MS) -> dict | None:
    """The first drawn Plotly chart with a `trace_type` trace and `title` in its title; None after the timeout.

    The type matches as a prefix ("scatter" also finds "scattergl"; "" finds any trace). Plotly draws
    after the script run has finished, so a chart can lag its run by a moment.
    """
    found = f"""(a) => ({_CHARTS})()
      .find(c => c.types.some(t => t.startsWith(a.type)) && c.title.includes(a.title)) || null"""
    try:
        page.wait_for_function(found, arg={"type": trace_type, "title": title}, timeout=timeout_ms)
    except PlaywrightTimeoutError:
        return None
    return page.evaluate(found, {"type": trace_type, "title": title})


def chart_fingerprint(page: Page, title: str) -> int | None:
    """A hash of the data of the first chart whose title contains `title` (None: no such chart)."""
    return page.evaluate(FINGERPRINT_JS, title)


def wait_for_new_chart(page: Page, title: str, old: int | None, *, timeout_ms: int = WAIT_MS) -> None:
    """Wait until a chart titled `title` shows data other than fingerprint `old`."""
    page.wait_for_function(f"(a) => {{ const h = ({FINGERPRINT_JS})(a.title); return h !== null && h !== a.old; }}",
                           arg={"title": title, "old": old}, polling="raf", timeout=timeout_ms)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime in clock ticks


def descendants_cpu_seconds(*, exclude: int) -> float:
    """CPU time used so far by this process's descendants (browsers, Playwright's driver) except `exclude`'s
    tree (the app's server), from /proc (Linux). Processes that have exited drop out of the sum."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue  # exited while we looked
    total, root = 0.0, os.getpid()
    for pid in parents:
        ancestor = pid
        while ancestor not in (0, 1, root, exclude) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == root and pid != exclude:
            try:
                total += cpu_seconds(pid)
            except (OSError, ValueError):
                continue
    return total


def record_latency(**figures: object) -> None:
    """Add measurements (milliseconds) and rewrite latency.json, so a later failure keeps them."""
    LATENCY.update(figures)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "latency.json").write_text(json.dumps(LATENCY, indent=2) + "\n")


def require_chromium() -> None:
    """Skip (fail, where NNLAB_REQUIRE_BROWSER=1 as in CI) when Debian's Chromium is not installed."""
    if not CHROMIUM.is_file():
        message = f"Chromium not installed at {CHROMIUM}: apt-get install -y chromium"
        if os.environ.get("NNLAB_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


def is_local(url: str) -> bool:
    """Whether the browser may fetch `url`; anything else is logged to blocked-requests.txt (and then aborted)."""
    if url.startswith(LOCAL):
        return True
    with open(ARTIFACTS / "blocked-requests.txt", "a") as blocked:
        blocked.write(url + "\n")
    return False
