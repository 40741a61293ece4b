"""Figures of the network's inside: built from hand-made arrays, checked on fig.data and fig.layout."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.insight.digits import FeatureMaps
from core.insight.maps import HiddenSpace, LayerMaps, NeuronMaps
from core.plots import (
    SMALL_WEIGHT,
    UNIT_PICKER,
    attribution_figure,
    axis_ranges,
    embedding_figure,
    feature_maps_figure,
    hidden_space_figure,
    network_figure,
    neuron_map_figure,
    neuron_maps_figure,
    weight_tiles_figure,
)
from core.plots.style import BLUE, WRONG

R = 6  # grid side


def layer(name: str, role: str, units: int, *, scale: float = 1.0, dead: int = 0, saturated: int = 0) -> LayerMaps:
    values = scale * np.random.default_rng(units).uniform(-1, 1, size=(units, R, R)).astype(np.float32)
    if role == "output":
        values = np.abs(values) / np.abs(values).sum(axis=0)  # probabilities
    prefix = "class" if role == "output" else "unit"
    return LayerMaps(name, role, tuple(f"{prefix} {u}" for u in range(units)), values, dead, saturated)


def maps(n_classes: int = 2, hidden: int = 11) -> NeuronMaps:
    layers = (layer("Features", "features", 3), layer("Hidden 1", "hidden", hidden, scale=4.0, dead=2, saturated=1),
              layer("Output", "output", n_classes))
    return NeuronMaps(np.linspace(-1, 1, R), np.linspace(-2, 2, R), layers, "tanh")


def annotations(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def test_neuron_maps_draw_each_layer_as_a_column_of_small_maps() -> None:
    fig = neuron_maps_figure(maps(), max_units=8)
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert len(heat) == 3 + 8 + 1  # every feature, 8 of 11 hidden units, P(class 1) alone for two classes
    columns = sorted({round(float(np.mean(t.x)), 3) for t in heat})
    assert len(columns) == 3 and all(len(t.z) == R for t in heat)
    hidden = [t for t in heat if t.name.startswith("Hidden 1")]
    assert {(t.zmin, t.zmax) for t in hidden} == {(-hidden[0].zmax, hidden[0].zmax)}  # one ±max scale per layer
    assert hidden[0].zmax == pytest.approx(float(np.abs(maps().layers[1].values).max()))
    np.testing.assert_array_equal(heat[-1].z, maps().layers[2].values[1])
    texts = " ".join(annotations(fig))
    assert "+3 more" in texts and "2 dead" in texts and "1 saturated" in texts and "<b>Output</b>" in texts


def with_weights(m: NeuronMaps) -> NeuronMaps:
    """The maps with random (out, in) weight matrices between consecutive layers."""
    sizes = [len(layer.values) for layer in m.layers]
    rng = np.random.default_rng(1)
    return replace(m, weights=tuple(rng.normal(size=(sizes[i + 1], sizes[i])) for i in range(len(sizes) - 1)))


def edge_lines(fig, *names: str) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """The edges of the traces with these names, as ((x0, y0), (x1, y1)) pairs."""
    out = []
    for t in (t for t in fig.data if t.name in names):
        out += [((t.x[k], t.y[k]), (t.x[k + 1], t.y[k + 1])) for k in range(0, len(t.x), 3)]
    return out


def test_each_map_sits_on_its_node_of_the_network_with_the_edges_between_them() -> None:
    fig = neuron_maps_figure(with_weights(maps(hidden=12)), max_units=8)
    heat = [t for t in fig.data if t.type == "heatmap"]
    picker = fig.data[-1]
    nodes = [(round(float(np.mean(t.x)), 6), round(float(np.mean(t.y)), 6)) for t in heat]
    assert nodes == [(round(x, 6), round(y, 6)) for x, y in zip(picker.x, picker.y)]  # one map on every node
    assert all(np.ptp(t.x) < float(np.diff(sorted({x for x, _ in nodes}))[0]) for t in heat)  # maps do not touch
    edges = edge_lines(fig, "positive weight", "negative weight", f"|w| < {SMALL_WEIGHT:g}")
    assert len(edges) == 3 * 8 + 8 * 1  # every drawn feature to every drawn hidden unit, each of those to P(class 1)
    # Each edge runs from a map's right side to the next map's left side (maps are SIDE = 1 wide).
    starts = {(round(x0 - 0.5, 6), round(y0, 6)) for (x0, y0), _ in edges}
    ends = {(round(x1 + 0.5, 6), round(y1, 6)) for _, (x1, y1) in edges}
    first, last = min(x for x, _ in nodes), max(x for x, _ in nodes)
    assert starts == {n for n in nodes if n[0] != last} and ends == {n for n in nodes if n[0] != first}
    texts = annotations(fig)
    assert "+4 more" in texts and sum(t.startswith("+") for t in texts) == 1  # 12 hidden units, 8 drawn
    assert any("2 dead" in t and "1 saturated" in t for t in texts)
    assert {"unit 0", "unit 1", "unit 2"} <= set(texts)  # the features are named beside their maps
    assert not [t for t in fig.data if t.name == "connections"]  # with weights, every edge has its colour
    unweighted = neuron_maps_figure(maps(hidden=12))
    assert [t.name for t in unweighted.data if t.type == "scatter"] == ["connections", "map frames", UNIT_PICKER]
    frames = next(t for t in fig.data if t.name == "map frames")
    assert len([v for v in frames.x if v is None]) == len(heat)  # a dead unit's blank map still has its square


def test_the_edges_into_a_two_class_output_are_the_difference_of_its_two_rows() -> None:
    two = NeuronMaps(np.linspace(-1, 1, R), np.linspace(-1, 1, R),
                     (layer("Features", "features", 2), layer("Hidden 1", "hidden", 2), layer("Output", "output", 2)),
                     "relu", (np.ones((2, 2)), np.array([[1.0, -1.0], [3.0, -3.0]])))
    fig = neuron_maps_figure(two)
    positive, negative = edge_lines(fig, "positive weight"), edge_lines(fig, "negative weight")
    into_output = [e for e in positive + negative if e[1][0] == pytest.approx(max(fig.data[-1].x) - 0.5)]
    assert len(into_output) == 2 and len(positive) == 4 + 1 and len(negative) == 1  # rows differ by (2, -2)
    assert "P(class 1): the boundary" in " ".join(annotations(fig))
    with pytest.raises(ValueError, match="one matrix between each pair of layers"):
        neuron_maps_figure(replace(two, weights=two.weights[:1]))


def test_the_unit_picker_says_which_map_was_clicked_and_the_selected_one_is_framed() -> None:
    fig = neuron_maps_figure(maps(), max_units=4, selected=(1, 2))
    picker = fig.data[-1]
    assert picker.name == UNIT_PICKER and len(picker.x) == 3 + 4 + 1
    assert [list(map(int, row)) for row in picker.customdata][3:6] == [[1, 0], [1, 1], [1, 2]]
    assert len(fig.layout.shapes) == 1
    frame = fig.layout.shapes[0]
    x, y = picker.x[5], picker.y[5]  # the selected unit's centre
    assert frame.x0 < x < frame.x1 and frame.y0 < y < frame.y1
    assert not neuron_maps_figure(maps()).layout.shapes


def test_a_multi_class_output_shows_each_class_in_its_colour() -> None:
    fig = neuron_maps_figure(maps(n_classes=3))
    outputs = [t for t in fig.data if t.type == "heatmap" and t.name.startswith("Output")]
    assert len(outputs) == 3 and all((t.zmin, t.zmax) == (0, 1) for t in outputs)
    assert len({t.colorscale[-1][1] for t in outputs}) == 3


def test_neuron_maps_figure_refusals() -> None:
    with pytest.raises(ValueError, match="layer must be 0 to 2"):
        neuron_maps_figure(maps(), selected=(3, 0))
    with pytest.raises(ValueError, match="Hidden 1 has units 0 to 10. Got 11"):
        neuron_maps_figure(maps(), selected=(1, 11))
    with pytest.raises(ValueError, match="max_units must be at least 1"):
        neuron_maps_figure(maps(), max_units=0)


def test_one_map_large_with_the_data_on_top() -> None:
    m = maps()
    X, y = np.array([[0.0, 0.0], [0.5, 1.0], [-0.5, -1.0]]), np.array([0, 1, 1])
    fig = neuron_map_figure(m, 1, 4, X=X, y=y, class_names=("outer", "inner"))
    heat, *points = fig.data
    np.testing.assert_array_equal(heat.z, m.layers[1].values[4])
    np.testing.assert_array_equal(heat.x, m.xs)
    assert heat.zmax == -heat.zmin and "Hidden 1 · unit 4" in fig.layout.title.text
    assert [(t.name, len(t.x)) for t in points] == [("outer", 1), ("inner", 2)]
    assert list(fig.layout.xaxis.range) == [-1, 1] and list(fig.layout.yaxis.range) == [-2, 2]
    with pytest.raises(ValueError, match="has labels 0..2 but 2 class names"):
        neuron_map_figure(m, 1, 0, X=X, y=np.array([0, 1, 2]), class_names=("a", "b"))


def test_hidden_space_by_class_on_fixed_axes() -> None:
    points = np.array([[0.0, 1.0], [2.0, -1.0], [1.0, 0.5], [3.0, 3.0]], dtype=np.float32)
    space = HiddenSpace(points, 2, ("PC 1", "PC 2"))
    ranges = axis_ranges(points)
    assert ranges[0][0] < 0 and ranges[0][1] > 3 and ranges[1][0] < -1 and ranges[1][1] > 3
    fig = hidden_space_figure(space, np.array([0, 1, 0, 1]), ("a", "b"), ranges=ranges)
    assert [(t.name, list(t.x)) for t in fig.data] == [("a", [0.0, 1.0]), ("b", [2.0, 3.0])]
    assert fig.layout.xaxis.title.text == "PC 1" and list(fig.layout.yaxis.range) == ranges[1]
    assert "Hidden layer 2" in fig.layout.title.text
    with pytest.raises(ValueError, match=r"\(n, 2\) points with n labels"):
        hidden_space_figure(space, np.array([0, 1]))
    with pytest.raises(ValueError, match="non-empty"):
        axis_ranges(np.zeros((0, 2)))


def test_weight_tiles_on_one_symmetric_diverging_scale() -> None:
    tiles = np.random.default_rng(0).normal(size=(20, 28, 28)).astype(np.float32)
    fig = weight_tiles_figure(tiles, columns=8)
    heat = fig.data[0]
    canvas, index = np.asarray(heat.z, dtype=float), np.asarray(heat.customdata)
    assert canvas.shape == (3 * 28 + 2 * 2, 8 * 28 + 7 * 2)  # 3 rows of 8, 2-pixel gaps
    np.testing.assert_array_equal(canvas[:28, 30:58], tiles[1])  # the second tile, right of the first
    assert index[0, 30] == 2 and np.isnan(canvas[0, 28])  # hover names unit 2; gaps are blank
    assert -heat.zmin == heat.zmax == pytest.approx(float(np.abs(tiles).max()))
    assert heat.colorscale[0][1] != heat.colorscale[-1][1] and heat.colorscale[-1][1] == BLUE
    fig = weight_tiles_figure(tiles, max_tiles=5, unit_label="filter")
    assert "first 5 of 20" in fig.layout.title.text and "filter" in fig.data[0].hovertemplate
    with pytest.raises(ValueError, match=r"\(n, h, w\)"):
        weight_tiles_figure(np.zeros((28, 28)))


def test_conv_filters_are_tiled_eight_a_row_and_dense_units_sixteen() -> None:
    """QA: a CNN's 32 filters of 3x3 in two rows of 16 were ~20-px specks at 1024 px; 8 a row makes them 4 rows."""
    filters = weight_tiles_figure(np.ones((32, 3, 3), np.float32))
    assert np.asarray(filters.data[0].z).shape == (4 * 3 + 3 * 2, 8 * 3 + 7 * 2)
    units = weight_tiles_figure(np.ones((32, 28, 28), np.float32))
    assert np.asarray(units.data[0].z).shape == (2 * 28 + 2, 16 * 28 + 15 * 2)


def test_feature_maps_one_row_per_layer_titled_with_shape() -> None:
    layers = [FeatureMaps("Conv 1 · relu", np.ones((20, 28, 28), np.float32)),
              FeatureMaps("Conv 2 · relu", np.ones((4, 14, 14), np.float32))]
    fig = feature_maps_figure(layers, max_maps=16)
    assert [t.type for t in fig.data] == ["heatmap", "heatmap"]
    assert np.asarray(fig.data[0].z).shape == (2 * 28 + 2, 8 * 28 + 7 * 2)  # 16 of the 20 maps, two rows of 8
    assert np.asarray(fig.data[1].z).shape == (14, 4 * 14 + 3 * 2)
    one_row = feature_maps_figure(layers, max_maps=16, columns=16)
    assert np.asarray(one_row.data[0].z).shape == (28, 16 * 28 + 15 * 2)
    titles = annotations(fig)
    assert titles[0] == "Conv 1 · relu · 20 × 28 × 28 · first 16 shown" and titles[1] == "Conv 2 · relu · 4 × 14 × 14"
    assert "No convolution layers" in annotations(feature_maps_figure([]))[0]


def test_attribution_overlay_is_clear_at_zero() -> None:
    pixels = np.zeros((28, 28), np.float32)
    signed = np.zeros((28, 28), np.float32)
    signed[3, 4], signed[5, 6] = 2.0, -1.0
    fig = attribution_figure(pixels, signed, label="integrated gradients")
    image, overlay = fig.data
    np.testing.assert_array_equal(overlay.z, signed)
    assert (overlay.zmin, overlay.zmax) == (-2.0, 2.0) and overlay.colorscale[1][1].endswith(",0)")
    assert fig.layout.yaxis.autorange == "reversed" and image.showscale is False
    one_signed = attribution_figure(pixels, np.abs(signed)).data[1]
    assert (one_signed.zmin, one_signed.zmax) == (0.0, 2.0) and one_signed.colorscale[0][1].endswith(",0)")
    with pytest.raises(ValueError, match="of one shape"):
        attribution_figure(pixels, np.zeros((14, 14)))


def test_embedding_by_true_class_with_mistakes_ringed() -> None:
    points = np.arange(12, dtype=np.float32).reshape(6, 2)
    y_true, predicted = np.array([0, 1, 2, 0, 1, 2]), np.array([0, 1, 1, 0, 2, 2])
    fig = embedding_figure(points, y_true, predicted, ("zero", "one", "two"), method="t-SNE")
    *classes, mistakes = fig.data
    assert [(t.name, list(t.customdata)) for t in classes] == [("zero", [0, 3]), ("one", [1, 4]), ("two", [2, 5])]
    assert mistakes.name == "mistakes (2)" and list(mistakes.customdata) == [2, 4]
    assert mistakes.marker.color == WRONG and list(mistakes.text) == ["one", "two"]
    assert fig.layout.xaxis.title.text == "t-SNE 1" and classes[0].type == "scatter"
    many = np.random.default_rng(0).integers(0, 3, 1500)
    assert embedding_figure(np.zeros((1500, 2)), many, many, ("a", "b", "c")).data[0].type == "scattergl"
    with pytest.raises(ValueError, match="labels go up to 2 but only 2 class names"):
        embedding_figure(points, y_true, predicted, ("a", "b"))


def test_network_names_its_features_and_notes_each_layer() -> None:
    fig = network_figure([3, 4, 2], input_names=["x", "x²", "sin y"], layer_notes=["", "1 dead", ""])
    nodes = next(t for t in fig.data if t.name == "units")
    assert [t for t in nodes.text if t][:3] == ["x", "x²", "sin y"]
    assert "input: x²" in nodes.customdata
    texts = annotations(fig)
    assert any(t.startswith("<b>Features</b><br>(3)") for t in texts) and any("1 dead" in t for t in texts)
    with pytest.raises(ValueError, match="input_names must name each of the 3 inputs. Got 2"):
        network_figure([3, 2], input_names=["x", "y"])
    with pytest.raises(ValueError, match="one note per layer"):
        network_figure([3, 2], layer_notes=["a"])


def test_gradient_flow_one_line_per_layer_on_a_log_gradient_axis() -> None:
    from core.plots import gradient_flow_figure
    from core.training.recorder import GradientFlow

    epochs = np.arange(1, 6)
    gradients = np.array([[1e-6, 1e-3, 0.1]] * 5)
    flow = GradientFlow(("1 · 2→8", "2 · 8→8", "3 · 8→2"), epochs, np.full((5, 3), 0.5), gradients)
    fig = gradient_flow_figure(flow)
    assert len(fig.data) == 6 and [t.name for t in fig.data[:2]] == ["layer 1 · 2→8"] * 2
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type != "log"
    np.testing.assert_allclose(fig.data[0].y, gradients[:, 0])
    assert fig.data[0].line.color != fig.data[4].line.color  # the input side and the output side tell apart
    np.testing.assert_allclose(flow.ratio(), [1e-5, 1e-2, 1.0])
    with pytest.raises(ValueError, match="epochs, layers"):
        gradient_flow_figure(GradientFlow(flow.layers, epochs, np.zeros((5, 2)), np.zeros((5, 2))))


def test_network_fades_weights_below_a_hundredth() -> None:
    from core.plots import SMALL_WEIGHT

    weights = [np.array([[0.5, 0.001], [-0.004, -0.7]]), np.array([[0.009, 2.0]])]
    fig = network_figure([2, 2, 1], weights)
    faded = [t for t in fig.data if t.name == f"|w| < {SMALL_WEIGHT:g}"]
    assert len(faded) == 1 and len([v for v in faded[0].x if v is None]) == 3  # three edges, three breaks
    assert faded[0].opacity < min(t.opacity for t in fig.data if t.name in ("positive weight", "negative weight"))
    drawn = sum(len([v for v in t.x if v is None]) for t in fig.data if t.name.endswith("weight"))
    assert drawn == 3  # the other three keep their sign colours
