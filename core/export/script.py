"""A standalone PyTorch script that reproduces a run: the data and its splits, the model, the loop, the score.

It needs only torch, torchvision, scikit-learn and numpy, reads top to bottom like a tutorial, and its
comments say which part of the dashboard each step matches. Every value written into it (numbers, names,
paths, your own points) goes through `repr`, so nothing a user typed can become code. The script's text
lives in `core.export.templates` and `core.export.model_templates`; this module chooses the pieces and fills
them in. Its random draws are the dashboard's (core.models, core.training.train), so the same seeds give the
same starting weights, batch order and dropout masks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.config import DEVICES, POINT_DATASETS, DataConfig, ModelConfig, TrainConfig, augment_strengths
from core.export.model_templates import (
    AUGMENT,
    CONV_LAYERS,
    CONV_MODEL,
    DENSE_MODEL,
    DRAWS,
    FEATURE_LAYER,
    HEAD_AND_LOSS,
    NO_AUGMENT,
    SINE,
)
from core.export.templates import CSV_DATA, HEADER, MNIST_DATA, POINTS, POINTS_DATA, POINTS_WHAT, TRAINING
from core.models import ACTIVATIONS
from core.training import stopping

SUPPORTED = (*POINT_DATASETS, "mnist", "csv")


@dataclass(frozen=True)
class ScriptInputs:
    """What the script reproduces. `points` (X, y) and `class_names` are needed for your own data ("csv")."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    class_names: tuple[str, ...]
    points: tuple[np.ndarray, np.ndarray] | None = None
    device: str = "auto"  # RunOptions.device of the run: auto trains digits on a GPU when there is one


def _plain(value: object) -> object:
    """`value` if it is made of plain values only (lists become tuples); else ValueError."""
    if isinstance(value, bool | int | float | str | type(None)):
        return value
    if isinstance(value, tuple | list):
        return tuple(_plain(v) for v in value)
    raise ValueError(f"only plain values go into an exported script. Got {type(value).__name__}.")


def _literal(value: object) -> str:
    """A Python literal for `value`: the repr of plain values only, so no text can become code."""
    return repr(_plain(value))


def _data_section(inputs: ScriptInputs) -> str:
    """The script's `load_data()`: MNIST from its files, your own points written out, or a generator call."""
    data = inputs.data
    if data.name == "mnist":
        return MNIST_DATA.format(data_dir=_literal(str(data.data_dir or "data")), train_size=_literal(data.train_size))
    if data.name == "csv":
        if inputs.points is None:
            raise ValueError("exporting your own points needs the points themselves.")
        X, y = inputs.points
        rows = [(round(float(a), 6), round(float(b), 6), int(c)) for (a, b), c in zip(np.asarray(X), np.asarray(y))]
        return CSV_DATA.format(points=_literal(rows))
    generate = POINTS[data.name].format(factor=_literal(data.factor), n_classes=_literal(data.n_classes))
    return POINTS_DATA.format(n_samples=_literal(data.n_samples), noise=_literal(data.noise),
                              what=POINTS_WHAT[data.name], generate=generate)


def _model_section(model: ModelConfig) -> str:
    """The script's dropout, `init_weights()` and `build_model()`: the CNN or LeNet layers, or dense layers after a
    flatten or the input features."""
    sine = model.activation == "sine"  # torch has no sine module: the script defines one
    activation = "Sine" if sine else f"nn.{ACTIVATIONS[model.activation].__name__}"  # e.g. nn.ReLU, nn.Identity
    draws = DRAWS + (SINE if sine else "")
    if model.kind in CONV_LAYERS:
        what, layers = CONV_LAYERS[model.kind]
        return draws + CONV_MODEL.format(activation=activation, dropout=_literal(model.dropout), what=what,
                                         layers=layers.format(w=int(model.width), w2=2 * int(model.width)))
    hidden = tuple(int(u) for u in model.hidden) if model.kind == "mlp" else ()
    if model.takes_images:
        first_layer, first_module, width = "", "nn.Flatten()", "28 * 28"  # (B, 1, 28, 28) -> (B, 784)
    else:
        first_layer = FEATURE_LAYER.format(features=_literal(tuple(model.features)))
        first_module, width = "InputFeatures()", "len(FEATURES)"
    return draws + DENSE_MODEL.format(hidden=_literal(hidden), activation=activation, dropout=_literal(model.dropout),
                                      first_layer=first_layer, first_module=first_module, width=width)


def _device(inputs: ScriptInputs) -> str:
    """The script's DEVICE: the run's device; "auto" picks CUDA when present for digits, the CPU for points."""
    if inputs.device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}. Got {str(inputs.device)[:20]!r}.")
    if inputs.device == "auto":
        return '"cuda" if torch.cuda.is_available() else "cpu"' if inputs.model.takes_images else '"cpu"'
    return _literal(inputs.device)


def _augment_section(train: TrainConfig) -> str:
    """The script's AUGMENT and its `augment()`, or an empty AUGMENT."""
    strengths = augment_strengths(train.augment)
    return AUGMENT.format(strengths=repr({k: float(v) for k, v in strengths.items()})) if strengths else NO_AUGMENT


def export_script(inputs: ScriptInputs, *, filename: str = "nnlab_run.py") -> str:
    """The whole script as text; ValueError for data it cannot reproduce (the offline 8x8 digits)."""
    data, model, train = inputs.data, inputs.model, inputs.train
    if data.name not in SUPPORTED:
        which = "the offline 8×8 digits" if data.name == "digits" else f"the {data.name!r} dataset"
        raise ValueError(f"the script makes its data itself, which it can for the generated points, MNIST and your "
                         f"own points, but not for {which}. The model and the tables are here all the same.")
    if len(inputs.class_names) < 2:
        raise ValueError("A script needs the names of at least two classes.")
    title = f"{model.kind} on {data.name}"
    header = HEADER.format(title=title.replace('"', "'"), filename=filename.replace('"', "'"),
                           class_names=_literal(tuple(str(n) for n in inputs.class_names)),
                           data_seed=_literal(data.seed), seed=_literal(train.seed),
                           init_seed=_literal(train.init_seed), test_fraction=_literal(data.test_fraction),
                           val_fraction=_literal(data.val_fraction), label_noise=_literal(data.label_noise),
                           device=_device(inputs))
    training = TRAINING.format(optimizer=_literal(train.optimizer), lr=_literal(train.lr),
                               momentum=_literal(train.momentum), batch_size=_literal(train.batch_size),
                               epochs=_literal(train.epochs), weight_decay=_literal(train.weight_decay),
                               l1=_literal(train.l1), schedule=_literal(train.schedule),
                               patience=_literal(train.patience), min_drop=_literal(stopping.MIN_DROP),
                               search_drop=_literal(stopping.SEARCH_DROP), learned=_literal(stopping.LEARNED),
                               patience_share=_literal(stopping.PATIENCE_SHARE))
    head = HEAD_AND_LOSS.format(head=_literal(model.head), loss=_literal(train.loss))
    return header + _data_section(inputs) + head + _model_section(model) + _augment_section(train) + training
