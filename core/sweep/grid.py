"""Sweeps: one or two settings varied over a grid, each cell an ordinary run with the same seeds.

A `SweepSpec` expands into cells of (DataConfig, ModelConfig, TrainConfig); a backend runs them and hands each
`CellResult` back as it finishes (`LocalBackend` here, in the server's job slots behind interactive runs;
`core.sweep.ray_backend.RayBackend` on a Ray cluster; see core.sweep.run).
The best cell is chosen by validation accuracy, never by test.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from torch import nn

from core.config import (
    HEADS,
    LOSSES,
    MAX_HIDDEN_LAYERS,
    DataConfig,
    ModelConfig,
    RunOptions,
    TrainConfig,
    validate_model_config,
    validate_train_config,
)
from core.data.dataset import Dataset
from core.evaluate import evaluate_model, majority_class
from core.models import ACTIVATIONS, build_model
from core.training.presets import LEARNING_RATES
from core.training.result import EpochStats, TrainResult
from core.training.train import train_model

MAX_VALUES = 6  # per setting: a grid of at most 6 x 6 runs
RAY_ADDRESS_ENV = "NNLAB_RAY_ADDRESS"


class SweepError(ValueError):
    """A sweep that cannot run as asked; the message says what to change."""


@dataclass(frozen=True)
class Setting:
    """A setting a sweep can vary: its label, the type of its values and the values the page offers."""

    label: str
    kind: type
    choices: tuple


SETTINGS: dict[str, Setting] = {
    "lr": Setting("Learning rate", float, LEARNING_RATES[2:-1]),
    "units": Setting("Units per hidden layer", int, (1, 2, 4, 8, 16, 32, 64, 128)),
    "layers": Setting("Hidden layers", int, tuple(range(1, MAX_HIDDEN_LAYERS + 1))),
    "batch": Setting("Batch size (0 = all)", int, (8, 16, 32, 64, 128, 256, 0)),
    "activation": Setting("Activation", str, tuple(ACTIVATIONS)),
    "weight_decay": Setting("Weight decay", float, (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)),
    "loss": Setting("Loss", str, LOSSES),
    "head": Setting("Output head (2 classes)", str, HEADS),
}
MLP_ONLY = ("units", "layers")


def value_label(value: object) -> str:
    """A setting's value in words: 0.001 -> '0.001', a batch size of 0 -> 'all'."""
    if isinstance(value, float):
        return f"{value:g}"
    return "all" if value == 0 and not isinstance(value, bool) else str(value)


def apply_setting(name: str, value: object, model: ModelConfig, train: TrainConfig) -> tuple[ModelConfig, TrainConfig]:
    """`model` and `train` with one setting changed; `units` keeps the layer count, `layers` the first width."""
    if name == "lr":
        return model, replace(train, lr=float(value))
    if name == "batch":
        return model, replace(train, batch_size=int(value))
    if name == "weight_decay":
        return model, replace(train, weight_decay=float(value))
    if name == "activation":
        return replace(model, activation=str(value)), train
    if name in ("loss", "head"):  # the loss is a training setting, the head a model's
        return (model, replace(train, loss=str(value))) if name == "loss" else (replace(model, head=str(value)), train)
    if name == "units":
        return replace(model, hidden=(int(value),) * len(model.hidden)), train
    if name == "layers":
        return replace(model, hidden=(model.hidden[0],) * int(value)), train
    raise SweepError(f"A sweep varies one of {', '.join(SETTINGS)}. Got {name!r}.")


def parse_values(name: str, text: str) -> tuple:
    """'0.001,0.01' -> (0.001, 0.01) for setting `name`; SweepError says what a value should look like."""
    if name not in SETTINGS:
        raise SweepError(f"A sweep varies one of {', '.join(SETTINGS)}. Got {name!r}.")
    kind, parts = SETTINGS[name].kind, [p.strip() for p in text.split(",") if p.strip()]
    try:
        return tuple(kind(p) for p in parts)
    except ValueError:
        expected = {float: "numbers like 0.01", int: "whole numbers like 8", str: "names"}[kind]
        raise SweepError(f"{name} takes comma-separated {expected}. Got {text!r}.") from None


@dataclass(frozen=True)
class Axis:
    """One varied setting and its values, in the order the grid shows them."""

    name: str
    values: tuple


@dataclass(frozen=True)
class SweepCell:
    """One run of the grid: where it sits, the values it takes and its full settings."""

    index: int
    values: tuple
    data: DataConfig
    model: ModelConfig
    train: TrainConfig


@dataclass(frozen=True)
class SweepSpec:
    """Base settings and one or two axes (the first runs along the columns, the second down the rows)."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    axes: tuple[Axis, ...]

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns): the first setting runs along the columns, the second (if any) down the rows."""
        return (len(self.axes[1].values) if len(self.axes) > 1 else 1), len(self.axes[0].values)

    def name(self, cell: SweepCell) -> str:
        """'lr 0.1 · units 8': the cell's values, as the page names them."""
        return " · ".join(f"{axis.name} {value_label(v)}" for axis, v in zip(self.axes, cell.values))

    def cells(self) -> list[SweepCell]:
        """Every cell in row-major order, each with its own settings (seeds untouched)."""
        rows, cols = self.shape
        out = []
        for row in range(rows):
            for col in range(cols):
                values = tuple(axis.values[k] for axis, k in zip(self.axes, (col, row)))
                model, train = self.model, self.train
                # layers before units, so that varying both gives `layers` layers of `units` each
                for axis, value in sorted(zip(self.axes, values), key=lambda av: av[0].name != "layers"):
                    model, train = apply_setting(axis.name, value, model, train)
                out.append(SweepCell(row * cols + col, values, self.data, model, train))
        return out


def _validate(spec: SweepSpec) -> None:
    """Raise SweepError naming the first thing wrong with the axes or the settings they make."""
    if not 1 <= len(spec.axes) <= 2:
        raise SweepError(f"A sweep varies one or two settings. Got {len(spec.axes)}.")
    names = [a.name for a in spec.axes]
    if len(set(names)) != len(names):
        raise SweepError(f"Vary two different settings. Got {names[0]!r} twice.")
    for axis in spec.axes:
        if axis.name not in SETTINGS:
            raise SweepError(f"A sweep varies one of {', '.join(SETTINGS)}. Got {axis.name!r}.")
        if axis.name in MLP_ONLY and spec.model.kind != "mlp":
            raise SweepError(f"{axis.name} is a setting of the MLP; this model is a {spec.model.kind}.")
        if not 1 <= len(axis.values) <= MAX_VALUES:
            raise SweepError(f"Give {axis.name} 1 to {MAX_VALUES} values. Got {len(axis.values)}.")
        if len(set(axis.values)) != len(axis.values):
            raise SweepError(f"{axis.name} lists a value twice: {', '.join(map(str, axis.values))}.")
        for value in axis.values:
            model, train = apply_setting(axis.name, value, spec.model, spec.train)
            try:
                validate_model_config(model)
                validate_train_config(train)
            except ValueError as exc:
                raise SweepError(f"{axis.name}={value}: {exc}") from None


@dataclass(frozen=True, eq=False)
class CellResult:
    """One finished cell: its settings, how its run went and its metrics per split (as `train --json`)."""

    cell: SweepCell
    result: TrainResult
    metrics: dict[str, dict]
    model: nn.Module | None = None  # the trained network, for the run history

    @property
    def values(self) -> tuple:
        return self.cell.values

    @property
    def val_acc(self) -> float:
        return float(self.metrics["validation"]["accuracy"]) if "validation" in self.metrics else math.nan

    @property
    def test_acc(self) -> float:
        return float(self.metrics["test"]["accuracy"])

    @property
    def status(self) -> str:
        return self.result.status

    @property
    def seconds(self) -> float:
        return self.result.seconds

    @property
    def history(self) -> tuple[EpochStats, ...]:
        return self.result.history


@dataclass(frozen=True, eq=False)
class SweepResult:
    """The cells run so far (in grid order); `stopped` when Stop ended the sweep early."""

    spec: SweepSpec
    cells: tuple[CellResult, ...]
    stopped: bool = False

    @property
    def best(self) -> CellResult | None:
        """The cell with the highest validation accuracy (the first such, on ties); None before any."""
        scored = [c for c in self.cells if not math.isnan(c.val_acc)]
        return max(scored, key=lambda c: c.val_acc) if scored else None

    def grid(self) -> np.ndarray:
        """(rows, columns) validation accuracy; NaN where a cell has not run."""
        out = np.full(self.spec.shape, np.nan)
        for c in self.cells:
            out.flat[c.cell.index] = c.val_acc
        return out


def split_metrics(model: nn.Module, data: Dataset) -> dict[str, dict]:
    """The headline metrics of `model` on each split, as plain values: train, validation (if any), test."""
    majority = majority_class(data.y_train)
    splits = ("train", "validation", "test") if data.has_validation else ("train", "test")
    return {part: evaluate_model(model, *data.split(part), data.class_names).summary(majority) for part in splits}


def run_cell(cell: SweepCell, data: Dataset, options: RunOptions,
             should_stop: Callable[[], bool] | None = None) -> CellResult:
    """Train one cell exactly as a single run with its settings would be trained (stopped as a run is, between
    two steps, once `should_stop()`)."""
    model = build_model(cell.model, seed=cell.train.init_seed)
    result = train_model(model, data, cell.train, options, should_stop=should_stop)
    return CellResult(cell, result, split_metrics(model, data), model)

