"""How a run ended, in words a beginner can act on: diverged > stalled > not_learning, else as it stopped.

Only what the engine can see is used: the loss curve, the learning rate against this model's usual one with its
optimizer (core.training.reference), whether the model has any non-linearity, and whether its ReLU units are all
switched off. Where the diagnosis
blames the learning rate it records the rate its message names (`suggested_lr`): the one place a failed run's
rate to try is decided (the coach, core.training.coach, offers that rate and no other).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from core.evaluate import accuracy_interval, majority_baseline
from core.models import ACTIVATIONS, eval_mode

if TYPE_CHECKING:
    from core.training.result import EpochStats

STALL_RATIO = 1.25  # last epoch's mean training loss above this x the first epoch's: the run "stalled"
BASELINE_MARGIN = 0.02  # final training accuracy within 2 points of always guessing the largest class
FLAT_LOSS = 0.02  # or the training loss stayed within 2% of its value before the first step (or above chance)
TINY_LR_RATIO = 30  # a rate this many times below the usual one (`Outcome.reference_lr`) is "far below" it
SLOW_LR_RATIO = 10  # a rate this many times below the usual one makes a run "too slow": try it this many times larger
SMALLER, LARGER = 0.1, 100.0  # the learning rate to try, against this run's: it overshot / barely moved
NONLINEAR = tuple(cls for name, cls in ACTIVATIONS.items() if name != "linear")


@dataclass(frozen=True)
class Outcome:
    """What the loop saw: its own status and message, the history and the facts the diagnosis needs."""

    status: str
    message: str
    history: tuple[EpochStats, ...]
    initial_loss: float  # training loss before the first step (on a probe of the training points)
    chance: float  # the loss of always answering the class frequencies: what knowing nothing scores
    final_loss: float  # the kept weights' training loss and accuracy (on the same probe)
    final_acc: float
    n_probe: int  # how many training points those two were measured on
    lr: float
    epochs: int
    reference_lr: float | None = None  # this model's usual rate with the run's optimizer (core.training.reference)
    suggested_lr: float | None = None  # the learning rate the message tells the learner to try, if any
    trained: tuple[EpochStats, ...] = ()  # every epoch, when the run went back to an earlier one's weights (history
    # then ends at that epoch): the loss after it can show the steps overshooting


def divergence_message(lr: float, epoch: int, step: int, loss: float) -> str:
    """The loss blew up: say what it reached and which learning rate to try."""
    what = "became NaN" if math.isnan(loss) else ("became infinite" if math.isinf(loss) else f"exploded to {loss:.3g}")
    return (
        f"Training stopped at epoch {epoch}, step {step}: the loss {what}. The steps are too big for "
        f"this model, which usually means the learning rate ({lr:g}) is too high. Try {lr * SMALLER:g} (x0.1)."
    )


def chance_loss(y: np.ndarray) -> float:
    """Cross-entropy of always predicting the class frequencies of y: ln 2 for two balanced classes."""
    counts = np.bincount(np.asarray(y))
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def is_linear(model: nn.Module) -> bool:
    """True when the network has no non-linear activation: it can only draw straight boundaries."""
    return not any(isinstance(m, NONLINEAR) for m in model.modules())


def all_relus_dead(model: nn.Module, X: torch.Tensor) -> bool:
    """True when some ReLU layer outputs 0 for every unit on every input in X: nothing flows past it."""
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    if not relus or len(X) == 0:
        return False
    alive: list[bool] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: alive.append(bool((out > 0).any()))) for m in relus]
    try:
        with eval_mode(model):
            model(X)
    finally:
        for hook in hooks:
            hook.remove()
    return not all(alive)


def _stalled(history: tuple[EpochStats, ...], chance: float) -> bool:
    """The loss ended well above its first epoch's, or above it and worse than knowing nothing (chance)."""
    if len(history) < 2:
        return False
    first, last = history[0].train_loss, history[-1].train_loss
    return last > STALL_RATIO * first or (last > first and last > chance)


def _rose(trained: tuple[EpochStats, ...]) -> bool:
    """True when the training loss of every epoch trained (`Outcome.trained`) ended well above its first epoch's (a
    loss that only wanders about the chance loss, as a straight line's on rings does, is no climb)."""
    return len(trained) > 1 and trained[-1].train_loss > STALL_RATIO * trained[0].train_loss


def _not_learning(outcome: Outcome, baseline: float) -> bool:
    """Accuracy no better than the majority guess (within 2 points, or within its 95% interval on this many
    points), or a loss that never left its starting value or the chance loss (what knowing nothing scores)."""
    loss = outcome.final_loss
    flat = (len(outcome.history) > 1 and math.isfinite(outcome.initial_loss)
            and (abs(loss - outcome.initial_loss) <= FLAT_LOSS * outcome.initial_loss
                 or loss >= (1 - FLAT_LOSS) * outcome.chance))
    low, _ = accuracy_interval(outcome.final_acc, max(outcome.n_probe, 1))
    return outcome.final_acc <= baseline + BASELINE_MARGIN or low <= baseline or flat


def _why_not_learning(outcome: Outcome, model: nn.Module, X: torch.Tensor, baseline: float) -> Outcome:
    """`outcome` as not learning, with the most likely cause the engine can see and what to try."""
    loss, n = outcome.final_loss, len(outcome.history)
    moved = abs(loss - outcome.initial_loss) / max(outcome.initial_loss, 1e-9)
    epochs = f"{n} epoch{'s' if n != 1 else ''}"
    if outcome.reference_lr and outcome.lr * TINY_LR_RATIO <= outcome.reference_lr and moved <= 0.1:
        return _with(outcome, "not_learning", (
            f"The learning rate is too small to move the weights in {epochs}: the training loss went from "
            f"{outcome.initial_loss:.3f} to {loss:.3f}. Try 100× larger ({outcome.lr * LARGER:g})."),
            outcome.lr * LARGER)
    if is_linear(model):
        why = ("A linear model can only draw a straight line; add a hidden layer with a non-linear activation "
               "(or, for 2-D data, give it x² and y² as input features).")
    elif all_relus_dead(model, X):
        why = ("Every ReLU unit is switched off (it outputs 0 for every training point), so nothing reaches the "
               f"output. Lower the learning rate (now {outcome.lr:g}) or try leaky_relu.")
    else:
        why = (f"The network did not learn: training accuracy is {outcome.final_acc:.0%}, no better than always "
               f"guessing the largest class ({baseline:.0%}). ")
        if outcome.reference_lr and outcome.lr * SLOW_LR_RATIO <= outcome.reference_lr:
            faster = outcome.lr * SLOW_LR_RATIO
            return _with(outcome, "not_learning", f"{why}The learning rate ({outcome.lr:g}) is far below this "
                         f"model's usual {outcome.reference_lr:g}: try {SLOW_LR_RATIO}× larger ({faster:g}), or "
                         "more epochs.", faster)
        why += f"Try a learning rate 10× larger or smaller (now {outcome.lr:g}), or more epochs."
    return _with(outcome, "not_learning", why)


def _stalled_message(outcome: Outcome) -> str:
    first, last = outcome.history[0], outcome.history[-1]
    return (
        f"The network did not learn: the training loss ended at {last.train_loss:.3g}, higher than the "
        f"{first.train_loss:.3g} of its first epoch, and training accuracy is {last.train_acc:.0%}. "
        f"{_overshoot(outcome.lr)}"
    )


def _rose_message(outcome: Outcome) -> str:
    """Stalled after the kept epoch: the run went back to weights that had learned nothing either."""
    first, kept, last = outcome.history[0], outcome.history[-1], outcome.trained[-1]
    return (
        f"The network did not learn: after epoch {kept.epoch} the training loss rose to {last.train_loss:.3g} by "
        f"epoch {last.epoch} (from {first.train_loss:.3g} at the first), so the run went back to epoch "
        f"{kept.epoch}'s weights, and training accuracy is {kept.train_acc:.0%}. {_overshoot(outcome.lr)}"
    )


def _overshoot(lr: float) -> str:
    return (f"The steps overshoot, which usually means the learning rate ({lr:g}) is too high. "
            f"Try {lr * SMALLER:g} (x0.1).")


def diagnose(outcome: Outcome, model: nn.Module, X_probe: torch.Tensor, y_train: torch.Tensor) -> Outcome:
    """The run's final status and message; the first of diverged > stalled > not_learning that applies wins (a run
    whose kept weights learned nothing and whose loss rose after them is stalled too)."""
    history = outcome.history
    if outcome.status == "diverged":  # its message (divergence_message) names the rate to try
        return replace(outcome, suggested_lr=outcome.lr * SMALLER)
    if outcome.status == "stopped" or not history:
        return outcome
    if _stalled(history, outcome.chance):
        return _with(outcome, "stalled", _stalled_message(outcome), outcome.lr * SMALLER)
    labels = y_train.cpu().numpy()
    baseline = majority_baseline(labels, labels)
    if _not_learning(outcome, baseline):
        if _rose(outcome.trained):  # the loss climbed after the kept epoch: the rate, not the network's shape
            return _with(outcome, "stalled", _rose_message(outcome), outcome.lr * SMALLER)
        return _why_not_learning(outcome, model, X_probe, baseline)
    if outcome.status == "completed":
        steps = history[-1].steps
        return _with(outcome, "completed", f"Trained {len(history)} epoch{'s' if len(history) != 1 else ''} "
                                           f"({steps:,} step{'s' if steps != 1 else ''}).")
    return outcome


def _with(outcome: Outcome, status: str, message: str, suggested_lr: float | None = None) -> Outcome:
    return replace(outcome, status=status, message=message, suggested_lr=suggested_lr)
