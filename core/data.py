"""Datasets: generated 2-D point clouds and handwritten digits, as in-memory numpy arrays."""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn import datasets as skd
from sklearn.model_selection import train_test_split

from core.pixels import center_by_mass, normalize_pixels, resize_pixels

POINT_DATASETS = ("circles", "moons", "blobs", "xor", "spiral", "gaussians")
IMAGE_DATASETS = ("mnist", "digits")
DATASETS = POINT_DATASETS + IMAGE_DATASETS
OWN_POINTS = "csv"  # your own points, drawn or imported: they travel in DataConfig.points

DATA_DIR_ENV = "NNLAB_DATA_DIR"
MNIST_TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
MNIST_TRAIN_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
DIGIT_NAMES = tuple(str(d) for d in range(10))


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


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise DataError(f"{name} must be between {low} and {high}. Got {value} instead.")


def validate_config(config: DataConfig) -> None:
    """Raise DataError naming the first out-of-range field of `config`."""
    if config.name == OWN_POINTS:
        _check_own_points(config)
    elif config.name not in DATASETS:
        raise DataError(f"Unknown dataset {config.name!r}; choose one of {', '.join(DATASETS)}.")
    _check_range("test_fraction", config.test_fraction, 0.05, 0.5)
    _check_range("val_fraction", config.val_fraction, 0.0, 0.5)
    if config.name in POINT_DATASETS:
        _check_range("n_samples", config.n_samples, 100, 5000)
        _check_range("noise", config.noise, 0.0, 0.5)
        _check_range("factor", config.factor, 0.1, 0.9)
        if config.name == "blobs":
            _check_range("n_classes", config.n_classes, 2, 6)
        if config.name == "spiral":
            _check_range("n_classes", config.n_classes, 2, 3)
    if config.train_size is not None and config.train_size < 10:
        raise DataError(f"train_size must be at least 10. Got {config.train_size} instead.")


def _check_own_points(config: DataConfig) -> None:
    if not 2 <= len(config.class_names) <= 6:
        raise DataError(f"Your own points need 2 to 6 class names. Got {len(config.class_names)} instead.")
    if any(len(p) != 3 or not 0 <= p[2] < len(config.class_names) for p in config.points):
        raise DataError("Each of your points needs an x, a y and the index of one of its classes.")


def make_dataset(config: DataConfig = DataConfig()) -> Dataset:
    """Build the dataset that `config` describes."""
    validate_config(config)
    if config.name == OWN_POINTS:
        X = np.array([p[:2] for p in config.points], dtype=np.float64).reshape(-1, 2)
        y = np.array([p[2] for p in config.points], dtype=np.int64)
        return points_dataset(X, y, config.class_names, test_fraction=config.test_fraction,
                              val_fraction=config.val_fraction, seed=config.seed, name="your points")
    if config.name in POINT_DATASETS:
        return _make_points(config)
    if config.name == "digits":
        X, y = load_offline_digits()
        source = (
            "scikit-learn's bundled 8x8 handwritten digits (1,797 images), scaled to 28x28 and "
            "centred like MNIST: an offline stand-in for MNIST."
        )
        return _split_images(X, y, config, name="digits", source=source, origin="offline")
    return load_mnist(config)


# --- 2-D points -------------------------------------------------------------------------


def _xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    # Keep points off the axes so the four quadrants stay separable before noise.
    X += np.sign(X) * 0.05
    y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)
    return X + rng.normal(scale=noise, size=X.shape), y


def _spiral(n: int, arms: int, noise: float, rng: np.random.Generator):
    per_arm = np.full(arms, n // arms)
    per_arm[: n % arms] += 1
    X, y = [], []
    for arm, count in enumerate(per_arm):
        t = np.sqrt(rng.uniform(0.0, 1.0, count)) * 2.5 * np.pi + 0.3  # radius grows with t
        angle = t + 2 * np.pi * arm / arms
        r = t / (2.5 * np.pi)
        pts = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
        X.append(pts + rng.normal(scale=noise * 0.5, size=pts.shape))
        y.append(np.full(count, arm))
    return np.concatenate(X), np.concatenate(y)


def _make_points(config: DataConfig) -> Dataset:
    n, noise, seed = config.n_samples, config.noise, config.seed
    rng = np.random.default_rng(seed)
    name = config.name
    if name == "circles":
        X, y = skd.make_circles(n_samples=n, noise=noise, factor=config.factor, random_state=seed)
        classes, what = ("outer", "inner"), f"two circles (factor {config.factor})"
    elif name == "moons":
        X, y = skd.make_moons(n_samples=n, noise=noise, random_state=seed)
        classes, what = ("upper", "lower"), "two interleaving half-moons"
    elif name == "blobs":
        k = config.n_classes
        X, y = skd.make_blobs(n_samples=n, centers=k, cluster_std=0.5 + 4 * noise, random_state=seed)
        X = (X - X.mean(axis=0)) / X.std(axis=0)  # keep every dataset on a similar scale
        classes, what = tuple(f"blob {i}" for i in range(k)), f"{k} Gaussian blobs"
    elif name == "xor":
        X, y = _xor(n, noise, rng)
        classes, what = ("same sign", "opposite sign"), "XOR of the two coordinates' signs"
    elif name == "spiral":
        X, y = _spiral(n, config.n_classes, noise, rng)
        classes, what = tuple(f"arm {i}" for i in range(config.n_classes)), "interleaved spiral arms"
    else:  # gaussians
        half = n // 2
        X = np.concatenate(
            [rng.normal(-1.0, 0.5 + 2 * noise, (half, 2)), rng.normal(1.0, 0.5 + 2 * noise, (n - half, 2))]
        )
        y = np.repeat([0, 1], [half, n - half])
        classes, what = ("left", "right"), "two overlapping Gaussian clouds"
    X_train, y_train, X_val, y_val, X_test, y_test = split_points(
        X.astype(np.float32), y.astype(np.int64), classes, config.test_fraction, config.val_fraction, seed)
    source = f"Generated: {what}, {n} points, noise {noise}, seed {seed}."
    return Dataset(X_train, y_train, X_test, y_test, classes, name, source, "generated", X_val, y_val)


MIN_PER_CLASS = 5  # points of every class in every split: fewer and a split's accuracy means little


def split_points(X: np.ndarray, y: np.ndarray, class_names: tuple[str, ...], test_fraction: float,
                 val_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """(X_train, y_train, X_val, y_val, X_test, y_test): stratified, with enough of each class in each split."""
    try:
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_fraction, stratify=y,
                                                            random_state=seed)
    except ValueError as exc:
        raise DataError(f"Too few points to split {test_fraction:.0%} off for testing: add points. ({exc})") from None
    X_train, y_train, X_val, y_val = carve_validation(X_train, y_train, val_fraction, seed)
    check_class_counts(class_names, y_train=y_train, y_val=y_val, y_test=y_test)
    return X_train, y_train, X_val, y_val, X_test, y_test


def points_dataset(X: np.ndarray, y: np.ndarray, class_names: tuple[str, ...], *, test_fraction: float = 0.2,
                   val_fraction: float = 0.15, seed: int = 0, name: str = "csv", source: str = "") -> Dataset:
    """Your own 2-D points -> a Dataset with stratified train/validation/test splits.

    Coordinates are standardised with the training split's mean and spread (so any units train alike);
    `Dataset.units` keeps them, to show points in the file's own units.
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)
    if X.ndim != 2 or X.shape[1] != 2 or len(X) != len(y):
        raise DataError(f"Points must have shape (n, 2) with one label each. Got {X.shape} and {y.shape}.")
    _check_range("test_fraction", test_fraction, 0.05, 0.5)
    _check_range("val_fraction", val_fraction, 0.0, 0.5)
    counts = np.bincount(y, minlength=len(class_names))
    if len(counts) != len(class_names) or (counts < 2).any():
        raise DataError("Every class needs at least a few points of its own: "
                        f"{dict(zip(class_names, counts.tolist()))}.")
    X_train, y_train, X_val, y_val, X_test, y_test = split_points(X, y, class_names, test_fraction, val_fraction,
                                                                  seed)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)

    def scaled(a: np.ndarray) -> np.ndarray:
        return ((a - mean) / std).astype(np.float32)

    source = source or f"Your own {len(y):,} points in {len(class_names)} classes."
    return Dataset(scaled(X_train), y_train, scaled(X_test), y_test, tuple(class_names), name, source, "user",
                   scaled(X_val), y_val, (mean.astype(np.float32), std.astype(np.float32)))


def carve_validation(X: np.ndarray, y: np.ndarray, fraction: float, seed: int):
    """(X_train, y_train, X_val, y_val): a stratified `fraction` of the training part held out."""
    if fraction == 0:
        return X, y, X[:0], y[:0]
    try:
        X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=fraction, stratify=y, random_state=seed)
    except ValueError as exc:  # sklearn: a class too small to stratify, or a split with no room left
        raise DataError(f"The training part is too small for a {fraction:.0%} validation split: add points, "
                        f"or use fewer classes. ({exc})") from None
    return X_train, y_train, X_val, y_val


def check_class_counts(class_names: tuple[str, ...], **splits: np.ndarray) -> None:
    """Raise DataError unless each split holds at least MIN_PER_CLASS points of every class."""
    for split, y in splits.items():
        if len(y) == 0:
            continue  # an empty validation split (val_fraction 0) is allowed
        counts = np.bincount(y, minlength=len(class_names))
        if counts.min() < MIN_PER_CLASS:
            short = class_names[int(counts.argmin())]
            raise DataError(
                f"The {split.removeprefix('y_').replace('val', 'validation')} split holds only {counts.min()} "
                f"point(s) of class {short!r}; every split needs at least {MIN_PER_CLASS} of each class. "
                "Add points, use fewer classes, or make the test/validation share larger.")


# --- images -----------------------------------------------------------------------------


def _split_images(X: np.ndarray, y: np.ndarray, config: DataConfig, **kw: str) -> Dataset:
    """Stratified train/test split of (n, 28, 28) images, then `_image_dataset`."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=config.test_fraction, stratify=y, random_state=config.seed
    )
    return _image_dataset(X_train, y_train, X_test, y_test, config, **kw)


def _image_dataset(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
                   config: DataConfig, *, name: str, source: str, origin: str) -> Dataset:
    """uint8 or [0, 1] images (n, 28, 28) -> normalised Dataset, with validation carved and the optional subset."""
    X_train, y_train, X_val, y_val = carve_validation(X_train, y_train, config.val_fraction, config.seed)
    if config.val_fraction:
        source += f" {len(y_val):,} training images are held out for validation."
    if config.train_size is not None and config.train_size < len(y_train):
        X_train, _, y_train, _ = train_test_split(
            X_train, y_train, train_size=config.train_size, stratify=y_train, random_state=config.seed
        )
        source += f" Training on a stratified subset of {config.train_size:,} images."
    scale = 255.0 if X_train.dtype == np.uint8 else 1.0

    def prep(a: np.ndarray) -> np.ndarray:
        # (n, 28, 28) -> (n, 1, 28, 28), normalised
        return normalize_pixels(a.astype(np.float32)[:, None] / scale)

    return Dataset(prep(X_train), y_train.astype(np.int64), prep(X_test), y_test.astype(np.int64),
                   DIGIT_NAMES, name, source, origin, prep(X_val), y_val.astype(np.int64))


def load_offline_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits -> (n, 28, 28) float32 in [0, 1], MNIST-style framing."""
    digits = skd.load_digits()
    images = digits.images.astype(np.float32) / 16.0
    # MNIST digits fill a 20x20 box centred by centre of mass in a 28x28 frame.
    out = np.empty((len(images), 28, 28), dtype=np.float32)
    for i, img in enumerate(images):
        frame = np.zeros((28, 28), dtype=np.float32)
        frame[4:24, 4:24] = resize_pixels(img, (20, 20))
        out[i] = center_by_mass(frame)
    return out, digits.target.astype(np.int64)


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The MNIST folder: the argument, else $NNLAB_DATA_DIR, else ./data."""
    return Path(data_dir or os.environ.get(DATA_DIR_ENV) or "data").expanduser()


def _find_idx(folder: Path, stem: str) -> Path | None:
    for where in (folder, folder / "MNIST" / "raw"):
        for suffix in ("", ".gz"):
            path = where / (stem + suffix)
            if path.is_file():
                return path
    return None


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) of unsigned bytes into a numpy array."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of unsigned bytes.")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise DataError(f"{path} is truncated: expected {int(np.prod(shape))} values, found {data.size}.")
    return data.reshape(shape)


def _mnist_full(folder: Path, download: bool) -> tuple[tuple[np.ndarray, ...], str] | None:
    """Full MNIST (official 60k/10k split) via torchvision, downloading where allowed; else None."""
    from torchvision.datasets import MNIST

    had_files = _find_idx(folder, MNIST_TRAIN_FILES[0]) is not None
    try:
        train = MNIST(str(folder), train=True, download=download)
        test = MNIST(str(folder), train=False, download=False)
    except (RuntimeError, OSError):
        return None  # not there, and no network (or download disabled)
    arrays = (train.data.numpy(), train.targets.numpy(), test.data.numpy(), test.targets.numpy())
    return arrays, "local" if had_files else "downloaded"


def load_mnist(config: DataConfig) -> Dataset:
    """Real MNIST: full set via torchvision, else the official 10k test set split 80/20."""
    folder = resolve_data_dir(config.data_dir)
    full = _mnist_full(folder, config.download)
    if full is not None:
        arrays, origin = full
        source = f"MNIST: 60,000 training and 10,000 test digits from {folder}."
        return _image_dataset(*arrays, config, name="mnist", source=source, origin=origin)
    images, labels = (_find_idx(folder, stem) for stem in MNIST_TEST_FILES)
    if images is None or labels is None:
        names = ", ".join(f"{s}.gz" for s in MNIST_TRAIN_FILES + MNIST_TEST_FILES)
        raise DataError(
            f"MNIST could not be downloaded and was not found in {folder.resolve()}. "
            f"Put the four MNIST files ({names}) in that folder (or only the two t10k files "
            f"for a smaller real set), set {DATA_DIR_ENV} to the folder that holds them, "
            "or pick the offline 'digits' dataset."
        )
    X, y = read_idx(images), read_idx(labels)
    if X.shape[1:] != (28, 28) or len(X) != len(y):
        raise DataError(f"{images} and {labels} do not hold matching 28x28 images and labels.")
    source = (
        f"Real MNIST: the official 10,000-image test set from {folder}, split "
        f"{1 - config.test_fraction:.0%}/{config.test_fraction:.0%} (stratified) into training "
        "and test parts; the 60,000 training images were not available."
    )
    return _split_images(X, y.astype(np.int64), config, name="mnist", source=source, origin="test-split")
