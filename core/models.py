"""Models: logistic regression / MLP / CNNs from one frozen config; every model returns logits."""

from __future__ import annotations

import math
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
        if tuple(config.input_shape) != (1, 28, 28):
            raise ModelError(f"A {config.kind} needs 28x28 images; this data has shape {config.input_shape}.")
        if not 4 <= config.width <= 128:
            raise ModelError(f"CNN width must be between 4 and 128. Got {config.width} instead.")


def _mlp(config: ModelConfig, hidden: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(config.input_shape)
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


def predict_proba(model: nn.Module, X: np.ndarray, *, batch_size: int = 8192) -> np.ndarray:
    """Class probabilities (n, n_classes) for inputs X, in one inference-mode pass per batch."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(X), batch_size):
            batch = torch.as_tensor(X[start: start + batch_size], dtype=torch.float32, device=device)
            out.append(torch.softmax(model(batch), dim=1).cpu().numpy())
    model.train(was_training)
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
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for i, layer in enumerate(model):
            x = layer(x)
            rows.append({
                "layer": f"{i}: {layer.__class__.__name__}",
                "output shape": " × ".join(str(d) for d in x.shape[1:]),
                "parameters": sum(p.numel() for p in layer.parameters()),
            })
    model.train(was_training)
    return pd.DataFrame(rows)


def linear_weights(model: nn.Module) -> list[np.ndarray]:
    """Weight matrices (out, in) of the model's Linear layers, in order, as numpy arrays."""
    return [m.weight.detach().cpu().numpy().copy() for m in model.modules() if isinstance(m, nn.Linear)]


def layer_sizes(config: ModelConfig) -> list[int]:
    """Units per layer of a dense model, input to output (for drawing the network)."""
    hidden = list(config.hidden) if config.kind == "mlp" else []
    return [math.prod(config.input_shape), *hidden, config.n_classes]


def activation_curve(name: str, x: np.ndarray) -> np.ndarray:
    """The activation function `name` evaluated at the points x."""
    if name not in ACTIVATIONS:
        raise ModelError(f"Unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}.")
    with torch.inference_mode():
        return ACTIVATIONS[name]()(torch.as_tensor(x, dtype=torch.float32)).numpy()
