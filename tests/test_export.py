"""Take it home: the animated GIF of the replay and the CSV exports."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core.config import DataConfig, TrainConfig
from core.evaluate import evaluate_model
from core.export.files import history_csv, predictions_csv, replay_gif
from core.lab import Lab


@pytest.fixture(scope="module")
def trained(circles) -> Lab:
    lab = Lab()
    lab.set_data(DataConfig(name="circles", n_samples=200, noise=0.05), circles)
    lab.train(TrainConfig(epochs=12, batch_size=0), wait=True)
    return lab


def test_the_gif_is_animated_with_one_frame_per_snapshot(trained: Lab) -> None:
    result, data = trained.result, trained.data
    raw = replay_gif(result.snapshots, data.X_train, data.y_train, frame_ms=100)
    gif = Image.open(io.BytesIO(raw))
    assert gif.format == "GIF" and gif.is_animated and gif.n_frames == len(result.snapshots) == 13
    assert gif.size == (320, 320) and gif.info["duration"] == 100 and gif.info.get("loop") == 0
    gif.seek(gif.n_frames - 1)
    last = np.asarray(gif.convert("RGB"))
    gif.seek(0)
    first = np.asarray(gif.convert("RGB"))
    assert np.abs(last.astype(int) - first.astype(int)).mean() > 5  # the boundary formed between them


def test_a_gif_needs_frames_and_sane_settings(trained: Lab) -> None:
    data = trained.data
    with pytest.raises(ValueError, match="at least one snapshot"):
        replay_gif([], data.X_train, data.y_train)
    with pytest.raises(ValueError, match="frame_ms must be at least 20"):
        replay_gif(trained.result.snapshots, data.X_train, data.y_train, frame_ms=1)


def test_history_and_predictions_as_csv(trained: Lab) -> None:
    history = pd.read_csv(io.BytesIO(history_csv(trained.result.history)))
    assert list(history["epoch"]) == list(range(1, 13))
    assert {"train_loss", "val_loss", "train_acc", "val_acc", "steps"} <= set(history.columns)
    data = trained.data
    metrics = evaluate_model(trained.model, data.X_test, data.y_test, data.class_names)
    table = pd.read_csv(io.BytesIO(predictions_csv(metrics)))
    assert len(table) == len(data.y_test) and list(table.columns[-2:]) == ["p(outer)", "p(inner)"]
    assert (table["correct"] == (table["true"] == table["predicted"])).all()
    assert table["correct"].mean() == pytest.approx(metrics.accuracy)
    np.testing.assert_allclose(table[["p(outer)", "p(inner)"]].to_numpy(), metrics.proba, atol=1e-4)
