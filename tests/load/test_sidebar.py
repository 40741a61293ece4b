"""The sidebar after a run ends, on a server whose event loop is late (tests/load/lagging_server.py): the full run
that follows the end must reach the tab, so the sidebar says "Trained" and no fragment timer is left.

The cause it reproduces (app_pages/common/sidebar.py): the tab's sidebar timer ticks once more before the tab has
heard of that full run. When the full run registered the polling fragment again under the same id, that late tick
started a new ScriptRunner and Streamlit dropped the finished run's undelivered messages: the sidebar stayed at
"Training" with no timer left. A lag longer than the timer's interval makes the late tick certain here; on a busy
server it happens now and then (load_sidebar_stale_reloads in the 8-browser test).
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.browser.server import serve_app
from tests.load.client import Tab
from tests.load.crowd import drawn
from tests.load.measure import run_in_thread

LAG_S = 1.5  # each run's messages reach the tab this late: longer than the sidebar's 1 s timer
ENV = {"NNLAB_INLINE_SECONDS": "0.0001"}  # the Train button's circles run goes to a job, which the sidebar polls
END_TIMEOUT_S = 90.0  # the run's end, then the full run after it, reaching the tab


def trained(tab: Tab, since: float) -> bool:
    """A full run started after `since` has finished, the sidebar says the run has ended, and no fragment polls."""
    sidebar = tab.sidebar()
    return bool(tab.finished_since(since)) and "**Trained** · " in sidebar and "not yet" not in sidebar \
        and not tab.timers


async def train_then_lag(url: str, lag_file: Path) -> str:
    """Train a circles run with the stopping rule off, watch it from the Data page (only the sidebar polls there),
    make the server's event loop late, and wait for the end; the sidebar's text at the end."""
    tab = Tab(url, name="student")
    try:
        await tab.open("train")
        await drawn(tab, await tab.send({"train.patience": 0}), "patience off")
        await tab.click("train.go")
        await tab.wait_for(lambda: "**Training** · " in tab.sidebar() and tab.timers, 60, "the run polled")
        await drawn(tab, await tab.goto("data"), "Data page", condition=lambda: "data.name" in tab.widgets)
        lag_file.write_text(str(LAG_S))
        lagged = time.monotonic()
        try:
            await tab.wait_for(lambda: trained(tab, lagged), END_TIMEOUT_S, "final sidebar")
        except TimeoutError:
            return f"stale: {tab.sidebar().splitlines()[-1]!r}, timers {sorted(tab.timers.values())}"
        return tab.sidebar().splitlines()[-1]
    finally:
        await tab.close()


def test_a_late_sidebar_tick_does_not_lose_the_run_that_ends_the_polling(artifacts, tmp_path) -> None:
    lag_file = tmp_path / "lag"
    with serve_app(artifacts / "streamlit-sidebar-lag.log", None, lag_file=lag_file, env=ENV) as (url, _server):
        last_line = run_in_thread(train_then_lag(url, lag_file), 300)
    assert last_line.startswith("**Trained** · "), f"the final full run never reached the tab: {last_line}"
