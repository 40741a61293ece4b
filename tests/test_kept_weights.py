"""A run that early stopping took back to its best epoch is shown, recorded and shared as the weights it kept, not
as its last epoch's: the Train page's cards and boundary, the run history's validation figures and a shared run's
final boundary all match what Evaluate measures on the model (exploratory QA, 7 December 2026: Train showed
"Decision boundary after epoch 15" and a validation loss of 1.640 for a model that kept epoch 5's weights, 0.405)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.config import DataConfig, ModelConfig, Settings, TrainConfig
from core.data.make import make_dataset
from core.history.writer import EndedRun, run_validation
from core.lab import SNAPSHOT_RESOLUTION, Lab
from core.training.shared_runs import SharedRuns
from tests.test_pages import no_errors, page

NOISY = DataConfig(name="gaussians", n_samples=100, noise=0.4, seed=2)  # easy to overfit
OVERFITS = TrainConfig(epochs=300, lr=0.05, patience=5, batch_size=0)


@pytest.fixture(scope="module")
def lab() -> Lab:
    lab = Lab(share_runs=False)
    lab.set_data(NOISY, make_dataset(NOISY))
    lab.apply(Settings(NOISY, ModelConfig(hidden=(128, 128), input_shape=(2,), n_classes=2), OVERFITS),
              train="never")
    lab.train(OVERFITS, wait=True)
    return lab


def test_the_run_knows_the_epoch_it_kept_and_its_figures(lab: Lab) -> None:
    result = lab.result
    assert result.status == "early_stopped" and result.kept_epoch == result.best_epoch < result.history[-1].epoch
    assert result.kept_stats is result.history[result.best_epoch - 1]
    assert result.states[result.kept_index].epoch == result.kept_epoch


def test_the_boundary_shown_after_the_run_is_the_kept_models(lab: Lab) -> None:
    shown = lab.kept_boundary()
    assert shown.epoch == lab.result.kept_epoch
    np.testing.assert_allclose(shown.grid.proba, lab.boundary(SNAPSHOT_RESOLUTION).proba, atol=1e-6)
    last = lab.result.snapshots[-1]  # the last epoch's weights, which the run threw away, drew another boundary
    assert np.abs(last.grid.proba - shown.grid.proba).max() > 0.01


def test_the_run_historys_validation_figures_are_the_kept_models(lab: Lab) -> None:
    ended = EndedRun(lab.settings, "train", lab.data, lab.result, lab.model)
    kept = lab.result.kept_stats
    assert run_validation(ended) == {"accuracy": pytest.approx(kept.val_acc, abs=1e-6),
                                     "loss": pytest.approx(kept.val_loss, abs=1e-6), "n": len(lab.data.y_val)}
    evaluated = lab.evaluation().validation.accuracy
    assert evaluated == pytest.approx(kept.val_acc)  # what Evaluate says


def test_a_shared_run_shares_the_kept_boundary(lab: Lab) -> None:
    store = SharedRuns(capacity=4)
    shared = store.put(("key",), lab.result, lab.model)
    assert shared is not None and shared.frames.get(lab.result.kept_index) is not None


def test_a_stopped_run_keeps_its_last_weights_and_says_so() -> None:
    from core.models import build_model
    from core.training.train import train_model

    data = make_dataset(NOISY)
    steps = iter(range(10**6))
    result = train_model(build_model(ModelConfig(hidden=(128, 128)), seed=0), data, OVERFITS,
                         should_stop=lambda: next(steps) >= 4)  # one step an epoch
    assert result.status == "stopped" and result.best_epoch is None and len(result.history) == 4
    assert result.kept_epoch == result.history[-1].epoch


def test_the_train_page_shows_the_kept_epochs_cards_and_boundary(lab: Lab) -> None:
    at = page("train", lab).run()
    no_errors(at)
    kept, last = lab.result.kept_stats, lab.result.history[-1]
    loss = next(m for m in at.metric if m.label == "Validation loss")
    assert loss.value == f"{kept.val_loss:.3f}" != f"{last.val_loss:.3f}"
    assert any(f"epoch {kept.epoch:,} (kept; the run went on to {last.epoch:,})" in c.value for c in at.caption)
    titles = [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]
    assert f"Decision boundary after epoch {kept.epoch}" in titles, titles  # the kept epoch's, not the last's
    specs = [json.loads(c.proto.spec)["layout"] for c in at.get("plotly_chart")]
    curves = next(layout for layout in specs if layout.get("title", {}).get("text") == "Learning curves")
    assert {shape["x0"] for shape in curves.get("shapes", [])} == {kept.epoch}  # the curves mark the kept epoch
