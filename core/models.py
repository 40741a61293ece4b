"""Models: logistic regression / MLP / CNNs from one frozen config; every model returns logits."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

MODEL_KINDS = ("logreg", "mlp", "cnn", "lenet")
IMAGE_ONLY_KINDS = ("cnn", "lenet")
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
MAX_HIDDEN_LAYERS = 6
MAX_UNITS = 1024
IMAGE_SHAPE = (1, 28, 28)  # every image model takes one 28x28 channel
POINT_SHAPE = (2,)  # every 2-D model takes the raw coordinates (x, y)
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
FEATURE_LABELS = {"x": "x", "y": "y", "xx": "x²", "yy": "y²", "xy": "x·y", "sinx": "sin x", "siny": "sin y"}
DEFAULT_FEATURES = ("x", "y")


class ModelError(ValueError):
    """A model configuration (or a saved model) that cannot be built; the message says why."""


@dataclass(frozen=True)
class ModelConfig:
    """A whole model description: architecture plus the data shape it was built for."""

    kind: str = "mlp"
    hidden: tuple[int, ...] = (8, 8)  # mlp only: units per hidden layer
    activation: str = "relu"
    dropout: float = 0.0
    width: int = 32  # cnn only: channels of the first conv (the second has twice as many)
    input_shape: tuple[int, ...] = (2,)
    n_classes: int = 2
    features: tuple[str, ...] = DEFAULT_FEATURES  # 2-D data only: what the fixed first layer computes from (x, y)

    @property
    def takes_images(self) -> bool:
        """True for a model of 28x28 digits, False for one of 2-D points."""
        return tuple(self.input_shape) == IMAGE_SHAPE


def validate_model_config(config: ModelConfig) -> None:
    """Raise ModelError naming the first field of `config` that cannot be built."""
    if config.kind not in MODEL_KINDS:
        raise ModelError(f"Unknown model kind {config.kind!r}; choose one of {', '.join(MODEL_KINDS)}.")
    if config.activation not in ACTIVATIONS:
        raise ModelError(f"Unknown activation {config.activation!r}; choose one of {', '.join(ACTIVATIONS)}.")
    if not 0.0 <= config.dropout <= 0.5:
        raise ModelError(f"dropout must be between 0 and 0.5. Got {config.dropout} instead.")
    if config.n_classes < 2:
        raise ModelError(f"A classifier needs at least 2 classes. Got {config.n_classes} instead.")
    if config.kind == "mlp":
        if not 1 <= len(config.hidden) <= MAX_HIDDEN_LAYERS:
            raise ModelError(f"An MLP needs 1 to {MAX_HIDDEN_LAYERS} hidden layers. Got {len(config.hidden)}.")
        if any(not 1 <= u <= MAX_UNITS for u in config.hidden):
            raise ModelError(f"Hidden layers need 1 to {MAX_UNITS} units each. Got {list(config.hidden)}.")
    if config.kind in IMAGE_ONLY_KINDS:
        if not config.takes_images:
            raise ModelError(f"A {config.kind} needs 28x28 images; this data has shape {config.input_shape}.")
        if not 4 <= config.width <= 128:
            raise ModelError(f"CNN width must be between 4 and 128. Got {config.width} instead.")
    _validate_features(config)


def _validate_features(config: ModelConfig) -> None:
    """Features: a non-empty subset of FEATURES, and only for models of 2-D points."""
    features = tuple(config.features)
    if not features:
        raise ModelError(f"Choose at least one input feature from {', '.join(FEATURES)}.")
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise ModelError(f"Unknown input features {[str(f)[:20] for f in unknown[:5]]}; choose from "
                         f"{', '.join(FEATURES)}.")
    if len(set(features)) != len(features):
        raise ModelError(f"Each input feature can be chosen once. Got {list(features)}.")
    if features != DEFAULT_FEATURES and tuple(config.input_shape) != POINT_SHAPE:
        raise ModelError(f"Input features are for 2-D points only; a model of shape {tuple(config.input_shape)} "
                         f"takes its inputs as they are. Use features={DEFAULT_FEATURES} (got {list(features)}).")


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
    _validate_features(ModelConfig(features=tuple(features)))
    with torch.inference_mode():
        return InputFeatures(tuple(features))(torch.as_tensor(X)).numpy().copy()


def activation_curve(name: str, x: np.ndarray) -> np.ndarray:
    """The activation function `name` evaluated at the points x."""
    if name not in ACTIVATIONS:
        raise ModelError(f"Unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}.")
    with torch.inference_mode():
        return ACTIVATIONS[name]()(torch.as_tensor(x, dtype=torch.float32)).numpy()
