"""Which browser tab made each session token, in the history database: the sha256 of the tab's secret.

The session store knows its own tokens' tabs, but not a token from before a restart or from another server; this
table lets any server tell whether the tab opening such a token made it, and so may take its run history. A token
is recorded once (never given to another tab), and a record is kept as long as the run history keeps runs.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete

from core.history.db import SessionOwnerRow, now, transaction
from core.history.runs import Retention
from core.url.text import is_token

HASH_CHARS = 64  # a sha256 in hex


def _check(token: str, secret_hash: str) -> None:
    if not is_token(token):
        raise ValueError(f"A session token is 22-64 URL-safe characters. Got {str(token)[:30]!r}.")
    if not isinstance(secret_hash, str) or len(secret_hash) != HASH_CHARS:
        raise ValueError(f"A tab's secret hash is {HASH_CHARS} hex digits (sha256). Got {str(secret_hash)[:30]!r}.")


def record_owner(engine: Engine, token: str, secret_hash: str, *, moment: datetime | None = None,
                 retention: Retention | None = None) -> None:
    """Record that the tab whose secret hashes to `secret_hash` made `token` (a token already recorded keeps its
    first tab); records older than the run history's retention go. Raises StorageError when the database fails."""
    _check(token, secret_hash)
    moment, keep = moment or now(), retention or Retention.from_env()
    with transaction(engine) as session:
        session.execute(delete(SessionOwnerRow).where(SessionOwnerRow.created < moment - timedelta(days=keep.days)))
        if session.get(SessionOwnerRow, token) is None:
            session.add(SessionOwnerRow(token=token, secret_hash=secret_hash, created=moment))


def made_by(engine: Engine, token: str, secret_hash: str) -> bool:
    """True when `token` is recorded as made by the tab whose secret hashes to `secret_hash`."""
    _check(token, secret_hash)
    with transaction(engine) as session:
        row = session.get(SessionOwnerRow, token)
        return row is not None and hmac.compare_digest(row.secret_hash, secret_hash)
