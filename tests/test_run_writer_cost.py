"""What the run writer spends on a moved slider: auto runs wait and are replaced unmeasured, the validation figures
are the run's own, and the other splits are scored without scikit-learn's validated metrics, to the same values."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, log_loss

import core.history.writer as run_writer
from core.config import DataConfig, TrainConfig
from core.history.db import open_engine
from core.history.runs import list_runs
from core.history.writer import EndedRun, RunWriter, describe_run, scores
from core.lab import Lab
from core.models import predict_proba

QUICK = TrainConfig(epochs=15, lr=0.03)


@pytest.fixture
def engine(tmp_path):
    return open_engine(f"sqlite:///{tmp_path / 'runs.sqlite3'}")


def ended_runs(circles, configs: list[TrainConfig], *, auto: bool = False) -> list[EndedRun]:
    told: list[EndedRun] = []
    lab = Lab(on_run_end=told.append)
    lab.set_data(DataConfig(name="circles", n_samples=200, noise=0.05, seed=0), circles)
    for config in configs:
        lab.train(config, auto=auto) if auto else lab.train(config, wait=True)
    return told


def test_scores_match_scikit_learn(circles) -> None:
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=50).astype(np.float32)
    proba[0] = [1.0, 0.0, 0.0]  # a certain wrong answer: clipped, not infinite
    y = rng.integers(0, 3, size=50)
    y[0] = 2
    got = scores(proba, y)
    reference = proba.astype(np.float64) / proba.astype(np.float64).sum(axis=1, keepdims=True)
    assert got["loss"] == pytest.approx(log_loss(y, reference, labels=[0, 1, 2]), abs=1e-6)
    assert got["accuracy"] == pytest.approx(accuracy_score(y, reference.argmax(axis=1)))
    assert got["n"] == 50


def test_the_record_takes_validation_from_the_run_and_scores_the_rest(circles) -> None:
    (ended,) = ended_runs(circles, [QUICK])
    metrics = describe_run(ended).metrics
    last = ended.result.history[-1]
    close = lambda value: pytest.approx(value, abs=1e-6)  # noqa: E731 - the record keeps 6 decimals
    assert metrics["validation"] == {"accuracy": close(last.val_acc), "loss": close(last.val_loss),
                                     "n": len(circles.y_val), "epoch": last.epoch}  # the epoch kept
    for split, X, y in (("train", circles.X_train, circles.y_train), ("test", circles.X_test, circles.y_test)):
        proba = predict_proba(ended.model, X).astype(np.float64)
        proba /= proba.sum(axis=1, keepdims=True)
        assert metrics[split]["loss"] == pytest.approx(log_loss(y, proba, labels=[0, 1]), abs=1e-6)
        assert metrics[split]["accuracy"] == pytest.approx(accuracy_score(y, proba.argmax(axis=1)), abs=1e-6)
    # and the run's own validation figure is what measuring the kept weights again gives
    proba = predict_proba(ended.model, circles.X_val).astype(np.float64)
    proba /= proba.sum(axis=1, keepdims=True)
    assert last.val_loss == pytest.approx(log_loss(circles.y_val, proba, labels=[0, 1]), rel=1e-4)


def test_a_stopped_run_has_its_validation_measured_again(circles) -> None:
    (ended,) = ended_runs(circles, [QUICK])
    stopped = replace(ended, result=replace(ended.result, status="stopped"))
    assert run_writer.run_validation(stopped) is None
    assert describe_run(stopped).metrics["validation"]["n"] == len(circles.y_val)


def test_an_auto_run_waits_and_the_next_move_replaces_it_unmeasured(engine, circles, monkeypatch) -> None:
    measured: list[float] = []
    original = run_writer.describe_run
    monkeypatch.setattr(run_writer, "describe_run", lambda e: measured.append(e.settings.train.lr) or original(e))
    sid, writer = "s" * 22, RunWriter(lambda: engine, auto_delay=0.5)
    first, second = ended_runs(circles, [replace(QUICK, epochs=2, lr=lr) for lr in (0.01, 0.02)], auto=True)
    writer.submit(sid, first)
    time.sleep(0.1)
    assert measured == [] and list_runs(engine, sid) == []  # still waiting: a move this soon would replace it
    writer.submit(sid, second)
    deadline = time.monotonic() + 20
    while not list_runs(engine, sid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert measured == [0.02] and [r.record.settings["lr"] for r in list_runs(engine, sid)] == ["0.02"]


def test_wait_saves_a_waiting_auto_run_at_once(engine, circles) -> None:
    sid, writer = "t" * 22, RunWriter(lambda: engine, auto_delay=600.0)
    (ended,) = ended_runs(circles, [replace(QUICK, epochs=2)], auto=True)
    writer.submit(sid, ended)
    assert writer.wait(30) and [r.origin for r in list_runs(engine, sid)] == ["auto"]


def test_a_delayed_auto_run_keeps_its_place_before_a_later_train_run(engine, circles) -> None:
    sid, writer = "u" * 22, RunWriter(lambda: engine, auto_delay=1.0)
    (auto,) = ended_runs(circles, [replace(QUICK, epochs=2, lr=0.01)], auto=True)
    (pressed,) = ended_runs(circles, [replace(QUICK, epochs=2, lr=0.02)])  # ended after the auto run
    writer.submit(sid, auto)
    writer.submit(sid, pressed)  # saved at once, while the auto run still waits
    deadline = time.monotonic() + 20
    while len(list_runs(engine, sid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    newest_first = list_runs(engine, sid)
    assert [r.record.settings["lr"] for r in newest_first] == ["0.02", "0.01"]  # run order, not save order
    assert [r.created for r in newest_first] == [pressed.ended, auto.ended]
