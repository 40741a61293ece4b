"""The bounded server-side session store: one object per session token, with a memory cap and a time limit.

A reload finds its trained model here through the token in the URL. Entries live until they have gone
unused for the time limit, unless memory pressure evicts the least recently used first. Every limit is
in `StoreLimits`; `StoreLimits.from_env` reads them from the environment. Entries are weighed with
`core.history.memsize.approx_nbytes` unless the store is given another size function.
"""

from __future__ import annotations

import copy
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.history.memsize import approx_nbytes
from core.url.text import is_token, new_token

MB = 1024 * 1024
MB_ENV = "NNLAB_STORE_MB"
TTL_ENV = "NNLAB_STORE_TTL_MIN"
FOUND, FORKED, EXPIRED, EVICTED, UNKNOWN = "found", "forked", "expired", "evicted", "unknown"
GONE_MESSAGES = {
    EXPIRED: "This session's trained model was cleared after {ttl} without use.",
    EVICTED: "This session's trained model was cleared to make room for newer sessions (the server's memory cap).",
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

    def __post_init__(self) -> None:
        if not 0 < self.max_mb < math.inf:
            raise StoreError(f"The store's memory cap must be a positive number of MB. Got {self.max_mb}.")
        if not 0 < self.ttl_min < math.inf:
            raise StoreError(f"The store's time limit must be a positive number of minutes. Got {self.ttl_min}.")
        if self.remember_gone < 0:
            raise StoreError(f"remember_gone must be 0 or more. Got {self.remember_gone}.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StoreLimits:
        """Limits from $NNLAB_STORE_MB and $NNLAB_STORE_TTL_MIN (each optional)."""
        env = os.environ if environ is None else environ
        kw = {}
        for var, field, example in ((MB_ENV, "max_mb", "1024"), (TTL_ENV, "ttl_min", "120")):
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


@dataclass(frozen=True, eq=False)
class Lookup:
    """The answer for a token: its value, or why it is gone (status "expired", "evicted" or "unknown")."""

    token: str
    status: str
    value: Any = None
    ttl_min: float = StoreLimits.ttl_min

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
    """One held value, its measured size, when it was last used and which browser session holds it."""

    value: Any
    nbytes: int
    last_used: float
    owner: str | None = None


class SessionStore:
    """Thread-safe, bounded map from session token to one per-session object (e.g. a `core.lab.Lab`).

    `claim(token, owner)` is how a page opens a token: the first owner (a browser session id) gets the
    entry itself; another live owner gets a fork, its own deep copy under a new token. An owner stops
    holding a token when it calls `release`, or when `is_owner_alive(owner)` says it has gone away.
    """

    def __init__(self, limits: StoreLimits = StoreLimits(), *, size_of: Callable[[Any], int] = approx_nbytes,
                 copier: Callable[[Any], Any] = copy.deepcopy, clock: Callable[[], float] = time.monotonic,
                 is_owner_alive: Callable[[str], bool] | None = None) -> None:
        self.limits = limits
        self._size_of, self._copier, self._clock = size_of, copier, clock
        self._is_owner_alive = is_owner_alive or (lambda owner: True)
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._gone: OrderedDict[str, str] = OrderedDict()  # token -> EXPIRED | EVICTED, oldest first
        self._bytes = 0
        self._lock = threading.RLock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> SessionStore:
        """A store with the limits from the environment (see `StoreLimits.from_env`)."""
        return cls(StoreLimits.from_env(environ), **kwargs)

    # --- reading -------------------------------------------------------------------------

    def get(self, token: str) -> Lookup:
        """The entry for `token` (marking it used), or why it is gone."""
        with self._lock:
            self._expire()
            entry = self._entries.get(token) if isinstance(token, str) else None
            if entry is None:
                return self._gone_lookup(token)
            self._touch(token, entry)
            return Lookup(token, FOUND, entry.value, self.limits.ttl_min)

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

    def put(self, value: Any, token: str | None = None, *, owner: str | None = None) -> str:
        """Hold `value` under `token` (a new one when None) and return the token; re-put to re-measure.

        Raises StoreError when `value` alone is larger than the memory cap; the token is then dropped.
        """
        if token is not None and not is_token(token):
            raise StoreError(f"A session token is 22-64 URL-safe characters from new_token(). Got {str(token)[:30]!r}.")
        nbytes = self._size_of(value)
        with self._lock:
            token = token or new_token()
            old = self._entries.pop(token, None)
            if old is not None:
                self._bytes -= old.nbytes
                owner = owner or old.owner
            if nbytes > self.limits.max_bytes:
                self._forget(token, EVICTED)
                raise StoreError(
                    f"This session needs {nbytes / MB:.1f} MB, more than the store's whole cap of "
                    f"{self.limits.max_mb:g} MB; raise {MB_ENV} to keep it across reloads.")
            self._gone.pop(token, None)
            self._entries[token] = _Entry(value, nbytes, self._clock(), owner)
            self._bytes += nbytes
            self._make_room(keep=token)
            return token

    # --- sharing between browsers --------------------------------------------------------

    def claim(self, token: str, owner: str) -> Lookup:
        """Open `token` for `owner`: the entry itself if free or already theirs, else a fork (status "forked")."""
        with self._lock:
            found = self.get(token)
            if not found.found:
                return found
            entry = self._entries[token]
            if entry.owner in (None, owner) or not self._is_owner_alive(entry.owner):
                entry.owner = owner
                return found
        return self.fork(token, owner=owner)

    def release(self, token: str, owner: str) -> None:
        """`owner` no longer holds `token` (its browser session ended); the next claim gets the entry itself."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None and entry.owner == owner:
                entry.owner = None

    def fork(self, token: str, *, owner: str | None = None) -> Lookup:
        """A deep copy of `token`'s entry under a new token: nothing done to the copy reaches the original."""
        found = self.get(token)
        if not found.found:
            return found
        twin = self._copier(found.value)  # outside the lock: copying a model can take a while
        new = self.put(twin, owner=owner)
        return Lookup(new, FORKED, twin, self.limits.ttl_min)

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
        """Evict least recently used entries (never `keep`) until the total fits under the cap."""
        self._expire()
        for token in list(self._entries):
            if self._bytes <= self.limits.max_bytes:
                break
            if token != keep:
                self._drop(token, EVICTED)

    def _drop(self, token: str, reason: str) -> None:
        self._bytes -= self._entries.pop(token).nbytes
        self._forget(token, reason)

    def _forget(self, token: str, reason: str) -> None:
        """Remember why `token` went, keeping only the most recent `remember_gone` tokens."""
        self._gone.pop(token, None)
        self._gone[token] = reason
        while len(self._gone) > self.limits.remember_gone:
            self._gone.popitem(last=False)

    def _gone_lookup(self, token: object) -> Lookup:
        reason = self._gone.get(token, UNKNOWN) if isinstance(token, str) else UNKNOWN
        return Lookup(token if isinstance(token, str) else "", reason, None, self.limits.ttl_min)
