"""Inside the network, 2-D data: the network with every unit's map at its place, one map large, the hidden space."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from core.data.drawn import Units, to_units
from core.plots.network import edge_traces
from core.plots.points import SMOOTH, aspect_ratio, coordinate_format, grid_in_units
from core.plots.style import (
    BLUE,
    DIVERGING,
    INK,
    ORANGE,
    add_hint,
    class_color,
    equal_aspect,
    hide_axes,
    new_figure,
)

if TYPE_CHECKING:
    from core.insight.maps import HiddenSpace, LayerMaps, NeuronMaps

UNIT_PICKER = "units"  # the clickable trace of neuron_maps_figure: customdata [layer, unit] per drawn map
UNIT_SCALE = [[0.0, ORANGE], [0.5, "#ffffff"], [1.0, BLUE]]  # Playground's colours: negative orange, positive blue
SIDE, COLUMN, ROW = 1.0, 2.4, 1.2  # a map's side, the distance between columns (room for edges) and between maps
# A large map is square and shown two abreast (half of a 1024-px screen's page is ~274 px), so its width is what
# limits it: the colour bar lies under the plot rather than beside it (beside, it left the plot ~110 px), and the
# margins are tight. The house legend hangs under the title.
LARGE_MAP_LAYOUT = dict(margin=dict(l=44, r=12, t=72, b=96))
LARGE_MAP_COLORBAR = dict(orientation="h", thickness=10, len=0.8, x=0.5, xanchor="center", yref="container", y=0,
                          yanchor="bottom", ypad=8, title=dict(text="output", side="right"))
# The chart is only as tall as that square needs at 1024 px: at the house 460 px the plot had 60-100 px more
# height than its width, and the square (kept on the colour bar) left that as an empty band under the legend.
# In px: the plot's side in a 274-px column (less ~65 for the y axis's labels, ~15 right of it); above the legend's
# rows, the title and the legend's padding, and under them the ~19 px that Plotly leaves; one row's height and how
# many class names a row holds at that width.
LARGE_MAP_SIDE, LEGEND_TOP, LEGEND_ROW, NAMES_A_ROW = 194, 60, 19, 2


def _shown(layer: LayerMaps, max_units: int) -> list[int]:
    """Which units of a layer are drawn: P(class 1) alone for a two-class output (it is the boundary)."""
    if layer.role == "output" and len(layer.values) == 2:
        return [1]
    return list(range(min(len(layer.values), max_units)))


def _style(layer: LayerMaps, unit: int) -> dict:
    """Colour settings of one map: class probabilities on 0..1, every other layer on its own ±max scale."""
    if layer.role != "output":
        top = float(np.nanmax(np.abs(layer.values))) if layer.values.size else 0.0
        return dict(colorscale=UNIT_SCALE, zmin=-(top or 1.0), zmax=top or 1.0)
    if len(layer.values) == 2:
        return dict(colorscale=DIVERGING, zmin=0.0, zmax=1.0)
    return dict(colorscale=[[0.0, "#ffffff"], [1.0, class_color(unit)]], zmin=0.0, zmax=1.0)


def _health_note(layer: LayerMaps) -> str:
    parts = [f"{layer.dead} dead"] * bool(layer.dead) + [f"{layer.saturated} saturated"] * bool(layer.saturated)
    return " · ".join(parts)


def _check_unit(maps: NeuronMaps, layer: int, unit: int) -> None:
    if not 0 <= layer < len(maps.layers):
        raise ValueError(f"layer must be 0 to {len(maps.layers) - 1} (features first, output last). Got {layer}.")
    if not 0 <= unit < len(maps.layers[layer].values):
        raise ValueError(f"{maps.layers[layer].name} has units 0 to {len(maps.layers[layer].values) - 1}. "
                         f"Got {unit} instead.")


def _edge_weights(maps: NeuronMaps, shown: list[list[int]]) -> list[np.ndarray] | None:
    """The weights between the drawn maps; into a lone two-class output, class 1's row minus class 0's
    (P(class 1) is the sigmoid of that difference of logits, so those are the weights that shape the boundary)."""
    if not maps.weights:
        return None
    matrices = [np.asarray(w, dtype=float) for w in maps.weights]
    if len(matrices) != len(maps.layers) - 1:
        raise ValueError(f"maps.weights needs one matrix between each pair of layers ({len(maps.layers) - 1}). "
                         f"Got {len(matrices)}.")
    columns = list(shown)
    if columns[-1] == [1] and len(maps.layers[-1].values) == 2:
        matrices[-1], columns[-1] = matrices[-1][1:] - matrices[-1][:1], [0]
    return [m[np.ix_(columns[i + 1], columns[i])] for i, m in enumerate(matrices)]


def neuron_maps_figure(maps: NeuronMaps, *, max_units: int = 8, selected: tuple[int, int] | None = None,
                       title: str = "What each unit sees") -> go.Figure:
    """The network drawn with each unit's map at its place: features first, the boundary last, edges by weight.

    A click on a map selects a point of the UNIT_PICKER trace whose customdata is [layer, unit].
    """
    if max_units < 1:
        raise ValueError(f"max_units must be at least 1. Got {max_units} instead.")
    if selected is not None:
        _check_unit(maps, *selected)
    shown = [_shown(layer, max_units) for layer in maps.layers]
    tallest = max(len(units) for units in shown)
    xs = [i * COLUMN for i in range(len(shown))]
    ys = [(len(units) - 1) * ROW / 2 - ROW * np.arange(len(units)) for units in shown]  # each column centred
    fig = new_figure(title, height=int(150 + 78 * tallest), showlegend=False)
    # Scatter lines draw above heatmaps whatever the order: the edges run between the maps' sides, not over them.
    fig.add_traces(edge_traces(xs, ys, _edge_weights(maps, shown), inset=SIDE / 2))
    offsets = np.linspace(-SIDE / 2, SIDE / 2, len(maps.xs))
    picks = []
    for i, (layer, units) in enumerate(zip(maps.layers, shown)):
        for unit, cy in zip(units, ys[i].tolist()):
            fig.add_trace(go.Heatmap(z=layer.values[unit], x=xs[i] + offsets, y=cy + offsets, showscale=False,
                                     hoverinfo="skip", name=f"{layer.name} · {layer.unit_names[unit]}",
                                     **_style(layer, unit)))
            picks.append((xs[i], cy, i, unit, f"{layer.name} · {layer.unit_names[unit]}<br>click to see it large"))
            if layer.role == "features":
                fig.add_annotation(x=xs[i] - SIDE / 2 - 0.08, y=cy, xanchor="right", showarrow=False,
                                   text=layer.unit_names[unit])
            if selected == (i, unit):
                fig.add_shape(type="rect", x0=xs[i] - SIDE / 2, x1=xs[i] + SIDE / 2, y0=cy - SIDE / 2,
                              y1=cy + SIDE / 2, line=dict(color=INK, width=3))
        _column_labels(fig, layer, xs[i], (tallest - 1) * ROW / 2, float(ys[i][-1]), len(units))
    x, y, layer_index, unit, hover = (list(v) for v in zip(*picks))
    fig.add_trace(_frames(x, y))
    # Plain lists: a numpy array would travel as a typed array, and a clicked point's row would come back as
    # an object instead of [layer, unit].
    fig.add_trace(go.Scatter(x=x, y=y, mode="markers", name=UNIT_PICKER, customdata=np.c_[layer_index, unit].tolist(),
                             text=hover, hovertemplate="%{text}<extra></extra>",
                             marker=dict(symbol="square", size=40, color="rgba(0,0,0,0)")))
    hide_axes(fig)
    fig.update_xaxes(range=[-1.6, xs[-1] + SIDE])
    fig.update_yaxes(range=[-(tallest - 1) * ROW / 2 - 1.1, (tallest - 1) * ROW / 2 + 1.3])
    equal_aspect(fig)
    return fig


def _frames(x: list[float], y: list[float]) -> go.Scatter:
    """A thin square around each map: a dead unit's map is blank, and still shows where it sits."""
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]]) * SIDE / 2
    path = [[*(cx + corners[:, 0]), None] for cx in x], [[*(cy + corners[:, 1]), None] for cy in y]
    return go.Scatter(x=sum(path[0], []), y=sum(path[1], []), mode="lines", name="map frames", hoverinfo="skip",
                      line=dict(color="#c7ccd1", width=1))


def _column_labels(fig: go.Figure, layer: LayerMaps, cx: float, top: float, bottom: float, drawn: int) -> None:
    """A column's name, unit count and dead/saturated note above it; '+N more' below when units are left out."""
    note = _health_note(layer)
    if layer.role == "output" and len(layer.values) == 2:
        note = f"P({layer.unit_names[1]}): the boundary"
    small = f"<br><span style='font-size:11px'>{note}</span>" if note else ""
    fig.add_annotation(x=cx, y=top + SIDE / 2 + 0.1, yanchor="bottom", showarrow=False,
                       text=f"<b>{layer.name}</b> ({len(layer.values)}){small}")
    hidden = len(layer.values) - drawn if layer.role != "output" else 0
    if hidden > 0:
        fig.add_annotation(x=cx, y=bottom - SIDE / 2 - 0.1, yanchor="top", showarrow=False, text=f"+{hidden} more",
                           font=dict(size=11, color=INK))


def _class_points(X: np.ndarray, y: np.ndarray, names: list[str], fmt: str = ".2f") -> list[go.Scatter]:
    """One trace of points per class, in the class colour with a white rim (readable on any map)."""
    return [go.Scatter(x=X[y == c, 0], y=X[y == c, 1], mode="markers", name=name,
                       marker=dict(size=6, color=class_color(c), line=dict(width=0.8, color="white")),
                       hovertemplate=f"<b>{name}</b><br>%{{x:{fmt}}}, %{{y:{fmt}}}<extra></extra>")
            for c, name in enumerate(names) if np.any(y == c)]


def _check_labelled(X: np.ndarray, y: np.ndarray, class_names: Sequence[str], what: str) -> tuple:
    """(points, int labels, class names), or ValueError when they do not fit together."""
    X, y = np.asarray(X, dtype=float), np.asarray(y).astype(int)
    if X.ndim != 2 or X.shape[1] != 2 or y.shape != (len(X),):
        raise ValueError(f"{what} must be (n, 2) points with n labels. Got {X.shape} and {y.shape}.")
    names = [str(n) for n in class_names] or [f"class {c}" for c in range(int(y.max(initial=1)) + 1)]
    if y.size and (y.min() < 0 or y.max() >= len(names)):
        raise ValueError(f"{what} has labels {int(y.min())}..{int(y.max())} but {len(names)} class names.")
    return X, y, names


def _large_map_height(n_names: int) -> int:
    """The px height of a large neuron map whose legend has `n_names` entries: its square plot fills a half column
    of a 1024-px page, with no room to spare above or below it (a wider column centres it, room to its sides)."""
    rows = -(-n_names // NAMES_A_ROW) if n_names > 1 else 0  # Plotly shows no legend for one entry
    above = LEGEND_TOP + LEGEND_ROW * rows if rows else LARGE_MAP_LAYOUT["margin"]["t"]
    return above + LARGE_MAP_SIDE + LARGE_MAP_LAYOUT["margin"]["b"]


def neuron_map_figure(maps: NeuronMaps, layer: int, unit: int, *, X: np.ndarray | None = None,
                      y: np.ndarray | None = None, class_names: Sequence[str] = (), title: str | None = None,
                      units: Units = None) -> go.Figure:
    """One unit's output over the plane, large, on the same colours as its small map, the data on top.

    `units` (Dataset.units) puts the plane's axes and X in your own points' units."""
    _check_unit(maps, layer, unit)
    chosen, fmt = maps.layers[layer], coordinate_format(units)
    maps = grid_in_units(maps, units)  # NeuronMaps has xs and ys like a BoundaryGrid
    name = f"{chosen.name} · {chosen.unit_names[unit]}"
    points: list[go.Scatter] = []
    if X is not None and y is not None:
        X, y, names = _check_labelled(X, y, class_names, "X")
        points = _class_points(to_units(X, units), y, names, fmt)
    fig = new_figure(title or name, height=_large_map_height(len(points)), **LARGE_MAP_LAYOUT)
    fig.add_trace(go.Heatmap(
        z=chosen.values[unit], x=maps.xs, y=maps.ys, zsmooth=SMOOTH, name=name, **_style(chosen, unit),
        colorbar=LARGE_MAP_COLORBAR,
        hovertemplate=f"x = %{{x:{fmt}}}<br>y = %{{y:{fmt}}}<br>output = %{{z:.3f}}<extra></extra>"))
    fig.add_traces(points)
    fig.update_xaxes(title_text="x", range=[float(maps.xs[0]), float(maps.xs[-1])], showgrid=False, zeroline=False)
    fig.update_yaxes(title_text="y", range=[float(maps.ys[0]), float(maps.ys[-1])], showgrid=False, zeroline=False)
    equal_aspect(fig)
    # Narrow, the square plot is shorter than its room: it sits on the axis title and colour bar, not above a gap.
    fig.update_yaxes(scaleratio=aspect_ratio(units), constraintoward="bottom")
    return fig


def axis_ranges(points: np.ndarray, *, padding: float = 0.08) -> tuple[list[float], list[float]]:
    """Padded [low, high] ranges of (n, 2) points: fix a replay's axes to the final frame's."""
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"points must be a non-empty (n, 2) array. Got shape {points.shape} instead.")
    low, high = np.nanmin(points, axis=0), np.nanmax(points, axis=0)
    pad = np.maximum((high - low) * padding, 1e-3)
    return [float(low[0] - pad[0]), float(high[0] + pad[0])], [float(low[1] - pad[1]), float(high[1] + pad[1])]


def hidden_space_figure(space: HiddenSpace, y: np.ndarray, class_names: Sequence[str] = (), *,
                        ranges: tuple[list[float], list[float]] | None = None, title: str | None = None
                        ) -> go.Figure:
    """The data as a hidden layer sees it (its two units, or its first two principal components), by class."""
    fig = new_figure(title or f"Hidden layer {space.layer}: the data as it sees it")
    if len(space.points) == 0:
        return add_hint(fig, "No data to place")
    fig.add_traces(_class_points(*_check_labelled(space.points, y, class_names, "space.points")))
    x_range, y_range = ranges if ranges is not None else (None, None)
    fig.update_xaxes(title_text=space.axis_titles[0], range=x_range, zeroline=False)
    fig.update_yaxes(title_text=space.axis_titles[1], range=y_range, zeroline=False)
    return fig
