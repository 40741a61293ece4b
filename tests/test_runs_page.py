"""The Runs page under AppTest: runs trained in the app are listed, overlaid, pinned and deleted."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_pages.common import tab_secret
from app_pages.common.session import SESSION, run_writer
from app_pages.common.tab_secret import hash_secret
from core.config import ModelConfig, Settings, TrainConfig
from core.history.db import shared_engine
from core.history.owners import record_owner
from core.history.runs import RunRecord, list_runs, record_run
from core.url.state import encode
from core.url.text import new_token
from tests.test_runs import own_points

TIMEOUT = 60


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.fixture
def two_runs(db_url: str, monkeypatch) -> AppTest:
    """A session that trained circles with the Train button (lr 0.03), then moved the lr slider to 0.3.

    The history is a fresh SQLite file, then the PostgreSQL server when there is one (tests/conftest.py).
    """
    monkeypatch.setenv("NNLAB_DATABASE_URL", db_url)
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT).switch_page("app_pages/train.py").run()
    at.button(key="train.go").click().run()  # a "train" run (the session's first, automatic run stays too)
    at.select_slider(key="train.lr").set_value(0.3).run()  # an automatic run: it replaces the first one
    no_errors(at)
    assert run_writer().wait(30)
    return at.switch_page("app_pages/runs.py").run()


def select(at: AppTest, rows: list[int]) -> AppTest:
    at.session_state["runs.table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    return at.run()


def test_two_runs_are_listed_and_overlaid(two_runs: AppTest) -> None:
    at = two_runs
    no_errors(at)
    table = at.dataframe(key="runs.table").value
    assert len(table) == 2
    assert sorted(table["lr"]) == ["0.03", "0.3"] and sorted(table["origin"]) == ["auto", "train"]
    assert list(table.columns[:2]) == ["id", "lr"]  # the one setting that differs comes first
    assert not at.get("plotly_chart")  # nothing selected: no overlay yet
    at = select(at, [0, 1])
    no_errors(at)
    curves = at.get("plotly_chart")[0].proto.spec
    assert "lr 0.03 vs 0.3" in curves or "lr 0.3 vs 0.03" in curves
    assert len(at.get("plotly_chart")) == 2  # the curves and the two boundaries
    assert at.dataframe(key="runs.table").value["lr"].tolist() == table["lr"].tolist()


def test_pin_then_delete_a_run(two_runs: AppTest) -> None:
    at = select(two_runs, [0])
    first = at.dataframe(key="runs.table").value["id"].iloc[0]
    at.button(key="runs.pin").click().run()
    no_errors(at)
    assert at.dataframe(key="runs.table").value.set_index("id").loc[first, "pinned"]
    at = select(at, [0])
    at.button(key="runs.delete").click().run()
    no_errors(at)
    remaining = at.dataframe(key="runs.table").value
    assert len(remaining) == 1 and first not in set(remaining["id"])


def test_open_makes_a_runs_settings_current_again(two_runs: AppTest) -> None:
    at = two_runs
    table = at.dataframe(key="runs.table").value
    row = int(table.index[table["lr"] == "0.03"][0])
    at = select(at, [row])
    at.button(key="runs.open").click().run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert lab.train_config.lr == 0.03 and lab.model is not None
    assert any("retrained with the same settings and seeds" in i.value for i in at.info)


def test_a_database_that_cannot_be_reached_leaves_training_alone(tmp_path, monkeypatch) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the state folder should be")
    monkeypatch.setenv("NNLAB_STATE_DIR", str(blocked))
    monkeypatch.delenv("NNLAB_DATABASE_URL", raising=False)
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT).switch_page("app_pages/train.py").run()
    toasts = [t.value for t in at.toast]  # the first run's save may already have failed
    toasts += [t.value for t in at.button(key="train.go").click().run().toast]
    assert run_writer().wait(30)
    toasts += [t.value for t in at.run().toast]
    toasts += [t.value for t in at.run().toast]
    no_errors(at)
    assert at.session_state[SESSION].lab.model is not None
    assert len([t for t in toasts if "Run history is off" in t]) == 1  # said once, not on every run
    assert not [t for t in toasts if str(blocked) in t]
    at.switch_page("app_pages/runs.py").run()
    assert not at.exception and at.warning and "cannot be read" in at.warning[0].value
    assert str(blocked) not in at.warning[0].value


def test_a_session_opened_on_the_runs_page_lists_its_first_run_at_once(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NNLAB_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("NNLAB_DATABASE_URL", raising=False)
    # Its first run ends before the session has a token; the token is given before the page runs, so the
    # held run is saved and listed in this very first page run.
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT).switch_page("app_pages/runs.py").run()
    no_errors(at)
    table = at.dataframe(key="runs.table").value
    assert list(table["origin"]) == ["auto"] and list(table["data"]) == ["circles"]


def test_a_link_whose_session_the_server_forgot_keeps_its_run_history(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NNLAB_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("NNLAB_DATABASE_URL", raising=False)
    old = new_token()  # a link from before a restart: its token is not in this server's store
    record_run(shared_engine(), old, RunRecord({"data": "circles", "lr": "0.1"}, "completed"), origin="train")
    record_owner(shared_engine(), old, hash_secret(tab_secret.APPTEST_SECRET))  # made by this test's browser tab
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.query_params["s"] = old
    at.switch_page("app_pages/runs.py").run()
    no_errors(at)
    assert run_writer().wait(30)  # the first automatic run saved, whatever the machine's load
    at.run()
    assert at.session_state[SESSION].token != old  # a fresh token, as for any forgotten session
    table = at.dataframe(key="runs.table").value
    assert "0.1" in set(table["lr"]) and len(table) == 2  # the old run, and this session's first automatic run
    assert list_runs(shared_engine(), old) == []


def test_open_brings_back_a_run_on_your_own_drawn_points(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NNLAB_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("NNLAB_DATABASE_URL", raising=False)
    data = own_points(120)
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.query_params.update(encode(Settings(data, ModelConfig(hidden=(4,)), TrainConfig(lr=0.03, epochs=30))))
    at.switch_page("app_pages/runs.py").run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert lab.data_config.name == "csv" and list(at.dataframe(key="runs.table").value["data"]) == ["csv"]
    lab.apply(replace(lab.settings, train=replace(lab.train_config, lr=0.3)))  # the user has moved on since
    lab.forget_model()
    at = select(at, [0])
    at.button(key="runs.open").click().run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert np.allclose(lab.data_config.points, data.points, atol=1e-3)
    assert lab.train_config.lr == 0.03 and lab.model is not None
    assert any("retrained with the same settings and seeds" in i.value for i in at.info)


def ticked(at: AppTest) -> list[int]:
    """The ids of the runs ticked in the table: the rows the page reads, named by the table as shown."""
    rows = at.session_state["runs.table"]["selection"]["rows"]
    return sorted(int(run_id) for run_id in at.dataframe(key="runs.table").value["id"].iloc[rows])


def overlaid(at: AppTest) -> set[int]:
    """The ids of the runs whose curves are overlaid: each trace's legend group starts with the run's label, #id."""
    charts = at.get("plotly_chart")
    traces = json.loads(charts[0].proto.spec)["data"] if charts else []
    return {int(trace["legendgroup"].split(" · ")[0].removeprefix("#")) for trace in traces}


def unticked(at: AppTest) -> list[str]:
    """The page's notes on ticked runs that left the history without being deleted."""
    return [c.value for c in at.caption if c.value.startswith("Unticked")]


def test_the_tick_follows_its_run_when_open_adds_a_run_at_the_top(two_runs: AppTest) -> None:
    table = two_runs.dataframe(key="runs.table").value
    row = int(table.index[table["lr"] == "0.03"][0])
    assert row > 0  # the older run: not the first row
    opened, other = int(table["id"].iloc[row]), int(table["id"].iloc[1 - row])
    at = select(two_runs, [row])
    at.button(key="runs.open").click().run()
    assert run_writer().wait(30)
    at.run()  # the retrained run is saved: it is listed, at the top
    no_errors(at)
    table = at.dataframe(key="runs.table").value
    new = int(table["id"].iloc[0])
    assert len(table) == 3 and new not in {opened, other}
    assert ticked(at) == [opened]
    assert overlaid(at) == {opened}
    at.button(key="runs.delete").click().run()  # Delete acts on the ticked run, wherever its row went
    no_errors(at)
    assert set(at.dataframe(key="runs.table").value["id"]) == {new, other}
    assert ticked(at) == [] and not at.get("plotly_chart") and not unticked(at)


def test_the_tick_follows_its_run_when_a_training_ends_while_the_page_is_open(two_runs: AppTest) -> None:
    at = select(two_runs, [1])
    chosen = ticked(at)
    token = at.session_state[SESSION].token
    record_run(shared_engine(), token, RunRecord({"data": "circles", "lr": "0.1"}, "completed"), origin="train")
    at.run()
    no_errors(at)
    assert len(at.dataframe(key="runs.table").value) == 3
    assert ticked(at) == chosen and overlaid(at) == set(chosen)


def test_deleting_the_ticked_run_ticks_no_other(two_runs: AppTest) -> None:
    at = select(two_runs, [0])
    at.button(key="runs.delete").click().run()
    no_errors(at)
    assert len(at.dataframe(key="runs.table").value) == 1
    assert ticked(at) == [] and not at.get("plotly_chart") and not unticked(at)
    assert any("Select runs in the table" in i.value for i in at.info)


def test_a_ticked_automatic_run_replaced_by_the_next_is_unticked_with_a_note(two_runs: AppTest) -> None:
    table = two_runs.dataframe(key="runs.table").value
    auto = int(table["id"][table["origin"] == "auto"].iloc[0])
    at = select(two_runs, [int(table.index[table["origin"] == "train"][0])])
    at.button(key="runs.open").click().run()  # the lr 0.03 run is current now, so the automatic one can be opened
    assert run_writer().wait(30)
    at = select(at.run(), [int(at.dataframe(key="runs.table").value.set_index("id").index.get_loc(auto))])
    assert ticked(at) == [auto]
    notes = unticked(at.button(key="runs.open").click().run())  # retrained as an automatic run: it replaces this one
    assert run_writer().wait(30)
    notes += unticked(at.run())  # the note comes with the run that finds the replacement listed, once
    no_errors(at)
    assert auto not in set(at.dataframe(key="runs.table").value["id"])
    assert ticked(at) == [] and notes == [f"Unticked #{auto}: no longer in the history (an automatic run is kept "
                                          "only until the next one, unless pinned)."]


def test_compared_runs_read_at_1024_px(two_runs: AppTest) -> None:
    """QA at 1024 px: the boundaries' long titles ran into each other, a logreg run read "hidden 16", validation
    and test accuracy and the epochs needed scrolling, and an early-stopped run said 57 epochs while its figures
    are of epoch 37."""
    at = two_runs
    token = at.session_state[SESSION].token
    base = list_runs(shared_engine(), token)[0].record
    history = tuple({**base.history[0], "epoch": e} for e in range(1, 58))
    metrics = {split: {**m, "epoch": 37} for split, m in base.metrics.items()}
    logreg = record_run(shared_engine(), token, RunRecord({**base.settings, "model": "logreg", "hidden": "32"},
                                                          "early_stopped", 1.0, history, metrics, base.boundary))
    at.run()
    table = at.dataframe(key="runs.table").value
    keys = list(table.columns).index("status")  # the settings that differ come before the figures
    assert list(table.columns[:keys]) == ["id", "model", "hidden", "lr", "validation accuracy", "test accuracy",
                                          "epochs", "train accuracy"]
    row = table.set_index("id").loc[logreg]
    assert row["epochs"] == "37 of 57" and row["hidden"] == "—"  # not "None" (QA)
    assert row["status"] == "early stopped"  # as the sidebar says, not "early_stopped" (QA)
    shown = at.dataframe(key="runs.table")
    for split in ("train", "validation", "test"):  # in percent, to one decimal, as every other page shows them
        assert table[f"{split} accuracy"].tolist() == pytest.approx(
            [100 * r.record.metrics[split]["accuracy"] for r in list_runs(shared_engine(), token)])
    config = json.loads(shown.proto.columns)
    assert {config[f"{s} accuracy"]["type_config"]["format"] for s in ("train", "validation", "test")} == {"%.1f%%"}
    assert config["status"]["width"] == 100  # "converged" whole at 1024 px
    at = select(at, [0, 1, 2])
    no_errors(at)
    curves, boundaries = (json.loads(chart.proto.spec) for chart in at.get("plotly_chart"))
    ids = sorted(int(i) for i in table["id"])
    assert [a["text"] for a in boundaries["layout"]["annotations"]] == [f"#{i}" for i in ids]
    assert "hidden 32" not in json.dumps(curves) + json.dumps(boundaries)
    note = next(c.value for c in at.caption if c.value.startswith(f"#{ids[0]}:"))
    assert f"#{logreg}: model logreg, lr " in note and "weights of epoch 37 of 57" in note
