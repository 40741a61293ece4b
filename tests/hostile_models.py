"""Model files made to hurt: each creates a marker file when unpickled, standing for any code an attacker would run."""

from __future__ import annotations

import io
import os
import pathlib
import pickle
import shlex
import warnings
import zipfile

import torch

from core.checkpoint import FORMAT

KINDS = ("torch os.system", "torch Path.touch", "bare pickle")


class RunsShell:
    """Unpickling this runs a shell command that creates `marker`."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


class TouchesFile:
    """Unpickling this creates `marker` through a library call."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return pathlib.Path.touch, (pathlib.Path(self.marker),)


def hostile_file(marker: pathlib.Path, kind: str) -> bytes:
    """A model-looking file (one of KINDS) that creates `marker` when unpickled: a torch.save zip or a bare pickle."""
    if kind == "bare pickle":
        return pickle.dumps(TouchesFile(marker))
    payload = RunsShell(marker) if kind == "torch os.system" else TouchesFile(marker)
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": 1, "extra": payload}, buffer)
    return buffer.getvalue()


def unpickle_unsafely(data: bytes, kind: str) -> None:
    """What an unsafe loader would do with the file: the control that shows the file really runs code."""
    if kind == "bare pickle":
        pickle.loads(data)
    else:
        torch.load(io.BytesIO(data), weights_only=False)


# --- files that run no code but ask for too much: valid pickles and zips, hostile contents -------------------------


def resaved(data: bytes, **changes: object) -> bytes:
    """The model file `data` with some top-level entries replaced and saved again (None removes an entry)."""
    payload = torch.load(io.BytesIO(data), weights_only=True)
    payload.update(changes)
    buffer = io.BytesIO()
    torch.save({k: v for k, v in payload.items() if v is not None}, buffer)
    return buffer.getvalue()


def with_config(data: bytes, **fields: object) -> bytes:
    """The model file `data` whose config has `fields` changed: small tensors, a config asking for anything."""
    config = torch.load(io.BytesIO(data), weights_only=True)["config"]
    return resaved(data, config={**config, **fields})


def raw_zip(entries: list[tuple[str, bytes]]) -> bytes:
    """A stored (uncompressed) zip holding `entries` in order, duplicate names included, as a forger writes one."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names; writing them is the point
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, content in entries:
                archive.writestr(name, content)
    return buffer.getvalue()


def rezipped(data: bytes, *, extra: list[tuple[str, bytes]] = ()) -> bytes:
    """The torch.save zip `data` rewritten entry by entry, with `extra` entries after its own."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return raw_zip([(e.filename, archive.read(e)) for e in archive.infolist()] + list(extra))
