"""The optimizer step without torch.optim's Python around it: torch's own fused Adam kernel, called directly.

`torch.optim.Adam.step` gathers and checks every group's tensor lists again on each step, under a profiler
record and a handful of checks: on one thread about 100 µs a step for a 2-D network whose kernel takes ~10 µs, the
largest share of the engine's per-step overhead (docs/benchmark.md) and most of a step for six tiny sweep cells.
`FusedStep` lets the optimizer take its first step itself (which makes its state), gathers the lists once, and from
then on makes the very calls `Adam.step` makes (the step counts advanced by one `_foreach_add_`, then the kernel
with the same tensors and arguments, read from each group as the scheduler leaves them), so the numbers are
Adam's own to the last bit (tests/test_train.py, tests/test_batched.py). Any other optimizer or option (SGD,
RMSprop, amsgrad, a GPU, ...) and any step where a parameter has no gradient go through `optimizer.step()`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _plain_fused_adam(optimizer: torch.optim.Optimizer) -> bool:
    """True for Adam/AdamW on the CPU with fused kernels and none of the options that change the call."""
    return isinstance(optimizer, torch.optim.Adam) and all(
        group["fused"] and not (group["amsgrad"] or group["capturable"] or group["differentiable"])
        and all(p.device.type == "cpu" for p in group["params"]) for group in optimizer.param_groups)


class FusedStep:
    """Steps `optimizer` for some (by default all) of its param groups, whose parameters' .grad are set."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer
        self._lists: list[tuple[list[torch.Tensor], ...]] | None = None  # per group: params, m, v, step counts
        self._counts = torch.zeros(0)  # every parameter's step count, which Adam's state views
        self._spans: list[slice] = []  # each group's parameters' part of it
        self._fast = _plain_fused_adam(optimizer)

    def __call__(self, groups: Sequence[int] | None = None) -> None:
        """One step of the groups at these indices (None: all); the other groups' parameters must have no .grad."""
        if self._lists is None:
            self.optimizer.step()
            if self._fast:
                self._lists = self._gather()
                self._fast = self._lists is not None
            return
        indices = range(len(self._lists)) if groups is None else groups
        grads = [[p.grad for p in self._lists[i][0]] for i in indices]
        if not self._fast or any(g is None for group in grads for g in group):
            self.optimizer.step()  # Adam skips a parameter without a gradient (its step count too)
            return
        with torch.no_grad():
            if len(indices) == len(self._lists):  # Adam's _foreach_add_ of the step counts, in one operation
                self._counts.add_(1)
            else:
                for i in indices:
                    self._counts[self._spans[i]].add_(1)
            for settings, (params, group_grads, exp_avgs, exp_avg_sqs, steps) in self._calls(indices, grads).items():
                decoupled, lr, (beta1, beta2), weight_decay, eps, maximize = settings
                kernel = torch._fused_adamw_ if decoupled else torch._fused_adam_
                kernel(params, group_grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False, lr=lr, beta1=beta1,
                       beta2=beta2, weight_decay=weight_decay, eps=eps, maximize=maximize, grad_scale=None,
                       found_inf=None)

    def _calls(self, indices: Sequence[int], grads: list[list[torch.Tensor]]) -> dict[tuple, tuple[list, ...]]:
        """The groups' tensor lists joined by settings: the kernel updates each tensor on its own, so groups with
        the same rate and decay (a seed spread's cells) take one call between them."""
        calls: dict[tuple, tuple[list, ...]] = {}
        for i, group_grads in zip(indices, grads):
            params, exp_avgs, exp_avg_sqs, steps = self._lists[i]
            joined = calls.setdefault(_settings(self.optimizer.param_groups[i]), ([], [], [], [], []))
            for into, part in zip(joined, (params, group_grads, exp_avgs, exp_avg_sqs, steps)):
                into.extend(part)
        return calls

    def _gather(self) -> list[tuple[list[torch.Tensor], ...]] | None:
        """Each group's parameters and Adam's state for them, every step count made a view of one tensor; None
        when a parameter has no state yet (no gradient at the first step): `optimizer.step()` takes every step."""
        lists, states = [], []
        for group in self.optimizer.param_groups:
            params = list(group["params"])
            state = [self.optimizer.state.get(p) for p in params]
            if any(not s for s in state):
                return None
            self._spans.append(slice(len(states), len(states) + len(state)))
            states += state
            lists.append((params, [s["exp_avg"] for s in state], [s["exp_avg_sq"] for s in state]))
        self._counts = torch.stack([s["step"] for s in states])
        for k, kept in enumerate(states):
            kept["step"] = self._counts[k]
        return [(*parts, [s["step"] for s in states[span]]) for parts, span in zip(lists, self._spans)]


def _settings(group: dict) -> tuple:
    """What the kernel call takes from a param group besides its tensors."""
    return (group["decoupled_weight_decay"], group["lr"], tuple(group["betas"]), group["weight_decay"], group["eps"],
            group["maximize"])
