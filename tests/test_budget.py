"""Every run has a cost and a budget (issue 18): estimates, the three bands, the time limit, and the links,
controls and command line that reach them."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import pytest
import torch
from torch import nn

from core.config import (
    DASHBOARD_LIMITS,
    MAX_HIDDEN_LAYERS,
    MAX_UNITS,
    DataConfig,
    ModelConfig,
    Settings,
    TrainConfig,
    within_limits,
)
from core.lab import Lab
from core.models import build_model
from core.training.budget import Budget, BudgetError, duration_text, estimate, macs_per_sample
from core.training.jobs import TrainingJob
from core.url.state import URL_NAMES, decode

CIRCLES = DataConfig(name="circles", n_samples=200, noise=0.05)
HUGE = ModelConfig(kind="mlp", hidden=(MAX_UNITS,) * MAX_HIDDEN_LAYERS)  # the sliders' largest network
CRAFTED = {"data": "spiral", "n": "5000", "hidden": "1024,1024,1024,1024,1024,1024", "ep": "9000", "bs": "0",
           "opt": "sgd", "lr": "0.00001"}


def counted_macs(config: ModelConfig) -> int:
    """Multiply-adds of one sample counted on a real CPU model, convolutions unweighted."""
    model, total = build_model(config), 0

    def count(module, _inputs, output) -> None:
        nonlocal total
        if isinstance(module, nn.Linear):
            total += module.in_features * module.out_features
        elif isinstance(module, nn.Conv2d):
            total += output[0].numel() * module.in_channels * math.prod(module.kernel_size)

    hooks = [m.register_forward_hook(count) for m in model.modules()]
    with torch.no_grad():
        model(torch.zeros(1, *config.input_shape))
    for hook in hooks:
        hook.remove()
    return total


@pytest.mark.parametrize("config", [
    ModelConfig(kind="logreg"), ModelConfig(kind="mlp", hidden=(16, 16)),
    ModelConfig(kind="mlp", hidden=(128,), input_shape=(1, 28, 28), n_classes=10)], ids=["logreg", "mlp", "digits"])
def test_dense_multiply_adds_match_a_real_forward_pass(config: ModelConfig) -> None:
    assert macs_per_sample(config) == counted_macs(config)


@pytest.mark.parametrize("kind", ["cnn", "lenet"])
def test_convolutions_weigh_more_than_dense_work(kind: str) -> None:
    config = ModelConfig(kind=kind, width=8, input_shape=(1, 28, 28), n_classes=10)
    assert macs_per_sample(config) > counted_macs(config)  # CONV_COST > 1: a convolution's MAC is slower


def test_the_estimate_grows_with_every_setting_that_costs() -> None:
    base = estimate(ModelConfig(hidden=(16, 16)), TrainConfig(epochs=10, batch_size=32), 400, 100)
    for model, train, n in [(ModelConfig(hidden=(64, 64)), TrainConfig(epochs=10, batch_size=32), 400),
                            (ModelConfig(hidden=(16, 16)), TrainConfig(epochs=20, batch_size=32), 400),
                            (ModelConfig(hidden=(16, 16)), TrainConfig(epochs=10, batch_size=8), 400),
                            (ModelConfig(hidden=(16, 16)), TrainConfig(epochs=10, batch_size=32), 4000)]:
        assert estimate(model, train, n, 100).seconds > base.seconds


def test_three_bands_and_a_refusal_that_says_what_to_lower() -> None:
    budget = Budget(inline_s=0.5, max_run_s=60)
    small = estimate(ModelConfig(hidden=(16, 16)), TrainConfig(epochs=50, batch_size=0), 340, 60)
    big = estimate(HUGE, TrainConfig(epochs=300, batch_size=0), 3400, 600)
    assert budget.band(small) == "inline" and budget.band(big) == "refused"
    with pytest.raises(BudgetError, match=r"lower the epochs from 300 to \d+"):
        budget.check(big, TrainConfig(epochs=300))
    assert budget.time_limit(small) >= 5 and budget.time_limit(big) <= 3 * 60


def test_the_budget_comes_from_the_environment_or_says_what_is_wrong() -> None:
    assert Budget.from_env({"NNLAB_INLINE_SECONDS": "0.2", "NNLAB_MAX_RUN_SECONDS": "30"}) == Budget(0.2, 30)
    assert Budget.from_env({}) == Budget()
    for bad in ("0", "-3", "soon", "inf"):
        with pytest.raises(ValueError, match="NNLAB_MAX_RUN_SECONDS must be a positive number"):
            Budget.from_env({"NNLAB_MAX_RUN_SECONDS": bad})


def lab_with(model: ModelConfig, data: DataConfig = CIRCLES, budget: Budget | None = None) -> Lab:
    lab = Lab(budget=budget or Budget())
    lab.apply(Settings(data, model, TrainConfig()))
    return lab


def test_the_largest_network_from_the_sliders_never_trains_in_the_page_thread() -> None:
    lab = lab_with(HUGE)
    config = TrainConfig(epochs=300, batch_size=0)  # the sliders' maxima: 6 x 1024 units, 300 epochs, batch all
    assert not lab.runs_inline(config)
    lab.apply(replace(lab.settings, train=config), train="auto")  # a slider move: auto-train leaves it alone
    assert lab.job is None and lab.result is None and lab.needs_retrain


def test_a_run_over_the_ceiling_is_refused_before_anything_changes() -> None:
    lab = lab_with(ModelConfig(hidden=(8,)), budget=Budget(max_run_s=1.0))
    lab.train(TrainConfig(epochs=5, batch_size=0), wait=True)
    before = (lab.model, lab.result)
    with pytest.raises(BudgetError, match="over this server's limit"):
        lab.train(TrainConfig(epochs=300, batch_size=1))
    assert (lab.model, lab.result) == before and not lab.training


def test_a_run_past_its_time_limit_stops_keeps_what_it_learned_and_says_why(circles) -> None:
    model = build_model(ModelConfig(hidden=(8,)))
    job = TrainingJob(model, circles, TrainConfig(epochs=10_000, batch_size=1), slots=None, time_limit=0.3)
    progress = job.run()
    assert progress.result.status == "time_limit" and progress.result.history
    assert "time limit" in progress.result.message and "Lower the epochs" in progress.result.message
    assert "(0.3 s of computing" in progress.result.message  # it said "0 s": the limit rounded to whole seconds


@pytest.mark.parametrize("seconds, text", [(0.3, "0.3 s"), (0.04, "0.04 s"), (5.0, "5 s"), (5.75, "5.8 s"),
                                           (12.4, "12 s"), (95.0, "1.6 min"), (20_500.0, "5.7 h")])
def test_durations_read_sensibly_from_a_fraction_of_a_second_to_hours(seconds: float, text: str) -> None:
    """Small durations keep their digits (a 0.3 s limit read "0 s"); larger ones read as they always did."""
    assert duration_text(seconds) == text


class Sleepy(nn.Module):
    """A tiny network whose every forward pass waits 20 ms without computing: a run starved of the cores."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(0.02)
        return self.layer(x)


def test_the_time_limit_counts_computing_not_waiting_for_a_core(circles) -> None:
    """On a busy server a run waits for the cores; that wait is not its cost, so it does not end the run (the old
    wall-clock limit stopped this one after 0.3 s, in its first epoch). The clock still ends it at 4x the limit."""
    config = TrainConfig(epochs=2, batch_size=len(circles.y_train) // 8)  # 16 steps, ~0.4 s of sleep
    progress = TrainingJob(Sleepy(), circles, config, slots=None, time_limit=0.3).run()
    assert progress.result.status != "time_limit" and len(progress.result.history) == 2, progress.result.message
    assert progress.result.seconds > 0.3  # it slept past the limit
    forever = TrainingJob(Sleepy(), circles, replace(config, epochs=10_000), slots=None, time_limit=0.1)
    started = time.perf_counter()
    assert forever.run().result.status == "time_limit"
    assert time.perf_counter() - started < 2.0


def test_every_lab_run_gets_a_time_limit_from_its_estimate() -> None:
    lab = lab_with(ModelConfig(hidden=(8,)), budget=Budget(max_run_s=100))
    lab.train(TrainConfig(epochs=1000, batch_size=1))
    try:
        assert lab.job.time_limit == lab.budget.time_limit(lab.cost(TrainConfig(epochs=1000, batch_size=1)))
    finally:
        lab.stop()


# --- links: the same limits as the controls, hidden or not, and never silently --------------------------------

LIMITED = [(cls, name, low, high) for cls, table in DASHBOARD_LIMITS.items() for name, (low, high) in table.items()
           if name in URL_NAMES[cls]]


@pytest.mark.parametrize(("cls", "name", "low", "high"), LIMITED, ids=[f"{n}" for _, n, _, _ in LIMITED])
def test_a_link_at_each_limit_is_kept_and_beyond_it_is_limited_with_a_notice(cls, name, low, high) -> None:
    key = URL_NAMES[cls][name]
    data = {"data": "mnist"} if name == "train_size" else {}
    part = {DataConfig: "data", ModelConfig: "model", TrainConfig: "train"}[cls]
    for value in (low, high):
        decoded = decode({**data, key: f"{value:g}"})
        assert getattr(getattr(decoded.settings, part), name) == pytest.approx(value), decoded.problems
        assert not [p for p in decoded.problems if "limited" in p]
    beyond = high * 2 if high else 1
    decoded = decode({**data, key: f"{beyond:g}", "hide": key})  # hide= does not lift a limit
    value = getattr(getattr(decoded.settings, part), name)
    assert value <= high or value is None
    said = [p for p in decoded.problems if p.startswith(f"{key}=")]
    assert said and ("limited to" in said[0] or "ignored" in said[0]), decoded.problems


def test_the_crafted_link_is_limited_and_its_run_refused_up_front() -> None:
    decoded = decode({**CRAFTED, "hide": "ep"})
    assert decoded.settings.train.epochs == 3000 and "ep=9000 limited to 3000 epochs." in decoded.problems
    lab = Lab(budget=Budget())
    lab.apply(decoded.settings)
    with pytest.raises(BudgetError, match="lower the epochs"):
        lab.train()
    assert lab.job is None


def test_the_command_line_keeps_what_a_link_asks_for() -> None:
    assert decode({"ep": "2000"}, limited=False).settings.train.epochs == 2000  # the CLI's own machine


def test_within_limits_names_each_setting_it_moved() -> None:
    settings, notes = within_limits(Settings(DataConfig(n_samples=9000), ModelConfig(width=128),
                                             TrainConfig(epochs=4000, lr=0.1)))
    assert (settings.data.n_samples, settings.model.width, settings.train.epochs) == (5000, 64, 3000)
    assert notes == ("n_samples=9000 limited to 5000 points.", "width=128 limited to 64.",
                     "epochs=4000 limited to 3000 epochs.")


def test_a_run_whose_batch_would_hold_more_than_a_gb_of_activations_is_refused_with_the_batch_that_fits() -> None:
    """A 64-wide CNN trained on 6,800 digits at once (batch 0) held 6 GB; the estimate counts each layer's outputs
    per sample on the meta device and refuses it, naming a batch size that fits, which then passes."""
    cnn = ModelConfig(kind="cnn", width=64, input_shape=(1, 28, 28), n_classes=10)
    whole = TrainConfig(batch_size=0, epochs=1)
    cost = estimate(cnn, whole, 6800, 1200)
    assert cost.batch == 6800 and cost.memory > 4 * 1024**3
    with pytest.raises(BudgetError, match=r"about \d+\.\d GB of activations at once \(a batch of 6,800\), over this "
                                          r"server's limit of 1 GB a run: lower the batch size to ([\d,]+) or less"
                       ) as refused:
        Budget().check(cost, whole)
    fits = int(refused.value.args[0].rsplit("batch size to ", 1)[1].split(" ")[0].replace(",", ""))
    Budget().check(estimate(cnn, replace(whole, batch_size=fits), 6800, 1200), whole)
    with pytest.raises(BudgetError, match="activations"):
        Budget().check(estimate(cnn, replace(whole, batch_size=fits + 1), 6800, 1200), whole)
    # the dashboard's own largest choices for 2-D points and the presets' batches stay allowed
    widest = ModelConfig(hidden=(MAX_UNITS,) * MAX_HIDDEN_LAYERS)
    Budget(max_run_s=math.inf).check(estimate(widest, whole, 5000), whole)
    Budget().check(estimate(cnn, replace(whole, batch_size=DASHBOARD_LIMITS[TrainConfig]["batch_size"][1]), 6800),
                   whole)
