"""Label noise: a share of the training labels flipped to another class, so a learner can see what wrong labels do.

Only the training split is touched; validation and test keep their true labels, so their scores stay honest.
The flips come from a numpy Generator of their own, seeded from the data seed (LABEL_NOISE_KEY keeps its stream
apart from the data's), so the same seed flips the same labels, in the dashboard and in an exported script.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from core.config import check_range
from core.data.dataset import Dataset

LABEL_NOISE_KEY = 19  # the flips' generator: default_rng([seed, LABEL_NOISE_KEY])


def flip_labels(y: np.ndarray, share: float, n_classes: int, seed: int) -> np.ndarray:
    """A copy of labels y with round(share * len(y)) of them, chosen at random, moved to another class at random."""
    check_range("label_noise", share, 0.0, 0.5)
    y = np.array(y, dtype=np.int64, copy=True)
    count = int(round(share * len(y)))
    if count == 0 or n_classes < 2:
        return y
    rng = np.random.default_rng([seed, LABEL_NOISE_KEY])
    chosen = rng.choice(len(y), size=count, replace=False)
    y[chosen] = (y[chosen] + rng.integers(1, n_classes, size=count)) % n_classes  # never the same class
    return y


def with_label_noise(data: Dataset, share: float, seed: int) -> Dataset:
    """`data` with `share` of its training labels flipped (the true ones kept in y_train_clean); as is for 0."""
    if share == 0:
        return data
    noisy = flip_labels(data.y_train, share, data.n_classes, seed)
    flipped = int((noisy != data.y_train).sum())
    source = f"{data.source} {flipped:,} training labels ({share:.0%}) are flipped to a wrong class on purpose."
    return replace(data, y_train=noisy, y_train_clean=data.y_train, source=source)
