"""The optimizer step of a batch of sweep cells: torch's own fused Adam kernel, called once per cell's group.

`torch.optim.Adam.step` gathers and checks every group's tensor lists again on each step: about 45 µs a group on one
thread, most of a step for six tiny cells. `GroupStep` lets the optimizer take its first step itself (which makes
its state), gathers the lists once, and from then on makes the very kernel call `Adam.step` makes (the same
tensors and arguments, read from each group as the scheduler leaves them), so the numbers are Adam's own. The
parameters of a group always step together, so they share one step count (one tensor to advance, not one each).
Any other optimizer or option (SGD, RMSprop, amsgrad, ...) steps as usual.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _plain_fused_adam(optimizer: torch.optim.Optimizer) -> bool:
    """True for Adam/AdamW on the CPU with fused kernels and none of the options that change the call."""
    return isinstance(optimizer, torch.optim.Adam) and all(
        group["fused"] and not (group["amsgrad"] or group["capturable"] or group["differentiable"])
        and all(p.device.type == "cpu" for p in group["params"]) for group in optimizer.param_groups)


class GroupStep:
    """Steps `optimizer` for some of its param groups (each holds one cell's parameters, whose .grad are set)."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer
        self._lists: list[tuple[list[torch.Tensor], ...]] | None = None
        self._fast = _plain_fused_adam(optimizer)

    def __call__(self, groups: Sequence[int]) -> None:
        """One step of the groups at these indices (the others' parameters must have no .grad)."""
        if not self._fast or self._lists is None:
            self.optimizer.step()
            if self._fast:
                self._lists = [self._gather(group) for group in self.optimizer.param_groups]
            return
        torch._foreach_add_([self._lists[i][4][0] for i in groups], 1)  # the group's shared step count
        for i in groups:
            group, (params, grads, exp_avgs, exp_avg_sqs, steps) = self.optimizer.param_groups[i], self._lists[i]
            kernel = torch._fused_adamw_ if group["decoupled_weight_decay"] else torch._fused_adam_
            beta1, beta2 = group["betas"]
            kernel(params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False, lr=group["lr"], beta1=beta1,
                   beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"], maximize=group["maximize"],
                   grad_scale=None, found_inf=None)

    def _gather(self, group: dict) -> tuple[list[torch.Tensor], ...]:
        """A group's parameters, their gradients (kept tensors: the batch writes into them) and Adam's state."""
        params = list(group["params"])
        state = [self.optimizer.state[p] for p in params]
        for kept in state[1:]:
            kept["step"] = state[0]["step"]
        return (params, [p.grad for p in params], [s["exp_avg"] for s in state], [s["exp_avg_sq"] for s in state],
                [s["step"] for s in state])
