"""The run history in the app: each ended run handed to a background writer, and the Runs page's pieces."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.db import StorageError, shared_engine
from core.lab import Lab
from core.run_writer import EndedRun, RunWriter
from core.runs import (
    SPLITS,
    Run,
    RunError,
    delete_runs,
    differing_settings,
    list_runs,
    move_runs,
    pin_run,
    run_settings,
    runs_frame,
)
from core.store import is_token
from core.sweep import MAX_VALUES
from core.urlstate import SETTING_NAMES, TOKEN_PARAM
from pages.common.state import use_settings
from pages.common.urlsync import ARRIVED, TOKEN, current_settings, forget_widgets, session_store

PENDING = "runs.pending"  # runs that ended before the session had a store token (its first run)
WARNED = "runs.warned"  # the history's failure has been shown once
MAX_PENDING = 8 + MAX_VALUES**2  # a first run's few, and a whole sweep's cells
WAIT_S = 3.0  # the Runs page waits this long for runs still being saved
HIGHLIGHT = "background-color: #fff3cd"  # the settings that differ between runs


@st.cache_resource
def run_writer() -> RunWriter:
    """The server's one background writer (retention and database from the environment at each save)."""
    return RunWriter(shared_engine)


def keep(ended: EndedRun) -> None:
    """Save `ended` under this session's token, off the page's thread (held until the session has a token)."""
    if get_script_run_ctx() is None:  # not in a page run (a test driving the Lab): no session to keep it for
        return
    token = st.session_state.get(TOKEN)
    if token is None:
        st.session_state[PENDING] = [*st.session_state.get(PENDING, [])[1 - MAX_PENDING:], ended]
        return
    run_writer().submit(token, ended)


def _adopt(token: str) -> None:
    """A link whose session the server has forgotten (expired, evicted, restarted) keeps its run history:
    the old token's runs move to the new token. A live old token is another browser's: its runs stay there."""
    old = st.session_state.get(ARRIVED)
    st.session_state[ARRIVED] = None
    if is_token(old) and old != token and old not in session_store():
        try:
            move_runs(shared_engine(), old, token)
        except StorageError:
            pass  # the history is unreachable: the toast below says so when a run is saved


def keep_sweep_runs(lab: Lab) -> None:
    """Hand the sweep's cells finished since the last page run to the history, as `keep` does any run."""
    if lab.sweep is not None:
        for ended in lab.sweep.take_ended():
            keep(ended)


def flush(lab: Lab | None = None) -> None:
    """Save the runs held back for a token (and `lab`'s finished sweep cells); say once (a small toast) when
    the history cannot be saved."""
    if lab is not None:
        keep_sweep_runs(lab)
    if ARRIVED not in st.session_state:  # the session's first run: the link's token, before it is rewritten
        st.session_state[ARRIVED] = st.query_params.get(TOKEN_PARAM)
    token = st.session_state.get(TOKEN)
    if token is None:
        return
    if st.session_state.get(ARRIVED):
        _adopt(token)
    for ended in st.session_state.pop(PENDING, []):
        run_writer().submit(token, ended)
    error = run_writer().error(token)
    if error and not st.session_state.get(WARNED):
        st.session_state[WARNED] = True
        st.toast(f"Run history is off: {error} Training goes on as before.", icon=":material/warning:")


def session_runs() -> list[Run] | None:
    """This session's saved runs, newest first (waiting a moment for those still being saved); None on error."""
    flush()
    token = st.session_state.get(TOKEN)
    if token is None:
        return []
    run_writer().wait(WAIT_S)
    try:
        return list_runs(shared_engine(), token)
    except StorageError as exc:
        st.warning(f"The run history cannot be read: {exc}", icon=":material/warning:")
        return None


def table(runs: list[Run]) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The runs table for display (differing settings first, highlighted) and the names of those settings."""
    keys = differing_settings(runs)
    frame = runs_frame(runs)
    frame["created"] = frame["created"].dt.tz_convert(None).dt.strftime("%Y-%m-%d %H:%M:%S")
    metrics = [f"{split} {name}" for split in SPLITS for name in ("accuracy", "loss")]
    front = ["id", *keys, "status", "origin", "pinned", *metrics, "epochs", "seconds", "created"]
    return frame[front + [k for k in SETTING_NAMES if k not in keys]], keys


def styled(frame: pd.DataFrame, keys: tuple[str, ...]) -> object:
    """The table with the differing settings' columns highlighted (a pandas Styler)."""
    return frame.style.map(lambda _: HIGHLIGHT, subset=list(keys)) if keys else frame


def column_config() -> dict:
    """Accuracies as percentages, losses and seconds to a few digits."""
    config = {f"{s} accuracy": st.column_config.NumberColumn(format="percent") for s in SPLITS}
    config.update({f"{s} loss": st.column_config.NumberColumn(format="%.4f") for s in SPLITS})
    config["seconds"] = st.column_config.NumberColumn(format="%.2f s")
    return config


def open_run(lab: Lab, run: Run) -> str:
    """Make `run`'s settings current and retrain it with the same seeds; returns what happened, in one line."""
    settings = run_settings(run)
    if current_settings(lab) == settings and lab.model is not None and lab.result is not None:
        return f"Run {run.label} is the current model already."
    forget_widgets()
    use_settings(lab, settings, auto=run.origin == "auto")
    if lab.data.is_image:
        lab.train(lab.train_config)
    return (f"Run {run.label}'s settings are current again. Its model is not kept with the history, so it is "
            "being retrained with the same settings and seeds" + (" on the Train page." if lab.training else "."))


def change(action: str, ids: list[int]) -> str:
    """Pin, unpin or delete runs of this session; returns a line saying what was done."""
    engine, token = shared_engine(), st.session_state.get(TOKEN)
    try:
        if action == "delete":
            return f"Deleted {delete_runs(engine, token, ids)} run(s)."
        for run_id in ids:
            pin_run(engine, token, run_id, action == "pin")
        return f"{'Pinned' if action == 'pin' else 'Unpinned'} {len(ids)} run(s)."
    except (RunError, StorageError) as exc:
        return f"Nothing changed: {exc}"
