"""What looking inside costs: timings for the benchmark (median seconds per call, on random inputs)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from core.insight.digits import attribute_image, embed, last_hidden, pca_points
from core.insight.maps import neuron_maps
from core.models import IMAGE_SHAPE, ModelConfig, build_model

BENCH_NETWORK = ModelConfig(kind="mlp", hidden=(8,) * 6, activation="tanh")  # the "6x8 network"


def _median_seconds(call: Callable[[], object], repeats: int) -> float:
    """Median wall time of `repeats` calls, after one untimed warm-up call."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1. Got {repeats} instead.")
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def time_neuron_maps(*, config: ModelConfig = BENCH_NETWORK, resolution: int = 40, n_points: int = 500,
                     repeats: int = 10) -> float:
    """Seconds for every unit's map of a (default 6x8) 2-D network on a resolution² grid, counted over n_points."""
    X = np.random.default_rng(0).normal(size=(n_points, 2)).astype(np.float32)
    model = build_model(config)
    return _median_seconds(lambda: neuron_maps(model, X=X, resolution=resolution), repeats)


def time_attribution(config: ModelConfig, *, method: str = "integrated_gradients", repeats: int = 5) -> float:
    """Seconds for one image's attribution map with a freshly built model of `config` (weights do not matter)."""
    image = np.random.default_rng(0).normal(size=IMAGE_SHAPE).astype(np.float32)
    model = build_model(config)
    return _median_seconds(lambda: attribute_image(model, image, target=0, method=method), repeats)


def time_embedding_pca(config: ModelConfig, *, n_digits: int = 2000, repeats: int = 5,
                       include_forward: bool = False) -> float:
    """Seconds for the PCA of n_digits images' last hidden layer; with include_forward, the model's pass too."""
    X = np.random.default_rng(0).normal(size=(n_digits, *IMAGE_SHAPE)).astype(np.float32)
    model = build_model(config)
    if include_forward:
        return _median_seconds(lambda: embed(model, X, method="pca"), repeats)
    activations, _ = last_hidden(model, X)
    return _median_seconds(lambda: pca_points(activations), repeats)
