"""A click made while the page still says "Loading…" is not lost (issue 22's load test found it).

On arrival the page runs once, shows "Loading…" and waits for the tab to report its secret; the report asks for a
rerun of the page the browser still shows. A sidebar link clicked in that gap asked for another page first, and
the server keeps the last request's page: the click went nowhere (2 of 8 sessions at once in CI). Here the tab's
report is held back on the wire, so the gap is as long as the test likes, and the outcome does not depend on the
machine's speed.
"""

from __future__ import annotations

from playwright.sync_api import Browser, WebSocketRoute, expect
from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.browser.helpers import WAIT_MS, wait_for_app

SECRET_KEY = "tab.secret"  # the tab-secret component's key (app_pages/common/tab_secret.py)
# An element still loading its code (a skeleton) for 5 s after the page starts: the tab's report waits for it, up to
# tab_secret.js's MAX_WAIT_MS (2 s), so the report comes after the first run went idle, as on a busy CI machine.
LATE_ELEMENT_JS = """
window.addEventListener("DOMContentLoaded", () => {
  const late = document.createElement("div");
  late.setAttribute("data-testid", "stSkeleton");
  document.body.appendChild(late);
  setTimeout(() => late.remove(), 5000);
});
"""


def _reports_secret(message: str | bytes) -> bool:
    """A rerun request carrying the tab-secret component's state."""
    if isinstance(message, str):
        return False
    back = BackMsg.FromString(message)
    return back.WhichOneof("type") == "rerun_script" and any(
        SECRET_KEY in widget.id for widget in back.rerun_script.widget_states.widgets)


def test_a_sidebar_click_during_loading_reaches_its_page(browser: Browser, app_url: str) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(WAIT_MS)
    held: list[bytes] = []
    sockets: list[WebSocketRoute] = []

    def relay(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        sockets.append(server)

        def to_server(message: str | bytes) -> None:
            if not held and _reports_secret(message):
                held.append(message)  # kept back until the test lets it go
            else:
                server.send(message)

        ws.on_message(to_server)

    try:
        page = context.new_page()
        page.add_init_script(LATE_ELEMENT_JS)  # as on a busy machine: the report comes after the first run went idle
        page.route_web_socket("**/_stcore/stream", relay)
        page.goto(app_url)
        # the page's own "Loading…" (Home's light run puts one in the sidebar too: two texts, one locator each)
        expect(page.get_by_test_id("stMainBlockContainer").get_by_text("Loading…")).to_be_visible()
        wait_for_app(page)
        waited = 0
        while not held and waited < WAIT_MS:  # the tab reports once the first run's elements are drawn: on a busy
            page.wait_for_timeout(100)  # machine, after the run went idle (the relay runs while the page waits)
            waited += 100
        assert held, "the tab's report never came"
        nav = page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Data")
        clicked_early = nav.count() > 0 and nav.first.is_visible()
        if clicked_early:  # a link offered while the page waits for the tab: a person clicks it
            nav.first.click()
            page.wait_for_timeout(500)
        sockets[0].send(held[0])  # the tab's report arrives
        if not clicked_early:
            nav.first.click()
        wait_for_app(page)
        expect(page.get_by_role("heading", name="Data", exact=True).first).to_be_visible()
        assert not clicked_early, "a page link was offered while the page was loading"
    finally:
        context.close()
