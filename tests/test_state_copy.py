"""Fast copies of a model's state (core.training.state_copy): the same as `state_dict` copies, whatever happens to
the model after them, and found again when the model's tensors change."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from core.config import ModelConfig
from core.models import build_model
from core.training.state_copy import StateCopier


def cloned_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: t.detach().clone() for name, t in model.state_dict().items()}


def assert_same(copied: dict, expected: dict) -> None:
    assert list(copied) == list(expected)
    for name, tensor in expected.items():
        assert torch.equal(torch.as_tensor(copied[name]), tensor), name


def step(model: nn.Module) -> None:
    """An optimizer's in-place update of every weight."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)


def test_a_copy_holds_the_state_of_its_moment_as_state_dict_names_it() -> None:
    model, copier = build_model(ModelConfig(kind="mlp", hidden=(8, 4))), StateCopier()
    first, expected = copier.copy(model), cloned_state(model)
    step(model)
    second, expected_second = copier.copy(model), cloned_state(model)
    assert_same(first.tensors(), expected)  # the later update did not reach the earlier copy
    assert_same(second.tensors(), expected_second)
    arrays = second.arrays()
    assert all(isinstance(a, np.ndarray) for a in arrays.values())
    assert_same(arrays, expected_second)
    assert first.nbytes == sum(t.numel() * 4 for t in expected.values())
    fresh = build_model(ModelConfig(kind="mlp", hidden=(8, 4)), seed=1)
    fresh.load_state_dict(first.tensors())
    assert_same(fresh.state_dict(), expected)


def test_replaced_storage_and_replaced_tensors_are_found_again() -> None:
    model, copier = build_model(ModelConfig(kind="mlp", hidden=(6,))), StateCopier()
    copier.copy(model)
    layer = next(m for m in model.modules() if isinstance(m, nn.Linear))
    layer.weight.data = layer.weight.data + 1.0  # what model.to(device) does to a parameter: new storage
    assert_same(copier.copy(model).tensors(), cloned_state(model))
    layer.bias = nn.Parameter(torch.full_like(layer.bias, 7.0))  # a new parameter object
    assert_same(copier.copy(model).tensors(), cloned_state(model))
    square = nn.Linear(3, 3)
    copier.copy(square)
    square.weight.data = square.weight.data.t()  # the same storage and shape, other strides
    assert_same(copier.copy(square).tensors(), cloned_state(square))
    other = build_model(ModelConfig(kind="mlp", hidden=(6,)), seed=3)
    assert_same(copier.copy(other).tensors(), cloned_state(other))


class Counted(nn.Module):
    """A layer with a persistent buffer, a non-persistent one and an int64 one: no single flat copy fits."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.register_buffer("running", torch.zeros(2))
        self.register_buffer("scratch", torch.ones(2), persistent=False)
        self.register_buffer("seen", torch.tensor(0, dtype=torch.int64))


def test_buffers_of_mixed_types_are_copied_one_by_one_and_a_replaced_buffer_is_seen() -> None:
    model, copier = Counted(), StateCopier()
    first, expected = copier.copy(model), cloned_state(model)
    assert "scratch" not in first.tensors()
    model.running.add_(3.0)
    model.seen.add_(5)
    assert_same(first.tensors(), expected)
    model.running = torch.full((2,), 9.0)  # what model.to(device) does to a buffer: a new tensor in its place
    assert_same(copier.copy(model).tensors(), cloned_state(model))
    assert_same(copier.copy(model).arrays(), cloned_state(model))


def test_a_non_contiguous_weight_and_extra_state_are_copied_right() -> None:
    conv = nn.Conv2d(2, 3, 3).to(memory_format=torch.channels_last)  # as the image models train
    copier = StateCopier()
    copied = copier.copy(conv)
    expected = cloned_state(conv)
    step(conv)
    assert_same(copied.tensors(), expected)

    class Hooked(nn.Linear):
        def get_extra_state(self):
            return {"note": 1}

        def set_extra_state(self, state) -> None:
            pass

    hooked = Hooked(2, 2)
    copied, weight = copier.copy(hooked), hooked.weight.detach().clone()
    assert list(copied.tensors()) == list(hooked.state_dict()) == ["weight", "bias", "_extra_state"]
    assert copied.tensors()["_extra_state"] == {"note": 1}
    step(hooked)
    assert torch.equal(copied.tensors()["weight"], weight)
