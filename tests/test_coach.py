"""The coach: every rule on a constructed history and on a real run that triggers it, silence on a healthy circles
run, the one-click fixes that help beyond the noise, and "within the noise" for two runs that differ by less."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from core.config import DataConfig, ModelConfig, Settings, TrainConfig
from core.data.make import make_dataset
from core.lab import Lab
from core.lessons.catalogue import find_lesson
from core.lessons.facts import MEASURES, facts_of
from core.training.coach import Advice, advise
from core.training.recorder import GradientFlow
from core.training.result import EpochStats, TrainResult
from core.training.verdict import Score, compare, score, unscored
from core.url.state import decode

X = np.zeros((8, 2), dtype=np.float32)
SETTINGS = Settings(DataConfig(), ModelConfig(hidden=(16, 16)), TrainConfig(lr=0.03, epochs=100))


def history(train_loss, val_loss, train_acc, val_acc) -> tuple[EpochStats, ...]:
    """Per-epoch records from four sequences (a number stays the same for 50 epochs, or the others' length)."""
    n = max(len(v) if np.ndim(v) else 50 for v in (train_loss, val_loss, train_acc, val_acc))
    cols = [np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in (train_loss, val_loss, train_acc, val_acc)]
    tl, vl, ta, va = cols
    return tuple(EpochStats(e + 1, float(tl[e]), float(ta[e]), float(vl[e]), float(va[e]), 0.03, 0.0, e + 1)
                 for e in range(n))


def built(train_loss, val_loss, train_acc, val_acc, status: str = "completed", **kw) -> TrainResult:
    h = history(train_loss, val_loss, train_acc, val_acc)
    return TrainResult(h, status, "", len(h), 0.0, **kw)


def rule_of(result: TrainResult, settings: Settings = SETTINGS, model: nn.Module | None = None) -> str | None:
    advice = advise(settings, result, model, X, reference_lr=0.03)
    return advice.rule if advice else None


E = np.arange(100)
HEALTHY = built(0.7 * np.exp(-E / 10) + 0.01, 0.7 * np.exp(-E / 10) + 0.02, 1.0, 0.98)


def test_the_rules_on_constructed_histories() -> None:
    assert rule_of(HEALTHY) is None
    falling = 0.7 - 0.004 * E
    assert rule_of(built(falling, falling, 0.7, 0.7, "still_improving")) == "underfitting"
    assert rule_of(built(0.6, 0.6, 0.6, 0.6)) == "underfitting"  # flat: more units
    overfit = built(0.5 * np.exp(-E / 20), 0.2 + 0.002 * np.abs(E - 30), 1.0, 0.85)
    assert rule_of(overfit) == "overfitting"
    advice = advise(SETTINGS, overfit, None, X, reference_lr=0.03)
    assert advice.fix.train.patience == 10 and "has risen since epoch 31" in advice.message
    digits = replace(SETTINGS, model=ModelConfig(kind="cnn", input_shape=(1, 28, 28), n_classes=10),
                     train=TrainConfig(patience=5))
    assert advise(digits, overfit, None, X, reference_lr=0.03).fix.model.dropout == 0.3
    noisy = built(0.7 * np.exp(-E / 10), 0.1 + 0.08 * (E % 2), 0.95, 0.9)
    assert rule_of(noisy) == "noisy_lr"
    assert advise(SETTINGS, noisy, None, X, reference_lr=0.03).fix.train.lr == 0.01  # 3x smaller
    slow = replace(SETTINGS, train=replace(SETTINGS.train, lr=1e-4))
    assert rule_of(built(0.69 - 0.0001 * E, 0.69, 0.6, 0.6), slow) == "too_slow"
    diverged = built([0.7, 50.0], [0.7, np.nan], [0.5] * 2, [0.5] * 2, "diverged", suggested_lr=0.003)
    assert rule_of(diverged) == "diverged"  # a real diverged run's diagnosis always names a rate


def test_dead_units_and_vanishing_gradients_on_constructed_runs() -> None:
    dead = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    with torch.no_grad():
        dead[0].weight.zero_()
        dead[0].bias.fill_(-1.0)  # every unit outputs 0 for every point
    flat = built(0.69, 0.69, 0.5, 0.5, "not_learning")
    assert rule_of(flat, model=dead) == "dead_units"
    flow = GradientFlow(("1", "2", "3"), np.arange(1, 4), np.ones((3, 3)), np.array([[1e-5, 1e-3, 1.0]] * 3))
    sigmoid = replace(SETTINGS, model=replace(SETTINGS.model, activation="sigmoid", hidden=(8, 8)))
    assert rule_of(replace(flat, gradients=flow), sigmoid) == "vanishing"
    assert rule_of(replace(flat, gradients=flow), sigmoid, None) == "vanishing"
    tiny = replace(flow, gradients=np.array([[3.9e-7, 1e-3, 1.0]] * 3))
    said = advise(sigmoid, replace(flat, gradients=tiny), None, X, reference_lr=0.03).message
    assert "gradients are 0.000039% of the last layer's" in said, said  # plain digits, as the lessons read them
    assert rule_of(replace(HEALTHY, gradients=flow)) is None  # ReLU: the rule is for sigmoid


class Unreadable(nn.Sequential):
    """A model that fails if the coach passes points through it."""

    def forward(self, x):
        raise AssertionError("the coach ran the model")


def test_a_run_that_learned_is_read_without_running_its_model() -> None:
    """The dead-unit count is a pass through the model, on every page run that shows the coach: only a run that
    failed to learn needs it (the dead-units rule fires for no other)."""
    model = Unreadable(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    assert rule_of(HEALTHY, model=model) is None
    noisy = built(0.7 * np.exp(-E / 10), 0.1 + 0.08 * (E % 2), 0.95, 0.9)
    assert rule_of(noisy, model=model) == "noisy_lr"
    with pytest.raises(AssertionError, match="ran the model"):
        rule_of(built(0.69, 0.69, 0.5, 0.5, "not_learning"), model=model)


def test_within_the_noise_and_helped() -> None:
    assert compare(Score(0.90, 60), Score(0.92, 60)).outcome == "within the noise"
    verdict = compare(Score(0.70, 200), Score(0.93, 200))
    assert verdict.outcome == "helped" and "70% ± 6 → 93% ± 4" in verdict.describe("the fix")
    assert compare(Score(0.95, 500), Score(0.80, 500)).outcome == "hurt"


def lab_after(link: str) -> Lab:
    """A lab that trained what the link says (as the Train button would)."""
    lab = Lab(threads=1)
    lab.apply(decode(dict(part.split("=") for part in link.split("&"))).settings)
    lab.train(wait=True)
    return lab


def apply_advice(lab: Lab) -> Advice:
    """Apply the coach's advice (what its button does) and train; the advice applied."""
    advice, _ = lab.coach()
    lab.apply(advice.fix, train="always")
    if lab.training:
        lab.job.join()
        lab.poll()
    return advice


def fixed(lab: Lab) -> tuple[str, str]:
    """Apply the coach's advice and train; (the rule it named, the verdict)."""
    rule = apply_advice(lab).rule
    _, verdict = lab.coach()
    return rule, verdict.outcome


def test_silent_on_a_healthy_circles_run() -> None:
    lab = Lab(threads=1)
    lab.set_data(DataConfig(), make_dataset(DataConfig()), default=True)
    lab.apply(lab.settings, train="auto")
    assert lab.coach() == (None, None)
    lab.train(wait=True)  # the Train button: the same run, compared with the one before
    advice, verdict = lab.coach()
    assert advice is None and verdict.outcome == "within the noise"


@pytest.mark.parametrize(("link", "rule"), [
    ("data=spiral&hidden=8,8&act=tanh&ep=300&pat=0", "overfitting"),  # the validation loss rises from ~epoch 170
    ("data=circles&lr=0.3&bs=32&ep=100&pat=0", "noisy_lr"),
    ("data=moons&lr=0.0001&ep=100&pat=0", "too_slow"),
    ("data=moons&opt=sgd&lr=10&ep=100&pat=0", "diverged"),
    ("data=circles&hidden=8,8&lr=0.3&ep=100&pat=0", "dead_units"),
    ("data=circles&hidden=8,8,8,8,8,8&act=sigmoid&ep=100&pat=0", "vanishing"),
], ids=["overfitting spiral", "noisy rate", "too slow", "diverged", "dead units", "vanishing gradients"])
def test_each_rule_fires_on_its_real_run(link: str, rule: str) -> None:
    advice, _ = lab_after(link).coach()
    assert advice is not None and advice.rule == rule, advice


@pytest.mark.parametrize("link", [
    "data=circles&n=400&noise=0.1&ln=0.3&val=0.5&hidden=64,64,64&lr=0.01&ep=300&pat=0",  # overfitting flipped labels
    "data=moons&ep=10",  # underfitting: stopped while the loss still fell
    "data=circles&hidden=1&ep=100&pat=0",  # underfitting: one unit cannot draw a ring
], ids=["overfitting", "underfitting epochs", "underfitting units"])
def test_the_one_click_fix_helps_beyond_the_noise(link: str) -> None:
    rule, outcome = fixed(lab_after(link))
    assert rule in ("overfitting", "underfitting") and outcome == "helped"


def test_the_coach_reads_the_kept_weights_score() -> None:
    result = built([0.5, 0.4, 0.3], [0.5, 0.3, 0.6], [0.9] * 3, [0.7, 0.9, 0.8], best_epoch=2)
    assert score(result, 50) == Score(0.9, 50) and score(result, 0) is None


def test_a_fix_of_a_diverged_run_is_told_which_run_has_no_validation_accuracy() -> None:
    """QA: after a diverged run's fix trained, the coach said "its run has no validation accuracy to compare", of
    the run that had one: it is the diverged run before it that has none. The fix's run is told how it did."""
    learned = built([0.7, 0.3], [0.7, 0.35], [0.6, 0.95], [0.6, 0.93])
    said = unscored("the fix “Learning rate 0.1 (10× smaller)”", learned, before_diverged=True)
    assert said.startswith("The fix “Learning rate 0.1 (10× smaller)” trained: validation 93%, training 95%."), said
    assert "The run before it diverged" in said and "its run has no" not in said, said
    diverged = built([0.7, 50.0], [0.7, np.nan], [0.5] * 2, [0.5] * 2, "diverged")
    assert "but its run diverged" in unscored("the fix", diverged, before_diverged=False)
    lab = lab_after("data=circles&opt=rmsprop&lr=10&act=tanh")
    advice = apply_advice(lab)
    _, verdict = lab.coach()
    assert verdict is None and not lab.result.diverged, lab.result.message  # nothing to compare the run with
    assert advice.rule == "diverged"  # the panel keeps the rule: a fix of a diverged run is told so
    assert "The run before it diverged" in unscored("the fix", lab.result, before_diverged=True)


def test_a_fix_the_link_locks_gives_way_to_one_it_does_not() -> None:
    """Dead ReLUs in a lesson that locks the activation: leaky ReLU cannot be applied there, so the coach offers the
    next cure that fits, a smaller rate; with every setting locked it names the problem, marked locked, no fix."""
    link = "data=circles&hidden=8,8&lr=0.3&ep=100&pat=0"
    lab = lab_after(link)
    settings = lab.trained_settings
    advice, _ = lab.coach((settings, ("act",)))  # the other cure: smaller steps (this model's usual Adam rate)
    assert advice.rule == "dead_units" and not advice.locked and advice.fix == replace(
        settings, train=replace(settings.train, lr=0.03)), advice
    advice, _ = lab.coach((settings, ("hidden", "lr")))  # lesson 10 locks these: leaky ReLU, its solution
    assert advice.rule == "dead_units" and advice.fix.model.activation == "leaky_relu"
    advice, _ = lab.coach((settings, ("act", "lr")))  # neither cure: the next rule that fits, on what is free
    assert not advice.locked and advice.fix.model.activation == "relu" and advice.fix.train.lr == 0.3, advice
    everything = ("act", "hidden", "lr", "opt", "ep", "pat", "wd", "feat", "drop", "bs")
    advice, _ = lab.coach((settings, everything))
    assert advice is not None and advice.locked and advice.rule == "dead_units", advice
    advice, _ = lab.coach()  # no link: the first rule that fits, as before
    assert advice.rule == "dead_units" and not advice.locked


def test_the_fix_of_vanishing_gradients_helps() -> None:
    """QA: "Use ReLU" on 6 layers of 8 sigmoids said "50% ± 12 → 50% ± 12, within the noise", then suggested
    32-unit layers: the stopping rule gave up on the ReLU network on the flat start it leaves at ~epoch 30."""
    assert fixed(lab_after("data=circles&act=sigmoid&hidden=8,8,8,8,8,8")) == ("vanishing", "helped")


def test_dead_units_are_quoted_as_the_lesson_reads_them() -> None:
    """QA, lesson 10: the warning said "Every ReLU unit is switched off" under a readout of 56.2% dead units, and the
    coach said 56%. The warning names the dead layer; both quote the lesson's own share."""
    lab = Lab(threads=1)
    lab.apply(find_lesson("dead-relus").settings())
    lab.train(wait=True)
    measure = MEASURES["dead_units"]
    shown = measure.show(measure.measure(facts_of(lab)))  # "56.2%"
    advice, _ = lab.coach()
    assert "Every ReLU unit" not in lab.result.message and "hidden layer 2" in lab.result.message, lab.result.message
    assert f"({shown}) are dead" in lab.result.message, (shown, lab.result.message)
    assert advice.rule == "dead_units" and advice.message.startswith(f"Dead units: {shown} of"), advice.message


def test_a_rate_too_small_in_a_run_that_stopped_early_says_so() -> None:
    """QA: "too small to move the weights in 11 epochs" with 50 epochs set: the stopping rule ended the run."""
    lab = lab_after("data=circles&lr=0.00001&ep=50")
    advice, _ = lab.coach()
    trained = len(lab.result.history)
    assert lab.result.status == "not_learning" and trained < 50, lab.result.message
    said = f"in the {trained} epochs before the run stopped early, of the 50 set"
    assert advice.rule == "too_slow" and said in advice.message, advice.message
    assert said in lab.result.message, lab.result.message


def test_a_linear_model_that_no_line_can_help_is_told_so_before_its_learning_rate() -> None:
    """QA: logistic regression on circles at lr 0.001 was told "the learning rate is too small to move the weights"
    and offered 0.03, which trained to the same chance accuracy; only then came "Give it x² and y²". The best
    straight line on circles scores no better than guessing, so no learning rate helps: the line is the cause."""
    circles = lab_after("data=circles&model=logreg&lr=0.001")
    result = circles.result
    assert result.status == "not_learning" and result.message.startswith("A linear model can only draw"), result.message
    assert "best straight line scores 50%" in result.message and result.suggested_lr is None, result.message
    advice, _ = circles.coach(None)
    assert advice is not None and advice.fix.model.features == ("x", "y", "xx", "yy"), advice
    blobs = lab_after("data=blobs&model=logreg&lr=0.00001").result  # a line separates blobs: the rate is the cause
    assert blobs.message.startswith("The learning rate is too small"), blobs.message
