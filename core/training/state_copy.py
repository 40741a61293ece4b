"""Copies of a model's state (its `state_dict`: weights and buffers) taken many times during one run.

The early-stopping rule copies the weights of every new best epoch, and a 2-D run's recorder copies them after
every epoch. `model.state_dict()` walks the modules and calls their hooks each time, then each tensor is cloned on
its own: about 25 us for a small 2-D network, a quarter of its whole epoch. `StateCopier` finds the state's tensors
once and copies them with one `torch.cat` into a flat tensor (about 3 us); a copy becomes named tensors or arrays
only when it is read.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True, eq=False)
class _Layout:
    """Where each named tensor of a model's state sits in a copy. `flat`: the tensors are contiguous and share a
    dtype and a device, so a copy is one flat tensor; otherwise a copy is a tuple with one clone per tensor."""

    names: tuple[str, ...]
    shapes: tuple[torch.Size, ...]  # flat copies only, as `ends`
    ends: tuple[int, ...]  # tensor i is flat[ends[i - 1]:ends[i]]
    flat: bool

    def spans(self):
        return zip(self.names, self.shapes, (0, *self.ends[:-1]), self.ends, strict=True)


@dataclass(frozen=True, eq=False)
class StateCopy:
    """One copy of a model's state, as `StateCopier.copy` took it."""

    layout: _Layout
    data: torch.Tensor | tuple[torch.Tensor, ...]

    @property
    def nbytes(self) -> int:
        """The bytes of the copy's tensors."""
        parts = (self.data,) if isinstance(self.data, torch.Tensor) else self.data
        return sum(t.numel() * t.element_size() for t in parts if isinstance(t, torch.Tensor))

    def tensors(self) -> dict[str, torch.Tensor]:
        """The copy named as `state_dict` names it (views into the copy: `load_state_dict` copies them in)."""
        if not self.layout.flat:
            return dict(zip(self.layout.names, self.data, strict=True))
        return {name: self.data[start:end].view(shape) for name, shape, start, end in self.layout.spans()}

    def arrays(self) -> dict[str, np.ndarray]:
        """The copy as numpy arrays in the CPU's memory, named as in `state_dict` (views into one array if flat)."""
        if not self.layout.flat:
            return {name: t.numpy(force=True) for name, t in self.tensors().items()}
        flat = self.data.numpy(force=True)
        return {name: flat[start:end].reshape(shape) for name, shape, start, end in self.layout.spans()}


def _places(slots: tuple[tuple[dict, str, torch.Tensor], ...]) -> list[tuple]:
    """Where each tensor lies: its storage, shape and strides (any of them changed means: find the tensors again)."""
    return [(t.data_ptr(), t.shape, t.stride()) for _, _, t in slots]


class StateCopier:
    """Copies one model's state, fast, for one run: the model's structure (its modules, and the names of their
    parameters and buffers) must stay as it was at the first copy. The state's tensors are found on the first copy,
    and found again when the model, any of its tensors, or any tensor's storage, shape or strides has changed
    (`model.to(device)` or a change of memory format); weights updated in place, as every optimizer step does,
    need no new look. A model whose state_dict is not just its parameters and persistent buffers (state-dict
    hooks, extra state) is copied through `state_dict` every time."""

    def __init__(self) -> None:
        self._model: nn.Module | None = None
        self._slots: tuple[tuple[dict, str, torch.Tensor], ...] = ()  # (module's dict, key, tensor) per tensor
        self._places: list[tuple] = []  # per tensor: its storage, shape and strides
        self._sources: tuple[torch.Tensor, ...] = ()  # 1-D views of the tensors, for a flat copy
        self._layout: _Layout | None = None

    def copy(self, model: nn.Module) -> StateCopy:
        """A copy of `model`'s state as it is now, detached from it."""
        if model is not self._model or not self._current():
            self._find(model)
        if self._layout is None:  # a state the slots cannot describe: as state_dict gives it, each part copied
            state = model.state_dict()
            return StateCopy(_Layout(tuple(state), (), (), False), tuple(
                v.detach().clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v) for v in state.values()))
        if self._layout.flat:
            return StateCopy(self._layout, torch.cat(self._sources))
        return StateCopy(self._layout, tuple(tensor.detach().clone() for _, _, tensor in self._slots))

    def _current(self) -> bool:
        return (all(table.get(key) is tensor for table, key, tensor in self._slots)
                and _places(self._slots) == self._places)

    def _find(self, model: nn.Module) -> None:
        slots = []
        for prefix, module in model.named_modules():
            for key, tensor in module._parameters.items():
                if tensor is not None:
                    slots.append((module._parameters, key, tensor, f"{prefix}.{key}" if prefix else key))
            for key, tensor in module._buffers.items():
                if tensor is not None and key not in module._non_persistent_buffers_set:
                    slots.append((module._buffers, key, tensor, f"{prefix}.{key}" if prefix else key))
        state = model.state_dict(keep_vars=True)
        self._model = model
        if list(state) != [name for *_, name in slots] or any(
                state[name] is not tensor for _, _, tensor, name in slots):
            self._slots, self._places, self._layout = (), [], None
            return
        self._slots = tuple((table, key, tensor) for table, key, tensor, _ in slots)
        self._places = _places(self._slots)
        tensors = [tensor.detach() for _, _, tensor in self._slots]
        flat = bool(tensors) and len({(t.dtype, t.device) for t in tensors}) == 1 and all(
            t.is_contiguous() for t in tensors)
        self._sources = tuple(t.view(-1) for t in tensors) if flat else ()
        ends = tuple(int(n) for n in np.cumsum([t.numel() for t in tensors], dtype=np.int64))
        self._layout = _Layout(tuple(state), tuple(t.shape for t in tensors), ends, flat)
