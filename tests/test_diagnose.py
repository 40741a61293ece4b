"""The diagnosis (core.training.diagnose) on constructed outcomes: a loss that rose after the kept epoch blames the
learning rate, and a run far below the usual rate names the rate to try; each records that rate (`suggested_lr`),
the one the coach offers. One rule picks it: the usual rate when the run's is 10× or more from it on the side that
failed, else one step (x0.1). A run whose ReLU layer is entirely dead is told which layer and how many units are
dead; a rate too small to move the weights says whether the run stopped early."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from core.config import ModelConfig
from core.models import build_model
from core.training.diagnose import FEW_EPOCHS, Outcome, dead_units, diagnose, divergence_message, rate_to_try
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


def judged(given: Outcome, model: torch.nn.Module | None = None) -> Outcome:
    model = model or build_model(ModelConfig(hidden=(8,), activation="tanh"), seed=0)
    return diagnose(given, model, X, Y)


def test_a_loss_that_rose_after_the_kept_epoch_blames_the_learning_rate() -> None:
    """The run went back to epoch 1's weights, which learned nothing; after them the loss climbed to 44: the steps
    overshoot (it said "try a learning rate 10× larger or smaller", and the coach offered more units). At 10, far
    above the usual 0.03, the rate to try is the usual one; at 0.1, one step down."""
    run = epochs(0.712, 3.0, 12.0, 30.0, 44.5)
    told = judged(outcome(run[:1], lr=10, trained=run))
    assert told.status == "stalled" and told.suggested_lr == pytest.approx(0.03), told.message
    assert "rose to 44.5 by epoch 5" in told.message and "usual rate with this optimizer (0.03)." in told.message
    told = judged(outcome(run[:1], lr=0.1, trained=run))
    assert told.suggested_lr == pytest.approx(0.01) and "Try 0.01 (x0.1)." in told.message, told.message


@pytest.mark.parametrize("losses", [(0.712, 0.70, 0.70, 0.70, 0.70), (0.69, 0.70, 0.69, 0.72, 0.71)],
                         ids=["fell", "wandered about the chance loss"])
def test_a_loss_that_did_not_climb_after_the_kept_epoch_is_not_blamed_on_the_rate(losses) -> None:
    """A straight line on rings ends a little above where it began, about the chance loss: no overshoot."""
    run = epochs(*losses)
    told = judged(outcome(run[:1], lr=0.03, trained=run))
    assert told.status == "not_learning" and told.suggested_lr is None, told.message


@pytest.mark.parametrize(("lr", "rate"), [(0.003, 0.03), (0.002, 0.03), (0.01, None)],
                         ids=["10× below the usual", "15× below it", "near it"])
def test_a_run_far_below_the_usual_rate_names_the_usual_one(lr: float, rate: float | None) -> None:
    """Not learning at a rate 10× or more below the usual one (but not 30×, "too small to move the weights"): the
    diagnosis names the usual rate itself, which the coach offers (10× larger from 0.002 was 0.02, still slow);
    nearer, it names none."""
    told = judged(outcome(epochs(*[0.712] * 12), lr=lr))  # 12 epochs: past a run too short to tell (FEW_EPOCHS)
    assert told.status == "not_learning", told.message
    assert told.suggested_lr == (pytest.approx(rate) if rate else None), told.message
    assert (f"usual rate with this optimizer: try it ({rate:g})" if rate else "10× larger or smaller") \
        in told.message, told.message



def test_a_run_that_did_not_learn_far_above_the_usual_rate_names_the_usual_one() -> None:
    """SGD at 3 on circles (usual 0.1) learned nothing: the rate is the likely cause either way, so the diagnosis
    names the usual rate (it said "10× larger or smaller")."""
    told = judged(outcome(epochs(0.712, 0.712), lr=3.0, reference_lr=0.1))
    assert told.status == "not_learning" and told.suggested_lr == pytest.approx(0.1), told.message
    assert told.message.endswith("far above this model's usual rate with this optimizer: try it (0.1)."), told.message


def test_a_rate_too_small_to_move_the_weights_names_the_usual_rate() -> None:
    """SGD at 0.003 (usual 0.1) was told "100× larger (0.3)", past the usual rate; now the usual rate itself."""
    told = judged(outcome(epochs(0.712, 0.712), lr=0.003, reference_lr=0.1))
    assert told.suggested_lr == pytest.approx(0.1) and "too small to move the weights" in told.message
    assert told.message.endswith("Try this model's usual rate with this optimizer (0.1)."), told.message


def ceiling(lr: float, reference_lr: float | None) -> Outcome:
    """A run that reached its epoch ceiling still improving, its loss well down from where it started."""
    run = tuple(EpochStats(e + 1, 0.7 - 0.1 * e, 0.6 + 0.1 * e, 0.7 - 0.1 * e, 0.9, lr, 0.0, e + 1) for e in range(4))
    return Outcome("still_improving", "Still improving at epoch 4: train longer or raise the learning rate.", run,
                   0.712, CHANCE, 0.4, 0.9, len(Y), lr, 4, reference_lr)


def test_still_improving_far_below_the_usual_rate_names_it() -> None:
    """RMSprop at 1e-5 (usual 0.001) ended at its ceiling still improving: the message named no rate while the coach
    said "far below this model's usual 0.001" and offered 0.0001. The message now names the usual rate."""
    told = judged(ceiling(1e-5, 1e-3))
    assert told.status == "still_improving" and told.suggested_lr == pytest.approx(1e-3), told.message
    assert told.message.startswith("Still improving at epoch 4") and "(0.001)" in told.message, told.message
    near = judged(ceiling(3e-4, 1e-3))  # 3× below: not far, the loop's own words stand
    assert near.suggested_lr is None and near.message == ceiling(3e-4, 1e-3).message


@pytest.mark.parametrize(("lr", "reference", "rate", "words"), [
    (10.0, 1e-3, 1e-3, "Try this model's usual rate with this optimizer (0.001)."),  # RMSprop at 10
    (0.3, 0.03, 0.03, "(0.03)."),  # Adam at 0.3: 10× above, so the usual, which is also one step down
    (0.1, 0.03, 0.01, "Try 0.01 (x0.1)."),  # Adam at 0.1: near the usual, one step
    (10.0, None, 1.0, "Try 1 (x0.1)."),  # no usual rate known: one step
], ids=["rmsprop far above", "adam 10x above", "adam near", "unknown usual"])
def test_a_diverged_run_names_the_rate_of_the_one_rule(lr, reference, rate, words) -> None:
    """The loop words a blow-up with the rule's rate (it is given the usual rate); the diagnosis records that rate."""
    loss = EpochStats(1, 0.7, 0.5, float("nan"), float("nan"), lr, 0.0, 2)
    message = divergence_message(lr, 1, 2, float("nan"), reference)
    blown = Outcome("diverged", message, (loss,), 0.712, CHANCE, 0.712, 0.5, len(Y), lr, 10, reference)
    told = judged(blown)
    assert told.suggested_lr == pytest.approx(rate) == rate_to_try(lr, reference, larger=False), told.message
    assert told.message.endswith(words) and told.message.count("Try") == 1, told.message


def test_a_dead_layer_is_named_with_the_share_of_dead_units() -> None:
    """QA, lesson 10: "Every ReLU unit is switched off" while the readout above said 56.2% of the hidden units were
    dead: one layer was entirely dead, not every unit. The message names that layer and counts the dead units."""
    model = build_model(ModelConfig(hidden=(8, 8)), seed=0)
    with torch.no_grad():
        model[3].bias.fill_(-100.0)  # hidden layer 2: below zero for every input; layer 1 left as it starts
    told = judged(outcome(epochs(0.712, 0.712), lr=0.3), model)
    dead = dead_units(model, X)
    assert dead.blocked == (2,) and dead.dead[1] == 8 and dead.dead[0] < 8, dead
    count = sum(dead.dead)
    assert told.status == "not_learning" and "Every ReLU unit" not in told.message, told.message
    assert told.message.startswith("Every unit of hidden layer 2 is switched off"), told.message
    assert f"{count} of the 16 hidden units ({100 * count / 16:.1f}%) are dead in all" in told.message, told.message
    assert told.message.endswith("Lower the learning rate (now 0.3, far above this model's usual 0.03) or try "
                                 "leaky_relu."), told.message
    with torch.no_grad():
        model[1].bias.fill_(-100.0)  # now both layers: every unit
    everything = judged(outcome(epochs(0.712, 0.712), lr=0.3), model).message
    assert everything.startswith("Every ReLU unit (all 16) is switched off"), everything


@pytest.mark.parametrize(("trained", "ceiling", "words"), [
    (20, 20, "too small to move the weights in 20 epochs:"),
    (11, 50, "too small to move the weights in the 11 epochs before the run stopped early, of the 50 set:"),
], ids=["ceiling", "stopped early"])
def test_a_rate_too_small_says_how_many_epochs_the_run_had(trained: int, ceiling: int, words: str) -> None:
    """QA: "too small to move the weights in 11 epochs" for a run set to 50 epochs, which the stopping rule ended at
    11. It says the run stopped early, and counts the epochs trained, not only those up to the kept one."""
    run = epochs(*[0.712] * trained)  # kept epoch 3's weights, as early stopping does
    told = judged(replace(outcome(run[:3], lr=1e-5, trained=run), epochs=ceiling))
    assert words in told.message, told.message


def test_dead_units_at_the_usual_rate_are_not_told_to_lower_it() -> None:
    """QA, lesson 3: a network whose one unit started dead, trained at the usual rate 0.03, was told "Lower the
    learning rate (now 0.03)". At a rate not far above the usual one, the starting weights are the likely cause: new
    starting weights, more units or leaky ReLU are what help."""
    model = build_model(ModelConfig(hidden=(8, 8)), seed=0)
    with torch.no_grad():
        model[1].bias.fill_(-100.0)  # the first hidden layer off for every input, as a unit that starts dead
    told = judged(outcome(epochs(0.712, 0.712), lr=0.03), model)
    assert told.status == "not_learning" and "Lower the learning rate" not in told.message, told.message
    assert told.message.endswith("try other starting weights, more units or leaky_relu."), told.message


def test_a_deep_sigmoid_network_that_did_not_learn_is_told_of_vanishing_gradients() -> None:
    """QA, lesson 9: six sigmoid layers at the usual rate read "Try a learning rate 10× larger or smaller (now
    0.03), or more epochs", while the lesson (rightly) says only the activation needs to change."""
    deep = build_model(ModelConfig(hidden=(8,) * 6, activation="sigmoid"), seed=0)
    flat = epochs(*[0.712] * 12)
    told = judged(outcome(flat, lr=0.03), deep)
    assert told.status == "not_learning" and "learning rate 10×" not in told.message, told.message
    assert "With 6 sigmoid layers the likely cause is vanishing gradients" in told.message, told.message
    assert told.message.endswith("Try ReLU or tanh, or fewer layers."), told.message
    shallow = build_model(ModelConfig(hidden=(8, 8), activation="sigmoid"), seed=0)  # two: the rate, as before
    assert "learning rate 10× larger or smaller" in judged(outcome(flat, lr=0.03), shallow).message


@pytest.mark.parametrize("n", [1, 2, FEW_EPOCHS])
def test_a_run_that_had_only_a_few_epochs_is_told_to_train_longer(n: int) -> None:
    """QA, lesson 1: one epoch that learned nothing read "Try a learning rate 10× larger or smaller (now 0.03)", a
    control the lesson hides; its task is to raise Epochs. A run that had all of a few epochs at a usual rate is
    told it was too short; one that stopped early, or had more, is not."""
    told = judged(outcome(epochs(*[0.712] * n), lr=0.03))
    assert told.status == "not_learning" and "learning rate" not in told.message, told.message
    assert told.message.endswith(f"It trained for only {n} epoch{'s' * (n != 1)}: too few passes over the training "
                                 "points to learn. Train for more epochs."), told.message
    longer = judged(outcome(epochs(*[0.712] * (FEW_EPOCHS + 1)), lr=0.03))
    assert "only" not in longer.message and "10× larger or smaller" in longer.message, longer.message
    run = epochs(*[0.712] * 3)
    stopped = judged(replace(outcome(run, lr=0.03), epochs=50))  # the stopping rule ended it at 3 of 50
    assert "only" not in stopped.message, stopped.message
