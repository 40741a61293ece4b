"""A fragment that follows something going on (a run, a sweep): rerun every few seconds while it goes on, and only
by its own widgets once it has ended, as two different fragments.

Why two: a tab keeps ticking a fragment's timer until it hears of the full run that stopped it, and a busy server's
event loop hands a finished run's messages out late, so a late tick can reach the server after the script thread
has finished that run. Streamlit drops a tick whose fragment that run did not register ("The fragment with id ...
does not exist anymore", streamlit/runtime/app_session.py). A fragment registered again under the same id (same
function, same place), merely without `run_every`, passes that check: the finished ScriptRunner cannot take the
rerun, a new one is started, and the session ignores every message of the old runner not yet delivered (`sender is
not self._scriptrunner`): the rest of the page, the sidebar drawn last and the run's script_finished. Here the
polling fragment and the still one are different functions, so different ids: the run that stops the polling
evicts the polling fragment, and its late ticks are dropped.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st


def polled(body: Callable[[], None], *, every: float | None) -> None:
    """`body` drawn in a fragment rerun every `every` seconds, or (None) rerun only by its own widgets."""
    if every:
        st.fragment(run_every=every)(_polling)(body)
    else:
        st.fragment(_still)(body)


def _polling(body: Callable[[], None]) -> None:
    """The fragment while something goes on."""
    body()


def _still(body: Callable[[], None]) -> None:
    """The fragment once it has ended."""
    body()
