"""Session-state keys and the per-session Lab: the one place pages find their state."""

from __future__ import annotations

import streamlit as st

from core.jobs import RUN_THREADS
from core.lab import Lab

LAB = "lab"  # st.session_state[LAB]: this browser session's Lab
AUTO_TRAIN_KEY = "autotrain.last"  # the settings of the last automatic 2-D run


def get_lab() -> Lab:
    """This browser session's Lab, created on first use."""
    if LAB not in st.session_state:
        st.session_state[LAB] = Lab(threads=RUN_THREADS)  # each run capped: the server shares the cores
    return st.session_state[LAB]
