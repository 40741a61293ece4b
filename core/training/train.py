"""Training: one fast in-memory loop that reports through callbacks and returns its history as data.

Per-epoch curves and the stopping rule (core.training.stopping) use the validation split; the test split is never
touched here.
The settings are in `core.config`, the results in `core.training.result`; the optimizer, schedule and L1
penalty a `TrainConfig` names are built here. How a run ended (and why, in
words a beginner can act on) is decided in `core.training.diagnose`.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from core.config import RunOptions, TrainConfig, TrainError, validate_train_config
from core.data.dataset import Dataset
from core.models import has_sigmoid_head, resolve_device, use_dropout_generator
from core.training.augment import Augmenter
from core.training.diagnose import Outcome, diagnose, divergence_message
from core.training.fused import FusedStep
from core.training.losses import chance_loss_of, per_sample_loss
from core.training.result import KEEPS_BEST, EpochStats, TrainResult
from core.training.scoring import acts_alike_in_both_modes, evaluate_loss
from core.training.stopping import StoppingRule as _EarlyStopping  # the name core.sweep.batched imports
from core.training.stopping import ceiling_message

PROBE_SIZE = 1024  # training points used to measure the loss before the first step


@functools.cache
def load_optimizers() -> None:
    """Make a throwaway optimizer, once: a process's first one imports torch's compiler package (torch._dynamo, about
    1-2 s of CPU here), a cost of starting up that a run's time limit (core.training.jobs.TimeLimit) leaves out."""
    torch.optim.Adam(nn.Linear(1, 1).parameters())


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer `config` names, over the model's parameters."""
    params, lr, wd = [p for p in model.parameters() if p.requires_grad], config.lr, config.weight_decay
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


def l1_penalty(model: nn.Module) -> torch.Tensor:
    """Sum of |w| over the weight matrices and kernels (biases are left alone, as weight decay does)."""
    return sum(p.abs().sum() for name, p in model.named_parameters() if p.requires_grad and name.endswith("weight"))



OnEpoch = Callable[[EpochStats, nn.Module], None]
OnStep = Callable[[int, float, nn.Module], None]


def steps_per_epoch(n_samples: int, batch_size: int) -> int:
    """Optimizer steps in one epoch over n_samples (batch_size 0: the whole set at once)."""
    if n_samples <= 0:
        return 0
    return math.ceil(n_samples / (min(batch_size, n_samples) or n_samples))


def check_data(data: Dataset) -> None:
    """Raise TrainError when the training split cannot train a classifier."""
    if len(data.y_train) == 0:
        raise TrainError("The training set is empty: make the dataset larger or the test fraction smaller.")
    if len(np.unique(data.y_train)) < 2:
        raise TrainError("The training set holds only one class, so there is nothing to tell apart.")


@dataclass(eq=False)
class _Loop:
    """The state of one run while it trains; `train_model` drives it epoch by epoch."""

    model: nn.Module
    config: TrainConfig
    options: RunOptions
    X: torch.Tensor
    y: torch.Tensor
    on_step: OnStep | None
    should_stop: Callable[[], bool] | None
    step: int = 0
    status: str = "completed"
    message: str = ""
    exploded: float | None = None
    first_loss: float | None = None
    batch: int = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.y)
        self.batch = n if self.config.batch_size == 0 else min(self.config.batch_size, n)
        self.optimizer = make_optimizer(self.model, self.config)
        self.params = [p for group in self.optimizer.param_groups for p in group["params"]]
        self.step_optimizer = FusedStep(self.optimizer)
        total = self.config.epochs * steps_per_epoch(n, self.config.batch_size)
        self.scheduler = make_scheduler(self.optimizer, self.config, total)
        # The run's own generators, both seeded by `config.seed`: the shuffle order (on the CPU, so the order is
        # the same on any device) and the dropout masks (on the model's device). Never the process-wide RNG.
        self.generator = torch.Generator().manual_seed(self.config.seed)
        device = next(self.model.parameters()).device
        use_dropout_generator(self.model, torch.Generator(device=device).manual_seed(self.config.seed))
        self.sigmoid = has_sigmoid_head(self.model)
        self.switch_mode = not acts_alike_in_both_modes(self.model)
        self.augmenter = Augmenter(self.config.augment, self.config.seed) if self.config.augment else None

    def epoch(self, number: int) -> tuple[float, float, int]:
        """One pass over shuffled training data: (mean loss, accuracy, samples seen)."""
        order = torch.randperm(len(self.y), generator=self.generator).to(self.X.device)
        X_epoch, y_epoch = self.X[order], self.y[order]  # one shuffled copy; batches are views into it
        # The loss summed in float32 step by step; the batches' logits kept and scored once at the end of the
        # epoch, which saves four tensor operations a step (a tenth of a small 2-D step; docs/benchmark.md).
        loss_sum, outputs, seen = np.float32(0.0), [], 0
        for start in range(0, len(self.y), self.batch):
            if self.should_stop is not None and self.should_stop():
                self.status, self.message = "stopped", f"Stopped by the user during epoch {number}."
                break
            xb, yb = X_epoch[start: start + self.batch], y_epoch[start: start + self.batch]
            logits, loss_value = self._step(xb, yb)
            if not math.isfinite(loss_value) or loss_value > max(50.0, 100.0 * self.first_loss):
                self.status, self.exploded = "diverged", loss_value
                self.message = divergence_message(self.config.lr, number, self.step, loss_value,
                                                  self.options.reference_lr)
                return loss_value, _accuracy(outputs, y_epoch, seen), seen + len(yb)  # the curve shows the explosion
            loss_sum = np.float32(loss_sum + np.float32(loss_value * len(yb)))
            outputs.append(logits)
            seen += len(yb)
            if self.on_step is not None and _reports(self.step, self.options.step_every):
                self.on_step(self.step, loss_value, self.model)
        return float(loss_sum) / max(seen, 1), _accuracy(outputs, y_epoch, seen), seen

    def _step(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, float]:
        if self.augmenter is not None:
            xb = self.augmenter(xb)
        logits = self.model(xb)
        loss = per_sample_loss(logits, yb, loss=self.config.loss, sigmoid=self.sigmoid).mean()
        data_loss = loss.item()
        if self.config.l1:
            loss = loss + self.config.l1 * l1_penalty(self.model)
        for p in self.params:  # optimizer.zero_grad(set_to_none=True), without its wrapper's cost
            p.grad = None
        loss.backward()
        self.step_optimizer()
        if self.scheduler is not None:
            self.scheduler.step()
        self.step += 1
        self.first_loss = data_loss if self.first_loss is None else self.first_loss
        return logits.detach(), data_loss


def _accuracy(outputs: list[torch.Tensor], y_epoch: torch.Tensor, seen: int) -> float:
    """The share of the epoch's first `seen` shuffled points whose batch's logits (in `outputs`) were right."""
    if not outputs:
        return 0.0
    return (torch.cat(outputs).argmax(1) == y_epoch[:seen]).sum().item() / seen


def _reports(step: int, every: int) -> bool:
    """Whether step `step` is reported: every `every` steps, and at steps 1, 2, 4, 8, ... before that, so a slow
    first epoch shows its progress at once."""
    return step % every == 0 or (step < every and step & (step - 1) == 0)


def _prepare(model: nn.Module, data: Dataset, config: TrainConfig, options: RunOptions):
    """Check the inputs; move the data into tensors in the model's memory format."""
    validate_train_config(config)
    check_data(data)
    if options.step_every < 1:
        raise TrainError(f"step_every must be at least 1. Got {options.step_every}.")
    if options.threads is not None:
        if options.threads < 1:
            raise TrainError(f"threads must be at least 1. Got {options.threads}.")
        torch.set_num_threads(options.threads)
    if config.augment and not data.is_image:
        raise TrainError("Augmentation (shift, rotate, scale) moves the pixels of digit images; 2-D points have "
                         "none to move: turn it off.")
    device = resolve_device(options.device, images=data.is_image)
    model.to(device)
    memory_format = torch.channels_last if options.channels_last and data.is_image else torch.contiguous_format
    model.to(memory_format=memory_format)

    def tensor(a: np.ndarray | None) -> torch.Tensor:
        t = torch.as_tensor(a if a is not None else np.zeros(0, np.int64), device=device)
        return t.contiguous(memory_format=memory_format) if t.ndim == 4 else t

    return tensor(data.X_train), tensor(data.y_train), tensor(data.X_val), tensor(data.y_val)


def _should_end(loop: _Loop, stopper: _EarlyStopping, history: list[EpochStats], chance: float) -> bool:
    """After an epoch: True, with the run's status and message set, when the run ends here (core.training.stopping:
    stopped improving, or at the ceiling while still improving)."""
    if loop.status != "completed":  # stopped by the user, or diverged
        return True
    number = history[-1].epoch
    if stopper.update(loop.model, history[-1], chance):
        loop.status, loop.message = stopper.ending(number, chance)
        return True
    if number >= loop.config.epochs and stopper.improving(number):
        loop.status, loop.message = "still_improving", ceiling_message(number)
    return False


def _run_epochs(loop: _Loop, stopper: _EarlyStopping, X_val: torch.Tensor, y_val: torch.Tensor, chance: float,
                on_epoch: OnEpoch | None) -> list[EpochStats]:
    """Epoch after epoch, validating each, until the last one or a reason to end early."""
    history: list[EpochStats] = []
    for number in range(1, loop.config.epochs + 1):
        epoch_start, lr_now = time.perf_counter(), loop.optimizer.param_groups[0]["lr"]
        train_loss, train_acc, seen = loop.epoch(number)
        if seen == 0:
            break
        val_loss, val_acc = evaluate_loss(loop.model, X_val, y_val, loss=loop.config.loss,
                                          switch_mode=loop.switch_mode)
        stats = EpochStats(number, train_loss, train_acc, val_loss, val_acc, lr_now,
                           time.perf_counter() - epoch_start, loop.step)
        history.append(stats)
        if on_epoch is not None and loop.status != "diverged":
            on_epoch(stats, loop.model)
        if _should_end(loop, stopper, history, chance):
            break
    return history


def _judge(loop: _Loop, stopper: _EarlyStopping, history: list[EpochStats], initial_loss: float,
           chance: float) -> tuple[Outcome, int | None]:
    """Keep the best epoch's weights (early stopping), restore the usual memory format, and diagnose the run:
    (the diagnosis, the epoch whose weights were loaded back, or None when the run keeps its last)."""
    judged, kept, trained = history, None, ()  # the run is judged by the weights it keeps
    if stopper.best_state is not None and loop.status in KEEPS_BEST:
        loop.model.load_state_dict(stopper.best_state.tensors())
        judged, kept, trained = history[:stopper.best_epoch], stopper.best_epoch, tuple(history)
    X, y = loop.X, loop.y
    final_loss, final_acc = evaluate_loss(loop.model, X[:PROBE_SIZE], y[:PROBE_SIZE], loss=loop.config.loss)
    loop.model.to(memory_format=torch.contiguous_format)
    probe = min(PROBE_SIZE, len(y))
    config, options = loop.config, loop.options
    outcome = Outcome(loop.status, loop.message, tuple(judged), initial_loss, chance, final_loss, final_acc, probe,
                      config.lr, config.epochs, options.reference_lr, trained=trained)
    points = X if X.ndim == 2 else X[:probe]  # 2-D points: all, as the lessons and Inside count dead units over
    return diagnose(outcome, loop.model, points, y), kept


def train_model(model: nn.Module, data: Dataset,
                config: TrainConfig = TrainConfig(),  # noqa: B008 - frozen dataclasses are safe defaults
                options: RunOptions = RunOptions(),  # noqa: B008
                *, on_epoch: OnEpoch | None = None,
                on_step: OnStep | None = None, should_stop: Callable[[], bool] | None = None) -> TrainResult:
    """Train `model` in place on the training split; return the history and how the run ended.

    The whole dataset is held as tensors and shuffled batches are sliced from it, which is
    much faster than a per-sample DataLoader. Validation scores every epoch; test is not used.
    """
    X, y, X_val, y_val = _prepare(model, data, config, options)
    initial_loss = evaluate_loss(model, X[:PROBE_SIZE], y[:PROBE_SIZE], loss=config.loss)[0]
    chance = chance_loss_of(config.loss, data.y_train)
    loop = _Loop(model, config, options, X, y, on_step, should_stop)
    stopper = _EarlyStopping(config.patience, l1=config.l1)
    started = time.perf_counter()
    model.train()
    history = _run_epochs(loop, stopper, X_val, y_val, chance, on_epoch)
    outcome, kept = _judge(loop, stopper, history, initial_loss, chance)
    model.to("cpu")  # trained on any device, handed back on the CPU, where the views and files expect it
    return TrainResult(tuple(history), outcome.status, outcome.message, loop.step, time.perf_counter() - started,
                       (), kept, loop.exploded, suggested_lr=outcome.suggested_lr)


def overfit_one_batch(model: nn.Module, data: Dataset, *, batch_size: int = 16, steps: int = 150,
                      lr: float = 0.01) -> TrainResult:
    """Sanity check: train on one small batch only and score that same batch; a healthy model gets ~100%."""
    check_data(data)
    k = min(batch_size, len(data.y_train))
    idx = np.arange(k)
    if len(np.unique(data.y_train[:k])) < 2:  # the first rows may share a class; take a spread instead
        idx = np.argsort(data.y_train, kind="stable")[np.linspace(0, len(data.y_train) - 1, k).astype(int)]
    X, y = data.X_train[idx], data.y_train[idx]
    one = replace(data, X_train=X, y_train=y, X_val=X, y_val=y, X_test=X, y_test=y, y_train_clean=None)
    return train_model(model, one, TrainConfig(optimizer="adam", lr=lr, batch_size=0, epochs=steps))
