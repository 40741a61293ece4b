"""Short looks inside a model (attributions, feature maps, neuron maps) share the server's cores fairly.

The limits live here; the pages run every look through INSPECTION_SLOTS. Slow work (t-SNE) takes a training slot
instead (core.training.jobs.SlotTask), where its seconds are counted like a run's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from core.training.jobs import server_capacity


class SlotsBusy(ValueError):
    """Every inspection slot stayed busy for longer than the caller would wait."""


INSPECT_TIMEOUT_S = 30.0  # give up (and say the server is busy) after this long without a slot
INSPECT_POLL_S = 0.25  # a wait shorter than this stays silent; longer ones report every poll


class InspectionSlots:
    """At most `capacity` short looks inside a model (attributions, feature maps, neuron maps: milliseconds to
    ~0.3 s) at once, each in its caller's thread, so that a class clicking together queues instead of piling onto
    the cores. Apart from the training slots: a 7 ms look never waits behind a minute-long run."""

    def __init__(self, capacity: int, *, poll_s: float = INSPECT_POLL_S) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1. Got {capacity} instead.")
        self.capacity = capacity
        self._poll_s = poll_s
        self._semaphore = threading.BoundedSemaphore(capacity)
        self._lock = threading.Lock()
        self.running = self.waiting = self.peak = 0  # peak: the most that ever ran at once

    def run(self, work: Callable[[], object], *, timeout: float = INSPECT_TIMEOUT_S,
            on_wait: Callable[[float], None] | None = None) -> object:
        """`work()` once a slot is free; while every slot is busy, `on_wait(seconds waited)` is called every
        poll (the page's "waiting for a free slot"), and after `timeout` seconds SlotsBusy is raised."""
        self._acquire(timeout, on_wait)
        try:
            return work()
        finally:
            with self._lock:
                self.running -= 1
            self._semaphore.release()

    def _acquire(self, timeout: float, on_wait: Callable[[float], None] | None) -> None:
        start = time.monotonic()
        with self._lock:
            self.waiting += 1
        try:  # an exception from on_wait (a page rerun) leaves without a slot and without counting as waiting
            while not self._semaphore.acquire(timeout=self._poll_s):
                waited = time.monotonic() - start
                if waited >= timeout:
                    raise SlotsBusy(f"The server stayed busy with other looks inside for {waited:.0f} s "
                                    f"({self.waiting} waiting, {self.capacity} at a time): try again in a moment.")
                if on_wait is not None:
                    on_wait(waited)
        finally:
            with self._lock:
                self.waiting -= 1
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)


def inspection_capacity(cores: int | None = None) -> int:
    """Looks inside at once on `cores` cores: as many as the cores that the training slots may use.

    A burst of clicks can then at most double the load of full training slots, for well under a second.
    """
    threads, runs = server_capacity(cores)
    return threads * runs


# One process-wide pool for the web server's sessions, as SHARED_SLOTS is for training runs.
INSPECTION_SLOTS = InspectionSlots(inspection_capacity())
