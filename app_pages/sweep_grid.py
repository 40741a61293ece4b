"""The Sweep page's widgets and views: settings and values in, a background sweep, its heatmap and table out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from app_pages.common.session import forget_widgets, keep_sweep_runs
from app_pages.common.ui import percent
from core.config import RunOptions, Settings
from core.lab import Lab
from core.plots.sweep import RUNS_TRACE, sweep_figure
from core.sweep.grid import MAX_VALUES, MLP_ONLY, SETTINGS, Axis, CellResult, SweepResult, SweepSpec, value_label
from core.sweep.job import SweepJob
from core.training.reference import usual_lr

OPEN = "sweep.open"  # the index of the cell a click asked to open
NONE = "none"
STARTING_VALUES = {"lr": (0.001, 0.01, 0.1), "units": (2, 8, 32), "layers": (1, 2, 3), "batch": (16, 64, 0),
                   "activation": ("relu", "tanh", "sigmoid"), "weight_decay": (0.0, 1e-3, 1e-1),
                   "loss": ("cross_entropy", "mse"), "head": ("softmax", "sigmoid")}


def _values_picker(name: str, key: str, ran: dict[str, tuple]) -> tuple:
    """A multiselect of the setting's sensible values, kept in the order of the choices; it starts from the values
    the last sweep ran with (`ran`), else from a small usual grid."""
    choices = SETTINGS[name].choices
    start = [v for v in choices if v in ran.get(name, STARTING_VALUES[name])]
    chosen = st.multiselect(f"{SETTINGS[name].label}: values", choices, default=start,
                            key=f"{key}.{name}", format_func=value_label, max_selections=MAX_VALUES)
    return tuple(v for v in choices if v in chosen)


def _ran(lab: Lab, names: list[str]) -> dict[str, tuple]:
    """The settings the session last picked on this page (those still offered), in their order, with their values:
    the picks kept on the Lab, else those of its last sweep.

    Streamlit forgets a widget's state when a page run does not draw it (another page, a reload), so the pickers
    start from the Lab: the grid the heatmap shows, or the one the user was preparing when they left.
    """
    axes = lab.sweep_draft or (lab.sweep.spec.axes if lab.sweep is not None else ())
    return {axis.name: axis.values for axis in axes if axis.name in names}


def axis_pickers(lab: Lab) -> list[Axis]:
    """One or two settings and their values, side by side; units and layers are offered for an MLP only.

    Side by side across the page, not stacked in a side column: there, at 1024 px, the value chips were cut
    to "0.…".
    """
    names = [n for n in SETTINGS if (lab.model_config.kind == "mlp" or n not in MLP_ONLY)
             and (n != "head" or lab.model_config.n_classes == 2)]  # a sigmoid head is for two classes
    label = {n: SETTINGS[n].label for n in names} | {NONE: "nothing else"}
    ran = _ran(lab, names)
    first_col, second_col = st.columns(2, gap="large")
    with first_col:
        first = st.selectbox("Vary", names, index=names.index(next(iter(ran), names[0])), key="sweep.first",
                             format_func=label.get)
        axes = [Axis(first, _values_picker(first, "sweep.first", ran))]
    others = [NONE] + [n for n in names if n != first]
    start = [*ran][1] if len(ran) > 1 else NONE if ran else "units"  # a one-setting sweep: "nothing else"
    with second_col:
        second = st.selectbox("and", others, index=others.index(start if start in others else NONE),
                              key="sweep.second", format_func=label.get)
        if second != NONE:
            axes.append(Axis(second, _values_picker(second, "sweep.second", ran)))
    lab.sweep_draft = tuple(axes)
    return axes


def current_job(lab: Lab) -> SweepJob | None:
    """The session's last sweep, running or done (kept on the lab, so a reload finds it)."""
    return lab.sweep


def start_sweep(lab: Lab, axes: list[Axis]) -> SweepJob:
    """Sweep around the lab's current settings on a worker; SweepError (a ValueError) for a bad grid.

    Each finished cell goes to the run history through the page's runs (app_pages.common.session.keep_sweep_runs).
    """
    if any(not axis.values for axis in axes):
        raise ValueError("pick at least one value for each setting.")
    data = lab.require_data()
    spec = SweepSpec(lab.data_config, lab.model_config, lab.train_config, tuple(axes))
    # A sweep varies neither the optimizer nor its momentum: one usual rate for every cell.
    options = RunOptions(threads=lab.threads, reference_lr=usual_lr(lab.model_config, lab.train_config))
    job = SweepJob(spec, data, options=options, budget=lab.budget)  # over the server's budget: refused here
    if lab.sweep is not None:  # one sweep per session: a new one stops the old (its finished cells are kept)
        lab.sweep.stop()
    keep_sweep_runs()  # the previous sweep's last cells, before its handle is replaced
    lab.sweep = job.start()
    return lab.sweep


def describe_cell(result: SweepResult, cell: CellResult) -> str:
    """'lr 0.1 · units 8'."""
    return result.spec.name(cell.cell)


def sweep_chart(result: SweepResult, *, key: str, clickable: bool) -> None:
    """The heatmap of validation accuracy; with `clickable`, a click on a cell asks to open its run."""
    shape, spec = result.spec.shape, result.spec
    test, secs = np.full(shape, np.nan), np.full(shape, np.nan)
    status = np.full(shape, "", dtype=object)
    for c in result.cells:
        test.flat[c.cell.index], secs.flat[c.cell.index], status.flat[c.cell.index] = c.test_acc, c.seconds, c.status
    best = result.best
    fig = sweep_figure(result.grid(), test, secs, status,
                       x=(spec.axes[0].name, spec.axes[0].values),
                       y=(spec.axes[1].name, spec.axes[1].values) if len(spec.axes) > 1 else None,
                       best=divmod(best.cell.index, shape[1]) if best else None,
                       title="Validation accuracy" + (" (click a cell to open its run)" if clickable else ""))
    if not clickable:
        st.plotly_chart(fig, key=key)
        return
    runs = next(i for i, trace in enumerate(fig.data) if trace.name == RUNS_TRACE)
    st.plotly_chart(fig, key=key, on_select=partial(_clicked, key, runs, fig.data[runs].customdata),
                    selection_mode="points")


def _clicked(key: str, curve: int, customdata: Sequence, /) -> None:
    """The chart's callback: the clicked cell's index, to be opened in this run (see `opened_cell`)."""
    for point in st.session_state[key].selection.points:
        if point.get("curve_number") == curve:
            ask_to_open(int(customdata[point["point_index"]][0]))
            return


def ask_to_open(index: int) -> None:
    """Open cell `index` of the sweep in this run (a button's or the chart's callback)."""
    st.session_state[OPEN] = index


def opened_cell(result: SweepResult) -> CellResult | None:
    """The cell a click asked to open, once."""
    index = st.session_state.pop(OPEN, None)
    return next((c for c in result.cells if c.cell.index == index), None)


def cells_table(result: SweepResult) -> pd.DataFrame:
    """One row per finished cell: its values, validation and test accuracy, how it ended, its time."""
    rows = [{**{axis.name: value_label(v) for axis, v in zip(result.spec.axes, c.values)},
             "validation": percent(c.val_acc) if not math.isnan(c.val_acc) else "—", "test": percent(c.test_acc),
             "status": c.status.replace("_", " "), "epochs": len(c.history), "seconds": round(c.seconds, 2)}
            for c in result.cells]
    return pd.DataFrame(rows)


def open_cell(lab: Lab, cell: CellResult) -> None:
    """Make the cell's settings the current ones, train them as the sweep did (same seeds), go to the Train page."""
    c = cell.cell
    forget_widgets()  # the settings widgets start again from the opened run's settings
    lab.apply(Settings(c.data, c.model, c.train), train="always")  # every epoch, no settling: the sweep's run
    st.switch_page("app_pages/train.py")
