"""Make sure every page runs through app.py's router, even the very first request a fresh server gets.

Streamlit keeps one process-wide flag, set when the server starts, that says "this app uses a pages/
folder". Until some session's app.py has called `st.navigation`, a request for /train runs
pages/train.py directly, without app.py: no sidebar, no titles, file names as the navigation. A
bookmarked or shared link opened first on a fresh server would show that. A page that finds it was
not routed clears the flag and reruns, and from then on the whole server routes through app.py.
"""

from __future__ import annotations

import threading

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
