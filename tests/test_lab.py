"""The per-session Lab that the pages drive: data, model, training, results, files."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from dataclasses import replace

import numpy as np
import pytest
import torch

from core.checkpoint import save_model
from core.config import DASHBOARD_LIMITS, IMAGE_SHAPE, DataConfig, ModelConfig, TrainConfig
from core.lab import Lab, LabError
from core.models import build_model
from core.training.presets import PRESETS
from tests.conftest import wait_until


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
    result = lab.train(TrainConfig(epochs=60, batch_size=0), wait=True)
    # A boundary for every epoch, from the starting weights (epoch 0) on: the replay's frames.
    assert result.status == "completed" and [s.epoch for s in result.snapshots] == list(range(61))
    long = lab.train(TrainConfig(epochs=250, batch_size=0, lr=0.01), wait=True)
    assert [s.epoch for s in long.snapshots] == list(range(0, 251, 2))  # every 2nd: at most MAX_STATES (128)
    evaluation = lab.evaluation()
    assert evaluation.test.accuracy > 0.9 and evaluation is lab.evaluation()  # computed once
    assert evaluation.validation.n_samples == len(lab.data.y_val)
    assert evaluation.test.n_samples == len(lab.data.y_test)
    assert lab.boundary(resolution=16).proba.shape == (16, 16, 2)
    points = np.array([[0.0, 0.0], [0.9, -0.2], [-1.1, 0.4]], dtype=np.float32)
    with torch.inference_mode():  # checked against the model's own forward pass, not just for shape
        direct = torch.softmax(lab.model(torch.as_tensor(points)), dim=1).numpy()
    np.testing.assert_allclose(lab.predict_points(points), direct, atol=1e-6)
    with pytest.raises(LabError, match="2-D points"):
        lab.predict_image(b"not used")


def test_background_job_becomes_the_model_and_can_be_stopped(lab: Lab) -> None:
    assert lab.train(TrainConfig(epochs=10_000, batch_size=8)) is None  # too long to train inline: a worker
    job = lab.job
    wait_until(lambda: job.progress().history, what="the first epoch")
    lab.stop()
    assert not lab.training and lab.result.status == "stopped" and lab.model is job.model
    assert lab.train(TrainConfig(epochs=20), wait=True).status == "completed"  # the next run works


def test_switching_data_while_training_stops_the_run(lab: Lab, blobs) -> None:
    lab.train(TrainConfig(epochs=10_000, batch_size=8))
    job = lab.job
    lab.set_data(DataConfig(name="blobs"), blobs)
    assert job.progress().done and lab.model is None and lab.data is blobs


def test_model_file_round_trip_and_refusals(lab: Lab, digits) -> None:
    lab.train(TrainConfig(epochs=2), wait=True)
    raw = lab.model_file()
    other = Lab()
    other.load_model_file(raw)
    assert other.model_config == lab.model_config and other.class_names == lab.class_names
    mismatched = Lab()
    mismatched.set_data(DataConfig(name="digits"), digits)
    with pytest.raises(LabError, match="Pick a matching dataset"):
        mismatched.load_model_file(raw)
    assert mismatched.model is None  # nothing changed


def test_a_model_file_wider_than_the_servers_cnns_is_refused_and_changes_nothing(digits) -> None:
    """The engine builds CNNs up to width 128 (the command line's owner may train one); the dashboard runs up to
    the width its Model page and links allow (DASHBOARD_LIMITS): evaluating a 128-wide CNN on 10,000 digits took
    24 s of CPU and 6 GB in the page's thread. Such a file is refused, with what to do instead."""
    lab = Lab()
    lab.set_data(DataConfig(name="digits"), digits)
    high = DASHBOARD_LIMITS[ModelConfig]["width"][1]
    for width in (high, high + 1):
        config = ModelConfig(kind="cnn", width=width, input_shape=IMAGE_SHAPE, n_classes=10)
        raw = save_model(build_model(config), config, digits.class_names)
        if width == high:
            assert lab.load_model_file(raw).config.width == high and lab.from_file
            continue
        lab.forget_model()
        with pytest.raises(LabError, match=f"CNN of width {width}; this server runs CNNs of width 4 to {high}"):
            lab.load_model_file(raw)
        assert lab.model is None and not lab.from_file  # nothing changed


def test_the_labs_thread_cap_applies_to_every_run(circles, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    import core.training.jobs
    from core.training.train import train_model

    capped = Lab(threads=1)
    capped.set_data(DataConfig(name="circles", n_samples=200, noise=0.05), circles)
    original = torch.get_num_threads()
    torch.set_num_threads(2)  # the conftest runs tests on 1 thread; start above the cap so the cap shows
    try:
        capped.train(TrainConfig(epochs=1), wait=True)
        assert torch.get_num_threads() == 1  # the inline run set this thread's count
    finally:
        torch.set_num_threads(original)
    seen: list[int] = []  # the worker thread's torch threads, read during each epoch

    def recording(model, data, config, options, *, on_epoch=None, **kw):
        def record(stats, trained) -> None:
            seen.append(torch.get_num_threads())
            on_epoch(stats, trained)
        return train_model(model, data, config, options, on_epoch=record, **kw)

    monkeypatch.setattr(core.training.jobs, "train_model", recording)
    torch.set_num_threads(2)  # the worker thread inherits 2 from here; the run's setting must bring it to 1
    try:
        assert capped.train(TrainConfig(epochs=1000, batch_size=1)) is None  # too long to train inline: a worker
        wait_until(lambda: len(seen) >= 2, what="two epochs on the worker")
        capped.stop()
        final = capped.job.progress()
    finally:
        torch.set_num_threads(original)
    assert final.state == "finished" and final.result.history
    assert seen and set(seen) == {1}, seen


def test_a_model_uploaded_before_any_data_stays_when_the_data_fits(lab: Lab, circles, blobs) -> None:
    lab.train(TrainConfig(epochs=2), wait=True)
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


def test_a_new_model_kind_moves_untouched_settings_to_its_preset(digits) -> None:
    lab = Lab()
    lab.set_data(DataConfig(name="digits"), digits)
    mlp, cnn = PRESETS["images", "mlp"].train, PRESETS["images", "cnn"].train
    assert lab.train_config == mlp
    # the user chose a learning rate
    lab.apply(replace(lab.settings, train=TrainConfig(**{**mlp.__dict__, "lr": 0.01})))
    notice = lab.set_model_config(ModelConfig(kind="cnn"))
    assert lab.train_config.batch_size == cnn.batch_size and lab.train_config.epochs == cnn.epochs
    assert lab.train_config.lr == 0.01  # the user's own choice stays
    assert notice == "Training settings set for the CNN: Adam 0.003, 3 epochs, batch 64."
    assert lab.set_model_config(ModelConfig(kind="cnn", width=16)) is None  # same kind: nothing moves


def test_settings_given_with_a_new_model_kind_are_used_as_given(digits) -> None:
    # a link, a reopened run or a lesson naming a CNN with its own training settings: none moves to the preset
    lab = Lab(loader=lambda config: digits)
    lab.set_data(DataConfig(name="digits"), digits)
    mlp, cnn = PRESETS["images", "mlp"].train, PRESETS["images", "cnn"].train
    given = replace(mlp, epochs=2)  # the MLP preset's rate and batch, chosen for this CNN
    notice = lab.apply(replace(lab.settings, model=ModelConfig(kind="cnn"), train=given))
    assert notice is None and lab.train_config == given and lab.model_config.kind == "cnn"
    # the Model page carries the current settings over: those at the old kind's preset move, and it says so
    lab.apply(replace(lab.settings, model=ModelConfig(kind="mlp"), train=mlp))
    notice = lab.apply(replace(lab.settings, model=ModelConfig(kind="cnn")))
    assert notice is not None and lab.train_config == cnn


def test_reset_keeps_the_starting_weights_and_new_weights_changes_them(lab: Lab) -> None:
    config = TrainConfig(epochs=1, batch_size=0)
    first = lab.train(config, wait=True).history[0].train_loss
    again = lab.train(config, wait=True).history[0].train_loss
    assert first == again
    changed = lab.train(TrainConfig(epochs=1, batch_size=0, init_seed=1), wait=True)
    assert changed.history[0].train_loss != first


def test_train_decides_inline_or_worker(lab: Lab, digits) -> None:
    assert lab.train(TrainConfig(epochs=5, batch_size=0)) is lab.result is not None  # a short 2-D run: inline
    assert lab.job is None and not lab.training
    images = Lab()
    images.set_data(DataConfig(name="digits"), digits)
    assert not images.runs_inline(images.train_config)
    assert images.train(TrainConfig(epochs=1000, batch_size=8)) is None
    job = images.job
    assert images.training
    images.stop()
    assert job.progress().done


def test_an_upload_is_prepared_once_however_often_the_page_asks(digits, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    import numpy as np
    from PIL import Image

    import core.lab

    lab = Lab()
    lab.set_data(DataConfig(name="digits"), digits)
    lab.train(TrainConfig(epochs=1), wait=True)
    prepared = []
    original = core.lab.prepare_image
    monkeypatch.setattr(core.lab, "prepare_image", lambda raw: prepared.append(1) or original(raw))
    pictures = []
    for shade in range(core.lab.MAX_PREPARED + 3):
        out = io.BytesIO()
        picture = np.full((40, 40), 255, np.uint8)
        picture[5 + shade % 7:25 + shade % 7, 8 + shade // 7:14 + shade // 7] = 0  # a dark stroke, moved each time
        Image.fromarray(picture).save(out, format="PNG")
        pictures.append(out.getvalue())
    for _ in range(3):  # three reruns of the same page
        lab.predict_image(pictures[0])
    assert len(prepared) == 1
    for raw in pictures:
        lab.predict_image(raw)
    assert len(lab._prepared) == core.lab.MAX_PREPARED  # bounded: the oldest go


def test_a_run_that_ends_after_the_lab_moved_on_leaves_the_new_job(lab: Lab, digits, monkeypatch) -> None:
    """Under load Streamlit can start a session's next script run while the last one still trains inline in the
    page's thread (CI, 5 December 2026). The next run switched to MNIST and queued a run; the old run, ending,
    dropped that queued job, and the student's MNIST run never ended."""
    import core.lab as lab_module

    inside, go, real = threading.Event(), threading.Event(), lab_module.train_model

    def slow_train_model(*args, **kwargs):
        inside.set()
        go.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(lab_module, "train_model", slow_train_model)
    old_run = threading.Thread(target=lambda: lab.train(TrainConfig(epochs=5, batch_size=0)))  # inline
    old_run.start()
    assert inside.wait(30)
    monkeypatch.setattr(lab_module, "train_model", real)
    lab.set_data(DataConfig(name="digits"), digits)  # the next script run: other data, a run on a worker
    lab.train(TrainConfig(epochs=1000, batch_size=8))
    queued = lab.job
    go.set()
    old_run.join(30)
    try:
        assert lab.job is queued and lab.training and lab.result is None
    finally:
        lab.stop()


def test_a_new_architecture_stops_the_run_it_drops(lab: Lab) -> None:
    lab.train(TrainConfig(epochs=10_000, batch_size=8))
    job = lab.job
    lab.set_model_config(ModelConfig(kind="mlp", hidden=(5,)))
    assert lab.job is None
    wait_until(lambda: job.progress().done, what="the dropped run to stop")  # it kept a job slot before


def test_a_dropped_model_leaves_nothing_of_its_run_behind(lab: Lab) -> None:
    """A new architecture drops the run: the coach's word on it must not keep its result (the weights of every
    epoch) alive, which the session store weighed again on every slider move and kept in memory."""
    lab.train(TrainConfig(epochs=30, batch_size=0), wait=True)
    lab.coach()
    dropped = weakref.ref(lab.result)
    lab.set_model_config(ModelConfig(kind="mlp", hidden=(5,)))
    gc.collect()
    assert dropped() is None, "the dropped run's result is still reachable from the Lab"


def test_inline_runs_of_many_sessions_train_one_at_a_time(circles, monkeypatch) -> None:
    """Slider moves train in the page's own thread; on a GIL-bound server thirty at once each took ~30x as long
    (the class test: median move 3.1 s, against 0.8 s one at a time). They now take turns in one lane."""
    import core.lab as lab_module

    real, lock, state = lab_module.train_model, threading.Lock(), {"now": 0, "most": 0}

    def counting_train_model(*args, **kwargs):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        try:
            time.sleep(0.05)  # long enough for the other sessions' runs to arrive
            return real(*args, **kwargs)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(lab_module, "train_model", counting_train_model)
    labs = [Lab() for _ in range(4)]
    for each in labs:
        each.set_data(DataConfig(name="circles", n_samples=200, noise=0.05), circles)
    threads = [threading.Thread(target=lambda each=each: each.train(TrainConfig(epochs=5, batch_size=0)))
               for each in labs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(each.result is not None for each in labs), "every session's run ended with its result"
    assert state["most"] == 1, f"{state['most']} inline runs trained at once"
