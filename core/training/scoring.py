"""Scoring a model on a split while it trains: the mean loss and the accuracy, in inference mode.

A model whose layers all compute the same in training and evaluation mode is scored without switching its mode:
two walks over its modules that cost a small 2-D epoch ~2% (docs/benchmark.md).
"""

from __future__ import annotations

import torch
from torch import nn

from core.models import ACTIVATIONS, InputFeatures, SigmoidHead, eval_mode, has_sigmoid_head, inference_batch
from core.training.losses import per_sample_loss

# Layers that compute the same in training and in evaluation mode (dropout does not).
ALIKE_IN_BOTH_MODES = (nn.Sequential, nn.Linear, nn.Conv2d, nn.MaxPool2d, nn.Flatten, InputFeatures, SigmoidHead,
                       *ACTIVATIONS.values())


def evaluate_loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, loss: str = "cross_entropy",
                  switch_mode: bool = True) -> tuple[float, float]:
    """(mean loss, accuracy) over tensors X, y, in inference mode; the loss is TrainConfig.loss for the model's head.
    The model is put in evaluation mode for it, unless `switch_mode` is False (see `acts_alike_in_both_modes`)."""
    if len(y) == 0:
        return float("nan"), float("nan")
    loss_sum, correct, sigmoid = 0.0, 0, has_sigmoid_head(model)
    with eval_mode(model) if switch_mode else torch.inference_mode():
        batch = inference_batch(X)  # fewer images than points a pass: bounded memory
        for start in range(0, len(y), batch):
            logits = model(X[start: start + batch])
            target = y[start: start + batch]
            loss_sum += per_sample_loss(logits, target, loss=loss, sigmoid=sigmoid).sum().item()
            correct += (logits.argmax(1) == target).sum().item()
    return loss_sum / len(y), correct / len(y)


def acts_alike_in_both_modes(model: nn.Module) -> bool:
    """True when every layer of `model` computes the same in training and evaluation mode (no dropout)."""
    return all(isinstance(module, ALIKE_IN_BOTH_MODES) for module in model.modules())
