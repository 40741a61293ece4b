"""How many bytes a session holds: the arrays, tensors, bytes and Python numbers reachable from an object.

The session store (`core.history.store`) weighs each entry with `approx_nbytes` against its memory cap. Memory shared
between objects counts once, and code (classes, modules, functions) is shared by every session, so never.
"""

from __future__ import annotations

import dataclasses
import sys
import types

import numpy as np
import torch

_CODE = (type, types.ModuleType, types.FunctionType, types.MethodType, types.BuiltinFunctionType)
_NUMBER = (int, float, complex)  # bool is an int
_NUMERIC_ITEM = (*_NUMBER, list, tuple)


def _array_storage(obj: object) -> tuple[int, int] | None:
    """(address, bytes) of the memory behind a numpy array or torch tensor, so shared memory counts once."""
    if isinstance(obj, torch.Tensor):
        try:
            storage = obj.untyped_storage()
        except (RuntimeError, NotImplementedError):  # sparse and other layouts without one storage
            return id(obj), obj.element_size() * obj.nelement()
        return (storage.data_ptr() or id(obj)), storage.nbytes()
    if isinstance(obj, np.ndarray):
        root = obj
        while isinstance(root.base, np.ndarray):
            root = root.base
        return (root.ctypes.data or id(root)), root.nbytes
    return None


def _children(obj: object) -> list[object]:
    """What `approx_nbytes` walks into: containers, dataclass fields and instance attributes."""
    if isinstance(obj, dict):
        return [*obj.keys(), *obj.values()]
    if isinstance(obj, list | tuple | set | frozenset):
        return list(obj)
    if isinstance(obj, _CODE):  # shared code, not session data
        return []
    if dataclasses.is_dataclass(obj) and not hasattr(obj, "__dict__"):
        return [getattr(obj, f.name, None) for f in dataclasses.fields(obj)]
    return list(vars(obj).values()) if hasattr(obj, "__dict__") else []


def _is_numeric(seq: object) -> bool:
    """True for a non-empty list or tuple of Python numbers and such lists or tuples (e.g. drawn points)."""
    return isinstance(seq, list | tuple) and len(seq) > 0 and all(
        isinstance(item, _NUMERIC_ITEM) for item in seq)


def _numbers_nbytes(seq: list | tuple, seen: set[int]) -> int:
    """The real size of a numeric list or tuple and of each number in it not counted before (marked seen)."""
    total = sys.getsizeof(seq)
    for item in seq:
        if isinstance(item, _NUMBER) and id(item) not in seen:
            seen.add(id(item))
            total += sys.getsizeof(item)
    return total


def approx_nbytes(obj: object, *, skip: tuple[object, ...] = ()) -> int:
    """Bytes held by the numpy arrays, torch tensors, bytes and numeric tuples reachable from `obj` (each once).

    Walks dicts, lists, tuples, sets, dataclass fields and instance attributes, safely through cycles. Data held
    as Python numbers (a list or tuple of numbers, or of such tuples, like `DataConfig.points`) counts at its
    real size, containers and numbers alike; other small Python values (a config's fields, names) are not counted.
    Objects in `skip` (e.g. a dataset shared between sessions) and everything only they reach are not counted.
    """
    seen, blocks, total = {id(s) for s in skip}, {}, 0
    stack = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen or item is None or isinstance(item, str | int | float | bool):
            continue
        seen.add(id(item))
        block = _array_storage(item)
        if block is not None:
            address, nbytes = block
            blocks[address] = max(nbytes, blocks.get(address, 0))
        elif isinstance(item, bytes | bytearray | memoryview):
            total += len(item)
        else:
            if _is_numeric(item):
                total += _numbers_nbytes(item, seen)
            stack.extend(_children(item))
    return total + sum(blocks.values())
