"""What a dataset is: the names on offer, `DataConfig` (what to make), `Dataset` (what was made), `DataError`.

The generators (`core.data.points`) and the digit loaders (`core.data.mnist`) build on these;
`core.data.make.make_dataset` is the front door that picks between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.config import (
    DataError,
)


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train/validation/test arrays ready for a model, plus where they came from.

    Validation is carved from the training part: curves, early stopping and model choice use it,
    and the test split is kept for the final evaluation. Points are (n, 2) float32; images are
    (n, 1, 28, 28) float32 already normalised with the MNIST constants (`core.data.pixels.to_pixels` undoes it).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    name: str
    source: str  # one sentence for the user: where the data came from
    origin: str  # "generated" | "downloaded" | "local" | "test-split" | "offline" | "user"
    X_val: np.ndarray | None = None  # None or empty: no validation split (val_fraction 0)
    y_val: np.ndarray | None = None
    units: tuple[np.ndarray, np.ndarray] | None = None  # your own points: (mean, std) undoing the standardisation
    y_train_clean: np.ndarray | None = None  # label noise: the true training labels (y_train holds the flipped ones)

    @property
    def has_validation(self) -> bool:
        return self.y_val is not None and len(self.y_val) > 0

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(X, y) of the split called "train", "validation" or "test"."""
        parts = {"train": (self.X_train, self.y_train), "validation": (self.X_val, self.y_val),
                 "test": (self.X_test, self.y_test)}
        if name not in parts:
            raise DataError(f"split must be one of {', '.join(parts)}. Got {name!r} instead.")
        X, y = parts[name]
        if y is None:
            raise DataError("This dataset has no validation split (val_fraction 0).")
        return X, y

    @property
    def n_flipped(self) -> int:
        """How many training labels label noise flipped (0 without it)."""
        return 0 if self.y_train_clean is None else int((self.y_train_clean != self.y_train).sum())

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_image(self) -> bool:
        return self.X_train.ndim == 4

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.X_train.shape[1:])

    @property
    def X_all(self) -> np.ndarray:
        parts = [self.X_train, self.X_test] + ([self.X_val] if self.has_validation else [])
        return np.concatenate(parts)


