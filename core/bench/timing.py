"""What looking inside costs: timings for the benchmark (median seconds per call, on random inputs)."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np
import torch

from core.boundary import RunSnapshots, grid_box
from core.config import IMAGE_SHAPE, ModelConfig, TrainConfig
from core.data.dataset import Dataset
from core.insight.digits import attribute_image, embed, last_hidden, pca_points
from core.insight.maps import neuron_maps
from core.models import build_model
from core.training.recorder import GradientRecorder, StateRecorder
from core.training.train import train_model


class Slots(Protocol):
    """What a burst of requests runs through: core.insight.slots.InspectionSlots, passed in (that module imports
    core.training.jobs, which imports this package)."""

    def run(self, work: Callable[[], object]) -> object: ...


BENCH_NETWORK = ModelConfig(kind="mlp", hidden=(8,) * 6, activation="tanh")  # the "6x8 network"


def _check_repeats(repeats: int) -> None:
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1. Got {repeats} instead.")


def _median_seconds(call: Callable[[], object], repeats: int) -> float:
    """Median wall time of `repeats` calls, after one untimed warm-up call."""
    _check_repeats(repeats)
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


def _answer_times(ask: Callable[[], object], clients: int) -> list[float]:
    """Seconds each of `clients` threads (as a server's script threads) waits for `ask()`, all asking at once."""
    barrier, answers = threading.Barrier(clients), []

    def client() -> None:
        barrier.wait()
        start = time.perf_counter()
        ask()
        answers.append(time.perf_counter() - start)

    threads = [threading.Thread(target=client, name="nnlab-bench-client") for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def time_attribution_burst(config: ModelConfig, slots: Slots, *, clients: int = 8, repeats: int = 3,
                           method: str = "integrated_gradients") -> dict[str, float]:
    """Seconds from asking to answer when `clients` ask for an attribution at once through `slots` (a class
    clicking together): the "median" and "slowest" answer of a burst (medians over `repeats` bursts), and "alone"
    for one request on free slots (the best of `repeats`: the least disturbed by other work on a shared machine)."""
    _check_repeats(repeats)
    if clients < 1:
        raise ValueError(f"clients must be at least 1. Got {clients} instead.")
    image = np.random.default_rng(0).normal(size=IMAGE_SHAPE).astype(np.float32)
    model = build_model(config)

    def ask() -> object:
        return slots.run(lambda: attribute_image(model, image, target=0, method=method))

    _answer_times(ask, 1)  # warm-up
    alone = min(_answer_times(ask, 1)[0] for _ in range(repeats))
    bursts = [_answer_times(ask, clients) for _ in range(repeats)]
    return {"alone": alone, "median": statistics.median(statistics.median(b) for b in bursts),
            "slowest": statistics.median(max(b) for b in bursts)}


def time_embedding_pca(config: ModelConfig, *, n_digits: int = 2000, repeats: int = 5,
                       include_forward: bool = False) -> float:
    """Seconds for the PCA of n_digits images' last hidden layer; with include_forward, the model's pass too."""
    X = np.random.default_rng(0).normal(size=(n_digits, *IMAGE_SHAPE)).astype(np.float32)
    model = build_model(config)
    if include_forward:
        return _median_seconds(lambda: embed(model, X, method="pca"), repeats)
    activations, _ = last_hidden(model, X)
    return _median_seconds(lambda: pca_points(activations), repeats)


def time_snapshot_overhead(data: Dataset, config: ModelConfig, train: TrainConfig, *, repeats: int = 5,
                           resolution: int = 40) -> dict[str, float]:
    """Best-of-`repeats` seconds of a 2-D run: "plain", with the weights and gradient flow kept every epoch ("inside"),
    and with every epoch's 40x40 boundary then drawn from them, as opening the replay does ("all")."""
    _check_repeats(repeats)
    def run(inside: bool, boundary: bool) -> Callable[[], object]:
        def go() -> None:
            states, gradients = StateRecorder(every=1, epochs=train.epochs), GradientRecorder()

            def on_epoch(stats, model) -> None:
                if inside:
                    states(stats, model)
                    gradients.on_epoch(stats, model)
            model = build_model(config)
            train_model(model, data, train, on_epoch=on_epoch, on_step=gradients.on_step if inside else None)
            if inside:  # what a job does at a run's end: the kept copies named, the flow summed up
                _ = (states.states, gradients.result())
            if boundary:
                list(RunSnapshots(model, states.states, grid_box(data.X_all), resolution=resolution))
        return go

    runs = {"plain": run(False, False), "inside": run(True, False), "all": run(True, True)}
    times: dict[str, list[float]] = {name: [] for name in runs}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the dashboard trains 2-D runs (core.training.jobs.RUN_THREADS on a small server)
    try:
        for i in range(repeats + 1):  # interleaved, so a busy moment on a shared machine hits all three alike
            for name, call in runs.items():
                start = time.perf_counter()
                call()
                if i:  # the first round warms up
                    times[name].append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return {name: min(t) for name, t in times.items()}  # the fastest: the least disturbed by other work
