"""Sweeps and seed spreads are held to the server's budget as a run is (core.training.budget): a grid with a cell
over a run's ceiling, or more work in all than a sweep may take, is refused before anything trains, naming what to
lower; and each batch (or cell) stops at the time limit of its estimate, its cells keeping what they learned."""

from __future__ import annotations

import json
import time

import pytest

from core.config import DataConfig, ModelConfig, RunOptions, Settings, TrainConfig
from core.data.make import make_dataset
from core.sweep.grid import Axis, SweepSpec
from core.sweep.job import SweepJob
from core.sweep.run import LocalBackend, cell_cost, run_sweep
from core.sweep.seeds import SeedSpreadJob, seed_cells
from core.training.budget import MAX_SWEEP_ENV, Budget, BudgetError
from core.training.jobs import JobSlots

DATA = DataConfig(name="circles", n_samples=200, noise=0.05, seed=0)
LONG = TrainConfig(lr=0.03, batch_size=1, epochs=10_000, patience=0)  # ~150 steps an epoch, for ever
OPTIONS = RunOptions(threads=1)


@pytest.fixture(scope="module")
def data():
    """The data, and one short sweep first: the process's first optimizer imports torch._dynamo (~1 s of CPU),
    which would otherwise eat a short test limit before the first step."""
    made = make_dataset(DATA)
    run_sweep(SweepSpec(DATA, ModelConfig(hidden=(8, 8)), TrainConfig(epochs=1), (Axis("lr", (0.01, 0.1)),)), made,
              options=OPTIONS)
    return made


def test_a_sweep_with_a_cell_over_a_runs_ceiling_is_refused_before_anything_trains(data) -> None:
    spec = SweepSpec(DATA, ModelConfig(hidden=(8, 8)), LONG, (Axis("lr", (0.01, 0.1)),))
    budget = Budget(max_run_s=2 * cell_cost(spec.cells()[0], data).seconds / 3)
    slots = JobSlots(1)
    with pytest.raises(BudgetError, match=r"^lr 0\.01: This run would take about .* lower the epochs from 10,000"):
        SweepJob(spec, data, budget=budget, backend=LocalBackend(slots))
    assert slots.running == 0  # nothing started


def test_a_sweep_over_the_sweep_ceiling_in_all_is_refused(data) -> None:
    spec = SweepSpec(DATA, ModelConfig(hidden=(8, 8)), TrainConfig(epochs=200), (Axis("units", (2, 4, 8, 16)),))
    costs = [cell_cost(cell, data).seconds for cell in spec.cells()]
    budget = Budget(max_run_s=max(costs), max_sweep_s=sum(costs) / 2)  # each fits a run, not all four together
    with pytest.raises(BudgetError, match=r"This sweep's 4 runs would take about .* in all, .* about 2x less work"):
        SweepJob(spec, data, budget=budget)
    assert SweepJob(spec, data, budget=Budget(max_run_s=max(costs), max_sweep_s=sum(costs))).spec is spec


def test_a_seed_spread_over_the_budget_is_refused(data) -> None:
    settings = Settings(DATA, ModelConfig(hidden=(8, 8)), LONG)
    one = cell_cost(seed_cells(settings)[0], data).seconds
    with pytest.raises(BudgetError, match=r"^seed 0: This run would take"):
        SeedSpreadJob(settings, data, budget=Budget(max_run_s=one / 2))
    with pytest.raises(BudgetError, match=r"This seed spread's 5 runs would take .* a seed spread"):
        SeedSpreadJob(settings, data, budget=Budget(max_run_s=one, max_sweep_s=2 * one))


def test_the_sweep_ceiling_comes_from_the_environment_or_says_what_is_wrong() -> None:
    assert Budget.from_env({MAX_SWEEP_ENV: "90"}).max_sweep_s == 90
    with pytest.raises(ValueError, match=f"{MAX_SWEEP_ENV} must be a positive number of seconds"):
        Budget.from_env({MAX_SWEEP_ENV: "-1"})


@pytest.mark.parametrize("axis", [Axis("lr", (0.01, 0.1)), Axis("units", (4, 8))], ids=["one batch", "two cells"])
def test_each_batch_stops_at_its_time_limit_and_the_sweep_goes_on(data, axis: Axis) -> None:
    """lr: the two cells train together as one batched model; units: one after another. Either way every cell
    comes back, stopped at the limit (0.3 s of CPU here), with what it learned and a message that says why."""
    budget = Budget(max_run_s=0.1)  # its time limit: 3x the run's ceiling at most, 0.3 s
    spec = SweepSpec(DATA, ModelConfig(hidden=(8, 8)), LONG, (axis,))
    start = time.thread_time()
    result = run_sweep(spec, data, backend=LocalBackend(budget=budget), options=OPTIONS)
    used = time.thread_time() - start
    assert not result.stopped and len(result.cells) == 2
    for cell in result.cells:
        assert cell.status == "time_limit" and "Stopped at the time limit" in cell.result.message
        assert cell.history and cell.result.steps > 100 and cell.model is not None  # it trained before the limit
    groups = 1 if axis.name == "lr" else 2
    assert used < groups * 0.3 + 4, f"the sweep computed {used:.1f} s against {groups} limits of 0.3 s"


def test_a_user_stop_still_leaves_out_the_cells_cut_short(data) -> None:
    calls = iter(range(10**6))
    spec = SweepSpec(DATA, ModelConfig(hidden=(8, 8)), LONG, (Axis("lr", (0.01, 0.1)),))
    result = run_sweep(spec, data, backend=LocalBackend(budget=Budget()), options=OPTIONS,
                       should_stop=lambda: next(calls) >= 5)
    assert result.stopped and result.cells == ()


def test_the_command_lines_sweep_stops_each_batch_at_max_seconds(capsys, monkeypatch) -> None:
    """`python -m core sweep --max-seconds` bounds a sweep on its owner's machine, as `train --max-seconds` bounds a
    run; it is refused with Ray, whose cells have no time limit."""
    from core.__main__ import main

    monkeypatch.delenv("NNLAB_RAY_ADDRESS", raising=False)
    args = ["sweep", "--dataset", "circles", "--n-samples", "200", "--epochs", "10000", "--batch-size", "1",
            "--patience", "0", "--threads", "1", "--vary", "units=4,8", "--max-seconds", "0.3", "--json"]
    start = time.thread_time()
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert [run["status"] for run in report["runs"]] == ["time_limit", "time_limit"]
    assert time.thread_time() - start < 2 * 0.3 + 4
    monkeypatch.setenv("NNLAB_RAY_ADDRESS", "10.0.0.5:6379")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--max-seconds bounds a sweep on this machine" in err
