"""The per-session Lab that the pages drive: data, model, training, results, files."""

from __future__ import annotations

import pytest

from core.data import DataConfig
from core.lab import Lab, LabError
from core.models import ModelConfig
from core.train import TrainConfig


@pytest.fixture
def lab(circles) -> Lab:
    lab = Lab()
    lab.set_data(DataConfig(name="circles", n_samples=200, noise=0.05), circles)
    return lab


def test_missing_prerequisites_say_what_to_do() -> None:
    lab = Lab()
    with pytest.raises(LabError, match="Data page"):
        lab.require_data()
    with pytest.raises(LabError, match="Train page"):
        lab.require_model()


def test_data_sets_defaults_and_shapes_the_model(lab: Lab, blobs) -> None:
    assert lab.model_config.input_shape == (2,) and lab.model_config.n_classes == 2
    lab.set_model_config(ModelConfig(kind="mlp", hidden=(3,)))
    lab.set_data(DataConfig(name="blobs"), blobs)
    assert lab.model_config.hidden == (3,) and lab.model_config.n_classes == 3  # choices kept, shape follows


def test_train_now_then_evaluate_boundary_and_predict(lab: Lab) -> None:
    result = lab.train_now(TrainConfig(epochs=20, snapshot_every=5, snapshot_resolution=10))
    assert result.status == "completed" and len(result.snapshots) == 4
    evaluation = lab.evaluation()
    assert evaluation.test.accuracy > 0.9 and evaluation is lab.evaluation()  # computed once
    assert lab.boundary(resolution=16).proba.shape == (16, 16, 2)
    assert lab.predict_points([[0.0, 0.0]]).shape == (1, 2)
    with pytest.raises(LabError, match="2-D points"):
        lab.predict_image(b"not used")


def test_background_job_becomes_the_model_and_can_be_stopped(lab: Lab) -> None:
    job = lab.start_training(TrainConfig(epochs=10_000, batch_size=8))
    with pytest.raises(LabError, match="already going"):
        lab.start_training(TrainConfig())
    while not job.progress().history:
        pass
    lab.stop()
    assert not lab.training and lab.result.status == "stopped" and lab.model is job.model
    assert lab.train_now(TrainConfig(epochs=2)).status == "completed"  # the next run works


def test_switching_data_while_training_stops_the_run(lab: Lab, blobs) -> None:
    job = lab.start_training(TrainConfig(epochs=10_000, batch_size=8))
    lab.set_data(DataConfig(name="blobs"), blobs)
    assert job.progress().done and lab.model is None and lab.data is blobs


def test_model_file_round_trip_and_refusals(lab: Lab, digits) -> None:
    lab.train_now(TrainConfig(epochs=2))
    raw = lab.model_file()
    other = Lab()
    other.load_model_file(raw)
    assert other.model_config == lab.model_config and other.class_names == lab.class_names
    mismatched = Lab()
    mismatched.set_data(DataConfig(name="digits"), digits)
    with pytest.raises(LabError, match="Pick a matching dataset"):
        mismatched.load_model_file(raw)
    assert mismatched.model is None  # nothing changed


def test_the_labs_thread_cap_applies_to_every_run(circles, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    import core.jobs
    from core.train import train_model

    capped = Lab(threads=1)
    capped.set_data(DataConfig(name="circles", n_samples=200, noise=0.05), circles)
    original = torch.get_num_threads()
    torch.set_num_threads(2)  # the conftest runs tests on 1 thread; start above the cap so the cap shows
    try:
        capped.train_now(TrainConfig(epochs=1))
        assert torch.get_num_threads() == 1  # the inline run set this thread's count
    finally:
        torch.set_num_threads(original)
    seen: list[int] = []  # the worker thread's torch threads, read during each epoch

    def recording(model, data, config, *, on_epoch=None, **kw):
        def record(stats, snapshot) -> None:
            seen.append(torch.get_num_threads())
            on_epoch(stats, snapshot)
        return train_model(model, data, config, on_epoch=record, **kw)

    monkeypatch.setattr(core.jobs, "train_model", recording)
    torch.set_num_threads(2)  # the worker thread inherits 2 from here; the run's setting must bring it to 1
    try:
        final = capped.start_training(TrainConfig(epochs=2)).join(timeout=30)
    finally:
        torch.set_num_threads(original)
    assert final.state == "finished" and final.result.status == "completed"
    assert seen and set(seen) == {1}, seen
    assert capped.train_config.threads is None  # the user's settings stay as chosen


def test_a_model_uploaded_before_any_data_stays_when_the_data_fits(lab: Lab, circles, blobs) -> None:
    lab.train_now(TrainConfig(epochs=2))
    raw = lab.model_file()
    fits = Lab()
    fits.load_model_file(raw)
    loaded = fits.model
    fits.set_data(DataConfig(name="circles", n_samples=200, noise=0.05), circles)  # 2 inputs, 2 classes: fits
    assert fits.model is loaded and fits.predict_points([[0.0, 0.0]]).shape == (1, 2)
    other = Lab()
    other.load_model_file(raw)
    other.set_data(DataConfig(name="blobs"), blobs)  # 3 classes: the 2-class model cannot serve it
    assert other.model is None and other.model_config.n_classes == 3
