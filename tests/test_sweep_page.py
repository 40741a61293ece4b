"""The Sweep page under AppTest: a 2 x 2 circles sweep runs in the background, shows its heatmap, opens a run."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_pages.common.session import SESSION
from core.training.jobs import SHARED_SLOTS
from tests.conftest import wait_until
from tests.test_pages import decoded, no_errors, page, ready_lab


def sweep_page(epochs: int = 20) -> AppTest:
    lab = ready_lab()
    # a short run per cell keeps the test fast
    lab.apply(replace(lab.settings, train=replace(lab.train_config, epochs=epochs)))
    return page("sweep", lab)


def heatmaps(at: AppTest) -> list[dict]:
    """The plotly charts on the page that hold a heatmap trace (their figure specs)."""
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return [s for s in specs if any(t.get("type") == "heatmap" for t in s["data"])]


def run_sweep_on_page(at: AppTest) -> AppTest:
    at.multiselect(key="sweep.first.lr").set_value([0.01, 0.1])
    at.multiselect(key="sweep.second.units").set_value([2, 8]).run()
    assert at.button(key="sweep.run").label == "Run 4 runs"
    at.button(key="sweep.run").click().run()
    no_errors(at)
    job = at.session_state[SESSION].lab.sweep
    wait_until(lambda: job.progress().done, timeout=30, what="the 2 x 2 sweep")
    return at.run()


def test_a_2x2_sweep_shows_its_heatmap_best_cell_and_table() -> None:
    at = run_sweep_on_page(sweep_page().run())
    no_errors(at)
    result = at.session_state[SESSION].lab.sweep.progress().result
    assert len(result.cells) == 4 and not result.stopped
    (fig,) = heatmaps(at)
    z = decoded(fig["data"][0]["z"]).ravel()
    np.testing.assert_allclose(z, [100 * c.val_acc for c in result.cells])
    assert fig["data"][1]["customdata"][0][0] == 0  # the clickable layer knows each cell's index
    best = result.best
    assert any("Best by validation accuracy" in s.value and f"{100 * best.val_acc:.1f}%" in s.value
               for s in at.success)
    table = at.dataframe[0].value
    assert list(table.columns[:2]) == ["lr", "units"] and len(table) == 4
    assert SHARED_SLOTS.running == 0


def test_opening_the_best_run_makes_its_settings_current_and_trains_it() -> None:
    at = run_sweep_on_page(sweep_page().run())
    best = at.session_state[SESSION].lab.sweep.progress().result.best
    at.button(key="sweep.best").click().run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert (lab.train_config, lab.model_config) == (best.cell.train, best.cell.model)
    assert lab.result is not None and [s.val_acc for s in lab.result.history] == [s.val_acc for s in best.history]
    assert at.title[0].value == "Train"


def test_no_values_picked_disables_run_and_a_logreg_is_not_offered_units() -> None:
    at = sweep_page().run()
    at.multiselect(key="sweep.first.lr").set_value([]).run()
    no_errors(at)
    assert at.button(key="sweep.run").disabled and at.button(key="sweep.run").label == "Pick values"  # not "Run 0"
    lab = at.session_state[SESSION].lab
    lab.set_model_config(replace(lab.model_config, kind="logreg"))
    at.run()
    no_errors(at)
    assert "units" not in at.selectbox(key="sweep.first").options
    assert at.selectbox(key="sweep.second").value == "none"


def test_stop_ends_the_sweep_early() -> None:
    at = sweep_page(epochs=300).run()
    at.multiselect(key="sweep.first.lr").set_value([0.01, 0.03, 0.1, 0.3])
    at.button(key="sweep.run").click().run()
    job = at.session_state[SESSION].lab.sweep
    at.button(key="sweep.stop").click().run()
    wait_until(lambda: job.progress().done, timeout=30, what="the stopped sweep")
    at.run()
    no_errors(at)
    assert job.progress().result.stopped
    assert any("Stopped after" in i.value for i in at.info)


def kept_sweep_runs(at: AppTest) -> list:
    """The session's sweep runs in the history, oldest first (once the writer has saved them)."""
    from app_pages.common.session import run_writer
    from core.history.db import shared_engine
    from core.history.runs import list_runs

    at.run()  # the page's next run hands the last finished cells to the history
    assert run_writer().wait(10)
    return sorted(list_runs(shared_engine(), at.session_state[SESSION].token, origin="sweep"), key=lambda run: run.id)


def test_each_cell_of_a_sweep_is_kept_in_the_run_history() -> None:
    at = run_sweep_on_page(sweep_page().run())
    result = at.session_state[SESSION].lab.sweep.progress().result
    kept = kept_sweep_runs(at)
    assert len(kept) == 4 and len({run.sweep for run in kept}) == 1
    assert [run.record.metrics["validation"]["accuracy"] for run in kept] == [
        pytest.approx(c.val_acc, abs=1e-6) for c in result.cells]


def test_a_sweep_started_before_the_session_has_a_token_is_still_kept() -> None:
    at = sweep_page().run()
    at.session_state[SESSION].token = None  # as on a session's very first run: the store has not given it a token yet
    at = run_sweep_on_page(at)
    assert at.session_state[SESSION].token is not None
    assert len(kept_sweep_runs(at)) == 4


def test_a_reload_finds_the_sweep_with_the_lab() -> None:
    at = run_sweep_on_page(sweep_page().run())
    job = at.session_state[SESSION].lab.sweep
    reloaded = AppTest.from_file("../app.py", default_timeout=60)  # the same address bar, a new browser session
    reloaded.query_params.update({"s": at.session_state[SESSION].token})
    reloaded.switch_page("app_pages/sweep.py").run()
    no_errors(reloaded)
    assert reloaded.session_state[SESSION].lab.sweep is job
    assert len(heatmaps(reloaded)) == 1 and any("Best by validation" in s.value for s in reloaded.success)


def test_the_page_opened_fresh_offers_the_default_grid() -> None:
    at = page("sweep").run()  # a bookmarked link: no earlier page, the default circles lab
    no_errors(at)
    assert at.selectbox(key="sweep.first").value == "lr" and at.selectbox(key="sweep.second").value == "units"
    assert at.button(key="sweep.run").label == "Run 9 runs" and at.button(key="sweep.stop").disabled
    assert any("press **Run**" in i.value for i in at.info)


def test_a_grid_over_the_servers_budget_is_refused_with_what_to_lower_and_the_last_sweep_kept() -> None:
    """The budget a run has holds for a sweep and a seed spread (tests/test_sweep_budget.py): here a page whose
    session's budget allows runs of 10 µs refuses the grid and the seeds before anything trains."""
    at = run_sweep_on_page(sweep_page().run())
    lab = at.session_state[SESSION].lab
    last = lab.sweep
    lab.budget = replace(lab.budget, max_run_s=1e-5)
    at.button(key="sweep.run").click().run()
    lab = at.session_state[SESSION].lab
    assert lab.budget.max_run_s == 1e-5 and lab.sweep.id == last.id  # the last sweep is kept, not stopped
    assert last.progress().done and not last.progress().result.stopped
    assert any("The sweep could not start: lr 0.01 · units 2: This run would take about" in e.value
               and "over this server's limit" in e.value for e in at.error), [e.value for e in at.error]
    at.button(key="seeds.train").click().run()
    assert at.session_state[SESSION].lab.seeds is None and SHARED_SLOTS.running == 0
    assert any("The seed spread could not start: seed 0: This run would take" in e.value for e in at.error)


def back_after_train_and_a_reload(at: AppTest) -> tuple[AppTest, AppTest]:
    """The page again after a visit to Train, and in a reloaded tab of the same session."""
    at.switch_page("app_pages/train.py").run()
    at.switch_page("app_pages/sweep.py").run()
    reloaded = AppTest.from_file("../app.py", default_timeout=60)
    reloaded.query_params.update({"s": at.session_state[SESSION].token})
    reloaded.switch_page("app_pages/sweep.py").run()
    return at, reloaded


def test_the_pickers_keep_the_sweeps_values_after_a_page_change_and_a_reload() -> None:
    """Streamlit forgets a widget that a page run does not draw: back from Train (or after a reload) the pickers
    showed the default 3 x 3 grid and "Run 9 runs" beside the heatmap of the sweep that ran. They start from it."""
    at = sweep_page().run()
    at.selectbox(key="sweep.second").set_value("batch").run()
    at.multiselect(key="sweep.first.lr").set_value([0.01, 0.1])
    at.multiselect(key="sweep.second.batch").set_value([16, 0]).run()
    at.button(key="sweep.run").click().run()
    job = at.session_state[SESSION].lab.sweep
    wait_until(lambda: job.progress().done, timeout=30, what="the 2 x 2 sweep")
    for back in back_after_train_and_a_reload(at):
        no_errors(back)
        assert (back.selectbox(key="sweep.first").value, back.selectbox(key="sweep.second").value) == ("lr", "batch")
        assert back.multiselect(key="sweep.first.lr").value == [0.01, 0.1]
        assert back.multiselect(key="sweep.second.batch").value == [16, 0]
        assert back.button(key="sweep.run").label == "Run 4 runs"


def test_picks_not_yet_run_are_kept_across_a_page_change_and_a_reload() -> None:
    """QA: values picked but not run went back to the last sweep's (or the usual grid) after a visit to Train."""
    at = sweep_page().run()
    at.selectbox(key="sweep.first").set_value("activation").run()
    at.multiselect(key="sweep.first.activation").set_value(["tanh", "sigmoid"])
    at.selectbox(key="sweep.second").set_value("none").run()
    assert at.button(key="sweep.run").label == "Run 2 runs"
    for back in back_after_train_and_a_reload(at):
        no_errors(back)
        assert (back.selectbox(key="sweep.first").value, back.selectbox(key="sweep.second").value) == (
            "activation", "none")
        assert back.multiselect(key="sweep.first.activation").value == ["tanh", "sigmoid"]
        assert back.button(key="sweep.run").label == "Run 2 runs"
    assert at.session_state[SESSION].lab.sweep is None  # nothing ran
