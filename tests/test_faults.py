"""Training faults through the Train page: each ends in a state the page explains, and the next run works."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.common.session import SESSION, Session
from app_pages.common.ui import MODEL_UPLOAD_MB, load_dataset
from core.checkpoint import load_model
from core.config import MAX_HIDDEN_LAYERS, MAX_UNITS, DataConfig, TrainConfig
from core.lab import Lab

TIMEOUT = 60
DIGITS = DataConfig(name="digits", train_size=300)
LONG_RUN = 200  # epochs: far more than a test waits for, so the run is still going when the test acts
RUN_WAIT_S = 30  # the longest a test waits for a background run to reach a state


def digits_lab() -> Lab:
    lab = Lab(threads=1)
    lab.set_data(DIGITS, load_dataset(DIGITS))
    return lab


@pytest.fixture
def labs() -> Iterator[list[Lab]]:
    """Labs a test made; any run still going is stopped afterwards, even when the test failed."""
    made: list[Lab] = []
    yield made
    for lab in made:
        lab.stop()


def train_page(lab: Lab) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.session_state[SESSION] = Session(lab)
    return at.switch_page("app_pages/train.py").run()


def wait_until(condition, what: str) -> None:
    """Poll `condition()` until true (at most RUN_WAIT_S seconds)."""
    for _ in range(int(RUN_WAIT_S / 0.05)):
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"gave up after {RUN_WAIT_S} s waiting for {what}")


def start_long_run(at: AppTest) -> Lab:
    """Set a long run on the page and press Train; return the lab once its first epoch is in."""
    at.slider(key="train.epochs").set_value(LONG_RUN).run()
    at.button(key="train.go").click().run()
    lab = at.session_state[SESSION].lab
    assert lab.training, "pressing Train on digits should start a background run"
    wait_until(lambda: bool(lab.job.progress().history), "the first epoch")
    return lab


def test_stop_mid_run_keeps_the_model_and_says_so(labs: list[Lab]) -> None:
    labs.append(digits_lab())
    at = train_page(labs[0])
    lab = start_long_run(at)
    # The page drawn by the very click that started the run already offers Stop and refuses a second Train.
    assert at.button(key="train.go").disabled, "a second run cannot be started while one is going"
    assert at.button(key="train.stop").disabled is False
    at.button(key="train.stop").click().run()
    assert not at.exception and not lab.training
    assert lab.result.status == "stopped" and lab.model is not None  # what it learnt so far is kept
    assert any("Stopped by the user" in i.value for i in at.info), [i.value for i in at.info]
    # The next run works: a short one, synchronously finished by the time the page polls it.
    at.slider(key="train.epochs").set_value(2).run()
    at.button(key="train.go").click().run()
    wait_until(lambda: not lab.training, "the second run to finish")
    at.run()
    assert lab.result.status == "completed" and not at.exception and not at.error


def test_a_second_run_replaces_the_first_one_job_per_session() -> None:
    lab = digits_lab()
    lab.train(replace(lab.train_config, epochs=LONG_RUN))
    first = lab.job
    try:
        lab.train(replace(lab.train_config, epochs=LONG_RUN))  # the first is stopped before the second starts
        assert first.progress().done and lab.job is not first and lab.training
    finally:
        lab.stop()
    assert lab.result.status == "stopped" and not lab.training


def test_switching_dataset_while_training_stops_the_run_cleanly(labs: list[Lab]) -> None:
    labs.append(digits_lab())
    at = train_page(labs[0])
    lab = start_long_run(at)
    at.switch_page("app_pages/data.py").run()
    at.selectbox(key="data.name").set_value("moons").run()
    assert not at.exception and not at.error
    assert not lab.training and lab.data.name == "moons" and lab.model is None
    at.switch_page("app_pages/train.py").run()  # 2-D data: auto-train runs at once on the new data
    assert not at.exception and lab.result is not None and lab.result.status in ("completed", "converged")


def test_the_widest_network_trains_and_its_file_fits_the_upload_limit() -> None:
    lab = digits_lab()
    lab.set_model_config(replace(lab.model_config, kind="mlp", hidden=(MAX_UNITS,) * MAX_HIDDEN_LAYERS))
    result = lab.train(TrainConfig(epochs=1, batch_size=128, lr=1e-3), wait=True)
    assert result.status == "completed" and result.steps == 3  # 300 images, batches of 128
    raw = lab.model_file()
    assert len(raw) < MODEL_UPLOAD_MB * 2**20, f"{len(raw) / 2**20:.1f} MB does not fit the uploader"
    assert load_model(raw).config.hidden == (MAX_UNITS,) * MAX_HIDDEN_LAYERS


def test_one_hidden_unit_trains_and_the_page_shows_it() -> None:
    circles = DataConfig(name="circles", n_samples=200)
    lab = Lab(threads=1)
    lab.set_data(circles, load_dataset(circles))
    at = train_page(lab)
    at.select_slider(key="train.arch.units").set_value(1).run()
    at.slider(key="train.arch.layers").set_value(1).run()
    assert not at.exception and not at.error
    assert lab.model_config.hidden == (1,) and lab.result is not None and lab.model is not None
    assert any(m.label == "Validation accuracy" for m in at.metric)
