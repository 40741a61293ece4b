"""Models: every kind builds, returns logits of the right shape, and is described correctly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.config import DataConfig, ModelConfig, ModelError, TrainConfig
from core.data.make import make_dataset
from core.models import (
    ACTIVATIONS,
    FEATURES,
    activation_curve,
    build_model,
    count_parameters,
    feature_values,
    input_names,
    layer_sizes,
    linear_weights,
    predict_proba,
    summary_table,
)
from core.training.train import train_model

IMAGE = dict(input_shape=(1, 28, 28), n_classes=10)


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(kind="logreg"),
        ModelConfig(kind="mlp", hidden=(8, 8)),
        ModelConfig(kind="mlp", hidden=(1,), activation="sigmoid"),
        ModelConfig(kind="mlp", hidden=(4,) * 6, dropout=0.5),
        ModelConfig(kind="mlp", hidden=(32,), **IMAGE),
        ModelConfig(kind="cnn", width=4, **IMAGE),
        ModelConfig(kind="lenet", **IMAGE),
    ],
    ids=lambda c: f"{c.kind}-{c.hidden}",
)
def test_every_model_returns_logits(config: ModelConfig) -> None:
    model = build_model(config)
    out = model(torch.randn(5, *config.input_shape))
    assert out.shape == (5, config.n_classes)
    table = summary_table(model, config.input_shape)
    assert table["parameters"].sum() == count_parameters(model)
    assert table["output shape"].iloc[-1] == str(config.n_classes)


def test_logistic_regression_is_one_linear_layer() -> None:
    model = build_model(ModelConfig(kind="logreg", n_classes=3))
    assert count_parameters(model) == 2 * 3 + 3
    assert [w.shape for w in linear_weights(model)] == [(3, 2)]


def test_known_parameter_counts() -> None:
    assert count_parameters(build_model(ModelConfig(kind="mlp", hidden=(128,), **IMAGE))) == 784 * 128 + 128 + 1290
    assert count_parameters(build_model(ModelConfig(kind="lenet", **IMAGE))) == 61_706  # the classic LeNet-5


def test_seed_fixes_initial_weights_without_touching_global_rng() -> None:
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_model(ModelConfig(), seed=4)
    after = torch.rand(1)
    b = build_model(ModelConfig(), seed=4)
    c = build_model(ModelConfig(), seed=5)
    assert before == after
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(next(a.parameters()), next(c.parameters()))


def test_predict_proba_rows_sum_to_one_and_keep_mode() -> None:
    model = build_model(ModelConfig(kind="mlp", hidden=(4,), dropout=0.3, n_classes=3))
    model.train()
    proba = predict_proba(model, np.random.default_rng(0).normal(size=(10, 2)).astype(np.float32))
    assert proba.shape == (10, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert model.training  # restored after inference


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (ModelConfig(kind="rnn"), "Unknown model kind 'rnn'"),
        (ModelConfig(activation="swish"), "Unknown activation 'swish'"),
        (ModelConfig(hidden=()), "1 to 6 hidden layers"),
        (ModelConfig(hidden=(8,) * 7), "1 to 6 hidden layers"),
        (ModelConfig(hidden=(0,)), "1 to 1024 units"),
        (ModelConfig(hidden=(2048,)), "1 to 1024 units"),
        (ModelConfig(dropout=0.9), "dropout must be between 0 and 0.5"),
        (ModelConfig(kind="cnn"), "needs 28x28 images"),
        (ModelConfig(n_classes=1), "at least 2 classes"),
    ],
)
def test_bad_model_config(config: ModelConfig, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        build_model(config)


def test_layer_sizes_and_activation_curves() -> None:
    assert layer_sizes(ModelConfig(hidden=(8, 4), n_classes=3)) == [2, 8, 4, 3]
    assert layer_sizes(ModelConfig(kind="logreg", **IMAGE)) == [784, 10]
    x = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(activation_curve("relu", x), np.maximum(x, 0))
    np.testing.assert_allclose(activation_curve("sigmoid", x), 1 / (1 + np.exp(-x)), atol=1e-6)
    assert set(ACTIVATIONS) >= {"relu", "leaky_relu", "tanh", "sigmoid", "softplus", "selu", "gelu", "linear"}
    with pytest.raises(ModelError):
        activation_curve("nope", x)


# ---------------------------------------------------------------- input features (issue 10)


def test_every_feature_is_computed_from_the_raw_coordinates() -> None:
    X = np.array([[1.0, 2.0], [0.5, -1.5], [-2.0, 0.25]], dtype=np.float32)
    x, y = X[:, 0], X[:, 1]
    expected = np.stack([x, y, x * x, y * y, x * y, np.sin(x), np.sin(y)], axis=1)
    np.testing.assert_allclose(feature_values(tuple(FEATURES), X), expected, rtol=1e-6)
    np.testing.assert_allclose(feature_values(("yy", "x"), X), np.stack([y * y, x], axis=1))
    with pytest.raises(ModelError, match=r"2-D points of shape \(n, 2\). Got \(3, 3\)"):
        feature_values(("x",), np.zeros((3, 3)))


def test_features_are_a_fixed_first_layer_and_the_model_still_takes_x_and_y() -> None:
    config = ModelConfig(hidden=(5,), features=("x", "xx", "sinx", "xy"))
    model = build_model(config)
    assert [w.shape for w in linear_weights(model)] == [(5, 4), (2, 5)]  # the first layer sees the four features
    assert count_parameters(model) == 4 * 5 + 5 + 5 * 2 + 2  # and the features add no weights
    assert model(torch.randn(3, 2)).shape == (3, 2)
    assert layer_sizes(config) == [4, 5, 2]
    assert input_names(config) == ["x", "x²", "sin x", "x·y"]
    assert layer_sizes(ModelConfig(kind="logreg", features=("xx", "yy"))) == [2, 2]
    assert input_names(ModelConfig(kind="mlp", hidden=(8,), **IMAGE)) == []
    # Default features keep the saved weights' names, so files written before features existed still load.
    assert list(build_model(ModelConfig(hidden=(3,))).state_dict()) == ["1.weight", "1.bias", "3.weight", "3.bias"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (ModelConfig(features=()), "at least one input feature"),
        (ModelConfig(features=("x", "zz")), r"Unknown input features \['zz'\]"),
        (ModelConfig(features=("x", "x")), "Each input feature can be chosen once"),
        (ModelConfig(kind="mlp", hidden=(8,), features=("x", "y", "xx"), **IMAGE), "for 2-D points only"),
        (ModelConfig(kind="cnn", features=("xx",), **IMAGE), "for 2-D points only"),
    ],
)
def test_bad_features(config: ModelConfig, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        build_model(config)


def test_logistic_regression_with_squares_separates_circles() -> None:
    # Feature engineering instead of depth: x² + y² makes the two rings linearly separable.
    data = make_dataset(DataConfig(name="circles"))
    config = TrainConfig(optimizer="adam", lr=0.03, batch_size=0, epochs=200)

    def accuracy(features: tuple[str, ...]) -> float:
        model = build_model(ModelConfig(kind="logreg", features=features), seed=0)
        train_model(model, data, config)
        return float((predict_proba(model, data.X_test).argmax(axis=1) == data.y_test).mean())

    assert accuracy(("x", "y", "xx", "yy")) >= 0.97
    assert accuracy(("x", "y")) < 0.75  # without them a straight line cannot do it
