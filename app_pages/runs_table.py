"""The Runs page's pieces: the table of this session's runs, opening one again, pinning and deleting."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.common.session import forget_widgets, session
from core.history.db import StorageError, shared_engine
from core.history.runs import (
    SPLITS,
    Run,
    RunError,
    delete_runs,
    differing_settings,
    epochs_label,
    pin_run,
    run_settings,
    runs_frame,
)
from core.lab import Lab
from core.url.state import SETTING_NAMES

HIGHLIGHT = "background-color: #fff3cd"  # the settings that differ between runs
TABLE = "runs.table"  # the table's key; st.dataframe keeps its ticks by row position, not by run
SHOWN = "runs.shown"  # the run ids of the table's rows as last drawn, which those positions refer to


def table(runs: list[Run]) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The runs table for display and the names of the settings that differ (highlighted).

    The figures people compare come right after the id and those settings, so that they show without scrolling
    at 1024 px: validation and test accuracy, then the epochs ("37 of 57": the run kept epoch 37's weights).
    """
    keys = differing_settings(runs)
    frame = runs_frame(runs)
    frame["created"] = frame["created"].dt.tz_convert(None).dt.strftime("%Y-%m-%d %H:%M:%S")
    frame["epochs"] = [epochs_label(run) for run in runs]
    for split in SPLITS:  # in percent, shown to one decimal as on every other page (Streamlit's "percent" showed
        frame[f"{split} accuracy"] *= 100  # 91.67% beside 91%, and Train read 91.7%)
    for key in SETTING_NAMES:  # a setting the run's model does not use (a logistic regression's hidden layers)
        if not pd.api.types.is_numeric_dtype(frame[key]):
            frame[key] = frame[key].where(frame[key].notna(), "—")
    frame["status"] = frame["status"].str.replace("_", " ")  # "early stopped", as the sidebar says
    losses = [f"{split} loss" for split in SPLITS]
    front = ["id", *keys, "validation accuracy", "test accuracy", "epochs", "train accuracy", "status", "origin",
             "pinned", *losses, "seconds", "created"]
    return frame[front + [k for k in SETTING_NAMES if k not in keys]], keys


def keep_ticks(ids: list[int]) -> list[int]:
    """Keep the table's ticks on the same runs when its rows move; returns the ticked ids no longer listed.

    Call it just before drawing the table with rows `ids`. A run added at the top (Open, a training that ended)
    would otherwise move every tick onto the run below it, and Pin, Unpin, Delete and Open would act on that.
    """
    shown, st.session_state[SHOWN] = st.session_state.get(SHOWN), ids
    state = st.session_state.get(TABLE)  # None after another page: the table starts with nothing ticked
    rows = list(state["selection"]["rows"]) if state else []
    if shown is None or shown == ids or not rows:
        return []
    ticked = [shown[row] for row in rows if row < len(shown)]
    st.session_state[TABLE] = {"selection": {"rows": [row for row, run_id in enumerate(ids) if run_id in ticked],
                                             "columns": [], "cells": []}}
    return [run_id for run_id in ticked if run_id not in ids]


def styled(frame: pd.DataFrame, keys: tuple[str, ...]) -> object:
    """The table with the differing settings' columns highlighted (a pandas Styler)."""
    return frame.style.map(lambda _: HIGHLIGHT, subset=list(keys)) if keys else frame


def column_config() -> dict:
    """Accuracies as percentages, losses and seconds to a few digits, each metric saying when it was measured."""
    measured = ("Measured once after the run, on the weights it kept. The Train page's \"train … (epoch mean)\" "
                "is another figure: the mean over the last epoch's batches while the weights still moved.")
    config = {f"{s} accuracy": st.column_config.NumberColumn(format="%.1f%%", help=measured) for s in SPLITS}
    config.update({f"{s} loss": st.column_config.NumberColumn(format="%.4f", help=measured) for s in SPLITS})
    config["seconds"] = st.column_config.NumberColumn(format="%.2f s")
    config["epochs"] = st.column_config.TextColumn(width="small", help=(
        "Epochs trained. \"37 of 57\": early stopping kept the weights of epoch 37, which the metrics and the "
        "boundary are of, after training 57."))
    config["id"] = st.column_config.NumberColumn(width="small")
    config["status"] = st.column_config.TextColumn(width=100)  # "converged" whole at 1024 px (it read "converge")
    return config


def open_run(lab: Lab, run: Run) -> str:
    """Make `run`'s settings current and retrain it with the same seeds; returns what happened, in one line."""
    settings = run_settings(run)
    if lab.settings == settings and lab.model is not None and lab.result is not None:
        return f"Run {run.label} is the current model already."
    forget_widgets()
    lab.apply(settings)
    lab.train(auto=run.origin == "auto")  # the same seeds and ceiling: it stops where it did
    return (f"Run {run.label}'s settings are current again. Its model is not kept with the history, so it is "
            "being retrained with the same settings and seeds" + (" on the Train page." if lab.training else "."))


def change(action: str, ids: list[int]) -> str:
    """Pin, unpin or delete runs of this session; returns a line saying what was done."""
    engine, token = shared_engine(), session().token
    try:
        if action == "delete":
            return f"Deleted {delete_runs(engine, token, ids)} run(s)."
        for run_id in ids:
            pin_run(engine, token, run_id, action == "pin")
        return f"{'Pinned' if action == 'pin' else 'Unpinned'} {len(ids)} run(s)."
    except (RunError, StorageError) as exc:
        return f"Nothing changed: {exc}"
