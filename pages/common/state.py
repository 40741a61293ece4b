"""Session-state keys and the per-session Lab: the one place pages find their state."""

from __future__ import annotations

import streamlit as st

from core.data import DataConfig
from core.jobs import RUN_THREADS
from core.lab import Lab
from pages.common.router import ensure_routed
from pages.common.ui import load_dataset

LAB = "lab"  # st.session_state[LAB]: this browser session's Lab
AUTO_TRAIN_KEY = "autotrain.last"  # the settings of the last automatic 2-D run


def get_lab() -> Lab:
    """This browser session's Lab, created on first use with the default data (circles) and its default
    model trained (a few tens of ms), so every page, even one opened by a direct link, is alive at once."""
    ensure_routed()
    if LAB not in st.session_state:
        lab = Lab(threads=RUN_THREADS)  # each run capped: the server shares the cores
        lab.set_data(DataConfig(), load_dataset(DataConfig()), default=True)
        lab.train(lab.train_config, auto=True)
        st.session_state[AUTO_TRAIN_KEY] = (lab.data_config, lab.model_config, lab.train_config)
        st.session_state[LAB] = lab
    return st.session_state[LAB]
