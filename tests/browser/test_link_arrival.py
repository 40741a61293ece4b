"""A link to a page lands on that page even when the tab reports its secret early (QA: 4 of 15 share links with
drawn points landed on Home).

The browser learns a run's page from the run's navigation message, which comes after the tab-secret component:
app.py opens the session (mounting the component) before st.navigation. A report sent in between asked for a rerun
of the main script, which Streamlit serves as its default page. The gap was a couple of milliseconds (decoding the
link's pts= for its classroom); here the navigation message and all after it (the run's end among them) are held
back on the wire for a while, so the gap is as long as the test likes and the outcome does not depend on the
machine's speed. The tab now reports once the run that drew it is over, so it reports after the hold.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from playwright.sync_api import Browser, WebSocketRoute, expect
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from core.config import DataConfig, Settings
from core.data.drawn import as_points, drawn_config
from core.url.state import encode, to_query
from tests.browser.helpers import WAIT_MS, wait_for_session
from tests.browser.test_arrival import _reports_secret

# The old tab reported once the page had settled, at the latest MAX_WAIT_MS after the component mounted: held back
# for longer than that, the first run's navigation (and what follows it) reaches the browser after any such report.
TAB_SECRET_JS = Path(__file__).resolve().parents[2] / "app_pages" / "common" / "tab_secret.js"
MAX_WAIT_MS = int(re.search(r"const MAX_WAIT_MS = (\d+);", TAB_SECRET_JS.read_text())[1])
HOLD_MS = MAX_WAIT_MS + 1000


def share_query() -> str:
    """A share link's query with 40 drawn points (pts=), as the Share dialog makes it."""
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(-1.0, 0.3, (20, 2)), rng.normal(1.0, 0.3, (20, 2))])
    data = drawn_config(as_points(X, np.repeat([0, 1], 20)), ("left", "right"), DataConfig())
    return to_query(encode(Settings(data=data)))


def _is_navigation(message: str | bytes) -> bool:
    return not isinstance(message, str) and ForwardMsg.FromString(message).WhichOneof("type") == "navigation"


def test_a_link_lands_on_its_page_when_the_tab_reports_before_the_page_is_named(
        browser: Browser, app_url: str) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    context.set_default_timeout(WAIT_MS)
    held: list[str | bytes] = []  # the first navigation message and everything after it, in order
    reported_while_held: list[bool] = []
    state = {"holding": False, "done": False}
    pages: list[WebSocketRoute] = []

    def relay(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        pages.append(ws)

        def to_browser(message: str | bytes) -> None:
            if not state["done"] and not state["holding"] and _is_navigation(message):
                state["holding"] = True
            if state["holding"]:
                held.append(message)
            else:
                ws.send(message)

        def to_server(message: str | bytes) -> None:
            if _reports_secret(message):
                reported_while_held.append(state["holding"])
            server.send(message)

        server.on_message(to_browser)
        ws.on_message(to_server)

    try:
        page = context.new_page()
        page.route_web_socket("**/_stcore/stream", relay)
        page.goto(f"{app_url.rstrip('/')}/data?{share_query()}")
        waited = 0
        while not held and waited < WAIT_MS:
            page.wait_for_timeout(50)
            waited += 50
        assert held, "the first run never named its page"
        page.wait_for_timeout(HOLD_MS)  # the component is on the page; the browser does not know the page yet
        state["holding"], state["done"] = False, True
        for message in held:  # the run's page, then the rest of the run, as the server sent them
            pages[0].send(message)
        wait_for_session(page)
        expect(page.get_by_role("heading", name="Data", exact=True).first).to_be_visible()
        assert "/data?" in page.url and "pts=" not in page.url, page.url
        assert reported_while_held == [False], "the tab reported before the browser knew the page"
    finally:
        context.close()
