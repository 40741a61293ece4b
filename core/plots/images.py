"""Pictures: a grid of small digit images with captions, and the steps of preparing an upload."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.plots.style import GRAYS, INK, NEUTRAL, add_hint, equal_aspect, hide_axes, house_layout, new_figure

GAP = 3  # pixels between tiles
CAPTION = 10  # pixel rows above each tile for its caption (on a 28-pixel tile)
ASSUMED_WIDTH = 720  # px: a typical chart width in the dashboard, to size the grid's height
MAX_STEP_SIDE = 192  # step images are shown at most this many pixels across: enough for a thumbnail
STEP_COLUMNS = 3  # steps per row: six titles side by side would run into each other in a page column
STEP_CELL = 110  # px: each step's cell is this tall; at 1024 px its column (~330 px) makes it ~96 px wide
STEP_TITLE = 40  # px above each row for its titles: two lines of STEP_FONT and some air
STEP_FONT = 12  # px: step titles
STEP_LINE = 11  # characters: a longer title breaks at a space ("Background removed" was cut at 1024 px)


def _tiles(images: np.ndarray, columns: int) -> np.ndarray:
    """(n, h, w) -> one (rows * (CAPTION + h), columns * (w + GAP) - GAP) canvas; NaN (transparent) between."""
    n, h, w = images.shape
    rows = math.ceil(n / columns)
    tiles = np.full((rows * columns, CAPTION + h, w + GAP), np.nan, dtype=np.float32)
    tiles[:n, CAPTION:, :w] = images
    # (rows, columns, H, W) -> (rows, H, columns, W) -> rows of tiles side by side
    canvas = tiles.reshape(rows, columns, CAPTION + h, w + GAP).transpose(0, 2, 1, 3)
    return canvas.reshape(rows * (CAPTION + h), columns * (w + GAP))[:, :-GAP]


def image_grid_figure(images: np.ndarray, titles: Sequence[str], *, columns: int = 8,
                      title: str = "") -> go.Figure:
    """Small grayscale images ([0, 1] pixels, (n, h, w)) in a grid, each captioned; one heatmap for speed."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must be a stack of grayscale images (n, h, w). Got shape {images.shape}.")
    if len(titles) != len(images):
        raise ValueError(f"Got {len(images)} images but {len(titles)} titles: give one title per image.")
    if columns < 1:
        raise ValueError(f"columns must be at least 1. Got {columns} instead.")
    if images.dtype == np.uint8:
        images = images / 255.0
    n, h, w = images.shape
    if n == 0:
        return add_hint(new_figure(title, height=160), "No images to show")
    columns = min(columns, n)
    canvas = _tiles(images, columns)
    scale = min(ASSUMED_WIDTH / canvas.shape[1], 4.0)  # screen pixels per image pixel
    top = 44 if title else 8
    fig = new_figure(title, height=int(canvas.shape[0] * scale) + top + 8,
                     margin=dict(l=8, r=8, t=top, b=8), showlegend=False)
    fig.add_trace(go.Heatmap(z=canvas, colorscale=GRAYS, zmin=0, zmax=1, showscale=False, hoverinfo="skip"))
    captions = [dict(x=(k % columns) * (w + GAP) + (w - 1) / 2, y=(k // columns) * (CAPTION + h) + CAPTION - 1.5,
                     text=str(caption), showarrow=False, yanchor="bottom", font=dict(size=11, color=INK))
                for k, caption in enumerate(titles)]
    fig.update_layout(annotations=captions)  # at once: one add_annotation each checked every earlier one again
    hide_axes(fig)
    fig.update_xaxes(range=[-0.5, canvas.shape[1] - 0.5])
    fig.update_yaxes(range=[canvas.shape[0] - 0.5, -0.5])  # row 0 at the top, as images are stored
    equal_aspect(fig)
    return fig


def _display_rgb(image: np.ndarray) -> tuple[np.ndarray, int]:
    """Any step image -> ((h', w', 3) uint8 for go.Image, the stride it was thinned by)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)  # (h, w) -> (h, w, 3)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"A step image must be (h, w) grayscale or (h, w, 3) RGB. Got shape {image.shape}.")
    if image.dtype != np.uint8:
        image = (np.clip(image, 0.0, 1.0) * 255).round().astype(np.uint8)
    stride = max(1, math.ceil(max(image.shape[:2]) / MAX_STEP_SIDE))
    return np.ascontiguousarray(image[::stride, ::stride]), stride


def steps_figure(steps: Sequence[tuple[str, np.ndarray]], *, title: str = "") -> go.Figure:
    """Each preparation step of an uploaded image in its own panel, at its own aspect ratio; RGB (uint8) or [0, 1]."""
    if not steps:
        return add_hint(new_figure(title, height=160), "No image yet")
    columns = min(STEP_COLUMNS, len(steps))
    rows = math.ceil(len(steps) / columns)
    plot = rows * STEP_CELL + (rows - 1) * STEP_TITLE  # px: the cells and the title rows between them
    top = STEP_TITLE + (28 if title else 0)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[_step_title(name) for name, _ in steps],
                        horizontal_spacing=0.04, vertical_spacing=STEP_TITLE / plot)
    fig.update_layout(house_layout(title, height=plot + top + 8), margin=dict(l=8, r=8, t=top, b=8),
                      showlegend=False)
    fig.update_annotations(font=dict(size=STEP_FONT, color=INK))
    hide_axes(fig)
    for k, (name, image) in enumerate(steps):
        rgb, stride = _display_rgb(image)
        row, col = divmod(k, columns)
        hover = f"{name}<br>pixel (%{{x}}, %{{y}})<extra></extra>"
        fig.add_trace(go.Image(z=rgb, x0=0, dx=stride, y0=0, dy=stride, name=name, hovertemplate=hover),
                      row=row + 1, col=col + 1)
        _fit_panel(fig, k + 1, rgb.shape[:2], stride)
    return fig


def _step_title(name: str) -> str:
    """A step's name on at most two lines: a long one breaks at the space nearest its middle."""
    if len(name) <= STEP_LINE or " " not in name:
        return name
    spaces = [k for k, char in enumerate(name) if char == " "]
    cut = min(spaces, key=lambda k: abs(k - len(name) / 2))
    return f"{name[:cut]}<br>{name[cut + 1:]}"


def _fit_panel(fig: go.Figure, panel: int, shape: tuple[int, int], stride: int) -> None:
    """Panel `panel` (1-based) spans exactly its image, framed, with square pixels: the panel shrinks to fit."""
    x, y = ("x", "y") if panel == 1 else (f"x{panel}", f"y{panel}")
    right, bottom = shape[1] * stride - stride / 2, shape[0] * stride - stride / 2
    # Fixed ranges (no autorange padding) with constrain="domain": Plotly keeps the ranges and narrows the
    # panel's domain instead, so a tall crop shrinks sideways and stays inside its own panel.
    fig.update_layout({f"xaxis{x[1:]}": dict(range=[-stride / 2, right], autorange=False, constrain="domain"),
                       f"yaxis{y[1:]}": dict(range=[bottom, -stride / 2], autorange=False, constrain="domain",
                                             constraintoward="top",  # hangs right under its title
                                             scaleanchor=x, scaleratio=1)})  # reversed: row 0 on top, as stored
    # A thin frame: ink touching the crop's edge would otherwise run into the white page unseen.
    fig.add_shape(type="rect", xref=x, yref=y, x0=-stride / 2, x1=right, y0=-stride / 2, y1=bottom,
                  line=dict(color=NEUTRAL, width=1), layer="above")
