"""The one stopping rule every run follows: train until the validation loss has stopped improving, up to a ceiling.

A new low of the validation loss counts as progress only when it beats the last one by MIN_DROP of the chance loss
(what knowing nothing scores: ln 2 for two balanced classes), so a loss creeping down by crumbs does not keep a
finished run going. The run stops after `patience` epochs without progress, or two fifths of the epochs its last
progress took when that is longer: spirals sit on plateaus for tens of epochs before the loss falls again.
Until the validation loss is below LEARNED x chance the network is still looking for a way down, and a falling
training loss counts as progress too (a spiral's first ~60 epochs barely move the validation loss). Until then the
rule waits `patience` epochs for each hidden layer past the first while the gradient still reaches the first layer
(one or two hidden layers: `patience`, as before, so a crawl at a tiny rate in the default network ends soon): a
deep narrow network can sit on a plateau at the chance loss, its loss moving by less than SEARCH_DROP an epoch,
before the loss falls (on circles, 6 layers of 8 ReLUs: up to 40 epochs over 6 initial weights; 2 layers: at most
18). A network whose first layer gets no gradient at all (a layer of dead ReLUs passes back exactly 0) never leaves
its plateau and is given no more time.

The weights of the epoch with the lowest validation loss are kept. With `patience` 0 there is no rule: the run
trains to its ceiling and keeps its last weights. Without a validation split the training loss is watched instead.
Measured on TensorFlow Playground's spiral with 8-8 tanh (21 orders of its 500 points): 20 reach >= 95% test
accuracy; circles with the default network stop after ~54 epochs (tests/test_stopping.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from torch import nn

from core.training.result import EpochStats
from core.training.state_copy import StateCopier, StateCopy

MIN_DROP = 0.01  # a new low of the watched loss counts when it is lower by 1% of the chance loss
SEARCH_DROP = 0.001  # before the network has learned, a new low of the training loss by 0.1% of chance counts
LEARNED = 0.75  # the watched loss under 3/4 of chance: the network has learned something
PATIENCE_SHARE = 0.4  # the patience grows to two fifths of the epochs the last progress took


@dataclass(eq=False)
class StoppingRule:
    """Fed every epoch's record: keeps the best weights and says when the run has stopped improving."""

    patience: int  # epochs without progress before the run stops; 0 turns the rule off
    l1: float = 0.0  # the run's L1 penalty, whose own gradient reaches the first layer (see plateau_layers)
    best_loss: float = math.inf
    best_epoch: int | None = None
    best_state: StateCopy | None = None  # `.tensors()` loads into the model
    last_loss: float = math.nan
    watches_validation: bool = True
    _mark: float = math.inf  # the last low that counted as progress
    _search_mark: float = math.inf  # the same for the training loss, while the network has not learned yet
    _progress_epoch: int = 0
    _learned: bool = False
    _copier: StateCopier = field(default_factory=StateCopier)

    def update(self, model: nn.Module, stats: EpochStats, chance: float) -> bool:
        """Record this epoch (keeping the weights of a new best); True when the run should stop here."""
        if not self.patience:
            return False
        self.watches_validation = not math.isnan(stats.val_loss)
        loss = stats.val_loss if self.watches_validation else stats.train_loss
        self.last_loss = loss
        if loss < self.best_loss:
            self.best_loss, self.best_epoch = loss, stats.epoch
            self.best_state = self._copier.copy(model)
        progress = loss < self._mark - MIN_DROP * chance
        if progress:
            self._mark = loss
        self._learned = self._learned or loss < LEARNED * chance
        if stats.train_loss < self._search_mark - SEARCH_DROP * chance:
            self._search_mark = stats.train_loss
            progress = progress or not self._learned
        if progress:
            self._progress_epoch = stats.epoch
        waited = stats.epoch - self._progress_epoch
        return waited >= self.waiting and (self._learned or waited >= self.patience * plateau_layers(model, self.l1))

    @property
    def waiting(self) -> int:
        """Epochs without progress the rule waits for now."""
        return max(self.patience, int(self._progress_epoch * PATIENCE_SHARE))

    def improving(self, epoch: int) -> bool:
        """True when the run made progress within the last `patience` epochs before `epoch` (rule on only)."""
        return bool(self.patience) and epoch - self._progress_epoch < self.patience

    def ending(self, epoch: int, chance: float) -> tuple[str, str]:
        """(status, message) of a run this rule stopped at `epoch`: "early_stopped" when the watched loss has
        risen clearly above its best (overfitting), else "converged"."""
        which = "validation" if self.watches_validation else "training"
        kept = f" Kept the weights from epoch {self.best_epoch:,}." if self.best_epoch != epoch else ""
        if self.last_loss > self.best_loss + MIN_DROP * chance:
            return "early_stopped", (f"Stopped early at epoch {epoch:,}: the {which} loss has risen since epoch "
                                     f"{self.best_epoch:,} ({self.best_loss:.3f} → {self.last_loss:.3f}).{kept}")
        return "converged", (f"Converged after {epoch:,} epochs: the {which} loss stopped improving (it fell by "
                             f"less than {MIN_DROP * chance:.3f} in the last {epoch - self._progress_epoch} "
                             f"epochs).{kept}")


def plateau_layers(model: nn.Module, l1: float = 0.0) -> int:
    """The model's hidden layers past the first (at least 1) while the last step's gradient from the data reaches its
    first weighted layer, else 1: how many times `patience` a network that has not learned yet may sit on a plateau.
    With an L1 penalty (`l1`), whose own gradient reaches the first layer's weights even when a dead layer passes
    nothing back from the data, the layer's bias is read instead: the penalty leaves biases alone."""
    layers = [m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    first = layers[0] if layers else None
    grad = None if first is None else first.bias.grad if l1 and first.bias is not None else first.weight.grad
    return max(1, len(layers) - 2) if grad is not None and bool(grad.any()) else 1


def ceiling_message(epoch: int) -> str:
    """A run that reached its epoch ceiling while its loss was still falling."""
    return f"Still improving at epoch {epoch:,}: train longer or raise the learning rate."
