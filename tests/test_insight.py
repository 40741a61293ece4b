"""Looking inside: neuron maps, unit health, the hidden space, digit weights, feature maps, attributions, embeddings."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from core.bench.timing import time_attribution, time_embedding_pca, time_neuron_maps
from core.boundary import boundary_grid
from core.config import ModelConfig
from core.insight.digits import (
    BLACK,
    attribute_image,
    embed,
    feature_maps,
    first_layer_tiles,
    last_hidden,
    pca_points,
    tsne_points,
)
from core.insight.maps import Projection, fit_projection, hidden_activations, hidden_space, neuron_maps, unit_health
from core.models import build_model, predict_proba

IMAGE = dict(input_shape=(1, 28, 28), n_classes=10)
BOX = (-2.0, 2.0, -1.5, 1.0)


def set_weights(model: nn.Module, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Give every Linear layer known weights and return them as numpy (W, b) pairs."""
    params = []
    for layer in (m for m in model.modules() if isinstance(m, nn.Linear)):
        W = rng.normal(size=tuple(layer.weight.shape)).astype(np.float32)
        b = rng.normal(size=tuple(layer.bias.shape)).astype(np.float32)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(W))
            layer.bias.copy_(torch.from_numpy(b))
        params.append((W, b))
    return params


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- neuron maps


def test_neuron_maps_of_a_hand_set_network_equal_a_direct_computation() -> None:
    model = build_model(ModelConfig(hidden=(3, 2), activation="tanh", features=("x", "yy", "xy"), n_classes=3))
    (W1, b1), (W2, b2), (W3, b3) = set_weights(model, np.random.default_rng(0))
    maps = neuron_maps(model, box=BOX, resolution=7, class_names=("a", "b", "c"))

    xs, ys = np.linspace(-2, 2, 7), np.linspace(-1.5, 1.0, 7)
    gx, gy = np.meshgrid(xs, ys)  # (7, 7): row i is ys[i], column j is xs[j]
    F = np.stack([gx, gy * gy, gx * gy], axis=-1)  # (7, 7, 3)
    h1 = np.tanh(F @ W1.T + b1)
    h2 = np.tanh(h1 @ W2.T + b2)
    out = softmax((h2 @ W3.T + b3).reshape(-1, 3)).reshape(7, 7, 3)

    np.testing.assert_allclose(maps.xs, xs, rtol=1e-6)
    np.testing.assert_allclose(maps.ys, ys, rtol=1e-6)
    assert [layer.name for layer in maps.layers] == ["Features", "Hidden 1", "Hidden 2", "Output"]
    assert [layer.role for layer in maps.layers] == ["features", "hidden", "hidden", "output"]
    assert maps.layers[0].unit_names == ("x", "y²", "x·y") and maps.layers[3].unit_names == ("a", "b", "c")
    assert maps.activation == "tanh"
    for layer, expected in zip(maps.layers, (F, h1, h2, out)):
        np.testing.assert_allclose(layer.values, np.moveaxis(expected, -1, 0), atol=1e-5)  # (units, rows, cols)
    # The output layer's maps are the decision boundary itself.
    grid = boundary_grid(model, box=BOX, resolution=7)
    np.testing.assert_allclose(maps.layers[-1].values, np.moveaxis(grid.proba, -1, 0), atol=1e-6)
    for kept, (W, _) in zip(maps.weights, ((W1, b1), (W2, b2), (W3, b3)), strict=True):
        np.testing.assert_array_equal(kept, W)  # the edges drawn between the maps


def test_the_output_node_of_a_two_class_network_drawing_is_the_boundary() -> None:
    from core.plots import neuron_maps_figure

    model = build_model(ModelConfig(hidden=(12, 3), activation="relu"))
    set_weights(model, np.random.default_rng(3))
    fig = neuron_maps_figure(neuron_maps(model, box=BOX, resolution=9, class_names=("outer", "inner")))
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert heat[-1].name == "Output · inner" and len(heat) == 2 + 8 + 3 + 1  # 8 of Hidden 1's 12 units
    grid = boundary_grid(model, box=BOX, resolution=9)
    np.testing.assert_allclose(heat[-1].z, grid.proba[:, :, 1], atol=1e-6)
    assert "+4 more" in [a.text for a in fig.layout.annotations]


def test_neuron_maps_around_the_data_and_refusals(circles) -> None:
    model = build_model(ModelConfig(kind="logreg"))
    maps = neuron_maps(model, X=circles.X_train, resolution=5)
    assert [layer.role for layer in maps.layers] == ["features", "output"] and maps.activation == ""
    assert maps.xs[0] == pytest.approx(circles.X_train[:, 0].min() - 0.5)
    with pytest.raises(ValueError, match="needs the data X or an explicit box"):
        neuron_maps(model)
    with pytest.raises(ValueError, match="resolution must be > 1"):
        neuron_maps(model, box=BOX, resolution=1)
    with pytest.raises(ValueError, match="need a model of 2-D points; this model takes images"):
        neuron_maps(build_model(ModelConfig(kind="mlp", hidden=(4,), **IMAGE)), box=BOX)


def test_dead_and_saturated_units_are_counted_over_the_data() -> None:
    X = np.random.default_rng(1).uniform(-1, 1, size=(50, 2)).astype(np.float32)
    relu = build_model(ModelConfig(hidden=(3,), activation="relu"))
    sigmoid = build_model(ModelConfig(hidden=(3,), activation="sigmoid"))
    for model in (relu, sigmoid):
        hidden = model[1]
        with torch.no_grad():  # unit 1: always pushed far below 0; unit 2: far above; unit 3: follows x
            hidden.weight.copy_(torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]]))
            hidden.bias.copy_(torch.tensor([-20.0, 20.0, 0.0]))
    relu_layer = neuron_maps(relu, X=X, resolution=4).layers[1]
    sigmoid_layer = neuron_maps(sigmoid, X=X, resolution=4).layers[1]
    assert (relu_layer.dead, relu_layer.saturated) == (1, 0)  # ReLU has no upper limit to saturate at
    assert (sigmoid_layer.dead, sigmoid_layer.saturated) == (0, 2)  # ~0 and ~1 everywhere: no gradient left


def test_unit_health_on_arrays() -> None:
    a = np.array([[0.0, 0.999, 0.5, -1.0], [0.0, 1.0, -0.2, 0.995], [0.0, 0.995, 0.1, -0.999]])
    dead, saturated = unit_health(a, "tanh")
    assert dead.tolist() == [True, False, False, False]
    assert saturated.tolist() == [False, True, False, True]  # at +1, or at either limit of tanh
    assert not unit_health(a, "relu")[1].any()
    with pytest.raises(ValueError, match="n_samples >= 1"):
        unit_health(np.zeros((0, 3)), "relu")


# ---------------------------------------------------------------- hidden space


def test_the_hidden_space_of_a_two_unit_layer_is_the_layer_itself() -> None:
    model = build_model(ModelConfig(hidden=(5, 2), activation="tanh"))
    (W1, b1), (W2, b2), _ = set_weights(model, np.random.default_rng(2))
    X = np.random.default_rng(3).normal(size=(40, 2)).astype(np.float32)
    space = hidden_space(model, X, layer=2)
    expected = np.tanh(np.tanh(X @ W1.T + b1) @ W2.T + b2)
    np.testing.assert_allclose(space.points, expected, atol=1e-5)
    np.testing.assert_array_equal(space.points, hidden_activations(model, X, layer=2))
    assert space.axis_titles == ("unit 1", "unit 2") and space.layer == 2


def test_a_wider_layer_is_projected_on_axes_fitted_once() -> None:
    X = np.random.default_rng(4).normal(size=(60, 2)).astype(np.float32)
    final, early = build_model(ModelConfig(hidden=(6,)), seed=1), build_model(ModelConfig(hidden=(6,)), seed=2)
    projection = fit_projection(hidden_activations(final, X, layer=1))
    assert projection.axis_titles == ("PC 1", "PC 2") and projection.explained[0] >= projection.explained[1]
    late_space = hidden_space(final, X, layer=1)
    np.testing.assert_allclose(late_space.points, projection.transform(hidden_activations(final, X, layer=1)))
    # An earlier snapshot is drawn on the final model's axes: (a - mean) @ components.T, never refitted.
    acts = hidden_activations(early, X, layer=1)
    early_space = hidden_space(early, X, layer=1, projection=projection)
    np.testing.assert_allclose(early_space.points, (acts - projection.mean) @ projection.components.T, atol=1e-5)
    assert not np.allclose(early_space.points, hidden_space(early, X, layer=1).points, atol=1e-3)


def test_hidden_space_refusals() -> None:
    X = np.zeros((4, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="no hidden layer"):
        hidden_space(build_model(ModelConfig(kind="logreg")), X, layer=1)
    with pytest.raises(ValueError, match="layer must be a hidden layer, 1 to 2. Got 3"):
        hidden_space(build_model(ModelConfig(hidden=(3, 3))), X, layer=3)
    with pytest.raises(ValueError, match=r"takes activations of shape \(n, 3\)"):
        Projection(np.zeros(3), np.zeros((2, 3)), ("a", "b")).transform(np.zeros((4, 5)))
    one = fit_projection(np.arange(4, dtype=np.float32)[:, None])  # a one-unit layer: its value, and 0
    np.testing.assert_array_equal(one.transform(np.array([[2.0]])), [[2.0, 0.0]])


# ---------------------------------------------------------------- digits


def test_first_layer_tiles_are_the_weights_as_pictures() -> None:
    mlp = build_model(ModelConfig(kind="mlp", hidden=(12,), **IMAGE))
    tiles = first_layer_tiles(mlp)
    assert tiles.kind == "dense" and tiles.tiles.shape == (12, 28, 28) and "784 → 12" in tiles.layer
    np.testing.assert_array_equal(tiles.tiles[3].ravel(), mlp[1].weight[3].detach().numpy())
    cnn = build_model(ModelConfig(kind="cnn", width=4, **IMAGE))
    filters = first_layer_tiles(cnn)
    assert filters.kind == "conv" and filters.tiles.shape == (4, 3, 3)
    np.testing.assert_array_equal(filters.tiles, cnn[0].weight[:, 0].detach().numpy())
    assert first_layer_tiles(build_model(ModelConfig(kind="lenet", **IMAGE))).tiles.shape == (6, 5, 5)
    with pytest.raises(ValueError, match="for image models"):
        first_layer_tiles(build_model(ModelConfig()))


def test_feature_maps_follow_every_conv_layer(digits) -> None:
    cnn = build_model(ModelConfig(kind="cnn", width=4, **IMAGE))
    image = digits.X_test[0]
    layers = feature_maps(cnn, image)
    assert [(f.name, f.shape) for f in layers] == [("Conv 1 · relu", (4, 28, 28)), ("Conv 2 · relu", (8, 14, 14))]
    with torch.no_grad():
        direct = torch.relu(cnn[0](torch.from_numpy(image[None]))).numpy()[0]
    np.testing.assert_allclose(layers[0].maps, direct, atol=1e-6)
    lenet = feature_maps(build_model(ModelConfig(kind="lenet", activation="tanh", **IMAGE)), image[0])
    assert [(f.name, f.shape) for f in lenet] == [("Conv 1 · tanh", (6, 28, 28)), ("Conv 2 · tanh", (16, 10, 10))]
    with pytest.raises(ValueError, match="need a convolutional model"):
        feature_maps(build_model(ModelConfig(kind="mlp", hidden=(4,), **IMAGE)), image)
    with pytest.raises(ValueError, match=r"shape \(28, 28\) or \(1, 28, 28\)"):
        feature_maps(cnn, np.zeros((14, 14)))


def one_pixel_model(row: int, col: int) -> nn.Sequential:
    """A classifier whose class-1 logit depends on one pixel only."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 2))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].bias.zero_()
        model[1].weight[1, row * 28 + col] = 3.0
    return model


@pytest.mark.parametrize("method", ["integrated_gradients", "saliency"])
def test_attribution_points_at_the_only_pixel_the_model_looks_at(method: str) -> None:
    model = one_pixel_model(13, 7).train()
    image = np.random.default_rng(5).normal(size=(1, 28, 28)).astype(np.float32)
    image[0, 13, 7] = 2.0
    result = attribute_image(model, image, target=1, method=method)
    magnitude = np.abs(result.values)
    assert result.values.shape == (28, 28) and result.target == 1 and result.method == method
    assert np.unravel_index(magnitude.argmax(), magnitude.shape) == (13, 7)
    assert magnitude[13, 7] / magnitude.sum() > 0.99
    expected = (2.0 - BLACK) * 3.0 if method == "integrated_gradients" else 3.0  # IG of a linear model is exact
    assert result.values[13, 7] == pytest.approx(expected, rel=1e-4)
    assert result.probability == pytest.approx(predict_proba(model, image[None])[0, 1], rel=1e-5)
    assert model.training  # the caller's mode is restored


def test_attribution_refusals() -> None:
    model, image = one_pixel_model(0, 0), np.zeros((28, 28), dtype=np.float32)
    with pytest.raises(ValueError, match="target must be a class of this model, 0 to 1. Got 2"):
        attribute_image(model, image, target=2)
    with pytest.raises(ValueError, match="method must be one of integrated_gradients, saliency"):
        attribute_image(model, image, target=0, method="lime")


def test_embeddings_come_from_the_last_hidden_layer(digits) -> None:
    model = build_model(ModelConfig(kind="mlp", hidden=(16, 8), **IMAGE), seed=3)
    X = digits.X_test[:80]
    activations, predicted = last_hidden(model, X, batch_size=32)
    with torch.no_grad():
        direct = model[:-1](torch.from_numpy(X)).numpy()  # everything before the last Linear layer
    np.testing.assert_allclose(activations, direct, atol=1e-5)
    np.testing.assert_array_equal(predicted, predict_proba(model, X).argmax(axis=1))
    pca = embed(model, X)
    assert pca.method == "pca" and pca.points.shape == (80, 2)
    np.testing.assert_array_equal(pca.points, pca_points(activations))
    assert pca.points[:, 0].var() >= pca.points[:, 1].var()  # the first component carries the most variance
    tsne = tsne_points(activations[:40], seed=0)
    assert tsne.shape == (40, 2) and np.isfinite(tsne).all()
    with pytest.raises(ValueError, match="method must be one of pca, tsne"):
        embed(model, X, method="umap")
    with pytest.raises(ValueError, match="n_samples >= 4"):
        pca_points(activations[:3])


def test_timings_report_seconds() -> None:
    small_cnn = ModelConfig(kind="cnn", width=4, **IMAGE)
    timings = [time_neuron_maps(repeats=1), time_attribution(small_cnn, repeats=1),
               time_embedding_pca(small_cnn, n_digits=64, repeats=1)]
    assert all(0 < t < 10 for t in timings)
    with pytest.raises(ValueError, match="repeats must be at least 1"):
        time_neuron_maps(repeats=0)


def test_a_test_digit_as_png_reads_back_as_the_same_digit(digits) -> None:
    from core.data.images import prepare_image
    from core.data.pixels import to_pixels
    from core.insight.digits import digit_png

    raw = digit_png(digits.X_test[0])
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    back = prepare_image(raw).centered  # the Predict page's own reading of an upload
    assert np.abs(back - to_pixels(digits.X_test[0, 0])).mean() < 0.05
    with pytest.raises(ValueError, match="one normalised digit"):
        digit_png(np.zeros((2, 2)))
