"""The session store: tokens, time limit, LRU eviction under the memory cap, owners (browser tabs), the reaper,
forks and threads."""

from __future__ import annotations

import base64
import hashlib
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from core.config import DataConfig, ModelConfig, TrainConfig
from core.data.dataset import Dataset
from core.data.make import make_dataset
from core.history.memsize import approx_nbytes
from core.history.store import (
    ENDED,
    EVICTED,
    EXPIRED,
    FOREIGN,
    FORKED,
    FOUND,
    MB,
    UNKNOWN,
    Lookup,
    SessionStore,
    StoreError,
    StoreLimits,
)
from core.models import build_model
from core.training.result import TrainResult
from core.training.train import train_model
from core.url.text import is_token, new_token


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


@dataclass(eq=False)
class Session:
    """What one browser session keeps: its data, its trained model and the run's results."""

    data: Dataset
    model: nn.Module
    result: TrainResult | None = None


def blob(kib: int) -> np.ndarray:
    return np.zeros(kib * 1024, dtype=np.uint8)


def store_of(max_mb: float = 1.0, ttl_min: float = 120.0, **kw) -> tuple[SessionStore, FakeClock]:
    clock = FakeClock()
    return SessionStore(StoreLimits(max_mb=max_mb, ttl_min=ttl_min), clock=clock, **kw), clock


# --- tokens ------------------------------------------------------------------------------


def test_tokens_carry_at_least_128_random_bits_and_are_distinct() -> None:
    tokens = [new_token() for _ in range(2000)]
    assert len(set(tokens)) == len(tokens)
    for token in tokens[:50]:
        assert is_token(token)
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 16
    assert not is_token("short") and not is_token("<script>alert(1)</script>xxxxxxxx") and not is_token(None)


def test_put_refuses_a_token_of_the_wrong_shape() -> None:
    store, _ = store_of()
    with pytest.raises(StoreError, match="22-64 URL-safe"):
        store.put(blob(1), "../../etc/passwd")


# --- time limit ----------------------------------------------------------------------------


def test_an_entry_unused_for_the_time_limit_is_reported_expired() -> None:
    store, clock = store_of(ttl_min=120)
    token = store.put(blob(1))
    clock.advance(119)
    assert store.get(token).status == FOUND  # a use restarts the time limit
    clock.advance(119)
    assert store.get(token).found
    clock.advance(121)
    gone = store.get(token)
    assert (gone.status, gone.value, gone.found) == (EXPIRED, None, False)
    assert "2 hours without use" in gone.message
    assert "after 1 hour without use" in Lookup(token, EXPIRED, ttl_min=60).message
    assert "after 30 minutes without use" in Lookup(token, EXPIRED, ttl_min=30).message
    assert len(store) == 0 and store.nbytes == 0


def test_a_token_never_seen_is_unknown_and_bad_input_does_not_raise() -> None:
    store, _ = store_of()
    for token in (new_token(), "", "x" * 10_000, None, 42):
        lookup = store.get(token)
        assert lookup.status == UNKNOWN and "not known" in lookup.message


def test_the_memory_of_gone_tokens_is_bounded() -> None:
    clock = FakeClock()
    store = SessionStore(StoreLimits(ttl_min=1, remember_gone=3), clock=clock)
    tokens = [store.put(blob(1)) for _ in range(5)]
    clock.advance(2)
    assert [store.get(t).status for t in tokens] == [UNKNOWN, UNKNOWN, EXPIRED, EXPIRED, EXPIRED]


# --- memory cap ------------------------------------------------------------------------------


def test_memory_pressure_evicts_the_least_recently_used_first() -> None:
    store, _ = store_of(max_mb=1.0)
    a, b = store.put(blob(400)), store.put(blob(400))
    assert store.get(a).found  # now b is the least recently used
    c = store.put(blob(400))
    assert store.get(b).status == EVICTED and "memory cap" in store.get(b).message
    assert store.get(a).found and store.get(c).found
    assert store.nbytes == 800 * 1024 <= store.limits.max_bytes


def test_a_value_larger_than_the_whole_cap_is_refused_and_not_held() -> None:
    store, _ = store_of(max_mb=1.0)
    small = store.put(blob(10))
    token = store.put(blob(10))
    with pytest.raises(StoreError, match="NNLAB_STORE_MB"):
        store.put(blob(2048), token)  # the session grew past the cap: it cannot stay
    assert store.get(token).status == EVICTED
    assert store.get(small).found and store.nbytes == 10 * 1024


def train_session(seed: int) -> Session:
    data = make_dataset(DataConfig(name="circles", n_samples=200, seed=seed))
    model = build_model(ModelConfig(hidden=(32, 32), input_shape=data.input_shape), seed=seed)
    result = train_model(model, data, TrainConfig(epochs=2, batch_size=0, seed=seed))
    return Session(data, model, result)


def test_fifty_trained_sessions_never_exceed_the_cap() -> None:
    one = approx_nbytes(train_session(0))
    store, _ = store_of(max_mb=10.5 * one / MB)  # room for ten sessions
    tokens = []
    for seed in range(50):
        session = train_session(seed)
        tokens.append(store.put(session))
        held = [store.get(t) for t in tokens if t in store]
        # Re-measure what is actually held, independently of the store's own bookkeeping.
        assert sum(approx_nbytes(h.value) for h in held) <= store.limits.max_bytes
        assert store.nbytes <= store.limits.max_bytes
        assert store.get(tokens[-1]).value is session
    assert len(store) == 10
    assert {store.get(t).status for t in tokens[:40]} == {EVICTED}
    assert all(store.get(t).found for t in tokens[40:])


# --- sizes -------------------------------------------------------------------------------


def test_approx_nbytes_counts_a_model_and_its_data_like_a_reference() -> None:
    session = train_session(0)
    params = sum(p.numel() * p.element_size() for p in session.model.parameters())
    arrays = sum(a.nbytes for a in vars(session.data).values() if isinstance(a, np.ndarray))
    assert arrays >= session.data.X_train.nbytes + session.data.X_test.nbytes > 0
    assert approx_nbytes(session.model) == params
    assert approx_nbytes(session.data) == arrays
    assert approx_nbytes(session) >= params + arrays
    assert approx_nbytes(session, skip=(session.data,)) == approx_nbytes(session) - arrays


def test_approx_nbytes_counts_shared_memory_once_and_survives_cycles() -> None:
    a = np.zeros(1000, dtype=np.float64)
    t = torch.from_numpy(a)  # same memory as `a`
    loop: list = [a, a[10:20], t, t[:5], {"again": a}, b"12345"]
    loop.append(loop)
    assert approx_nbytes(loop) == 8000 + 5


def test_approx_nbytes_reads_slotted_dataclasses() -> None:
    @dataclass(frozen=True, slots=True)
    class Slotted:
        weights: np.ndarray
        bias: torch.Tensor

    assert approx_nbytes([Slotted(np.zeros(10), torch.zeros(4))]) == 80 + 16


def drawn_points(n: int, seed: int) -> DataConfig:
    """Your own points as the Data page keeps them: Python tuples of (x, y, class index) in a DataConfig."""
    rng = np.random.default_rng(seed)
    xy, classes = rng.normal(size=(n, 2)), rng.integers(0, 3, n)
    points = tuple((float(x), float(y), int(c)) for (x, y), c in zip(xy, classes))
    return DataConfig(name="csv", points=points, class_names=("a", "b", "c"))


def test_approx_nbytes_counts_drawn_points_held_as_python_tuples() -> None:
    config = drawn_points(10_000, seed=0)
    # Reference, measured independently: the tuples and every number object (shared small ints once).
    numbers = {id(v): v for point in config.points for v in point}
    reference = (sys.getsizeof(config.points) + sum(sys.getsizeof(p) for p in config.points)
                 + sum(sys.getsizeof(v) for v in numbers.values()))
    assert approx_nbytes(config) == reference > 1_000_000
    assert approx_nbytes({"a": config, "b": config}) == reference  # the same points count once
    assert approx_nbytes([config, np.zeros(100)]) == reference + 800


def test_sessions_holding_drawn_points_count_against_the_cap() -> None:
    store, _ = store_of(max_mb=3.0)  # room for two 10,000-point sets, not three
    tokens = [store.put({"data_config": drawn_points(10_000, seed)}) for seed in range(3)]
    assert store.get(tokens[0]).status == EVICTED
    assert store.get(tokens[1]).found and store.get(tokens[2]).found
    assert 2_000_000 < store.nbytes <= store.limits.max_bytes


def test_approx_nbytes_ignores_code_and_plain_values() -> None:
    assert approx_nbytes({"f": approx_nbytes, "m": np, "n": 3, "s": "x" * 100, "cls": Session}) == 0


# --- forks and owners ----------------------------------------------------------------------------


def test_a_fork_is_independent_of_the_original() -> None:
    store, _ = store_of(max_mb=50)
    original = train_session(0)
    weights = [p.detach().clone() for p in original.model.parameters()]
    X = original.data.X_train.copy()
    token = store.put(original, owner="first")
    fork = store.fork(token)
    assert fork.status == FORKED and fork.token != token and is_token(fork.token)
    with torch.no_grad():
        for p in fork.value.model.parameters():
            p.add_(1.0)
    fork.value.data.X_train[:] = 99.0
    fork.value.result = None
    same = store.get(token).value
    assert same is original and original.result is not None
    assert all(torch.equal(w, p) for w, p in zip(weights, original.model.parameters()))
    np.testing.assert_array_equal(original.data.X_train, X)


TAB, OTHER_TAB = (hashlib.sha256(name.encode()).hexdigest() for name in ("tab", "other tab"))  # secrets' hashes


def test_the_same_tab_open_twice_gets_a_fork_and_the_first_keeps_its_entry() -> None:
    alive = {"A", "B"}
    store, _ = store_of(is_owner_alive=lambda owner: owner in alive)
    token = store.put({"w": np.ones(3)}, secret_hash=TAB)
    assert store.claim(token, "A", TAB).status == FOUND
    assert store.claim(token, "A", TAB).token == token  # a rerun of the same browser session
    second = store.claim(token, "B", TAB)  # the tab duplicated: the same sessionStorage
    assert second.status == FORKED and second.token != token and second.mine
    second.value["w"][:] = 0
    assert store.get(token).value["w"].tolist() == [1, 1, 1]
    assert store.claim(second.token, "B", TAB).status == FOUND  # the fork is the same tab's, B's own
    alive.discard("A")  # A's tab was reloaded: its old browser session is gone
    assert store.claim(token, "C", TAB).status == FOUND


def test_another_tab_gets_nothing_of_a_token_and_the_entry_is_untouched() -> None:
    alive = {"A"}
    store, _ = store_of(is_owner_alive=lambda owner: owner in alive)
    value = {"w": np.ones(3)}
    token = store.put(value, owner="A", secret_hash=TAB)
    for owner in ("A", "B"):
        for secret_hash in (OTHER_TAB, None, TAB.upper(), ""):
            found = store.claim(token, owner, secret_hash)
            assert (found.status, found.value, found.found, found.mine) == (FOREIGN, None, False, False)
            assert "another browser tab" in found.message
    alive.clear()  # even once the owner's browser has gone: never handed over
    assert store.claim(token, "B", OTHER_TAB).status == FOREIGN
    assert store.get(token).value is value and len(store) == 1
    with pytest.raises(StoreError, match="another browser tab"):
        store.put({"w": np.zeros(3)}, token, owner="B", secret_hash=OTHER_TAB)
    assert store.get(token).value is value
    assert store.claim(token, "C", TAB).value is value  # the same tab, reloaded


def test_a_token_without_a_tab_is_nobodys() -> None:
    store, _ = store_of()
    token = store.put(blob(1))
    assert store.claim(token, "A", TAB).status == FOREIGN and store.claim(token, "A", None).status == FOREIGN


def test_release_frees_a_token_for_the_next_browser_session_of_the_tab() -> None:
    store, _ = store_of()
    token = store.put(blob(1), owner="A", secret_hash=TAB)
    store.release(token, "B")  # not B's to release
    assert store.claim(token, "B", TAB).status == FORKED
    store.release(token, "A")
    assert store.claim(token, "B", TAB).status == FOUND


def test_claiming_a_gone_token_says_why_and_whose_it_was() -> None:
    store, clock = store_of(ttl_min=1, max_mb=1.0)
    expired = store.put(blob(1), secret_hash=TAB)
    clock.advance(5)
    mine = store.claim(expired, "A", TAB)
    assert (mine.status, mine.mine, mine.value) == (EXPIRED, True, None)
    assert store.fork(expired).status == EXPIRED
    theirs = store.claim(expired, "B", OTHER_TAB)  # a stranger learns nothing of what happened to it
    assert (theirs.status, theirs.mine) == (FOREIGN, False)
    evicted = store.put(blob(600), secret_hash=TAB)
    store.put(blob(600), secret_hash=OTHER_TAB)
    assert store.claim(evicted, "A", TAB).mine and store.claim(evicted, "A", TAB).status == EVICTED
    assert store.claim(evicted, "B", OTHER_TAB).status == FOREIGN
    unknown = store.claim(new_token(), "A", TAB)
    assert (unknown.status, unknown.mine) == (UNKNOWN, False)


def test_a_tab_ends_its_own_session_and_nobody_can_open_it_again() -> None:
    store, _ = store_of()
    value = {"w": np.ones(3)}
    token = store.put(value, owner="A", secret_hash=TAB)
    assert store.drop(token, OTHER_TAB) is None and store.get(token).value is value  # not theirs to end
    assert store.drop(token, TAB) is value
    assert token not in store and store.nbytes == 0
    for secret_hash in (TAB, OTHER_TAB):
        found = store.claim(token, "B", secret_hash)
        assert (found.status, found.mine) == (ENDED, False) and "ended in its browser tab" in found.message


# --- the reaper ----------------------------------------------------------------------------------


def reaped_store(**limits) -> tuple[SessionStore, FakeClock, set[str], list]:
    """A store whose owners are alive while in the returned set; `on_end` appends to the returned list."""
    clock, alive, ended = FakeClock(), set(), []
    store = SessionStore(StoreLimits(**limits), clock=clock, is_owner_alive=lambda owner: owner in alive,
                         on_end=ended.append)
    return store, clock, alive, ended


def test_the_reaper_stops_a_session_gone_past_the_grace_period() -> None:
    store, clock, alive, ended = reaped_store(grace_s=120)
    value = {"w": np.ones(3)}
    token = store.put(value, owner="A", secret_hash=TAB)
    alive.add("A")
    assert store.reap() == 0
    alive.clear()  # the tab was closed
    assert store.reap() == 0  # first seen gone: the grace period starts
    clock.now += 119
    assert store.reap() == 0 and not ended
    clock.now += 2
    assert store.reap() == 1 and ended == [value]
    assert store.get(token).value is value, "released, not forgotten: the same tab reopened finds it"
    clock.now += 500
    assert store.reap() == 0 and ended == [value], "told once"
    assert store.claim(token, "B", TAB).status == FOUND


def test_a_reconnect_or_reload_within_the_grace_period_keeps_the_work_going() -> None:
    store, clock, alive, ended = reaped_store(grace_s=120)
    token = store.put(blob(1), owner="A", secret_hash=TAB)
    store.reap()
    clock.now += 100
    alive.add("A")  # the same browser session reconnected
    store.reap()
    alive.clear()
    store.reap()
    clock.now += 100  # 200 s since first gone, but only 100 s since the reconnect
    assert store.reap() == 0
    assert store.claim(token, "B", TAB).status == FOUND  # a reload: B is the tab's new browser session
    alive.add("B")
    clock.now += 1000
    assert store.reap() == 0 and not ended


def test_expired_and_evicted_sessions_are_stopped_by_the_reaper() -> None:
    store, clock, _, ended = reaped_store(max_mb=1.0, ttl_min=1)
    store.start_reaper()  # it looks every 5 s on its own; this test looks by hand before then
    try:
        first, second = {"first": blob(600)}, {"second": blob(600)}
        store.put(first, secret_hash=TAB)
        store.put(second, secret_hash=OTHER_TAB)  # evicts `first`
        assert store.reap() == 1 and ended == [first]
        clock.advance(2)  # `second` expires
        assert store.reap() == 1 and ended == [first, second]
        assert store.reap() == 0 and len(store) == 0
    finally:
        store.stop_reaper()


def test_an_evicted_session_whose_tab_is_still_open_keeps_its_run() -> None:
    """CI, 5 December 2026: 30 students filled the store, and the reaper stopped two MNIST runs waiting for a slot
    because their entries were evicted, though their tabs were open and still showed the Lab."""
    store, _, alive, ended = reaped_store(max_mb=1.0)
    store.start_reaper()  # it looks every 5 s on its own; this test looks by hand before then
    try:
        waiting, other = {"waiting": blob(600)}, {"other": blob(600)}
        alive.update({"A", "B"})
        token = store.put(waiting, owner="A", secret_hash=TAB)
        store.put(other, owner="B", secret_hash=OTHER_TAB)  # evicts `waiting`: A's tab still holds it
        assert store.get(token).status == EVICTED
        assert store.reap() == 0 and store.reap() == 0 and ended == []
        store.put(waiting, token, owner="A", secret_hash=TAB)  # A's next page run keeps it again (evicting B's)
        alive.discard("B")  # and B's tab has gone: its evicted entry's work is stopped
        assert store.reap() == 1 and ended == [other]
        assert store.reap() == 0
    finally:
        store.stop_reaper()


def test_an_evicted_session_whose_tab_then_closes_is_stopped() -> None:
    store, _, alive, ended = reaped_store(max_mb=1.0)
    store.start_reaper()
    try:
        first = {"first": blob(600)}
        alive.update({"A", "B"})
        store.put(first, owner="A", secret_hash=TAB)
        store.put({"second": blob(600)}, owner="B", secret_hash=OTHER_TAB)
        assert store.reap() == 0
        alive.discard("A")
        assert store.reap() == 1 and ended == [first]
    finally:
        store.stop_reaper()


def test_memory_pressure_evicts_sessions_no_open_tab_holds_first() -> None:
    store, _, alive, _ = reaped_store(max_mb=1.0)
    alive.update({"A", "C"})
    held = store.put(blob(300), owner="A", secret_hash=TAB)  # the least recently used, but its tab is open
    released = store.put(blob(300), owner="B", secret_hash=TAB)
    store.release(released, "B")
    newest = store.put(blob(300), owner="C", secret_hash=TAB)
    store.put(blob(300), owner="C", secret_hash=TAB)
    assert store.get(released).status == EVICTED
    assert store.get(held).found and store.get(newest).found


def test_the_reaper_thread_runs_on_its_own_and_survives_a_failing_stop() -> None:
    calls: list[object] = []

    def on_end(value: object) -> None:
        calls.append(value)
        raise RuntimeError("cannot stop this one")

    store = SessionStore(StoreLimits(grace_s=0.2), is_owner_alive=lambda owner: False, on_end=on_end)
    store.put("first", owner="A", secret_hash=TAB)
    store.put("second", owner="B", secret_hash=TAB)
    store.start_reaper()
    store.start_reaper()  # once per store: a second call starts nothing
    try:
        deadline = time.monotonic() + 10
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(calls) == ["first", "second"]
        assert [t.name for t in threading.enumerate()].count("nnlab-reaper") >= 1
    finally:
        store.stop_reaper()


# --- threads -----------------------------------------------------------------------------------


def test_concurrent_puts_and_gets_lose_nothing() -> None:
    store = SessionStore(StoreLimits(max_mb=100))
    results: dict[int, list[tuple[str, int]]] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            mine = []
            for i in range(100):
                token = store.put({"who": (n, i), "x": np.full(64, i)})
                mine.append((token, i))
                assert store.get(token).value["who"] == (n, i)
            results[n] = mine
        except BaseException as exc:  # noqa: BLE001 - reported below, on the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    expected = sum(64 * 8 + approx_nbytes((n, i)) for n, mine in results.items() for _, i in mine)  # array + "who"
    assert len(store) == 800 and store.nbytes == expected
    for n, mine in results.items():
        assert all(store.get(token).value["who"] == (n, i) for token, i in mine)


def test_concurrent_eviction_keeps_the_books_straight() -> None:
    store = SessionStore(StoreLimits(max_mb=0.25))
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        for _ in range(100):
            token = store.put(blob(20))
            store.get(token)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.nbytes == len(store) * 20 * 1024 <= store.limits.max_bytes


# --- limits from the environment -------------------------------------------------------------------


def test_limits_come_from_the_environment() -> None:
    limits = StoreLimits.from_env({"NNLAB_STORE_MB": "256", "NNLAB_STORE_TTL_MIN": "30", "NNLAB_SESSION_GRACE_S": "3"})
    assert (limits.max_mb, limits.ttl_s, limits.max_bytes, limits.grace_s) == (256, 1800, 256 * MB, 3)
    assert 0.1 <= limits.reap_every_s <= 1 and StoreLimits().reap_every_s == 5
    assert StoreLimits().grace_s == 120, "Streamlit's own server.disconnectedSessionTTL"
    assert StoreLimits.from_env({}) == StoreLimits()
    store = SessionStore.from_env({"NNLAB_STORE_TTL_MIN": "45"})
    assert store.limits.ttl_min == 45


@pytest.mark.parametrize("var, text", [("NNLAB_STORE_MB", "lots"), ("NNLAB_STORE_MB", "-5"),
                                       ("NNLAB_STORE_MB", "inf"), ("NNLAB_STORE_TTL_MIN", "0"),
                                       ("NNLAB_STORE_TTL_MIN", "nan"), ("NNLAB_SESSION_GRACE_S", "soon"),
                                       ("NNLAB_SESSION_GRACE_S", "-1")])
def test_bad_limits_in_the_environment_say_what_to_set(var: str, text: str) -> None:
    with pytest.raises(StoreError, match=f"{var} must be a positive number, for example {var}="):
        StoreLimits.from_env({var: text})


def test_limits_out_of_range_are_refused() -> None:
    with pytest.raises(StoreError, match="memory cap"):
        StoreLimits(max_mb=0)
    with pytest.raises(StoreError, match="time limit"):
        StoreLimits(ttl_min=-1)
    with pytest.raises(StoreError, match="memory cap"):
        StoreLimits(max_mb=float("inf"))
    with pytest.raises(StoreError, match="grace period"):
        StoreLimits(grace_s=0)


def test_newest_of_is_the_tabs_last_used_value_and_no_one_elses() -> None:
    store, _ = store_of()
    older = store.put("older", owner="a", secret_hash="tab")
    store.put("newer", owner="b", secret_hash="tab")
    store.put("theirs", owner="c", secret_hash="other tab")
    assert store.newest_of("tab") == "newer"
    store.get(older)  # used again: now the tab's latest
    assert store.newest_of("tab") == "older" and store.newest_of("nobody") is None and store.newest_of(None) is None
