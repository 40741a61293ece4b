"""Models: logistic regression / MLP / CNNs from one frozen config; every model returns logits.

Everything random in a model draws from a generator of its own: the initial weights from one seeded by the
build's seed, dropout masks from the one its run hands over. Torch's process-wide RNG is never read nor
changed, so builds and runs on other threads cannot shift each other's numbers.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import numpy as np
import pandas as pd
import torch
from torch import nn

from core.config import (
    DEFAULT_FEATURES,
    DEVICES,
    FEATURE_LABELS,
    POINT_SHAPE,
    ModelConfig,
    ModelError,
    TrainError,
    validate_features,
    validate_model_config,
)


class Sine(nn.Module):
    """sin(x) as an activation (SIREN-style periodic units)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Elementwise sine."""
        return torch.sin(x)



ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softplus": nn.Softplus,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "elu": nn.ELU,
    "sine": Sine,
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
# How initial weights are drawn, kept with each run. 1 (before #18): torch's layer defaults from the process-wide
# RNG, seeded under a fork, so a build on another thread at the same time could shift them. 2: the same
# distributions in the same order from a generator of the build's own (`init_weights`); on the CPU a lone
# build gets the very values scheme 1 gave.
INIT_SCHEME = 2
DEVICE_ENV = "NNLAB_DEVICE"  # what device "auto" means on this machine (cpu keeps a GPU free); tests set it to cpu


class SigmoidHead(nn.Module):
    """The sigmoid head's last step: one logit z (B, 1) -> the pair (0, z) (B, 2), no weights.

    softmax((0, z)) = (1 - sigmoid(z), sigmoid(z)) and cross-entropy on it equals BCE on z, so everything that reads
    two logits (probabilities, boundaries, metrics) reads this model unchanged; `output_logits` gives z itself.
    """

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, 1) -> (B, 2)."""
        return torch.cat([torch.zeros_like(z), z], dim=1)


def has_sigmoid_head(model: nn.Module) -> bool:
    """True when `model` ends in one logit and a sigmoid (ModelConfig.head "sigmoid")."""
    return isinstance(model, nn.Sequential) and isinstance(model[-1], SigmoidHead)


class Dropout(nn.Module):
    """Dropout whose masks come from `generator`, not torch's process-wide RNG: the same seed, the same masks.

    Training: each value is zeroed with probability p and the rest scaled by 1/(1-p); eval: the identity.
    A run hands its generator over with `use_dropout_generator`; until then masks come from one seeded 0.
    No weights and no buffers, so a model's state_dict keys are those of torch's nn.Dropout.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = float(p)
        self.generator = torch.Generator().manual_seed(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x with a fresh mask applied (training) or unchanged (eval, or p = 0)."""
        if not self.training or self.p == 0:
            return x
        # Drawn on the generator's device (the trainer gives one on the model's device, so no copy then).
        keep = torch.empty(x.shape, dtype=x.dtype, device=self.generator.device)
        keep.bernoulli_(1.0 - self.p, generator=self.generator).div_(1.0 - self.p)  # mask scaled first, as torch's
        return x * keep.to(x.device)

    def extra_repr(self) -> str:
        """The drop probability, for print(model)."""
        return f"p={self.p}"


def use_dropout_generator(model: nn.Module, generator: torch.Generator) -> None:
    """Let every dropout layer of `model` draw its masks from `generator` (one stream, in forward order)."""
    for layer in model.modules():
        if isinstance(layer, Dropout):
            layer.generator = generator


def init_weights(model: nn.Module, generator: torch.Generator) -> None:
    """Every Linear and Conv2d layer, in order, drawn from `generator` with PyTorch's default distributions:
    weights kaiming-uniform with a = sqrt(5), biases uniform in ±1/sqrt(fan_in)."""
    done: set[int] = set()
    for layer in model.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d):
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            if layer.bias is not None:
                fan_in = math.prod(layer.weight.shape[1:])  # inputs (Linear) or in_channels x kernel (Conv2d)
                bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
            done |= {id(p) for p in layer.parameters()}
    missed = [name for name, p in model.named_parameters() if id(p) not in done]
    if missed:  # a new kind of layer must get its initialiser here, or its weights would be left as garbage
        raise ModelError(f"init_weights has no initialiser for {', '.join(missed)}; add one for its layer.")


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


# The weighted layers are made on the meta device: they allocate nothing, and torch's own init, which would draw from
# (and advance) the process-wide RNG, draws nothing (build_model gives them their memory and their weights). Told so
# one by one rather than in a `torch.device("meta")` block, which sends every torch call of the build through Python:
# 1.2 ms against 0.5 ms for the default 2-D MLP, paid by every run a slider move starts.
_linear = partial(nn.Linear, device="meta")
_conv = partial(nn.Conv2d, device="meta")


def _mlp(config: ModelConfig, hidden: tuple[int, ...]) -> nn.Sequential:
    # A 2-D model starts with its features where an image model flattens: the same index, so saved
    # weights keep their names ("1.weight", ...) whether or not the file knew about features.
    if tuple(config.input_shape) == POINT_SHAPE:
        layers: list[nn.Module] = [InputFeatures(tuple(config.features))]
        width = len(config.features)
    else:
        layers, width = [nn.Flatten()], math.prod(config.input_shape)
    for units in hidden:
        layers += [_linear(width, units), ACTIVATIONS[config.activation]()]
        if config.dropout > 0:
            layers.append(Dropout(config.dropout))
        width = units
    return nn.Sequential(*layers, *_output(config, width))


def _output(config: ModelConfig, width: int) -> list[nn.Module]:
    """The last layer: one logit per class (softmax), or one logit and the SigmoidHead."""
    if config.head == "sigmoid":
        return [_linear(width, 1), SigmoidHead()]
    return [_linear(width, config.n_classes)]


def _small_cnn(config: ModelConfig) -> nn.Sequential:
    w, act = config.width, ACTIVATIONS[config.activation]
    return nn.Sequential(
        _conv(1, w, 3, padding=1), act(), nn.MaxPool2d(2),  # (B, 1, 28, 28) -> (B, w, 14, 14)
        _conv(w, 2 * w, 3, padding=1), act(), nn.MaxPool2d(2),  # -> (B, 2w, 7, 7)
        nn.Flatten(),  # -> (B, 2w * 49)
        Dropout(config.dropout), _linear(2 * w * 7 * 7, 128), act(),
        *_output(config, 128),
    )


def _lenet(config: ModelConfig) -> nn.Sequential:
    act = ACTIVATIONS[config.activation]
    return nn.Sequential(
        _conv(1, 6, 5, padding=2), act(), nn.AvgPool2d(2),  # (B, 1, 28, 28) -> (B, 6, 14, 14)
        _conv(6, 16, 5), act(), nn.AvgPool2d(2),  # -> (B, 16, 10, 10) -> (B, 16, 5, 5)
        nn.Flatten(),  # -> (B, 400)
        _linear(16 * 5 * 5, 120), act(), Dropout(config.dropout),
        _linear(120, 84), act(),
        *_output(config, 84),
    )


def build_model(config: ModelConfig, *, seed: int = 0) -> nn.Module:
    """Build the network `config` describes on the CPU, its initial weights fixed by `seed` (INIT_SCHEME); inside a
    `torch.device("meta")` block, only its shapes (core.training.budget counts the work so)."""
    validate_model_config(config)
    builders = {"logreg": lambda c: _mlp(c, ()),  # logistic regression: an MLP with no hidden layer
                "mlp": lambda c: _mlp(c, tuple(c.hidden)), "cnn": _small_cnn, "lenet": _lenet}
    model = builders[config.kind](config)  # on the meta device (_linear, _conv)
    if torch.get_default_device().type == "meta":
        return model
    _allocate(model)
    init_weights(model, torch.Generator().manual_seed(seed))
    return model


def _allocate(model: nn.Module) -> None:
    """Give a model built on the meta device uninitialised memory on the CPU, as `model.to_empty(device="cpu")` does
    without its Python round trip per tensor (0.4 ms for the default 2-D MLP, against 0.04 ms here)."""
    for module in model.modules():
        for name, p in list(module.named_parameters(recurse=False)):
            memory = torch.empty(p.shape, dtype=p.dtype, device="cpu")
            setattr(module, name, nn.Parameter(memory, requires_grad=p.requires_grad))
        for name, b in list(module.named_buffers(recurse=False)):
            setattr(module, name, torch.empty(b.shape, dtype=b.dtype, device="cpu"))


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


INFERENCE_BATCH = 8192  # 2-D points a pass
# Images a pass: a CNN of the dashboard's widest (64) holds ~0.4 MB of activations an image, so 8,192 at once took
# 3.5 GB (6.1 GB at the engine's 128) to score 10,000 digits; 512 keep a pass near 200 MB, about as fast.
IMAGE_INFERENCE_BATCH = 512


def inference_batch(X: np.ndarray | torch.Tensor) -> int:
    """How many of these inputs to score in one pass: fewer images than points, to bound the memory."""
    return IMAGE_INFERENCE_BATCH if X.ndim == 4 else INFERENCE_BATCH


def predict_proba(model: nn.Module, X: np.ndarray, *, batch_size: int | None = None) -> np.ndarray:
    """Class probabilities (n, n_classes) for inputs X, in one inference-mode pass per batch (by default
    `inference_batch`'s)."""
    batch_size = batch_size or inference_batch(X)
    device = next(model.parameters()).device
    out = []
    with eval_mode(model):
        for start in range(0, len(X), batch_size):
            batch = torch.as_tensor(X[start: start + batch_size], dtype=torch.float32, device=device)
            out.append(torch.softmax(model(batch), dim=1).cpu().numpy())
    if not out:
        return np.zeros((0, model_output_size(model)), dtype=np.float32)
    return np.concatenate(out)


def output_logits(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """The last layer's raw outputs for inputs X: (n, n_classes) logits, or (n, 1) with a sigmoid head (z)."""
    device = next(model.parameters()).device
    with eval_mode(model):
        out = model(torch.as_tensor(np.asarray(X), dtype=torch.float32, device=device)).cpu().numpy()
    return out[:, 1:] if has_sigmoid_head(model) else out


def model_output_size(model: nn.Module) -> int:
    """Number of classes the model predicts (out_features of its last Linear layer; 2 with a sigmoid head)."""
    return 2 if has_sigmoid_head(model) else [m for m in model.modules() if isinstance(m, nn.Linear)][-1].out_features


def default_device(*, images: bool = True) -> torch.device:
    """What device "auto" trains on: $NNLAB_DEVICE when set; else CUDA, when present, for image models (a 2-D
    model's tiny batches run faster on the CPU than they launch on a GPU); else the CPU."""
    wanted = os.environ.get(DEVICE_ENV, "").strip().lower()
    if wanted and wanted != "auto":
        return resolve_device(wanted, images=images)
    return torch.device("cuda" if images and torch.cuda.is_available() else "cpu")


def resolve_device(name: str, *, images: bool) -> torch.device:
    """The torch device for RunOptions.device ("auto", "cpu" or "cuda"); TrainError when CUDA is asked for and
    absent."""
    if name not in DEVICES:
        raise TrainError(f"device must be one of {', '.join(DEVICES)}. Got {str(name)[:20]!r}.")
    if name == "auto":
        return default_device(images=images)
    if name == "cuda" and not torch.cuda.is_available():
        why = "no GPU was found" if torch.version.cuda else "this torch was built without CUDA"
        raise TrainError(f"device cuda was asked for, but CUDA is not available here ({why}); use cpu or auto.")
    return torch.device(name)


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


def linear_biases(model: nn.Module) -> list[np.ndarray]:
    """Bias vectors (out,) of the model's Linear layers, in order (zeros for a layer without one)."""
    return [m.bias.detach().cpu().numpy().copy() if m.bias is not None else np.zeros(m.out_features, np.float32)
            for m in model.modules() if isinstance(m, nn.Linear)]


def layer_sizes(config: ModelConfig) -> list[int]:
    """Units per layer of a dense model, input (the features of 2-D data) to output (for drawing the network)."""
    hidden = list(config.hidden) if config.kind == "mlp" else []
    inputs = len(config.features) if tuple(config.input_shape) == POINT_SHAPE else math.prod(config.input_shape)
    return [inputs, *hidden, 1 if config.head == "sigmoid" else config.n_classes]


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
