"""NN Lab: watch neural-network classifiers learn. Run with `streamlit run app.py`."""

from __future__ import annotations

import streamlit as st

from pages.common import urlsync
from pages.common.router import PageEnded, routing
from pages.common.share import share_dialog
from pages.common.ui import PAGES, session_summary

st.set_page_config(page_title="NN Lab", page_icon="pages/common/icon.png", layout="wide")  # local: no font CDN
routing(True)  # the pages check this: a page run without it came straight from a fresh server's pages/ folder

lab = urlsync.begin()  # from the URL on a session's first run: its token's Lab, or the link's settings
PAGE_ICONS = {"home": "home", "data": "scatter_plot", "model": "account_tree", "inside": "visibility",
              "train": "model_training", "evaluate": "fact_check", "predict": "draw", "runs": "history",
              "sweep": "grid_view", "board": "leaderboard"}
shown = [name for name in PAGES if name in (urlsync.classroom().pages or PAGES)]  # a teacher's pages=
page = st.navigation([st.Page(PAGES[name], title=name.title(), icon=f":material/{PAGE_ICONS[name]}:",
                              default=name == shown[0], visibility="visible" if name in shown else "hidden")
                      for name in PAGES])  # every page kept, so the pages' own links to each other still work


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
        draw_summary()  # first: should the rerun below be dropped under load, the sidebar still shows the end
        if training and not lab.training:  # the run has ended: one full rerun stops the polling
            st.rerun()

    with st.sidebar:
        live_summary()
        link, settings = urlsync.link_settings(), urlsync.current_settings(lab)
        if link is not None and settings is not None and settings != link:
            st.button("Back to the link's setup", key="urlsync.back", on_click=urlsync.back_to_link, args=(lab,),
                      icon=":material/undo:", help="The settings this page was opened with, trained again.")
        if urlsync.shown("share") and settings is not None and st.button(
                "Share", key="urlsync.share", icon=":material/share:", disabled=urlsync.locked("share"),
                help="A link and QR code of this setup."):
            share_dialog(settings, st.context.url or "http://localhost:8501/")


urlsync.notice(lab)
bare = False
try:
    page.run()
except PageEnded as ended:  # a page that ended early (end_page), e.g. for a missing prerequisite
    bare = ended.bare
finally:
    routing(False)
    urlsync.end(lab)
    if not bare:
        sidebar_summary()
