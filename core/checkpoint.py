"""Model files: save a trained model as plain data plus tensors, and load one back without running code.

A file is a zip written by torch.save holding only plain types and tensors:
{"format": "nnlab-model", "version": 1, "config": {...}, "class_names": [...], "state_dict": {...},
"extra": {...}}; the config's head ("softmax", or "sigmoid": one output unit) decides the last layer's shape.
Loading checks, in this order and each before the next costs anything: the file's size and zip entries (before
unpickling), then the data through torch's weights-only unpickler (which refuses any other object), then the config
against the shapes and limits NN Lab builds, then every tensor's name, shape, type and the parameter count against
the model the config describes, built on torch's meta device; only then is the real model built. Every refusal is a
CheckpointError with one line saying why.
"""

from __future__ import annotations

import dataclasses
import io
import os
import pickle
import re
import reprlib
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.config import (
    DEFAULT_FEATURES,
    HEADS,
    IMAGE_SHAPE,
    MAX_HIDDEN_LAYERS,
    MAX_UNITS,
    POINT_SHAPE,
    ModelConfig,
    ModelError,
    validate_model_config,
)
from core.models import build_model

FORMAT = "nnlab-model"
VERSION = 1
MAX_BYTES = 50 * 1024 * 1024  # the largest model NN Lab can build is about 25 MB
ZIP_MAGIC = b"PK\x03\x04"
ZIP_ENTRY = b"PK\x01\x02"  # starts every central-directory entry: no zip reader finds more entries than these
MAX_ENTRIES = 64  # an NN Lab file holds 6 bookkeeping entries and at most 14 tensors
MAX_PICKLE_BYTES = 64 * 1024  # data.pkl holds the config, names and tensor references: ~1.5 KB in NN Lab's files
# Limits config.py has no constant for (yet): the most classes of any dataset (digits) and the CNN widths
# validate_model_config allows, here checked for every kind, since a config keeps its width when the kind changes.
MAX_CLASSES = 10
WIDTHS = (4, 128)
INPUT_SHAPES = (POINT_SHAPE, IMAGE_SHAPE)
PLAIN_TENSORS = (torch.Tensor, nn.Parameter)
CLASS_NAME = re.compile(r"[\w .,()\-]{1,40}")  # what NN Lab's datasets use ("7", "outer", "blob 0", "same sign")
CONFIG_FIELDS = {f.name: f.default for f in dataclasses.fields(ModelConfig)}
TEXT_TUPLES = ("features",)  # config tuples of names; every other config tuple holds ints
# Fields added after version 1 files were first written: a file without one gets the default.
LATER_FIELDS = {"features": DEFAULT_FEATURES, "head": "softmax"}


class CheckpointError(ValueError):
    """A model file that cannot be written or read; the message says why, in one sentence."""


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model read from a file: the network (CPU, eval mode) and what it was built for."""

    model: nn.Module
    config: ModelConfig
    class_names: tuple[str, ...]
    extra: dict


# --- saving ------------------------------------------------------------------------------


def _plain(value: object, where: str) -> object:
    """`value` as plain types only (tuples -> lists, numpy scalars -> Python), or CheckpointError."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    raise CheckpointError(f"cannot save {where}: only strings, numbers, booleans, None, lists and dicts with "
                          f"string keys can go in a model file, got {type(value).__name__}.")


def _check_class_names(names: Sequence[str]) -> None:
    """Names end up in charts and labels: refuse markup, control characters and essays."""
    if not all(CLASS_NAME.fullmatch(n) for n in names):
        raise CheckpointError("class names should be short plain words (letters, digits, spaces and - _ . , ( ) "
                              f"only, at most 40 characters). Got {[n[:40] for n in names][:10]!r}.")


def save_model(model: nn.Module, config: ModelConfig, class_names: Sequence[str], *,
               extra: Mapping[str, object] | None = None) -> bytes:
    """The model as the bytes of an NN Lab model file (tensors moved to the CPU)."""
    validate_model_config(config)
    _check_limits(config)
    names = [str(name) for name in class_names]
    _check_class_names(names)
    if len(names) != config.n_classes:
        raise CheckpointError(f"cannot save: the config has {config.n_classes} classes but "
                              f"{len(names)} class names were given.")
    state = {key: t.detach().cpu().clone(memory_format=torch.contiguous_format)
             for key, t in model.state_dict().items()}
    _check_state_dict(state, _expected_state(config), config.kind)  # never write a file load_model would refuse
    payload = {
        "format": FORMAT, "version": VERSION, "config": _plain(dataclasses.asdict(config), "config"),
        "class_names": names, "state_dict": state, "extra": _plain(dict(extra or {}), "extra"),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    try:
        _check_archive(buffer.getvalue())
    except CheckpointError as exc:
        raise CheckpointError(f"cannot save: {exc}") from None
    return buffer.getvalue()


def save_model_file(path: str | os.PathLike, model: nn.Module, config: ModelConfig, class_names: Sequence[str],
                    *, extra: Mapping[str, object] | None = None) -> Path:
    """Write the model to `path` (see `save_model`) and return the path."""
    path = Path(path)
    path.write_bytes(save_model(model, config, class_names, extra=extra))
    return path


# --- loading -----------------------------------------------------------------------------


# Messages quote a file's values with reprlib.repr: long strings and lists and deep nesting are cut to a few items.
def _check_archive(data: bytes) -> None:
    """Refuse, before unpickling anything, what torch.save cannot have written or is too big."""
    if len(data) == 0:
        raise CheckpointError("this file is empty; choose a model file saved by NN Lab (.pt).")
    if len(data) > MAX_BYTES:
        raise CheckpointError(f"this file is {len(data) / 2**20:.1f} MB, larger than any NN Lab model "
                              f"(limit {MAX_BYTES / 2**20:.0f} MB).")
    # Counted before any zip reader runs: each entry it reads costs memory, and a forged directory could hold millions.
    if not data.startswith(ZIP_MAGIC) or data.count(ZIP_ENTRY) > MAX_ENTRIES:
        raise CheckpointError("this is not an NN Lab model file; choose a .pt file saved by NN Lab.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except Exception:  # zipfile raises BadZipFile, ValueError, OSError, ... for forged or damaged archives
        raise CheckpointError("this model file is truncated or damaged; download or save it again.") from None
    names = [e.filename for e in entries]
    folder = names[0].split("/")[0] + "/" if names else ""  # torch's reader looks up every record in this folder
    pickled = [e.file_size for e in entries if e.filename == f"{folder}data.pkl"]
    # torch.save stores entries uncompressed; a compressed one could expand far past MAX_BYTES.
    if (any(e.compress_type != zipfile.ZIP_STORED for e in entries) or sum(e.file_size for e in entries) > MAX_BYTES
            or len(set(names)) != len(names) or not all(n.startswith(folder) for n in names) or len(pickled) != 1):
        raise CheckpointError("this is not an NN Lab model file; choose a .pt file saved by NN Lab.")
    if pickled[0] > MAX_PICKLE_BYTES:
        raise CheckpointError(f"this file's config, names and extras take {pickled[0] / 1024:.0f} KB, more than the "
                              f"{MAX_PICKLE_BYTES // 1024} KB an NN Lab model file may hold.")


def _unpickle(data: bytes) -> object:
    """torch.load with the weights-only unpickler, its failures turned into CheckpointError."""
    _check_archive(data)
    try:
        return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except pickle.UnpicklingError:
        raise CheckpointError("this file contains code or objects that are not allowed; only NN Lab model "
                              "files can be loaded.") from None
    except Exception:  # torch's reader raises RuntimeError, EOFError, KeyError, ... for damaged archives
        raise CheckpointError("this model file is truncated or damaged; download or save it again.") from None


def _config_field(name: str, value: object) -> object:
    """One config value checked against the type of its default (tuples arrive as lists)."""
    default = CONFIG_FIELDS[name]
    if isinstance(default, tuple):
        item = str if name in TEXT_TUPLES else int
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, item) and not isinstance(v, bool) for v in value)
        value = tuple(value) if ok else value
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, type(default)) and not isinstance(value, bool)
    if not ok:
        raise CheckpointError(f"the model config field {name!r} should be like {default!r}, got {reprlib.repr(value)}.")
    return value


def _check_limits(config: ModelConfig) -> None:
    """Refuse a config outside what NN Lab builds, whichever kind it is: input shapes, classes, layers, width."""
    shape = tuple(config.input_shape)
    if shape not in INPUT_SHAPES:
        raise CheckpointError(f"the model takes inputs of shape {reprlib.repr(shape)}, but NN Lab models take "
                              f"2-D points {POINT_SHAPE} or 28x28 images {IMAGE_SHAPE}.")
    if not 2 <= config.n_classes <= MAX_CLASSES:
        raise CheckpointError(f"the model's n_classes is {reprlib.repr(config.n_classes)}; NN Lab models have 2 to "
                              f"{MAX_CLASSES} classes.")
    hidden = tuple(config.hidden)
    if len(hidden) > MAX_HIDDEN_LAYERS or not all(1 <= units <= MAX_UNITS for units in hidden):
        raise CheckpointError(f"the model has hidden layers {reprlib.repr(list(hidden))}; NN Lab builds at most "
                              f"{MAX_HIDDEN_LAYERS} of 1 to {MAX_UNITS} units each.")
    if not WIDTHS[0] <= config.width <= WIDTHS[1]:
        raise CheckpointError(f"the model has CNN width {reprlib.repr(config.width)}; NN Lab builds widths "
                              f"{WIDTHS[0]} to {WIDTHS[1]}.")
    if config.head not in HEADS or (config.head == "sigmoid" and config.n_classes != 2):
        raise CheckpointError(f"the model's head is {reprlib.repr(config.head)} with {config.n_classes} classes; "
                              f"NN Lab builds {' or '.join(HEADS)} heads, sigmoid for 2 classes only.")


def _config_from(fields: object) -> ModelConfig:
    """The ModelConfig a file describes, or CheckpointError naming what is wrong with it."""
    if not isinstance(fields, dict):
        raise CheckpointError(f"the model config should be a dict of fields, got {type(fields).__name__}.")
    fields = {**LATER_FIELDS, **fields}
    try:
        config = ModelConfig(**fields)
    except TypeError:
        unknown = sorted(str(name)[:40] for name in set(fields) - set(CONFIG_FIELDS))
        raise CheckpointError(f"the model config has unknown fields {reprlib.repr(unknown)}; was it saved by a "
                              "different program?") from None
    missing = sorted(set(CONFIG_FIELDS) - set(fields))
    if missing:
        raise CheckpointError(f"the model config lacks the fields {missing}.")
    config = dataclasses.replace(config, **{name: _config_field(name, v) for name, v in fields.items()})
    _check_limits(config)
    try:
        validate_model_config(config)
    except ModelError as exc:
        raise CheckpointError(f"the saved model config is invalid: {str(exc)[:200]}") from None
    return config


def _expected_state(config: ModelConfig) -> dict[str, torch.Tensor]:
    """The names, shapes and dtypes of the weights `config` builds, from a model on the meta device (no memory)."""
    with torch.device("meta"):
        return build_model(config).state_dict()


def _check_state_dict(state: object, expected: Mapping[str, torch.Tensor], kind: str) -> None:
    """Refuse weights whose names, shapes, types or count do not fit `expected`, before any is copied anywhere."""
    if not isinstance(state, dict):
        raise CheckpointError(f"the weights should be a dict of tensors, got {type(state).__name__}.")
    missing, unexpected = [k for k in expected if k not in state], [k for k in state if k not in expected]
    if missing or unexpected:
        raise CheckpointError(f"the weights do not fit a {kind} with this config: missing "
                              f"{reprlib.repr(missing) if missing else 'none'}, unexpected "
                              f"{reprlib.repr(unexpected) if unexpected else 'none'}.")
    for key, want in expected.items():
        got = state[key]
        # Nested tensors report a strided layout but no shape; meta tensors hold no numbers to copy.
        if (type(got) not in PLAIN_TENSORS or got.is_nested or got.layout != torch.strided
                or got.device.type != "cpu" or got.dtype != want.dtype):
            what = (f"{got.dtype} {got.layout} on {got.device.type}{' (nested)' if got.is_nested else ''}"
                    if isinstance(got, torch.Tensor) else type(got).__name__)
            raise CheckpointError(f"the weight {key!r} should be a dense {want.dtype} tensor, got {what}.")
        if got.shape != want.shape:
            raise CheckpointError(f"the weight {key!r} does not fit the config: expected shape "
                                  f"{tuple(want.shape)}, got {tuple(got.shape)}.")
    # torch.save writes a tensor's whole storage: a right-shaped view can carry far more numbers than it shows.
    stored = sum(state[key].untyped_storage().nbytes() // want.element_size() for key, want in expected.items())
    count = sum(want.numel() for want in expected.values())
    if stored != count:
        raise CheckpointError(f"the weights hold {stored:,} numbers, but a {kind} with this config has {count:,} "
                              "parameters.")


def _header(payload: object) -> dict:
    """The payload dict after its format and version are checked."""
    if not isinstance(payload, dict) or not isinstance(payload.get("format"), str) or payload["format"] != FORMAT:
        raise CheckpointError("this is a PyTorch file but not an NN Lab model file; choose a .pt file saved by "
                              "NN Lab.")
    version = payload.get("version")
    if type(version) is not int or version != VERSION:
        raise CheckpointError(f"this model file has version {reprlib.repr(version)}, but this NN Lab reads "
                              f"version {VERSION} only.")
    return payload


def load_model(data: bytes) -> LoadedModel:
    """Read a model file's bytes safely: checked in full before a model is built from it."""
    payload = _header(_unpickle(bytes(data)))
    config = _config_from(payload.get("config"))
    names = payload.get("class_names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CheckpointError("the class names in this model file should be a list of strings.")
    if len(names) != config.n_classes:
        raise CheckpointError(f"this model file names {len(names)} classes but its model has {config.n_classes}.")
    _check_class_names(names)
    extra = payload.get("extra", {})
    if not isinstance(extra, dict):
        raise CheckpointError(f"the extra metadata should be a dict, got {type(extra).__name__}.")
    state = payload.get("state_dict")
    _check_state_dict(state, _expected_state(config), config.kind)
    model = build_model(config)  # only now, with every tensor known to fit, is real memory spent
    model.load_state_dict(state)
    return LoadedModel(model.eval(), config, tuple(names), extra)


def load_model_file(path: str | os.PathLike) -> LoadedModel:
    """Read the model file at `path` (see `load_model`); the size is checked before reading."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise CheckpointError(f"{path} is larger than any NN Lab model (limit {MAX_BYTES / 2**20:.0f} MB).")
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    return load_model(data)
