"""The seed spread: cells that differ only by seed, trained batched and each equal to its run alone; the summary's
spread and interval against a direct computation; the band figure; the Sweep page's "Train 5 seeds"."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from app_pages.common.session import SESSION
from core.config import DataConfig, ModelConfig, RunOptions, Settings, TrainConfig
from core.data.make import make_dataset
from core.evaluate import accuracy_interval
from core.models import build_model
from core.plots.seeds import seed_spread_figure
from core.sweep.batched import batches
from core.sweep.grid import SweepError
from core.sweep.seeds import SeedSpreadJob, seed_cells, seed_spread
from core.training.train import train_model
from tests.conftest import wait_until
from tests.test_pages import no_errors
from tests.test_sweep_page import sweep_page

DATA = DataConfig(name="moons", n_samples=300, noise=0.25, seed=0)
SETTINGS = Settings(DATA, ModelConfig(hidden=(8, 8)), TrainConfig(lr=0.03, epochs=30, patience=5, seed=2, init_seed=7))
OPTIONS = RunOptions(threads=1)


def test_seed_cells_differ_only_by_their_seeds_and_batch_together() -> None:
    cells = seed_cells(SETTINGS, seeds=5)
    assert [(c.train.seed, c.train.init_seed) for c in cells] == [(2, 7), (3, 8), (4, 9), (5, 10), (6, 11)]
    assert all(replace(c.train, seed=0, init_seed=0) == replace(SETTINGS.train, seed=0, init_seed=0) for c in cells)
    assert {(c.data, c.model) for c in cells} == {(DATA, SETTINGS.model)}
    assert len(batches(cells)) == 1, "one batched model for all five"
    for bad in (1, 11):
        with pytest.raises(SweepError, match="2 to 10 seeds"):
            seed_cells(SETTINGS, seeds=bad)


def test_the_spread_is_each_seeds_own_run_summarized() -> None:
    data = make_dataset(DATA)
    spread = seed_spread(SETTINGS, data, seeds=4, options=OPTIONS)
    finals, curves = [], []
    for cell in seed_cells(SETTINGS, seeds=4):  # each seed trained alone, as an ordinary run
        model = build_model(cell.model, seed=cell.train.init_seed)
        result = train_model(model, data, cell.train, OPTIONS)
        curves.append([s.val_acc for s in result.history])
        with torch.no_grad():
            predicted = model(torch.as_tensor(data.X_val)).argmax(1).numpy()
        finals.append(float((predicted == data.y_val).mean()))
    assert spread.seeds == (2, 3, 4, 5)
    np.testing.assert_allclose(spread.final, finals, atol=1e-6)
    for row, curve in zip(spread.val_acc, curves):
        np.testing.assert_allclose(row[:len(curve)], curve, atol=1e-5)
        assert np.isnan(row[len(curve):]).all(), "NaN after a run ended"
    assert spread.mean == pytest.approx(np.mean(finals)) and spread.sd == pytest.approx(np.std(finals, ddof=1))
    assert spread.n_val == len(data.y_val)
    assert spread.interval == pytest.approx(accuracy_interval(np.mean(finals), len(data.y_val)))


def test_a_spread_needs_a_validation_split_and_a_finished_job_reports_it() -> None:
    data = make_dataset(DATA)
    with pytest.raises(SweepError, match="validation share above 0"):
        seed_spread(SETTINGS, replace(data, X_val=None, y_val=None), options=OPTIONS)
    job = SeedSpreadJob(SETTINGS, data, seeds=3, options=OPTIONS, slots=None).start().join(60)
    assert job.done and job.error is None and len(job.spread.final) == 3
    stopped = SeedSpreadJob(SETTINGS, data, seeds=3, options=OPTIONS, slots=None)
    stopped.stop()
    stopped.start().join(60)
    assert stopped.done and "Stopped after 0 of 3 seeds" in stopped.error


def test_the_figure_draws_a_min_max_band_the_mean_and_the_finals_beside_the_interval() -> None:
    curves = np.array([[0.5, 0.7, 0.8], [0.6, 0.9, np.nan]])
    fig = seed_spread_figure(curves, np.array([0.8, 0.9]), seeds=(0, 1), interval=(0.7, 0.95))
    high, low, mean, dots, summary, interval = fig.data
    np.testing.assert_allclose(high.y, [60, 90, 80])
    np.testing.assert_allclose(low.y, [50, 70, 80])
    assert low.fill == "tonexty" and "min–max" in low.name
    np.testing.assert_allclose(mean.y, [55, 80, 80])
    np.testing.assert_allclose(dots.y, [80, 90])
    assert summary.y[0] == pytest.approx(85)
    assert summary.error_y.array[0] == pytest.approx(100 * np.std([0.8, 0.9], ddof=1))
    assert interval.error_y.array[0] == pytest.approx(10) and interval.error_y.arrayminus[0] == pytest.approx(15)
    assert "seeds" in fig.layout.title.text
    with pytest.raises(ValueError, match="one final accuracy and one seed per run"):
        seed_spread_figure(curves, np.array([0.8]), seeds=(0, 1), interval=(0.7, 0.9))
    with pytest.raises(ValueError, match="within 0..1"):
        seed_spread_figure(curves, np.array([0.8, 0.9]), seeds=(0, 1), interval=(0.9, 0.7))


def test_the_sweep_page_trains_five_seeds_and_shows_the_band() -> None:
    at = sweep_page(epochs=15).run()
    no_errors(at)
    at.button(key="seeds.train").click().run()
    no_errors(at)
    job = at.session_state[SESSION].lab.seeds  # kept with the Lab (the session store), not in session_state
    wait_until(lambda: job.done, timeout=60, what="the five seeds")
    at.run()
    no_errors(at)
    assert job.error is None and len(job.spread.seeds) == 5
    (fig,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if "seeds" in c.proto.spec]
    assert [t["type"] for t in fig["data"]] == ["scatter"] * 6
    text = " ".join(m.value for m in at.markdown)
    assert "over 5 seeds" in text and "One run's 95% interval" in text
