"""The first visit after a start, in real Chromium, on a fresh server started as `make run` starts it (serve.py):
the Home page's example boundary is drawn within 3 s of the server's first healthy health check.

The browser is started before the server, so its own start-up is not timed; the clock starts when
/_stcore/health first answers (serve_app returns then) and stops when the replay's boundary is drawn.
"""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Browser, Route

from tests.browser.helpers import WAIT_MS, assert_no_exception, is_local, record_latency
from tests.browser.server import serve_app

BOUNDARY = '[data-testid="stPlotlyChart"] .heatmaplayer'  # the Home example's probability map
TARGET_S = 3.0
CEILING_S = 9.0  # 3x the target: this machine is shared, so the test only catches real breakage


def local_only(route: Route) -> None:
    route.continue_() if is_local(route.request.url) else route.abort()


def test_the_first_visit_after_a_start_is_served_warm(browser: Browser, artifacts: Path, slow_day: float) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.route("**/*", local_only)
    page = context.new_page()
    try:
        with serve_app(artifacts / "streamlit-warm-start.log", None, warm=True) as (url, _server):
            healthy = time.perf_counter()
            page.goto(url)
            page.locator(BOUNDARY).first.wait_for(timeout=WAIT_MS)
            first_s = time.perf_counter() - healthy
            assert_no_exception(page, "warm-first-visit")
    finally:
        context.close()
    record_latency(warm_start_first_visit_boundary_s=round(first_s, 2), warm_start_target_s=TARGET_S)
    assert first_s <= CEILING_S * slow_day, (f"the first visit drew Home's boundary {first_s:.1f} s after the health "
                                             f"check ({slow_day=})")
