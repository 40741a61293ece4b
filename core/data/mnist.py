"""Handwritten digits: real MNIST (torchvision, or the IDX files in a folder) and scikit-learn's offline 8x8 digits.

Both become (n, 1, 28, 28) float32 images normalised like MNIST, with validation carved from the training part.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn import datasets as skd
from sklearn.model_selection import train_test_split

from core.config import DataConfig, DataError
from core.data.dataset import Dataset
from core.data.pixels import center_by_mass, normalize_pixels, resize_pixels
from core.data.points import carve_validation

DATA_DIR_ENV = "NNLAB_DATA_DIR"
MNIST_TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
MNIST_TRAIN_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
DIGIT_NAMES = tuple(str(d) for d in range(10))

FullMnist = Callable[[Path, bool], "tuple[tuple[np.ndarray, ...], str] | None"]


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


def make_digits(config: DataConfig) -> Dataset:
    """The offline "digits" dataset: scikit-learn's 8x8 digits framed like MNIST, split three ways."""
    X, y = load_offline_digits()
    source = (
        "scikit-learn's bundled 8x8 handwritten digits (1,797 images), scaled to 28x28 and "
        "centred like MNIST: an offline stand-in for MNIST."
    )
    return _split_images(X, y, config, name="digits", source=source, origin="offline")


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
        raise DataError(f"{path.name} is not an IDX file of unsigned bytes.")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise DataError(f"{path.name} is truncated: expected {int(np.prod(shape))} values, found {data.size}.")
    return data.reshape(shape)


def full_mnist(folder: Path, download: bool) -> tuple[tuple[np.ndarray, ...], str] | None:
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


def load_mnist(config: DataConfig, *, full: FullMnist = full_mnist) -> Dataset:
    """Real MNIST: the full set from `full` (torchvision), else the official 10k test set split 80/20."""
    folder = resolve_data_dir(config.data_dir)
    found = full(folder, config.download)
    if found is not None:
        arrays, origin = found
        source = "MNIST: 60,000 training and 10,000 test digits from the data folder."
        return _image_dataset(*arrays, config, name="mnist", source=source, origin=origin)
    images, labels = (_find_idx(folder, stem) for stem in MNIST_TEST_FILES)
    if images is None or labels is None:
        names = ", ".join(f"{s}.gz" for s in MNIST_TRAIN_FILES + MNIST_TEST_FILES)
        why = "could not be downloaded" if config.download else "was not downloaded (downloading is off)"
        raise DataError(
            f"MNIST {why} and is not in the data folder. "
            f"Put the four MNIST files ({names}) there (or only the two t10k files "
            f"for a smaller real set), set {DATA_DIR_ENV} (or --data-dir) to the folder that holds them, "
            "or pick the offline 'digits' dataset."
        )
    X, y = read_idx(images), read_idx(labels)
    if X.shape[1:] != (28, 28) or len(X) != len(y):
        raise DataError(f"{images.name} and {labels.name} do not hold matching 28x28 images and labels.")
    source = (
        "Real MNIST: the official 10,000-image test set from the data folder, split "
        f"{1 - config.test_fraction:.0%}/{config.test_fraction:.0%} (stratified) into training "
        "and test parts; the 60,000 training images were not available."
    )
    return _split_images(X, y.astype(np.int64), config, name="mnist", source=source, origin="test-split")
