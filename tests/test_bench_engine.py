"""The benchmark's overhead rows compare like with like: the bare loop and the recorded engine run train the same
weights step for step, and each timing is a positive per-step figure."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from core.bench.engine import (
    OVERHEAD_MODEL,
    OVERHEAD_TRAIN,
    PLAYGROUND_SPIRAL,
    SPIRAL,
    bare_loop,
    engine_run,
    time_step_overhead,
)
from core.data.make import make_dataset
from core.models import build_model


@pytest.mark.parametrize("batch", [10, 64])
def test_the_bare_loop_and_the_engine_do_the_same_work(batch: int) -> None:
    data, config = make_dataset(SPIRAL), replace(OVERHEAD_TRAIN, batch_size=batch, epochs=3)
    bare, engine = build_model(OVERHEAD_MODEL), build_model(OVERHEAD_MODEL)
    assert len(bare_loop(bare, data, config)) == len(engine_run(engine, data, config)) == 3
    for p, q in zip(bare.parameters(), engine.parameters()):
        assert torch.equal(p, q), "the same shuffles, gradients and fused Adam steps"


def test_step_times_are_per_step_figures_for_both_loops() -> None:
    data = make_dataset(PLAYGROUND_SPIRAL)
    assert len(data.y_train) == 250 and not data.has_validation  # Playground's spiral: 25 steps at batch 10
    times = time_step_overhead(64, data=data, train=replace(OVERHEAD_TRAIN, epochs=4), repeats=1)
    assert set(times) == {"bare", "engine"} and all(0 < t < 0.1 for t in times.values())
    with pytest.raises(ValueError, match="repeats must be at least 1"):
        time_step_overhead(64, data=data, repeats=0)
