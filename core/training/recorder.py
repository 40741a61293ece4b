"""What a run keeps for looking inside it later: the weights after each epoch and per-layer gradient sizes.

Both are training-loop callbacks (`on_epoch`, `on_step`); core.training.jobs chains them for 2-D runs, whose models
are small enough (a few hundred weights) that a copy per epoch costs microseconds.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True, eq=False)
class EpochState:
    """A model's weights after `epoch` epochs (0 = the starting weights), as numpy arrays."""

    epoch: int
    state: dict[str, np.ndarray]


@dataclass(frozen=True, eq=False)
class GradientFlow:
    """Per weighted layer (input side first), the mean |weight| and mean |gradient| after each epoch."""

    layers: tuple[str, ...]  # e.g. "1 · 2→16"
    epochs: np.ndarray  # (n,) int
    weights: np.ndarray  # (n, layers) float
    gradients: np.ndarray  # (n, layers) float

    def ratio(self) -> np.ndarray:
        """(layers,) each layer's mean gradient over the run divided by the last layer's: < 1 means starved."""
        mean = self.gradients.mean(axis=0)
        return mean / (mean[-1] or 1.0)


def _weighted(model: nn.Module) -> list[nn.Linear | nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv2d)]


def _layer_name(k: int, layer: nn.Linear | nn.Conv2d) -> str:
    if isinstance(layer, nn.Conv2d):
        return f"{k} · conv {layer.in_channels}→{layer.out_channels}"
    return f"{k} · {layer.in_features}→{layer.out_features}"


def _sum_abs(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Sum of |t| per tensor, as one tensor, in one fused call on the tensors' device (this runs every epoch, so its
    cost counts: the recorder keeps the sums as tensors and makes numpy arrays of them once, in `result`)."""
    with torch.no_grad():
        return torch.stack(torch._foreach_norm(tensors, 1))


SNAPSHOT_BYTES = 64 * 1024 * 1024  # a run's kept weights at most: a 6 x 1024 network keeps 3 epochs, a small one all
MAX_STATES = 128  # copies kept at most: a run that stops itself is not known to be long or short in advance


class StateRecorder:
    """An `on_epoch` callback keeping a copy of the weights every `every` epochs and after the last one, within
    `max_bytes` and `max_states`: past either every other kept epoch is dropped (the first and the last stay) and
    `every` doubles, so the epochs kept stay evenly spaced."""

    def __init__(self, *, every: int, epochs: int, max_bytes: int = SNAPSHOT_BYTES,
                 max_states: int = MAX_STATES) -> None:
        if every < 1:
            raise ValueError(f"every must be at least 1 epoch. Got {every} instead.")
        if max_states < 3:
            raise ValueError(f"max_states must be at least 3 (first, one between, last). Got {max_states} instead.")
        self.every, self.epochs, self.max_bytes, self.max_states = every, epochs, max_bytes, max_states
        self.states: list[EpochState] = []
        self.nbytes = 0  # the bytes of every kept copy, kept up to date rather than summed again each epoch

    def __call__(self, stats, model: nn.Module) -> None:
        if stats.epoch % self.every == 0 or stats.epoch == self.epochs:
            self.record(stats.epoch, model)

    def record(self, epoch: int, model: nn.Module) -> None:
        """Keep the weights after `epoch` (once per epoch), thinning the kept ones when over the byte budget."""
        if self.states and self.states[-1].epoch == epoch:
            return
        state = {name: t.numpy(force=True).copy() for name, t in model.state_dict().items()}
        self.states.append(EpochState(epoch, state))
        self.nbytes += _state_bytes(self.states[-1])
        while (self.nbytes > self.max_bytes or len(self.states) > self.max_states) and len(self.states) > 2:
            thinned = self.states[:-1:2] + [self.states[-1]]
            self.states, self.every = thinned, self.every * 2
            self.nbytes = sum(_state_bytes(s) for s in self.states)


def _state_bytes(state: EpochState) -> int:
    """The bytes of one kept copy of the weights."""
    return sum(a.nbytes for a in state.state.values())


def model_at(model: nn.Module, state: EpochState) -> nn.Module:
    """A copy of `model` (same architecture) holding the weights kept in `state`; `model` is untouched."""
    copied = copy.deepcopy(model)
    try:
        copied.load_state_dict({name: torch.from_numpy(value.copy()) for name, value in state.state.items()})
    except RuntimeError as exc:
        raise ValueError(f"These weights (epoch {state.epoch}) belong to another architecture: {exc}") from None
    return copied


class GradientRecorder:
    """Mean |gradient| and |weight| per layer: `on_step` samples steps, `on_epoch` adds the epoch's last
    step (its gradients are still on the parameters) and closes the epoch's row.

    Each epoch costs one fused norm call: the rows stay tensors (sums of |g| over the epoch's samples, float64, and
    the count) until `result` divides them by the layers' sizes in numpy, all epochs at once.
    """

    def __init__(self) -> None:
        self._modules: list[nn.Linear | nn.Conv2d] = []  # found on the first sample: a run trains one model
        self._layers: tuple[str, ...] = ()
        self._sizes = np.zeros(0)
        self._sums: torch.Tensor | None = None  # this epoch's sampled steps: sum of |g| per layer
        self._count = 0
        self._epochs: list[int] = []
        self._weights: list[torch.Tensor] = []  # per epoch: sum of |w| per layer
        self._gradients: list[torch.Tensor] = []  # per epoch: the sampled steps' sum of |g| per layer
        self._counts: list[int] = []  # per epoch: how many steps were sampled

    def _find(self, model: nn.Module) -> None:
        """The weighted layers, named, on the first sample."""
        if not self._modules:
            self._modules = _weighted(model)
            self._layers = tuple(_layer_name(k, m) for k, m in enumerate(self._modules, start=1))
            self._sizes = np.array([m.weight.numel() for m in self._modules], dtype=float)

    def _add(self, sums: torch.Tensor) -> None:
        self._sums = sums.double() if self._sums is None else self._sums + sums
        self._count += 1

    def _sample(self, model: nn.Module) -> None:
        self._find(model)
        grads = [m.weight.grad for m in self._modules]
        if any(g is None for g in grads):
            return
        self._add(_sum_abs(grads))

    def on_step(self, _step: int, _loss: float, model: nn.Module) -> None:
        self._sample(model)

    def on_epoch(self, stats, model: nn.Module) -> None:
        self._find(model)
        grads, weights = [m.weight.grad for m in self._modules], [m.weight for m in self._modules]
        has_grads = all(g is not None for g in grads)
        if not has_grads and not self._count:
            return
        # The epoch's last gradients and the weights in one call (this runs every epoch, so its cost counts).
        sums = _sum_abs(grads + weights if has_grads else weights)
        if has_grads:
            self._add(sums[:len(grads)])
        self._epochs.append(stats.epoch)
        self._weights.append(sums[-len(weights):])
        self._gradients.append(self._sums)
        self._counts.append(self._count)
        self._sums, self._count = None, 0

    def result(self) -> GradientFlow | None:
        """The flow so far, or None before the first epoch ended."""
        if not self._epochs:
            return None
        weights = torch.stack(self._weights).numpy(force=True).astype(float) / self._sizes
        gradients = torch.stack(self._gradients).numpy(force=True) / np.array(self._counts, float)[:, None]
        return GradientFlow(self._layers, np.array(self._epochs), weights, gradients / self._sizes)
