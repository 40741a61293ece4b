"""A seed spread: runs that differ only by seed, their validation curves as a min–max band around the mean, and
their final validation accuracies beside the 95% interval of one run."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.plots.style import BLUE, INK, NEUTRAL, house_layout

BAND = "rgba(8, 119, 189, 0.18)"  # BLUE, light: the min–max band
JITTER_SEED = 0  # the dots' sideways offsets: the same on every draw, and never the process-wide RNG
DOTS_X, JITTER = 0.45, 0.15  # the seeds' dots sit at DOTS_X ± JITTER in the right panel (x from -0.5 to 0.9)


def _check(val_acc: np.ndarray, final: np.ndarray, seeds: Sequence[int], interval: tuple[float, float]) -> None:
    """ValueError naming what does not fit together."""
    if val_acc.ndim != 2 or val_acc.shape[0] < 1 or val_acc.shape[1] < 1:
        raise ValueError(f"val_acc must be (runs, epochs) with at least one of each. Got shape {val_acc.shape}.")
    if final.shape != (val_acc.shape[0],) or len(seeds) != val_acc.shape[0]:
        raise ValueError(f"one final accuracy and one seed per run: {val_acc.shape[0]} runs, got {final.shape[0]} "
                         f"accuracies and {len(seeds)} seeds.")
    if not 0 <= interval[0] <= interval[1] <= 1:
        raise ValueError(f"interval must be (low, high) within 0..1. Got {interval}.")


def seed_spread_figure(val_acc: np.ndarray, final: np.ndarray, *, seeds: Sequence[int],
                       interval: tuple[float, float], title: str = "Validation accuracy across seeds") -> go.Figure:
    """Left: each epoch's min–max of `val_acc` (runs, epochs; NaN once a run ended) as a band, the mean as a line.
    Right: each run's `final` accuracy as a dot, their mean ± one standard deviation, and one run's 95% `interval`
    (validation split size alone) drawn around the mean for comparison."""
    val_acc, final = np.asarray(val_acc, dtype=float), np.asarray(final, dtype=float)
    _check(val_acc, final, seeds, interval)
    epochs = np.arange(1, val_acc.shape[1] + 1)
    running = np.isfinite(val_acc).any(axis=0)  # epochs that at least one run reached
    low, high, mean = (np.full(len(epochs), np.nan) for _ in range(3))
    low[running], high[running] = np.nanmin(val_acc[:, running], 0), np.nanmax(val_acc[:, running], 0)
    mean[running] = np.nanmean(val_acc[:, running], 0)
    # At 1024 px the right panel is ~160 px wide: a short title (a long one was cut at the chart's edge), and no
    # y title of its own (in the gap between the panels it ran over the left plot); the legend names each mark.
    fig = make_subplots(rows=1, cols=2, column_widths=[0.64, 0.36], horizontal_spacing=0.1,
                        subplot_titles=("Per epoch: min–max band, mean line", "Final accuracy (%)"))
    fig.update_layout(house_layout(title, height=420), showlegend=True, margin=dict(l=56, r=24, t=72, b=100),
                      legend=dict(orientation="h", yanchor="top", yref="paper", y=-0.2, x=0))
    fig.add_trace(go.Scatter(x=epochs, y=100 * high, mode="lines", line=dict(width=0), hoverinfo="skip",
                             showlegend=False), 1, 1)
    fig.add_trace(go.Scatter(x=epochs, y=100 * low, mode="lines", line=dict(width=0), fill="tonexty",
                             fillcolor=BAND, name=f"min–max of {len(final)} seeds", hoverinfo="skip"), 1, 1)
    fig.add_trace(go.Scatter(x=epochs, y=100 * mean, mode="lines", line=dict(color=BLUE, width=2), name="mean",
                             hovertemplate="epoch %{x}: mean %{y:.1f}%<extra></extra>"), 1, 1)
    _finals(fig, final, seeds, interval)
    fig.update_xaxes(title_text="epoch", row=1, col=1)
    fig.update_yaxes(title_text="validation accuracy (%)", row=1, col=1)
    fig.update_xaxes(showticklabels=False, range=[-0.5, DOTS_X + 0.45], row=1, col=2)
    return fig


def _jitter(n: int) -> np.ndarray:
    """`n` sideways offsets within ±JITTER, evenly spaced in a fixed shuffled order, so that seeds with the same
    accuracy show as separate dots (drawn from their own generator: the same figure on every rerun)."""
    slots = np.linspace(-JITTER, JITTER, n) if n > 1 else np.zeros(1)
    return np.random.default_rng(JITTER_SEED).permutation(slots)


def _finals(fig: go.Figure, final: np.ndarray, seeds: Sequence[int], interval: tuple[float, float]) -> None:
    """The right panel: the seeds' dots (about x DOTS_X), their mean ± sd (x 0) and one run's 95% interval
    (x -0.25). The sd bar stops at 0% and 100%, as accuracy does, and its hover says so when it was cut."""
    mean, sd = float(final.mean()), float(final.std(ddof=1)) if len(final) > 1 else 0.0
    up, down = min(sd, max(1 - mean, 0.0)), min(sd, max(mean, 0.0))
    cut = " (the bar stops at 100%)" if up < sd else " (the bar stops at 0%)" if down < sd else ""
    fig.add_trace(go.Scatter(x=DOTS_X + _jitter(len(final)), y=100 * final, mode="markers", name="each seed",
                             marker=dict(color=BLUE, size=9, line=dict(color="white", width=1)),
                             customdata=np.asarray(seeds),
                             hovertemplate="seed %{customdata}: %{y:.1f}%<extra></extra>"), 1, 2)
    fig.add_trace(go.Scatter(x=[0], y=[100 * mean], mode="markers", name="mean ± sd of the seeds",
                             marker=dict(color=INK, size=10, symbol="diamond"),
                             error_y=dict(type="data", symmetric=False, array=[100 * up], arrayminus=[100 * down],
                                          color=INK, thickness=2, width=8),
                             hovertemplate=f"mean {100 * mean:.1f}% ± {100 * sd:.1f} (sd){cut}<extra></extra>"), 1, 2)
    low, high = interval
    fig.add_trace(go.Scatter(x=[-0.25], y=[100 * mean], mode="markers", name="one run's 95% interval",
                             marker=dict(color=NEUTRAL, size=8, symbol="line-ew-open"),
                             error_y=dict(type="data", symmetric=False, array=[100 * (high - mean)],
                                          arrayminus=[100 * (mean - low)], color=NEUTRAL, thickness=2, width=8),
                             hovertemplate=f"95% interval {100 * low:.1f}–{100 * high:.1f}%<extra></extra>"), 1, 2)
