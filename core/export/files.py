"""Take it home: the replay as an animated GIF, the run's history, per-class report and predictions as CSV,
and the standalone script (written by core.export.script) for a run of this session."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from core.export.script import ScriptInputs, export_script
from core.plots.style import class_rgb

if TYPE_CHECKING:
    from core.boundary import Snapshot
    from core.config import DataConfig, ModelConfig, TrainConfig
    from core.data.dataset import Dataset
    from core.evaluate import Metrics
    from core.training.result import EpochStats

GIF_SIDE = 320  # pixels: big enough to read on a slide, small enough to mail
PAPER = np.array([247.0, 247.0, 247.0])  # a cell the model is unsure about (as in the dashboard's maps)


def _cells(proba: np.ndarray) -> np.ndarray:
    """(r, r, n) probabilities -> (r, r, 3) uint8: each cell tinted towards its class, stronger when surer."""
    n = proba.shape[2]
    certainty = np.clip((proba.max(axis=2) - 1 / n) / (1 - 1 / n), 0, 1)[..., None]  # 0 at a tie, 1 when sure
    colour = class_rgb(n)[proba.argmax(axis=2)]
    return (PAPER + 0.6 * certainty * (colour - PAPER)).round().astype(np.uint8)


def _frame(snapshot: Snapshot, X: np.ndarray, y: np.ndarray, side: int) -> Image.Image:
    """One epoch: the boundary upscaled, the points on top, the epoch in the corner."""
    grid = snapshot.grid
    # Row 0 of the grid is the lowest y; an image's row 0 is its top.
    image = Image.fromarray(_cells(grid.proba)[::-1]).resize((side, side), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(image)
    x0, x1, y0, y1 = float(grid.xs[0]), float(grid.xs[-1]), float(grid.ys[0]), float(grid.ys[-1])
    px = (X[:, 0] - x0) / (x1 - x0) * (side - 1)
    py = (1 - (X[:, 1] - y0) / (y1 - y0)) * (side - 1)
    colours = class_rgb(grid.proba.shape[2]).astype(int)
    for u, v, label in zip(px, py, y):
        draw.ellipse((u - 3, v - 3, u + 3, v + 3), fill=tuple(colours[label]), outline=(255, 255, 255))
    draw.rectangle((0, 0, 92, 18), fill=(255, 255, 255))
    draw.text((5, 4), f"epoch {snapshot.epoch}", fill=(30, 36, 48))
    return image


def replay_gif(snapshots: Sequence[Snapshot], X: np.ndarray, y: np.ndarray, *, frame_ms: int = 125,
               side: int = GIF_SIDE) -> bytes:
    """The boundary forming, one GIF frame per snapshot (epoch), with the points on top; loops forever."""
    if not snapshots:
        raise ValueError("replay_gif needs at least one snapshot of the boundary.")
    if frame_ms < 20 or side < 32:
        raise ValueError(f"frame_ms must be at least 20 and side at least 32. Got {frame_ms} and {side}.")
    X, y = np.asarray(X), np.asarray(y).astype(int)
    frames = [_frame(s, X, y, side) for s in snapshots]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0,
                   optimize=False, disposal=1)
    return buffer.getvalue()


def history_csv(history: Sequence[EpochStats]) -> bytes:
    """One row per epoch: losses and accuracies on train and validation, learning rate, seconds, steps."""
    return pd.DataFrame([asdict(s) for s in history]).to_csv(index=False, float_format="%.6g").encode()


def predictions_csv(metrics: Metrics) -> bytes:
    """One row per sample of the split: true and predicted class, and the probability of every class."""
    names = np.asarray(metrics.class_names, dtype=object)
    table = pd.DataFrame({"index": np.arange(metrics.n_samples), "true": names[metrics.y_true],
                          "predicted": names[metrics.y_pred], "correct": metrics.y_true == metrics.y_pred})
    for k, name in enumerate(metrics.class_names):
        table[f"p({name})"] = metrics.proba[:, k]
    return table.to_csv(index=False, float_format="%.4f").encode()


def run_script(data_config: DataConfig, data: Dataset, model_config: ModelConfig, train_config: TrainConfig, *,
               filename: str = "nnlab_run.py", device: str = "auto") -> str:
    """The standalone script for a run on `data`; your own points go into it in their own units.

    Raises ValueError for data a script cannot reproduce (the message names what it can).
    """
    points = None
    if data.units is not None:  # standardised for training: the script gets the points as they were given
        mean, std = data.units
        X = np.concatenate([data.X_train, data.X_val, data.X_test]) * std + mean
        points = (X, np.concatenate([data.y_train, data.y_val, data.y_test]))
    inputs = ScriptInputs(data_config, model_config, train_config, data.class_names, points, device)
    return export_script(inputs, filename=filename)
