"""NN Lab: watch neural-network classifiers learn. Run with `streamlit run app.py`."""

from __future__ import annotations

import streamlit as st

from pages.common.router import routing
from pages.common.state import get_lab
from pages.common.ui import PAGES, session_summary

st.set_page_config(page_title="NN Lab", page_icon="pages/common/icon.png", layout="wide")  # local: no font CDN
routing(True)  # the pages check this: a page run without it came straight from a fresh server's pages/ folder

lab = get_lab()
pages = [
    st.Page(PAGES["home"], title="Home", icon=":material/home:", default=True),
    st.Page(PAGES["data"], title="Data", icon=":material/scatter_plot:"),
    st.Page(PAGES["model"], title="Model", icon=":material/account_tree:"),
    st.Page(PAGES["train"], title="Train", icon=":material/model_training:"),
    st.Page(PAGES["evaluate"], title="Evaluate", icon=":material/fact_check:"),
    st.Page(PAGES["predict"], title="Predict", icon=":material/draw:"),
]
page = st.navigation(pages)


def draw_summary() -> None:
    """This session's dataset, model and training state."""
    st.caption("CURRENT SESSION")
    for line in session_summary(lab):
        st.markdown(line)


def sidebar_summary() -> None:
    """The summary in the sidebar, after the page (which may have changed it); redrawn every second while a
    run goes on, whichever page is open."""
    training = lab.training

    @st.fragment(run_every=1.0 if training else None)
    def live_summary() -> None:
        if training and not lab.training:  # the run has ended: one full rerun stops the polling
            st.rerun()
        draw_summary()

    with st.sidebar:
        live_summary()


try:
    page.run()
finally:  # also after a page that stopped early (st.stop) for a missing prerequisite
    routing(False)
    sidebar_summary()
