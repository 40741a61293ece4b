"""Session-state keys and the per-session Lab: the one place pages find their state."""

from __future__ import annotations

import streamlit as st

from core.data import DataConfig
from core.jobs import RUN_THREADS
from core.lab import Lab
from core.run_writer import EndedRun
from core.urlstate import Settings, preset_settings
from pages.common.router import ensure_routed
from pages.common.ui import load_dataset

LAB = "lab"  # st.session_state[LAB]: this browser session's Lab
AUTO_TRAIN_KEY = "autotrain.last"  # the settings of the last automatic 2-D run


def use_settings(lab: Lab, settings: Settings, *, auto: bool = True) -> None:
    """Give `lab` these data, model and training settings; a 2-D run trains at once (a few tens of ms).

    `auto` False trains the 2-D run as the Train button does (every epoch, no settling). Raises ValueError
    (the data cannot be loaded, e.g. MNIST absent) before changing anything.
    """
    data = load_dataset(settings.data)
    lab.set_data(settings.data, data, default=settings.data == DataConfig())
    lab.set_model_config(settings.model)
    lab.set_train_config(settings.train)
    if not data.is_image:
        lab.train(lab.train_config, auto=auto)
        st.session_state[AUTO_TRAIN_KEY] = (lab.data_config, lab.model_config, lab.train_config)


def keep_run(ended: EndedRun) -> None:
    """The Lab's run-history hook: the ended run is saved on a background thread (pages.common.runs)."""
    from pages.common.runs import keep  # imported here: pages.common.runs imports urlsync, which imports us

    keep(ended)


def new_lab(settings: Settings | None = None) -> Lab:
    """A Lab for a new session: `settings` (by default circles), trained at once when the data is 2-D."""
    lab = Lab(threads=RUN_THREADS, on_run_end=keep_run)  # each run capped: the server shares the cores
    use_settings(lab, settings or preset_settings(DataConfig().name))
    return lab


def get_lab() -> Lab:
    """This browser session's Lab, created on first use with the default data (circles) and its default
    model trained, so every page, even one opened by a direct link, is alive at once."""
    ensure_routed()
    if LAB not in st.session_state:
        st.session_state[LAB] = new_lab()
    lab = st.session_state[LAB]
    lab.on_run_end = keep_run  # also a Lab made elsewhere (a test's): every run of the session is kept
    from pages.common.runs import flush  # imported here, as in keep_run

    flush(lab)
    return lab
