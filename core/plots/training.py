"""Learning curves: loss and accuracy per epoch, training against validation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from core.plots.style import BLUE, HINT_FONT, MARGIN, NEUTRAL, ORANGE, figure, house_layout, whole_ticks

if TYPE_CHECKING:
    from core.training.result import EpochStats

METRICS = {"loss": ("Loss (cross-entropy)", "train_loss", "val_loss"),
           "accuracy": ("Accuracy", "train_acc", "val_acc")}
SPLITS = (("train", BLUE, "solid"), ("validation", ORANGE, "dash"))
HEIGHT, PANEL_TITLE = 384, 26  # px: the figure; the panels' titles' line, between the legend and the plots


def _series(history: Sequence[EpochStats], field: str) -> np.ndarray:
    return np.array([getattr(stats, field) for stats in history], dtype=float)


def _titles(loss: str) -> dict[str, str]:
    """Each metric's panel title, the loss named: 'Loss (mean squared error)'."""
    return {name: f"Loss ({loss})" if name == "loss" else METRICS[name][0] for name in METRICS}


def _panel_layout(shown: list[str], loss: str, last: float, gap: float = 0.16) -> dict:
    """Side-by-side axes, one pair per metric, each titled: what make_subplots builds, at a fraction of its cost
    (this figure is redrawn on every slider move, so it is also built from dicts and validated once)."""
    width = (1 - gap * (len(shown) - 1)) / len(shown)
    layout: dict = {"annotations": []}
    titles = _titles(loss)
    for i, name in enumerate(shown):
        suffix = "" if i == 0 else str(i + 1)
        left = i * (width + gap)
        yaxis = dict(tickformat=".0%", range=[0, 1.02]) if name == "accuracy" else dict(rangemode="tozero")
        layout[f"xaxis{suffix}"] = dict(domain=[left, left + width], anchor=f"y{suffix}", title=dict(text="Epoch"),
                                        **whole_ticks(last))
        # No y-axis title: the panel's title names it, and in a narrow column (1024 px) the second panel's axis
        # title fell on the first panel's plot.
        layout[f"yaxis{suffix}"] = dict(anchor=f"x{suffix}", **yaxis)
        layout["annotations"].append(dict(text=titles[name], x=left + width / 2, y=1.0, xref="paper",
                                          yref="paper", xanchor="center", yanchor="bottom", showarrow=False,
                                          font=dict(size=16)))
    return layout


def curves_figure(history: Sequence[EpochStats], *, metric: str | None = None, title: str = "Learning curves",
                  loss: str = "cross-entropy", kept_epoch: int | None = None) -> go.Figure:
    """Train vs validation per epoch: loss and accuracy side by side, or only `metric`; `loss` names the loss the run
    trained with ("mean squared error", ...) on its panel. `kept_epoch`, when the run went back to an earlier
    epoch's weights (early stopping), is marked on every panel: the cards, the boundary and Evaluate are of it."""
    if metric is not None and metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)} (or None for both). Got {metric!r}.")
    shown = [metric] if metric else list(METRICS)
    epochs = _series(history, "epoch").astype(int)
    layout = {**house_layout(title, height=HEIGHT), **_panel_layout(shown, loss, epochs[-1] if len(epochs) else 0)}
    # The house legend, under the title, with room under it for the panels' titles. On the title's line at the
    # right, it lay under Plotly's toolbar whenever the pointer was on the chart (QA at 1024 px).
    layout["margin"] = {**MARGIN, "t": MARGIN["t"] + PANEL_TITLE}
    traces = []
    for i, name in enumerate(shown):
        suffix = "" if i == 0 else str(i + 1)
        number = ".1%" if name == "accuracy" else ".4f"
        for (split, color, dash), field in zip(SPLITS, METRICS[name][1:]):
            traces.append(dict(
                type="scatter", x=epochs, y=_series(history, field),
                mode="lines+markers" if len(epochs) < 30 else "lines", name=split, legendgroup=split,
                showlegend=i == 0, line=dict(color=color, width=2.2, dash=dash), marker=dict(size=5),
                xaxis=f"x{suffix}", yaxis=f"y{suffix}",
                hovertemplate=f"{split}<br>epoch %{{x}}<br>{name} %{{y:{number}}}<extra></extra>"))
    if history and kept_epoch is not None and kept_epoch != int(epochs[-1]):
        layout["shapes"] = [_kept_line(kept_epoch, "" if i == 0 else str(i + 1)) for i in range(len(shown))]
        traces.append(_kept_key(kept_epoch))
    if not history:  # one hint in the middle of each (empty) panel, clear of the axis titles
        layout["annotations"] += [dict(text="After the first epoch", x=0.5, y=0.5, xref=f"x{s} domain",
                                       yref=f"y{s} domain", showarrow=False, font=HINT_FONT)
                                  for s in ("", "2")[: len(shown)]]
    return figure(traces, layout)


def _kept_line(epoch: int, suffix: str) -> dict:
    """A dotted vertical line at the kept epoch, the panel's full height."""
    return dict(type="line", x0=epoch, x1=epoch, xref=f"x{suffix}", y0=0, y1=1, yref=f"y{suffix} domain",
                line=dict(color=NEUTRAL, width=1.5, dash="dot"), layer="below")


def _kept_key(epoch: int) -> dict:
    """The line's entry in the legend, 'kept: epoch 13'. In the legend, not on the plot: a label on the plot widened
    the loss panel's epoch axis to fit it (to -5, QA) and covered the curves."""
    return dict(type="scatter", x=[None], y=[None], mode="lines", name=f"kept: epoch {epoch:,}", hoverinfo="skip",
                line=dict(color=NEUTRAL, width=1.5, dash="dot"))
