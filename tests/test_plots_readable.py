"""Figures that stay readable in a narrow column (1024-px screens): colour scales that mean what they show, cell
text that contrasts with its cell, legends that keep off titles, square maps that keep their width."""

from __future__ import annotations

import numpy as np
import pytest
from plotly.colors import hex_to_rgb, label_rgb, sample_colorscale, unlabel_rgb

from core.insight.maps import LayerMaps, NeuronMaps
from core.plots import confusion_figure, embedding_figure, neuron_map_figure
from core.plots.style import INK


def _luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG relative luminance of 0..255 RGB."""
    c = np.asarray(rgb, dtype=float) / 255.0
    return float(np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4) @ [0.2126, 0.7152, 0.0722])


def _contrast(a: tuple, b: tuple) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


WHITE_RGB, INK_RGB = (255, 255, 255), tuple(int(INK[i: i + 2], 16) for i in (1, 3, 5))


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
