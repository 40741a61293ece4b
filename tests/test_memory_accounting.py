"""Every byte a session holds is counted (issue 18): a session filled with a 6 x 1024 run's kept weights, 20
epochs of neuron maps and 10 uploads weighs, by the store's measure, what the process grew by."""

from __future__ import annotations

import ctypes
import gc
import io
import resource
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from core.config import MAX_HIDDEN_LAYERS, MAX_UNITS, DataConfig, ModelConfig, Settings, TrainConfig
from core.history.memsize import approx_nbytes
from core.insight.cache import INSIGHT_BYTES
from core.insight.maps import neuron_maps
from core.lab import Lab
from core.training.budget import Budget
from core.training.recorder import SNAPSHOT_BYTES, model_at

TOLERANCE = 0.25


def rss_bytes() -> int:
    """This process's live resident memory (Linux /proc), after a collection and after glibc has handed back the
    heap memory it keeps from freed blocks (else memory freed by evicted maps would look held)."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def uploads(n: int) -> list[bytes]:
    pictures = []
    for k in range(n):
        picture = np.full((200, 200), 255, np.uint8)
        picture[40 + k:160 + k, 80 + 2 * k:110 + 2 * k] = 0
        out = io.BytesIO()
        Image.fromarray(picture).save(out, format="PNG")
        pictures.append(out.getvalue())
    return pictures


def test_the_store_counts_what_a_full_session_holds() -> None:
    lab = Lab(budget=Budget(max_run_s=3600))
    lab.apply(Settings(DataConfig(name="circles", n_samples=300), ModelConfig(hidden=(MAX_UNITS,) * MAX_HIDDEN_LAYERS),
                       TrainConfig(epochs=12, batch_size=0, lr=1e-3)))
    images = uploads(10)
    warm = Lab()  # the first run and maps of a process import and set up more of torch: not the session's bytes
    warm.apply(Settings(DataConfig(name="circles", n_samples=100), ModelConfig(hidden=(4,)), TrainConfig(epochs=2)))
    warm.train(wait=True)
    neuron_maps(warm.model, X=warm.data.X_train, resolution=8)
    warm.prepare(uploads(1)[0])
    del warm
    before = rss_bytes()
    lab.train(wait=True)
    states = lab.result.states
    for epoch in range(20):  # the Inside page's maps for 20 replay epochs (kept within its budget)
        state = states[epoch % len(states)]
        lab.insight.get(lab.model, ("maps", epoch), lambda s=state: neuron_maps(
            model_at(lab.model, s), X=lab.data.X_train, resolution=40))
    for raw in images:
        lab.prepare(raw)
    grown = rss_bytes() - before
    counted = approx_nbytes(lab, skip=(lab.data,))  # as the session store weighs a Lab
    assert counted > 80 * 2**20, "the session holds the run's weights, its kept epochs and the maps"
    print(f"session counted {counted / 2**20:.0f} MB, process grew {grown / 2**20:.0f} MB")
    assert abs(counted - grown) <= TOLERANCE * grown, (counted / 2**20, grown / 2**20)
    assert lab.insight.nbytes <= INSIGHT_BYTES and sum(a.nbytes for s in states for a in s.state.values()) <= (
        SNAPSHOT_BYTES)
    assert len(lab._prepared) == 10


def test_a_session_over_the_cap_is_refused_by_the_store() -> None:
    from core.history.store import SessionStore, StoreError, StoreLimits

    lab = Lab()
    lab.apply(Settings(DataConfig(name="circles", n_samples=300), ModelConfig(hidden=(256, 256)),
                       TrainConfig(epochs=5, batch_size=0)))
    lab.train(wait=True)
    size = approx_nbytes(lab, skip=(lab.data,))
    store = SessionStore(replace(StoreLimits(), max_mb=max(1, size // 2**20 // 2)),
                         size_of=lambda value: approx_nbytes(value, skip=(value.data,)))
    with pytest.raises(StoreError, match="more than the store's whole cap"):
        store.put(lab)
    assert len(store) == 0


def test_an_image_variant_a_link_asks_for_counts_against_its_session() -> None:
    from app_pages.common.session_store import lab_nbytes
    from app_pages.common.ui import shared_dataset

    assert shared_dataset(DataConfig(name="digits")) and shared_dataset(DataConfig(name="circles", seed=7))
    assert not shared_dataset(DataConfig(name="mnist", seed=123456789, test_fraction=0.05, val_fraction=0.5))
    common, variant = Lab(), Lab()
    common.apply(Settings(DataConfig(name="digits"), ModelConfig(), TrainConfig()))
    variant.apply(Settings(DataConfig(name="digits", seed=99), ModelConfig(), TrainConfig()))
    data_bytes = sum(a.nbytes for a in (variant.data.X_train, variant.data.X_test, variant.data.X_val))
    assert lab_nbytes(variant) - lab_nbytes(common) >= data_bytes


def test_a_run_result_weighed_once_still_counts_what_its_replay_draws_later() -> None:
    from app_pages.common.session_store import lab_nbytes

    lab = Lab(threads=1)
    lab.apply(Settings(DataConfig(name="circles"), ModelConfig(hidden=(8,)), TrainConfig(epochs=30, patience=0)),
              train="always")
    # circles is shared between sessions: its data is not counted. The walk counts no history (its numbers are small
    # Python values); the store reckons 200 bytes an epoch.
    history = 200 * len(lab.result.history)
    whole = approx_nbytes(lab, skip=(lab.data,))
    assert lab_nbytes(lab) == whole + history and lab_nbytes(lab) == whole + history  # the second from the memo
    snapshots = lab.result.snapshots
    before = snapshots.drawn
    _ = snapshots[: len(snapshots) // 2]  # the replay draws half the boundaries
    assert snapshots.drawn > before
    grown = approx_nbytes(lab, skip=(lab.data,))
    assert grown > whole and lab_nbytes(lab) == grown + history


def test_a_slider_move_weighs_the_session_once(monkeypatch) -> None:
    from core.history.store import SessionStore
    from tests.test_pages import no_errors, page, ready_lab

    at = page("train", ready_lab(train=False)).run()
    no_errors(at)
    weighed, put = [], SessionStore.put

    def counted(self, value, *args, **kw):
        weighed.append(value)
        return put(self, value, *args, **kw)

    monkeypatch.setattr(SessionStore, "put", counted)
    at.select_slider(key="train.arch.units").set_value(2).run()  # its callback drops the model, the page trains
    no_errors(at)
    lab = weighed[-1]
    assert lab.model_config.hidden[0] == 2 and lab.result is not None
    assert len(weighed) == 1, "weighed before the page too, though the page changed it again"
