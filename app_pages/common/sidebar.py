"""The sidebar's summary of the session (dataset, model, training state), redrawn every second while a run goes on.

The summary polls through app_pages/common/polling.py, whose polling fragment does not outlive the run: a polling
fragment drawn again under the same id by the full run that ends the polling once let a late tick of its timer
start a new ScriptRunner, and Streamlit dropped that full run's undelivered messages; the sidebar, drawn last,
stayed at "Training" with no timer left (see polling.py).
"""

from __future__ import annotations

import streamlit as st

from app_pages.common.polling import polled
from app_pages.common.ui import session_summary
from core.lab import Lab

EVERY_S = 1.0  # how often the summary follows a run


def summary(lab: Lab) -> None:
    """The summary in the sidebar: polled while `lab` trains; once the run has ended, one full rerun redraws the
    page and the sidebar (without the polling fragment)."""
    training = lab.training

    def body() -> None:
        st.caption("CURRENT SESSION")
        for line in session_summary(lab):  # first: the end shows here even before the full rerun has drawn it
            st.markdown(line)
        if training and not lab.training:
            st.rerun()

    with st.sidebar:
        polled(body, every=EVERY_S if training else None)
