"""The diagnosis (core.training.diagnose) on constructed outcomes: a loss that rose after the kept epoch blames the
learning rate, and a run far below the preset's rate names the rate to try; each records that rate
(`suggested_lr`), the one the coach offers."""

from __future__ import annotations

import pytest
import torch

from core.config import ModelConfig
from core.models import build_model
from core.training.diagnose import Outcome, diagnose
from core.training.result import EpochStats

X = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
Y = torch.arange(64) % 2  # two balanced classes: always guessing scores 50%
CHANCE = 0.693


def epochs(*losses: float) -> tuple[EpochStats, ...]:
    """One record per training loss, at 50% accuracy (no better than guessing)."""
    return tuple(EpochStats(e + 1, loss, 0.5, loss, 0.5, 0.1, 0.0, e + 1) for e, loss in enumerate(losses))


def outcome(history: tuple[EpochStats, ...], *, lr: float, trained: tuple[EpochStats, ...] = (),
            reference_lr: float | None = 0.03) -> Outcome:
    """A run that ended with its kept weights no better than guessing, its loss where it started."""
    return Outcome("early_stopped" if trained else "completed", "", history, 0.712, CHANCE, 0.712, 0.5, len(Y), lr,
                   len(trained or history), reference_lr, trained=trained)


def judged(given: Outcome) -> Outcome:
    model = build_model(ModelConfig(hidden=(8,), activation="tanh"), seed=0)
    return diagnose(given, model, X, Y)


def test_a_loss_that_rose_after_the_kept_epoch_blames_the_learning_rate() -> None:
    """The run went back to epoch 1's weights, which learned nothing; after them the loss climbed to 44: the steps
    overshoot (it said "try a learning rate 10× larger or smaller", and the coach offered more units)."""
    run = epochs(0.712, 3.0, 12.0, 30.0, 44.5)
    told = judged(outcome(run[:1], lr=10, trained=run))
    assert told.status == "stalled" and told.suggested_lr == pytest.approx(1.0), told.message
    assert "rose to 44.5 by epoch 5" in told.message and "Try 1 (x0.1)" in told.message


@pytest.mark.parametrize("losses", [(0.712, 0.70, 0.70, 0.70, 0.70), (0.69, 0.70, 0.69, 0.72, 0.71)],
                         ids=["fell", "wandered about the chance loss"])
def test_a_loss_that_did_not_climb_after_the_kept_epoch_is_not_blamed_on_the_rate(losses) -> None:
    """A straight line on rings ends a little above where it began, about the chance loss: no overshoot."""
    run = epochs(*losses)
    told = judged(outcome(run[:1], lr=0.03, trained=run))
    assert told.status == "not_learning" and told.suggested_lr is None, told.message


@pytest.mark.parametrize(("lr", "rate"), [(0.002, 0.02), (0.01, None)], ids=["far below the preset's", "near it"])
def test_a_run_far_below_the_presets_rate_names_a_larger_one(lr: float, rate: float | None) -> None:
    """Not learning at a rate 10× or more below the preset's (but not 30×, "too small to move the weights"): the
    diagnosis names 10× larger, which the coach offers (it used to work that out itself); nearer, it names none."""
    told = judged(outcome(epochs(0.712, 0.712), lr=lr))
    assert told.status == "not_learning", told.message
    assert told.suggested_lr == (pytest.approx(rate) if rate else None), told.message
    assert (f"try 10× larger ({rate:g})" if rate else "10× larger or smaller") in told.message, told.message
