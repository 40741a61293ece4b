"""What the Inside views computed for one model, kept with the session's Lab and bounded in bytes.

Neuron maps per replay epoch, projections and attributions cost a server slot to compute, so each is kept for
the model it belongs to; a new model drops them all, and past `max_bytes` the least recently used go first.
Being part of the Lab, they count against the session store's cap like everything else a session holds.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable

from core.history.memsize import approx_nbytes

INSIGHT_BYTES = 96 * 1024 * 1024  # one session's looks inside: ~2 replay epochs of a 6 x 1024 network's maps


class InsightCache:
    """{name: value} for the model last asked about, least recently used first out past `max_bytes`."""

    def __init__(self, max_bytes: int = INSIGHT_BYTES) -> None:
        self.max_bytes = max_bytes
        self._model: weakref.ref | None = None
        self._values: OrderedDict[Hashable, object] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}

    def __getstate__(self) -> dict:
        """Copies (a fork, the store) start empty: the values are quick to compute again, the model reference
        cannot be copied."""
        return {"max_bytes": self.max_bytes}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["max_bytes"])

    def get(self, model: object, name: Hashable, compute: Callable[[], object]) -> object:
        """The value `name` of `model`, computed once (and again only after it was dropped)."""
        self._for(model)
        if name in self._values:
            self._values.move_to_end(name)
            return self._values[name]
        value = compute()
        self._values[name], self._sizes[name] = value, approx_nbytes(value)
        while self.nbytes > self.max_bytes and len(self._values) > 1:
            oldest = next(iter(self._values))
            del self._values[oldest], self._sizes[oldest]
        return value

    def peek(self, model: object, name: Hashable) -> object | None:
        """The value if it is kept for this model, without computing it."""
        return self._values.get(name) if self._model is not None and self._model() is model else None

    @property
    def nbytes(self) -> int:
        return sum(self._sizes.values())

    def __len__(self) -> int:
        return len(self._values)

    def _for(self, model: object) -> None:
        if self._model is None or self._model() is not model:
            self._model = weakref.ref(model)
            self._values.clear()
            self._sizes.clear()
