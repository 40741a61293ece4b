"""Figures that stay readable in a narrow column (1024-px screens): colour scales that mean what they show, cell
text that contrasts with its cell, legends that keep off titles, square maps that keep their width."""

from __future__ import annotations

import numpy as np
import pytest
from plotly.colors import hex_to_rgb, label_rgb, sample_colorscale, unlabel_rgb

from core.boundary import BoundaryGrid, Snapshot
from core.data.images import prepare_image
from core.insight.maps import HiddenSpace, LayerMaps, NeuronMaps
from core.plots import (
    activation_figure,
    boundary_figure,
    confusion_figure,
    embedding_figure,
    gradient_flow_figure,
    hidden_space_figure,
    network_figure,
    neuron_map_figure,
    probability_figure,
    replay_figure,
    roc_figure,
    scatter_figure,
    steps_figure,
)
from core.plots.runs import runs_boundaries_figure, runs_curves_figure
from core.plots.seeds import seed_spread_figure
from core.plots.style import CLASS_COLORS, INK, MODEBAR_REMOVED, hex_rgb
from core.training.recorder import GradientFlow
from core.training.result import EpochStats
from tests.image_corpus import draw_digit, png_bytes


def _luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG relative luminance of 0..255 RGB."""
    c = np.asarray(rgb, dtype=float) / 255.0
    return float(np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4) @ [0.2126, 0.7152, 0.0722])


def _contrast(a: tuple, b: tuple) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


WHITE_RGB, INK_RGB = (255, 255, 255), tuple(int(v) for v in hex_rgb([INK])[0])


def _cells(fig) -> list[tuple[float, tuple, tuple]]:
    """(value, its cell's colour as drawn, its text's colour) for every cell, colours as 0..255 RGB."""
    heat = fig.data[0]
    z = np.asarray(heat.z, dtype=float)
    out = []
    for label in fig.layout.annotations:
        value = z[label.y, label.x]
        fraction = (value - heat.zmin) / (heat.zmax - heat.zmin)  # what the heatmap draws, from its own ends
        scale = [[stop, label_rgb(hex_to_rgb(color))] for stop, color in heat.colorscale]
        cell = unlabel_rgb(sample_colorscale(scale, [fraction])[0])
        assert label.font.color in ("white", INK), label.font.color  # the two inks the contrast is checked for
        out.append((value, cell, WHITE_RGB if label.font.color == "white" else INK_RGB))
    return out


@pytest.mark.parametrize("matrix", [
    [[24, 26], [18, 32]],  # logistic regression on circles: 18 errors drew near-white, with white text
    [[980, 0, 3], [2, 1120, 9], [14, 31, 990]],
    [[0, 0], [0, 0]],
], ids=["narrow-range", "digits-like", "empty"])
def test_confusion_counts_run_from_zero_to_the_largest(matrix) -> None:
    """Both ends fixed: with zmax left to Plotly, the scale ran from the smallest count (~20 to ~30)."""
    heat = confusion_figure(np.array(matrix), [str(c) for c in range(len(matrix))]).data[0]
    assert heat.zmin == 0 and heat.zmax == max(np.max(matrix), 1)


def test_confusion_shares_run_from_zero_to_one() -> None:
    heat = confusion_figure(np.array([[0.5, 0.5], [0.3, 0.7]]), ("a", "b"), normalized=True).data[0]
    assert (heat.zmin, heat.zmax) == (0, 1)


@pytest.mark.parametrize(("matrix", "normalized"), [
    ([[24, 26], [18, 32]], False),
    (np.arange(100).reshape(10, 10), False),
    ([[0.5, 0.3, 0.2], [0.1, 0.45, 0.45], [0.0, 0.35, 0.65]], True),  # the old rule went white from 0.55 * 0.65
], ids=["narrow-range", "ramp", "shares"])
def test_confusion_cell_text_is_the_more_readable_ink_on_its_cell(matrix, normalized: bool) -> None:
    """Each label in whichever of white and dark ink contrasts more with its own cell as drawn, and so never
    below 3:1 (WCAG's floor for large text) on this colour scale."""
    fig = confusion_figure(np.asarray(matrix), [str(c) for c in range(len(matrix))], normalized=normalized)
    for value, cell, text in _cells(fig):
        other = INK_RGB if text == WHITE_RGB else WHITE_RGB
        assert _contrast(text, cell) >= _contrast(other, cell), f"{value}: {text} on {cell}"
        assert _contrast(text, cell) >= 3, f"{value}: {text} on {cell}"


def test_confusion_the_narrow_range_cell_reads_dark_on_mid_blue() -> None:
    """The QA case: 18 of at most 32 is a mid blue (not near-white), labelled in dark ink (not white)."""
    fig = confusion_figure(np.array([[24, 26], [18, 32]]), ("outer", "inner"))
    value, cell, text = next(c for c in _cells(fig) if c[0] == 18)
    assert _luminance(cell) < 0.5 and text == INK_RGB


def test_embedding_legend_stands_beside_the_plot_clear_of_the_title() -> None:
    """Eleven entries above the plot wrapped into rows that climbed over the title in a ~430-px chart: a column
    right of the plot (Plotly widens the right margin for it) never reaches the title."""
    y = np.arange(40) % 10
    legend = embedding_figure(np.zeros((40, 2)), y, y, [str(c) for c in range(10)]).layout.legend
    assert legend.orientation == "v" and legend.x >= 1 and legend.xanchor == "left"
    assert legend.y == 1 and legend.yanchor == "top"


def _maps(n_classes: int) -> NeuronMaps:
    grid = np.linspace(-1, 1, 5)
    values = np.random.default_rng(0).uniform(-1, 1, size=(3, 5, 5)).astype(np.float32)
    hidden = LayerMaps("Hidden 1", "hidden", ("unit 0", "unit 1", "unit 2"), values, 0, 0)
    output = LayerMaps("Output", "output", tuple(f"class {c}" for c in range(n_classes)),
                       np.full((n_classes, 5, 5), 1 / n_classes, dtype=np.float32), 0, 0)
    return NeuronMaps(grid, grid, (hidden, output), "tanh")


def test_a_large_neuron_map_keeps_its_width_for_the_plot() -> None:
    """Two abreast in ~280 px each at 1024 px, the square plot was ~110 px wide beside its colour bar: the bar now
    lies under the plot (horizontal, at the chart's foot), so the plot takes the width less the tick margins."""
    X, y = np.zeros((6, 2)), np.arange(6) % 5
    fig = neuron_map_figure(_maps(5), 0, 1, X=X, y=y, class_names=[f"blob {c}" for c in range(5)])
    bar = fig.data[0].colorbar
    assert bar.orientation == "h" and bar.yref == "container" and bar.y == 0 and bar.yanchor == "bottom"
    assert fig.layout.margin.l + fig.layout.margin.r <= 60 and fig.layout.margin.b >= 90  # the bar's room below
    assert fig.layout.yaxis.constraintoward == "bottom"  # a plot shorter than its room sits on the bar, no gap


def test_a_large_neuron_maps_legend_hangs_under_the_title() -> None:
    """Five classes wrap to rows in a narrow chart: hung from under the title (Plotly moves the plot down as the
    legend grows), the rows never reach the title; the house legend stood on the plot and grew up over it."""
    fig = neuron_map_figure(_maps(5), 1, 0, X=np.zeros((5, 2)), y=np.arange(5),
                            class_names=[f"blob {c}" for c in range(5)])
    legend, title, height = fig.layout.legend, fig.layout.title, fig.layout.height
    assert legend.yref == "container" and legend.yanchor == "top"
    assert (title.y - legend.y) * height >= 24  # the title hangs from y too, one 17-px line (~22 px) tall


# ---------------------------------------------------------------- a legend of many names, a title above it

BLOBS = [f"blob {c}" for c in range(6)]  # the most classes a 2-D dataset has (blobs, a CSV)
TITLE_LINE = 17 * 1.2  # px: the house title's one line (17-px font)
ONE_ROW, LEGEND_GAP = 29, 12  # px, as Chromium draws them: a one-row legend's box, the gap Plotly leaves under it


def _many_names() -> dict:
    """The figures whose legend keeps the house place, each with as many names as it gets (2-D data)."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(120, 2)), np.arange(120) % 6
    grid = BoundaryGrid(np.linspace(-2, 2, 8), np.linspace(-2, 2, 8), rng.dirichlet(np.ones(6), size=(8, 8)))
    return {
        "scatter": scatter_figure(X, y, X[:30], y[:30], BLOBS, X_val=X[:24], y_val=y[:24]),  # 6 names, 3 marks
        "boundary": boundary_figure(grid, X, y, BLOBS, misclassified=y == 1, X_test=X[:30], y_test=y[:30]),
        "hidden space": hidden_space_figure(HiddenSpace(X, 1, ("unit 1", "unit 2")), y, BLOBS),
        "roc": roc_figure(np.linspace(0, 1, 5), np.linspace(0, 1, 5) ** 0.5, 0.8),  # two long names: 2 rows at 340
    }


@pytest.mark.parametrize("name", ["scatter", "boundary", "hidden space", "roc"])
def test_a_wrapped_legend_hangs_under_the_title_and_moves_the_plot_down(name: str) -> None:
    """The house legend stood on the plot (yanchor bottom at 1.01 of the plot): each row it wrapped onto at 1024 px
    (~274-564-px charts) grew it upwards, over the title (six blobs' boundary at any width; two ROC names at 340).
    Hung from under the title in the chart's own coordinates, it grows downwards, and Plotly reserves its rows
    above the plot however many there are. One row still fits the house top margin, as before."""
    fig = _many_names()[name]
    legend, title, height = fig.layout.legend, fig.layout.title, fig.layout.height
    assert legend.orientation == "h" and legend.yref == "container" and legend.yanchor == "top"
    title_top, legend_top = (1 - title.y) * height, (1 - legend.y) * height  # px from the chart's top
    assert title.yref in (None, "container") and title.yanchor == "top"
    assert legend_top >= title_top + TITLE_LINE, (title_top, legend_top)
    assert legend_top + ONE_ROW + LEGEND_GAP <= fig.layout.margin.t + 3  # a one-row legend leaves the plot be


def _placed_elsewhere() -> dict:
    """Figures that put the legend elsewhere than the house place, in plot coordinates."""
    epochs, grid = np.arange(1, 6), BoundaryGrid(np.linspace(-1, 1, 4), np.linspace(-1, 1, 4), np.full((4, 4, 2), .5))
    curves = {key: np.linspace(0.1, 0.9, 5) for key in ("train_loss", "val_loss", "train_acc", "val_acc")}
    history = [EpochStats(e, 0.5, 0.5, 0.5, 0.5, 1e-3, 0.1, e) for e in epochs]
    x = np.linspace(-2, 2, 9)
    return {
        "gradient flow": gradient_flow_figure(GradientFlow(("1", "2"), epochs, np.ones((5, 2)), np.ones((5, 2)))),
        "runs": runs_curves_figure([("#1", {"epoch": epochs, **curves}), ("#2", {"epoch": epochs, **curves})]),
        "seeds": seed_spread_figure(np.full((2, 5), 0.8), np.array([0.8, 0.9]), seeds=(0, 1), interval=(0.7, 0.95)),
        "network": network_figure([2, 3, 2], [np.ones((3, 2)), -np.ones((2, 3))]),
        "activation": activation_figure(["tanh", "relu"], "tanh", x, {"tanh": np.tanh(x), "relu": np.maximum(x, 0)}),
        "replay": replay_figure([Snapshot(1, grid), Snapshot(2, grid)], history[:2], np.zeros((4, 2)),
                                np.arange(4) % 2, ("a", "b")),
    }


@pytest.mark.parametrize("name", ["gradient flow", "runs", "seeds", "network", "activation", "replay"])
def test_a_legend_placed_elsewhere_says_it_is_in_plot_coordinates(name: str) -> None:
    """The house legend is in the chart's coordinates (0 to 1 from its foot to its top); a figure that moves it
    below, beside or on top of its plots gives positions in the plot's, so it must say so: left to the house yref
    it would be drawn off the chart."""
    legend = _placed_elsewhere()[name].layout.legend
    assert (legend.yref or "paper") == "paper", legend  # Plotly's default is "paper"


def test_every_figure_trims_plotlys_toolbar_to_what_does_not_cover_its_title() -> None:
    """QA: in a half or a third of a 1024-px page the toolbar's seven buttons (~200 px, over the chart's top right
    while the pointer is on it) covered the end of the title and the legend on Train, Inside and Lessons."""
    for name, fig in {**_many_names(), **_placed_elsewhere()}.items():
        assert tuple(fig.layout.modebar.remove) == MODEBAR_REMOVED, name
    assert {"toImage", "resetScale2d"}.isdisjoint(MODEBAR_REMOVED)  # a picture of the chart, and back after a zoom


# ---------------------------------------------------------------- a large neuron map's height

# px, as Chromium drew a large map at 1024 px: its square plot's side in half the page's main column (274 px, less
# the y axis's labels and the room right of the plot); a legend row, the padding of its box, and the gap under it.
PLOT_SIDE_1024, LEGEND_ROW, LEGEND_PAD, UNDER_LEGEND = 194, 19, 10, 19.45


@pytest.mark.parametrize(("names", "rows"), [([], 0), (["outer", "inner"], 1), (["arm 0", "arm 1", "arm 2"], 2),
                                             (BLOBS, 3)], ids=["no points", "circles", "spiral", "blobs"])
def test_a_large_neuron_map_is_as_tall_as_its_square_plot_needs(names: list[str], rows: int) -> None:
    """At 1024 px the square plot is as wide as its half column lets it be (~194 px), and the chart 460 px tall
    gave it 60-100 px more height than that: an empty band between the legend and the map. The height left to the
    plot, under the legend's rows as Chromium wraps them (`rows`) and over the axis and colour bar, is its side."""
    points = dict(X=np.zeros((len(names), 2)), y=np.arange(len(names)), class_names=names) if names else {}
    fig = neuron_map_figure(_maps(max(len(names), 2)), 1, 0, **points)
    legend, height, margin = fig.layout.legend, fig.layout.height, fig.layout.margin
    plot_top = (1 - legend.y) * height + LEGEND_PAD + LEGEND_ROW * rows + UNDER_LEGEND if rows else margin.t
    assert abs(height - margin.b - plot_top - PLOT_SIDE_1024) <= 8, (height, plot_top)


def test_compared_boundaries_have_short_titles_and_tell_the_rest_on_hover() -> None:
    """Four titles such as "#53 · model logreg, hidden 16, opt adam" ran into each other at 1024 px: the panels
    take short names, and each run's note (what differs, the epoch kept) opens its panel's hover."""
    xs = np.linspace(-1, 1, 5, dtype=np.float32)
    proba = np.stack(np.broadcast_arrays(np.float32(0.3), np.float32(0.7)), axis=-1) * np.ones((5, 5, 1), np.float32)
    names = ["#51", "#52", "#53", "#54"]
    notes = ["model mlp, hidden 8", "model mlp, hidden 16", "model logreg", "opt sgd, weights of epoch 37 of 57"]
    fig = runs_boundaries_figure([BoundaryGrid(xs, xs, proba)] * 4, names, notes=notes)
    assert [a.text for a in fig.layout.annotations if a.text in names] == names
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert [t.hovertemplate.split("<br>")[0] for t in heatmaps] == [f"<b>{n}</b> · {m}" for n, m in zip(names, notes)]
    with pytest.raises(ValueError, match="one note per boundary"):
        runs_boundaries_figure([BoundaryGrid(xs, xs, proba)] * 2, names[:2], notes=notes[:1])


# The Predict page at 1024 px, as Chromium lays it out: the steps beside the prediction (~330 px) and the
# probability chart beside them (~218 px). Text is estimated at 0.6 em a character and 1.3 em a line.
STEPS_1024, PROBA_1024, EM_WIDTH, LINE_HEIGHT = 330, 218, 0.6, 1.3


def _text_size(text: str, font_size: float) -> tuple[float, float]:
    """(width, height) in px of text whose lines break at <br>, estimated."""
    lines = text.split("<br>")
    return max(len(line) for line in lines) * EM_WIDTH * font_size, len(lines) * LINE_HEIGHT * font_size


def test_each_preparation_step_title_fits_over_its_own_cell_at_1024_px() -> None:
    """"Background removed" ran past its ~100-px cell (cut to "ckground removed" against "Cropped"), and a tall
    crop filled its cell up to its title: every title now fits its cell's width and the room above the cell, and
    each image hangs from its cell's top inside the cell."""
    steps = prepare_image(png_bytes(draw_digit("1", size=(300, 300), box=(140, 40, 160, 260), stroke=12))).steps
    fig = steps_figure(steps)
    margin, height = fig.layout.margin, fig.layout.height
    width_px, height_px = STEPS_1024 - margin.l - margin.r, height - margin.t - margin.b
    tops = [fig.layout[trace.yaxis.replace("y", "yaxis")].domain for trace in fig.data]
    for trace, title in zip(fig.data, fig.layout.annotations):
        x = fig.layout[trace.xaxis.replace("x", "xaxis")]
        y = fig.layout[trace.yaxis.replace("y", "yaxis")]
        above = [bottom for bottom, _ in tops if bottom > y.domain[1]]  # the rows above this one
        room = (min(above) - y.domain[1]) * height_px if above else margin.t
        text_width, text_height = _text_size(title.text, title.font.size or 16)
        assert text_width <= (x.domain[1] - x.domain[0]) * width_px, (title.text, text_width)
        assert text_height <= room, (title.text, text_height, room)
        assert (x.constrain, y.constrain, y.constraintoward) == ("domain", "domain", "top"), title.text


def test_the_probability_ticks_stand_upright_with_room_at_1024_px() -> None:
    """Five percentages ~25 px apart were turned on their sides in the ~218-px column: the ticks are upright, far
    enough apart for their labels, and every class (the digits 0-9) has its own label."""
    fig = probability_figure(np.full(10, 0.1), [str(c) for c in range(10)])
    x, y, margin = fig.layout.xaxis, fig.layout.yaxis, fig.layout.margin
    assert x.tickangle == 0 and y.tickangle == 0
    assert list(y.tickvals) == list(range(10)) and list(y.ticktext) == [str(c) for c in range(10)]
    px_per_unit = (PROBA_1024 - margin.l - margin.r) / (x.range[1] - x.range[0])
    widest = max(_text_size(f"{value:.0%}", fig.layout.font.size)[0] for value in x.tickvals)
    assert min(np.diff(x.tickvals)) * px_per_unit >= widest + 8, (x.tickvals, px_per_unit)


def test_no_two_class_colours_are_near_twins() -> None:
    """QA: digits 0 and 5 were both orange in the embedding projector (the Playground's orange beside Okabe-Ito's
    vermillion, CIEDE2000 15.9 apart). Every pair of the ten now stands at least 16 apart, and 0 and 5 far more."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    lab = rgb2lab(hex_rgb(CLASS_COLORS)[None] / 255)[0]
    apart = {(i, j): float(deltaE_ciede2000(lab[i], lab[j])) for i in range(len(lab)) for j in range(i + 1, len(lab))}
    assert min(apart.values()) >= 16, min(apart, key=apart.get)
    assert apart[0, 5] >= 30, apart[0, 5]
