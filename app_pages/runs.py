"""Runs page: this session's run history; select runs to overlay their curves and compare their boundaries."""

from __future__ import annotations

import streamlit as st

from app_pages.common.session import get_lab, session_runs
from app_pages.common.ui import PAGES, count
from app_pages.runs_table import TABLE, change, column_config, keep_ticks, open_run, styled, table
from core.history.runs import (
    Run,
    comparison_title,
    difference_label,
    differing_settings,
    epochs_label,
    history_arrays,
    kept_epoch,
    run_boundary,
    runs_csv,
    runs_json,
)
from core.lab import Lab
from core.plots.runs import runs_boundaries_figure, runs_curves_figure

NOTICE = "runs.notice"


def act(action: str, ids: list[int]) -> None:
    """A button's callback: pin, unpin or delete the selected runs, and say what was done."""
    st.session_state[NOTICE] = change(action, ids)


def reopen(lab: Lab, run: Run) -> None:
    """A button's callback: the run's settings become current and it is retrained."""
    try:
        st.session_state[NOTICE] = open_run(lab, run)
    except ValueError as exc:  # its data cannot be loaded here (e.g. MNIST absent): nothing changed
        st.session_state[NOTICE] = f"Run {run.label} cannot be opened: {exc}"


def history(runs: list[Run]) -> list[Run]:
    """The table of runs with its buttons; returns the runs ticked in it."""
    frame, keys = table(runs)
    if keys:
        st.caption(f"Highlighted: the settings that differ between these runs ({', '.join(keys)}).")
    gone = keep_ticks([run.id for run in runs])
    if gone and not st.session_state.get("runs.delete"):  # deleted by the user: the notice says so already
        st.caption(f"Unticked {', '.join(f'#{run_id}' for run_id in gone)}: no longer in the history (an automatic "
                   "run is kept only until the next one, unless pinned).")
    event = st.dataframe(styled(frame, keys), hide_index=True, on_select="rerun", selection_mode="multi-row",
                         key=TABLE, column_config=column_config())
    chosen = [runs[i] for i in event.selection.rows if i < len(runs)]
    ids = [run.id for run in chosen]
    buttons = st.columns(4)
    buttons[0].button("Open", key="runs.open", disabled=len(chosen) != 1, on_click=reopen,
                      args=(lab, chosen[0] if len(chosen) == 1 else None), icon=":material/open_in_new:",
                      width="stretch", help="Make this run's settings current and retrain it with the same seeds.")
    buttons[1].button("Pin", key="runs.pin", disabled=not chosen, on_click=act, args=("pin", ids), width="stretch",
                      icon=":material/keep:", help="Keep it: pinned runs are never replaced by automatic runs.")
    buttons[2].button("Unpin", key="runs.unpin", disabled=not chosen, on_click=act, args=("unpin", ids),
                      width="stretch")
    buttons[3].button("Delete", key="runs.delete", disabled=not chosen, on_click=act, args=("delete", ids),
                      icon=":material/delete:", width="stretch")
    as_csv, everything = st.columns(2)  # a row of their own: beside four buttons they are cut off at 1024 px
    as_csv.download_button("Table (CSV)", runs_csv(runs), "nnlab-runs.csv", "text/csv", key="runs.csv",
                          icon=":material/download:")
    everything.download_button("Everything, epoch by epoch (JSON)", runs_json(runs), "nnlab-runs.json",
                               "application/json", key="runs.json", icon=":material/data_object:")
    return chosen


def about(run: Run, differ: tuple[str, ...]) -> str:
    """'lr 0.3, weights of epoch 37 of 57': what sets a run apart and the epoch its boundary is of."""
    return ", ".join([*([difference_label(run, differ)] if differ else []), f"weights of epoch {epochs_label(run)}"])


def compare(chosen: list[Run]) -> None:
    """The chosen runs' curves overlaid, and their boundaries side by side (2-D data)."""
    shown = sorted(chosen, key=lambda run: run.id)
    differ = differing_settings(shown)  # among the selected runs only
    names = [f"{run.label} · {difference_label(run, differ)}" if differ else run.label for run in shown]
    title = f"Learning curves: {comparison_title(shown, differ)}" if differ else "Learning curves"
    st.plotly_chart(runs_curves_figure([(name, history_arrays(run)) for name, run in zip(names, shown)],
                                       kept=[kept_epoch(run) for run in shown], title=title), key="runs.curves")
    drawn = [(run, grid) for run, grid in ((r, run_boundary(r)) for r in shown) if grid]
    if drawn:  # short panel titles (long ones ran into each other at 1024 px); what differs is in the hover
        notes = [about(run, differ) for run, _ in drawn]
        st.plotly_chart(runs_boundaries_figure([grid for _, grid in drawn], [run.label for run, _ in drawn],
                                               notes=notes), key="runs.boundaries")
        st.caption(" · ".join(f"{run.label}: {note}" for (run, _), note in zip(drawn, notes)))
    else:
        st.caption("No boundaries to compare: they are drawn for runs on 2-D data that trained.")
    st.caption(f"Comparing {count(len(shown), 'run')}.")


lab = get_lab()
st.title("Runs")
st.caption("Every run this session trained, newest first. An automatic run (a slider moved) is kept only until "
           "the next one, unless you pin it.")
if st.session_state.get(NOTICE):
    st.info(st.session_state.pop(NOTICE), icon=":material/info:")
runs = session_runs()
if runs == []:
    st.info("No runs yet: train a model first (a run shows here once it has ended).", icon=":material/info:")
    st.page_link(PAGES["train"], label="Go to the Train page", icon=":material/arrow_forward:")
elif runs:
    chosen = history(runs)
    if chosen:
        compare(chosen)
    else:
        st.info("Select runs in the table (the boxes at the left) to overlay their curves.", icon=":material/info:")
