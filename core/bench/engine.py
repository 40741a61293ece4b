"""The engine's own overhead: a 2-D run's time per optimizer step against a bare PyTorch loop, a spiral epoch beside
TensorFlow Playground's, and a batched sweep's time per cell.

Both loops train the same network from the same weights with the same optimizer (the fused Adam that
`make_optimizer` builds) on the same tensors, shuffled every epoch, on one thread. The bare loop does nothing else:
no validation, no records. The engine runs as the dashboard runs a 2-D model: a `TrainingJob` with the insight
recording on (the weights kept every epoch, the gradient flow), the validation split scored every epoch, the
training loss and accuracy summed. A step's time is a run's median epoch (the first left out: it warms up) over
its steps, in CPU time of the one training thread (wall time on an idle machine, without other processes' turns);
runs interleave, and the fastest of each kind is kept.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import torch
from torch import nn

from core.config import DataConfig, ModelConfig, RunOptions, Settings, TrainConfig
from core.data.dataset import Dataset
from core.data.make import make_dataset
from core.models import build_model
from core.sweep.batched import train_batched
from core.sweep.grid import Axis, SweepSpec
from core.sweep.seeds import seed_cells
from core.training.jobs import TrainingJob
from core.training.train import make_optimizer, steps_per_epoch, train_model

SPIRAL = DataConfig(name="spiral", n_classes=2)  # 500 points: 340 train, 60 validation
PLAYGROUND_SPIRAL = replace(SPIRAL, test_fraction=0.5, val_fraction=0.0)  # Playground's split: 250 train, 250 test
OVERHEAD_MODEL = ModelConfig(hidden=(16, 16))  # the 2-D preset's network
OVERHEAD_TRAIN = TrainConfig(optimizer="adam", lr=0.03, epochs=20, patience=0)
SWEEP_RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
PLAYGROUND_EPOCH_MS = 4.6  # issue #23: Playground's own engine, headless, a spiral epoch (25 steps, 500 evaluations)
CLOCK = time.thread_time  # the training thread's CPU seconds


def _per_step(ends: list[float], steps: int) -> float:
    """Seconds a step: the median epoch between the ends in `ends` (the first epoch left out) over its steps."""
    return statistics.median(b - a for a, b in zip(ends, ends[1:])) / steps


def bare_loop(model: nn.Module, data: Dataset, config: TrainConfig) -> list[float]:
    """Train as the shortest PyTorch loop would (shuffle, slice, forward, loss, backward, step); the epochs' ends."""
    X, y = torch.as_tensor(data.X_train), torch.as_tensor(data.y_train)
    optimizer, generator, ends = make_optimizer(model, config), torch.Generator().manual_seed(config.seed), []
    for _ in range(config.epochs):
        order = torch.randperm(len(y), generator=generator)
        X_epoch, y_epoch = X[order], y[order]
        for start in range(0, len(y), config.batch_size):
            loss = nn.functional.cross_entropy(model(X_epoch[start: start + config.batch_size]),
                                               y_epoch[start: start + config.batch_size])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        ends.append(CLOCK())
    return ends


def engine_run(model: nn.Module, data: Dataset, config: TrainConfig) -> list[float]:
    """Train as the dashboard trains a 2-D run (core.training.jobs, every epoch's weights kept); the epochs' ends."""
    job, ends = TrainingJob(model, data, config, RunOptions(threads=1), snapshot_every=1, slots=None), []
    hooks = job.begin()

    def on_epoch(stats, trained: nn.Module) -> None:
        hooks["on_epoch"](stats, trained)
        ends.append(CLOCK())

    job.finish(train_model(model, data, config, RunOptions(threads=1), **{**hooks, "on_epoch": on_epoch}))
    return ends


def _interleaved(runs: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    """The smallest of `repeats` results of every run, one after another (a warm-up round first), on one thread."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1. Got {repeats} instead.")
    results: dict[str, list[float]] = {name: [] for name in runs}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for i in range(repeats + 1):
            for name, run in runs.items():
                value = run()
                if i:
                    results[name].append(value)
    finally:
        torch.set_num_threads(threads)
    return {name: min(values) for name, values in results.items()}


def time_step_overhead(batch_size: int, *, data: Dataset, model: ModelConfig = OVERHEAD_MODEL,
                       train: TrainConfig = OVERHEAD_TRAIN, repeats: int = 7) -> dict[str, float]:
    """Seconds per optimizer step at `batch_size`: "bare" (the bare loop) and "engine" (a recorded run)."""
    config = replace(train, batch_size=batch_size)
    steps = steps_per_epoch(len(data.y_train), batch_size)
    loops = {"bare": bare_loop, "engine": engine_run}
    return _interleaved({name: (lambda loop=loop: _per_step(loop(build_model(model), data, config), steps))
                         for name, loop in loops.items()}, repeats)


def time_lr_sweep(*, data_config: DataConfig = DataConfig(), model: ModelConfig = ModelConfig(),  # noqa: B008
                  epochs: int = 50, repeats: int = 3) -> dict[str, float]:
    """Wall seconds of one run ("one") and of a batched sweep of six learning rates ("six"): the sweep of
    tests/test_batched.py (circles), a fixed epoch count, early stopping off, one thread."""
    train, data = TrainConfig(epochs=epochs, patience=0), make_dataset(data_config)
    cells = SweepSpec(data_config, model, train, (Axis("lr", SWEEP_RATES),)).cells()
    options, one = RunOptions(threads=1), cells[3]

    def timed(work: Callable[[], object]) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            work()
            return time.perf_counter() - start
        return run

    return _interleaved({"one": timed(lambda: train_model(build_model(one.model, seed=one.train.init_seed), data,
                                                          one.train, options)),
                         "six": timed(lambda: train_batched(cells, data, options))}, repeats)


def time_seed_cells(*, data: Dataset, cells: int = 6, repeats: int = 3) -> float:
    """Seconds of one cell's epoch when `cells` seeds of the spiral run (batch 10) train as one batched model:
    the batch's median epoch (wall time) over the cells."""
    settings = Settings(PLAYGROUND_SPIRAL, OVERHEAD_MODEL, replace(OVERHEAD_TRAIN, batch_size=10))
    seeded = seed_cells(settings, seeds=cells)

    def run() -> float:
        _, _, result = train_batched(seeded, data, RunOptions(threads=1))[0]
        return statistics.median(s.seconds for s in result.history[1:]) / cells

    return _interleaved({"cell": run}, repeats)["cell"]


def bench_engine(*, quick: bool = False) -> list[dict]:
    """The benchmark's rows (BenchRow fields): steps against the bare loop at batch 10 and 64, a spiral epoch
    beside Playground's, a batched cell's epoch, and the batched learning-rate sweep against one run."""
    repeats, data = (3 if quick else 9), make_dataset(SPIRAL)
    how = (f"spiral, {len(data.y_train)} training points, MLP 16-16 ReLU, fused Adam 0.03, 1 thread; engine: a "
           "recorded run (weights every epoch, gradient flow, validation every epoch); bare: steps only; median "
           "epoch, CPU time of the training thread, fastest of interleaved runs")
    rows = []
    for batch in (10, 64):
        times = time_step_overhead(batch, data=data, repeats=repeats)
        share = times["bare"] / times["engine"]
        rows += [dict(name=f"2-D step at batch {batch}, this engine (insight recording on)",
                      value=1e6 * times["engine"], unit="µs", detail=how),
                 dict(name=f"2-D step at batch {batch}, bare PyTorch loop", value=1e6 * times["bare"], unit="µs"),
                 dict(name=f"engine speed as a share of the bare loop's, batch {batch}", value=100 * share, unit="%",
                      target="≥ 90", met=share >= 0.9)]
    playground = make_dataset(PLAYGROUND_SPIRAL)
    epoch = 25 * time_step_overhead(10, data=playground, repeats=repeats)["engine"]
    cell = time_seed_cells(data=playground, repeats=max(1, repeats // 3))
    sweep = time_lr_sweep(repeats=max(1, repeats // 3))
    shape = "Playground's spiral shape: 250 training points, batch 10, 25 steps"
    return rows + [
        dict(name="spiral epoch, this engine (one run, recorded)", value=1000 * epoch, unit="ms", detail=shape),
        dict(name="spiral epoch, TensorFlow Playground (reference)", value=PLAYGROUND_EPOCH_MS, unit="ms",
             detail="issue #23's figure for Playground's own engine run headless (25 steps plus 500 evaluations); "
                    "not measured here"),
        dict(name="spiral epoch per cell, 6 seeds trained as one batched model", value=1000 * cell, unit="ms",
             detail=f"{shape}; wall time, the batch's median epoch / 6"),
        dict(name="6-value learning-rate sweep (one batched model) / one run", value=sweep["six"] / sweep["one"],
             unit="x", target="≤ 2", met=sweep["six"] <= 2 * sweep["one"],
             detail=f"circles, 50 epochs, early stopping off, 1 thread, wall time: one run "
                    f"{1000 * sweep['one']:.0f} ms, six cells {1000 * sweep['six']:.0f} ms"),
    ]
