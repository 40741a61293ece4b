"""The look shared by every figure: class palette, diverging map, layout and axis helpers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio


def _house_template() -> go.layout.Template:
    """plotly_white cut to what 2-D charts use. The whole template costs ~5 ms to validate on every figure
    and ~4 KB in every chart sent to the browser; this cut costs ~1.5 ms and ~1 KB (no polar, 3-D, map or
    per-trace defaults except the colour bars').

    Nor the layout's default colour scales (sequential, sequentialminus, diverging): plotly.js reads them only for a
    trace with `autocolorscale`, and every colour scale here is given (heatmaps) or unused (the contours draw lines
    only), which turns it off. They were 100 of the template's 160 values, copied and walked again by Plotly each
    time a figure is built and each time Streamlit sends one (the boundary and the curves on every slider move)."""
    white = pio.templates["plotly_white"].layout
    layout = {key: white[key] for key in ("autotypenumbers", "colorway", "font", "hovermode", "hoverlabel",
                                          "paper_bgcolor", "plot_bgcolor", "coloraxis", "xaxis", "yaxis",
                                          "shapedefaults", "annotationdefaults", "title")}
    bar = dict(outlinewidth=0, ticks="")
    return go.layout.Template(layout=layout, data=dict(heatmap=[go.Heatmap(colorbar=bar)],
                                                       contour=[go.Contour(colorbar=bar)]))


TEMPLATE = _house_template()  # the object, not a name: plotly deep-copies a named template on every use
# As plain JSON: a figure built from one dict validates it once, faster than copying the template object.
TEMPLATE_JSON = TEMPLATE.to_plotly_json()
FONT = dict(family="Inter, Segoe UI, Helvetica, Arial, sans-serif", size=13, color="#2a2f36")
MARGIN = dict(l=56, r=24, t=72, b=52)
HEIGHT = 460  # default for 2-D plots; charts that grow with their content compute their own
# The title hangs from the chart's top; the legend hangs TITLE_LINE px under the title's top, in the chart's own
# coordinates (yref "container"), so Plotly reserves room for every row the legend wraps onto and moves the plot
# down. Stood on the plot (y 1.01 in plot coordinates, as it was), a legend that wrapped grew upwards, over the
# title: in a ~340-px column two names did, and at 1024 px the boundary's six classes did in any column.
TITLE_Y, TITLE_LINE = 0.98, 24  # paper fraction; px: a 17-px title line and a little air
# Plotly's toolbar shows over the chart's top right while the pointer is on the chart. With all its buttons it is
# ~200 px wide, and in a half or a third of a 1024-px page it covered the title's end and the legend (QA). Dragging
# still zooms and a double click resets; the picture download and the reset button stay.
MODEBAR_REMOVED = ("zoom2d", "pan2d", "zoomIn2d", "zoomOut2d", "autoScale2d")

# TensorFlow Playground's pair: orange for class 0 (its "negative"), blue for class 1 (its "positive").
ORANGE = "#F59322"
BLUE = "#0877BD"
# Ten qualitative colours that stay apart under the common colour-vision deficiencies: the Playground
# pair first (so a two-class plot matches the diverging boundary), then Okabe-Ito, then Paul Tol's muted set.
# Class 5 is a brown: Okabe-Ito's vermillion (#D55E00) sat next to class 0's orange (QA: digits 0 and 5 in the
# embedding projector); brown raises the closest pair's CIEDE2000 distance under simulated deuteranopia from 5.1 to 9.1
# and under tritanopia from 7.4 to 9.3, and leaves the rest as they were.
CLASS_COLORS = (ORANGE, BLUE, "#009E73", "#CC79A7", "#56B4E9", "#6B4226", "#332288", "#DDCC77", "#882255",
                "#999933")
NEUTRAL = "#9aa1a9"  # edges and bars that are not the point of the chart
INK = "#2a2f36"  # text and outlines
WRONG = "#d62728"  # misclassified markers
# Washed out so the points drawn on top stay readable.
DIVERGING = [[0.0, "#f8be7f"], [0.5, "#f7f7f7"], [1.0, "#7fb4d8"]]
GRAYS = [[0.0, "#000000"], [1.0, "#ffffff"]]  # images: 0 black, 1 white, as MNIST is stored
HINT_FONT = dict(size=15, color="#8a929b")


def class_color(label: int) -> str:
    """The palette colour of class `label` (cycled past ten classes)."""
    return CLASS_COLORS[int(label) % len(CLASS_COLORS)]


def hex_rgb(colors: Sequence[str]) -> np.ndarray:
    """'#rrggbb' colours -> (n, 3) float RGB in [0, 255], one row per colour."""
    return np.array([[int(c.lstrip("#")[i: i + 2], 16) for i in (0, 2, 4)] for c in colors], dtype=float)


def class_rgb(n_classes: int) -> np.ndarray:
    """(n_classes, 3) float RGB in [0, 255], one row per class."""
    return hex_rgb([class_color(c) for c in range(n_classes)])


def tint(rgb: np.ndarray, strength: float | np.ndarray) -> np.ndarray:
    """Blend RGB colour(s) with white: strength 0 is white, 1 the colour itself."""
    return 255.0 - np.asarray(strength)[..., None] * (255.0 - rgb)


def rgb_string(rgb: np.ndarray) -> str:
    """[r, g, b] floats -> 'rgb(r,g,b)'."""
    r, g, b = (int(round(v)) for v in rgb)
    return f"rgb({r},{g},{b})"


def house_layout(title: str, *, height: int = HEIGHT) -> dict:
    """The layout every figure shares: template, font, margins, title top left, legend under it above the plot.

    A figure that moves the legend elsewhere in plot coordinates sets the legend's yref to "paper" too."""
    return dict(
        template=TEMPLATE_JSON, font=FONT, margin=MARGIN, height=height,
        title=dict(text=title, x=0.01, xanchor="left", y=TITLE_Y, yanchor="top", font=dict(size=17)),
        legend=dict(orientation="h", xanchor="left", x=0, yref="container", yanchor="top",
                    y=TITLE_Y - TITLE_LINE / height, font=dict(size=12)),
        hoverlabel=dict(font=dict(family=FONT["family"], size=12)),
        modebar=dict(remove=list(MODEBAR_REMOVED)),
    )


def whole_ticks(last: float) -> dict:
    """An axis of counts (epochs) up to `last`: ticks on whole numbers. Plotly's own ticks fall on halves over a
    short range ("1, 1.5, 2, 2.5, 3" for a 3-epoch run); from ~10 on they are whole anyway."""
    return {"dtick": 1} if last <= 10 else {}


def new_figure(title: str, *, height: int = HEIGHT, **layout: object) -> go.Figure:
    """An empty figure with the house layout, plus any extra layout settings."""
    return go.Figure(layout={**house_layout(title, height=height), **layout})


def figure(traces: Sequence[dict], layout: dict, frames: Sequence[dict] = ()) -> go.Figure:
    """A figure from plain trace dicts (each with its "type"), a layout dict and animation frames, taken as they
    are: the figures redrawn on every slider move (the boundary, its points, the curves, the replay) are built
    this way, and Plotly's validation of their ~30,000 values was half a move's drawing cost. tests/test_plots.py
    validates every figure built here (`validated`), so a misspelt property still fails a test rather than a
    page."""
    spec = {"data": list(traces), "layout": layout, **({"frames": list(frames)} if frames else {})}
    return go.Figure(spec, _validate=False)


def equal_aspect(fig: go.Figure, *, x: str = "x", y: str = "y") -> None:
    """One unit on x is as long as one unit on y (2-D data and square matrices)."""
    fig.update_layout({f"yaxis{y[1:]}": dict(scaleanchor=x, scaleratio=1, constrain="domain"),
                       f"xaxis{x[1:]}": dict(constrain="domain")})


def add_hint(fig: go.Figure, text: str) -> go.Figure:
    """A grey sentence in the middle of an empty chart, saying what would fill it."""
    fig.add_annotation(text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=HINT_FONT)
    return fig


def hide_axes(fig: go.Figure) -> None:
    """No ticks, grid or zero lines: for pictures (images, network drawings)."""
    blank = dict(showticklabels=False, showgrid=False, zeroline=False, ticks="", showline=False)
    fig.update_xaxes(**blank)
    fig.update_yaxes(**blank)


def check_names(class_names: Sequence[str], n_classes: int, what: str) -> list[str]:
    """Class names as a list, or ValueError when they do not match the `what` array's classes."""
    names = [str(name) for name in class_names]
    if len(names) != n_classes:
        raise ValueError(f"{what} has {n_classes} classes but {len(names)} class names were given.")
    return names


def placeholder_figure(headline: str, advice: str, *, height: int = 360) -> go.Figure:
    """An empty chart that says why there is nothing to draw and what to do."""
    fig = go.Figure(layout=house_layout("", height=height))
    hide_axes(fig)
    fig.add_annotation(text=f"<b>{headline}</b><br>{advice}", x=0.5, y=0.5, xref="paper", yref="paper",
                       showarrow=False, font=HINT_FONT)
    return fig
