"""2-D points: the generated point clouds, your own points, and the stratified train / validation / test split."""

from __future__ import annotations

import numpy as np
from sklearn import datasets as skd
from sklearn.model_selection import train_test_split

from core.config import DataConfig, DataError, check_range
from core.data.dataset import Dataset

MIN_PER_CLASS = 5  # points of every class in every split: fewer and a split's accuracy means little


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


def _generate(config: DataConfig) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], str]:
    """(X, y, class names, a phrase saying what they are) for one of the generated point clouds."""
    n, noise, seed, name = config.n_samples, config.noise, config.seed, config.name
    rng = np.random.default_rng(seed)
    if name == "circles":
        X, y = skd.make_circles(n_samples=n, noise=noise, factor=config.factor, random_state=seed)
        return X, y, ("outer", "inner"), f"two circles (factor {config.factor})"
    if name == "moons":
        X, y = skd.make_moons(n_samples=n, noise=noise, random_state=seed)
        return X, y, ("upper", "lower"), "two interleaving half-moons"
    if name == "blobs":
        k = config.n_classes
        X, y = skd.make_blobs(n_samples=n, centers=k, cluster_std=0.5 + 4 * noise, random_state=seed)
        X = (X - X.mean(axis=0)) / X.std(axis=0)  # keep every dataset on a similar scale
        return X, y, tuple(f"blob {i}" for i in range(k)), f"{k} Gaussian blobs"
    if name == "xor":
        X, y = _xor(n, noise, rng)
        return X, y, ("same sign", "opposite sign"), "XOR of the two coordinates' signs"
    if name == "spiral":
        X, y = _spiral(n, config.n_classes, noise, rng)
        return X, y, tuple(f"arm {i}" for i in range(config.n_classes)), "interleaved spiral arms"
    half = n // 2  # gaussians
    X = np.concatenate(
        [rng.normal(-1.0, 0.5 + 2 * noise, (half, 2)), rng.normal(1.0, 0.5 + 2 * noise, (n - half, 2))]
    )
    return X, np.repeat([0, 1], [half, n - half]), ("left", "right"), "two overlapping Gaussian clouds"


def make_points(config: DataConfig) -> Dataset:
    """The generated point cloud `config` names (circles, moons, ...), split three ways."""
    X, y, classes, what = _generate(config)
    X_train, y_train, X_val, y_val, X_test, y_test = split_points(
        X.astype(np.float32), y.astype(np.int64), classes, config.test_fraction, config.val_fraction, config.seed)
    source = f"Generated: {what}, {config.n_samples} points, noise {config.noise}, seed {config.seed}."
    return Dataset(X_train, y_train, X_test, y_test, classes, config.name, source, "generated", X_val, y_val)


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
    check_range("test_fraction", test_fraction, 0.05, 0.5)
    check_range("val_fraction", val_fraction, 0.0, 0.5)
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


def own_points(config: DataConfig) -> Dataset:
    """Your own points as `config.points` holds them ((x, y, class index) each), split three ways."""
    X = np.array([p[:2] for p in config.points], dtype=np.float64).reshape(-1, 2)
    y = np.array([p[2] for p in config.points], dtype=np.int64)
    return points_dataset(X, y, config.class_names, test_fraction=config.test_fraction,
                          val_fraction=config.val_fraction, seed=config.seed, name="your points")


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
