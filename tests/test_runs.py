"""Run history (core.history.runs) on SQLite always and on PostgreSQL when NNLAB_TEST_POSTGRES_URL is set (db_url)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from datetime import timedelta
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import update

from core.config import DataConfig, ModelConfig, Settings, TrainConfig
from core.evaluate import evaluate_model
from core.history.db import SCHEMA_VERSION, RunRow, StorageError, now, open_engine, schema_version, transaction
from core.history.runs import (
    Retention,
    RunError,
    RunRecord,
    comparison_title,
    delete_runs,
    difference_label,
    differing_settings,
    epochs_label,
    get_run,
    kept_epoch,
    list_runs,
    pin_run,
    record_run,
    run_boundary,
    run_settings,
    runs_csv,
    runs_frame,
    runs_json,
    settings_params,
    shown_setting,
)
from core.history.writer import EndedRun, RunWriter, describe_run
from core.lab import Lab
from core.plots.runs import runs_boundaries_figure, runs_curves_figure
from core.training.budget import Budget
from core.url.text import new_token

QUICK = TrainConfig(epochs=5, lr=0.03)
SECRET = "s3cret-Pa55"


@pytest.fixture
def engine(db_url: str):
    engine = open_engine(db_url)
    yield engine
    engine.dispose()


def session() -> str:
    """A fresh session token: the PostgreSQL database is shared by every test, so each uses its own."""
    return new_token()


def record(lr: float = 0.03, status: str = "completed") -> RunRecord:
    """A small synthetic record (no training): what the writers in the concurrency test save."""
    return RunRecord({"data": "circles", "lr": f"{lr:g}"}, status, 0.25,
                     ({"epoch": 1, "train_loss": 0.5, "train_acc": 0.75, "val_loss": None},),
                     {"test": {"accuracy": 0.75, "loss": 0.5, "n": 40}})


def ended_runs(circles, configs: list[TrainConfig], *, auto: bool = False,
               model: ModelConfig | None = None) -> list[EndedRun]:
    """Train a circles lab once per config and collect what its run-history hook is told."""
    told: list[EndedRun] = []
    lab = Lab(on_run_end=told.append)
    lab.set_data(DataConfig(name="circles", n_samples=200, noise=0.05, seed=0), circles)
    if model is not None:
        lab.set_model_config(model)
    for config in configs:
        lab.train(config, auto=auto) if auto else lab.train(config, wait=True)
    return told


def test_a_trained_run_is_saved_and_read_back_equal(engine, circles) -> None:
    (ended,) = ended_runs(circles, [QUICK])
    rec = describe_run(ended)
    sid = session()
    run_id = record_run(engine, sid, rec, origin="train")
    run = get_run(engine, sid, run_id)
    assert run.record == rec
    assert (run.origin, run.pinned, run.sweep, run.session) == ("train", False, None, sid)
    assert abs(run.created - now()) < timedelta(minutes=1)
    assert run_settings(run).train == QUICK and run_settings(run).data == ended.settings.data
    assert len(rec.history) == QUICK.epochs and rec.history[-1]["epoch"] == QUICK.epochs
    # The saved test accuracy is the evaluation's, measured independently.
    reference = evaluate_model(ended.model, circles.X_test, circles.y_test, circles.class_names)
    assert rec.metrics["test"]["accuracy"] == pytest.approx(reference.accuracy, abs=1e-6)
    assert rec.metrics["test"]["n"] == len(circles.y_test) and set(rec.metrics) == {"train", "validation", "test"}
    grid = run_boundary(run)
    assert grid.proba.shape == (40, 40, 2) and np.allclose(grid.proba.sum(axis=2), 1, atol=0.01)


def test_the_lab_tells_every_ended_run_once_with_its_origin(circles) -> None:
    told = ended_runs(circles, [QUICK, replace(QUICK, lr=0.3)])
    assert [e.origin for e in told] == ["train", "train"] and [e.settings.train.lr for e in told] == [0.03, 0.3]
    auto = ended_runs(circles, [QUICK], auto=True)
    assert [e.origin for e in auto] == ["auto"] and auto[0].result is not None and auto[0].model is not None


def test_a_diverged_run_is_kept_without_metrics(engine, circles) -> None:
    (ended,) = ended_runs(circles, [TrainConfig(optimizer="sgd", lr=10.0, epochs=20)],
                          model=ModelConfig(hidden=(64, 64)))
    rec = describe_run(ended)
    assert rec.status == "diverged" and ended.model is None
    assert rec.metrics == {} and rec.boundary is None and rec.history
    json.dumps(rec.history, allow_nan=False)  # NaN and infinity are stored as null: valid JSON for PostgreSQL
    sid = session()
    assert get_run(engine, sid, record_run(engine, sid, rec)).record == rec


def test_eight_concurrent_writers_lose_nothing(engine) -> None:
    sessions, errors = [session() for _ in range(8)], []

    def write(sid: str) -> None:
        try:
            for i in range(10):
                record_run(engine, sid, record(lr=0.001 * (i + 1)))
        except Exception as exc:  # reported below, with the thread's session
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(sid,)) for sid in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    for sid in sessions:
        runs = list_runs(engine, sid)
        assert len(runs) == 10
        assert sorted(r.record.settings["lr"] for r in runs) == sorted(f"{0.001 * (i + 1):g}" for i in range(10))


def test_an_auto_run_replaces_the_sessions_previous_unpinned_auto_run(engine) -> None:
    sid, other = session(), session()
    kept = record_run(engine, sid, record(), origin="train")
    first = record_run(engine, sid, record(0.1), origin="auto")
    record_run(engine, other, record(), origin="auto")
    pin_run(engine, sid, first)
    second = record_run(engine, sid, record(0.2), origin="auto")
    third = record_run(engine, sid, record(0.3), origin="auto")
    assert [r.id for r in list_runs(engine, sid)] == [third, first, kept]  # newest first; the pinned one stays
    assert second not in [r.id for r in list_runs(engine, sid)]
    assert len(list_runs(engine, other, origin="auto")) == 1  # another session's auto run is untouched
    assert [r.id for r in list_runs(engine, sid, origin="train")] == [kept]


def test_a_run_trained_by_a_slider_and_then_the_button_is_kept_once(engine) -> None:
    """QA: pressing Train on the settings a slider had just trained added a second, identical row. The button's run
    replaces its automatic twin; a twin that arrives after the button's run (the writer saves auto runs late) is not
    added, though it still replaces the session's older auto run; a pinned twin, or one that ended otherwise, stays."""
    sid, other = session(), session()
    auto = record_run(engine, sid, record(0.1), origin="auto")
    other_auto = record_run(engine, other, record(0.1), origin="auto")
    pressed = record_run(engine, sid, record(0.1), origin="train")
    assert [(r.id, r.origin) for r in list_runs(engine, sid)] == [(pressed, "train")] and auto != pressed
    assert [r.id for r in list_runs(engine, other)] == [other_auto]  # another session's twin is its own
    older = record_run(engine, sid, record(0.2), origin="auto")
    assert record_run(engine, sid, record(0.1), origin="auto") == pressed  # back to the trained settings
    assert [r.id for r in list_runs(engine, sid)] == [pressed] and older not in [r.id for r in list_runs(engine, sid)]
    pinned = record_run(engine, sid, record(0.3), origin="auto")
    pin_run(engine, sid, pinned)
    failed = record_run(engine, sid, record(0.3, status="failed"), origin="auto")
    record_run(engine, sid, record(0.3), origin="play")
    assert {r.id for r in list_runs(engine, sid, origin="auto")} == {pinned, failed}
    assert [r.origin for r in list_runs(engine, sid)].count("play") == 1


def test_the_writer_does_not_measure_an_auto_run_the_button_then_trained(engine, monkeypatch) -> None:
    measured: list[tuple[str, float]] = []
    monkeypatch.setattr("core.history.writer.describe_run",
                        lambda ended: measured.append((ended.origin, ended.settings.train.lr)) or fake_describe(ended))
    sid, writer = session(), RunWriter(lambda: engine)
    with writer._ready:  # both wait in the queue: the auto run for its delay, the Train run to be saved at once
        writer.submit(sid, quick_run(0.1, "auto"))
        writer.submit(sid, quick_run(0.1))
    assert writer.wait(30) and writer.error(sid) is None
    assert measured == [("train", 0.1)]  # the auto run cost the server nothing
    assert [(r.origin, r.record.settings["lr"]) for r in list_runs(engine, sid)] == [("train", "0.1")]


def test_retention_keeps_the_newest_runs_and_drops_old_ones(engine) -> None:
    sid, keep = session(), Retention(max_runs=3, days=7)
    ids = [record_run(engine, sid, record(0.01 * (i + 1)), retention=keep) for i in range(3)]
    pin_run(engine, sid, ids[0])
    newest = [record_run(engine, sid, record(0.1 * (i + 1)), retention=keep) for i in range(2)]
    assert sorted(r.id for r in list_runs(engine, sid)) == sorted([ids[0], *newest])  # pinned first to stay
    with transaction(engine) as db:  # one run eight days old
        db.execute(update(RunRow).where(RunRow.id == newest[0]).values(created=now() - timedelta(days=8)))
    latest = record_run(engine, sid, record(), retention=keep)
    assert sorted(r.id for r in list_runs(engine, sid)) == sorted([ids[0], newest[1], latest])


def test_retention_settings_come_from_the_environment() -> None:
    assert Retention.from_env({}) == Retention(200, 7.0)
    assert Retention.from_env({"NNLAB_MAX_RUNS": "50", "NNLAB_RUN_DAYS": "0.5"}) == Retention(50, 0.5)
    for env in ({"NNLAB_MAX_RUNS": "lots"}, {"NNLAB_MAX_RUNS": "0"}, {"NNLAB_RUN_DAYS": "-1"}):
        with pytest.raises(RunError, match="NNLAB_"):
            Retention.from_env(env)


def test_runs_belong_to_their_session(engine) -> None:
    sid, other = session(), session()
    run_id = record_run(engine, sid, record())
    with pytest.raises(RunError, match="not in this session"):
        get_run(engine, other, run_id)
    assert delete_runs(engine, other, [run_id]) == 0
    assert delete_runs(engine, sid, [run_id]) == 1 and list_runs(engine, sid) == []
    with pytest.raises(RunError, match="origin"):
        record_run(engine, sid, record(), origin="cron")
    record_run(engine, sid, record(), origin="sweep", sweep="grid-1")
    assert [r.sweep for r in list_runs(engine, sid, sweep="grid-1")] == ["grid-1"]


def test_the_schema_version_is_recorded(engine) -> None:
    assert schema_version(engine) == SCHEMA_VERSION


def test_errors_never_show_the_database_url(circles) -> None:
    url = f"postgresql://nnlab:{SECRET}@127.0.0.1:1/nnlab"  # nothing listens on port 1
    with pytest.raises(StorageError) as caught:
        open_engine(url)
    assert SECRET not in str(caught.value) and "127.0.0.1" not in str(caught.value)
    writer = RunWriter(lambda: open_engine(url))
    writer.submit("s" * 22, ended_runs(circles, [replace(QUICK, epochs=1)])[0])
    assert writer.wait(30)
    message = writer.error("s" * 22)
    assert message and "Cannot connect" in message and SECRET not in message
    assert writer.error("s" * 22) is None  # shown once


def test_the_writer_saves_in_the_background(engine, circles) -> None:
    sid, writer = session(), RunWriter(lambda: engine)
    for ended in ended_runs(circles, [QUICK, replace(QUICK, lr=0.3)]):
        writer.submit(sid, ended)
    assert writer.wait(30) and writer.error(sid) is None
    assert [r.record.settings["lr"] for r in list_runs(engine, sid)] == ["0.3", "0.03"]


def test_a_burst_of_auto_runs_measures_only_the_last_waiting_one(engine, circles, monkeypatch) -> None:
    """Auto runs queued behind a slow save are skipped when a later auto run of the same session waits: the
    history would replace them anyway, and measuring them costs the server CPU during a slider burst."""
    import core.history.writer as run_writer

    measured: list[str] = []
    original = run_writer.describe_run
    monkeypatch.setattr(run_writer, "describe_run",
                        lambda ended: measured.append(ended.settings.train.lr) or original(ended))
    sid, writer = session(), RunWriter(lambda: engine)
    runs = ended_runs(circles, [replace(QUICK, epochs=1, lr=lr) for lr in (0.01, 0.03, 0.1)], auto=True)
    trained = ended_runs(circles, [replace(QUICK, epochs=1, lr=0.3)])[0]
    with writer._ready:  # the worker cannot take a job until all four wait in the queue, as in a burst
        for ended in [*runs, trained]:
            writer.submit(sid, ended)
    assert writer.wait(30) and writer.error(sid) is None
    assert measured == [0.1, 0.3]  # 0.01 and 0.03 were superseded by 0.1; the Train run is always kept
    assert sorted(r.origin for r in list_runs(engine, sid)) == ["auto", "train"]


def quick_run(lr: float, origin: str = "train") -> EndedRun:
    """An ended run that needs no training: the tests below replace describe_run with `fake_describe`."""
    return EndedRun(Settings(train=TrainConfig(lr=lr)), origin, data=None, result=None, model=None)  # type: ignore[arg-type]


def fake_describe(ended: EndedRun) -> RunRecord:
    return record(ended.settings.train.lr)


def test_a_full_queue_drops_waiting_auto_runs_first_then_the_oldest(engine, monkeypatch) -> None:
    monkeypatch.setattr("core.history.writer.describe_run", fake_describe)
    sid, writer = session(), RunWriter(lambda: engine, max_queued=3)
    with writer._ready:  # the worker takes nothing until all six wait, as when the database is slow
        for lr, origin in [(0.1, "train"), (0.2, "auto"), (0.3, "train"), (0.4, "auto"), (0.5, "train"),
                           (0.6, "train")]:
            writer.submit(sid, quick_run(lr, origin))
        assert writer.dropped == 3  # 0.2 (auto), then 0.4 (auto), then 0.1 (the oldest, no auto left)
    assert writer.wait(30)
    assert sorted(r.record.settings["lr"] for r in list_runs(engine, sid)) == ["0.3", "0.5", "0.6"]
    assert writer.error(sid) == "The server was too busy to keep this run in the history."
    with pytest.raises(ValueError, match="max_queued must be at least 1"):
        RunWriter(lambda: engine, max_queued=0)


def test_close_saves_what_waits_and_drops_what_comes_later(engine, monkeypatch) -> None:
    monkeypatch.setattr("core.history.writer.describe_run", fake_describe)
    sid, writer = session(), RunWriter(lambda: engine)
    for lr in (0.1, 0.2):
        writer.submit(sid, quick_run(lr))
    assert writer.close(30) and len(list_runs(engine, sid)) == 2 and writer.dropped == 0
    writer.submit(sid, quick_run(0.3))
    assert writer.dropped == 1 and len(list_runs(engine, sid)) == 2 and "too busy" in (writer.error(sid) or "")
    writer._thread.join(5)  # the worker ends once closed and idle
    assert not writer._thread.is_alive()


SHUTDOWN_SCRIPT = textwrap.dedent("""
    import signal, sys, threading, time
    import core.history.writer as run_writer
    from core.config import Settings, TrainConfig
    from core.history.db import open_engine
    from core.history.runs import RunRecord

    def slow_describe(ended):  # each save takes a while: runs are still queued when the process is told to end
        time.sleep(0.2)
        return RunRecord({"lr": str(ended.settings.train.lr)}, "completed")

    url, mode = sys.argv[1], sys.argv[2]
    run_writer.describe_run = slow_describe
    engine = open_engine(url)
    if mode == "own-handler":
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(3))
    made = []
    maker = threading.Thread(target=lambda: made.append(run_writer.RunWriter(lambda: engine)))
    maker.start() if mode == "thread" else maker.run()
    maker.join() if mode == "thread" else None
    for i in range(5):
        made[0].submit("s1", run_writer.EndedRun(Settings(train=TrainConfig(lr=i + 1)), "train", None, None, None))
    print("queued", signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, flush=True)
    if mode != "thread":
        time.sleep(60)
""")


def test_runs_still_queued_are_saved_on_sigterm_or_exit(tmp_path) -> None:
    """SIGTERM (the default handler, or one the program set before, which still runs after) or a normal exit
    with the writer made off the main thread, where no signal handler can be set: every queued run is saved."""
    root = Path(__file__).resolve().parents[1]
    script = tmp_path / "shutdown.py"
    script.write_text(SHUTDOWN_SCRIPT)
    modes = {"default": -signal.SIGTERM, "own-handler": 3, "thread": 0}  # mode -> exit status
    urls = {mode: f"sqlite:///{tmp_path / mode}.sqlite3" for mode in modes}
    children = {mode: subprocess.Popen([sys.executable, str(script), urls[mode], mode], cwd=root, text=True,
                                       stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(root)})
                for mode in modes}  # side by side: each spends seconds importing torch
    try:
        for mode, child in children.items():
            # Off the main thread, SIGTERM is left alone (the atexit hook saves the runs).
            assert child.stdout.readline().split() == ["queued", str(mode == "thread")]
            if mode != "thread":
                child.send_signal(signal.SIGTERM)
        assert {mode: child.wait(60) for mode, child in children.items()} == modes
    finally:
        for child in children.values():
            child.kill()
            child.stdout.close()
    for mode, url in urls.items():
        saved = sorted(r.record.settings["lr"] for r in list_runs(open_engine(url), "s1"))
        assert saved == ["1", "2", "3", "4", "5"], mode


def test_differences_labels_and_exports(engine) -> None:
    sid = session()
    for lr in (0.03, 0.3):
        record_run(engine, sid, record(lr))
    runs = list_runs(engine, sid)[::-1]
    assert differing_settings(runs) == ("lr",) and differing_settings(runs[:1]) == ()
    assert comparison_title(runs, ["lr"]) == "lr 0.03 vs 0.3"
    assert [difference_label(r, ["lr"]) for r in runs] == ["lr 0.03", "lr 0.3"]
    table = pd.read_csv(StringIO(runs_csv(runs).decode()))
    assert list(table["id"]) == [r.id for r in runs] and list(table["lr"]) == [0.03, 0.3]
    assert list(runs_frame(runs)["test accuracy"]) == [0.75, 0.75]
    exported = json.loads(runs_json(runs))
    assert [e["settings"]["lr"] for e in exported] == ["0.03", "0.3"] and exported[0]["history"][0]["epoch"] == 1


def test_a_full_batch_reads_all_not_bs_0(engine) -> None:
    sid = session()
    for bs in ("0", "32"):
        rec = record()
        record_run(engine, sid, RunRecord({**rec.settings, "bs": bs}, rec.status, rec.seconds, rec.history,
                                          rec.metrics))
    runs = list_runs(engine, sid)[::-1]
    assert [difference_label(r, ["bs"]) for r in runs] == ["bs all", "bs 32"]
    assert comparison_title(runs, ["bs"]) == "bs all vs 32"
    assert list(runs_frame(runs)["bs"]) == ["all", "32"]


def test_a_setting_the_runs_model_does_not_use_is_not_shown_or_compared(engine) -> None:
    """A config keeps its MLP widths when the kind becomes a CNN (switching back restores them); a CNN run is not
    listed with them, nor an MLP with a CNN's width (exploratory QA: a CNN run read "hidden 1024")."""
    sid = session()
    for kind, hidden, width in (("cnn", "1024", "32"), ("cnn", "8,8", "32"), ("mlp", "8,8", "64")):
        rec = record()
        record_run(engine, sid, RunRecord({**rec.settings, "model": kind, "hidden": hidden, "width": width},
                                          rec.status, rec.seconds, rec.history, rec.metrics))
    cnn, other_cnn, mlp = list_runs(engine, sid)[::-1]
    frame = runs_frame([cnn, other_cnn, mlp])
    shown = frame[["hidden", "width"]].astype(object).where(frame[["hidden", "width"]].notna(), None)
    assert list(shown["hidden"]) == [None, None, "8,8"] and list(shown["width"]) == ["32", "32", None]
    assert differing_settings([cnn, other_cnn]) == ()  # only their unused widths differ
    assert set(differing_settings([cnn, mlp])) >= {"model", "hidden", "width"}


def test_a_logreg_run_is_never_labelled_with_hidden_layers(engine) -> None:
    """A config keeps its MLP widths when the model becomes a logistic regression; the table showed None for it,
    but the compare chart's titles and legends read "hidden 16" (QA at 1024 px)."""
    sid = session()
    for kind, hidden in (("logreg", "16"), ("mlp", "8")):
        rec = record()
        record_run(engine, sid, RunRecord({**rec.settings, "model": kind, "hidden": hidden}, rec.status,
                                          rec.seconds, rec.history, rec.metrics))
    logreg, mlp = list_runs(engine, sid)[::-1]
    keys = differing_settings([logreg, mlp])
    assert keys == ("model", "hidden")
    assert [difference_label(r, keys) for r in (logreg, mlp)] == ["model logreg", "model mlp, hidden 8"]
    assert comparison_title([logreg, mlp], keys) == "model logreg vs mlp; hidden 8"
    assert runs_frame([logreg]).loc[0, "hidden"] is None  # the table, as before


def test_an_early_stopped_run_says_which_epoch_it_kept(engine, circles) -> None:
    """Early stopping went back to an earlier epoch: the table said 57 epochs of a run whose metrics and boundary
    are of epoch 37's weights. The record notes the kept epoch with the metrics, and the labels say "37 of 57"."""
    ended = ended_runs(circles, [QUICK])[0]
    trained = len(ended.result.history)
    assert trained > 1
    went_back = replace(ended, result=replace(ended.result, best_epoch=1))  # as the stopping rule leaves it
    sid = session()
    record_run(engine, sid, describe_run(went_back))
    record_run(engine, sid, describe_run(ended))
    kept, last = list_runs(engine, sid)[::-1]
    assert {split: m["epoch"] for split, m in kept.record.metrics.items()} == dict.fromkeys(kept.record.metrics, 1)
    assert (kept_epoch(kept), epochs_label(kept)) == (1, f"1 of {trained}")
    assert (kept_epoch(last), epochs_label(last)) == (trained, f"{trained}")
    frame = runs_frame([kept, last])
    assert list(frame["kept epoch"]) == [1, trained] and list(frame["epochs"]) == [trained, trained]
    noted = describe_run(ended)  # saved before the epoch was noted: read as its last epoch, not its first
    record_run(engine, sid, replace(noted, metrics={split: {k: v for k, v in m.items() if k != "epoch"}
                                                    for split, m in noted.metrics.items()}))
    older = list_runs(engine, sid)[0]
    assert (kept_epoch(older), epochs_label(older)) == (trained, f"{trained}")


def test_the_overlay_has_one_colour_per_run_and_names_what_differs() -> None:
    epochs = np.arange(1, 4, dtype=float)
    arrays = {"epoch": epochs, "train_loss": 1 / epochs, "val_loss": 1.2 / epochs, "train_acc": epochs / 4,
              "val_acc": epochs / 5}
    fig = runs_curves_figure([("#1 · lr 0.03", arrays), ("#2 · lr 0.3", arrays)], title="Learning curves: lr")
    assert len(fig.data) == 8  # 2 runs x (loss, accuracy) x (train, validation)
    assert [t.name for t in fig.data if t.showlegend] == ["#1 · lr 0.03", "#2 · lr 0.3"]
    assert len({t.line.color for t in fig.data}) == 2 and {t.line.dash for t in fig.data} == {"solid", "dash"}
    with pytest.raises(ValueError, match="val_acc"):
        runs_curves_figure([("#1", {k: v for k, v in arrays.items() if k != "val_acc"})])


def test_the_overlay_marks_the_epoch_an_early_stopped_run_went_back_to() -> None:
    """A run that kept epoch 3 of 6 gets a diamond on its validation curves there; a run that kept its last epoch,
    or one whose kept epoch is unknown, gets none. Without validation the training curve carries it."""
    epochs = np.arange(1, 7, dtype=float)
    arrays = {"epoch": epochs, "train_loss": 1 / epochs, "val_loss": [0.9, 0.6, 0.5, 0.55, 0.6, 0.7],
              "train_acc": epochs / 7, "val_acc": [0.5, 0.7, 0.8, 0.78, 0.77, 0.75]}
    arrays = {k: np.asarray(v, dtype=float) for k, v in arrays.items()}
    no_val = {**arrays, "val_loss": np.full(6, np.nan), "val_acc": np.full(6, np.nan)}
    fig = runs_curves_figure([("#1", arrays), ("#2", arrays), ("#3", arrays), ("#4", no_val)], kept=[3, 6, None, 2])
    diamonds = [t for t in fig.data if t.marker.symbol == "diamond"]
    assert sorted((t.name, t.xaxis, t.x[0], t.y[0]) for t in diamonds) == [
        ("#1", "x", 3, 0.5), ("#1", "x2", 3, 0.8), ("#4", "x", 2, 0.5), ("#4", "x2", 2, 2 / 7)]
    assert all("weights kept from epoch" in t.hovertemplate for t in diamonds)
    assert "◆ weights kept" in fig.layout.legend.title.text
    plain = runs_curves_figure([("#1", arrays)], kept=[6])
    assert not [t for t in plain.data if t.marker.symbol == "diamond"] and "◆" not in plain.layout.legend.title.text
    with pytest.raises(ValueError, match="one kept epoch per run"):
        runs_curves_figure([("#1", arrays)], kept=[3, 4])


def test_a_run_shows_no_data_setting_its_dataset_does_not_use(engine) -> None:
    """QA: moons runs were listed with "classes 3" and "factor 0.5"; only circles have a factor, and only blobs and
    spirals a number of classes."""
    sid = session()
    for data in ("moons", "circles", "blobs"):
        rec = record()
        record_run(engine, sid, replace(rec, settings={**rec.settings, "data": data, "factor": "0.5", "classes": "3"}))
    shown = {run.record.settings["data"]: (shown_setting(run, "factor"), shown_setting(run, "classes"))
             for run in list_runs(engine, sid)}
    assert shown == {"moons": (None, None), "circles": ("0.5", None), "blobs": (None, "3")}


def test_a_run_stopped_after_one_epoch_is_drawn_as_a_point() -> None:
    one = {key: np.array([0.5]) for key in ("epoch", "train_loss", "val_loss", "train_acc", "val_acc")}
    long = {key: np.linspace(0.1, 1, 60) for key in one}
    fig = runs_curves_figure([("#1 · ep 1", one), ("#2", long)])
    assert {t.mode for t in fig.data if t.name == "#1 · ep 1"} == {"lines+markers"}  # visible without a line
    assert {t.mode for t in fig.data if t.name == "#2"} == {"lines"}


def test_boundaries_are_small_multiples_one_panel_per_run(engine, circles) -> None:
    sid = session()
    for ended in ended_runs(circles, [QUICK, replace(QUICK, lr=0.3)]):
        record_run(engine, sid, describe_run(ended))
    grids = [run_boundary(run) for run in list_runs(engine, sid)]
    fig = runs_boundaries_figure(grids, ["a", "b"])
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 2 and {t.xaxis for t in heatmaps} == {"x", "x2"}
    assert [a.text for a in fig.layout.annotations] == ["a", "b"]
    with pytest.raises(ValueError, match="one name per boundary"):
        runs_boundaries_figure(grids, ["a"])


def own_points(n: int) -> DataConfig:
    """Your own points: n points in two well-separated classes, as the Data page's drawing gives them."""
    rng = np.random.default_rng(n)
    points = tuple((float(x) + 3 * (i % 2), float(y), i % 2) for i, (x, y) in enumerate(rng.normal(size=(n, 2))))
    return DataConfig(name="csv", points=points, class_names=("left", "right"))


def test_a_run_on_a_small_drawn_set_reopens_with_its_points(engine) -> None:
    data = own_points(120)
    settings = Settings(data, ModelConfig(hidden=(4,)), TrainConfig(lr=0.03, epochs=3))
    record = RunRecord(settings_params(settings), "completed")
    run = get_run(engine, "s1", record_run(engine, "s1", record))
    reopened = run_settings(run)
    assert np.allclose(reopened.data.points, data.points, atol=1e-3) and reopened.data.class_names == data.class_names
    assert (reopened.model.hidden, reopened.train.lr) == ((4,), 0.03)


def test_a_run_on_a_large_set_of_your_own_points_says_why_it_cannot_reopen(engine) -> None:
    settings = Settings(own_points(250), ModelConfig(), TrainConfig())
    run = get_run(engine, "s1", record_run(engine, "s1", RunRecord(settings_params(settings), "completed")))
    with pytest.raises(RunError, match="own points, more than 200 of them.*load the same file"):
        run_settings(run)


def test_a_run_on_a_worker_is_told_once_however_often_it_is_polled(circles) -> None:
    told: list[EndedRun] = []
    lab = Lab(on_run_end=told.append, budget=Budget(inline_s=1e-9))  # every run goes to a worker
    lab.set_data(DataConfig(name="circles", n_samples=200, noise=0.05, seed=0), circles)
    for run in (1, 2):
        assert lab.train(QUICK) is None, "started on a worker"
        lab.job.join(60)
        for _ in range(3):
            assert lab.poll().done
        assert len(told) == run and told[-1].result is lab.result
