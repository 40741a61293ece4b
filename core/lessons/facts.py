"""What a check may read of a finished run (`RunFacts`), and every name of the check vocabulary (`MEASURES`).

A `RunFacts` holds the run's settings, its result (history and status), its model and the training and
validation splits only: the test split is never handed over, so no measurement can read it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from torch import nn

from core.config import Settings
from core.evaluate import Metrics, accuracy_interval, evaluate_model
from core.insight.maps import layer_outputs, unit_health
from core.models import build_model, count_parameters, linear_weights
from core.training.diagnose import plain_number
from core.training.result import TrainResult

if TYPE_CHECKING:
    from core.lab import Lab

NAN = float("nan")
SMALL_WEIGHT = 0.01  # |w| below this counts as a weight pushed to zero (L1)


@dataclass(frozen=True, eq=False)
class RunFacts:
    """One finished run as a check sees it: settings, result, model, and the training and validation splits."""

    settings: Settings
    result: TrainResult
    model: nn.Module | None  # None when the run diverged (no weights kept)
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray | None
    y_val: np.ndarray | None
    class_names: tuple[str, ...]

    @cached_property
    def validation(self) -> Metrics | None:
        """The final model's metrics on the validation split (None without a model or a validation split)."""
        if self.model is None or self.y_val is None or len(self.y_val) == 0:
            return None
        return evaluate_model(self.model, self.X_val, self.y_val, self.class_names)

    @cached_property
    def train_accuracy(self) -> float:
        """The final model's accuracy on the training split (NaN without a model)."""
        if self.model is None:
            return NAN
        return evaluate_model(self.model, self.X_train, self.y_train, self.class_names).accuracy


def facts_of(lab: Lab) -> RunFacts | None:
    """The lab's finished run of its current settings; None while training, before any run, after a settings
    change not yet trained, or for an uploaded model."""
    if lab.training or lab.result is None or lab.needs_retrain or lab.from_file or lab.settings is None:
        return None
    data = lab.data
    val = data.has_validation
    return RunFacts(lab.settings, lab.result, lab.model, data.X_train, data.y_train,
                    data.X_val if val else None, data.y_val if val else None, data.class_names)


# --- the measurements -----------------------------------------------------------------------------


# How a run ended (TrainResult.status), as a learner reads it after "Your run:" and after "the run".
ENDINGS = (("completed", "ran all its epochs"), ("converged", "converged (its loss stopped improving)"),
           ("early_stopped", "stopped early"), ("still_improving", "was still improving at its last epoch"),
           ("stopped", "was stopped before the end"), ("time_limit", "hit the time limit"),
           ("diverged", "diverged"), ("stalled", "stalled"), ("not_learning", "did not learn"))


def _significant(number: float, digits: int) -> float:
    return float(f"{number:.{digits}g}")


@dataclass(frozen=True)
class Measure:
    """One name of the vocabulary: what it reads, whether it is measured on the run, how to show it."""

    label: str
    measure: Callable[[RunFacts], float | str]
    outcome: bool  # measured on the run (True) or read from its settings (False)
    text: bool = False  # a word (compared with == and !=), not a number
    percent: bool = False  # a share (a ratio, for the gradient), shown as a percentage
    tolerance: float = 0.02  # "two points" of its scale: a start or solution this close to a threshold is refused
    after: str = ""  # words after the value: "of the last layer's"
    words: tuple[tuple[str, str], ...] = ()  # a word's reading ("early_stopped" -> "stopped early"), said alone

    def rounded(self, value: float) -> float:
        """A number as the learner reads it, in its shown units (percentage points for a share): one decimal of
        a percentage (two significant digits below 0.05%), else three significant digits; whole numbers exact.
        A check compares this, so a value shown as meeting its threshold meets it (0.9 - 0.8 is 10.0%)."""
        if not math.isfinite(value):
            return value
        if self.percent:
            points = 100 * value
            near = round(points, 1)
            return near if near or not points else _significant(points, 2)
        return value if value == int(value) else _significant(value, 3)

    def limit(self, value: float) -> float:
        """A check's threshold in the shown units, at the precision it was written (0.07 -> 7.0, not 7.000…01)."""
        return round(100 * value, 9) if self.percent else value

    def show(self, value: float | str) -> str:
        """The value as a learner reads it: 95.0%, 0.031, 6, 0.000083%, "diverged"."""
        if self.text or isinstance(value, str):
            return dict(self.words).get(value, str(value).replace("_", " ")) if self.words else str(value)
        shown = self.rounded(value)
        if not math.isfinite(shown):
            return plain_number(shown)
        if self.percent:
            return f"{shown:.1f}%" if abs(shown) >= 0.1 or not shown else f"{plain_number(shown)}%"
        return plain_number(shown)

    def show_limit(self, value: float | str) -> str:
        """A threshold as written in the check: 90%, 0.6, 4 (a word as `show` reads it)."""
        if self.text or isinstance(value, str):
            return self.show(value)
        return f"{plain_number(self.limit(value))}{'%' if self.percent else ''}"

    def reading(self, value: float | str) -> str:
        """One measurement of a run in words: 'validation accuracy 93.3%', 'stopped early'."""
        if self.words and isinstance(value, str):
            return self.show(value)
        return " ".join(part for part in (self.label, self.show(value), self.after) if part)

    def wanted(self, op: str, value: float | str) -> str:
        """One comparison in words: 'validation accuracy ≥ 90%', 'the run diverged'."""
        if self.words and op == "==":
            return f"the run {self.show(value)}"
        symbol = {"<=": "≤", ">=": "≥", "!=": "≠", "==": "="}.get(op, op)
        shown = self.show(value) if self.words else f'"{value}"' if self.text else self.show_limit(value)
        return " ".join(part for part in (self.label, symbol, shown, self.after) if part)


def _validation(facts: RunFacts, read: Callable[[Metrics], float]) -> float:
    metrics = facts.validation
    return NAN if metrics is None else float(read(metrics))


def _log_loss(m: Metrics) -> float:
    picked = m.proba[np.arange(len(m.y_true)), m.y_true]
    return float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0))))


def _half_interval(m: Metrics) -> float:
    low, high = accuracy_interval(m.accuracy, m.n_samples)
    return (high - low) / 2


def _worst_recall(m: Metrics) -> float:
    return float(np.min(m.recall[m.support > 0]))


def _hidden_outputs(facts: RunFacts) -> list[np.ndarray]:
    """Each hidden layer's outputs over the training points (dense models of 2-D points only)."""
    if facts.model is None or facts.settings.model.kind != "mlp" or facts.settings.model.takes_images:
        return []
    return layer_outputs(facts.model, facts.X_train)[1:-1]  # minus the inputs and the class probabilities


def _dead_share(facts: RunFacts) -> float:
    outputs = _hidden_outputs(facts)
    if not outputs:
        return NAN
    dead = [unit_health(values, facts.settings.model.activation)[0] for values in outputs]
    return float(np.concatenate(dead).mean())


def _weights(facts: RunFacts) -> np.ndarray:
    """Every learned weight of the dense layers (biases left out), flattened; empty without a model."""
    if facts.model is None:
        return np.zeros(0)
    return np.concatenate([w.ravel() for w in linear_weights(facts.model)])


def _mean_abs_weight(facts: RunFacts) -> float:
    weights = _weights(facts)
    return float(np.abs(weights).mean()) if weights.size else NAN


def _small_share(facts: RunFacts) -> float:
    weights = _weights(facts)
    return float((np.abs(weights) < SMALL_WEIGHT).mean()) if weights.size else NAN


def _gradient_ratio(facts: RunFacts) -> float:
    flow = facts.result.gradients
    return NAN if flow is None or not len(flow.epochs) else float(flow.ratio()[0])


def _parameters(facts: RunFacts) -> float:
    model = facts.model or build_model(facts.settings.model)
    return float(count_parameters(model))


def _hidden(facts: RunFacts) -> tuple[int, ...]:
    model = facts.settings.model
    return tuple(model.hidden) if model.kind == "mlp" else ()


def _setting(read: Callable[[Settings], float | str], label: str, *, text: bool = False) -> Measure:
    def measure(facts: RunFacts) -> float | str:
        value = read(facts.settings)
        return value if text else float(value)
    return Measure(label, measure, outcome=False, text=text)


MEASURES: dict[str, Measure] = {
    # measured outcomes of the run: the validation split, the history, the weights; never the test split
    "validation_accuracy": Measure("validation accuracy", lambda f: _validation(f, lambda m: m.accuracy),
                                   outcome=True, percent=True),
    "train_accuracy": Measure("training accuracy", lambda f: f.train_accuracy, outcome=True, percent=True),
    "train_val_gap": Measure("train–validation gap",
                             lambda f: f.train_accuracy - _validation(f, lambda m: m.accuracy),
                             outcome=True, percent=True),
    # the same gap the other way round, for the lesson where training falls behind (wrong labels): read as a
    # positive number ("15 points below"), not as a gap of -15%
    "validation_lead": Measure("validation − training accuracy",
                               lambda f: _validation(f, lambda m: m.accuracy) - f.train_accuracy,
                               outcome=True, percent=True),
    "validation_loss": Measure("validation loss", lambda f: _validation(f, _log_loss), outcome=True),
    "validation_interval": Measure("validation accuracy's margin", lambda f: _validation(f, _half_interval),
                                   outcome=True, percent=True, tolerance=0.003, after="(± of its 95% interval)"),
    "mean_confidence": Measure("mean confidence on validation",
                               lambda f: _validation(f, lambda m: m.proba.max(axis=1).mean()), outcome=True,
                               percent=True),
    "worst_class_recall": Measure("worst class's validation recall", lambda f: _validation(f, _worst_recall),
                                  outcome=True, percent=True),
    "status": Measure("how the run ended", lambda f: f.result.status, outcome=True, text=True, words=ENDINGS),
    "epochs_run": Measure("epochs trained", lambda f: float(len(f.result.history)), outcome=True, tolerance=2),
    "dead_units": Measure("share of dead hidden units", _dead_share, outcome=True, percent=True),
    "mean_weight": Measure("mean weight size", _mean_abs_weight, outcome=True, tolerance=0.01),
    "small_weights": Measure(f"share of weights below {SMALL_WEIGHT}", _small_share, outcome=True, percent=True),
    "first_layer_gradient": Measure("first layer's gradient", _gradient_ratio, outcome=True, percent=True,
                                    tolerance=0.005, after="of the last layer's"),
    # settings the run was trained with
    "dataset": _setting(lambda s: s.data.name, "dataset", text=True),
    "model": _setting(lambda s: s.model.kind, "model", text=True),
    "activation": _setting(lambda s: s.model.activation, "activation", text=True),
    "optimizer": _setting(lambda s: s.train.optimizer, "optimizer", text=True),
    "layers": Measure("hidden layers", lambda f: float(len(_hidden(f))), outcome=False),
    "units": Measure("hidden units", lambda f: float(sum(_hidden(f))), outcome=False),
    "widest": Measure("units in the widest layer", lambda f: float(max(_hidden(f), default=0)), outcome=False),
    "parameters": Measure("weights and biases", _parameters, outcome=False),
    "features": _setting(lambda s: len(s.model.features), "input features"),
    "dropout": _setting(lambda s: s.model.dropout, "dropout"),
    "lr": _setting(lambda s: s.train.lr, "learning rate"),
    "batch_size": _setting(lambda s: s.train.batch_size, "batch size"),
    "epochs": _setting(lambda s: s.train.epochs, "epochs"),
    "weight_decay": _setting(lambda s: s.train.weight_decay, "weight decay"),
    "l1": _setting(lambda s: s.train.l1, "L1 penalty"),
    "patience": _setting(lambda s: s.train.patience, "early-stopping patience"),
    "init_seed": _setting(lambda s: s.train.init_seed, "starting-weights seed"),
    "n_samples": _setting(lambda s: s.data.n_samples, "points"),
}
