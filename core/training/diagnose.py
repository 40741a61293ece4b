"""How a run ended, in words a beginner can act on: diverged > stalled > not_learning, else as it stopped.

Only what the engine can see is used: the loss curve, the learning rate against this model's usual one with its
optimizer (core.training.reference), whether the model has any non-linearity (and, for a linear model of 2-D points,
what the best straight line on its inputs scores), whether a whole layer of its ReLU units is switched off (named,
with the share of dead units the lessons and Inside read), and how many sigmoid layers it stacks.
Where the diagnosis blames the learning rate it records the rate its message names (`suggested_lr`), chosen by one
rule (`rate_to_try`): this model's usual rate when the run's is FAR or more from it on the side that failed (too
large for a run that blew up or overshot, too small for one that did not move or crawled), else one step (x0.1).
The coach (core.training.coach) offers that rate and no other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from core.config import DEAD_TOL
from core.evaluate import accuracy_interval, majority_baseline
from core.models import ACTIVATIONS, InputFeatures, eval_mode

if TYPE_CHECKING:
    from core.training.result import EpochStats

STALL_RATIO = 1.25  # last epoch's mean training loss above this x the first epoch's: the run "stalled"
BASELINE_MARGIN = 0.02  # final training accuracy within 2 points of always guessing the largest class
FLAT_LOSS = 0.02  # or the training loss stayed within 2% of its value before the first step (or above chance)
FAR = 10  # a rate this many times above or below the usual one (`Outcome.reference_lr`) is "far" from it
TINY_LR_RATIO = 30  # a rate this many times below the usual one may be too small to move the weights at all
SMALLER, LARGER = 0.1, 10.0  # one step, for a rate to blame that is not far from the usual one: overshot / crawled
DEEP_SIGMOID = 3  # hidden sigmoid layers from which a network that did not learn is told of vanishing gradients
FEW_EPOCHS = 10  # a run that trained all of at most this many epochs, at a usual rate, was likely just too short
LINEAR_CURE = "add a hidden layer with a non-linear activation (or, for 2-D data, give it x² and y² as input features)."
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


def divergence_message(lr: float, epoch: int, step: int, loss: float, reference: float | None = None) -> str:
    """The loss blew up: say what it reached and which learning rate to try."""
    what = "became NaN" if math.isnan(loss) else ("became infinite" if math.isinf(loss) else f"exploded to {loss:.3g}")
    return (
        f"Training stopped at epoch {epoch}, step {step}: the loss {what}. The steps are too big for "
        f"this model, which usually means the learning rate ({lr:g}) is too high. "
        f"{_try(lr, reference, larger=False)[1]}"
    )


def far_below(lr: float, reference: float | None) -> bool:
    """True when lr is FAR or more times below the usual rate (a tolerance: 0.003 x 10 is a hair above 0.03)."""
    return bool(reference) and lr * FAR <= reference * (1 + 1e-9)


def far_above(lr: float, reference: float | None) -> bool:
    """True when lr is FAR or more times above the usual rate."""
    return bool(reference) and lr >= FAR * reference * (1 - 1e-9)


def rate_to_try(lr: float, reference: float | None, *, larger: bool) -> float:
    """The learning rate to try after a run its rate failed (too small when `larger`, else too large): this model's
    usual one with its optimizer when lr is far from it on that side, else one step (x10 / x0.1). The one rule every
    message, `suggested_lr` and the coach's fix share (a step from a rate far off took several runs to get there)."""
    return _try(lr, reference, larger=larger)[0]


def _try(lr: float, reference: float | None, *, larger: bool) -> tuple[float, str]:
    """The rate to try and the sentence that names it: the usual rate as such, or the step."""
    if (far_below if larger else far_above)(lr, reference):
        return reference, f"Try this model's usual rate with this optimizer ({reference:g})."
    rate = lr * (LARGER if larger else SMALLER)
    return rate, f"Try {LARGER:g}× larger ({rate:g})." if larger else f"Try {rate:g} (x0.1)."


def plain_number(number: float) -> str:
    """A number in plain digits, never in scientific notation: 1,230 · 0.0123 · 0.000083 (the coach's and the
    lessons' readings of the same measurements)."""
    if not math.isfinite(number):
        return "—" if math.isnan(number) else "∞" if number > 0 else "−∞"
    if number == int(number):
        return f"{int(number):,}"
    return np.format_float_positional(number, trim="-")


def in_epochs(trained: int, epochs: int) -> str:
    """How long a run had, for "too small to move the weights …": "in 20 epochs" when it trained all `epochs`,
    else "in the 11 epochs before the run stopped early, of the 50 set" (the stopping rule ended it)."""
    if trained >= epochs:
        return f"in {trained:,} epoch{'s' * (trained != 1)}"
    return f"in the {trained:,} epoch{'s' * (trained != 1)} before the run stopped early, of the {epochs:,} set"


def chance_loss(y: np.ndarray) -> float:
    """Cross-entropy of always predicting the class frequencies of y: ln 2 for two balanced classes."""
    counts = np.bincount(np.asarray(y))
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def is_linear(model: nn.Module) -> bool:
    """True when the network has no non-linear activation: it can only draw straight boundaries."""
    return not any(isinstance(m, NONLINEAR) for m in model.modules())


def best_straight_line(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float | None:
    """The training accuracy of the best straight boundary on a 2-D model's inputs (its chosen features of the
    points X, labels y): what any linear model of these inputs can reach at most, whatever its learning rate.
    None for images or when X and y do not pair up."""
    features = next((m for m in model.modules() if isinstance(m, InputFeatures)), None)
    if features is None or X.ndim != 2 or len(X) != len(y) or len(torch.unique(y)) < 2:
        return None
    with torch.no_grad():
        inputs = features(X.float()).cpu().numpy()
    labels = y.cpu().numpy()
    from sklearn.linear_model import LogisticRegression  # only for a linear run that did not learn: not at start-up

    fit = LogisticRegression(C=1e4, max_iter=1000).fit(inputs, labels)  # all but unregularised: the best line
    return float(fit.score(inputs, labels))


@dataclass(frozen=True)
class DeadUnits:
    """How many ReLU units of each ReLU layer, in order, output 0 for every point (a conv channel counts as one)."""

    dead: tuple[int, ...]
    units: tuple[int, ...]

    @property
    def share(self) -> float:
        """Share of all ReLU units that are dead; NaN without any."""
        return sum(self.dead) / sum(self.units) if sum(self.units) else math.nan

    @property
    def blocked(self) -> tuple[int, ...]:
        """The layers (1 = the first ReLU layer) whose every unit is dead: nothing passes through them."""
        return tuple(i + 1 for i, (d, u) in enumerate(zip(self.dead, self.units)) if u and d == u)


def dead_units(model: nn.Module, X: torch.Tensor | np.ndarray) -> DeadUnits:
    """The ReLU units that output at most DEAD_TOL for every one of the points X, layer by layer: the units that
    core.insight.maps and the lessons' "share of dead hidden units" count as dead when given the same points."""
    outputs: list[torch.Tensor] = []
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    if not relus or len(X) == 0:
        return DeadUnits((), ())
    hooks = [m.register_forward_hook(lambda _m, _i, out: outputs.append(out.detach())) for m in relus]
    try:
        with eval_mode(model):
            model(torch.as_tensor(X, device=next(model.parameters()).device))
    finally:
        for hook in hooks:
            hook.remove()
    # (points, units, ...) -> (units,): the largest output of each unit (a channel's over every position too)
    largest = [o.transpose(0, 1).reshape(o.shape[1], -1).max(1).values for o in outputs]
    return DeadUnits(tuple(int((m <= DEAD_TOL).sum()) for m in largest), tuple(len(m) for m in largest))


def dead_share(model: nn.Module, X: np.ndarray) -> float:
    """Share of ReLU units (a conv channel counts as one unit) that output 0 for every one of the points X."""
    return dead_units(model, X).share


def _dead_message(dead: DeadUnits) -> str:
    """What the dead units block, in words: every unit, or the layers none of whose units passes anything on, with
    how many hidden units are dead in all (the share the lessons and the Inside page read)."""
    total, count, layers = sum(dead.units), sum(dead.dead), dead.blocked
    off = "switched off (outputs 0 for every training point)"
    if count == total:
        return (f"Every ReLU unit (all {total:,}) is {off}, so nothing reaches the output." if total > 1 else
                f"The only ReLU unit is {off}, so nothing reaches the output.")
    names = [str(layer) for layer in layers]
    which = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return (f"Every unit of hidden layer{'s' * (len(layers) > 1)} {which} is {off}, so nothing passes through "
            f"{'them' if len(layers) > 1 else 'it'} to the output; {count:,} of the {total:,} hidden units "
            f"({100 * count / total:.1f}%) are dead in all.")


def _stalled_loss(history: tuple[EpochStats, ...], chance: float) -> bool:
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


def _why_not_learning(outcome: Outcome, model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                      baseline: float) -> Outcome:
    """`outcome` as not learning, with the most likely cause the engine can see and what to try."""
    loss, lr, usual = outcome.final_loss, outcome.lr, outcome.reference_lr
    moved = abs(loss - outcome.initial_loss) / max(outcome.initial_loss, 1e-9)
    linear = is_linear(model)
    line = best_straight_line(model, X, y) if linear else None
    if line is not None and line <= baseline + BASELINE_MARGIN:
        return _with(outcome, "not_learning", (  # no learning rate helps a line that cannot separate the classes
            f"A linear model can only draw a straight line, and the best straight line scores {line:.0%} on these "
            f"training points, no better than always guessing the largest class ({baseline:.0%}): {LINEAR_CURE}"))
    if usual and lr * TINY_LR_RATIO <= usual and moved <= 0.1:
        rate, sentence = _try(lr, usual, larger=True)
        when = in_epochs(len(outcome.trained or outcome.history), outcome.epochs)
        return _with(outcome, "not_learning", (
            f"The learning rate is too small to move the weights {when}: the training loss went from "
            f"{outcome.initial_loss:.3f} to {loss:.3f}. {sentence}"), rate)
    if linear:
        why = f"A linear model can only draw a straight line; {LINEAR_CURE}"
    elif (dead := dead_units(model, X)).blocked:
        cure = (f"Lower the learning rate (now {lr:g}, far above this model's usual {usual:g}) or try leaky_relu."
                if far_above(lr, usual) else f"The learning rate ({lr:g}) is not far above this model's usual one, "
                "so the starting weights are the likely cause: try other starting weights, more units or leaky_relu.")
        why = f"{_dead_message(dead)} {cure}"
    else:
        why = (f"The network did not learn: training accuracy is {outcome.final_acc:.0%}, no better than always "
               f"guessing the largest class ({baseline:.0%}). ")
        if far_below(lr, usual) or far_above(lr, usual):  # the rate is the likely cause: the usual one to try
            larger = far_below(lr, usual)
            rate, side = rate_to_try(lr, usual, larger=larger), "below" if larger else "above"
            return _with(outcome, "not_learning", f"{why}The learning rate ({lr:g}) is far {side} this model's usual "
                                                  f"rate with this optimizer: try it ({rate:g})"
                                                  f"{', or more epochs' if larger else ''}.", rate)
        sigmoids = sum(isinstance(m, nn.Sigmoid) for m in model.modules())
        trained = len(outcome.trained or outcome.history)
        if trained >= outcome.epochs and outcome.epochs <= FEW_EPOCHS:  # lesson 1's one epoch: too short, whatever
            # the rate (QA: its learner was told to change a learning rate the lesson hides)
            why += (f"It trained for only {trained} epoch{'s' * (trained != 1)}: too few passes over the training "
                    "points to learn. Train for more epochs.")
        elif sigmoids >= DEEP_SIGMOID:  # a deep sigmoid network at a usual rate: the gradient fades on its way back
            why += (f"With {sigmoids} sigmoid layers the likely cause is vanishing gradients: each sigmoid passes back "
                    "at most a quarter of the gradient, so the first layers barely learn. Try ReLU or tanh, or fewer "
                    "layers.")
        else:
            why += f"Try a learning rate 10× larger or smaller (now {lr:g}), or more epochs."
    return _with(outcome, "not_learning", why)


def _stalled(outcome: Outcome, message: str) -> Outcome:
    """`outcome` as stalled: `message` says what the loss did; the steps overshoot, and the rate to try."""
    rate, sentence = _try(outcome.lr, outcome.reference_lr, larger=False)
    return _with(outcome, "stalled", f"{message} The steps overshoot, which usually means the learning rate "
                                     f"({outcome.lr:g}) is too high. {sentence}", rate)


def _stalled_message(outcome: Outcome) -> str:
    first, last = outcome.history[0], outcome.history[-1]
    return (f"The network did not learn: the training loss ended at {last.train_loss:.3g}, higher than the "
            f"{first.train_loss:.3g} of its first epoch, and training accuracy is {last.train_acc:.0%}.")


def _rose_message(outcome: Outcome) -> str:
    """Stalled after the kept epoch: the run went back to weights that had learned nothing either."""
    first, kept, last = outcome.history[0], outcome.history[-1], outcome.trained[-1]
    return (f"The network did not learn: after epoch {kept.epoch} the training loss rose to {last.train_loss:.3g} "
            f"by epoch {last.epoch} (from {first.train_loss:.3g} at the first), so the run went back to epoch "
            f"{kept.epoch}'s weights, and training accuracy is {kept.train_acc:.0%}.")


def _still_improving(outcome: Outcome) -> Outcome:
    """At the epoch ceiling, still improving: at a rate far below the usual one, that rate is what to raise."""
    lr, usual = outcome.lr, outcome.reference_lr
    if not far_below(lr, usual):
        return outcome
    rate, last = rate_to_try(lr, usual, larger=True), (outcome.trained or outcome.history)[-1].epoch
    return _with(outcome, "still_improving", f"Still improving at epoch {last:,}, at a learning rate ({lr:g}) far "
                                             "below this model's usual rate with this optimizer: try it "
                                             f"({rate:g}), or train longer.", rate)


def diagnose(outcome: Outcome, model: nn.Module, X_probe: torch.Tensor, y_train: torch.Tensor) -> Outcome:
    """The run's final status and message; the first of diverged > stalled > not_learning that applies wins (a run
    whose kept weights learned nothing and whose loss rose after them is stalled too). X_probe: the training points
    on which dead ReLU units are counted."""
    history = outcome.history
    if outcome.status == "diverged":  # its message (divergence_message) names the same rate
        return replace(outcome, suggested_lr=rate_to_try(outcome.lr, outcome.reference_lr, larger=False))
    if outcome.status == "stopped" or not history:
        return outcome
    if _stalled_loss(history, outcome.chance):
        return _stalled(outcome, _stalled_message(outcome))
    labels = y_train.cpu().numpy()
    baseline = majority_baseline(labels, labels)
    if _not_learning(outcome, baseline):
        if _rose(outcome.trained):  # the loss climbed after the kept epoch: the rate, not the network's shape
            return _stalled(outcome, _rose_message(outcome))
        return _why_not_learning(outcome, model, X_probe, y_train, baseline)
    if outcome.status == "completed":
        steps = history[-1].steps
        return _with(outcome, "completed", f"Trained {len(history)} epoch{'s' if len(history) != 1 else ''} "
                                           f"({steps:,} step{'s' if steps != 1 else ''}).")
    if outcome.status == "still_improving":
        return _still_improving(outcome)
    return outcome


def _with(outcome: Outcome, status: str, message: str, suggested_lr: float | None = None) -> Outcome:
    return replace(outcome, status=status, message=message, suggested_lr=suggested_lr)
