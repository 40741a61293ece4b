"""What a 2-D run keeps for looking inside it: the weights after each epoch, the gradient flow, slow tasks."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from core.config import ModelConfig, RunOptions, TrainConfig
from core.models import build_model, predict_proba
from core.training.jobs import JobSlots, SlotTask, TrainingJob
from core.training.recorder import GradientRecorder, StateRecorder, model_at
from core.training.train import train_model
from tests.conftest import wait_until

FULL_BATCH = TrainConfig(optimizer="adam", lr=0.03, batch_size=0, epochs=6)


def run_job(data, config: ModelConfig, train: TrainConfig = FULL_BATCH, *, every: int = 1):
    model = build_model(config, seed=train.init_seed)
    return model, TrainingJob(model, data, train, snapshot_every=every, slots=None).run().result


def test_a_2d_run_keeps_the_weights_of_every_epoch_from_the_start(circles) -> None:
    config = ModelConfig(kind="mlp", hidden=(8, 8))
    model, result = run_job(circles, config)
    assert [s.epoch for s in result.states] == list(range(FULL_BATCH.epochs + 1))
    grid = circles.X_all[:50]
    start = model_at(model, result.states[0])
    np.testing.assert_allclose(predict_proba(start, grid), predict_proba(build_model(config), grid), atol=1e-6)
    np.testing.assert_allclose(predict_proba(model_at(model, result.states[-1]), grid), predict_proba(model, grid),
                               atol=1e-6)
    assert not np.allclose(predict_proba(start, grid), predict_proba(model, grid), atol=1e-3)  # it learned
    assert start is not model and len(result.snapshots) == len(result.states)


def test_a_run_without_snapshots_keeps_neither_weights_nor_gradients(circles) -> None:
    _, result = run_job(circles, ModelConfig(kind="mlp", hidden=(4,)), every=0)
    assert result.states == () and result.gradients is None


def test_weights_of_another_architecture_are_refused(circles) -> None:
    _, result = run_job(circles, ModelConfig(kind="mlp", hidden=(4,)))
    with pytest.raises(ValueError, match="another architecture"):
        model_at(build_model(ModelConfig(kind="mlp", hidden=(5,))), result.states[0])
    with pytest.raises(ValueError, match="every must be at least 1"):
        StateRecorder(every=0, epochs=3)


@pytest.mark.parametrize("epochs", [FULL_BATCH.epochs, 200])  # 200: past the recorder's first stacked chunk
def test_gradient_magnitudes_are_recorded_per_layer_against_a_direct_computation(circles, epochs: int) -> None:
    model = build_model(ModelConfig(kind="mlp", hidden=(8, 8)))
    recorder, expected, weights = GradientRecorder(), [], []
    train = replace(FULL_BATCH, epochs=epochs, patience=0)

    def on_epoch(stats, m) -> None:
        expected.append([lin.weight.grad.abs().mean().item() for lin in m if isinstance(lin, torch.nn.Linear)])
        weights.append([lin.weight.abs().mean().item() for lin in m if isinstance(lin, torch.nn.Linear)])
        recorder.on_epoch(stats, m)

    train_model(model, circles, train, on_epoch=on_epoch)  # full batch: one step an epoch, no on_step
    flow = recorder.result()
    assert flow.layers == ("1 · 2→8", "2 · 8→8", "3 · 8→2")
    assert flow.gradients.shape == flow.weights.shape == (epochs, 3)
    np.testing.assert_allclose(flow.gradients, expected, rtol=1e-5)
    np.testing.assert_allclose(flow.weights, weights, rtol=1e-5)
    assert list(flow.epochs) == list(range(1, epochs + 1))
    assert GradientRecorder().result() is None


def test_sampled_steps_and_each_epochs_last_step_average_into_the_flow(circles) -> None:
    """Mini-batches: `on_step` samples some steps, `on_epoch` adds the epoch's last one; each row is their mean."""
    model = build_model(ModelConfig(kind="mlp", hidden=(8,)))
    recorder, sampled, expected = GradientRecorder(), [], []

    def grads(m) -> np.ndarray:
        return np.array([lin.weight.grad.abs().mean().item() for lin in m if isinstance(lin, torch.nn.Linear)])

    def on_step(step, loss, m) -> None:
        sampled.append(grads(m))
        recorder.on_step(step, loss, m)

    def on_epoch(stats, m) -> None:
        expected.append(np.mean([*sampled, grads(m)], axis=0))
        sampled.clear()
        recorder.on_epoch(stats, m)

    train = TrainConfig(optimizer="adam", lr=0.03, batch_size=32, epochs=3)
    train_model(model, circles, train, RunOptions(step_every=4), on_step=on_step, on_epoch=on_epoch)
    flow = recorder.result()
    assert flow.gradients.shape == (3, 2) and list(flow.epochs) == [1, 2, 3]
    np.testing.assert_allclose(flow.gradients, expected, rtol=1e-5)


def test_six_sigmoid_layers_starve_their_first_layer_while_relu_does_not(circles) -> None:
    train = TrainConfig(optimizer="adam", lr=0.03, batch_size=0, epochs=15)
    ratios = {act: run_job(circles, ModelConfig(kind="mlp", hidden=(8,) * 6, activation=act), train)[1]
              .gradients.ratio() for act in ("sigmoid", "relu")}
    assert len(ratios["sigmoid"]) == 7
    assert ratios["sigmoid"][0] < 1e-3  # the first layer gets a thousandth of the last one's gradient, or less
    assert ratios["relu"][0] > 100 * ratios["sigmoid"][0]
    assert np.all(np.diff(np.log(ratios["sigmoid"])) > 0)  # shrinking layer by layer towards the input


def test_a_slot_task_waits_for_a_free_slot_and_reports_its_result_or_error() -> None:
    slots = JobSlots(1)
    assert slots.acquire(lambda: False)  # someone else's run holds the only slot
    task = SlotTask(lambda: 6 * 7, slots=slots).start()
    time.sleep(0.1)
    assert task.state == "waiting" and task.elapsed == 0.0
    slots.release()
    wait_until(lambda: task.done, timeout=10, what="the task to finish")
    assert (task.state, task.result, slots.running) == ("finished", 42, 0)
    failing = SlotTask(lambda: 1 / 0, slots=slots).start()
    wait_until(lambda: failing.done, timeout=10, what="the failing task to end")
    assert failing.state == "failed" and "ZeroDivisionError" in failing.error and slots.running == 0


def test_kept_weights_stay_within_their_byte_budget_and_evenly_spaced() -> None:
    from types import SimpleNamespace

    model = build_model(ModelConfig(kind="mlp", hidden=(64,)))
    one = sum(p.numel() * 4 for p in model.state_dict().values())
    recorder = StateRecorder(every=1, epochs=40, max_bytes=10 * one)  # room for 10 copies
    recorder.record(0, model)
    for epoch in range(1, 41):
        recorder(SimpleNamespace(epoch=epoch), model)
    epochs = [s.epoch for s in recorder.states]
    assert recorder.nbytes <= 10 * one and epochs[0] == 0 and epochs[-1] == 40
    gaps = {b - a for a, b in zip(epochs[:-2], epochs[1:-1])}
    assert len(gaps) == 1 and len(epochs) >= 5, epochs  # evenly spaced, and not thinned past need
