"""NN Lab: watch neural-network classifiers learn. Run with `streamlit run app.py`."""

from __future__ import annotations

import streamlit as st

from app_pages.common import session, sidebar, tab_secret
from app_pages.common.share import share_dialog
from app_pages.common.ui import PAGES, PageEnded, note_page
from app_pages.home_top import home_top

st.set_page_config(page_title="NN Lab", page_icon="app_pages/common/icon.png", layout="wide")  # local: no font CDN

lab = session.begin()  # None until the browser tab has reported its secret; then its token's Lab, or the link's
PAGE_ICONS = {"home": "home", "lessons": "school", "data": "scatter_plot", "model": "account_tree",
              "inside": "visibility", "train": "model_training", "evaluate": "fact_check", "predict": "draw",
              "runs": "history", "sweep": "grid_view", "board": "leaderboard"}
wanted = session.classroom().pages or PAGES  # a teacher's pages=
shown = [name for name in PAGES if name in wanted]
pages = {name: st.Page(PAGES[name], title=name.title(), icon=f":material/{PAGE_ICONS[name]}:",
                       default=name == shown[0], visibility="visible" if name in shown else "hidden") for name in PAGES}
page = st.navigation(list(pages.values()),  # every page kept, so the pages' own links to each other still work
                     # none on a projector (present=1), and none before the tab has reported its secret: the
                     # report's rerun names the page shown, and would undo a page link clicked in that gap
                     position="hidden" if st.query_params.get("present") == "1" or lab is None else "sidebar")
if lab is None:
    if page is pages["home"]:  # Home's top needs no session: on screen while the tab reports (tab_secret.js)
        st.sidebar.caption("Loading…")  # the sidebar there from the start: the page does not shift when it fills
        home_top(waiting=True)
    tab_secret.wait()  # a light first run: "Loading…" until the tab says who it is (ends the run)


def sidebar_summary() -> None:
    """The summary in the sidebar (polled while a run goes on, see app_pages/common/sidebar.py), after the page
    (which may have changed it), then the session's buttons."""
    sidebar.summary(lab)
    with st.sidebar:
        link, settings = session.session().link, lab.settings
        if link is not None and settings is not None and settings != link:
            st.button("Back to the link's setup", key="session.back", on_click=session.back_to_link,
                      icon=":material/undo:", help="The settings this page was opened with, trained again.")
        if session.shown("share") and settings is not None and st.button(
                "Share", key="session.share", icon=":material/share:", disabled=session.locked("share"),
                help="A link and QR code of this setup."):
            share_dialog(settings, st.context.url or "http://localhost:8501/")
        st.button("End my session", key="session.end", on_click=session.end_session, icon=":material/logout:",
                  help="On a shared computer: stop and forget this tab's work here, and start afresh.")


session.notice()
note_page(page.url_path)
bare = False
try:
    page.run()
except PageEnded as ended:  # a page that ended early (end_page), e.g. for a missing prerequisite
    bare = ended.bare
finally:
    session.end()
    if not bare:
        sidebar_summary()
