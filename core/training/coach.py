"""The coach: after a run, one short diagnosis read from the run's own numbers, and the one change that should fix it.

`advise` looks at the history (train and validation curves), the gradient-flow record, the kept model's ReLU
units and the settings, and names the first of: the learning rate the run's own diagnosis names (diverged,
overshooting, too small to move the weights) > vanishing gradients (sigmoid) > too few units > dead units > a noisy
learning rate > overfitting > too slow > underfitting (still falling: more epochs; flat: more units or features). A
healthy run gets nothing. A rule whose fix the learner's link locks gives way to the next that fits. The coach never
contradicts the diagnosis (core.training.diagnose, the warning shown above it): a failed run's learning rate to try
is the diagnosis's alone (`TrainResult.suggested_lr`; the coach computes none of its own for such a run), and the
training loss it quotes is the kept epoch's, as the diagnosis and the score cards quote it. The fix is a `Settings`
to train next; the coach never trains: the page runs it when the learner clicks, and core.training.verdict then says
whether it helped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from torch import nn

from core.config import MAX_UNITS, Settings
from core.training.diagnose import FEW_EPOCHS, dead_share, far_below, in_epochs, plain_number, rate_to_try
from core.training.presets import LEARNING_RATES
from core.training.result import TrainResult

LOW_TRAIN_ACC = 0.9  # training accuracy below this share of what its labels allow: underfitting
GAP = 0.10  # train - validation accuracy: overfitting
LOSS_RATIO = 3.0  # or a validation loss this many times the training loss, while it rises
RISE = 1.2  # the validation loss ended this many times above its lowest, well before the end: it is rising
NOISY = 0.2  # the validation loss went up and down by this share of its level per epoch, over the last epochs
NOISY_EPOCHS = 5  # fewer epochs than this tell nothing about noise (one rise and one fall can be chance)
FLAT = 0.02  # the training loss fell less than this share over the last fifth of the run: flat
DEAD = 0.5  # half the ReLU units or more output 0 for every training point (in a run that failed to learn)
VANISHED = 0.01  # the first layer's mean gradient below 1% of the last layer's
TINY = 4  # a network with this few hidden units or fewer
PROBE = 512  # digit images the dead-unit count looks at (2-D points: all, as the lessons and Inside count them)


@dataclass(frozen=True)
class Advice:
    """One diagnosis: which rule, what the numbers say, and the fix (settings to train next, with a button label)."""

    rule: str
    message: str
    fix_label: str
    fix: Settings
    locked: bool = False  # the learner's link locks a setting the fix changes: name the problem, offer no fix


@dataclass(frozen=True)
class _Run:
    """What the rules read: the settings, the curves and a few measurements of the kept model."""

    settings: Settings
    result: TrainResult
    train_loss: np.ndarray
    val_loss: np.ndarray
    kept: int  # index of the kept epoch
    dead: float  # share of ReLU units dead (NaN without ReLUs, or for a run that learned: not measured)
    reference_lr: float
    images: bool

    @property
    def train_acc(self) -> float:
        return self.result.history[self.kept].train_acc

    @property
    def kept_loss(self) -> float:
        """The kept epoch's training loss: the one the diagnosis and the score cards quote."""
        return float(self.train_loss[self.kept])

    @property
    def underfits(self) -> bool:
        """Training accuracy below LOW_TRAIN_ACC of what its labels allow (flipped labels cannot be learned)."""
        return self.train_acc < LOW_TRAIN_ACC * (1 - self.settings.data.label_noise)

    @property
    def gap(self) -> float:
        return self.train_acc - self.result.history[self.kept].val_acc

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def tail(self, values: np.ndarray) -> np.ndarray:
        """The last fifth of the run (at least 10 epochs)."""
        return values[-max(10, len(values) // 5):]


def _rate(lr: float, factor: float) -> float:
    """The slider's learning rate nearest lr x factor."""
    return min(LEARNING_RATES, key=lambda r: abs(math.log(r) - math.log(lr * factor)))


def _train(run: _Run, **changes) -> Settings:
    return replace(run.settings, train=replace(run.settings.train, **changes))


def _model(run: _Run, **changes) -> Settings:
    return replace(run.settings, model=replace(run.settings.model, **changes))


def _diagnosed_rate(result: TrainResult) -> float | None:
    """The learning rate a failed run's own diagnosis names (its warning, core.training.diagnose), on the slider;
    None when it names none. The diagnosis's own figure, so the two can never say different numbers."""
    return _rate(result.suggested_lr, 1) if result.suggested_lr is not None and result.failed_to_learn else None


def _overshot(run: _Run) -> str:
    """What shows the steps overshooting, in the numbers the diagnosis quotes: the kept epoch's loss above the
    first's, or (the run went back to weights from before it) the loss rising after the kept epoch."""
    first = run.train_loss[0]
    if run.kept_loss > first or run.kept == run.epochs - 1:
        return f"the training loss ended at {run.kept_loss:.3f}, higher than the {first:.3f} of its first epoch"
    return (f"after epoch {run.kept + 1:,} the training loss rose to {run.train_loss[-1]:.3f} by epoch "
            f"{run.epochs:,} (from {first:.3f} at the first; the run kept epoch {run.kept + 1:,}'s weights)")


def _learning_rate(run: _Run) -> Advice | None:
    """Diverged, overshooting (stalled: the loss ended above its first epoch's, or rose after the kept one; or not
    learning far above the usual rate) or a rate too small to move the weights: the diagnosis blames the learning
    rate, so the coach's fix is the rate it names, and only that."""
    result, lr = run.result, run.settings.train.lr
    new = _diagnosed_rate(result)
    if new is None or new == lr:
        return None
    if result.diverged:
        rule, why = "diverged", f"Diverged: the loss blew up at step {result.steps:,}, so every step overshot."
    elif new < lr and result.status == "not_learning":  # its loss need not have risen: the rate is far too large
        rule, why = "overshooting", (f"Overshooting: the network did not learn at a learning rate {lr:g}, far above "
                                     f"this model's usual {run.reference_lr:g}.")
    elif new < lr:
        rule, why = "overshooting", f"Overshooting: {_overshot(run)}, so the steps overshoot."
    else:
        rule, why = "too_slow", (f"Too slow: the learning rate {lr:g} is too small to move the weights "
                                 f"{in_epochs(run.epochs, run.settings.train.epochs)} (this model usually takes "
                                 f"{run.reference_lr:g}).")
    how = f"{max(lr / new, new / lr):,.0f}× {'smaller' if new < lr else 'larger'}"
    does = "takes smaller steps" if new < lr else "moves them"
    return Advice(rule, f"{why} A {how} learning rate {does}.", f"Learning rate {new:g} ({how})",
                  _train(run, lr=new))


def _vanishing(run: _Run) -> Advice | None:
    flow = run.result.gradients
    if run.settings.model.activation != "sigmoid" or flow is None or len(flow.layers) < 3:
        return None
    first = float(flow.ratio()[0])
    if first >= VANISHED:
        return None
    share = plain_number(float(f"{100 * first:.2g}"))  # 0.0039, never 3.9e-03
    return Advice("vanishing", f"Vanishing gradients: the first layer's gradients are {share}% of the last "
                               "layer's. Each sigmoid passes back at most a quarter of its gradient, so the first "
                               "layers barely learn. ReLU passes it back whole.", "Use ReLU",
                  _model(run, activation="relu"))


def _capacity(run: _Run, *, tiny_only: bool) -> Advice | None:
    model = run.settings.model
    tiny = model.kind == "logreg" or model.activation == "linear" or sum(model.hidden) <= TINY
    if not run.underfits or (tiny_only and not tiny) or not _flat(run):
        return None
    why = (f"Underfitting: the training loss is flat at {run.kept_loss:.3f} with training accuracy "
           f"{run.train_acc:.0%}: the network cannot draw the shape the classes need.")
    if (model.kind == "logreg" or model.activation == "linear") and not run.images:
        features = tuple(dict.fromkeys((*model.features, "xx", "yy")))
        if features != tuple(model.features):
            return Advice("underfitting", f"{why} Give it x² and y² as inputs.", "Add x² and y²",
                          _model(run, features=features))
    if model.kind != "mlp":
        return None
    hidden = tuple(min(MAX_UNITS, max(8, 4 * u)) for u in model.hidden)
    return Advice("underfitting", f"{why} More units per layer can bend the boundary more.",
                  f"Hidden layers of {'-'.join(map(str, hidden))} units", _model(run, hidden=hidden))


def _dead(run: _Run, *, by_rate: bool = False) -> Advice | None:
    """Dead ReLU units in a run that failed to learn: leaky ReLU, or (`by_rate`, where a lesson locks the activation)
    the other cure, a smaller learning rate."""
    if not run.dead >= DEAD or not run.result.failed_to_learn:
        return None
    why = (f"Dead units: {100 * run.dead:.1f}% of the ReLU units output 0 for every training point, so no gradient "
           "reaches them and they never recover.")
    if not by_rate:
        return Advice("dead_units", f"{why} Leaky ReLU keeps a small slope below 0.", "Use leaky ReLU",
                      _model(run, activation="leaky_relu"))
    lr = run.settings.train.lr
    smaller = _rate(rate_to_try(lr, run.reference_lr, larger=False), 1)
    return Advice("dead_units", f"{why} Smaller steps keep the first updates from pushing their lines off the data.",
                  f"Learning rate {smaller:g} ({lr / smaller:,.0f}× smaller)", _train(run, lr=smaller))


def _wander(values: np.ndarray) -> float:
    """How far a curve went up and down per step: its total movement less its net change (twice the smaller of its
    summed rises and falls). 0 for a curve that only fell, or only rose, however fast."""
    steps = np.diff(values)
    return float((np.abs(steps).sum() - abs(steps.sum())) / len(steps))


def _noisy(run: _Run) -> Advice | None:
    tail = run.tail(run.val_loss)
    if len(tail) < NOISY_EPOCHS or not np.isfinite(tail).all() or run.result.failed_to_learn:
        return None
    noise = _wander(tail) / max(float(np.mean(tail)), 1e-9)
    if noise < NOISY:
        return None
    lr = _rate(run.settings.train.lr, 1 / 3)
    return Advice("noisy_lr", f"A noisy learning rate: over the last {len(tail)} epochs the validation loss went up "
                              f"and down by {noise:.0%} of its level from one epoch to the next. The steps are too "
                              "big to settle into the minimum.", f"Learning rate {lr:g} (3× smaller)",
                  _train(run, lr=lr))


def _overfitting(run: _Run) -> Advice | None:
    low = int(np.argmin(run.val_loss))
    rise = run.val_loss[-1] - run.val_loss[low]
    rising = rise >= (RISE - 1) * max(run.val_loss[low], run.val_loss[0] / 4) and low < 0.8 * run.epochs
    last = run.result.history[-1]
    gap_at = run.gap if run.result.best_epoch is not None else last.train_acc - last.val_acc  # of the kept weights
    apart = gap_at >= GAP or run.val_loss[-1] >= LOSS_RATIO * max(run.train_loss[-1], 1e-9)
    if not rising or not apart:
        return None
    apart_by = (f"training accuracy is {100 * gap_at:.0f} points above validation" if gap_at >= GAP else
                f"the validation loss is {run.val_loss[-1] / max(run.train_loss[-1], 1e-9):.0f}× the training loss")
    what = (f"Overfitting: the validation loss has risen since epoch {low + 1:,} ({run.val_loss[low]:.3f} → "
            f"{run.val_loss[-1]:.3f}) while the training loss kept falling (to {run.train_loss[-1]:.3f} at epoch "
            f"{run.epochs:,}); "
            f"{apart_by}: the network learns its training points by heart.")
    train, model = run.settings.train, run.settings.model
    if not train.patience:
        return Advice("overfitting", f"{what} Early stopping keeps the weights from before it started (more data or "
                                     "weight decay help too).", "Turn on early stopping", _train(run, patience=10))
    if run.images and model.dropout == 0:
        return Advice("overfitting", f"{what} Dropout makes it learn features that do not rely on single pixels.",
                      "Dropout 0.3", _model(run, dropout=0.3))
    if train.weight_decay < 1e-3:
        return Advice("overfitting", f"{what} Weight decay keeps the weights small, so the boundary stays smooth "
                                     "(more data helps too).", "Weight decay 0.001", _train(run, weight_decay=1e-3))
    return None


def _slow(run: _Run) -> Advice | None:
    """A run that learned, slowly, far below the usual rate: the diagnosis rule's rate (failed: `_learning_rate`)."""
    lr, named = run.settings.train.lr, run.result.suggested_lr is not None
    if not far_below(lr, run.reference_lr) or not (run.underfits or named) or run.result.failed_to_learn:
        return None
    faster = _rate(rate_to_try(lr, run.reference_lr, larger=True), 1)
    return Advice("too_slow", f"Too slow: after {run.kept + 1:,} epochs the training loss is {run.kept_loss:.3f} "
                              f"(from {run.train_loss[0]:.3f}); the learning rate {lr:g} is far below this model's "
                              f"usual {run.reference_lr:g}.", f"Learning rate {faster:g} ({faster / lr:,.0f}× larger)",
                  _train(run, lr=faster))


def _more_epochs(run: _Run) -> Advice | None:
    train = run.settings.train
    # A run that had all of a few epochs and learned nothing (lesson 1's one epoch) ended before it could; its
    # loss over one or two epochs tells nothing about falling.
    short = run.epochs <= FEW_EPOCHS and run.epochs >= train.epochs and run.result.failed_to_learn
    falling = run.result.status == "still_improving" or not _flat(run)
    if not run.underfits or not (falling or short) or run.result.best_epoch not in (None, run.epochs):
        return None
    epochs = min(3000, 2 * train.epochs if run.images else max(4 * train.epochs, 1000))
    message = (f"Underfitting: the run had only {run.epochs} epoch{'s' * (run.epochs != 1)}, too few to learn "
               "anything." if short else f"Underfitting: training accuracy is {run.train_acc:.0%} and the loss was "
               f"still falling at epoch {run.epochs:,}: the run ended before it had learned.")
    return Advice("underfitting", message, f"Train up to {epochs:,} epochs",
                  _train(run, epochs=epochs, patience=train.patience or 10))


def _flat(run: _Run) -> bool:
    tail = run.tail(run.train_loss)
    return bool(tail[0] - tail[-1] <= FLAT * abs(tail[0]))


RULES: tuple[Callable[[_Run], Advice | None], ...] = (
    _learning_rate, _vanishing, lambda run: _capacity(run, tiny_only=True), _dead, lambda run: _dead(run, by_rate=True),
    _noisy, _overfitting, _slow, _more_epochs, lambda run: _capacity(run, tiny_only=False))


def advise(settings: Settings, result: TrainResult, model: nn.Module | None, X_train: np.ndarray, *,
           reference_lr: float, applies: Callable[[Settings], bool] | None = None) -> Advice | None:
    """The first rule that fits this run with a fix the learner can apply (`applies`: a teacher's link may lock the
    setting a fix changes), else the first that fits, marked `locked`; None for a healthy run (or nothing to read)."""
    history = result.history
    if not history or len(history) < 2 and not result.failed_to_learn or result.status == "stopped":
        return None  # one epoch that learned something: nothing to read yet
    # Only the dead-units rule reads it, and only for a run that failed to learn: a healthy run (most of them,
    # on every slider move) costs no pass through the model here.
    points = X_train[:PROBE] if settings.model.takes_images else X_train
    dead = (dead_share(model, np.asarray(points, dtype=np.float32))
            if model is not None and result.failed_to_learn else math.nan)
    kept = (result.best_epoch or len(history)) - 1
    run = _Run(settings, result, np.array([e.train_loss for e in history]), np.array([e.val_loss for e in history]),
               kept, dead, reference_lr, settings.model.takes_images)
    locked = None  # the first rule that fits but whose fix the link locks: said, with no fix, if no other fits
    for rule in RULES:
        advice = rule(run)
        if advice is None or advice.fix == settings:
            continue
        if applies is None or applies(advice.fix):
            return advice
        locked = locked or replace(advice, locked=True)
    return locked
