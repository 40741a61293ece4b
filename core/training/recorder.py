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

from core.training.state_copy import StateCopier, StateCopy


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


def _sums_abs(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """Sum of |t| per tensor, each a 0-d tensor on the tensors' device, in one fused call (this runs every epoch,
    so its cost counts: the recorder keeps the sums as they are and stacks them once, in `result`)."""
    with torch.no_grad():
        return torch._foreach_norm(tensors, 1)


SNAPSHOT_BYTES = 64 * 1024 * 1024  # a run's kept weights at most: a 6 x 1024 network keeps 3 epochs, a small one all
MAX_STATES = 128  # copies kept at most: a run that stops itself is not known to be long or short in advance


class StateRecorder:
    """An `on_epoch` callback keeping a copy of the weights every `every` epochs and after the last one, within
    `max_bytes` and `max_states`: past either every other kept epoch is dropped (the first and the last stay) and
    `every` doubles, so the epochs kept stay evenly spaced. The copies are flat tensors (core.training.state_copy)
    until `states` names them."""

    def __init__(self, *, every: int, epochs: int, max_bytes: int = SNAPSHOT_BYTES,
                 max_states: int = MAX_STATES) -> None:
        if every < 1:
            raise ValueError(f"every must be at least 1 epoch. Got {every} instead.")
        if max_states < 3:
            raise ValueError(f"max_states must be at least 3 (first, one between, last). Got {max_states} instead.")
        self.every, self.epochs, self.max_bytes, self.max_states = every, epochs, max_bytes, max_states
        self._copier = StateCopier()
        self._kept: list[tuple[int, StateCopy]] = []
        self._named: list[EpochState] | None = None  # `states`, named once after the last copy
        self.nbytes = 0  # the bytes of every kept copy, kept up to date rather than summed again each epoch

    def __call__(self, stats, model: nn.Module) -> None:
        if stats.epoch % self.every == 0 or stats.epoch == self.epochs:
            self.record(stats.epoch, model)

    def record(self, epoch: int, model: nn.Module) -> None:
        """Keep the weights after `epoch` (once per epoch), thinning the kept ones when over the byte budget."""
        if self._kept and self._kept[-1][0] == epoch:
            return
        self._kept.append((epoch, self._copier.copy(model)))
        self._named = None
        self.nbytes += self._kept[-1][1].nbytes
        while (self.nbytes > self.max_bytes or len(self._kept) > self.max_states) and len(self._kept) > 2:
            self._kept, self.every = self._kept[:-1:2] + [self._kept[-1]], self.every * 2
            self.nbytes = sum(copy.nbytes for _, copy in self._kept)

    @property
    def states(self) -> list[EpochState]:
        """The kept copies, oldest first, as numpy arrays named as in the model's state_dict."""
        if self._named is None:
            self._named = [EpochState(epoch, copy.arrays()) for epoch, copy in self._kept]
        return self._named


def model_at(model: nn.Module, state: EpochState) -> nn.Module:
    """A copy of `model` (same architecture) holding the weights kept in `state`; `model` is untouched."""
    copied = copy.deepcopy(model)
    try:
        copied.load_state_dict({name: torch.from_numpy(value.copy()) for name, value in state.state.items()})
    except RuntimeError as exc:
        raise ValueError(f"These weights (epoch {state.epoch}) belong to another architecture: {exc}") from None
    return copied


class _Sums:
    """0-d tensors kept as they come (appending is all an epoch pays) and stacked into one tensor every `chunk` of
    them, so a run of thousands of epochs holds a few tensors, not one object per layer and epoch."""

    def __init__(self, chunk: int = 512) -> None:
        self._chunk, self._loose, self._stacked = chunk, [], []

    def __len__(self) -> int:
        return len(self._loose) + sum(len(t) for t in self._stacked)

    def extend(self, sums: list[torch.Tensor]) -> None:
        self._loose += sums
        if len(self._loose) >= self._chunk:
            self._stacked.append(torch.stack(self._loose))
            self._loose = []

    def array(self) -> np.ndarray:
        """Every sum so far, in order, as float64."""
        parts = self._stacked + ([torch.stack(self._loose)] if self._loose else [])
        return torch.cat(parts).numpy(force=True).astype(float) if parts else np.zeros(0)


class GradientRecorder:
    """Mean |gradient| and |weight| per layer: `on_step` samples steps, `on_epoch` adds the epoch's last
    step (its gradients are still on the parameters) and closes the epoch's row.

    An epoch costs one fused norm call and nothing else: its sums stay 0-d tensors (stacked a chunk at a time,
    `_Sums`) until `result` divides them all by the sampled steps and the layers' sizes in numpy.
    """

    def __init__(self) -> None:
        self._modules: list[nn.Linear | nn.Conv2d] = []  # found on the first sample: a run trains one model
        self._layers: tuple[str, ...] = ()
        self._sizes = np.zeros(0)
        self._sums: torch.Tensor | None = None  # this epoch's steps sampled by `on_step`: sum of |g| per layer
        self._count = 0
        self._epochs: list[int] = []
        self._weights = _Sums()  # per epoch and layer: sum of |w|
        self._lasts = _Sums()  # per layer of each epoch that ended with gradients: their sum of |g|
        self._ended_with_gradients: list[bool] = []
        self._sampled: dict[int, torch.Tensor] = {}  # epoch's row -> its `on_step` samples' sums (float64)
        self._counts: list[int] = []  # per epoch: how many steps were sampled

    def _find(self, model: nn.Module) -> None:
        """The weighted layers, named, on the first sample."""
        if not self._modules:
            self._modules = _weighted(model)
            self._layers = tuple(_layer_name(k, m) for k, m in enumerate(self._modules, start=1))
            self._sizes = np.array([m.weight.numel() for m in self._modules], dtype=float)

    def on_step(self, _step: int, _loss: float, model: nn.Module) -> None:
        self._find(model)
        grads = [m.weight.grad for m in self._modules]
        if any(g is None for g in grads):
            return
        sums = torch.stack(_sums_abs(grads)).double()
        self._sums = sums if self._sums is None else self._sums + sums
        self._count += 1

    def on_epoch(self, stats, model: nn.Module) -> None:
        self._find(model)
        grads, weights = [m.weight.grad for m in self._modules], [m.weight for m in self._modules]
        has_grads = all(g is not None for g in grads)
        if not has_grads and not self._count:
            return
        # The epoch's last gradients and the weights in one call.
        sums = _sums_abs(grads + weights if has_grads else weights)
        if self._sums is not None:
            self._sampled[len(self._epochs)] = self._sums
        self._epochs.append(stats.epoch)
        self._weights.extend(sums[-len(weights):])
        if has_grads:
            self._lasts.extend(sums[:len(grads)])
        self._ended_with_gradients.append(has_grads)
        self._counts.append(self._count + has_grads)
        self._sums, self._count = None, 0

    def result(self) -> GradientFlow | None:
        """The flow so far, or None before the first epoch ended."""
        if not self._epochs:
            return None
        n, layers = len(self._epochs), len(self._modules)
        weights = self._weights.array().reshape(n, layers)
        gradients = np.zeros((n, layers))
        if len(self._lasts):
            gradients[np.array(self._ended_with_gradients)] = self._lasts.array().reshape(-1, layers)
        for row, sampled in self._sampled.items():
            gradients[row] += sampled.numpy(force=True)
        gradients /= np.array(self._counts, float)[:, None]
        return GradientFlow(self._layers, np.array(self._epochs), weights / self._sizes, gradients / self._sizes)
