"""Inside a digit model: first-layer weight tiles, conv feature maps, attribution overlays and the embedding."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.plots.insight import UNIT_SCALE
from core.plots.style import (
    WRONG,
    add_hint,
    class_color,
    equal_aspect,
    hide_axes,
    house_layout,
    new_figure,
)

if TYPE_CHECKING:
    from core.insight.digits import FeatureMaps

GAP = 2  # pixels between tiles
ASSUMED_WIDTH = 720  # px: a typical chart width in the dashboard, to size a grid's height
WEBGL_ABOVE = 1_000  # points; beyond this SVG markers make the browser sluggish
SMALL_TILE, SMALL_TILE_COLUMNS = 8, 8  # px: weight tiles this small (conv filters) go 8 a row
MAP_COLUMNS = 8  # feature maps a row
MAPS_WIDTH = 460  # px: the feature maps' column at 1024 px (four fifths of the page beside the input digit)
INK_SCALE = [[0.0, "#ffffff"], [1.0, "#6b7178"]]  # the digit drawn as grey ink on white, so colour shows on top
FEATURE_SCALE = "Viridis"
SIDE_LEGEND = dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top", font=dict(size=12))


def _canvas(tiles: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, h, w) -> a canvas of tiles in rows (NaN between) and, per canvas pixel, its tile's index (-1 between)."""
    n, h, w = tiles.shape
    rows = math.ceil(n / columns)
    padded = np.full((rows * columns, h + GAP, w + GAP), np.nan, dtype=np.float32)
    padded[:n, :h, :w] = tiles
    index = np.full(padded.shape, -1, dtype=np.int32)
    index[:n, :h, :w] = np.arange(n)[:, None, None]

    def arrange(a: np.ndarray) -> np.ndarray:  # (rows * columns, H, W) -> (rows * H, columns * W)
        a = a.reshape(rows, columns, h + GAP, w + GAP).transpose(0, 2, 1, 3)
        return a.reshape(rows * (h + GAP), columns * (w + GAP))[:-GAP, :-GAP]

    return arrange(padded), arrange(index)


def _picture_axes(fig: go.Figure, **axes: str) -> None:
    """Row 0 at the top, square pixels, no ticks: for image canvases."""
    fig.update_yaxes(autorange="reversed")
    equal_aspect(fig, **axes)
    hide_axes(fig)


def weight_tiles_figure(tiles: np.ndarray, *, unit_label: str = "unit", columns: int | None = None,
                        max_tiles: int = 128, title: str = "What the first layer learned") -> go.Figure:
    """One tile per unit (or filter) of a first layer's weights, blue positive and orange negative around 0.

    By default 16 tiles a row, or SMALL_TILE_COLUMNS for tiles as small as a conv filter's: 32 filters of 3x3 in
    two rows of 16 were ~20-px specks at 1024 px (QA)."""
    tiles = np.asarray(tiles, dtype=np.float32)
    if tiles.ndim != 3:
        raise ValueError(f"tiles must be a stack of weight images (n, h, w). Got shape {tiles.shape} instead.")
    columns = columns or (SMALL_TILE_COLUMNS if max(tiles.shape[1:]) <= SMALL_TILE else 16)
    if columns < 1 or max_tiles < 1:
        raise ValueError(f"columns and max_tiles must be at least 1. Got {columns} and {max_tiles}.")
    if len(tiles) == 0:
        return add_hint(new_figure(title, height=160), "No weights to show")
    shown = tiles[:max_tiles]
    canvas, index = _canvas(shown, min(columns, len(shown)))
    top = float(np.nanmax(np.abs(shown))) or 1.0  # one symmetric scale: tiles compare, and 0 is white
    scale = min(ASSUMED_WIDTH / canvas.shape[1], 12.0)
    fig = new_figure(title if len(shown) == len(tiles) else f"{title} (first {len(shown)} of {len(tiles)})",
                     height=int(canvas.shape[0] * scale) + 90, margin=dict(l=8, r=8, t=56, b=8))
    fig.add_trace(go.Heatmap(
        z=canvas, customdata=index + 1, colorscale=UNIT_SCALE, zmin=-top, zmax=top, name="weights",
        colorbar=dict(title=dict(text="weight", side="right"), thickness=12, len=0.8),
        hovertemplate=f"{unit_label} %{{customdata}}<br>weight %{{z:.3f}}<extra></extra>"))
    _picture_axes(fig)
    return fig


def feature_maps_figure(layers: Sequence[FeatureMaps], *, max_maps: int = 16, columns: int = MAP_COLUMNS,
                        title: str = "Feature maps") -> go.Figure:
    """Each conv layer's activation maps for one input, in rows of `columns` tiles per layer, titled with name and
    shape. Sized for the page's wide column beside the input digit (MAPS_WIDTH): 16 maps in one row there were
    ~25-px thumbnails at 1024 px (QA)."""
    if max_maps < 1:
        raise ValueError(f"max_maps must be at least 1. Got {max_maps} instead.")
    if not layers:
        return add_hint(new_figure(title, height=160), "No convolution layers to show")
    canvases, titles = [], []
    for layer in layers:
        maps = np.asarray(layer.maps, dtype=np.float32)
        if maps.ndim != 3:
            raise ValueError(f"{layer.name}: maps must be (channels, h, w). Got shape {maps.shape} instead.")
        canvases.append(_canvas(maps[:max_maps], min(columns, max_maps, len(maps)))[0])
        more = f" · first {max_maps} shown" if len(maps) > max_maps else ""
        titles.append(f"{layer.name} · {' × '.join(str(d) for d in maps.shape)}{more}")
    heights = [c.shape[0] * min(MAPS_WIDTH / c.shape[1], 8.0) for c in canvases]
    fig = make_subplots(rows=len(canvases), cols=1, subplot_titles=titles, vertical_spacing=0.25 / len(canvases),
                        row_heights=heights)
    fig.update_layout(house_layout(title, height=int(sum(heights)) + 70 + 40 * len(canvases)),
                      margin=dict(l=8, r=8, t=72, b=8), showlegend=False)
    for row, (canvas, name) in enumerate(zip(canvases, titles), start=1):
        fig.add_trace(go.Heatmap(z=canvas, colorscale=FEATURE_SCALE, showscale=False, name=name,
                                 hovertemplate="activation %{z:.3f}<extra></extra>"), row=row, col=1)
        suffix = "" if row == 1 else str(row)
        equal_aspect(fig, x=f"x{suffix}", y=f"y{suffix}")
    fig.update_yaxes(autorange="reversed")
    hide_axes(fig)
    return fig


def _overlay_scale(values: np.ndarray) -> dict:
    """Transparent at 0, strongest at ±max: blue pushes towards the class, orange away; one-signed maps in blue."""
    top = float(np.nanmax(np.abs(values))) or 1.0
    clear, blue, orange = "rgba(255,255,255,0)", "rgba(8,119,189,0.9)", "rgba(245,147,34,0.9)"
    if np.nanmin(values) < 0:
        return dict(colorscale=[[0.0, orange], [0.5, clear], [1.0, blue]], zmin=-top, zmax=top)
    return dict(colorscale=[[0.0, clear], [1.0, blue]], zmin=0.0, zmax=top)


def attribution_figure(pixels: np.ndarray, attribution: np.ndarray, *, label: str = "attribution",
                       title: str = "Why the model said it") -> go.Figure:
    """An attribution map over the input image: the digit as grey ink, each pixel's push coloured on top."""
    pixels, attribution = np.asarray(pixels, dtype=np.float32), np.asarray(attribution, dtype=np.float32)
    if pixels.ndim != 2 or attribution.shape != pixels.shape:
        raise ValueError(f"pixels and attribution must be (h, w) images of one shape. Got {pixels.shape} and "
                         f"{attribution.shape}.")
    fig = new_figure(title, height=440, margin=dict(l=8, r=8, t=56, b=8))
    fig.add_trace(go.Heatmap(z=pixels, colorscale=INK_SCALE, zmin=0, zmax=1, showscale=False, name="input",
                             hoverinfo="skip"))
    fig.add_trace(go.Heatmap(
        z=attribution, name=label, **_overlay_scale(attribution),
        colorbar=dict(title=dict(text=label, side="right"), thickness=12, len=0.8),
        hovertemplate=f"pixel (%{{x}}, %{{y}})<br>{label} %{{z:.3g}}<extra></extra>"))
    _picture_axes(fig)
    return fig


def embedding_figure(points: np.ndarray, y_true: np.ndarray, predicted: np.ndarray, class_names: Sequence[str],
                     *, method: str = "PCA", title: str | None = None) -> go.Figure:
    """Inputs placed in 2-D, coloured by true class, each mistake ringed; customdata is the input's index."""
    points = np.asarray(points, dtype=np.float32)
    y_true, predicted = np.asarray(y_true).astype(int), np.asarray(predicted).astype(int)
    if points.ndim != 2 or points.shape[1] != 2 or not y_true.shape == predicted.shape == (len(points),):
        raise ValueError(f"points must be (n, 2) with n true and n predicted labels. Got {points.shape}, "
                         f"{y_true.shape} and {predicted.shape}.")
    names = [str(name) for name in class_names]
    if not names:
        raise ValueError("class_names must name every class (e.g. the dataset's class_names).")
    if len(points) and max(y_true.max(), predicted.max()) >= len(names):
        raise ValueError(f"labels go up to {max(y_true.max(), predicted.max())} but only {len(names)} class "
                         "names were given.")
    # The legend in a column right of the plot: above it (the house place), eleven entries wrap to two or three
    # rows in a narrow chart (1024-px screens) and climb over the title, which stays at the top.
    fig = new_figure(title or f"Test digits in the last hidden layer ({method})", legend=SIDE_LEGEND)
    scatter = go.Scattergl if len(points) > WEBGL_ABOVE else go.Scatter
    guess = np.array(names, dtype=object)[predicted] if len(points) else np.array([], dtype=object)
    for c, name in enumerate(names):
        keep = np.flatnonzero(y_true == c)
        fig.add_trace(scatter(
            x=points[keep, 0], y=points[keep, 1], mode="markers", name=name, customdata=keep, text=guess[keep],
            marker=dict(size=5, color=class_color(c), opacity=0.8),
            hovertemplate=f"#%{{customdata}} · true {name} · predicted %{{text}}<extra></extra>"))
    wrong = np.flatnonzero(y_true != predicted)
    fig.add_trace(scatter(
        x=points[wrong, 0], y=points[wrong, 1], mode="markers", name=f"mistakes ({len(wrong)})", customdata=wrong,
        text=guess[wrong], marker=dict(size=9, symbol="circle-open", color=WRONG, line=dict(width=1.5)),
        hovertemplate="#%{customdata} · predicted %{text}<extra>mistake</extra>"))
    fig.update_xaxes(title_text=f"{method} 1", zeroline=False)
    fig.update_yaxes(title_text=f"{method} 2", zeroline=False)
    return fig
