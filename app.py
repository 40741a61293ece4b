"""NN Lab: watch neural-network classifiers learn. Run with `streamlit run app.py`."""

from __future__ import annotations

import streamlit as st

from pages.common.state import get_lab
from pages.common.ui import PAGES

st.set_page_config(page_title="NN Lab", page_icon=":material/neurology:", layout="wide")

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

with st.sidebar:
    st.caption("CURRENT SESSION")
    data, config = lab.data, lab.model_config
    st.markdown(f"**Data** · {data.name if data else 'none yet'}")
    if config is not None:
        shape = "-".join(str(u) for u in config.hidden) if config.kind == "mlp" else config.kind
        st.markdown(f"**Model** · {config.kind} {shape if config.kind == 'mlp' else ''}".strip())
    progress = lab.poll()
    if lab.training:
        st.markdown(f"**Training** · epoch {len(progress.history)}/{progress.epochs}")
    elif lab.result is not None:
        st.markdown(f"**Trained** · {lab.result.status}, {len(lab.result.history)} epochs")
    else:
        st.markdown("**Trained** · not yet")

page.run()
