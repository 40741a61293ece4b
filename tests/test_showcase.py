"""The Home page's example run: trained once, replayed from the untrained network, described by its own figures."""

from __future__ import annotations

import threading

import pytest

from core import showcase
from core.config import DataConfig
from core.lab import Lab
from core.training.presets import preset


def test_example_is_a_fresh_sessions_auto_trained_default_run() -> None:
    data, model, result, _figure = showcase.example_run()
    assert data.name == DataConfig().name
    assert model == preset(False, "mlp").model
    assert result.status == "converged" and result.history[-1].val_acc >= 0.9
    assert len(result.snapshots) == len(result.history) + 1  # the starting weights, then every epoch


def test_concurrent_first_visits_train_one_run(monkeypatch) -> None:
    monkeypatch.setattr(showcase, "_run", None)
    calls = []
    original = Lab.train

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Lab, "train", counted)
    runs: list = []
    threads = [threading.Thread(target=lambda: runs.append(showcase.example_run())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and all(run is runs[0] for run in runs)


def test_figure_starts_untrained_and_spaces_frames_towards_the_start() -> None:
    fig = showcase.example_figure()
    epochs = [int(frame.name) for frame in fig.frames]
    result = showcase.example_run().result
    assert fig is showcase.example_figure(), "built once with the run, not on every visit"
    assert epochs[0] == 0 and epochs[-1] == result.history[-1].epoch
    assert epochs == sorted(set(epochs)) and len(epochs) <= showcase.FRAMES
    gaps = [b - a for a, b in zip(epochs, epochs[1:])]
    assert gaps[0] == 1 and gaps[-1] > gaps[0]  # every epoch at first, where the boundary moves most
    assert fig.layout.title.text.startswith("Epoch 0 of")
    with pytest.raises(ValueError, match="frames must be at least 2"):
        showcase.replay_of(showcase.example_run().data, result, frames=1)


def test_caption_quotes_the_run() -> None:
    _data, model, result, _figure = showcase.example_run()
    caption = showcase.example_caption()
    assert f"{100 * result.history[-1].val_acc:.1f}%" in caption
    assert f"after {result.history[-1].epoch} epochs" in caption
    assert f"hidden layers of {'-'.join(map(str, model.hidden))} units" in caption and "outer from inner" in caption
