"""A board's teacher key works once: on first use it is exchanged for the browser tab that opened it.

The board keeps one teacher credential, the sha256 in `BoardRow.secret_hash`. At first it is the hash of the key
`create_board` handed out; `claim_key` replaces it with the hash of a token derived from the claiming tab's secret
(`tab_token`), so the key, wherever it was seen again (the address bar's history, a proxy log, a projected screen),
no longer matches anything. The teacher's tab proves itself with its own secret, and the existing actions
(`board.remove_entry`, `board.close_board`) take its `tab_token` where they took the key.

`new_key` gives the teacher's tab a fresh link: the key is a nonce and its HMAC under the board's current
credential, so nothing more is stored; it too works once, and opening it makes that tab the teacher (the
credential moves there, and every other key and tab stops being the teacher's).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlalchemy import Engine, update

from core.history.board import TOKEN_BYTES, BoardError, hash_token, is_board_id
from core.history.db import BoardRow, transaction

PART = 22  # characters of a key's nonce and of its MAC (16 bytes each, base64url)
KEY_USED = ("This teacher link has already been used (or is not this board's): ask the board's teacher view "
            "for a new one.")


def tab_token(board_id: str, tab_secret: str) -> str:
    """The teacher token of a browser tab on one board: derived from the tab's secret, never stored or shown."""
    return hashlib.sha256(f"nnlab-board:{board_id}:{tab_secret}".encode()).hexdigest()


def _mac(credential: str, board_id: str, nonce: str) -> str:
    digest = hmac.new(credential.encode(), f"{board_id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:PART]


def _opens(credential: str, board_id: str, key: str) -> bool:
    """True when `key` is the board's first key or one issued under its current credential."""
    if hmac.compare_digest(credential, hash_token(key)):
        return True
    return len(key) == 2 * PART and hmac.compare_digest(_mac(credential, board_id, key[:PART]), key[PART:])


def claim_key(engine: Engine, board_id: str, key: object, tab_secret: str) -> None:
    """Exchange a teacher key for the tab whose secret is `tab_secret`; BoardError when the key does not open the
    board (already used, or never its)."""
    if not is_board_id(key) or not is_board_id(board_id):  # a key has the shape of an id (ASCII, 22-64 chars)
        raise BoardError(KEY_USED)
    with transaction(engine) as session:
        row = session.get(BoardRow, board_id)
        if row is None or not _opens(row.secret_hash, board_id, key):
            raise BoardError(KEY_USED)
        # Compare-and-set: of two tabs opening the same key at once, one only becomes the teacher.
        swapped = session.execute(update(BoardRow).where((BoardRow.id == board_id)
                                                         & (BoardRow.secret_hash == row.secret_hash))
                                  .values(secret_hash=hash_token(tab_token(board_id, tab_secret))))
        if swapped.rowcount != 1:
            raise BoardError(KEY_USED)


def is_teacher_tab(engine: Engine, board_id: str, tab_secret: str) -> bool:
    """True when the tab with `tab_secret` holds the board's teacher credential."""
    with transaction(engine) as session:
        row = session.get(BoardRow, board_id) if is_board_id(board_id) else None
        return row is not None and hmac.compare_digest(row.secret_hash, hash_token(tab_token(board_id, tab_secret)))


def new_key(engine: Engine, board_id: str, tab_secret: str) -> str:
    """A fresh one-time teacher key, for the teacher's tab only (BoardError otherwise)."""
    with transaction(engine) as session:
        row = session.get(BoardRow, board_id) if is_board_id(board_id) else None
        if row is None or not hmac.compare_digest(row.secret_hash, hash_token(tab_token(board_id, tab_secret))):
            raise BoardError("Only the board's teacher can make a new teacher link.")
        nonce = secrets.token_urlsafe(TOKEN_BYTES)
        return nonce + _mac(row.secret_hash, board_id, nonce)
