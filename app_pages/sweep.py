"""Sweep page: one or two settings over a grid of runs, each cell's validation accuracy, and any run opened."""

from __future__ import annotations

import math

import streamlit as st

from app_pages.common.polling import polled
from app_pages.common.session import get_lab, keep_sweep_runs
from app_pages.common.ui import count, friendly_errors, percent, require
from app_pages.seed_spread import seed_spread_section
from app_pages.sweep_grid import (
    ask_to_open,
    axis_pickers,
    cells_table,
    current_job,
    describe_cell,
    open_cell,
    opened_cell,
    start_sweep,
    sweep_chart,
)
from core.training.presets import describe

REQUEST = "sweep.request"  # set by a button's callback, acted on before the buttons are drawn again


def request(action: str) -> None:
    st.session_state[REQUEST] = action


lab = get_lab()
st.title("Sweep")
require(lab.data is not None, "Pick a dataset first.", "data", "Go to the Data page")
model = lab.model_config
network = " ".join([model.kind, *(["-".join(map(str, model.hidden))] if model.kind == "mlp" else []), model.activation])
st.caption(f"Every run starts from the current settings ({lab.data.name} · {network} · "
           f"{describe(lab.train_config)}) with the same seeds, and changes only what you vary here. The best run "
           "is the one with the highest **validation** accuracy: the test split stays for the final check.")
axes = axis_pickers(lab)

action = st.session_state.pop(REQUEST, None)
with friendly_errors("The sweep could not start"):
    if action == "stop" and current_job(lab) is not None:
        current_job(lab).stop()
    elif action == "start":
        start_sweep(lab, axes)
job = current_job(lab)
running = job is not None and not job.progress().done

# Drawn after the actions above, so they show whether a sweep is going now.
run_col, stop_col, note_col = st.columns([1, 1, 2], vertical_alignment="center")
runs = math.prod(len(axis.values) for axis in axes)
run_col.button(f"Run {count(runs, 'run')}" if runs else "Pick values", type="primary", disabled=running or not runs,
               key="sweep.run",
               on_click=request, args=("start",), icon=":material/grid_view:", width="stretch")
stop_col.button("Stop", disabled=not running, key="sweep.stop", on_click=request, args=("stop",), width="stretch",
                help="Ends the sweep once the run in progress has finished.")
note_col.caption("Sweep runs wait behind anyone's interactive training and keep to this server's time limits, so "
                 "a big grid never blocks the class.")


def live() -> None:
    """Polled twice a second while the sweep runs (app_pages.common.polling): a progress bar and the grid so far;
    rerun the page when it ends."""
    keep_sweep_runs()  # each finished cell into the run history as it comes
    progress = job.progress()
    if progress.done:
        if running:  # it has just finished: redraw the page so the buttons and the results follow
            st.rerun()
        return
    done = len(progress.result.cells)
    st.progress(done / progress.total, text=f"Cell {min(done + 1, progress.total)} of {progress.total}")
    if progress.result.cells:
        sweep_chart(progress.result, key="sweep.live", clickable=False)


def results() -> None:
    """The finished (or stopped) sweep: the best run, the clickable heatmap and the table."""
    progress = job.progress()
    result = progress.result
    if progress.state == "failed":
        st.error(f"The sweep failed: {progress.error}", icon=":material/error:")
    if result.stopped and progress.state == "finished":
        st.info(f"Stopped after {count(len(result.cells), 'run')} of {progress.total}.", icon=":material/info:")
    opened = opened_cell(result)
    if opened is not None:
        open_cell(lab, opened)
    best = result.best
    if best is not None:
        st.success(f"Best by validation accuracy: **{describe_cell(result, best)}**, {percent(best.val_acc)} "
                   f"(test {percent(best.test_acc)}).", icon=":material/trophy:")
        st.button("Open the best run", key="sweep.best", icon=":material/open_in_new:", on_click=ask_to_open,
                  args=(best.cell.index,))
    if result.cells:
        sweep_chart(result, key="sweep.heatmap", clickable=True)
    st.dataframe(cells_table(result), hide_index=True, key="sweep.table", height="content")  # ≤ 36 rows, all shown


if job is None:
    st.info("Pick one or two settings and their values, then press **Run**.", icon=":material/info:")
else:
    polled(live, every=0.5 if running else None)
    if job.progress().done:
        with friendly_errors("This run cannot be opened"):
            results()
seed_spread_section(lab)
