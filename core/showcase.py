"""The Home page's example: one circles run with the default network, trained once per server process.

The run is replayed in the visitor's browser (Play, Pause, the frame slider), so the page is alive from the
first second; after the first visit the server only sends the figure, built once with the run (about 4 ms).
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go

from core.config import DataConfig, ModelConfig
from core.data.dataset import Dataset
from core.data.make import make_dataset
from core.lab import Lab
from core.plots.replay import replay_figure
from core.training.jobs import RUN_THREADS
from core.training.result import TrainResult

FRAMES = 12  # the replay's frames: enough to watch the boundary form, small enough to send on every visit


class ExampleRun(NamedTuple):
    data: Dataset
    model: ModelConfig
    result: TrainResult
    figure: go.Figure  # its replay, built once: Streamlit sends a copy (Figure.to_dict), so sharing it is safe


_lock = threading.Lock()
_run: ExampleRun | None = None


def example_run() -> ExampleRun:
    """A fresh session's Train page: the default dataset and network, trained as a slider move trains them
    (until its validation loss has stopped improving), and its replay. Made on the first call only; concurrent first
    calls wait for that one run instead of each training their own."""
    global _run
    with _lock:
        if _run is None:
            config = DataConfig()
            lab = Lab(threads=RUN_THREADS)  # as the dashboard's own runs: the server shares the cores
            lab.set_data(config, make_dataset(config), default=True)
            lab.train(lab.train_config, auto=True)
            _run = ExampleRun(lab.data, lab.model_config, lab.result, replay_of(lab.data, lab.result))
        return _run


def replay_of(data: Dataset, result: TrainResult, frames: int = FRAMES) -> go.Figure:
    """`result` as a replay of about `frames` frames (every epoch early on, where the boundary moves most),
    starting at the untrained network, ready to Play."""
    if frames < 2:
        raise ValueError(f"frames must be at least 2. Got {frames} instead.")
    snapshots = result.snapshots
    picked = sorted({round(i) for i in np.geomspace(1, len(snapshots), frames) - 1})  # 0, 1, 2, 3, 5, 8, ...
    return replay_figure([snapshots[i] for i in picked], result.history, data.X_train, data.y_train,
                         data.class_names, start=0, frame_ms=400, units=data.units)


def example_figure() -> go.Figure:
    """The example run's replay (built with the run, not on every visit)."""
    return example_run().figure


def example_caption() -> str:
    """What the example shows, from the run itself: the network, the classes, where it ended."""
    run = example_run()
    shape, last = "-".join(map(str, run.model.hidden)), run.result.history[-1]
    return (f"An MLP with hidden layers of {shape} units (the app's defaults) learning to tell "
            f"{' from '.join(run.data.class_names)} on the {run.data.name} data: {100 * last.val_acc:.1f}% of the "
            f"validation points right after {last.epoch} epochs. Press **▶ Play** to watch the boundary form, or "
            f"drag the slider.")
