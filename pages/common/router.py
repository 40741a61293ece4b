"""Make sure every page runs through app.py's router, even the very first request a fresh server gets.

Streamlit keeps one process-wide flag, set when the server starts, that says "this app uses a pages/
folder". Until some session's app.py has called `st.navigation`, a request for /train runs
pages/train.py directly, without app.py: no sidebar, no titles, file names as the navigation. A
bookmarked or shared link opened first on a fresh server would show that. A page that finds it was
not routed clears the flag and reruns, and from then on the whole server routes through app.py.
"""

from __future__ import annotations

import threading
from typing import NoReturn

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

_run = threading.local()  # Streamlit runs each session's script on its own thread


def routing(active: bool) -> None:
    """app.py marks the page run it routes (True before `page.run()`, False after)."""
    _run.routed = active


def ensure_routed() -> None:
    """Rerun through app.py when this page was started without it (see the module's docstring)."""
    if not getattr(_run, "routed", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


class PageEnded(Exception):
    """Raised by `end_page`; app.py catches it and draws the sidebar and the URL as after any page."""

    def __init__(self, *, bare: bool = False) -> None:
        super().__init__("the page ended early")
        self.bare = bare  # nothing more on screen: no sidebar summary or buttons (a projector view)


def end_page(*, bare: bool = False) -> NoReturn:
    """End the page here (a missing prerequisite, or a view that has shown all it has); `bare`: draw nothing
    after it, not even the sidebar's summary and buttons.

    Not st.stop(): after it Streamlit refuses every message and session-state access for the rest of the run,
    so app.py could not draw the sidebar's summary or keep the session.
    """
    raise PageEnded(bare=bare)
