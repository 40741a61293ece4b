"""Your own drawn points: the plane's pixel <-> data mapping, brush and eraser edits, and a compact link form.

A drawn set is a plain tuple of (x, y, class index) in the plane's own units, so it can sit in a frozen
`DataConfig` (name "csv") and key a cache; `core.data.make.make_dataset` turns it into splits like any other
2-D data. The plane is drawn by `core.plots.drawn.plane_image` with the same `View` that maps clicks back.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from dataclasses import dataclass

import numpy as np

from core.checkpoint import CLASS_NAME
from core.config import OWN_POINTS, DataConfig
from core.data.csvfile import MAX_CLASSES, MAX_ROWS, PointSet
from core.data.dataset import Dataset
from core.data.points import MIN_PER_CLASS

Points = tuple[tuple[float, float, int], ...]
Units = tuple[np.ndarray, np.ndarray] | None  # Dataset.units: (mean, std) per axis; None for generated data
# Named after the app's class colours (core.plots.style.CLASS_COLORS), so a class is easy to call out.
DRAWN_NAMES = ("orange", "blue", "green", "pink", "sky", "brown")
EMPTY_BOX = (-2.0, 2.0, -2.0, 2.0)  # an empty plane: the scale of the generated datasets
MAX_IN_LINK = 200  # points: more do not travel in a link (the CSV does)
LINK_VERSION = 1
_HEADER = struct.Struct("<BBH4f")  # version, classes, points, x0 x1 y0 y1 (float32)
_LEVELS = 65535  # coordinates travel as 16-bit steps across the set's own box


class DrawnError(ValueError):
    """A drawn set or its link form that cannot be used; the message says what is wrong, in plain words."""


@dataclass(frozen=True)
class View:
    """The plane: data box (x0, x1) x (y0, y1) shown on an image of `width` x `height` pixels, y pointing up."""

    x0: float
    x1: float
    y0: float
    y1: float
    width: int = 720
    height: int = 540


def view_for(X: np.ndarray, *, width: int = 720, height: int = 540, margin: float = 0.12) -> View:
    """A view that shows every point of `X` (n, 2) with a margin; the default box when there are none."""
    X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
    if len(X) == 0:
        return View(*EMPTY_BOX, width, height)
    low, high = X.min(axis=0), X.max(axis=0)
    span = np.where(high - low > 0, high - low, np.maximum(np.abs(high), 1.0))
    low, high = low - margin * span, high + margin * span
    return View(float(low[0]), float(high[0]), float(low[1]), float(high[1]), width, height)


def to_pixels(X: np.ndarray, view: View) -> np.ndarray:
    """Data coordinates (n, 2) -> image pixels (n, 2) as floats: (0, 0) is the top-left corner."""
    X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
    px = (X[:, 0] - view.x0) / (view.x1 - view.x0) * view.width
    py = (view.y1 - X[:, 1]) / (view.y1 - view.y0) * view.height
    return np.stack([px, py], axis=1)


def to_data(px: float, py: float, view: View) -> tuple[float, float]:
    """An image pixel position -> the data point under it (the inverse of `to_pixels`)."""
    return (view.x0 + px / view.width * (view.x1 - view.x0), view.y1 - py / view.height * (view.y1 - view.y0))


def click_to_data(click: dict, view: View) -> tuple[float, float]:
    """A click as the component reports it (x, y on an image shown `width` x `height`) -> data point."""
    shown_w, shown_h = float(click.get("width") or view.width), float(click.get("height") or view.height)
    return to_data(float(click["x"]) * view.width / shown_w, float(click["y"]) * view.height / shown_h, view)


# --- editing -------------------------------------------------------------------------------------


def as_arrays(points: Points) -> tuple[np.ndarray, np.ndarray]:
    """(X (n, 2) float64, y (n,) int64) of a drawn set."""
    X = np.array([p[:2] for p in points], dtype=np.float64).reshape(-1, 2)
    return X, np.array([p[2] for p in points], dtype=np.int64)


def as_points(X: np.ndarray, y: np.ndarray) -> Points:
    """Arrays -> a drawn set, coordinates rounded to float32 precision (as a CSV holds them)."""
    X = np.asarray(X, dtype=np.float32).reshape(-1, 2)
    return tuple((float(a), float(b), int(c)) for (a, b), c in zip(X.tolist(), np.asarray(y).tolist()))


def brush_radius(view: View, size: int) -> float:
    """The brush's radius in data units: a few percent of the plane per size step."""
    return 0.02 * size * min(view.x1 - view.x0, view.y1 - view.y0)


def add_points(points: Points, at: tuple[float, float], label: int, *, count: int = 1, radius: float = 0.0,
               seed: int = 0) -> Points:
    """`points` plus one point at `at`, or a seeded cloud of `count` around it (Gaussian, `radius` ≈ 2 sigma)."""
    if not 0 <= label < MAX_CLASSES:
        raise DrawnError(f"label must be between 0 and {MAX_CLASSES - 1}. Got {label} instead.")
    if count < 1 or len(points) + count > MAX_ROWS:
        raise DrawnError(f"A drawn set holds at most {MAX_ROWS:,} points; erase some or start again.")
    cloud = np.asarray([at], dtype=np.float64)
    if count > 1:
        cloud = cloud + np.random.default_rng(seed).normal(scale=radius / 2, size=(count, 2))
    return points + as_points(cloud, np.full(len(cloud), label))


def erase_points(points: Points, at: tuple[float, float], radius: float) -> Points:
    """`points` without those within `radius` of `at`."""
    X, _ = as_arrays(points)
    keep = np.hypot(X[:, 0] - at[0], X[:, 1] - at[1]) > radius
    return tuple(p for p, k in zip(points, keep) if k)


def points_of(data: Dataset) -> Points:
    """Every point of a 2-D dataset, in its own units (your own points' standardisation undone)."""
    X = np.concatenate([data.X_train, data.X_val, data.X_test]) if data.has_validation else np.concatenate(
        [data.X_train, data.X_test])
    y = np.concatenate([data.y_train, data.y_val, data.y_test]) if data.has_validation else np.concatenate(
        [data.y_train, data.y_test])
    return as_points(to_units(X, data.units), y)


def to_units(X: np.ndarray, units: Units) -> np.ndarray:
    """Standardised points (n, 2) -> the user's own units (unchanged when `units` is None)."""
    X = np.asarray(X, dtype=np.float64)
    if units is None:
        return X
    mean, std = units
    return X * np.asarray(std, dtype=np.float64) + np.asarray(mean, dtype=np.float64)


@dataclass(frozen=True)
class PointAxis:
    """One coordinate of a typed point, in the user's units: its range, input step and starting value."""

    low: float
    high: float
    step: float
    start: float

    @property
    def digits(self) -> int:
        """Decimals shown: a tenth of a step."""
        return max(0, 1 - math.floor(math.log10(self.step)))

    def clamp(self, value: float) -> float:
        """`value` inside the range, rounded to `digits` (a clicked point snaps to readable numbers)."""
        return round(min(max(float(value), self.low), self.high), self.digits)


def point_axes(units: Units, *, limit: float = 10.0) -> tuple[PointAxis, PointAxis]:
    """The x and y inputs for a typed point: `limit` standard deviations either side of the data's centre."""
    mean, std = (np.zeros(2), np.ones(2)) if units is None else (np.asarray(a, dtype=np.float64) for a in units)
    axes = []
    for m, s in zip(mean.tolist(), std.tolist()):
        step = float(f"{0.1 * s:.1g}")  # a tenth of the spread, to one significant digit
        axes.append(PointAxis(float(f"{m - limit * s:.6g}"), float(f"{m + limit * s:.6g}"), step, float(f"{m:.3g}")))
    return axes[0], axes[1]


def from_units(X: np.ndarray, units: Units) -> np.ndarray:
    """Points (n, 2) in the user's own units -> the standardised inputs the model takes (float32)."""
    X = np.asarray(X, dtype=np.float64)
    if units is not None:
        mean, std = units
        X = (X - np.asarray(mean, dtype=np.float64)) / np.asarray(std, dtype=np.float64)
    return X.astype(np.float32)


def drawn_config(points: Points, class_names: tuple[str, ...], base: DataConfig) -> DataConfig:
    """The DataConfig of a drawn set, keeping `base`'s seed, split fractions and label noise."""
    return DataConfig(name=OWN_POINTS, seed=base.seed, test_fraction=base.test_fraction,
                      val_fraction=base.val_fraction, label_noise=base.label_noise, points=tuple(points),
                      class_names=tuple(class_names))


def per_class_needed(test_fraction: float, val_fraction: float) -> int:
    """Points a class needs so that train, validation and test each get MIN_PER_CLASS of it (one spare)."""
    test = math.ceil((MIN_PER_CLASS + 1) / test_fraction)
    val = math.ceil((MIN_PER_CLASS + 1) / ((1 - test_fraction) * val_fraction)) if val_fraction else 0
    train = math.ceil((MIN_PER_CLASS + 1) / ((1 - test_fraction) * (1 - val_fraction)))
    return max(test, val, train)


def missing_points(points: Points, class_names: tuple[str, ...], config: DataConfig) -> dict[str, int]:
    """Class name -> how many more points it needs before the set can be split; empty when it has enough."""
    _, y = as_arrays(points)
    counts = np.bincount(y, minlength=len(class_names))
    need = per_class_needed(config.test_fraction, config.val_fraction)
    return {name: int(need - c) for name, c in zip(class_names, counts.tolist()) if c < need}


def to_point_set(points: Points, class_names: tuple[str, ...]) -> PointSet:
    """A drawn set as a PointSet, for `core.data.csvfile.write_points_csv`."""
    X, y = as_arrays(points)
    return PointSet(X.astype(np.float32), y, tuple(class_names))


# --- the link form: base64url of a small byte packing ------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def pack_link(points: Points, class_names: tuple[str, ...]) -> str:
    """A drawn set of at most MAX_IN_LINK points as URL-safe text: each coordinate as a 16-bit step of its box.

    Layout: version, classes, points, the box (4 float32), each name (length byte + UTF-8), the x and y
    steps (uint16 each) and the labels (4 bits each).
    """
    if not 0 < len(points) <= MAX_IN_LINK:
        raise DrawnError(f"Only sets of 1 to {MAX_IN_LINK} points travel in a link; this one has {len(points):,}.")
    X, y = as_arrays(points)
    box = np.array([X[:, 0].min(), X[:, 0].max(), X[:, 1].min(), X[:, 1].max()], dtype=np.float32)
    span = np.where(box[1::2] > box[::2], box[1::2] - box[::2], 1.0).astype(np.float64)
    steps = np.rint((X - box[::2].astype(np.float64)) / span * _LEVELS).clip(0, _LEVELS).astype("<u2")
    names = b"".join(bytes([len(n.encode())]) + n.encode() for n in class_names)
    labels = np.zeros(2 * ((len(y) + 1) // 2), dtype=np.uint8)
    labels[: len(y)] = y
    packed = (labels[0::2] | (labels[1::2] << 4)).astype(np.uint8)
    return _b64(_HEADER.pack(LINK_VERSION, len(class_names), len(y), *box.tolist()) + names + steps.tobytes()
                + packed.tobytes())


def _names(raw: bytes, k: int, at: int) -> tuple[tuple[str, ...], int]:
    """k length-prefixed UTF-8 class names from `raw` at offset `at` -> (names, offset after them)."""
    names = []
    for _ in range(k):
        size = raw[at] if at < len(raw) else 0
        try:
            name = raw[at + 1: at + 1 + size].decode()
        except UnicodeDecodeError:
            name = ""
        if len(name.encode()) != size or not CLASS_NAME.fullmatch(name) or name in names:
            raise DrawnError("its class names are not short plain distinct words.")
        names.append(name)
        at += 1 + size
    return tuple(names), at


def unpack_link(text: str) -> tuple[Points, tuple[str, ...]]:
    """`pack_link`'s text -> (points, class names); DrawnError with a short plain reason for anything else."""
    if not text or len(text) > 4 * MAX_IN_LINK * 3 or not set(text) <= _B64URL:
        raise DrawnError("it is not a drawn set written by this app.")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise DrawnError("it is not a drawn set written by this app.") from None
    if len(raw) < _HEADER.size:
        raise DrawnError("it is cut short.")
    version, k, n, *box = _HEADER.unpack_from(raw)
    if version != LINK_VERSION:
        raise DrawnError(f"it was written in another format (version {version}).")
    if not 2 <= k <= MAX_CLASSES or not 0 < n <= MAX_IN_LINK:
        raise DrawnError(f"it claims {k} classes and {n} points; a link holds 2-{MAX_CLASSES} classes and at most "
                         f"{MAX_IN_LINK} points.")
    if not all(math.isfinite(v) and abs(v) <= 1e6 for v in box) or box[0] > box[1] or box[2] > box[3]:
        raise DrawnError("its box is not a finite range.")
    names, at = _names(raw, k, _HEADER.size)
    if len(raw) != at + 4 * n + (n + 1) // 2:
        raise DrawnError(f"its length does not match its {n} points.")
    steps = np.frombuffer(raw, dtype="<u2", count=2 * n, offset=at).reshape(n, 2).astype(np.float64)
    packed = np.frombuffer(raw, dtype=np.uint8, offset=at + 4 * n)
    y = np.stack([packed & 15, packed >> 4], axis=1).reshape(-1)[:n].astype(np.int64)
    if y.max() >= k:
        raise DrawnError(f"a point belongs to class {int(y.max())}, but there are only {k}.")
    low, high = np.array(box[::2]), np.array(box[1::2])
    return as_points(low + steps / _LEVELS * (high - low), y), names


_B64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def resize_classes(points: Points, class_names: tuple[str, ...], n_classes: int) -> tuple[Points, tuple[str, ...]]:
    """`n_classes` classes: new ones take the next free colour name; points of dropped classes go with them."""
    if not 2 <= n_classes <= MAX_CLASSES:
        raise DrawnError(f"A drawn set has 2 to {MAX_CLASSES} classes. Got {n_classes} instead.")
    names = list(class_names[:n_classes])
    names += [n for n in DRAWN_NAMES if n not in names][: n_classes - len(names)]
    return tuple(p for p in points if p[2] < n_classes), tuple(names)
