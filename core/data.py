"""Datasets: generated 2-D point clouds and handwritten digits, as in-memory numpy arrays."""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn import datasets as skd
from sklearn.model_selection import train_test_split

POINT_DATASETS = ("circles", "moons", "blobs", "xor", "spiral", "gaussians")
IMAGE_DATASETS = ("mnist", "digits")
DATASETS = POINT_DATASETS + IMAGE_DATASETS

# MNIST training-set pixel statistics, used for every image input (training and uploads).
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
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
    seed: int = 0
    train_size: int | None = None  # images: stratified subset of the training part
    data_dir: str | None = None  # MNIST folder; None -> $NNLAB_DATA_DIR or ./data
    download: bool = True


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train/test arrays ready for a model, plus where they came from.

    Points are (n, 2) float32; images are (n, 1, 28, 28) float32 already normalised
    with MNIST_MEAN/MNIST_STD (use `to_pixels` to get back to [0, 1] for display).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    name: str
    source: str  # one sentence for the user: where the data came from
    origin: str  # "generated" | "downloaded" | "local" | "test-split" | "offline"

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
        return np.concatenate([self.X_train, self.X_test])


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise DataError(f"{name} must be between {low} and {high}. Got {value} instead.")


def validate_config(config: DataConfig) -> None:
    """Raise DataError naming the first out-of-range field of `config`."""
    if config.name not in DATASETS:
        raise DataError(f"Unknown dataset {config.name!r}; choose one of {', '.join(DATASETS)}.")
    _check_range("test_fraction", config.test_fraction, 0.05, 0.5)
    if config.name in POINT_DATASETS:
        _check_range("n_samples", config.n_samples, 50, 5000)
        _check_range("noise", config.noise, 0.0, 0.5)
        _check_range("factor", config.factor, 0.1, 0.9)
        if config.name == "blobs":
            _check_range("n_classes", config.n_classes, 2, 6)
        if config.name == "spiral":
            _check_range("n_classes", config.n_classes, 2, 3)
    if config.train_size is not None and config.train_size < 10:
        raise DataError(f"train_size must be at least 10. Got {config.train_size} instead.")


def make_dataset(config: DataConfig = DataConfig()) -> Dataset:
    """Build the dataset that `config` describes."""
    validate_config(config)
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
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float32), y.astype(np.int64),
        test_size=config.test_fraction, stratify=y, random_state=seed,
    )
    source = f"Generated: {what}, {n} points, noise {noise}, seed {seed}."
    return Dataset(X_train, y_train, X_test, y_test, classes, name, source, "generated")


# --- images -----------------------------------------------------------------------------


def normalize_pixels(pixels: np.ndarray) -> np.ndarray:
    """[0, 1] pixels -> model input, with the MNIST constants."""
    return ((pixels - MNIST_MEAN) / MNIST_STD).astype(np.float32)


def to_pixels(X: np.ndarray) -> np.ndarray:
    """Model input -> [0, 1] pixels for display (inverse of `normalize_pixels`)."""
    return np.clip(X * MNIST_STD + MNIST_MEAN, 0.0, 1.0)


def _split_images(X: np.ndarray, y: np.ndarray, config: DataConfig, **kw: str) -> Dataset:
    """Stratified train/test split of (n, 28, 28) images, then `_image_dataset`."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=config.test_fraction, stratify=y, random_state=config.seed
    )
    return _image_dataset(X_train, y_train, X_test, y_test, config, **kw)


def _image_dataset(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
                   config: DataConfig, *, name: str, source: str, origin: str) -> Dataset:
    """uint8 or [0, 1] images (n, 28, 28) -> normalised Dataset, with the optional subset."""
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
                   DIGIT_NAMES, name, source, origin)


def load_offline_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits -> (n, 28, 28) float32 in [0, 1], MNIST-style framing."""
    from core.images import center_by_mass, resize_pixels

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
