"""The Inside views' values are kept with the Lab, per model, within a byte budget (issue 18)."""

from __future__ import annotations

import copy
import pickle

import numpy as np

from core.config import ModelConfig
from core.insight.cache import InsightCache
from core.models import build_model


def test_values_are_computed_once_per_model_and_dropped_for_a_new_one() -> None:
    cache, calls = InsightCache(), []
    first, second = build_model(ModelConfig()), build_model(ModelConfig())
    compute = lambda: calls.append(1) or np.zeros(10)
    cache.get(first, "maps", compute)
    cache.get(first, "maps", compute)
    assert len(calls) == 1 and cache.peek(first, "maps") is not None
    cache.get(second, "maps", compute)
    assert len(calls) == 2 and cache.peek(first, "maps") is None and len(cache) == 1


def test_past_its_budget_the_least_recently_used_go_first() -> None:
    cache, model = InsightCache(max_bytes=3 * 8000), build_model(ModelConfig())
    for epoch in range(3):
        cache.get(model, ("maps", epoch), lambda: np.zeros(1000))  # 8,000 bytes each
    cache.get(model, ("maps", 0), lambda: np.ones(1000))  # used again: now the most recent
    cache.get(model, ("maps", 3), lambda: np.zeros(1000))
    assert cache.nbytes <= 3 * 8000
    assert cache.peek(model, ("maps", 1)) is None and cache.peek(model, ("maps", 0)) is not None


def test_copies_and_pickles_start_empty() -> None:
    cache, model = InsightCache(max_bytes=123), build_model(ModelConfig())
    cache.get(model, "x", lambda: np.zeros(3))
    for other in (copy.deepcopy(cache), pickle.loads(pickle.dumps(cache))):
        assert len(other) == 0 and other.max_bytes == 123
