"""Training: one fast in-memory loop that reports through callbacks and returns its history as data."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from core.boundary import BoundaryGrid, boundary_grid, grid_box
from core.data import Dataset

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("none", "step", "cosine", "onecycle")
STATUSES = ("completed", "early_stopped", "stopped", "diverged", "stalled")
TROUBLE = ("diverged", "stalled")  # runs that failed to learn; the message says what to change
EVAL_BATCH = 8192
STALL_RATIO = 1.25  # last epoch's mean training loss above this x the first epoch's: the run "stalled"


class TrainError(ValueError):
    """Training cannot start with these settings or this data; the message says why."""


@dataclass(frozen=True)
class TrainConfig:
    """Every training setting; hashable and pickleable. batch_size 0 means full batch."""

    optimizer: str = "adam"
    lr: float = 0.03
    momentum: float = 0.9  # sgd and rmsprop
    batch_size: int = 32
    epochs: int = 50
    weight_decay: float = 0.0
    schedule: str = "none"
    patience: int = 0  # early stopping on validation loss; 0 turns it off
    seed: int = 0
    threads: int | None = None  # torch intra-op threads (process-wide); None leaves it alone
    channels_last: bool = True  # images only: NHWC memory format, ~1.3-1.8x faster CNNs (see bench)
    snapshot_every: int = 0  # 2-D data: keep a boundary grid every k epochs; 0 turns it off
    snapshot_resolution: int = 60
    step_every: int = 50  # call on_step every N optimizer steps


@dataclass(frozen=True)
class EpochStats:
    """One epoch's record. Validation is the dataset's held-out split."""

    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    lr: float
    seconds: float
    steps: int  # optimizer steps so far


@dataclass(frozen=True)
class Snapshot:
    """The decision boundary after `epoch` epochs."""

    epoch: int
    grid: BoundaryGrid


@dataclass(frozen=True, eq=False)
class TrainResult:
    """What a run did: per-epoch history, how it ended and why."""

    history: tuple[EpochStats, ...]
    status: str  # one of STATUSES
    message: str  # a sentence for the user
    steps: int
    seconds: float
    snapshots: tuple[Snapshot, ...] = ()
    best_epoch: int | None = None

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    @property
    def failed_to_learn(self) -> bool:
        """Diverged, or stalled: the last epoch's training loss ended well above the first epoch's."""
        return self.status in TROUBLE


OnEpoch = Callable[[EpochStats, "Snapshot | None"], None]
OnStep = Callable[[int, float], None]


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
        (0 <= config.momentum < 1, f"momentum must be in [0, 1). Got {config.momentum}."),
        (config.patience >= 0, f"patience must be 0 (off) or more. Got {config.patience}."),
        (config.threads is None or config.threads >= 1, f"threads must be at least 1. Got {config.threads}."),
        (config.step_every >= 1, f"step_every must be at least 1. Got {config.step_every}."),
    ]
    for ok, message in checks:
        if not ok:
            raise TrainError(message)


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer `config` names, over the model's parameters."""
    params, lr, wd = list(model.parameters()), config.lr, config.weight_decay
    # The fused kernels update every tensor in one call: ~25% faster steps for small nets.
    fused = {"fused": True}
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum, weight_decay=wd, **fused)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd, **fused)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd, **fused)
    return torch.optim.RMSprop(params, lr=lr, momentum=config.momentum, weight_decay=wd)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int):
    """A per-step learning-rate schedule, or None."""
    if config.schedule == "step":  # x0.1 after each third of the run
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, total_steps // 3), gamma=0.1)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps)
    return None


def _divergence_message(lr: float, epoch: int, step: int, loss: float) -> str:
    what = "became NaN" if math.isnan(loss) else ("became infinite" if math.isinf(loss) else f"exploded to {loss:.3g}")
    return (
        f"Training stopped at epoch {epoch}, step {step}: the loss {what}. The steps are too big for "
        f"this model, which usually means the learning rate ({lr:g}) is too high. Try {lr * 0.1:g} (x0.1)."
    )


def _stalled_message(lr: float, first: float, last: float, acc: float) -> str:
    return (
        f"The network did not learn: the training loss ended at {last:.3g}, higher than the {first:.3g} of "
        f"its first epoch, and training accuracy is {acc:.0%}. The steps overshoot, which usually means the "
        f"learning rate ({lr:g}) is too high. Try {lr * 0.1:g} (x0.1)."
    )


def evaluate_loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) over tensors X, y, in inference mode."""
    if len(y) == 0:
        return float("nan"), float("nan")
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(y), EVAL_BATCH):
            logits = model(X[start: start + EVAL_BATCH])
            target = y[start: start + EVAL_BATCH]
            loss_sum += nn.functional.cross_entropy(logits, target, reduction="sum").item()
            correct += (logits.argmax(1) == target).sum().item()
    model.train(was_training)
    return loss_sum / len(y), correct / len(y)


def _check_data(data: Dataset) -> None:
    if len(data.y_train) == 0:
        raise TrainError("The training set is empty: make the dataset larger or the test fraction smaller.")
    if len(np.unique(data.y_train)) < 2:
        raise TrainError("The training set holds only one class, so there is nothing to tell apart.")


def train_model(model: nn.Module, data: Dataset, config: TrainConfig = TrainConfig(), *,
                on_epoch: OnEpoch | None = None, on_step: OnStep | None = None,
                should_stop: Callable[[], bool] | None = None) -> TrainResult:
    """Train `model` in place on `data`; return the history and how the run ended.

    The whole dataset is held as tensors and shuffled batches are sliced from it, which is
    much faster than a per-sample DataLoader. Divergence ends the run with status "diverged".
    """
    validate_train_config(config)
    _check_data(data)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    device = next(model.parameters()).device
    memory_format = torch.channels_last if config.channels_last and data.is_image else torch.contiguous_format
    model.to(memory_format=memory_format)

    def tensor(a: np.ndarray) -> torch.Tensor:
        t = torch.as_tensor(a, device=device)
        return t.contiguous(memory_format=memory_format) if t.ndim == 4 else t

    X, y = tensor(data.X_train), tensor(data.y_train)
    X_val, y_val = tensor(data.X_test), tensor(data.y_test)
    n = len(y)
    batch = n if config.batch_size == 0 else min(config.batch_size, n)
    steps_per_epoch = math.ceil(n / batch)
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, config.epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(config.seed)
    box = grid_box(data.X_all) if config.snapshot_every and not data.is_image else None

    history: list[EpochStats] = []
    snapshots: list[Snapshot] = []
    status, message, step = "completed", "", 0
    best_loss, best_epoch, best_state, since_best = math.inf, None, None, 0
    first_loss: float | None = None
    started = time.perf_counter()
    model.train()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)  # dropout masks, reproducible per run
        for epoch in range(1, config.epochs + 1):
            epoch_start = time.perf_counter()
            order = torch.randperm(n, generator=generator).to(device)
            X_epoch, y_epoch = X[order], y[order]  # one shuffled copy; batches are views into it
            loss_sum, correct, seen = torch.zeros((), device=device), torch.zeros((), device=device), 0
            lr_now = optimizer.param_groups[0]["lr"]
            for start in range(0, n, batch):
                if should_stop is not None and should_stop():
                    status, message = "stopped", f"Stopped by the user during epoch {epoch}."
                    break
                xb, yb = X_epoch[start: start + batch], y_epoch[start: start + batch]
                logits = model(xb)
                loss = nn.functional.cross_entropy(logits, yb)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                step += 1
                loss_value = loss.item()
                first_loss = loss_value if first_loss is None else first_loss
                if not math.isfinite(loss_value) or loss_value > max(50.0, 100.0 * first_loss):
                    status, message = "diverged", _divergence_message(config.lr, epoch, step, loss_value)
                    break
                loss_sum += loss.detach() * len(yb)
                correct += (logits.detach().argmax(1) == yb).sum()
                seen += len(yb)
                if on_step is not None and step % config.step_every == 0:
                    on_step(step, loss_value)
            if status in ("stopped", "diverged") and seen == 0:
                break
            val_loss, val_acc = evaluate_loss(model, X_val, y_val)
            stats = EpochStats(epoch, float(loss_sum) / seen, float(correct) / seen, val_loss, val_acc,
                               lr_now, time.perf_counter() - epoch_start, step)
            history.append(stats)
            snap = None
            if box is not None and status != "diverged" and (
                    epoch % config.snapshot_every == 0 or epoch == config.epochs or status == "stopped"):
                snap = Snapshot(epoch, boundary_grid(model, box=box, resolution=config.snapshot_resolution))
                snapshots.append(snap)
            if on_epoch is not None:
                on_epoch(stats, snap)
            if status != "completed":
                break
            if config.patience:
                if val_loss < best_loss - 1e-4:
                    best_loss, best_epoch, since_best = val_loss, epoch, 0
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    since_best += 1
                    if since_best >= config.patience:
                        status = "early_stopped"
                        message = (f"Stopped early at epoch {epoch}: the validation loss had not improved for "
                                   f"{config.patience} epochs. Kept the weights from epoch {best_epoch}.")
                        break
    if best_state is not None and status in ("completed", "early_stopped"):
        model.load_state_dict(best_state)
    if status == "completed" and len(history) >= 2 and history[-1].train_loss > STALL_RATIO * history[0].train_loss:
        # No NaN, yet worse than after one epoch: e.g. SGD at lr 10 leaves every ReLU dead.
        status = "stalled"
        message = _stalled_message(config.lr, history[0].train_loss, history[-1].train_loss, history[-1].train_acc)
    if status == "completed":
        message = f"Trained {len(history)} epochs ({step} steps)."
    model.to(memory_format=torch.contiguous_format)
    return TrainResult(tuple(history), status, message, step, time.perf_counter() - started,
                       tuple(snapshots), best_epoch)


def overfit_one_batch(model: nn.Module, data: Dataset, *, batch_size: int = 16, steps: int = 150,
                      lr: float = 0.01) -> TrainResult:
    """Sanity check: train on one small batch only; a healthy model should reach ~100% on it."""
    _check_data(data)
    k = min(batch_size, len(data.y_train))
    one = replace(data, X_train=data.X_train[:k], y_train=data.y_train[:k],
                  X_test=data.X_train[:k], y_test=data.y_train[:k])
    if len(np.unique(one.y_train)) < 2:  # the first rows may share a class; take a spread instead
        idx = np.argsort(data.y_train, kind="stable")[np.linspace(0, len(data.y_train) - 1, k).astype(int)]
        one = replace(one, X_train=data.X_train[idx], y_train=data.y_train[idx],
                      X_test=data.X_train[idx], y_test=data.y_train[idx])
    return train_model(model, one, TrainConfig(optimizer="adam", lr=lr, batch_size=0, epochs=steps))
