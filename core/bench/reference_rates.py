"""Re-measure the usual learning rate of each optimizer (core.training.reference.REFERENCE_RATES): a small sweep of
the slider's rates x a few seeds on each measured preset, each run scored by its lowest validation loss within
MAX_EPOCHS.

`python -m core.bench.reference_rates` prints the table as core.training.reference should hold it (about seven
minutes on one CPU core, five of them the CNN's); tests/test_reference_rates.py re-measures SGD on circles against it.
An optimizer's best rate is the "one standard error" rule's: of the rates whose mean loss over the seeds is within
one standard error of the lowest mean, the smallest (rates that train about as well are within the noise of one
another, and the smallest of them is the furthest from diverging). Its usual rate is the preset's (Adam) rate times
its best over Adam's best, measured alike: on circles, where every rate near the best scores a loss near 0, the
best alone leans to the largest rate that does not diverge, for Adam (0.1, against the preset's 0.03) as for SGD.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import torch

from core.config import OPTIMIZERS, DataConfig, RunOptions
from core.data.make import make_dataset
from core.models import build_model
from core.training.presets import LEARNING_RATES, preset
from core.training.reference import MEASURED, MOMENTUM, REFERENCE_RATES
from core.training.train import train_model

# The rates tried: the slider's, from where every optimizer crawls to where every one diverges.
RATES = {"points": tuple(r for r in LEARNING_RATES if 1e-4 <= r <= 3.0),
         "images": tuple(r for r in LEARNING_RATES if 1e-4 <= r <= 1.0)}
SEEDS = {"points": 5, "images": 3}
# Epochs a run may take, at most: a usual rate must train well in about the time a slider move's run takes (on
# circles a rate whose loss is lowest after 1,000 epochs, RMSprop's 3e-4 without momentum, is no rate to advise).
# The digit presets' own ceilings are shorter.
MAX_EPOCHS = {"points": 100, "images": 1_000}  # each seed draws its own data split, starting weights and shuffle
DATA = {"points": "circles", "images": "digits"}  # digits: the offline stand-in for MNIST (no download)
VARIANTS = tuple((opt, m) for opt in OPTIMIZERS for m in ((0.0, MOMENTUM) if opt in ("sgd", "rmsprop") else (0.0,)))


def run_loss(case: tuple[str, str], optimizer: str, momentum: float, lr: float, seed: int) -> float:
    """The lowest validation loss of one run of the preset `case` with this optimizer and rate (inf: it diverged)."""
    images = case[0] == "images"
    data = make_dataset(DataConfig(name=DATA[case[0]], seed=seed))
    start = preset(images, case[1])
    model = build_model(replace(start.model, input_shape=data.input_shape, n_classes=data.n_classes), seed=seed)
    config = replace(start.train, optimizer=optimizer, lr=lr, momentum=momentum, seed=seed, init_seed=seed,
                     epochs=min(start.train.epochs, MAX_EPOCHS[case[0]]))
    result = train_model(model, data, config, RunOptions(threads=1, device="cpu"))
    losses = [e.val_loss for e in result.history if math.isfinite(e.val_loss)]
    return math.inf if result.diverged or not losses else min(losses)


def best_rate(losses: dict[float, list[float]]) -> float:
    """The smallest rate whose mean loss is within one standard error (over the seeds) of the lowest mean."""
    means = {lr: float(np.mean(v)) for lr, v in losses.items()}
    best = min(means, key=means.get)
    spread = losses[best]
    error = float(np.std(spread, ddof=1) / math.sqrt(len(spread))) if len(spread) > 1 else 0.0
    return min(lr for lr, mean in means.items() if mean <= means[best] + error)


def measure(case: tuple[str, str], optimizer: str, momentum: float, *, rates: tuple[float, ...] | None = None,
            seeds: int | None = None) -> tuple[float, dict[float, list[float]]]:
    """The measured usual rate of `optimizer` (with `momentum`) on the preset `case`, and every run's loss."""
    rates = rates or RATES[case[0]]
    seeds = seeds or SEEDS[case[0]]
    losses = {lr: [run_loss(case, optimizer, momentum, lr, s) for s in range(seeds)] for lr in rates}
    return best_rate(losses), losses


def usual_rates(case: tuple[str, str]) -> dict[tuple[str, float], tuple[float, float]]:
    """(optimizer, momentum) -> (its usual rate, its best rate) on the preset `case`: see the module's docstring."""
    best = {variant: measure(case, *variant)[0] for variant in VARIANTS}
    adam = preset(case[0] == "images", case[1]).train.lr
    return {variant: (slider_rate(adam * rate / best["adam", 0.0]), rate) for variant, rate in best.items()}


def slider_rate(lr: float) -> float:
    """The slider's learning rate nearest lr."""
    return min(LEARNING_RATES, key=lambda r: abs(math.log(r) - math.log(lr)))


def main() -> None:
    """Measure every optimizer on every measured preset; print the table and where it differs from the one kept."""
    torch.set_num_threads(1)
    started = time.perf_counter()
    for case in MEASURED:
        for (optimizer, momentum), (usual, best) in usual_rates(case).items():
            kept = REFERENCE_RATES[case].get((optimizer, momentum))
            flag = "" if kept == usual else f"  (the table says {kept:g})" if kept else "  (not in the table)"
            print(f"{case[0]}/{case[1]} {optimizer} momentum {momentum:g}: {usual:g} (best {best:g}){flag}", flush=True)
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
