"""The network as a drawing (columns of units, edges coloured by weight) and the activation functions."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from core.plots.style import BLUE, INK, NEUTRAL, ORANGE, class_color, equal_aspect, hide_axes, new_figure

WEIGHT_BINS = 4  # edges are grouped by sign x this many magnitude bands: at most 8 edge traces
SMALL_WEIGHT = 0.01  # edges with |w| below this are drawn faded (an L1 penalty drives many there)
HOVER_NAME = "weight values"  # the invisible markers at the edges' midpoints that tell each weight on hover
HEADING_LINE_PX = 16  # one line of a column heading (12-px text)
STAGGER_AFTER = 4  # more columns than this: every other heading one step higher, so neighbours never touch


def _shown_units(size: int, max_nodes: int) -> tuple[np.ndarray, int | None]:
    """Which units of a layer are drawn, and after how many of them the '⋮' gap sits (None: all drawn)."""
    if size <= max_nodes:
        return np.arange(size), None
    head = math.ceil(max_nodes / 2)
    return np.concatenate([np.arange(head), np.arange(size - (max_nodes - head), size)]), head


def _column_y(count: int, gap_after: int | None) -> np.ndarray:
    """Vertical positions of a column's drawn units, top to bottom, centred on 0, one empty slot at the gap."""
    slots = np.arange(count, dtype=float)
    if gap_after is not None:
        slots[gap_after:] += 1
    return (slots.max() if count else 0) / 2 - slots


def _segments(start: np.ndarray, end: np.ndarray) -> list:
    """Edge endpoints -> [s0, e0, None, s1, e1, None, ...]: many lines in one trace."""
    out = np.empty(3 * len(start), dtype=object)
    out[0::3], out[1::3] = start, end  # the third of each triple stays None: a break in the line
    return out.tolist()


def _check_weights(sizes: list[int], weights: Sequence[np.ndarray]) -> list[np.ndarray]:
    expected = [(sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1)]
    got = [tuple(np.shape(w)) for w in weights]
    if got != expected:
        raise ValueError(f"weights must be (out, in) matrices of shapes {expected} for these layers. Got {got}.")
    return [np.asarray(w, dtype=float) for w in weights]


def _edge_traces(x0, y0, x1, y1, w: np.ndarray | None) -> list[go.Scatter]:
    """Few traces for many edges: one grey set, or by sign and |w| band (width and opacity grow with |w|)."""
    if w is None:
        return [go.Scatter(x=_segments(x0, x1), y=_segments(y0, y1), mode="lines", name="connections",
                           line=dict(color=NEUTRAL, width=0.8), opacity=0.5, hoverinfo="skip", showlegend=False)]
    finite = np.isfinite(w)  # one NaN weight (a diverged run) must not blank every other edge
    magnitude = np.where(finite, np.abs(w), 0.0)
    level = magnitude / (magnitude.max() or 1.0)
    band = np.minimum((level * WEIGHT_BINS).astype(int), WEIGHT_BINS - 1)
    traces = [] if finite.all() else [go.Scatter(
        x=_segments(x0[~finite], x1[~finite]), y=_segments(y0[~finite], y1[~finite]), mode="lines",
        name="not a number", line=dict(color=NEUTRAL, width=0.8, dash="dot"), hoverinfo="skip")]
    small = finite & (magnitude < SMALL_WEIGHT)  # faded: weights L1 has (nearly) switched off
    if small.any():
        traces.append(go.Scatter(x=_segments(x0[small], x1[small]), y=_segments(y0[small], y1[small]),
                                 mode="lines", name=f"|w| < {SMALL_WEIGHT:g}", hoverinfo="skip", opacity=0.12,
                                 line=dict(color=NEUTRAL, width=0.5, dash="dot")))
    for sign, color, name in ((1, BLUE, "positive weight"), (-1, ORANGE, "negative weight")):
        first = True
        for b in range(WEIGHT_BINS):
            keep = finite & ~small & (band == b) & ((w >= 0) if sign > 0 else (w < 0))
            if not keep.any():
                continue
            strength = (b + 0.5) / WEIGHT_BINS
            traces.append(go.Scatter(
                x=_segments(x0[keep], x1[keep]), y=_segments(y0[keep], y1[keep]), mode="lines", name=name,
                legendgroup=name, showlegend=first, hoverinfo="skip", opacity=0.25 + 0.7 * strength,
                line=dict(color=color, width=0.4 + 3.6 * strength),
            ))
            first = False
    return traces


def edge_traces(xs: Sequence[float], ys: Sequence[np.ndarray], weights: Sequence[np.ndarray] | None, *,
                inset: float = 0.0) -> list[go.Scatter]:
    """Every edge between consecutive columns (column i at x = xs[i], its drawn units at heights ys[i]).

    weights[i] is the (units drawn in column i+1, units drawn in column i) matrix between them; None draws grey
    edges. Edges start `inset` right of their unit and end `inset` left of it (units drawn as boxes that wide).
    """
    if weights is not None:
        expected = [(len(ys[i + 1]), len(ys[i])) for i in range(len(ys) - 1)]
        got = [tuple(np.shape(w)) for w in weights]
        if got != expected:
            raise ValueError(f"weights must be matrices of the drawn units, shapes {expected}. Got {got}.")
    x0, y0, x1, y1 = [], [], [], []
    for i in range(len(ys) - 1):
        src, dst = np.meshgrid(np.arange(len(ys[i])), np.arange(len(ys[i + 1])))  # (m_out, m_in) each
        x0.append(np.full(src.size, float(xs[i]) + inset))
        x1.append(np.full(src.size, float(xs[i + 1]) - inset))
        y0.append(np.asarray(ys[i], dtype=float)[src.ravel()])
        y1.append(np.asarray(ys[i + 1], dtype=float)[dst.ravel()])
    w = None if weights is None else np.concatenate([np.asarray(m, dtype=float).ravel() for m in weights])
    return _edge_traces(*(np.concatenate(a) for a in (x0, y0, x1, y1)), w)


def _layer_name(i: int, n_layers: int) -> str:
    return "Input" if i == 0 else "Output" if i == n_layers - 1 else f"Hidden {i}"


def _input_labels(sizes: list[int], input_names: Sequence[str]) -> list[str]:
    """The first column's labels: the names given (e.g. the chosen features), else x and y for 2 inputs."""
    if len(input_names):
        if len(input_names) != sizes[0]:
            raise ValueError(f"input_names must name each of the {sizes[0]} inputs. Got {len(input_names)} names.")
        return [str(name) for name in input_names]
    return ["x", "y"] if sizes[0] == 2 else []


def network_figure(layer_sizes: Sequence[int], weights: Sequence[np.ndarray] | None = None, *,
                   biases: Sequence[np.ndarray] | None = None, max_nodes: int = 16, class_names: Sequence[str] = (),
                   input_names: Sequence[str] = (), layer_notes: Sequence[str] = (),
                   title: str = "The network") -> go.Figure:
    """Units as columns of circles (input to output), every drawn edge coloured by its weight's sign.

    With weights, an invisible marker at each drawn edge's midpoint (trace HOVER_NAME) tells its weight on hover:
    Plotly lines report hover only at their ends. biases (one vector per layer after the input) go in the units'
    hover. input_names label the input column (the chosen features of 2-D data: "x²", "sin x", ...);
    layer_notes, one per column ("" for none), go under the column's heading (e.g. "2 dead").
    """
    sizes = [int(s) for s in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"layer_sizes needs at least an input and an output layer of >= 1 unit. Got {sizes}.")
    if max_nodes < 2:
        raise ValueError(f"max_nodes must be at least 2. Got {max_nodes} instead.")
    if len(layer_notes) not in (0, len(sizes)):
        raise ValueError(f"layer_notes needs one note per layer ({len(sizes)}). Got {len(layer_notes)}.")
    labels = _input_labels(sizes, input_names)
    matrices = _check_weights(sizes, weights) if weights is not None else None
    vectors = _check_biases(sizes, biases) if biases is not None else None
    shown = [_shown_units(size, max_nodes) for size in sizes]
    ys = [_column_y(len(units), gap) for units, gap in shown]
    drawn = None if matrices is None else [m[np.ix_(shown[i + 1][0], shown[i][0])] for i, m in enumerate(matrices)]
    names = _unit_names(sizes, shown, class_names, labels)
    fig = new_figure(title, height=int(min(max(300, 140 + 24 * max(len(y) for y in ys)), 620)))
    fig.add_traces(edge_traces(list(range(len(sizes))), ys, drawn))
    if drawn is not None:
        fig.add_trace(_weight_hover_trace(ys, drawn, names))
    fig.add_trace(_node_trace(sizes, shown, ys, names, labels, vectors))
    names = [_layer_name(i, len(sizes)) for i in range(len(sizes))]
    names[0] = "Features" if len(input_names) else names[0]
    headroom = _add_headings(fig, names, sizes, shown, ys, list(layer_notes) or [""] * len(sizes))
    hide_axes(fig)
    fig.update_xaxes(range=[-0.7, len(sizes) - 0.3])
    fig.update_yaxes(range=[float(min(y.min() for y in ys)) - 1.4, max(float(y.max()) for y in ys) + 0.7])
    # The title on top, the column headings in the margin under it, the legend below the drawing: at 1024 px the
    # legend above the plot wrapped onto the title.
    fig.update_layout(margin=dict(t=44 + headroom, b=64),
                      legend=dict(orientation="h", yanchor="top", yref="paper", y=-0.02, xanchor="left", x=0))
    return fig



def _add_headings(fig: go.Figure, names: list[str], sizes: list[int], shown: list[tuple[np.ndarray, int | None]],
                  ys: list[np.ndarray], notes: list[str]) -> int:
    """Each column's name, size and note just above the drawing; a '⋮' and the full count where units were left
    out. Returns the height (px) the headings take above the plot area."""
    lines = 3 if any(notes) else 2  # the name and the size on lines of their own: a narrow column fits them
    stagger = lines * HEADING_LINE_PX if len(names) > STAGGER_AFTER else 0
    for i, (name, size, (_, gap), note) in enumerate(zip(names, sizes, shown, notes)):
        small = f"<br><span style='font-size:11px'>{note}</span>" if note else ""
        fig.add_annotation(x=i, y=1, yref="paper", yanchor="bottom", yshift=stagger if i % 2 else 0,
                           text=f"<b>{name}</b><br>({size:,}){small}", showarrow=False, font=dict(size=12))
        if gap is not None:
            fig.add_annotation(x=i, y=(ys[i][gap - 1] + ys[i][gap]) / 2, text="⋮", showarrow=False,
                               font=dict(size=18, color=INK), bgcolor="white")
            fig.add_annotation(x=i, y=float(ys[i].min()) - 0.9, text=f"… {size:,} units", showarrow=False,
                               font=dict(size=11, color=INK))
    return lines * HEADING_LINE_PX + stagger


def _unit_names(sizes: list[int], shown: list[tuple[np.ndarray, int | None]], class_names: Sequence[str],
                input_labels: list[str]) -> list[list[str]]:
    """Each drawn unit's name, column by column: "input: x", "hidden 1: unit 3", "output: cat"."""
    last, names = len(sizes) - 1, []
    for i, (units, _) in enumerate(shown):
        column = []
        for unit in units.tolist():
            if i == last:
                column.append(f"output: {class_names[unit] if unit < len(class_names) else f'class {unit}'}")
            else:
                label = input_labels[unit] if i == 0 and input_labels else f"unit {unit + 1}"
                column.append(f"{_layer_name(i, len(sizes)).lower()}: {label}")
        names.append(column)
    return names


def _check_biases(sizes: list[int], biases: Sequence[np.ndarray]) -> list[np.ndarray]:
    expected = [(size,) for size in sizes[1:]]
    got = [tuple(np.shape(b)) for b in biases]
    if got != expected:
        raise ValueError(f"biases must be one vector per layer after the input, shapes {expected}. Got {got}.")
    return [np.asarray(b, dtype=float) for b in biases]


def _weight_hover_trace(ys: list[np.ndarray], drawn: list[np.ndarray], names: list[list[str]]) -> go.Scatter:
    """Invisible markers at the drawn edges' midpoints, each telling its edge's weight on hover.

    Edges that cross at their common midpoint share one marker that lists each of them.
    """
    texts: dict[tuple[float, float], list[str]] = {}
    for i, w in enumerate(drawn):  # w: (units drawn in column i+1, units drawn in column i)
        for dst, src in np.ndindex(w.shape):
            at = (i + 0.5, round(float(ys[i][src] + ys[i + 1][dst]) / 2, 6))
            texts.setdefault(at, []).append(f"{names[i][src]} → {names[i + 1][dst]}<br>weight = {w[dst, src]:.4g}")
    points = list(texts)
    return go.Scatter(
        x=[x for x, _ in points], y=[y for _, y in points], mode="markers", name=HOVER_NAME, showlegend=False,
        marker=dict(size=10, color="rgba(0,0,0,0)"), hovertext=["<br>".join(texts[p]) for p in points],
        hovertemplate="%{hovertext}<extra></extra>",
    )


def _node_trace(sizes: list[int], shown: list[tuple[np.ndarray, int | None]], ys: list[np.ndarray],
                names: list[list[str]], input_labels: list[str], biases: list[np.ndarray] | None) -> go.Scatter:
    """Every drawn unit in one trace: inputs light grey, hidden white, outputs in their class colour; a unit's
    hover names it (customdata) and, given biases, tells its bias."""
    last = len(sizes) - 1
    xs, yy, fill, hover, text = [], [], [], [], []
    for i, ((units, _), y) in enumerate(zip(shown, ys)):
        for k, (unit, pos) in enumerate(zip(units.tolist(), y.tolist())):
            name = names[i][k]
            xs.append(i)
            yy.append(pos)
            fill.append(class_color(unit) if i == last else "#e9edf1" if i == 0 else "white")
            text.append(name.split(": ", 1)[1] if i == last or (i == 0 and input_labels) else "")
            bias = f"<br>bias = {biases[i - 1][unit]:.4g}" if biases is not None and i > 0 else ""
            hover.append(name + bias)
    size = max(8, min(20, int(320 / max(len(y) for y in ys))))
    return go.Scatter(
        x=xs, y=yy, mode="markers+text", text=text, textposition=["middle left" if x == 0 else "middle right"
                                                                    for x in xs],
        marker=dict(size=size, color=fill, line=dict(color=INK, width=1.2)), customdata=[n for c in names for n in c],
        hovertext=hover, name="units", hovertemplate="%{hovertext}<extra></extra>", showlegend=False,
        cliponaxis=False,
    )


def activation_figure(names: Sequence[str], selected: str, x: np.ndarray, curves: Mapping[str, np.ndarray], *,
                      title: str | None = None) -> go.Figure:
    """Every activation function over x, the selected one bold and the others faint behind it."""
    if selected not in names:
        raise ValueError(f"selected must be one of {', '.join(names)}. Got {selected!r} instead.")
    x = np.asarray(x)
    for name in names:
        if name not in curves or np.shape(curves[name]) != x.shape:
            raise ValueError(f"curves[{name!r}] must be the activation evaluated at x, shape {x.shape}.")
    fig = new_figure(title or f"Activation: {selected}", height=380)
    for name in [n for n in names if n != selected] + [selected]:  # the selected one last, on top
        bold = name == selected
        fig.add_trace(go.Scatter(
            x=x, y=np.asarray(curves[name]), mode="lines", name=name, opacity=1.0 if bold else 0.45,
            line=dict(color=BLUE if bold else NEUTRAL, width=3.5 if bold else 1.3),
            hovertemplate=f"{name}(%{{x:.2f}}) = %{{y:.3f}}<extra></extra>",
        ))
    # One name a line beside the plot: a dozen names across a narrow column wrapped onto the title and the axis.
    fig.update_layout(legend=dict(orientation="v", yanchor="top", yref="paper", y=1, xanchor="left", x=1.02))
    fig.update_xaxes(title_text="input", zeroline=True, zerolinecolor="#c7ccd1")
    fig.update_yaxes(title_text="output", zeroline=True, zerolinecolor="#c7ccd1")
    equal_aspect(fig)
    return fig
