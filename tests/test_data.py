"""Datasets: shapes, splits, seeds, MNIST discovery and its errors."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.config import POINT_DATASETS, DataConfig, DataError
from core.data.make import make_dataset
from core.data.mnist import DATA_DIR_ENV, read_idx, resolve_data_dir
from core.data.pixels import normalize_pixels, to_pixels


@pytest.mark.parametrize("name", POINT_DATASETS)
def test_point_datasets_have_split_shapes_and_classes(name: str) -> None:
    data = make_dataset(DataConfig(name=name, n_samples=300, test_fraction=0.25, n_classes=3, seed=3))
    assert data.X_train.shape[1:] == (2,) and data.X_train.dtype == np.float32
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 300
    assert len(data.y_test) == 75 and len(data.y_val) == round(0.15 * 225 + 0.49)
    for y in (data.y_train, data.y_val, data.y_test):  # stratified: every class in every split
        assert set(np.unique(y)) == set(range(data.n_classes))
    assert set(np.unique(data.y_train)) == set(range(data.n_classes))
    assert not data.is_image and data.origin == "generated" and name in data.name


def test_split_is_stratified_and_seeded() -> None:
    a = make_dataset(DataConfig(name="moons", n_samples=400, seed=7))
    b = make_dataset(DataConfig(name="moons", n_samples=400, seed=7))
    c = make_dataset(DataConfig(name="moons", n_samples=400, seed=8))
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)
    assert np.bincount(a.y_test).tolist() == [40, 40]


def test_blobs_and_spiral_follow_the_class_count() -> None:
    assert make_dataset(DataConfig(name="blobs", n_classes=5)).n_classes == 5
    assert make_dataset(DataConfig(name="spiral", n_classes=2)).n_classes == 2


def test_circles_factor_separates_radii() -> None:
    data = make_dataset(DataConfig(name="circles", n_samples=1000, noise=0.0, factor=0.3))
    radius = np.linalg.norm(data.X_train, axis=1)
    inner = data.class_names.index("inner")
    assert radius[data.y_train == inner].max() < 0.31 < 0.99 < radius[data.y_train != inner].min()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (DataConfig(name="nope"), "Unknown dataset 'nope'"),
        (DataConfig(n_samples=10), "n_samples must be between 100 and 5000. Got 10"),
        (DataConfig(noise=0.9), "noise must be between"),
        (DataConfig(factor=1.0), "factor must be between"),
        (DataConfig(test_fraction=0.9), "test_fraction"),
        (DataConfig(name="blobs", n_classes=9), "n_classes must be between 2 and 6"),
        (DataConfig(name="spiral", n_classes=4), "n_classes must be between 2 and 3"),
        (DataConfig(name="digits", train_size=3), "train_size must be at least 10"),
    ],
)
def test_bad_config_says_what_is_wrong(config: DataConfig, message: str) -> None:
    with pytest.raises(DataError, match=message):
        make_dataset(config)


def test_offline_digits_look_like_mnist(digits) -> None:
    assert digits.input_shape == (1, 28, 28) and digits.n_classes == 10
    assert len(digits.y_train) == 300 and digits.origin == "offline"
    pixels = to_pixels(digits.X_train[:, 0])
    assert pixels.min() >= 0 and pixels.max() <= 1
    # MNIST framing: ink centred, a 4-pixel empty border on average.
    mass = pixels.sum(axis=0)
    rows, cols = np.indices(mass.shape)
    assert abs((rows * mass).sum() / mass.sum() - 13.5) < 1.0
    assert abs((cols * mass).sum() / mass.sum() - 13.5) < 1.0
    assert pixels[:, :2, :].mean() < 0.01 and pixels[:, 8:20, 8:20].mean() > 0.2


def test_normalisation_round_trips() -> None:
    pixels = np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(to_pixels(normalize_pixels(pixels)), pixels, atol=1e-6)


def test_data_dir_resolution(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert resolve_data_dir() == Path("data")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert resolve_data_dir() == tmp_path
    assert resolve_data_dir(tmp_path / "x") == tmp_path / "x"


def test_missing_mnist_names_the_files_and_the_setting_but_never_a_server_path(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        make_dataset(DataConfig(name="mnist", data_dir=str(tmp_path), download=False))
    text = str(info.value)
    assert str(tmp_path) not in text and "NNLAB_DATA_DIR" in text  # the page shows this to students
    assert text.startswith("MNIST was not downloaded (downloading is off)")  # QA: it said "could not be downloaded"
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        assert stem in text
    assert "digits" in text  # the offline way out


def test_truncated_idx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t10k-images-idx3-ubyte"
    header = bytes([0, 0, 8, 3]) + (100).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    path.write_bytes(header + bytes(500))
    with pytest.raises(DataError, match="truncated"):
        read_idx(path)


@pytest.mark.mnist
def test_real_mnist_test_set_split_80_20(mnist) -> None:
    assert mnist.origin == "test-split" and "10,000" in mnist.source
    # 80/20 train/test, then 15% of the 8,000 training digits held out for validation.
    assert len(mnist.y_train) == 6800 and len(mnist.y_val) == 1200 and len(mnist.y_test) == 2000
    assert np.bincount(mnist.y_test).min() > 150  # stratified: every digit well represented
    assert abs(float(mnist.X_train.mean())) < 0.05  # normalised with the MNIST constants


@pytest.mark.mnist
def test_real_mnist_found_in_torchvision_layout_and_subset(mnist_folder: Path, tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in mnist_folder.glob("t10k-*.gz"):  # uncompressed, as torchvision leaves them
        (raw / f.name.removesuffix(".gz")).write_bytes(gzip.decompress(f.read_bytes()))
    data = make_dataset(DataConfig(name="mnist", data_dir=str(tmp_path), download=False, train_size=1000))
    assert len(data.y_train) == 1000 and "subset" in data.source
    shutil.rmtree(raw)
