"""Models: logistic regression / MLP / CNNs from one frozen config; every model returns logits."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import torch
from torch import nn

from core.config import (
    DEFAULT_FEATURES,
    FEATURE_LABELS,
    POINT_SHAPE,
    ModelConfig,
    ModelError,
    validate_features,
    validate_model_config,
)

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softplus": nn.Softplus,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "linear": nn.Identity,
}
# Input features of 2-D models: a fixed first layer computing these from the raw (x, y), in the chosen order.
FEATURES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "x": lambda x, y: x,
    "y": lambda x, y: y,
    "xx": lambda x, y: x * x,
    "yy": lambda x, y: y * y,
    "xy": lambda x, y: x * y,
    "sinx": lambda x, y: torch.sin(x),
    "siny": lambda x, y: torch.sin(y),
}


class InputFeatures(nn.Module):
    """The fixed first layer of a 2-D model: raw (x, y) -> the chosen features; it has no weights."""

    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__()
        self.names = tuple(names)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """(B, 2) raw points -> (B, n_features), columns in the chosen order."""
        if self.names == DEFAULT_FEATURES:
            return X
        x, y = X[:, 0], X[:, 1]
        return torch.stack([FEATURES[name](x, y) for name in self.names], dim=1)  # (B, 2) -> (B, n_features)

    def extra_repr(self) -> str:
        """The feature names, for print(model)."""
        return ", ".join(self.names)


def _mlp(config: ModelConfig, hidden: tuple[int, ...]) -> nn.Sequential:
    # A 2-D model starts with its features where an image model flattens: the same index, so saved
    # weights keep their names ("1.weight", ...) whether or not the file knew about features.
    if tuple(config.input_shape) == POINT_SHAPE:
        layers: list[nn.Module] = [InputFeatures(tuple(config.features))]
        width = len(config.features)
    else:
        layers, width = [nn.Flatten()], math.prod(config.input_shape)
    for units in hidden:
        layers += [nn.Linear(width, units), ACTIVATIONS[config.activation]()]
        if config.dropout > 0:
            layers.append(nn.Dropout(config.dropout))
        width = units
    layers.append(nn.Linear(width, config.n_classes))
    return nn.Sequential(*layers)


def _small_cnn(config: ModelConfig) -> nn.Sequential:
    w, act = config.width, ACTIVATIONS[config.activation]
    return nn.Sequential(
        nn.Conv2d(1, w, 3, padding=1), act(), nn.MaxPool2d(2),  # (B, 1, 28, 28) -> (B, w, 14, 14)
        nn.Conv2d(w, 2 * w, 3, padding=1), act(), nn.MaxPool2d(2),  # -> (B, 2w, 7, 7)
        nn.Flatten(),  # -> (B, 2w * 49)
        nn.Dropout(config.dropout), nn.Linear(2 * w * 7 * 7, 128), act(),
        nn.Linear(128, config.n_classes),
    )


def _lenet(config: ModelConfig) -> nn.Sequential:
    act = ACTIVATIONS[config.activation]
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), act(), nn.AvgPool2d(2),  # (B, 1, 28, 28) -> (B, 6, 14, 14)
        nn.Conv2d(6, 16, 5), act(), nn.AvgPool2d(2),  # -> (B, 16, 10, 10) -> (B, 16, 5, 5)
        nn.Flatten(),  # -> (B, 400)
        nn.Linear(16 * 5 * 5, 120), act(), nn.Dropout(config.dropout),
        nn.Linear(120, 84), act(),
        nn.Linear(84, config.n_classes),
    )


def build_model(config: ModelConfig, *, seed: int = 0) -> nn.Module:
    """Build the network `config` describes, its initial weights fixed by `seed`."""
    validate_model_config(config)
    builders = {"logreg": lambda c: _mlp(c, ()),  # logistic regression: an MLP with no hidden layer
                "mlp": lambda c: _mlp(c, tuple(c.hidden)), "cnn": _small_cnn, "lenet": _lenet}
    with torch.random.fork_rng(devices=[]):  # seed the init without touching the global RNG
        torch.manual_seed(seed)
        return builders[config.kind](config)


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Inference mode with dropout off for the block; the model's train/eval flag is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield model
    finally:
        model.train(was_training)


def predict_proba(model: nn.Module, X: np.ndarray, *, batch_size: int = 8192) -> np.ndarray:
    """Class probabilities (n, n_classes) for inputs X, in one inference-mode pass per batch."""
    device = next(model.parameters()).device
    out = []
    with eval_mode(model):
        for start in range(0, len(X), batch_size):
            batch = torch.as_tensor(X[start: start + batch_size], dtype=torch.float32, device=device)
            out.append(torch.softmax(model(batch), dim=1).cpu().numpy())
    if not out:
        return np.zeros((0, model_output_size(model)), dtype=np.float32)
    return np.concatenate(out)


def model_output_size(model: nn.Module) -> int:
    """Number of classes the model predicts (out_features of its last Linear layer)."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)][-1].out_features


def default_device() -> torch.device:
    """CUDA when present, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def summary_table(model: nn.Module, input_shape: tuple[int, ...]) -> pd.DataFrame:
    """One row per layer: name, output shape (without batch) and parameter count."""
    rows = []
    x = torch.zeros((1, *input_shape), device=next(model.parameters()).device)
    with eval_mode(model):
        for i, layer in enumerate(model):
            x = layer(x)
            rows.append({
                "layer": f"{i}: {layer.__class__.__name__}",
                "output shape": " × ".join(str(d) for d in x.shape[1:]),
                "parameters": sum(p.numel() for p in layer.parameters()),
            })
    return pd.DataFrame(rows)


def linear_weights(model: nn.Module) -> list[np.ndarray]:
    """Weight matrices (out, in) of the model's Linear layers, in order, as numpy arrays."""
    return [m.weight.detach().cpu().numpy().copy() for m in model.modules() if isinstance(m, nn.Linear)]


def layer_sizes(config: ModelConfig) -> list[int]:
    """Units per layer of a dense model, input (the features of 2-D data) to output (for drawing the network)."""
    hidden = list(config.hidden) if config.kind == "mlp" else []
    inputs = len(config.features) if tuple(config.input_shape) == POINT_SHAPE else math.prod(config.input_shape)
    return [inputs, *hidden, config.n_classes]


def input_names(config: ModelConfig) -> list[str]:
    """Labels of the network's input column: the chosen features of 2-D data ("x²", ...), none for images."""
    if tuple(config.input_shape) != POINT_SHAPE:
        return []
    return [FEATURE_LABELS.get(name, name) for name in config.features]


def feature_values(features: tuple[str, ...], X: np.ndarray) -> np.ndarray:
    """The input features (n, n_features) of 2-D points X (n, 2), as the model's first layer computes them."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ModelError(f"Input features are computed from 2-D points of shape (n, 2). Got {X.shape} instead.")
    validate_features(ModelConfig(features=tuple(features)))
    with torch.inference_mode():
        return InputFeatures(tuple(features))(torch.as_tensor(X)).numpy().copy()


def activation_curve(name: str, x: np.ndarray) -> np.ndarray:
    """The activation function `name` evaluated at the points x."""
    if name not in ACTIVATIONS:
        raise ModelError(f"Unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}.")
    with torch.inference_mode():
        return ACTIVATIONS[name]()(torch.as_tensor(x, dtype=torch.float32)).numpy()
