"""What a dataset is: the names on offer, `DataConfig` (what to make), `Dataset` (what was made), `DataError`.

The generators (`core.points`) and the digit loaders (`core.mnist`) build on these; `core.data.make_dataset`
is the front door that picks between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

POINT_DATASETS = ("circles", "moons", "blobs", "xor", "spiral", "gaussians")
IMAGE_DATASETS = ("mnist", "digits")
DATASETS = POINT_DATASETS + IMAGE_DATASETS
OWN_POINTS = "csv"  # your own points, drawn or imported: they travel in DataConfig.points


class DataError(ValueError):
    """A dataset cannot be made or found; the message says what to do."""


@dataclass(frozen=True)
class DataConfig:
    """Everything that defines a dataset; hashable, so it can key a cache."""

    name: str = "circles"
    n_samples: int = 500
    noise: float = 0.1
    factor: float = 0.5  # circles: inner radius / outer radius
    n_classes: int = 3  # blobs: 2-6 classes; spiral: 2-3 arms
    test_fraction: float = 0.2
    val_fraction: float = 0.15  # share of the training part held out for validation (curves, early stopping)
    seed: int = 0
    train_size: int | None = None  # images: stratified subset of the training part, after validation is taken
    data_dir: str | None = None  # MNIST folder; None -> $NNLAB_DATA_DIR or ./data
    download: bool = True
    # name "csv": the points themselves, (x, y, class index) in their own units, and one name per class
    points: tuple[tuple[float, float, int], ...] = field(default=(), repr=False)
    class_names: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train/validation/test arrays ready for a model, plus where they came from.

    Validation is carved from the training part: curves, early stopping and model choice use it,
    and the test split is kept for the final evaluation. Points are (n, 2) float32; images are
    (n, 1, 28, 28) float32 already normalised with the MNIST constants (`core.pixels.to_pixels` undoes it).
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


def check_range(name: str, value: float, low: float, high: float) -> None:
    """Raise DataError unless low <= value <= high, naming the setting."""
    if not low <= value <= high:
        raise DataError(f"{name} must be between {low} and {high}. Got {value} instead.")


def validate_config(config: DataConfig) -> None:
    """Raise DataError naming the first out-of-range field of `config`."""
    if config.name == OWN_POINTS:
        _check_own_points(config)
    elif config.name not in DATASETS:
        raise DataError(f"Unknown dataset {config.name!r}; choose one of {', '.join(DATASETS)}.")
    check_range("test_fraction", config.test_fraction, 0.05, 0.5)
    check_range("val_fraction", config.val_fraction, 0.0, 0.5)
    if config.name in POINT_DATASETS:
        check_range("n_samples", config.n_samples, 100, 5000)
        check_range("noise", config.noise, 0.0, 0.5)
        check_range("factor", config.factor, 0.1, 0.9)
        if config.name == "blobs":
            check_range("n_classes", config.n_classes, 2, 6)
        if config.name == "spiral":
            check_range("n_classes", config.n_classes, 2, 3)
    if config.train_size is not None and config.train_size < 10:
        raise DataError(f"train_size must be at least 10. Got {config.train_size} instead.")


def _check_own_points(config: DataConfig) -> None:
    if not 2 <= len(config.class_names) <= 6:
        raise DataError(f"Your own points need 2 to 6 class names. Got {len(config.class_names)} instead.")
    if any(len(p) != 3 or not 0 <= p[2] < len(config.class_names) for p in config.points):
        raise DataError("Each of your points needs an x, a y and the index of one of its classes.")
