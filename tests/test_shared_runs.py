"""Runs shared by a server's sessions (core.training.shared_runs): the second session to make a slider move gets the
first one's run without training, identical to training it again; its model is its own; nobody's own points and no
run cut short are shared; the store stays within its bounds."""

from __future__ import annotations

import copy
import pickle
import threading
from dataclasses import replace

import numpy as np
import pytest
import torch

import core.boundary as boundary_module
import core.lab as lab_module
from app_pages.common.session import SESSION
from app_pages.common.training import SHARED_NOTE
from core.config import OWN_POINTS, DataConfig, RunOptions, Settings, TrainConfig
from core.data.make import make_dataset
from core.lab import Lab
from core.training.result import TrainResult
from core.training.shared_runs import SHARED_RUNS, SharedRuns, run_key, shared_runs_setting
from tests.test_pages import page, ready_lab

DATA = DataConfig(name="circles", n_samples=200, noise=0.05, seed=0)


def new_lab(data: DataConfig = DATA, **kw) -> Lab:
    lab = Lab(threads=1, **kw)
    lab.set_data(data, make_dataset(data))
    return lab


def move(lab: Lab, units: int) -> None:
    """The units slider with auto-train, as the Train page moves it."""
    model = replace(lab.model_config, hidden=(units,) * len(lab.model_config.hidden))
    lab.apply(Settings(lab.data_config, model, lab.train_config), train="auto")
    assert lab.result is not None and not lab.needs_retrain


@pytest.fixture()
def trainings(monkeypatch) -> list[int]:
    """Counts the runs that really train in the page's thread."""
    calls, train = [], lab_module.train_model

    def counted(*args, **kw):
        calls.append(1)
        return train(*args, **kw)

    monkeypatch.setattr(lab_module, "train_model", counted)
    return calls


def without_times(result: TrainResult) -> list:
    return [replace(epoch, seconds=0.0) for epoch in result.history]


def test_a_second_session_gets_the_same_run_without_training(trainings) -> None:
    first, second, alone = new_lab(), new_lab(), new_lab(share_runs=False)
    move(first, 8)
    move(second, 8)
    assert len(trainings) == 1, "the second session trained the same setting again"
    move(alone, 8)  # trained again, in a session that shares nothing: what the second one should have got
    assert len(trainings) == 2
    assert (SHARED_RUNS.hits, len(SHARED_RUNS)) == (1, 1)
    got, trained = second.result, alone.result
    assert without_times(got) == without_times(trained)
    assert (got.status, got.message, got.steps, got.best_epoch) == (trained.status, trained.message, trained.steps,
                                                                   trained.best_epoch)
    for name, value in alone.model.state_dict().items():
        assert torch.equal(second.model.state_dict()[name], value), name
    assert [s.epoch for s in got.states] == [s.epoch for s in trained.states]
    assert np.array_equal(got.gradients.gradients, trained.gradients.gradients)
    assert np.array_equal(got.snapshots[-1].grid.proba, trained.snapshots[-1].grid.proba)
    assert np.array_equal(got.snapshots[0].grid.proba, trained.snapshots[0].grid.proba)  # the replay's first frame
    assert second.evaluation().test.accuracy == alone.evaluation().test.accuracy


def test_each_session_has_its_own_model(trainings) -> None:
    first, second = new_lab(), new_lab()
    move(first, 8)
    move(second, 8)
    assert second.model is not first.model
    kept = {name: t.clone() for name, t in first.model.state_dict().items()}
    with torch.no_grad():
        for p in second.model.parameters():
            p.add_(1.0)
    third = new_lab()
    move(third, 8)
    for name, value in kept.items():
        assert torch.equal(first.model.state_dict()[name], value), f"{name}: another session's change reached it"
        assert torch.equal(third.model.state_dict()[name], value), f"{name}: a later session got the changed model"
    assert len(trainings) == 1


def test_other_settings_train_and_every_setting_is_kept(trainings) -> None:
    first, second = new_lab(), new_lab()
    for units in (8, 16):
        move(first, units)
    move(second, 16)
    move(second, 8)
    move(second, 24)
    assert len(trainings) == 3 and len(SHARED_RUNS) == 3
    seeded = new_lab()
    seeded.apply(Settings(DATA, seeded.model_config, replace(seeded.train_config, init_seed=7)), train="auto")
    assert len(trainings) == 4, "another seed is another run"


def test_own_points_are_never_shared(trainings) -> None:
    base = make_dataset(DATA)
    points = tuple((float(x), float(y), int(c)) for (x, y), c in zip(base.X_train, base.y_train,
                                                                      strict=True))
    own = DataConfig(name=OWN_POINTS, points=points, class_names=("a", "b"))
    first, second = new_lab(own), new_lab(own)
    move(first, 8)
    move(second, 8)
    assert len(trainings) == 2 and len(SHARED_RUNS) == 0
    assert run_key(own, first.data, first.model_config, first.train_config, RunOptions(), (1, 40)) is None


def test_a_run_cut_short_is_not_shared(trainings, monkeypatch) -> None:
    monkeypatch.setattr(lab_module.TrainingJob, "_should_stop", lambda self: True)  # a next move replaced it
    first = new_lab()
    move(first, 8)
    assert first.result.status == "stopped" and len(SHARED_RUNS) == 0


def test_sessions_asking_at_once_train_the_setting_once(trainings) -> None:
    labs, errors = [new_lab() for _ in range(4)], []

    def session(lab: Lab) -> None:
        try:
            move(lab, 8)
        except BaseException as exc:  # noqa: BLE001 - reported by the test's own thread below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(lab,)) for lab in labs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and not any(thread.is_alive() for thread in threads), errors
    assert len(trainings) == 1, "sessions waiting for the page lane trained a setting another had just trained"
    assert (SHARED_RUNS.hits, SHARED_RUNS.misses) == (3, 1), "each session's look-up counts once"
    weights = labs[0].model.state_dict()
    assert all(torch.equal(lab.model.state_dict()[name], value) for lab in labs for name, value in weights.items())


def test_the_store_keeps_the_most_recent_runs_within_its_bounds() -> None:
    lab = new_lab(share_runs=False)
    lab.train(TrainConfig(epochs=3, patience=0))
    store, result = SharedRuns(2), lab.result
    for k in range(3):
        store.put(("run", k), result, lab.model)
    assert len(store) == 2 and store.get(("run", 0)) is None and store.get(("run", 2)) is not None
    store.get(("run", 1))
    store.put(("run", 3), result, lab.model)  # the least recently used, run 2, goes
    assert store.get(("run", 2)) is None and store.get(("run", 1)) is not None
    small = SharedRuns(10, max_bytes=4 * store.get(("run", 1)).held + 1)
    for k in range(6):
        small.put(("run", k), result, lab.model)
    assert len(small) == 4 and small.nbytes <= small.max_bytes
    off = SharedRuns(0)
    off.put(("run", 0), result, lab.model)
    assert len(off) == 0 and off.get(("run", 0)) is None


def test_the_setting_is_read_and_checked() -> None:
    assert shared_runs_setting({}) > 0
    assert shared_runs_setting({"NNLAB_SHARED_RUNS": "0"}) == 0
    assert shared_runs_setting({"NNLAB_SHARED_RUNS": " 12 "}) == 12
    for bad in ("-1", "many", "1.5"):
        with pytest.raises(ValueError, match="NNLAB_SHARED_RUNS must be a whole number"):
            shared_runs_setting({"NNLAB_SHARED_RUNS": bad})


def test_the_train_page_says_when_a_run_was_shared_and_not_when_it_trained() -> None:
    def noted(at) -> bool:
        assert not at.exception, [e.value for e in at.exception]
        return any(caption.value == SHARED_NOTE for caption in at.caption)

    first = page("train", ready_lab(train=False)).run()
    assert first.session_state[SESSION].lab.result is not None and not noted(first), "the first run trained"
    second = page("train", ready_lab(train=False)).run()  # another session, the same default setting
    assert second.session_state[SESSION].lab.shared_run and noted(second)
    first.select_slider(key="train.arch.units").set_value(2).run()
    assert not first.session_state[SESSION].lab.shared_run and not noted(first)
    second.select_slider(key="train.arch.units").set_value(2).run()
    assert second.session_state[SESSION].lab.model_config.hidden[0] == 2 and noted(second)


def test_a_kept_run_is_read_only_for_every_session_and_still_replays() -> None:
    first, second = new_lab(), new_lab()
    move(first, 8)
    move(second, 8)
    for result in (first.result, second.result):
        kept = next(iter(result.states[-1].state.values()))
        with pytest.raises(ValueError, match="read-only"):
            kept[0] = 0.0
        if isinstance(kept.base, np.ndarray):  # the epoch's flat copy that its named arrays are views of
            with pytest.raises(ValueError, match="read-only"):
                kept.base[0] = 0.0
        with pytest.raises(ValueError, match="read-only"):
            result.gradients.gradients[0, 0] = 0.0
    frames = [second.result.snapshots[k].grid.proba for k in (0, len(second.result.snapshots) - 1)]
    assert all(np.isfinite(frame).all() for frame in frames) and not np.array_equal(*frames)


def test_a_failing_look_up_ends_the_run_with_a_message_and_does_not_leave_it_running(monkeypatch) -> None:
    def broken(*_args, **_kw):
        raise RuntimeError("digest failed")

    monkeypatch.setattr(lab_module, "run_key", broken)
    lab = new_lab()
    model = replace(lab.model_config, hidden=(8, 8))
    with pytest.raises(lab_module.LabError, match="digest failed"):
        lab.apply(Settings(lab.data_config, model, lab.train_config), train="auto")
    assert not lab.training and lab.job is None


def test_a_run_that_cannot_be_kept_is_still_the_sessions_run(monkeypatch, trainings) -> None:
    def full(*_args, **_kw):
        raise MemoryError("no room")

    monkeypatch.setattr(SHARED_RUNS, "put", full)
    lab = new_lab()
    move(lab, 8)
    assert lab.result.status in ("converged", "early_stopped", "still_improving") and lab.model is not None
    assert len(trainings) == 1 and len(SHARED_RUNS) == 0


def test_each_boundary_is_drawn_once_for_the_server_whichever_session_shows_it_first(monkeypatch) -> None:
    drawn, draw = [], boundary_module.boundary_grid

    def counted(*args, **kw):
        drawn.append(1)
        return draw(*args, **kw)

    monkeypatch.setattr(boundary_module, "boundary_grid", counted)
    first, second, third, alone = new_lab(), new_lab(), new_lab(), new_lab(share_runs=False)
    move(first, 8)
    assert len(drawn) == 1, "the final boundary is drawn when the run is kept"
    final = first.result.snapshots[-1].grid
    assert len(drawn) == 1, "the session that trained it shows the same grid"
    move(second, 8)
    assert second.result.snapshots[-1].grid is final and len(drawn) == 1, "the second session drew it again"
    with pytest.raises(ValueError, match="read-only"):
        final.proba[0, 0, 0] = 0.0
    frames = len(second.result.snapshots)
    second.result.snapshots[:]  # the second session plays the replay: it draws every other frame
    assert len(drawn) == frames
    first.result.snapshots[:]  # the first, and a third that adopts the run later, draw none
    move(third, 8)
    third.result.snapshots[:]
    assert len(drawn) == frames
    move(alone, 8)  # trained and drawn again, in a session that shares nothing
    for k in range(frames):
        assert np.array_equal(third.result.snapshots[k].grid.proba, alone.result.snapshots[k].grid.proba), k
    assert len(drawn) == 2 * frames
    fourth = new_lab()
    move(fourth, 8)
    assert fourth.result.snapshots[-1].grid is final  # shown on its page
    for kept in (copy.deepcopy(fourth.result.snapshots), pickle.loads(pickle.dumps(fourth.result.snapshots))):
        # a fork of a session, or one pickled: what it held, and it draws the rest itself, the same
        assert np.array_equal(kept[-1].grid.proba, final.proba) and len(drawn) == 2 * frames
        assert np.array_equal(kept[1].grid.proba, third.result.snapshots[1].grid.proba)
        assert len(drawn) == 2 * frames + 1
        drawn.pop()


def test_the_store_counts_a_runs_boundaries_and_keeps_no_more_than_it_has_room_for() -> None:
    lab = new_lab(share_runs=False)
    lab.train(TrainConfig(epochs=12, patience=0))
    result = lab.result
    grid = result.snapshots[-1].grid
    frame = sum(a.nbytes for a in (grid.xs, grid.ys, grid.proba))
    store = SharedRuns(4)
    kept = store.put(("run", 0), result, lab.model)
    assert len(kept.frames) == 1 and kept.frames.get(len(result.snapshots) - 1) is grid
    weights = sum(w.nbytes for w in kept.weights.values())
    assert kept.nbytes == result.records_nbytes() + weights and store.nbytes == kept.nbytes + frame
    result.snapshots[:4]  # the session that trained it replays: its frames are kept with the run
    assert len(kept.frames) == 5 and store.nbytes == kept.nbytes + 5 * frame
    again = new_lab(share_runs=False)
    again.train(TrainConfig(epochs=40, patience=0))
    size = SharedRuns(1).put(("run", 0), again.result, again.model).held
    small = SharedRuns(4, max_bytes=4 * size)  # a run of its size just fits
    mine = small.put(("run", 0), again.result, again.model)
    room = (small.max_bytes - small.nbytes) // frame
    assert 0 < room < len(again.result.snapshots) - 1
    again.result.snapshots[:]  # all drawn, for this session; only what fits is kept for the others
    assert len(mine.frames) == 1 + room and small.nbytes == mine.held <= small.max_bytes
    assert again.result.snapshots.drawn == len(again.result.snapshots)
    diverged = replace(result, states=(), snapshots=(), status="diverged")  # no kept weights: nothing to draw
    assert len(store.put(("run", 1), diverged, lab.model).frames) == 0
    store.put(("run", 0), again.result, again.model)  # the setting kept anew: the old run's frames go with it
    assert store.nbytes == sum(store.get(("run", k)).held for k in (0, 1))
