"""What a run will cost before it starts, and the server's budget for it.

A run's cost is estimated from its shape alone: the model's multiply-adds per sample (counted on torch's `meta`
device, so nothing is allocated), the samples it will see, and a fixed cost per optimizer step. The constants are
measured on a 2-core server at one torch thread and err on the slow side. Three bands follow from the estimate:
inline (trained in the page's own thread, the only band auto-train uses), a job (a worker in the server's job
slots) and refused (above the per-run ceiling, with the setting to lower and by how much). Every run, inline or
not, also gets a time limit (its training thread's CPU seconds, see core.training.jobs), so an estimate that was
wrong still ends.

May import core.config, core.models and core.training.train; the Lab, the command line and the jobs (whose
time-limit message reads durations as its estimates do) use it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn

from core.config import ModelConfig, TrainConfig
from core.models import build_model
from core.training.train import steps_per_epoch

STEP_SECONDS = 4e-4  # an optimizer step's fixed cost (PyTorch's per-call overhead, the loop, the callbacks)
DENSE_MACS_PER_SECOND = 1.5e10  # multiply-adds a second in Linear layers, at one thread (measured: ~2-5e10)
CONV_COST = 3.0  # a convolution's multiply-add costs about this many dense ones (im2col, small channels)
TRAIN_PASSES = 3  # forward, and backward for the inputs and the weights
INLINE_ENV, MAX_RUN_ENV, MAX_SWEEP_ENV = "NNLAB_INLINE_SECONDS", "NNLAB_MAX_RUN_SECONDS", "NNLAB_MAX_SWEEP_SECONDS"
DEFAULT_INLINE_S = 0.5  # trained in the page's thread, and by auto-train, up to this estimate
DEFAULT_MAX_RUN_S = 600.0  # the longest run one person may start on the shared server (the presets fit)
DEFAULT_MAX_SWEEP_S = 1800.0  # a sweep's or a seed spread's runs together, at most (each also within a run's)
MAX_RUN_MEMORY = 1024**3  # a run's activations at once (one batch, kept for the backward pass), at most
KEPT_FOR_BACKWARD = 2  # a batch's activations and their gradients at the backward pass's peak
TIME_LIMIT_SLACK = 3.0  # a run may take this many times its estimate (at least MIN_TIME_LIMIT_S) before it ends
MIN_TIME_LIMIT_S = 5.0


class BudgetError(ValueError):
    """A run over the server's per-run ceiling; the message says which setting to lower and by how much."""


@dataclass(frozen=True)
class RunCost:
    """A run's estimated work and time, before it starts."""

    macs_per_sample: int  # forward multiply-adds for one sample (convolutions weighted by CONV_COST)
    steps: int
    samples: int  # training samples seen over all epochs
    seconds: float
    batch: int = 0  # samples a step
    bytes_per_sample: int = 0  # activation memory a training sample holds at the backward pass's peak

    @property
    def memory(self) -> int:
        """Bytes of activations one training step holds at once."""
        return self.batch * self.bytes_per_sample

    def describe(self) -> str:
        """'about 12 s (4,300 steps)' for a person."""
        return f"about {duration_text(self.seconds)} ({self.steps:,} steps)"


@dataclass(frozen=True)
class Budget:
    """The server's limits on one run's estimated seconds (from the environment, with defaults for 2 cores)."""

    inline_s: float = DEFAULT_INLINE_S
    max_run_s: float = DEFAULT_MAX_RUN_S
    max_sweep_s: float = DEFAULT_MAX_SWEEP_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Budget:
        """$NNLAB_INLINE_SECONDS, $NNLAB_MAX_RUN_SECONDS and $NNLAB_MAX_SWEEP_SECONDS; a value that is not a
        positive number is refused."""
        env = os.environ if environ is None else environ
        return cls(_seconds(env, INLINE_ENV, DEFAULT_INLINE_S), _seconds(env, MAX_RUN_ENV, DEFAULT_MAX_RUN_S),
                   _seconds(env, MAX_SWEEP_ENV, DEFAULT_MAX_SWEEP_S))

    def band(self, cost: RunCost) -> str:
        """"inline", "job" or "refused"."""
        if cost.seconds <= self.inline_s:
            return "inline"
        return "job" if cost.seconds <= self.max_run_s else "refused"

    def check(self, cost: RunCost, config: TrainConfig) -> None:
        """Raise BudgetError, saying what to lower, when `cost` is over the per-run ceiling (its time, or its memory
        at once: a large batch of images, such as a whole training set at once)."""
        if cost.memory > MAX_RUN_MEMORY:
            fits = max(1, MAX_RUN_MEMORY // cost.bytes_per_sample)
            raise BudgetError(f"This run would hold about {cost.memory / 1024**3:.1f} GB of activations at once (a "
                              f"batch of {cost.batch:,}), over this server's limit of {MAX_RUN_MEMORY / 1024**3:.0f} "
                              f"GB a run: lower the batch size to {fits:,} or less.")
        if cost.seconds <= self.max_run_s:
            return
        factor = cost.seconds / self.max_run_s
        epochs = max(1, math.floor(config.epochs / factor))
        what = (f"lower the epochs from {config.epochs:,} to {epochs:,}, or use a smaller network or fewer points"
                if config.epochs > 1 and epochs > 1 else
                f"use a smaller network or fewer points (about {math.ceil(factor)}x less work)")
        raise BudgetError(f"This run would take {cost.describe()}, over this server's limit of "
                          f"{duration_text(self.max_run_s)} a run: {what}.")

    def check_many(self, runs: Sequence[tuple[str, RunCost, TrainConfig]], what: str = "sweep") -> None:
        """Raise BudgetError for a sweep or a seed spread (`what`) of `runs`, each (its name, its cost, its
        settings): any one over the per-run ceiling (named), or all of them together over the sweep ceiling."""
        for name, cost, config in runs:
            try:
                self.check(cost, config)
            except BudgetError as exc:
                raise BudgetError(f"{name}: {exc}") from None
        total = sum(cost.seconds for _, cost, _ in runs)
        if total > self.max_sweep_s:
            raise BudgetError(f"This {what}'s {len(runs)} runs would take about {duration_text(total)} in all, over "
                              f"this server's limit of {duration_text(self.max_sweep_s)} a {what}: about "
                              f"{math.ceil(total / self.max_sweep_s)}x less work (fewer values, fewer epochs, a "
                              "smaller network or fewer points).")

    def time_limit(self, cost: RunCost | float) -> float:
        """CPU seconds after which a run with this estimate (a RunCost, or its seconds: runs trained together,
        summed) is stopped, kept as learned so far."""
        seconds = cost.seconds if isinstance(cost, RunCost) else cost
        return min(max(TIME_LIMIT_SLACK * seconds, MIN_TIME_LIMIT_S), TIME_LIMIT_SLACK * self.max_run_s)


@lru_cache(maxsize=256)
def _per_sample(config: ModelConfig) -> tuple[int, int]:
    """(forward multiply-adds, activations) of one sample through the model `config` builds, counted on the meta
    device (no memory, no arithmetic) in one pass, or from the layers' sizes alone when there is no convolution
    (whose output size needs a pass, which costs ~1 s of imports the first time). Convolutions' multiply-adds are
    weighted by CONV_COST; the activations are every layer's outputs (for an MLP, each Linear's and its
    activation's)."""
    macs, floats = 0.0, 0

    def count(module: nn.Module, _inputs, output) -> None:
        nonlocal macs, floats
        if isinstance(module, nn.Linear):
            macs += module.in_features * module.out_features
        elif isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
            macs += CONV_COST * output[0].numel() * per_output
        if not list(module.children()):  # the layers themselves, not the containers around them
            floats += output[0].numel()

    with torch.device("meta"):
        model = build_model(config)
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        if not any(isinstance(m, nn.Conv2d) for m in model.modules()):
            return (sum(m.in_features * m.out_features for m in linears),
                    2 * sum(m.out_features for m in linears))
        hooks = [m.register_forward_hook(count) for m in model.modules()]
        model(torch.zeros(1, *config.input_shape))
    for hook in hooks:
        hook.remove()
    return int(macs), int(floats)


def macs_per_sample(config: ModelConfig) -> int:
    """Forward multiply-adds of one sample through the model `config` builds, convolutions weighted by CONV_COST."""
    return _per_sample(config)[0]


def activation_floats(config: ModelConfig) -> int:
    """Numbers every layer of the model `config` builds outputs for one sample: its activations."""
    return _per_sample(config)[1]


def estimate(model: ModelConfig, train: TrainConfig, n_train: int, n_val: int = 0) -> RunCost:
    """The estimated cost of training `model` with `train` on `n_train` samples (validating on `n_val` each epoch)."""
    macs, floats = _per_sample(model)
    steps = train.epochs * steps_per_epoch(n_train, train.batch_size)
    samples = train.epochs * n_train
    work = TRAIN_PASSES * macs * samples + macs * train.epochs * n_val
    batch = min(train.batch_size or n_train, n_train)
    return RunCost(macs, steps, samples, steps * STEP_SECONDS + work / DENSE_MACS_PER_SECOND, batch,
                   KEPT_FOR_BACKWARD * 4 * floats)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or math.isinf(value):
        raise ValueError(f"{name} must be a positive number of seconds. Got {text!r} instead.")
    return value


def duration_text(seconds: float) -> str:
    """A duration for a person: 0.3 -> '0.3 s'; 0.04 -> '0.04 s'; 5 -> '5 s'; 12 -> '12 s'; 95 -> '1.6 min';
    20500 -> '5.7 h'."""
    if seconds < 60:
        return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"  # two digits: 0.3 s never reads 0 s
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"
