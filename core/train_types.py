"""What a training run is: its settings (`TrainConfig`, `RunOptions`), its per-epoch record and its result.

Plain frozen dataclasses, hashable and pickleable; `core.train.train_model` takes the settings and returns
the result, `core.optim` builds the optimizer and schedule the settings name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.boundary import Snapshot

if TYPE_CHECKING:
    from core.insight.recorder import EpochState, GradientFlow

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("none", "step", "cosine", "onecycle")
STATUSES = ("completed", "converged", "early_stopped", "stopped", "diverged", "stalled", "not_learning")
TROUBLE = ("diverged", "stalled", "not_learning")  # runs that failed to learn; the message says what to change


class TrainError(ValueError):
    """Training cannot start with these settings or this data; the message says why."""


@dataclass(frozen=True)
class TrainConfig:
    """The hyperparameters of a run; hashable and pickleable. batch_size 0 means full batch."""

    optimizer: str = "adam"
    lr: float = 0.03
    momentum: float = 0.9  # sgd and rmsprop
    batch_size: int = 32
    epochs: int = 50
    weight_decay: float = 0.0  # L2 for sgd/adam/rmsprop; decoupled decay for adamw
    l1: float = 0.0  # L1 penalty on the weights, added to the loss
    schedule: str = "none"
    patience: int = 0  # early stopping on validation loss; 0 turns it off
    seed: int = 0  # the shuffle order and dropout masks
    init_seed: int = 0  # the starting weights: "Reset" keeps them, "New weights" draws another


@dataclass(frozen=True)
class RunOptions:
    """How a run is carried out, as opposed to what is trained: none of it changes the maths."""

    threads: int | None = None  # torch intra-op threads (process-wide); None leaves it alone
    channels_last: bool = True  # images only: NHWC memory format, ~1.3-1.8x faster CNNs (see bench)
    step_every: int = 50  # call on_step every N optimizer steps
    reference_lr: float | None = None  # the preset's rate for this model: a far smaller one is named as a cause
    settle: bool = False  # stop once the training loss has settled (auto-train): status "converged"


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
    best_epoch: int | None = None
    exploded_loss: float | None = None  # the loss value that ended a diverged run
    states: tuple[EpochState, ...] = ()  # 2-D runs: the weights after each kept epoch, for looking inside
    gradients: GradientFlow | None = None  # 2-D runs: per-layer weight and gradient sizes per epoch

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    @property
    def failed_to_learn(self) -> bool:
        """Diverged, stalled or not learning: the message says what to change."""
        return self.status in TROUBLE


def validate_train_config(config: TrainConfig) -> None:
    """Raise TrainError naming the first setting that is out of range."""
    checks = [
        (config.optimizer in OPTIMIZERS,
         f"optimizer must be one of {', '.join(OPTIMIZERS)}. Got {config.optimizer!r}."),
        (config.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}. Got {config.schedule!r}."),
        (1e-5 <= config.lr <= 10, f"learning rate must be between 1e-5 and 10. Got {config.lr}."),
        (config.batch_size >= 0, f"batch size must be positive (0 = full batch). Got {config.batch_size}."),
        (1 <= config.epochs <= 10_000, f"epochs must be between 1 and 10000. Got {config.epochs}."),
        (0 <= config.weight_decay <= 1, f"weight decay must be between 0 and 1. Got {config.weight_decay}."),
        (0 <= config.l1 <= 1, f"the L1 rate must be between 0 and 1. Got {config.l1}."),
        (0 <= config.momentum < 1, f"momentum must be in [0, 1). Got {config.momentum}."),
        (config.patience >= 0, f"patience must be 0 (off) or more. Got {config.patience}."),
    ]
    for ok, message in checks:
        if not ok:
            raise TrainError(message)
