"""The one source of defaults: a model and its training settings per (kind of data, kind of model).

The dashboard, the command line and the benchmark all start from these; an option the user sets wins.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.config import IMAGE_SHAPE, ModelConfig, TrainConfig
from core.data.dataset import Dataset

# The dashboard's log-scale learning-rate slider; every preset's rate is one of these (tested).
LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


@dataclass(frozen=True)
class Preset:
    """A starting model and how to train it, with the measurement behind the choice."""

    model: ModelConfig
    train: TrainConfig
    why: str


def _images(**kw) -> ModelConfig:
    return ModelConfig(input_shape=IMAGE_SHAPE, n_classes=10, **kw)


# Full batch: on 2-D data the whole training split is one small matrix, so each step costs about as much as a
# 32-point batch, and 100 full-batch steps reach 99% on circles (bench) where batch 32 needed ~400.
# Up to 1,000 epochs, ended by the stopping rule (core.training.stopping): circles stop after ~54 epochs, while
# Playground's spiral with 8-8 tanh needs 200-900 to reach >= 95% (tests/test_stopping.py).
_POINTS_TRAIN = TrainConfig(optimizer="adam", lr=0.03, batch_size=0, epochs=1000, patience=10)
PRESETS: dict[tuple[str, str], Preset] = {
    ("points", "mlp"): Preset(ModelConfig(kind="mlp", hidden=(16, 16)), _POINTS_TRAIN,
                              "16-16 ReLU, Adam 0.03 full batch: 99% on circles in ~100 steps (bench)."),
    ("points", "logreg"): Preset(ModelConfig(kind="logreg"), _POINTS_TRAIN,
                                 "The same settings as the MLP, so the two compare fairly."),
    ("images", "mlp"): Preset(_images(kind="mlp", hidden=(128,)),
                              TrainConfig(optimizer="adam", lr=3e-3, batch_size=32, epochs=5, schedule="cosine"),
                              "784-128-10: ≥ 95% on the real-digit split after 5 epochs (bench)."),
    ("images", "logreg"): Preset(_images(kind="logreg"),
                                 TrainConfig(optimizer="adam", lr=3e-3, batch_size=64, epochs=5, schedule="cosine"),
                                 "A linear classifier of the 784 pixels: about 91% on digits."),
    ("images", "cnn"): Preset(_images(kind="cnn", width=32),
                              TrainConfig(optimizer="adam", lr=3e-3, batch_size=64, epochs=3, schedule="cosine"),
                              "Two conv layers: ≥ 98% on the real-digit split after 3 epochs (bench)."),
    ("images", "lenet"): Preset(_images(kind="lenet"),
                                TrainConfig(optimizer="adam", lr=3e-3, batch_size=64, epochs=6, schedule="cosine"),
                                "LeNet-5: ≥ 97.5% on the real-digit split after 6 epochs."),
}
# Shorthands used by the benchmark and the tests.
POINTS_MODEL, POINTS_TRAIN = PRESETS["points", "mlp"].model, PRESETS["points", "mlp"].train
IMAGES_MODEL, IMAGES_TRAIN = PRESETS["images", "mlp"].model, PRESETS["images", "mlp"].train
CNN_MODEL, CNN_TRAIN = PRESETS["images", "cnn"].model, PRESETS["images", "cnn"].train


def preset(images: bool, kind: str) -> Preset:
    """The preset for a model of `kind` on images (True) or 2-D points (False)."""
    key = ("images" if images else "points", kind)
    if key not in PRESETS:
        kinds = sorted(k for d, k in PRESETS if d == key[0])
        need = "needs 28x28 images" if not images else "is not a model for images"
        raise ValueError(f"A {kind!r} model {need}; for this data choose one of {', '.join(kinds)}.")
    return PRESETS[key]


def default_model_config(data: Dataset, kind: str = "mlp") -> ModelConfig:
    """The starting model of `kind` for `data`, shaped to its inputs and classes."""
    return replace(preset(data.is_image, kind).model, input_shape=data.input_shape, n_classes=data.n_classes)


def default_train_config(data: Dataset, kind: str = "mlp") -> TrainConfig:
    """The starting training settings for a model of `kind` on `data`."""
    return preset(data.is_image, kind).train


def describe(config: TrainConfig) -> str:
    """'Adam 0.003, 3 epochs, batch 64' (or 'up to 1,000 epochs' with the stopping rule): settings in a few words."""
    batch = "full batch" if config.batch_size == 0 else f"batch {config.batch_size}"
    opt = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}[config.optimizer]
    epochs = f"{'up to ' if config.patience else ''}{config.epochs:,} epoch{'s' if config.epochs != 1 else ''}"
    return f"{opt} {config.lr:g}, {epochs}, {batch}"


HYPERPARAMETERS = ("optimizer", "lr", "momentum", "batch_size", "epochs", "weight_decay", "schedule", "patience")


def retarget(current: TrainConfig, old: TrainConfig, new: TrainConfig) -> tuple[TrainConfig, tuple[str, ...]]:
    """Move the settings still at the old preset's value to the new preset's; the user's own choices stay.

    Returns the new settings and the names of those that changed.
    """
    moved = {name: getattr(new, name) for name in HYPERPARAMETERS
             if getattr(current, name) == getattr(old, name) and getattr(old, name) != getattr(new, name)}
    return replace(current, **moved), tuple(moved)
