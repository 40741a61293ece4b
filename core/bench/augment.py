"""Benchmark rows for augmentation: the CNN preset with and without random shift, rotation and scale, scored on the
test digits and on photo-like versions of them, each with its 95% interval; and what augmenting costs an epoch.

The photo-like digits are made by the test corpus's generator (tests/photo_digits.py: grey paper, uneven light,
blur, noise, JPEG), so these rows need a checkout with its tests folder; without it they say so. Figures, not
pass/fail, except the cost (at most 30% of an epoch).
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from core.config import ModelConfig, RunOptions, TrainConfig
from core.data.dataset import Dataset
from core.data.images import ImageError, prepare_image
from core.data.pixels import to_pixels
from core.evaluate import accuracy_interval
from core.models import build_model, predict_proba, resolve_device
from core.training.augment import Augmenter
from core.training.presets import CNN_MODEL, CNN_TRAIN, describe
from core.training.train import train_model

AUGMENT = ("shift", "rotate", "scale")  # each at its default strength (core.config.AUGMENTATIONS)
COST_TARGET = 0.30  # augmenting may add at most this share to an epoch


@dataclass(frozen=True)
class Scored:
    """One trained model's accuracy on the test digits and on their photo-like versions, and its epoch times."""

    test: float
    photos: float | None
    epoch_seconds: float


def photo_inputs(data: Dataset, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """Photo-like versions of the first `count` test digits, prepared as uploads are: (inputs, labels), or None
    when the test corpus's photo generator is not there (an installed copy without tests/)."""
    try:
        from tests.photo_digits import phone_photo  # the test corpus: a checkout only
    except ImportError:
        return None
    rng = np.random.default_rng(seed)
    pixels = (255 * to_pixels(data.X_test[:count, 0])).round().astype(np.uint8)  # (n, 28, 28) white on black
    inputs, labels = [], []
    for digit, label in zip(pixels, data.y_test[:count]):
        try:
            inputs.append(prepare_image(phone_photo(digit, rng)).model_input[0])
        except ImageError:  # a photo the pipeline cannot read counts as wrong: a zero image scores by chance
            inputs.append(np.zeros_like(data.X_test[0]))
        labels.append(label)
    return np.stack(inputs), np.asarray(labels)


def _score(data: Dataset, train: TrainConfig, photos: tuple[np.ndarray, np.ndarray] | None, device: str,
           model: ModelConfig = CNN_MODEL) -> Scored:
    net = build_model(model, seed=train.init_seed)
    result = train_model(net, data, train, RunOptions(device=device))
    test = float((predict_proba(net, data.X_test).argmax(1) == data.y_test).mean())
    on_photos = None if photos is None else float((predict_proba(net, photos[0]).argmax(1) == photos[1]).mean())
    return Scored(test, on_photos, statistics.median(s.seconds for s in result.history))


def augment_seconds(data: Dataset, batch_size: int, device: torch.device, *, repeats: int = 5) -> float:
    """Seconds the augmentation of one epoch's batches takes on `device` (best of `repeats`): its cost alone, which
    the time of two whole runs on a busy machine measures less well."""
    X = torch.as_tensor(data.X_train, device=device).contiguous(memory_format=torch.channels_last)
    augment, best = Augmenter(AUGMENT, seed=0), float("inf")
    for _ in range(repeats + 1):  # the first pass warms up
        start = time.perf_counter()
        for begin in range(0, len(X), batch_size):
            augment(X[begin: begin + batch_size])
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


def _interval(accuracy: float, n: int) -> str:
    low, high = accuracy_interval(accuracy, n)
    return f"95% interval {100 * low:.1f}–{100 * high:.1f}% on {n:,}"


def _row(name: str, value: float, unit: str, target: str = "", met: bool | None = None, detail: str = "") -> dict:
    """One row, as the fields of core.bench.report.BenchRow (which imports this module, so not the other way)."""
    return {"name": name, "value": value, "unit": unit, "target": target, "met": met, "detail": detail}


def bench_augmentation(data: Dataset, *, quick: bool = False, device: str = "auto") -> list[dict]:
    """CNN preset trained with and without augmentation on the same images and seeds: test and photo-like accuracy
    with their 95% intervals, and the cost per epoch (rows as BenchRow fields)."""
    n_train, epochs, n_photos = (1000, 2, 100) if quick else (4000, 5, 300)
    subset = replace(data, X_train=data.X_train[:n_train], y_train=data.y_train[:n_train], y_train_clean=None)
    train = replace(CNN_TRAIN, epochs=epochs)
    photos = photo_inputs(data, n_photos)
    where = resolve_device(device, images=True)
    plain, augmented = (_score(subset, replace(train, augment=a), photos, device) for a in ((), AUGMENT))
    cost = augment_seconds(subset, train.batch_size, where) / plain.epoch_seconds
    how = f"CNN preset, {len(subset.y_train):,} training images, {epochs} epochs ({describe(train)}); on {where.type}"
    rows = [_row("training device", float(torch.cuda.device_count() if where.type == "cuda" else os.cpu_count()),
                     "GPU(s)" if where.type == "cuda" else "CPU cores",
                     detail=torch.cuda.get_device_name(where) if where.type == "cuda" else "no CUDA used")]
    for label, scored in (("without augmentation", plain), ("with shift+rotate+scale", augmented)):
        rows.append(_row(f"test accuracy, {label}", 100 * scored.test, "%",
                             detail=f"{_interval(scored.test, len(subset.y_test))}; {how}"))
        if scored.photos is not None:
            rows.append(_row(f"photo-like digits' accuracy, {label}", 100 * scored.photos, "%",
                                 detail=f"{_interval(scored.photos, n_photos)} phone-photo versions of test digits"))
    if photos is None:
        rows.append(_row("photo-like digits' accuracy", float("nan"), "%",
                             detail="needs tests/photo_digits.py (run from a checkout)"))
    detail = (f"augmenting an epoch's batches (best of 5) against the median plain epoch, "
              f"{1000 * plain.epoch_seconds:.0f} ms; the augmented run's median epoch "
              f"{1000 * augmented.epoch_seconds:.0f} ms")
    rows.append(_row("augmentation's cost: added share of an epoch", 100 * cost, "%", f"≤ {100 * COST_TARGET:.0f}",
                     cost <= COST_TARGET, detail=detail))
    return rows
