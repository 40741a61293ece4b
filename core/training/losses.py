"""The losses a run can train with, for either head: cross-entropy (BCE for a sigmoid head) or mean squared error.

Every model hands over logits; these turn them into one loss per sample. A sigmoid-head model's logits are the pair
(0, z) (core.models.SigmoidHead), so z = logits[:, 1]. Also here: what each loss scores for a model that knows
nothing (always answering the class frequencies), which the diagnosis compares runs against.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from core.config import LOSSES, TrainError

LOSS_LABELS = {"cross_entropy": "cross-entropy", "mse": "mean squared error"}
SIGMOID_LOSS_LABELS = {"cross_entropy": "binary cross-entropy", "mse": "mean squared error"}


def loss_label(loss: str, *, head: str = "softmax") -> str:
    """The loss in words, as the curves and cards name it: 'cross-entropy', 'binary cross-entropy', ..."""
    if loss not in LOSSES:
        raise TrainError(f"loss must be one of {', '.join(LOSSES)}. Got {loss!r}.")
    return (SIGMOID_LOSS_LABELS if head == "sigmoid" else LOSS_LABELS)[loss]


def per_sample_loss(logits: torch.Tensor, y: torch.Tensor, *, loss: str, sigmoid: bool) -> torch.Tensor:
    """(B,) losses of logits (B, n_classes) against integer labels y (B,).

    cross_entropy: -log p(true class); with a sigmoid head, BCE on the single logit z.
    mse: the mean over classes of (probability - one-hot label)²; with a sigmoid head, (sigmoid(z) - y)², which is
    the same number (both columns miss by as much).
    """
    if sigmoid:
        z, target = logits[:, 1] - logits[:, 0], y.to(logits.dtype)  # logits[:, 0] is the head's fixed 0
        if loss == "mse":
            return (torch.sigmoid(z) - target) ** 2
        return nn.functional.binary_cross_entropy_with_logits(z, target, reduction="none")
    if loss == "mse":
        one_hot = nn.functional.one_hot(y, logits.shape[1]).to(logits.dtype)
        return ((torch.softmax(logits, dim=1) - one_hot) ** 2).mean(dim=1)
    return nn.functional.cross_entropy(logits, y, reduction="none")


def chance_loss_of(loss: str, y: np.ndarray) -> float:
    """The loss of always answering the class frequencies p of labels y: -Σ p log p for cross-entropy (ln 2 for two
    balanced classes), (1 - Σ p²) / n_classes for mean squared error (0.25)."""
    counts = np.bincount(np.asarray(y))
    p = counts / counts.sum()
    if loss == "mse":
        return float((1.0 - (p * p).sum()) / len(p))
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())
