"""Comparing saved runs: their learning curves overlaid, and their final boundaries side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.plots.points import _multi_class_layer, _two_class_layers
from core.plots.style import CLASS_COLORS, HINT_FONT, house_layout, whole_ticks

if TYPE_CHECKING:
    from core.boundary import BoundaryGrid

PANELS = (("loss", "Loss (cross-entropy)", ""), ("accuracy", "Accuracy", ".0%"))
SPLIT_DASH = (("train", "solid"), ("val", "dash"))  # history keys: train_loss, val_loss, train_acc, val_acc
COLUMNS = 4  # boundaries per row
MARKED = 30  # runs with fewer epochs than this get a marker per epoch: a run stopped after 1 epoch is one point


def run_color(index: int) -> str:
    """The colour of the index-th compared run (the colour-blind-safe palette, cycled)."""
    return CLASS_COLORS[index % len(CLASS_COLORS)]


def runs_curves_figure(curves: Sequence[tuple[str, Mapping[str, np.ndarray]]], *, kept: Sequence[int | None] = (),
                       title: str = "Learning curves") -> go.Figure:
    """Loss and accuracy per epoch of several runs: one colour per run, train solid, validation dashed.

    `curves` holds (legend name, arrays) per run; arrays has "epoch", "train_loss", "val_loss", "train_acc",
    "val_acc" (NaN where a value is missing). `kept`, one per run when given, is the epoch whose weights the run
    kept: where early stopping went back to an earlier epoch, a diamond marks it on the watched curves.
    """
    if kept and len(kept) != len(curves):
        raise ValueError(f"Give one kept epoch per run, or none. Got {len(curves)} runs and {len(kept)} epochs.")
    fig = make_subplots(rows=1, cols=2, subplot_titles=[label for _, label, _ in PANELS], horizontal_spacing=0.12)
    marked = False  # a run went back to an earlier epoch's weights: the legend says what its diamond means
    for i, (name, arrays) in enumerate(curves):
        missing = {"epoch", "train_loss", "val_loss", "train_acc", "val_acc"} - set(arrays)
        if missing:
            raise ValueError(f"Run {name!r} lacks {', '.join(sorted(missing))} in its curves.")
        for col, (metric, _, number) in enumerate(PANELS, start=1):
            for split, dash in SPLIT_DASH:
                key = f"{split}_{'acc' if metric == 'accuracy' else 'loss'}"
                fig.add_trace(go.Scatter(
                    x=arrays["epoch"], y=arrays[key], mode="lines+markers" if len(arrays["epoch"]) < MARKED
                    else "lines", marker=dict(size=6), name=name, legendgroup=name,
                    showlegend=col == 1 and split == "train", line=dict(color=run_color(i), width=2.2, dash=dash),
                    hovertemplate=f"{name}<br>{split} {metric} %{{y:{number or '.4f'}}}<br>epoch %{{x}}<extra></extra>",
                ), row=1, col=col)
            if kept:
                marked = _mark_kept(fig, name, arrays, metric, kept[i], run_color(i), col) or marked
    fig.update_layout(**house_layout(title, height=420))
    fig.update_layout(legend=dict(orientation="h", yanchor="top", yref="paper", y=-0.18, x=0,
                                  title_text="solid: train · dashed: validation"
                                             + (" · ◆ weights kept" if marked else "")))
    longest = max((np.nanmax(arrays["epoch"]) for _, arrays in curves if len(arrays["epoch"])), default=0)
    fig.update_xaxes(title_text="Epoch", **whole_ticks(longest))
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02], row=1, col=2)
    if not curves:
        fig.add_annotation(text="Select runs in the table to compare them", x=0.5, y=0.5, xref="paper",
                           yref="paper", showarrow=False, font=HINT_FONT)
    return fig


def _mark_kept(fig: go.Figure, name: str, arrays: Mapping[str, np.ndarray], metric: str, epoch: int | None,
               color: str, col: int) -> bool:
    """A diamond on the run's watched curve (validation, else training) at the epoch it went back to, if any;
    True when one was drawn."""
    epochs = arrays["epoch"]
    if epoch is None or not len(epochs) or epoch == epochs[-1] or epoch not in epochs:
        return False
    short = "acc" if metric == "accuracy" else "loss"
    split = "train" if np.isnan(arrays[f"val_{short}"]).all() else "val"
    at = int(np.flatnonzero(epochs == epoch)[0])
    fig.add_trace(go.Scatter(
        x=[epoch], y=[arrays[f"{split}_{short}"][at]], mode="markers", name=name, legendgroup=name, showlegend=False,
        marker=dict(symbol="diamond", size=11, color=color, line=dict(color="white", width=1.5)),
        hovertemplate=f"{name}: weights kept from epoch {epoch:,}<br>(the run went on to epoch "
                      f"{int(epochs[-1]):,})<extra></extra>"), row=1, col=col)
    return True


def runs_boundaries_figure(grids: Sequence[BoundaryGrid], names: Sequence[str], *, notes: Sequence[str] = (),
                           title: str = "Final decision boundaries") -> go.Figure:
    """Small multiples: each run's final boundary (probabilities on its grid), in the order given.

    `names` title the panels: keep them short ("#12"), four side by side share a 1024-px page. `notes`, one per
    panel when given, open each panel's hover (what the run was: its settings, the epoch it kept).
    """
    if len(grids) != len(names):
        raise ValueError(f"Give one name per boundary. Got {len(grids)} grids and {len(names)} names.")
    if notes and len(notes) != len(grids):
        raise ValueError(f"Give one note per boundary, or none. Got {len(grids)} grids and {len(notes)} notes.")
    if not grids:
        raise ValueError("There is no boundary to draw: pick runs on 2-D data.")
    cols = min(COLUMNS, len(grids))
    rows = -(-len(grids) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(names), horizontal_spacing=0.04,
                        vertical_spacing=0.12 / rows)
    for i, grid in enumerate(grids):
        n_classes = grid.proba.shape[2]
        layers = _two_class_layers(grid, [f"class {c}" for c in range(n_classes)]) if n_classes == 2 else [
            _multi_class_layer(grid)]
        for layer in layers:
            if notes and "hovertemplate" in layer:
                layer = {**layer, "hovertemplate": f"<b>{names[i]}</b> · {notes[i]}<br>{layer['hovertemplate']}"}
            fig.add_trace({**layer, "showscale": False}, row=i // cols + 1, col=i % cols + 1)
    fig.update_layout(**house_layout(title, height=60 + 260 * rows))
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    for i in range(len(grids)):  # square cells: one unit on x as long as one on y, per panel
        suffix = "" if i == 0 else str(i + 1)
        fig.update_layout({f"yaxis{suffix}": dict(scaleanchor=f"x{suffix}", scaleratio=1)})
    return fig
