"""The bounded server-side session store: one object per session token, with a memory cap and a time limit.

A reload finds its trained model here through the token in the URL, but only the browser tab that made it: each
entry keeps the sha256 of its tab's secret, and `claim` hands the entry only to that hash. Entries live until
they have gone unused for the time limit, unless memory pressure evicts the least recently used first. The
reaper (`start_reaper`) stops the work of a session whose browser session has been gone for the grace period,
or whose entry expired or was evicted. Every limit is in `StoreLimits`; `StoreLimits.from_env` reads them from
the environment. Entries are weighed with `core.history.memsize.approx_nbytes` unless the store is given another
size function.
"""

from __future__ import annotations

import copy
import hmac
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from core.history.memsize import approx_nbytes
from core.url.text import is_token, new_token

log = logging.getLogger(__name__)

MB = 1024 * 1024
MB_ENV = "NNLAB_STORE_MB"
TTL_ENV = "NNLAB_STORE_TTL_MIN"
GRACE_ENV = "NNLAB_SESSION_GRACE_S"
FOUND, FORKED, FOREIGN = "found", "forked", "foreign"
EXPIRED, EVICTED, ENDED, UNKNOWN = "expired", "evicted", "ended", "unknown"
GONE_MESSAGES = {
    EXPIRED: "This session's trained model was cleared after {ttl} without use.",
    EVICTED: "This session's trained model was cleared to make room for newer sessions (the server's memory cap).",
    ENDED: "This link's session was ended in its browser tab, so this is a fresh start from the link's settings.",
    FOREIGN: "This link's session belongs to another browser tab, so this is a fresh start from the link's settings.",
    UNKNOWN: "This link's session is not known to the server (it may have restarted).",
}


class StoreError(ValueError):
    """A value the store cannot hold, or a limit set out of range; the message says what to change."""


@dataclass(frozen=True)
class StoreLimits:
    """Every limit of the store, in one place."""

    max_mb: float = 1024.0  # memory cap over all entries, as measured by the store's size function
    ttl_min: float = 120.0  # an entry unused for this long expires
    remember_gone: int = 2048  # how many expired/evicted tokens are remembered, to say which happened
    grace_s: float = 120.0  # a session's work goes on this long after its browser went (Streamlit's own
    # server.disconnectedSessionTTL), so a reconnect or a reload resumes it

    def __post_init__(self) -> None:
        if not 0 < self.max_mb < math.inf:
            raise StoreError(f"The store's memory cap must be a positive number of MB. Got {self.max_mb}.")
        if not 0 < self.ttl_min < math.inf:
            raise StoreError(f"The store's time limit must be a positive number of minutes. Got {self.ttl_min}.")
        if not 0 < self.grace_s < math.inf:
            raise StoreError(f"The grace period must be a positive number of seconds. Got {self.grace_s}.")
        if self.remember_gone < 0:
            raise StoreError(f"remember_gone must be 0 or more. Got {self.remember_gone}.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StoreLimits:
        """Limits from $NNLAB_STORE_MB, $NNLAB_STORE_TTL_MIN and $NNLAB_SESSION_GRACE_S (each optional)."""
        env = os.environ if environ is None else environ
        kw = {}
        for var, field, example in ((MB_ENV, "max_mb", "1024"), (TTL_ENV, "ttl_min", "120"),
                                    (GRACE_ENV, "grace_s", "120")):
            text = env.get(var, "").strip()
            if not text:
                continue
            try:
                value = float(text)
            except ValueError:
                value = -1.0
            if not 0 < value < math.inf:
                raise StoreError(f"{var} must be a positive number, for example {var}={example}. Got {text[:40]!r}.")
            kw[field] = value
        return cls(**kw)

    @property
    def max_bytes(self) -> int:
        """The memory cap in bytes."""
        return int(self.max_mb * MB)

    @property
    def ttl_s(self) -> float:
        """The time limit in seconds."""
        return self.ttl_min * 60.0

    @property
    def reap_every_s(self) -> float:
        """How often the reaper looks: a quarter of the grace period, between 0.1 and 5 seconds."""
        return min(5.0, max(0.1, self.grace_s / 4))


@dataclass(frozen=True, eq=False)
class Lookup:
    """The answer for a token: its value, or why there is none (status "foreign", "expired", "evicted", "ended"
    or "unknown"). `mine`: the token was made by the asking tab (its secret's hash matched)."""

    token: str
    status: str
    value: Any = None
    ttl_min: float = StoreLimits.ttl_min
    mine: bool = False

    @property
    def found(self) -> bool:
        """True when `value` is the session's object ("found", or "forked" into a new token)."""
        return self.status in (FOUND, FORKED)

    @property
    def message(self) -> str:
        """A sentence for the user when the entry is gone; empty when it was found."""
        if self.found:
            return ""
        hours = self.ttl_min / 60
        ttl = f"{hours:g} hour{'s' * (hours != 1)}" if hours >= 1 else f"{self.ttl_min:g} minutes"
        return GONE_MESSAGES[self.status].format(ttl=ttl)


@dataclass(eq=False)
class _Entry:
    """One held value, its measured size, when it was last used, which browser session holds it, the hash of
    its tab's secret, and since when its browser session has been seen gone."""

    value: Any
    nbytes: int
    last_used: float
    owner: str | None = None
    secret_hash: str | None = None
    orphaned: float | None = None


def same_hash(stored: str | None, given: str | None) -> bool:
    """True when both hashes are there and equal (compared in constant time)."""
    return isinstance(stored, str) and isinstance(given, str) and hmac.compare_digest(stored, given)


class SessionStore:
    """Thread-safe, bounded map from session token to one per-session object (e.g. a `core.lab.Lab`).

    `claim(token, owner, secret_hash)` is how a page opens a token: only the tab whose secret hashes to the
    entry's gets it; the first owner (a browser session id) gets the entry itself, a second live one (the same
    tab duplicated) its own deep copy under a new token. An owner stops holding a token when it calls `release`,
    or when `is_owner_alive(owner)` says it has gone away; `on_end(value)` is then told (by the reaper, after
    the grace period) that nobody works with the value any more, as it is for entries that expire or are evicted.
    """

    def __init__(self, limits: StoreLimits = StoreLimits(), *, size_of: Callable[[Any], int] = approx_nbytes,
                 copier: Callable[[Any], Any] = copy.deepcopy, clock: Callable[[], float] = time.monotonic,
                 is_owner_alive: Callable[[str], bool] | None = None,
                 on_end: Callable[[Any], None] | None = None) -> None:
        self.limits = limits
        self._size_of, self._copier, self._clock = size_of, copier, clock
        self._is_owner_alive = is_owner_alive or (lambda owner: True)
        self._on_end = on_end
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._gone: OrderedDict[str, tuple[str, str | None]] = OrderedDict()  # token -> (why, secret hash)
        # values dropped (only while the reaper runs) whose work the reaper has not stopped yet, each with the
        # browser session that held it then (None once nobody did)
        self._ended: list[tuple[Any, str | None]] = []
        self._bytes = 0
        self._lock = threading.RLock()
        self._reaper: threading.Thread | None = None
        self._halt = threading.Event()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> SessionStore:
        """A store with the limits from the environment (see `StoreLimits.from_env`)."""
        return cls(StoreLimits.from_env(environ), **kwargs)

    # --- reading -------------------------------------------------------------------------

    def get(self, token: str) -> Lookup:
        """The entry for `token` (marking it used), or why it is gone; no ownership check (see `claim`)."""
        with self._lock:
            self._expire()
            entry = self._entries.get(token) if isinstance(token, str) else None
            if entry is None:
                return self._gone_lookup(token)
            self._touch(token, entry)
            return Lookup(token, FOUND, entry.value, self.limits.ttl_min)

    def newest_of(self, secret_hash: str | None) -> Any:
        """The value this tab used last (by its secret's hash), without marking it used; None when it holds none.
        For what a tab carries into a new session of its own (a lesson link opened in it: its lesson progress)."""
        with self._lock:
            self._expire()
            return next((entry.value for entry in reversed(self._entries.values())
                         if same_hash(entry.secret_hash, secret_hash)), None)

    def __contains__(self, token: object) -> bool:
        with self._lock:
            self._expire()
            return token in self._entries

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Bytes held by every live entry, as measured when each was last put."""
        with self._lock:
            self._expire()
            return self._bytes

    # --- writing -------------------------------------------------------------------------

    def put(self, value: Any, token: str | None = None, *, owner: str | None = None,
            secret_hash: str | None = None) -> str:
        """Hold `value` under `token` (a new one when None) for the tab whose secret hashes to `secret_hash`, and
        return the token; re-put to re-measure.

        Raises StoreError when `value` alone is larger than the memory cap (the token is then dropped), or when
        the token is another tab's.
        """
        if token is not None and not is_token(token):
            raise StoreError(f"A session token is 22-64 URL-safe characters from new_token(). Got {str(token)[:30]!r}.")
        nbytes = self._size_of(value)
        with self._lock:
            token = token or new_token()
            old = self._entries.get(token)
            if old is not None and secret_hash is not None and not same_hash(old.secret_hash, secret_hash):
                raise StoreError("This session token belongs to another browser tab: reload the page.")
            if old is not None:
                self._entries.pop(token)
                self._bytes -= old.nbytes
                owner, secret_hash = owner or old.owner, secret_hash or old.secret_hash
            if nbytes > self.limits.max_bytes:
                self._forget(token, EVICTED, secret_hash)
                raise StoreError(
                    f"This session needs {nbytes / MB:.1f} MB, more than the store's whole cap of "
                    f"{self.limits.max_mb:g} MB; raise {MB_ENV} to keep it across reloads.")
            self._gone.pop(token, None)
            self._entries[token] = _Entry(value, nbytes, self._clock(), owner, secret_hash)
            self._bytes += nbytes
            self._make_room(keep=token)
            return token

    def drop(self, token: str, secret_hash: str) -> Any:
        """Forget `token` for good at its own tab's request ("End my session"); its value, or None when the token
        is not held or is another tab's. Nobody can open it again, nor take its run history."""
        with self._lock:
            entry = self._entries.get(token) if isinstance(token, str) else None
            if entry is None or not same_hash(entry.secret_hash, secret_hash):
                return None
            self._drop(token, ENDED)
            return entry.value

    # --- owners: browser tabs and browser sessions -----------------------------------------

    def claim(self, token: str, owner: str, secret_hash: str | None) -> Lookup:
        """Open `token` for browser session `owner` of the tab whose secret hashes to `secret_hash`: the entry
        itself if free or already theirs, a fork (status "forked") if the same tab is open twice, and nothing
        (status "foreign") for any other tab. A gone token says why, and `mine` whether it was this tab's."""
        with self._lock:
            found = self.get(token)
            if not found.found:
                made_by = self._gone.get(token, (UNKNOWN, None))[1] if isinstance(token, str) else None
                if made_by is not None and not same_hash(made_by, secret_hash):
                    return Lookup(found.token, FOREIGN, None, self.limits.ttl_min)
                return replace(found, mine=made_by is not None)
            entry = self._entries[token]
            if not same_hash(entry.secret_hash, secret_hash):
                return Lookup(token, FOREIGN, None, self.limits.ttl_min)
            if entry.owner in (None, owner) or not self._is_owner_alive(entry.owner):
                entry.owner, entry.orphaned = owner, None
                return replace(found, mine=True)
        return self.fork(token, owner=owner)

    def release(self, token: str, owner: str) -> None:
        """`owner` no longer holds `token` (its browser session ended); the next claim gets the entry itself."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None and entry.owner == owner:
                entry.owner = None

    def fork(self, token: str, *, owner: str | None = None) -> Lookup:
        """A deep copy of `token`'s entry under a new token, for the same tab: nothing done to the copy reaches the
        original."""
        found = self.get(token)
        if not found.found:
            return found
        with self._lock:
            entry = self._entries.get(token)
            secret_hash = entry.secret_hash if entry is not None else None
        twin = self._copier(found.value)  # outside the lock: copying a model can take a while
        new = self.put(twin, owner=owner, secret_hash=secret_hash)
        return Lookup(new, FORKED, twin, self.limits.ttl_min, mine=True)

    # --- the reaper -----------------------------------------------------------------------

    def reap(self) -> int:
        """One look: sessions whose browser session has been gone for the grace period are released and their
        values handed to `on_end`, as are values dropped (expired, evicted, ended) since the last look. Returns
        how many values were handed over."""
        with self._lock:
            self._expire()
            owned = [(token, entry, entry.owner) for token, entry in self._entries.items() if entry.owner]
        gone = {token for token, _, owner in owned if not self._is_owner_alive(owner)}  # outside the lock
        now, ended = self._clock(), []
        with self._lock:
            for token, entry, owner in owned:
                if entry.owner != owner:  # claimed again meanwhile (a reload)
                    continue
                if token not in gone:
                    entry.orphaned = None
                elif entry.orphaned is None:
                    entry.orphaned = now
                elif now - entry.orphaned >= self.limits.grace_s:
                    entry.owner, entry.orphaned = None, None
                    ended.append(entry.value)
            dropped, self._ended = self._ended, []
            kept = {id(entry.value) for entry in self._entries.values()}
        # A dropped entry whose tab is still connected is still that tab's Lab: its page holds it and puts it back on
        # its next run, so its work goes on. It is looked at again until it is back or its tab has gone.
        waiting = []
        for value, owner in dropped:
            if id(value) in kept:
                continue
            if owner is not None and self._is_owner_alive(owner):
                waiting.append((value, owner))
            else:
                ended.append(value)
        with self._lock:
            self._ended[:0] = waiting
        for value in ended:
            self._end(value)
        return len(ended)

    def _end(self, value: Any) -> None:
        if self._on_end is None:
            return
        try:
            self._on_end(value)
        except Exception:  # noqa: BLE001 - one value that cannot be stopped must not stop the reaper
            pass

    def start_reaper(self) -> None:
        """Start the reaper thread (once; later calls do nothing): it looks every `limits.reap_every_s` seconds."""
        with self._lock:
            if self._reaper is not None:
                return
            self._reaper = threading.Thread(target=self._reap_until_halted, name="nnlab-reaper", daemon=True)
            self._reaper.start()

    def stop_reaper(self, timeout: float = 5.0) -> None:
        """Stop the reaper thread (tests)."""
        self._halt.set()
        if self._reaper is not None:
            self._reaper.join(timeout)

    def _reap_until_halted(self) -> None:
        while not self._halt.wait(self.limits.reap_every_s):
            self.reap()

    # --- housekeeping (callers hold the lock) --------------------------------------------

    def _touch(self, token: str, entry: _Entry) -> None:
        entry.last_used = self._clock()
        self._entries.move_to_end(token)

    def _expire(self) -> None:
        """Drop entries unused for the time limit; they are the least recently used, so at the front."""
        deadline = self._clock() - self.limits.ttl_s
        while self._entries:
            token, entry = next(iter(self._entries.items()))
            if entry.last_used > deadline:
                break
            self._drop(token, EXPIRED)

    def _make_room(self, *, keep: str) -> None:
        """Evict entries (never `keep`) until the total fits under the cap: first those no connected tab holds
        (released, or seen gone by the reaper), whose memory is then freed; then the least recently used."""
        self._expire()
        if self._bytes <= self.limits.max_bytes:
            return
        held = {token for token, entry in self._entries.items() if entry.owner and entry.orphaned is None}
        for token in [t for t in self._entries if t not in held] + [t for t in self._entries if t in held]:
            if self._bytes <= self.limits.max_bytes:
                break
            if token != keep:
                nbytes = self._entries[token].nbytes
                self._drop(token, EVICTED)
                log.warning("The session store is full (%g MB): a session of %.1f MB was evicted; raise %s to "
                            "keep more sessions across reloads.", self.limits.max_mb, nbytes / MB, MB_ENV)

    def _drop(self, token: str, reason: str) -> None:
        entry = self._entries.pop(token)
        self._bytes -= entry.nbytes
        self._forget(token, reason, entry.secret_hash)
        if self._reaper is not None and self._on_end is not None:
            self._ended.append((entry.value, entry.owner if reason != ENDED else None))

    def _forget(self, token: str, reason: str, secret_hash: str | None) -> None:
        """Remember why `token` went and whose it was (not once ended: its tab gave it up), keeping only the most
        recent `remember_gone` tokens."""
        self._gone.pop(token, None)
        self._gone[token] = (reason, secret_hash if reason != ENDED else None)
        while len(self._gone) > self.limits.remember_gone:
            self._gone.popitem(last=False)

    def _gone_lookup(self, token: object) -> Lookup:
        reason = self._gone.get(token, (UNKNOWN, None))[0] if isinstance(token, str) else UNKNOWN
        return Lookup(token if isinstance(token, str) else "", reason, None, self.limits.ttl_min)
