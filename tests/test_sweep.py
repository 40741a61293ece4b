"""Sweeps: the grid a spec makes, each cell equal to its run alone (batched or not), best by validation, slots, CLI
and Ray."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from core.__main__ import main
from core.config import DataConfig, ModelConfig, RunOptions, TrainConfig
from core.data.dataset import Dataset
from core.data.make import make_dataset
from core.models import build_model
from core.plots.sweep import RUNS_TRACE, sweep_figure
from core.sweep.grid import Axis, CellResult, SweepError, SweepResult, SweepSpec, split_metrics
from core.sweep.job import SweepJob
from core.sweep.run import LocalBackend, default_backend, run_sweep
from core.training.jobs import JobSlots
from core.training.train import train_model
from tests.conftest import wait_until

DATA = DataConfig(name="circles", n_samples=200, noise=0.05, seed=0)
MODEL = ModelConfig(hidden=(8, 8))
TRAIN = TrainConfig(lr=0.03, batch_size=0, epochs=25)
OPTIONS = RunOptions(threads=1)


def spec(*axes: Axis, model: ModelConfig = MODEL) -> SweepSpec:
    return SweepSpec(DATA, model, TRAIN, axes)


def curve(history) -> list[tuple]:
    """A history without its wall-clock seconds: what must match exactly between two runs."""
    return [(s.epoch, s.train_loss, s.train_acc, s.val_loss, s.val_acc, s.lr, s.steps) for s in history]


@pytest.mark.parametrize(("axes", "message"), [
    ((), "one or two settings"),
    ((Axis("lr", (0.1,)), Axis("units", (2,)), Axis("layers", (1,))), "one or two settings"),
    ((Axis("lr", (0.1,)), Axis("lr", (0.3,))), "'lr' twice"),
    ((Axis("momentum", (0.5,)),), "one of lr, units"),
    ((Axis("units", (1, 2, 3, 4, 5, 6, 7)),), "1 to 6 values. Got 7"),
    ((Axis("batch", (16, 16)),), "lists a value twice"),
    ((Axis("lr", (20.0,)),), "lr=20.0: learning rate must be between"),
    ((Axis("units", (0,)),), "units=0: Hidden layers need 1 to"),
    ((Axis("activation", ("swish",)),), "Unknown activation 'swish'"),
])
def test_a_bad_spec_says_what_to_change(axes, message) -> None:
    with pytest.raises(SweepError, match=message.replace("(", r"\(")):
        spec(*axes)


def test_units_and_layers_need_an_mlp() -> None:
    with pytest.raises(SweepError, match="units is a setting of the MLP; this model is a logreg"):
        spec(Axis("units", (2, 4)), model=ModelConfig(kind="logreg"))


def test_units_keeps_the_layer_count_and_layers_then_units_compose() -> None:
    cells = spec(Axis("units", (4, 8))).cells()
    assert [c.model.hidden for c in cells] == [(4, 4), (8, 8)]
    assert cells[1].model == MODEL  # units=8 on an 8,8 network is that network
    grid = spec(Axis("units", (4, 16)), Axis("layers", (1, 3))).cells()
    assert [c.model.hidden for c in grid] == [(4,), (16,), (4, 4, 4), (16, 16, 16)]
    assert [c.values for c in grid] == [(4, 1), (16, 1), (4, 3), (16, 3)]  # first setting along the columns
    assert {(c.train.seed, c.train.init_seed, c.data) for c in grid} == {(TRAIN.seed, TRAIN.init_seed, DATA)}


def test_each_setting_reaches_its_config() -> None:
    cell = spec(Axis("batch", (16,)), Axis("weight_decay", (1e-3,))).cells()[0]
    assert (cell.train.batch_size, cell.train.weight_decay) == (16, 1e-3)
    cell = spec(Axis("activation", ("tanh",)), Axis("lr", (0.1,))).cells()[0]
    assert (cell.model.activation, cell.train.lr) == ("tanh", 0.1)


@pytest.fixture(scope="module")
def data() -> Dataset:
    return make_dataset(DATA)


@pytest.fixture(scope="module")
def swept(data: Dataset) -> SweepResult:
    """The 3 x 3 circles sweep of the issue (learning rate x units), run locally."""
    return run_sweep(spec(Axis("lr", (0.001, 0.01, 0.1)), Axis("units", (2, 8, 32))), data, options=OPTIONS)


def test_a_3x3_circles_sweep_equals_nine_single_runs(swept: SweepResult, data: Dataset) -> None:
    assert len(swept.cells) == 9 and not swept.stopped
    for got in swept.cells:
        model = build_model(got.cell.model, seed=got.cell.train.init_seed)
        alone = train_model(model, data, got.cell.train, OPTIONS)
        assert curve(got.history) == curve(alone.history), got.values
        assert got.status == alone.status
        assert got.metrics == split_metrics(model, data)
        assert got.val_acc == got.metrics["validation"]["accuracy"]
    accuracies = sorted(c.val_acc for c in swept.cells)
    assert accuracies[0] < accuracies[-1]  # the grid does show a difference to learn from


def test_the_grid_and_the_best_cell_follow_validation_accuracy(swept: SweepResult) -> None:
    grid = swept.grid()
    assert grid.shape == (3, 3)
    for c in swept.cells:
        row, col = divmod(c.cell.index, 3)
        assert grid[row, col] == c.val_acc
        assert (swept.spec.axes[0].values[col], swept.spec.axes[1].values[row]) == c.values
    assert swept.best.val_acc == grid.max()
    assert swept.best.cell.index == int(grid.argmax())


def test_the_best_cell_is_never_chosen_by_test_accuracy(swept: SweepResult) -> None:
    low, high = swept.cells[:2]

    def fake(c: CellResult, val: float, test: float) -> CellResult:
        return CellResult(c.cell, c.result, {"validation": {"accuracy": val}, "test": {"accuracy": test}})

    result = SweepResult(swept.spec, (fake(low, 0.9, 0.5), fake(high, 0.8, 1.0)))
    assert result.best.cell is low.cell


def test_stop_ends_the_sweep_after_the_running_cell(data: Dataset) -> None:
    seen: list[CellResult] = []  # three architectures: one after another
    result = run_sweep(spec(Axis("units", (2, 4, 8))), data, options=OPTIONS, on_cell=seen.append,
                       should_stop=lambda: len(seen) >= 1)
    assert len(result.cells) == 1 and result.stopped
    assert result.cells[0] is seen[0]


def test_stop_during_a_batch_leaves_out_its_cells_cut_short(data: Dataset) -> None:
    calls = iter(range(10**6))  # one architecture: the three cells train together, stopped in their 5th step
    result = run_sweep(spec(Axis("lr", (0.01, 0.1, 0.3))), data, options=OPTIONS,
                       should_stop=lambda: next(calls) >= 5)
    assert result.stopped and result.cells == ()


def test_a_sweep_needs_a_validation_split() -> None:
    no_val = make_dataset(replace(DATA, val_fraction=0.0))
    with pytest.raises(SweepError, match="validation share above 0"):
        run_sweep(spec(Axis("lr", (0.1,))), no_val)


def test_a_waiting_interactive_run_goes_before_the_next_sweep_cell() -> None:
    slots, order = JobSlots(1), []
    assert slots.acquire(lambda: False)  # a run holds the only slot

    def take(name: str, low: bool) -> None:
        slots.acquire(lambda: False, low_priority=low)
        order.append(name)
        slots.release()

    sweep_cell = threading.Thread(target=take, args=("sweep", True))
    sweep_cell.start()
    time.sleep(0.15)  # the sweep was waiting first
    interactive = threading.Thread(target=take, args=("interactive", False))
    interactive.start()
    wait_until(lambda: slots.waiting == 1, what="the interactive run to wait")
    slots.release()
    sweep_cell.join(5), interactive.join(5)
    assert order == ["interactive", "sweep"]
    assert slots.running == 0


def test_a_background_sweep_in_the_slots_equals_the_direct_one_and_stops(swept: SweepResult, data: Dataset) -> None:
    job = SweepJob(swept.spec, data, backend=LocalBackend(JobSlots(1)), options=OPTIONS).start()
    progress = job.join(30)
    assert progress.state == "finished" and progress.total == 9
    assert [c.val_acc for c in progress.result.cells] == [c.val_acc for c in swept.cells]
    ended = job.take_ended()  # every cell, once, as a run for the history, tagged with the sweep
    assert len(ended) == 9 and job.take_ended() == [] and {e.sweep for e in ended} == {job.id}
    assert {(e.origin, e.settings.train) for e in ended} == {("sweep", c.cell.train) for c in swept.cells}
    slots = JobSlots(1)
    assert slots.acquire(lambda: False)  # busy: the sweep waits, then Stop ends it before any cell
    stopped = SweepJob(swept.spec, data, backend=LocalBackend(slots), options=OPTIONS).start()
    stopped.stop()
    assert stopped.join(5).result.stopped and not stopped.progress().result.cells


# --- command line ------------------------------------------------------------------------------

BASE = ["--dataset", "circles", "--n-samples", "200", "--epochs", "20", "--threads", "1"]


def test_cli_sweep_prints_each_run_as_train_json_does(capsys) -> None:
    assert main(["sweep", *BASE, "--hidden", "8,8", "--vary", "lr=0.01,0.1", "--vary", "units=2,8", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["values"] for r in report["runs"]] == [
        {"lr": 0.01, "units": 2}, {"lr": 0.1, "units": 2}, {"lr": 0.01, "units": 8}, {"lr": 0.1, "units": 8}]
    for run in report["runs"]:
        v = run["values"]
        assert main(["train", *BASE, "--hidden", f"{v['units']},{v['units']}", "--lr", str(v["lr"]), "--json"]) == 0
        alone = json.loads(capsys.readouterr().out)
        assert run["config"] == alone["config"]
        assert run["metrics"] == alone["metrics"]
    grid = report["grid"]
    assert grid["columns"] == {"setting": "lr", "values": [0.01, 0.1]}
    assert grid["rows"] == {"setting": "units", "values": [2, 8]}
    vals = [r["metrics"]["validation"]["accuracy"] for r in report["runs"]]
    assert sum(grid["val_accuracy"], []) == vals
    assert report["best"]["val_accuracy"] == max(vals)
    assert report["best"]["values"] == report["runs"][vals.index(max(vals))]["values"]


@pytest.mark.parametrize(("vary", "message"), [
    ("lr", "SETTING=V1,V2"), ("lr=fast", "numbers like 0.01"), ("size=1,2", "one of lr, units"),
    ("lr=20", "learning rate must be between"), ("units=1,2,3,4,5,6,7", "1 to 6 values"),
])
def test_cli_bad_vary_exits_2_with_one_line(capsys, vary: str, message: str) -> None:
    try:
        status = main(["sweep", *BASE, "--vary", vary])
    except SystemExit as exc:
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_the_backend_is_ray_only_when_nnlab_ray_address_is_set(monkeypatch) -> None:
    from core.sweep.ray_backend import RayBackend

    monkeypatch.delenv("NNLAB_RAY_ADDRESS", raising=False)
    slots = JobSlots(1)
    assert default_backend(slots) == LocalBackend(slots)
    monkeypatch.setenv("NNLAB_RAY_ADDRESS", "10.0.0.5:6379")
    assert default_backend(slots) == RayBackend("10.0.0.5:6379")  # nothing connects until a sweep runs


# --- Ray -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ray_session():
    """One local Ray instance for the module (starting one costs a few seconds)."""
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install -r requirements-ray.txt")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_backend_gives_the_local_numbers(ray_session, swept: SweepResult, data: Dataset) -> None:
    from core.sweep.ray_backend import RayBackend

    streamed: list[CellResult] = []
    result = run_sweep(swept.spec, data, backend=RayBackend(), options=OPTIONS, on_cell=streamed.append)
    assert len(streamed) == 9 and not result.stopped
    for ray_cell, local in zip(result.cells, swept.cells):
        assert ray_cell.cell == local.cell
        assert curve(ray_cell.history) == curve(local.history)
        assert ray_cell.metrics == local.metrics


# --- the heatmap ---------------------------------------------------------------------------------

def test_the_heatmap_shows_finished_cells_their_numbers_and_frames_the_best() -> None:
    val = np.array([[0.5, 0.9, np.nan], [0.7, 0.6, np.nan]])
    test = val - 0.05
    fig = sweep_figure(val, test, np.full((2, 3), 0.25), np.full((2, 3), "completed", dtype=object),
                       x=("lr", (0.001, 0.01, 0.1)), y=("units", (2, 8)), best=(0, 1))
    heat, runs = fig.data
    assert heat.type == "heatmap" and list(heat.x) == ["0.001", "0.01", "0.1"] and list(heat.y) == ["2", "8"]
    np.testing.assert_allclose(np.asarray(heat.z), 100 * val)
    assert "%{z" not in heat.texttemplate, "a template over z writes a bare '%' in a cell still to run (NaN)"
    assert [list(row) for row in heat.text] == [["50%", "90%", ""], ["70%", "60%", ""]]
    assert runs.name == RUNS_TRACE and len(runs.x) == 4  # the two cells not run yet cannot be clicked
    assert [int(c[0]) for c in runs.customdata] == [0, 1, 3, 4]
    assert runs.customdata[1][2] == pytest.approx(85.0) and "test" in runs.hovertemplate
    (frame,) = fig.layout.shapes
    assert (frame.x0, frame.x1, frame.y0, frame.y1) == (0.5, 1.5, -0.5, 0.5)
    batch = sweep_figure(val[:1, :2], test[:1, :2], val[:1, :2], val[:1, :2], x=("batch", (16, 0)))
    assert list(batch.data[0].x) == ["16", "all"], "a full batch reads 'all', as on the rest of the app"
    with pytest.raises(ValueError, match="grid is 2 x 3"):
        sweep_figure(val, test, val, val, x=("lr", (0.1, 0.3)), y=("units", (2, 8)))
