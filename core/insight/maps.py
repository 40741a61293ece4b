"""Inside a model of 2-D points: each unit's output over the plane, dead and saturated units, the hidden space."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
from sklearn.decomposition import PCA
from threadpoolctl import ThreadpoolController
from torch import nn

from core.boundary import grid_box
from core.config import DEAD_TOL, FEATURE_LABELS
from core.models import ACTIVATIONS, InputFeatures, eval_mode, linear_weights

SATURATION_TOL = 0.01  # within this of a limit of its activation counts as "at the limit"
SATURATION_LIMITS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}  # activations that flatten out at both ends
NAME_OF_ACTIVATION = {cls: name for name, cls in ACTIVATIONS.items()}


@dataclass(frozen=True, eq=False)
class LayerMaps:
    """One layer's units over the grid: values[u, i, j] is unit u's output at the point (xs[j], ys[i])."""

    name: str  # "Features", "Hidden 1", ..., "Output"
    role: str  # "features" | "hidden" | "output" (output values are class probabilities)
    unit_names: tuple[str, ...]
    values: np.ndarray  # (units, resolution, resolution) float32
    dead: int = 0  # units whose output is always 0 over the data
    saturated: int = 0  # units always at a limit of their activation (sigmoid ~0/1, tanh ~±1) over the data


@dataclass(frozen=True, eq=False)
class NeuronMaps:
    """Every layer of a 2-D model over one grid box, features first and class probabilities last."""

    xs: np.ndarray  # (resolution,)
    ys: np.ndarray  # (resolution,)
    layers: tuple[LayerMaps, ...]
    activation: str  # the hidden layers' activation ("relu", ...; "" for a model without hidden layers)
    weights: tuple[np.ndarray, ...] = ()  # (out, in) matrices between consecutive layers, features to output


@dataclass(frozen=True, eq=False)
class Projection:
    """A fixed map from a hidden layer's units to two axes: the units themselves for 2, else a fitted PCA."""

    mean: np.ndarray  # (units,)
    components: np.ndarray  # (2, units)
    axis_titles: tuple[str, str]
    explained: tuple[float, float] | None = None  # PCA's explained-variance ratios; None when not a PCA

    def transform(self, activations: np.ndarray) -> np.ndarray:
        """(n, units) activations -> (n, 2) points on this projection's axes."""
        activations = np.asarray(activations, dtype=np.float32)
        if activations.ndim != 2 or activations.shape[1] != len(self.mean):
            raise ValueError(f"This projection takes activations of shape (n, {len(self.mean)}). "
                             f"Got {activations.shape} instead; fit it on the same layer.")
        return ((activations - self.mean) @ self.components.T).astype(np.float32)


@dataclass(frozen=True, eq=False)
class HiddenSpace:
    """The data as a hidden layer sees it: one 2-D point per sample."""

    points: np.ndarray  # (n, 2) float32
    layer: int  # 1-based hidden layer
    axis_titles: tuple[str, str]


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()  # finds the loaded BLAS libraries once (a few ms)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread for the block (a small PCA's matrix products)."""
    # On a busy 2-core server two BLAS threads spin-wait for each other: a 2,000 x 128 PCA took up to
    # ~300 ms that way, and 2-10 ms on one thread.
    with _blas().limit(limits=1, user_api="blas"):
        yield


def _walk(model: nn.Module, X: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Run a Sequential module by module: every Linear layer's input (features, hidden outputs) and the logits."""
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"Looking inside needs a model built by core.models (an nn.Sequential). "
                         f"Got {type(model).__name__}.")
    inputs = []
    for layer in model:
        if isinstance(layer, nn.Linear):
            inputs.append(X)
        X = layer(X)
    return inputs, X


def layer_outputs(model: nn.Module, X: np.ndarray) -> list[np.ndarray]:
    """Dense layers' inputs in order (flattened inputs or features, each hidden layer) and class probabilities."""
    device = next(model.parameters()).device
    with eval_mode(model):
        inputs, logits = _walk(model, torch.as_tensor(np.asarray(X, dtype=np.float32), device=device))
        outputs = [*inputs, torch.softmax(logits, dim=1)]
        return [t.reshape(len(t), -1).cpu().numpy() for t in outputs]


def activation_name(model: nn.Module) -> str:
    """The hidden layers' activation ("relu", "tanh", ...): "" for a model with none (logistic regression)."""
    names = [NAME_OF_ACTIVATION[type(m)] for m in model.modules() if type(m) in NAME_OF_ACTIVATION]
    return names[0] if names else ""


def unit_health(activations: np.ndarray, activation: str) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (units,) of dead units (always ~0) and saturated ones (always at a limit) over the rows.

    A unit always at 0 where 0 is a limit of its activation (sigmoid) counts as saturated, not dead.
    """
    activations = np.asarray(activations, dtype=np.float32)
    if activations.ndim != 2 or len(activations) == 0:
        raise ValueError(f"activations must be (n_samples, units) with n_samples >= 1. Got {activations.shape}.")
    at_limit = np.zeros(activations.shape, dtype=bool)
    for limit in SATURATION_LIMITS.get(activation, ()):
        at_limit |= np.abs(activations - limit) <= SATURATION_TOL
    saturated = at_limit.all(axis=0)
    # A sigmoid stuck at 0 sits at a limit (saturated); "dead" is for units whose 0 is not a limit (ReLU's floor).
    return (np.abs(activations).max(axis=0) <= DEAD_TOL) & ~saturated, saturated


def _grid_points(box: tuple[float, float, float, float], resolution: int) -> tuple[np.ndarray, ...]:
    """xs, ys and the (resolution², 2) points of the grid, rows following ys (as in core.boundary)."""
    x0, x1, y0, y1 = box
    xs = np.linspace(x0, x1, resolution, dtype=np.float32)
    ys = np.linspace(y0, y1, resolution, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.stack([gx.ravel(), gy.ravel()], axis=1)


def _unit_names(role: str, first: InputFeatures, units: int, class_names: tuple[str, ...]) -> tuple[str, ...]:
    """Features by their labels ("x²"), outputs by class name (or "class 0"), hidden units from "unit 1"."""
    if role == "features":
        return tuple(FEATURE_LABELS.get(name, name) for name in first.names)
    if role == "output":
        return class_names if len(class_names) == units else tuple(f"class {u}" for u in range(units))
    return tuple(f"unit {u + 1}" for u in range(units))


def neuron_maps(model: nn.Module, *, X: np.ndarray | None = None, box: tuple[float, float, float, float] | None = None,
                resolution: int = 40, padding: float = 0.5, class_names: tuple[str, ...] = ()) -> NeuronMaps:
    """Every unit's output over a grid around X (or `box`); dead and saturated units counted over X (else the grid)."""
    if resolution < 2:
        raise ValueError(f"resolution must be > 1. Got {resolution} instead.")
    first = model[0] if isinstance(model, nn.Sequential) and len(model) else None
    if not isinstance(first, InputFeatures):
        raise ValueError("Neuron maps are drawn over the plane, so they need a model of 2-D points; "
                         "this model takes images.")
    if box is None:
        if X is None:
            raise ValueError("neuron_maps needs the data X or an explicit box.")
        box = grid_box(np.asarray(X), padding=padding)
    xs, ys, points = _grid_points(box, resolution)
    on_grid = layer_outputs(model, points)
    on_data = layer_outputs(model, X) if X is not None and len(X) else on_grid
    activation = activation_name(model)
    layers = []
    for k, (values, seen) in enumerate(zip(on_grid, on_data)):
        role = "features" if k == 0 else "output" if k == len(on_grid) - 1 else "hidden"
        units = values.shape[1]
        counts = [int(mask.sum()) for mask in unit_health(seen, activation)] if role == "hidden" else [0, 0]
        name = {"features": "Features", "output": "Output"}.get(role, f"Hidden {k}")
        layers.append(LayerMaps(name, role, _unit_names(role, first, units, tuple(class_names)),
                                values.T.reshape(units, resolution, resolution).copy(),  # (r², u) -> (u, r, r)
                                *counts))
    return NeuronMaps(xs, ys, tuple(layers), activation, tuple(linear_weights(model)))


def hidden_activations(model: nn.Module, X: np.ndarray, *, layer: int) -> np.ndarray:
    """The outputs (n, units) of hidden layer `layer` (1 = the first) for the inputs X."""
    outputs = layer_outputs(model, X)
    n_hidden = len(outputs) - 2  # minus the inputs and the class probabilities
    if n_hidden == 0:
        raise ValueError("This model has no hidden layer (logistic regression): add one to see a hidden space.")
    if not 1 <= layer <= n_hidden:
        raise ValueError(f"layer must be a hidden layer, 1 to {n_hidden}. Got {layer} instead.")
    return outputs[layer]


def fit_projection(activations: np.ndarray) -> Projection:
    """Axes for a hidden layer: its units when it has one or two, else PCA's first two components, fitted once."""
    activations = np.asarray(activations, dtype=np.float32)
    if activations.ndim != 2 or activations.shape[1] < 1:
        raise ValueError(f"activations must be (n_samples, units). Got shape {activations.shape} instead.")
    units = activations.shape[1]
    if units <= 2:
        components = np.eye(2, units, dtype=np.float32)  # 1 unit: the second axis stays at 0
        return Projection(np.zeros(units, np.float32), components, ("unit 1", "unit 2" if units == 2 else ""))
    if len(activations) < 2:
        raise ValueError(f"A PCA needs at least 2 samples. Got {len(activations)} instead.")
    with one_blas_thread():
        pca = PCA(n_components=2, svd_solver="covariance_eigh").fit(activations)
    ratios = pca.explained_variance_ratio_
    return Projection(pca.mean_.astype(np.float32), pca.components_.astype(np.float32), ("PC 1", "PC 2"),
                      (float(ratios[0]), float(ratios[1])))


def hidden_space(model: nn.Module, X: np.ndarray, *, layer: int, projection: Projection | None = None) -> HiddenSpace:
    """X as hidden layer `layer` sees it, on `projection`'s axes (fitted here when none is given)."""
    activations = hidden_activations(model, X, layer=layer)
    projection = projection or fit_projection(activations)
    return HiddenSpace(projection.transform(activations), layer, projection.axis_titles)
