"""Looks inside a model run in the server's inspection slots: bounded at once, apart from training, never stuck."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from core.bench.timing import time_attribution_burst
from core.config import ModelConfig
from core.insight.digits import attribute_image
from core.insight.slots import InspectionSlots, SlotsBusy, inspection_capacity
from core.models import build_model


def hold_a_slot(slots: InspectionSlots) -> tuple[threading.Event, threading.Thread]:
    """Take one slot on a thread until the returned event is set."""
    release, taken = threading.Event(), threading.Event()
    thread = threading.Thread(target=slots.run, args=(lambda: (taken.set(), release.wait(10)),))
    thread.start()
    assert taken.wait(5), "the holder never got its slot"
    return release, thread


def test_eight_attributions_requested_at_once_never_run_more_than_the_capacity() -> None:
    model = build_model(ModelConfig(kind="mlp", hidden=(16,), input_shape=(1, 28, 28), n_classes=10))
    image = np.random.default_rng(0).normal(size=(28, 28)).astype(np.float32)
    slots, lock, start = InspectionSlots(2, poll_s=0.01), threading.Lock(), threading.Barrier(8)
    active, most, results = [0], [0], []

    def attribution() -> object:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        try:
            time.sleep(0.03)  # long enough that the eight requests overlap
            return attribute_image(model, image, target=3, method="saliency")
        finally:
            with lock:
                active[0] -= 1

    def client() -> None:
        start.wait()
        results.append(slots.run(attribution))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 8 and all(r.values.shape == (28, 28) and r.target == 3 for r in results)
    assert most[0] == slots.peak == 2  # the bound was reached, never passed
    assert slots.running == slots.waiting == 0


def test_a_wait_says_so_and_gives_up_after_the_timeout() -> None:
    slots = InspectionSlots(1, poll_s=0.02)
    release, holder = hold_a_slot(slots)
    waits: list[float] = []
    with pytest.raises(SlotsBusy, match=r"stayed busy with other looks inside for 0 s \(\d+ waiting, 1 at a time\)"):
        slots.run(lambda: 1, timeout=0.2, on_wait=waits.append)
    assert len(waits) >= 3 and waits == sorted(waits) and waits[-1] < 0.2
    def interrupted(_seconds: float) -> None:  # as a page rerun interrupts a wait
        raise RuntimeError("rerun")

    with pytest.raises(RuntimeError, match="rerun"):
        slots.run(lambda: 1, on_wait=interrupted)
    assert slots.waiting == 0
    release.set()
    holder.join(5)
    assert slots.run(lambda: 7, timeout=0.2) == 7


def test_a_failing_computation_frees_its_slot() -> None:
    slots = InspectionSlots(1, poll_s=0.02)
    with pytest.raises(ZeroDivisionError):
        slots.run(lambda: 1 / 0)
    assert slots.running == 0 and slots.run(lambda: "free", timeout=0.1) == "free"


def test_the_benchmark_times_a_burst_of_attributions_through_the_slots() -> None:
    slots = InspectionSlots(1, poll_s=0.01)
    burst = time_attribution_burst(ModelConfig(kind="mlp", hidden=(8,), input_shape=(1, 28, 28), n_classes=10),
                                   slots, clients=3, repeats=1, method="saliency")
    assert set(burst) == {"alone", "median", "slowest"} and 0 < burst["median"] <= burst["slowest"] < 10
    assert slots.peak == 1 and slots.running == 0
    with pytest.raises(ValueError, match="clients must be at least 1"):
        time_attribution_burst(ModelConfig(), slots, clients=0)


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 1), (4, 3), (16, 12)])
def test_inspection_capacity_follows_the_training_slots_cores(cores: int, expected: int) -> None:
    assert inspection_capacity(cores) == expected
    with pytest.raises(ValueError, match="capacity must be at least 1"):
        InspectionSlots(0)
