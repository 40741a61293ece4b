"""Model files made to hurt: each creates a marker file when unpickled, standing for any code an attacker would run."""

from __future__ import annotations

import io
import os
import pathlib
import pickle
import shlex

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
