"""The project's benchmark: engine speed and accuracy figures that the README quotes."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.utils.data import DataLoader

from core.bench.augment import bench_augmentation
from core.bench.engine import bench_engine
from core.bench.race import TextbookMNIST, race
from core.bench.timing import (
    time_attribution,
    time_attribution_burst,
    time_embedding_pca,
    time_neuron_maps,
    time_snapshot_overhead,
)
from core.boundary import boundary_grid
from core.config import DataConfig, ModelConfig, RunOptions, TrainConfig
from core.data.dataset import Dataset
from core.data.make import make_dataset
from core.data.pixels import to_pixels
from core.insight.digits import IG_STEPS
from core.insight.slots import InspectionSlots, inspection_capacity
from core.models import build_model
from core.training.presets import CNN_MODEL, CNN_TRAIN, IMAGES_MODEL, IMAGES_TRAIN, POINTS_MODEL, POINTS_TRAIN, describe
from core.training.scoring import evaluate_loss
from core.training.train import train_model


@dataclass(frozen=True)
class BenchRow:
    """One measured figure, its target and whether the target was met."""

    name: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None
    detail: str = ""


def _textbook_train(model: nn.Module, data: Dataset, epochs: int, seed: int) -> float:
    """The textbook loop (DataLoader, batch 64, Adam 1e-3); returns seconds spent."""
    loader = DataLoader(TextbookMNIST(to_pixels(data.X_train[:, 0]), data.y_train), batch_size=64,
                        shuffle=True, generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start


def _accuracy(model: nn.Module, data: Dataset) -> float:
    return evaluate_loss(model, torch.as_tensor(data.X_test), torch.as_tensor(data.y_test))[1]


def bench_throughput(data: Dataset, *, epochs: int = 5, seeds: tuple[int, ...] = (0, 1, 2)) -> list[BenchRow]:
    """Engine vs textbook loop for MLP 784-128-10, Adam 1e-3, batch 64: samples/s and mean test accuracy."""
    config = ModelConfig(kind="mlp", hidden=(128,), input_shape=(1, 28, 28), n_classes=10)
    fast_s = slow_s = 0.0
    acc_fast, acc_slow = [], []
    for seed in seeds:  # one run's accuracy varies by ~0.5 points with the shuffle; compare means
        engine_model, textbook_model = build_model(config, seed=seed), build_model(config, seed=seed)
        result = train_model(engine_model, data, TrainConfig(optimizer="adam", lr=1e-3, batch_size=64,
                                                             epochs=epochs, seed=seed, init_seed=seed))
        fast_s += sum(s.seconds for s in result.history)
        slow_s += _textbook_train(textbook_model, data, epochs, seed)
        acc_fast.append(100 * _accuracy(engine_model, data))
        acc_slow.append(100 * _accuracy(textbook_model, data))
    samples = len(seeds) * epochs * len(data.y_train)
    fast, slow = samples / fast_s, samples / slow_s
    mean_fast, mean_slow = statistics.mean(acc_fast), statistics.mean(acc_slow)
    runs = f"mean of {len(seeds)} seeds, {epochs} epochs"
    return [
        BenchRow("MLP 784-128-10 training, this engine", fast, "samples/s", detail=f"batch 64, {runs}"),
        BenchRow("MLP 784-128-10 training, textbook DataLoader loop", slow, "samples/s"),
        BenchRow("speed-up over the textbook loop", fast / slow, "x", "≥ 5", fast / slow >= 5),
        BenchRow(f"MLP test accuracy, this engine ({runs})", mean_fast, "%"),
        BenchRow(f"MLP test accuracy, textbook loop ({runs})", mean_slow, "%",
                 "within 0.5 of the engine", abs(mean_fast - mean_slow) <= 0.5),
    ]


def bench_mlp_preset(data: Dataset, *, epochs: int = 5, seeds: tuple[int, ...] = (0, 1, 2)) -> list[BenchRow]:
    """MLP 784-128-10 with the dashboard's image preset: mean test accuracy after `epochs`."""
    config = ModelConfig(kind="mlp", hidden=(128,), input_shape=(1, 28, 28), n_classes=10)
    accs = []
    for seed in seeds:
        model = build_model(config, seed=seed)
        train_model(model, data, replace(IMAGES_TRAIN, epochs=epochs, seed=seed))
        accs.append(100 * _accuracy(model, data))
    mean = statistics.mean(accs)
    return [BenchRow(f"MLP test accuracy after {epochs} epochs, dashboard preset (mean of {len(seeds)} seeds)",
                     mean, "%", "≥ 94.5", mean >= 94.5, detail=describe(IMAGES_TRAIN))]


def bench_cnn(data: Dataset, *, epochs: int = 3, seed: int = 0) -> list[BenchRow]:
    """Small CNN: throughput with and without channels-last, and test accuracy after `epochs`."""
    probe = replace(data, X_train=data.X_train[:1024], y_train=data.y_train[:1024])
    settings = replace(CNN_TRAIN, epochs=1, seed=seed, schedule="none")
    train_model(build_model(CNN_MODEL, seed=seed), probe, settings)  # warm-up: first-call costs
    rows = []
    for channels_last in (False, True):
        options = RunOptions(channels_last=channels_last)
        result = train_model(build_model(CNN_MODEL, seed=seed), probe, settings, options)
        label = "channels-last (the default)" if channels_last else "contiguous NCHW"
        rows.append(BenchRow(f"CNN training, {label}", len(probe.y_train) / result.history[0].seconds, "samples/s"))
    model = build_model(CNN_MODEL, seed=seed)
    train_model(model, data, replace(CNN_TRAIN, epochs=epochs, seed=seed))
    acc = 100 * _accuracy(model, data)
    rows.append(BenchRow(f"CNN test accuracy after {epochs} epochs", acc, "%", "≥ 98", acc >= 98,
                         detail=describe(CNN_TRAIN)))
    return rows


def bench_circles(*, seed: int = 0) -> list[BenchRow]:
    """Default 2-D model on circles (1,000 points): steps and seconds until validation accuracy ≥ 99%."""
    data = make_dataset(DataConfig(name="circles", n_samples=1000, noise=0.05, factor=0.5, seed=seed))
    model = build_model(POINTS_MODEL, seed=seed)
    reached: list[tuple[int, float]] = []
    start = time.perf_counter()

    def on_epoch(stats, _model) -> None:
        if stats.val_acc >= 0.99 and not reached:
            reached.append((stats.steps, time.perf_counter() - start))

    result = train_model(model, data, replace(POINTS_TRAIN, seed=seed), on_epoch=on_epoch)
    steps, seconds = reached[0] if reached else (float("nan"), float("nan"))
    test = 100 * _accuracy(model, data)
    grid_ms = _median_ms(lambda: boundary_grid(model, data.X_all, resolution=200), repeats=30)
    splits = f"{len(data.y_train)}/{len(data.y_val)}/{len(data.y_test)} train/validation/test points"
    return [
        BenchRow("circles: optimizer steps to 99% validation accuracy", steps, "steps", "≤ 100", steps <= 100,
                 detail=splits),
        BenchRow("circles: seconds to 99% validation accuracy", seconds, "s"),
        BenchRow(f"circles: test accuracy after the preset's {result.steps} steps", test, "%", "≥ 99", test >= 99,
                 detail=describe(POINTS_TRAIN)),
        BenchRow("decision-boundary grid 200×200, median", grid_ms, "ms", "≤ 20", grid_ms <= 20),
    ]


def bench_inside(*, quick: bool = False) -> list[BenchRow]:
    """What looking inside costs: neuron maps, the replay's recorders, attributions and the projector's PCA."""
    circles = make_dataset(DataConfig(name="circles", n_samples=1000, noise=0.05, factor=0.5))
    run = time_snapshot_overhead(circles, POINTS_MODEL, POINTS_TRAIN, repeats=3 if quick else 15)
    inside = (run["inside"] - run["plain"]) / run["inside"]
    replay = (run["all"] - run["plain"]) / run["all"]
    maps_ms = 1000 * time_neuron_maps(repeats=5 if quick else 20)
    pca_ms = 1000 * time_embedding_pca(IMAGES_MODEL, repeats=3 if quick else 9)
    plain = f"a {run['plain'] * 1000:.0f} ms circles run ({describe(POINTS_TRAIN)}); best of interleaved runs"
    rows = [
        BenchRow("neuron maps of a 6×8 network at 40×40 (one epoch's frame)", maps_ms, "ms",
                 detail="every unit over 1,600 grid points, dead/saturated counted over 500 points"),
        BenchRow("weights + gradient flow kept every epoch: share of a circles run", 100 * inside, "%", "≤ 25",
                 inside <= 0.25, detail=plain),
        BenchRow("opening the replay (every epoch's 40×40 boundary drawn from the kept weights): share of a circles "
                 "run", 100 * replay, "%", detail=plain),
        BenchRow("PCA of 2,000 test digits' last hidden layer", pca_ms, "ms", "≤ 100", pca_ms <= 100,
                 detail="MLP 784-128-10; the forward pass not counted"),
    ]
    for name, config in (("MLP", IMAGES_MODEL),) if quick else (("MLP", IMAGES_MODEL), ("CNN", CNN_MODEL)):
        ms = 1000 * time_attribution(config, repeats=3 if quick else 9)
        rows.append(BenchRow(f"Integrated Gradients attribution per image, {name} preset", ms, "ms", "≤ 300",
                             ms <= 300, detail=f"{IG_STEPS} steps, one batch"))
    return [*rows, _burst_row()]


def _burst_row(clients: int = 8) -> BenchRow:
    """A class clicking together: `clients` attributions asked at once through this server's inspection slots."""
    slots = InspectionSlots(inspection_capacity())
    burst = time_attribution_burst(IMAGES_MODEL, slots, clients=clients)
    return BenchRow(f"{clients} attributions asked at once (MLP preset): the slowest answer", 1000 * burst["slowest"],
                    "ms", detail=f"{slots.capacity} inspection slot(s) on {os.cpu_count()} cores, at most "
                                 f"{slots.peak} ran at once; median answer {1000 * burst['median']:.0f} ms, one "
                                 f"alone {1000 * burst['alone']:.0f} ms")


def bench_race(data: Dataset, *, repeats: int = 3) -> list[BenchRow]:
    """Seconds of training until 95% validation accuracy: engine, textbook loop and scikit-learn."""
    best = race(data, repeats=repeats)
    rows = [BenchRow(f"time to 95% validation accuracy, {name}", r.seconds, "s",
                     detail=f"batch {r.batch_size}, Adam {r.lr:g}, {r.epochs} epochs; test accuracy then "
                            f"{100 * r.test_accuracy:.1f}%; median of {repeats}")
            for name, r in best.items()]
    engine = best["engine"].seconds
    for other in ("sklearn", "textbook"):
        ratio = best[other].seconds / engine
        target = ("≥ 2", ratio >= 2) if other == "sklearn" else ("", None)
        rows.append(BenchRow(f"time to 95%: {other} / engine", ratio, "x", *target))
    return rows


def _median_ms(fn: Callable[[], object], *, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def run_bench(data_dir: str | None = None, *, threads: int | None = None, quick: bool = False,
              device: str = "auto") -> list[BenchRow]:
    """Every benchmark; MNIST parts use the real files when present, else the offline digits. `device` is where the
    augmentation rows train (the other rows follow "auto", which $NNLAB_DEVICE sets)."""
    if threads is not None:
        torch.set_num_threads(threads)
    rows = [*bench_circles(), *(BenchRow(**row) for row in bench_engine(quick=quick)), *bench_inside(quick=quick)]
    try:
        digits = make_dataset(DataConfig(name="mnist", data_dir=data_dir, download=False))
    except ValueError:
        digits = make_dataset(DataConfig(name="digits"))
    if quick:
        digits = replace(digits, X_train=digits.X_train[:1000], y_train=digits.y_train[:1000])
    data_note = BenchRow("images used", len(digits.y_train), "training images",
                         detail=f"{len(digits.y_val):,} validation, {len(digits.y_test):,} test; {digits.source}")
    seeds = (0,) if quick else (0, 1, 2)
    race_rows = [] if quick else bench_race(digits)
    return [*rows, data_note, *bench_throughput(digits, epochs=1 if quick else 5, seeds=seeds), *race_rows,
            *bench_mlp_preset(digits, epochs=1 if quick else 5, seeds=seeds),
            *bench_cnn(digits, epochs=1 if quick else 3),
            *(BenchRow(**row) for row in bench_augmentation(digits, quick=quick, device=device))]


def format_table(rows: list[BenchRow]) -> str:
    """A Markdown table of the rows."""
    lines = ["| measure | value | target | met | how |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        value = f"{r.value:,.0f}" if abs(r.value) >= 100 else f"{r.value:.3g}" if r.value == r.value else "not reached"
        met = "" if r.met is None else ("yes" if r.met else "no")
        lines.append(f"| {r.name} | {value} {r.unit} | {r.target} | {met} | {r.detail} |")
    return "\n".join(lines)
