"""What a training run is: its settings (`TrainConfig`, `RunOptions`), its per-epoch record and its result.

Plain frozen dataclasses, hashable and pickleable; `core.training.train.train_model` takes the settings and returns
the result, `core.training.train` builds the optimizer and schedule the settings name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.boundary import Snapshot

if TYPE_CHECKING:
    from core.training.recorder import EpochState, GradientFlow

# How a run ended. converged / early_stopped: the stopping rule ended it (the loss stopped improving / rose again);
# still_improving: it reached its epoch ceiling with the loss still falling; completed: the ceiling, rule off.
STATUSES = ("completed", "converged", "early_stopped", "still_improving", "stopped", "time_limit", "diverged",
            "stalled", "not_learning")
TROUBLE = ("diverged", "stalled", "not_learning")  # runs that failed to learn; the message says what to change
KEEPS_BEST = ("completed", "converged", "early_stopped", "still_improving")  # end with the best epoch's weights


@dataclass(frozen=True)
class EpochStats:
    """One epoch's record. `val_*` are measured on the validation split (NaN when there is none)."""

    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    lr: float
    seconds: float
    steps: int  # optimizer steps so far


@dataclass(frozen=True, eq=False)
class TrainResult:
    """What a run did: per-epoch history, how it ended and why."""

    history: tuple[EpochStats, ...]
    status: str  # one of STATUSES
    message: str  # a sentence for the user
    steps: int
    seconds: float
    snapshots: Sequence[Snapshot] = ()  # a 2-D run's boundaries (core.boundary.RunSnapshots), drawn on demand
    best_epoch: int | None = None  # the epoch whose weights the model went back to (the stopping rule's best); None:
    # it keeps its last (no rule, or a run that was stopped, timed out or diverged)
    exploded_loss: float | None = None  # the loss value that ended a diverged run
    states: tuple[EpochState, ...] = ()  # 2-D runs: the weights after each kept epoch, for looking inside
    gradients: GradientFlow | None = None  # 2-D runs: per-layer weight and gradient sizes per epoch
    suggested_lr: float | None = None  # the learning rate `message` tells the learner to try (core.training.diagnose)

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    @property
    def kept_epoch(self) -> int | None:
        """The epoch whose weights the model ends with: the best one it went back to, else its last (None before
        any epoch). Every figure of "the trained model" (Evaluate, the run history, the boundary shown after the
        run) is of these weights."""
        if not self.history:
            return None
        return self.best_epoch if self.best_epoch is not None else self.history[-1].epoch

    @property
    def kept_stats(self) -> EpochStats | None:
        """The record of `kept_epoch`: its validation loss and accuracy are the kept model's."""
        kept = self.kept_epoch
        return next((s for s in reversed(self.history) if s.epoch == kept), None) if kept is not None else None

    @property
    def kept_index(self) -> int | None:
        """Where the kept weights are among `states` (and `snapshots`); None when not recorded (a long run's
        recorder thins the epochs it keeps)."""
        kept = self.kept_epoch
        return next((i for i, s in enumerate(self.states) if s.epoch == kept), None) if kept is not None else None

    def record_arrays(self) -> list:
        """The numpy arrays the run recorded: the weights of each kept epoch and the gradient flow."""
        arrays = [a for state in self.states for a in state.state.values()]
        if self.gradients is not None:
            arrays += [self.gradients.weights, self.gradients.gradients, self.gradients.epochs]
        return arrays

    def records_nbytes(self) -> int:
        """The bytes of what the run recorded (`record_arrays`, and about 200 bytes an epoch of history), counted
        from their arrays rather than by walking every object."""
        return sum(a.nbytes for a in self.record_arrays()) + 200 * len(self.history)

    @property
    def failed_to_learn(self) -> bool:
        """Diverged, stalled or not learning: the message says what to change."""
        return self.status in TROUBLE


