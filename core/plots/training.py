"""Learning curves: loss and accuracy per epoch, training against validation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.plots.style import BLUE, HINT_FONT, ORANGE, house_layout

if TYPE_CHECKING:
    from core.train import EpochStats

METRICS = {"loss": ("Loss (cross-entropy)", "train_loss", "val_loss"),
           "accuracy": ("Accuracy", "train_acc", "val_acc")}
SPLITS = (("train", BLUE, "solid"), ("validation", ORANGE, "dash"))


def _series(history: Sequence[EpochStats], field: str) -> np.ndarray:
    return np.array([getattr(stats, field) for stats in history], dtype=float)


def curves_figure(history: Sequence[EpochStats], *, metric: str | None = None,
                  title: str = "Learning curves") -> go.Figure:
    """Train vs validation per epoch: loss and accuracy side by side, or only `metric`."""
    if metric is not None and metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)} (or None for both). Got {metric!r}.")
    shown = [metric] if metric else list(METRICS)
    fig = make_subplots(rows=1, cols=len(shown), subplot_titles=[METRICS[m][0] for m in shown],
                        horizontal_spacing=0.16)
    fig.update_layout(house_layout(title, height=360))
    # On the title's line, at the right: the default spot above the plot would cover the subplot titles.
    fig.update_layout(legend=dict(yref="container", y=0.98, yanchor="top", x=1, xanchor="right"))
    epochs = _series(history, "epoch").astype(int)
    for col, name in enumerate(shown, start=1):
        label, *fields = METRICS[name]
        number = ".1%" if name == "accuracy" else ".4f"
        for (split, color, dash), field in zip(SPLITS, fields):
            fig.add_trace(go.Scatter(
                x=epochs, y=_series(history, field), mode="lines+markers" if len(epochs) < 30 else "lines",
                name=split, legendgroup=split, showlegend=col == 1, line=dict(color=color, width=2.2, dash=dash),
                marker=dict(size=5), hovertemplate=f"{split}<br>epoch %{{x}}<br>{name} %{{y:{number}}}<extra></extra>",
            ), row=1, col=col)
        fig.update_xaxes(title_text="Epoch", row=1, col=col)
        yaxis = dict(tickformat=".0%", range=[0, 1.02]) if name == "accuracy" else dict(rangemode="tozero")
        fig.update_yaxes(title_text=label, **yaxis, row=1, col=col)
    if not history:  # one hint in the middle of each (empty) subplot, clear of the axis titles
        for col in range(1, len(shown) + 1):
            axis = "" if col == 1 else str(col)
            fig.add_annotation(text="After the first epoch", x=0.5, y=0.5, xref=f"x{axis} domain",
                               yref=f"y{axis} domain", showarrow=False, font=HINT_FONT)
    return fig
