"""The sidebar's summary of the session (dataset, model, training state), redrawn every second while a run goes on.

The polling fragment exists only while a run goes on; once it has ended, the summary is drawn without a fragment.
Why: a tab keeps ticking a fragment's timer until it hears of the full run that stopped it. On a busy server the
event loop delivers a finished run's messages late, so a late tick can reach the server after the script thread has
finished that run. Streamlit drops a tick whose fragment that run did not register ("The fragment with id ... does
not exist anymore"), but a fragment registered again under the same id, merely without `run_every`, passes that
check: the finished ScriptRunner cannot take the rerun, a new one is started, and the session ignores every message
of the old runner not yet delivered (streamlit/runtime/app_session.py, `sender is not self._scriptrunner`). The
sidebar, drawn last, and the run's script_finished were lost with them: the page showed the run's end while the
sidebar still said "Training" and no timer was left to correct it.
"""

from __future__ import annotations

import streamlit as st

from app_pages.common.ui import session_summary
from core.lab import Lab

EVERY_S = 1.0  # how often the summary follows a run


def summary(lab: Lab) -> None:
    """The summary in the sidebar: polled by a fragment while `lab` trains, plain otherwise."""
    with st.sidebar:
        if lab.training:
            _polled(lab)
        else:
            _draw(lab)


def _draw(lab: Lab) -> None:
    """The caption and one Markdown line per fact."""
    st.caption("CURRENT SESSION")
    for line in session_summary(lab):
        st.markdown(line)


@st.fragment(run_every=EVERY_S)
def _polled(lab: Lab) -> None:
    """The summary every EVERY_S seconds; once the run has ended, one full rerun redraws the page and the sidebar
    without this fragment (so its late ticks are dropped)."""
    _draw(lab)  # first: the end shows here even before the full rerun has drawn it
    if not lab.training:
        st.rerun()
