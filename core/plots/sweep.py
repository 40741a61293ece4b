"""A sweep's grid: validation accuracy per cell as a heatmap, each run's numbers on hover, the best cell framed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from core.plots.style import INK, new_figure

RUNS_TRACE = "runs"  # the clickable layer: one marker per finished cell, customdata = the cell's index


def _labels(setting: str, values: Sequence) -> list[str]:
    """Category labels for the axis, as the rest of the app writes them: 0.001 -> '0.001', batch 0 -> 'all'."""
    return ["all" if setting == "batch" and v == 0 else f"{v:g}" if isinstance(v, float) else str(v) for v in values]


def sweep_figure(val_acc: np.ndarray, test_acc: np.ndarray, seconds: np.ndarray, status: np.ndarray, *,
                 x: tuple[str, Sequence], y: tuple[str, Sequence] | None = None,
                 best: tuple[int, int] | None = None, title: str = "Validation accuracy") -> go.Figure:
    """Heatmap of `val_acc` (rows x columns, NaN where a cell has not run); `x`/`y` are (setting, values).

    `test_acc`, `seconds` and `status` (same shape) show on hover; `best` (row, column) gets a frame.
    """
    val_acc = np.atleast_2d(np.asarray(val_acc, dtype=float))
    rows, cols = val_acc.shape
    if len(x[1]) != cols or (y is not None and len(y[1]) != rows) or (y is None and rows != 1):
        raise ValueError(f"the grid is {rows} x {cols}; got {len(x[1])} column values and "
                         f"{len(y[1]) if y else 0} row values.")
    xs, ys = _labels(*x), _labels(*y) if y is not None else [""]
    fig = new_figure(title, height=max(260, 140 + 70 * rows))
    low = float(np.nanmin(val_acc)) if np.isfinite(val_acc).any() else 0.0
    # Each cell's text made here: a template over z wrote a bare "%" in the cells still to run (z NaN).
    text = [[f"{100 * v:.0f}%" if np.isfinite(v) else "" for v in row] for row in val_acc]
    fig.add_trace(go.Heatmap(z=100 * val_acc, x=xs, y=ys, zmin=100 * low, zmax=100, colorscale="Viridis",
                             text=text, texttemplate="%{text}", hoverinfo="skip",
                             colorbar=dict(title="val %", thickness=12), xgap=2, ygap=2))
    test, secs = (np.asarray(a, dtype=float).reshape(rows, cols) for a in (test_acc, seconds))
    states = np.asarray(status, dtype=object).reshape(rows, cols)
    done = np.argwhere(np.isfinite(val_acc))
    custom = [[r * cols + c, 100 * val_acc[r, c], 100 * test[r, c], secs[r, c]] for r, c in done]
    fig.add_trace(go.Scatter(
        x=[xs[c] for _, c in done], y=[ys[r] for r, _ in done], mode="markers", name=RUNS_TRACE,
        marker=dict(symbol="square", size=40, opacity=0.01, color=INK), customdata=custom,
        text=[str(states[r, c]).replace("_", " ") for r, c in done], showlegend=False,
        hovertemplate=(f"{x[0]} %{{x}}" + (f" · {y[0]} %{{y}}" if y else "") + "<br>validation %{customdata[1]:.1f}%"
                       "<br>test %{customdata[2]:.1f}%<br>%{text} · %{customdata[3]:.2f} s<br>click to open"
                       "<extra></extra>")))
    if best is not None:
        r, c = best
        fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, line=dict(color="#d62728", width=4))
        fig.add_annotation(x=xs[c], y=ys[r], text="best", showarrow=False, yshift=-16, font=dict(color=INK, size=11))
    # Fixed ranges: the clickable markers must not pad the axes (autorange makes room for their size).
    fig.update_xaxes(title_text=x[0], type="category", showgrid=False, range=[-0.5, cols - 0.5])
    fig.update_yaxes(title_text=y[0] if y else "", type="category", showgrid=False, showticklabels=y is not None,
                     range=[-0.5, rows - 0.5])
    fig.update_layout(clickmode="event+select", dragmode=False)
    return fig
