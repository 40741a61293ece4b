"""2-D point clouds and the decision boundary under them.

The traces are plain dicts, built into a figure without Plotly's validation (style.figure; the tests validate
them): the boundary and its points are redrawn on every slider move."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from core.data.drawn import Units, to_units
from core.plots.style import (
    DIVERGING,
    INK,
    WRONG,
    check_names,
    class_color,
    class_rgb,
    figure,
    house_layout,
    rgb_string,
    tint,
)

if TYPE_CHECKING:
    from core.boundary import BoundaryGrid

PROBE_NAME = "probe"  # the clickable lattice's trace name
WEBGL_ABOVE = 1_000  # points; beyond this SVG markers make the browser sluggish
# Probability maps are smoothed by the browser's own image scaling ("fast"), which looks the same on an evenly
# spaced grid as Plotly's per-pixel interpolation ("best") and cost a tab ~50 ms less per redraw here.
SMOOTH = "fast"
# Multi-class boundary: a cell's colour runs from this faint tint (a tie) to this strong one (certain).
WEAKEST, STRONGEST = 0.12, 0.62


def coordinate_format(units: Units) -> str:
    """The hover format of a coordinate: 2 decimals on the standard scale, 4 significant digits in your units."""
    return ".2f" if units is None else ".4~g"


def aspect_ratio(units: Units) -> float:
    """The y axis's scaleratio against x that keeps the standardised plane's shape (the model's view) in units."""
    if units is None:
        return 1.0
    std = np.asarray(units[1], dtype=np.float64)
    return float(std[0] / std[1])


def grid_in_units(grid: BoundaryGrid, units: Units) -> BoundaryGrid:
    """The same probabilities on axes in the user's own units (an affine map: the grid stays regular)."""
    if units is None:
        return grid
    mean, std = (np.asarray(a, dtype=np.float64) for a in units)
    return replace(grid, xs=grid.xs * std[0] + mean[0], ys=grid.ys * std[1] + mean[1])


def _points_trace(X: np.ndarray, name: str, color: str, *, gl: bool, hollow: bool = False,
                  group: str | None = None, fmt: str = ".2f") -> dict:
    """One class's points (a scatter trace dict): filled circles, or white-filled rings for held-out points."""
    marker = dict(size=7, color="white" if hollow else color, line=dict(width=1.6 if hollow else 0.8,
                  color=color if hollow else "white"))
    return dict(type="scattergl" if gl else "scatter", x=X[:, 0], y=X[:, 1], mode="markers", name=name,
                legendgroup=group, marker=marker,
                hovertemplate=f"<b>{name}</b><br>x = %{{x:{fmt}}}<br>y = %{{y:{fmt}}}<extra></extra>")


def _check_points(X: np.ndarray, y: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"{what} must be 2-D points of shape (n, 2). Got {X.shape} instead.")
    if y.shape != (len(X),):
        raise ValueError(f"{what} has {len(X)} points but its labels have shape {y.shape}.")
    return X, y.astype(int)


def _check_labels(y: np.ndarray, n_classes: int, what: str, *, source: str) -> None:
    """Every label must have a class (a point without one would silently vanish from the figure)."""
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{what} holds labels {int(y.min())}..{int(y.max())}, but {source} only labels "
                         f"0..{n_classes - 1}.")


def _default_names(class_names: Sequence[str], *labels: np.ndarray) -> list[str]:
    if len(class_names):
        return [str(name) for name in class_names]
    top = max((int(y.max()) for y in labels if y.size), default=0)
    return [f"class {c}" for c in range(max(top + 1, 2))]


def _point_axes(x_range: list[float] | None = None, y_range: list[float] | None = None, units: Units = None,
                **both: object) -> dict:
    """The layout of the plane's axes: titled x and y, one unit as long on both (in your units: the model's
    view), `both` set on each axis."""
    xaxis = dict(title=dict(text="x"), zeroline=False, constrain="domain", **both)
    yaxis = dict(title=dict(text="y"), zeroline=False, constrain="domain", scaleanchor="x",
                 scaleratio=aspect_ratio(units), **both)
    if x_range is not None:
        xaxis["range"] = x_range
    if y_range is not None:
        yaxis["range"] = y_range
    return {"xaxis": xaxis, "yaxis": yaxis}


SPLIT_MARKS = {"train": "● train", "validation": "◆ validation", "test": "○ test"}  # the scatter's legend title


def scatter_figure(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray | None = None,
                   y_test: np.ndarray | None = None, class_names: Sequence[str] = (), *,
                   X_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
                   title: str = "The data") -> go.Figure:
    """2-D points coloured by class: training points filled, validation points as filled diamonds, test points
    as rings. The legend has one entry per class (a click hides its points in every split), and its title says
    which mark is which split: one entry per class and split made 18 for six classes."""
    X_train, y_train = _check_points(X_train, y_train, "X_train")
    splits = [("train", X_train, y_train)]
    if X_val is not None and y_val is not None and len(y_val):
        splits.append(("validation", *_check_points(X_val, y_val, "X_val")))
    if X_test is not None and y_test is not None:
        splits.append(("test", *_check_points(X_test, y_test, "X_test")))
    names = _default_names(class_names, *(y for _, _, y in splits))
    for split, _, y in splits:
        _check_labels(y, len(names), f"y_{split}", source=f"the {len(names)} class names cover")
    gl = sum(len(X) for _, X, _ in splits) > WEBGL_ABOVE
    traces = [
        _points_trace(X[y == c], f"{name} · {split}", class_color(c), gl=gl, hollow=split == "test", group=name)
        for c, name in enumerate(names) for split, X, y in splits if np.any(y == c)
    ]
    for trace in traces:
        trace["showlegend"] = False
        if trace["name"].endswith(" · validation"):
            trace["marker"]["symbol"] = "diamond"
    present = [(c, name) for c, name in enumerate(names) if any(np.any(y == c) for _, _, y in splits)]
    keys = [dict(type="scattergl" if gl else "scatter", x=[None], y=[None], mode="markers", name=name,
                 legendgroup=name, hoverinfo="skip", marker=dict(size=9, color=class_color(c)))
            for c, name in present]  # legend entries only
    layout = {**house_layout(title), **_point_axes()}
    layout["legend"] = {**layout["legend"], "title": dict(text=" · ".join(SPLIT_MARKS[s] for s, _, _ in splits))}
    return figure([*traces, *keys], layout)


def _two_class_layers(grid: BoundaryGrid, names: list[str], fmt: str = ".2f", *,
                      discretize: bool = False) -> list[dict]:
    """P(class 1) on a diverging map (or, discretized, each side of 0.5 in its class's full colour), and the
    P = 0.5 line where the decision flips: a heatmap and a contour trace dict."""
    p1 = grid.proba[..., 1]  # (r, r)
    label = f"P({names[1]})"
    heat = dict(
        type="heatmap", x=grid.xs, y=grid.ys, z=p1, zmin=0, zmax=1, zsmooth=SMOOTH, colorscale=DIVERGING, name=label,
        colorbar=dict(title=dict(text=label, side="right"), tickformat=".0%", thickness=12, len=0.7, x=1.02),
        hovertemplate=f"x = %{{x:{fmt}}}<br>y = %{{y:{fmt}}}<br>{label} = %{{z:.0%}}<extra></extra>",
    )
    if discretize:  # the colour says only the decision; the hover still tells the probability
        heat.update(z=(p1 >= 0.5).astype(np.float32), customdata=p1.astype(np.float32), zsmooth=False,
                    showscale=False, hovertemplate=f"x = %{{x:{fmt}}}<br>y = %{{y:{fmt}}}<br>{label} = "
                                                   "%{customdata:.0%}<extra></extra>")
    line = dict(
        type="contour", x=grid.xs, y=grid.ys, z=p1, contours=dict(start=0.5, end=0.5, size=1, coloring="none"),
        line=dict(color=INK, width=2), showscale=False, hoverinfo="skip", name="P = 0.5", showlegend=False,
    )
    return [heat, line]


def _multi_class_layer(grid: BoundaryGrid, fmt: str = ".2f", *, discretize: bool = False) -> dict:
    """Each cell in its predicted class's colour, stronger the more confident the model is (discretized: all
    at full strength): a heatmap trace dict."""
    proba = grid.proba
    n = proba.shape[2]
    confidence = proba.max(axis=2)  # (r, r), from 1/n (a tie) to 1
    certainty = np.ones_like(confidence) if discretize else np.clip((confidence - 1 / n) / (1 - 1 / n), 0, 1)
    # One number per cell: integer part = class, fraction = certainty; a colour scale with one
    # faint-to-strong band per class turns it into colour in the browser, with no RGB image to ship.
    z = (grid.predicted + 0.01 + 0.98 * certainty).astype(np.float32)
    rgb = class_rgb(n)
    scale = []
    for c in range(n):
        scale += [[c / n, rgb_string(tint(rgb[c], WEAKEST))], [(c + 1) / n, rgb_string(tint(rgb[c], STRONGEST))]]
    return dict(
        type="heatmap", x=grid.xs, y=grid.ys, z=z, zmin=0, zmax=n, colorscale=scale, showscale=False,
        name="predicted class", customdata=confidence.astype(np.float32),
        hovertemplate=f"x = %{{x:{fmt}}}<br>y = %{{y:{fmt}}}<br>confidence %{{customdata:.0%}}<extra></extra>",
    )


def _check_grid(grid: BoundaryGrid) -> None:
    shape, expected = grid.proba.shape, (len(grid.ys), len(grid.xs))
    if grid.proba.ndim != 3 or shape[:2] != expected or shape[2] < 2:
        raise ValueError(f"grid.proba must have shape {expected + ('n_classes >= 2',)}. Got {shape} instead.")


def _probe_trace(grid: BoundaryGrid, side: int, fmt: str) -> dict:
    """An invisible side x side lattice over the grid: a click anywhere selects the lattice point under it."""
    xs = np.linspace(grid.xs[0], grid.xs[-1], side)
    ys = np.linspace(grid.ys[0], grid.ys[-1], side)
    gx, gy = np.meshgrid(xs, ys)
    return dict(
        type="scatter", x=gx.ravel(), y=gy.ravel(), mode="markers", name=PROBE_NAME, showlegend=False,
        marker=dict(size=9, color="rgba(0,0,0,0)"), unselected=dict(marker=dict(opacity=0)),
        hovertemplate=f"click to try x = %{{x:{fmt}}}, y = %{{y:{fmt}}}<extra></extra>",
    )


def _data_traces(X: np.ndarray, y: np.ndarray, names: list[str], misclassified: np.ndarray | None,
                 fmt: str) -> list:
    """The points by class over the boundary, and a cross on each mistake."""
    gl = len(X) > WEBGL_ABOVE
    traces = [_points_trace(X[y == c], name, class_color(c), gl=gl, fmt=fmt) for c, name in enumerate(names)
              if np.any(y == c)]
    if misclassified is not None:
        wrong = np.asarray(misclassified, dtype=bool)
        if wrong.shape != y.shape:
            raise ValueError(f"misclassified must be a mask of shape {y.shape}. Got {wrong.shape} instead.")
        traces.append(dict(
            type="scattergl" if gl else "scatter", x=X[wrong, 0], y=X[wrong, 1], mode="markers",
            name=f"misclassified ({int(wrong.sum())})",
            marker=dict(symbol="x-thin", size=11, line=dict(width=2.5, color=WRONG)),
            hovertemplate=f"<b>misclassified</b><br>x = %{{x:{fmt}}}<br>y = %{{y:{fmt}}}<extra></extra>",
        ))
    return traces


def boundary_figure(grid: BoundaryGrid, X: np.ndarray | None = None, y: np.ndarray | None = None,
                    class_names: Sequence[str] = (), *, misclassified: np.ndarray | None = None,
                    X_test: np.ndarray | None = None, y_test: np.ndarray | None = None, discretize: bool = False,
                    probe_grid: int = 0, units: Units = None, title: str = "Decision boundary") -> go.Figure:
    """The model's class probabilities over the plane, with points (and their mistakes) on top.

    X_test, y_test add held-out points as rings ("<class> · test" traces). `discretize` colours only the decision
    (each class's region in full), as Playground's "Discretize output"; the hover still tells the probability.
    probe_grid > 1 adds an invisible probe_grid x probe_grid lattice of clickable points (last trace,
    named PROBE_NAME), so a chart that reports point selections can tell where the user clicked.
    `units` (Dataset.units, for your own points) draws the standardised grid and X in the user's own units.
    """
    if probe_grid < 0 or probe_grid == 1:
        raise ValueError(f"probe_grid must be 0 (off) or at least 2. Got {probe_grid} instead.")
    _check_grid(grid)
    grid, fmt = grid_in_units(grid, units), coordinate_format(units)
    n_classes = grid.proba.shape[2]
    names = check_names(class_names, n_classes, "grid.proba") if len(class_names) else [
        f"class {c}" for c in range(n_classes)]
    traces: list = _two_class_layers(grid, names, fmt, discretize=discretize) if n_classes == 2 else [
        _multi_class_layer(grid, fmt, discretize=discretize)]
    if X is not None and y is not None:
        X, y = _check_points(X, y, "X")
        _check_labels(y, n_classes, "y", source=f"the grid's {n_classes} classes cover")
        traces += _data_traces(to_units(X, units), y, names, misclassified, fmt)
    if X_test is not None and y_test is not None:
        X_test, y_test = _check_points(X_test, y_test, "X_test")
        _check_labels(y_test, n_classes, "y_test", source=f"the grid's {n_classes} classes cover")
        X_test = to_units(X_test, units)
        traces += [_points_trace(X_test[y_test == c], f"{name} · test", class_color(c), hollow=True, group=name,
                                 gl=len(X_test) > WEBGL_ABOVE, fmt=fmt) for c, name in enumerate(names)
                   if np.any(y_test == c)]
    if probe_grid:
        for trace in traces:  # a click selects one probe point: keep everything else at full strength
            if trace["type"] in ("scatter", "scattergl"):
                trace["unselected"] = dict(marker=dict(opacity=1))
        traces.append(_probe_trace(grid, probe_grid, fmt))
    dx = (grid.xs[-1] - grid.xs[0]) / max(len(grid.xs) - 1, 1) / 2  # cells are centred on xs, ys
    dy = (grid.ys[-1] - grid.ys[0]) / max(len(grid.ys) - 1, 1) / 2
    axes = _point_axes([float(grid.xs[0] - dx), float(grid.xs[-1] + dx)],
                       [float(grid.ys[0] - dy), float(grid.ys[-1] + dy)], units, showgrid=False)
    return figure(traces, {**house_layout(title), **axes})
