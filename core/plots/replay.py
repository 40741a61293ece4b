"""A run replayed in the browser: the boundary and the loss curves as Plotly animation frames, one per epoch.

The run is trained at once on the server; Play, Pause and the frame slider then cost the server nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.data.drawn import Units, to_units
from core.plots.points import (
    _check_points,
    _multi_class_layer,
    _points_trace,
    _two_class_layers,
    aspect_ratio,
    coordinate_format,
    grid_in_units,
)
from core.plots.style import BLUE, ORANGE, check_names, class_color, figure, house_layout

if TYPE_CHECKING:
    from core.boundary import Snapshot
    from core.training.result import EpochStats

PLAY, PAUSE = "▶ Play", "❚❚ Pause"
SPEEDS = (1, 2, 4, 8, 16)  # epochs a second a teacher can choose
# Pixel layout, the same at every width: the boundary above the loss (side by side, a 1024-px screen left the
# boundary 120 px wide), then under the loss's x axis the buttons, then the slider on a row of its own.
HEIGHT, TOP, BOTTOM = 800, 96, 190  # px: the figure, the title and legend above the plots, the controls below
PLOTS = HEIGHT - TOP - BOTTOM  # px of the plot area, both rows and the gap between them
BUTTONS_AT, SLIDER_AT = 56, 98  # px below the plot area: the buttons' top, the slider's top


def _layers(snapshot: Snapshot, names: list[str]) -> list:
    """The boundary layers of one frame, as bytes: a frame is sent for every epoch, so each cell is one byte
    (256 levels of probability, finer than the colour map shows) instead of four."""
    if len(names) > 2:
        layer = _multi_class_layer(snapshot.grid)  # z = class + certainty, from 0 to n: the scale's stops are shares
        n = len(names)
        layer.update(z=np.round(np.asarray(layer["z"]) * 255 / n).astype(np.uint8), zmin=0, zmax=255,
                     customdata=None, hoverinfo="skip", hovertemplate=None)
        return [layer]
    heat, line = _two_class_layers(snapshot.grid, names)
    level = np.round(snapshot.grid.proba[..., 1] * 255).astype(np.uint8)
    heat.update(z=level, zmin=0, zmax=255, showscale=False, hoverinfo="skip", hovertemplate=None)
    line.update(z=level, contours=dict(start=127.5, end=127.5, size=1, coloring="none"))
    return [heat, line]


def _loss_series(history: Sequence[EpochStats], epoch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(epochs, train loss, validation loss) up to `epoch`, as float32 (sent as compact typed arrays)."""
    shown = [s for s in history if s.epoch <= epoch]
    as32 = lambda values: np.array(values, dtype=np.float32)  # noqa: E731
    return (as32([s.epoch for s in shown]), as32([s.train_loss for s in shown]), as32([s.val_loss for s in shown]))


def _curves(history: Sequence[EpochStats], epoch: int) -> list[dict]:
    """Train and validation loss up to `epoch`, in the lower plot."""
    x, train, val = _loss_series(history, epoch)
    below = dict(type="scatter", mode="lines", xaxis="x2", yaxis="y2")
    return [dict(below, x=x, y=train, name="train loss", line=dict(color=BLUE, width=2.2)),
            dict(below, x=x, y=val, name="validation loss", line=dict(color=ORANGE, width=2.2, dash="dash"))]


def _frame(snapshot: Snapshot, history: Sequence[EpochStats], names: list[str], traces: list[int]) -> dict:
    """Only what changes: the grid's values and the curves' points (a frame's traces update the figure's)."""
    layers = [dict(type=layer["type"], z=layer["z"]) for layer in _layers(snapshot, names)]
    x, train, val = _loss_series(history, snapshot.epoch)
    return dict(name=str(snapshot.epoch), data=[*layers, dict(type="scatter", x=x, y=train),
                                                dict(type="scatter", x=x, y=val)], traces=traces,
                layout=dict(title=dict(text=f"<b>{headline(snapshot.epoch, history)}</b>")))  # as house_layout


def headline(epoch: int, history: Sequence[EpochStats]) -> str:
    """'Epoch 12 of 50 · validation accuracy 97%': the frame's epoch counter."""
    last = history[-1].epoch if history else 0
    if epoch == 0:
        return f"Epoch 0 of {last} · the starting weights"
    stats = next((s for s in history if s.epoch == epoch), None)
    tail = f" · validation accuracy {stats.val_acc:.0%}" if stats is not None and stats.val_acc == stats.val_acc else ""
    return f"Epoch {epoch} of {last}{tail}"


def _controls(snapshots: Sequence[Snapshot], start: int, frame_ms: int) -> dict:
    """Play / Pause buttons and the frame slider, all run by Plotly in the browser."""
    still = {"mode": "immediate", "frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0}}
    play = {"frame": {"duration": frame_ms, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}
    buttons = [dict(label=PLAY, method="animate", args=[None, play]),
               dict(label=PAUSE, method="animate", args=[[None], {**still, "frame": {"duration": 0, "redraw": False}}])]
    steps = [dict(method="animate", label=str(s.epoch), args=[[str(s.epoch)], still]) for s in snapshots]
    return dict(
        # Below the loss's x-axis title: the buttons, then the frame slider with its "Epoch N" under them.
        updatemenus=[dict(type="buttons", direction="left", showactive=False, x=0, xanchor="left",
                          y=-BUTTONS_AT / PLOTS, yanchor="top", pad=dict(t=0, r=8), buttons=buttons)],
        sliders=[dict(active=start, steps=steps, x=0, len=1, y=-SLIDER_AT / PLOTS, yanchor="top",
                      currentvalue=dict(prefix="Epoch ", font=dict(size=13)), pad=dict(t=8))],
    )


@functools.cache
def _layout() -> dict:
    """What every replay's layout shares: the two rows' axes, the house style, the margins for the title above and
    the controls below. Laid out once through Plotly's own subplots and validation; each replay then takes it
    as it is (its ~100 frames validated one by one were most of the ~0.3 s a replay took to build)."""
    fig = make_subplots(rows=2, cols=1, row_heights=[0.62, 0.38], vertical_spacing=64 / PLOTS)
    fig.update_layout(house_layout("", height=HEIGHT))
    # The epoch counter (the title) on top, the legend on its own line under it, the controls at the bottom.
    fig.update_layout(margin=dict(t=TOP, b=BOTTOM),
                      legend=dict(orientation="h", yanchor="bottom", yref="paper", y=1.02, x=0))
    # constrain="domain": the square boundary keeps its own box, centred, however wide the column.
    fig.update_xaxes(title_text="x", showgrid=False, constrain="domain", row=1, col=1)
    fig.update_yaxes(title_text="y", showgrid=False, scaleanchor="x", constrain="domain", row=1, col=1)
    fig.update_xaxes(title_text="Epoch", row=2, col=1)
    fig.update_yaxes(title_text="Loss (cross-entropy)", row=2, col=1)
    return fig.to_dict()["layout"]


def replay_figure(snapshots: Sequence[Snapshot], history: Sequence[EpochStats], X: np.ndarray, y: np.ndarray,
                  class_names: Sequence[str] = (), *, start: int | None = None, frame_ms: int = 125,
                  units: Units = None) -> go.Figure:
    """The boundary (top) and the loss (below) at each snapshot, as frames with Play, Pause and a slider.

    `start` is the frame shown first (default: the last); `frame_ms` the time a frame stays on screen;
    `units` (Dataset.units) puts the plane's axes and points in your own points' units. Built from plain dicts
    on a layout made once (`_layout`); tests/test_plots.py validates what it builds.
    """
    if not snapshots:
        raise ValueError("replay_figure needs at least one snapshot of the boundary.")
    start = len(snapshots) - 1 if start is None else start
    if not 0 <= start < len(snapshots):
        raise ValueError(f"start must be a frame index from 0 to {len(snapshots) - 1}. Got {start}.")
    if frame_ms < 1:
        raise ValueError(f"frame_ms must be at least 1. Got {frame_ms}.")
    X, y = _check_points(X, y, "X")
    names = check_names(class_names, snapshots[0].grid.proba.shape[2], "the snapshots' grids")
    grid = grid_in_units(snapshots[0].grid, units)  # every snapshot shares the box; frames change only z
    above = dict(xaxis="x", yaxis="y")
    layers = [{**trace, "x": grid.xs, "y": grid.ys, **above} for trace in _layers(snapshots[start], names)]
    X = to_units(X, units)
    points = [{**_points_trace(X[y == c], name, class_color(c), gl=False, fmt=coordinate_format(units)), **above}
              for c, name in enumerate(names) if np.any(y == c)]
    moving = [*range(len(layers)), len(layers) + len(points), len(layers) + len(points) + 1]
    finite = [v for s in history for v in (s.train_loss, s.val_loss) if np.isfinite(v)]
    top = 1.05 * max(finite) if finite else 1.0
    last = max(1, history[-1].epoch if history else 1)
    base = _layout()
    layout = {**base, **_controls(snapshots, start, frame_ms),
              "title": {**base["title"], "text": headline(snapshots[start].epoch, history)},
              "xaxis": {**base["xaxis"], "range": [float(grid.xs[0]), float(grid.xs[-1])]},
              "yaxis": {**base["yaxis"], "range": [float(grid.ys[0]), float(grid.ys[-1])],
                        "scaleratio": aspect_ratio(units)},
              "xaxis2": {**base["xaxis2"], "range": [0, last]},
              "yaxis2": {**base["yaxis2"], "range": [0, top]}}
    frames = [_frame(s, history, names, moving) for s in snapshots]
    return figure([*layers, *points, *_curves(history, snapshots[start].epoch)], layout, frames)
