"""The Home page's example: one circles run with the default network, trained once per server process.

The run is replayed in the visitor's browser (Play, Pause, the frame slider), so the page is alive from the
first second; after the first visit, the server only builds the figure (about 50 ms).
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go

from core.data import DataConfig, Dataset, make_dataset
from core.jobs import RUN_THREADS
from core.lab import Lab
from core.models import ModelConfig
from core.plots.replay import replay_figure
from core.train import TrainResult

FRAMES = 12  # the replay's frames: enough to watch the boundary form, small enough to send on every visit


class ExampleRun(NamedTuple):
    data: Dataset
    model: ModelConfig
    result: TrainResult


_lock = threading.Lock()
_run: ExampleRun | None = None


def example_run() -> ExampleRun:
    """A fresh session's Train page: the default dataset and network, trained as a slider move trains them
    (until the training loss has settled). Trained on the first call only; concurrent first calls wait for
    that one run instead of each training their own."""
    global _run
    with _lock:
        if _run is None:
            config = DataConfig()
            lab = Lab(threads=RUN_THREADS)  # as the dashboard's own runs: the server shares the cores
            lab.set_data(config, make_dataset(config), default=True)
            lab.train(lab.train_config, auto=True)
            _run = ExampleRun(lab.data, lab.model_config, lab.result)
        return _run


def example_figure(frames: int = FRAMES) -> go.Figure:
    """The example run as a replay of about `frames` frames (every epoch early on, where the boundary moves
    most), starting at the untrained network, ready to Play."""
    if frames < 2:
        raise ValueError(f"frames must be at least 2. Got {frames} instead.")
    data, _model, result = example_run()
    snapshots = result.snapshots
    picked = sorted({round(i) for i in np.geomspace(1, len(snapshots), frames) - 1})  # 0, 1, 2, 3, 5, 8, ...
    return replay_figure([snapshots[i] for i in picked], result.history, data.X_train, data.y_train,
                         data.class_names, start=0, frame_ms=400, units=data.units)


def example_caption() -> str:
    """What the example shows, from the run itself: the network, the classes, where it ended."""
    data, model, result = example_run()
    layers = len(model.hidden)
    shape = f"{layers} hidden layer{'s' if layers != 1 else ''} of {' and '.join(map(str, sorted(set(model.hidden))))}"
    last = result.history[-1]
    return (f"An MLP with {shape} units (the app's defaults) learning to tell {' from '.join(data.class_names)} "
            f"on the {data.name} data: {100 * last.val_acc:.1f}% of the validation points right after "
            f"{last.epoch} epochs. Press **▶ Play** to watch the boundary form, or drag the slider.")
