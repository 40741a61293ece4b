"""A board's teacher link works once, and only the newest one works: opening it makes that browser tab the teacher.

The board keeps two hashes (sha256, never a key). `BoardRow.secret_hash` is the teacher's credential: at first the
hash of the key `create_board` handed out; `claim_key` replaces it with the hash of a token derived from the
claiming tab's secret (`tab_token`), so a key seen again (the address bar's history, a proxy log, a projected
screen) no longer matches anything. The teacher's tab proves itself with its own secret, and the existing actions
(`board.remove_entry`, `board.close_board`) take its `tab_token` where they took the key.

`BoardRow.key_hash` is the one live teacher link: `new_key` (the teacher's tab only) stores a fresh key's hash
there, which revokes every earlier link not yet used; opening the link moves the credential to that tab (the tab
that made it stops being the teacher) and empties `key_hash`. A teacher who lost the board to a leaked link gets
it back from the server's operator: `reset_key` (`python -m core board teacher-link BOARD_ID`) makes a
key that is at once the board's only credential, so every tab and every earlier link stops being the teacher's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import Engine, update

from core.history.board import TOKEN_BYTES, BoardError, hash_token, is_board_id
from core.history.db import BoardRow, transaction

KEY_USED = ("This teacher link has already been used, was replaced by a newer one, or is not this board's: ask the "
            "board's teacher view for a new one.")


def tab_token(board_id: str, tab_secret: str) -> str:
    """The teacher token of a browser tab on one board: derived from the tab's secret, never stored or shown."""
    return hashlib.sha256(f"nnlab-board:{board_id}:{tab_secret}".encode()).hexdigest()


def _opens(row: BoardRow, key: str) -> bool:
    """True when `key` is the board's credential itself (its first key, or the operator's) or its live link."""
    given = hash_token(key)
    return hmac.compare_digest(row.secret_hash, given) or (
        row.key_hash is not None and hmac.compare_digest(row.key_hash, given))


def claim_key(engine: Engine, board_id: str, key: object, tab_secret: str) -> None:
    """Exchange a teacher key for the tab whose secret is `tab_secret`; BoardError when the key does not open the
    board (already used, replaced by a newer link, or never its)."""
    if not is_board_id(key) or not is_board_id(board_id):  # a key has the shape of an id (ASCII, 22-64 chars)
        raise BoardError(KEY_USED)
    with transaction(engine) as session:
        row = session.get(BoardRow, board_id)
        if row is None or not _opens(row, key):
            raise BoardError(KEY_USED)
        # Compare-and-set: of two tabs opening the same key at once, or of a key and a newer one made meanwhile,
        # one change only goes through.
        swapped = session.execute(update(BoardRow).where((BoardRow.id == board_id)
                                                         & (BoardRow.secret_hash == row.secret_hash)
                                                         & (BoardRow.key_hash == row.key_hash))  # None: IS NULL
                                  .values(secret_hash=hash_token(tab_token(board_id, tab_secret)), key_hash=None))
        if swapped.rowcount != 1:
            raise BoardError(KEY_USED)


def is_teacher_tab(engine: Engine, board_id: str, tab_secret: str) -> bool:
    """True when the tab with `tab_secret` holds the board's teacher credential."""
    with transaction(engine) as session:
        row = session.get(BoardRow, board_id) if is_board_id(board_id) else None
        return row is not None and hmac.compare_digest(row.secret_hash, hash_token(tab_token(board_id, tab_secret)))


def new_key(engine: Engine, board_id: str, tab_secret: str) -> str:
    """A fresh one-time teacher key, for the teacher's tab only (BoardError otherwise); every earlier key that was
    not used stops working."""
    key = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction(engine) as session:
        row = session.get(BoardRow, board_id) if is_board_id(board_id) else None
        if row is None or not hmac.compare_digest(row.secret_hash, hash_token(tab_token(board_id, tab_secret))):
            raise BoardError("Only the board's teacher can make a new teacher link.")
        row.key_hash = hash_token(key)
    return key


def reset_key(engine: Engine, board_id: str) -> str:
    """The operator's way back to a board: a one-time key that becomes its only credential, so no tab is its teacher
    and no earlier link works until the key is opened (BoardError when there is no such board)."""
    key = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction(engine) as session:
        row = session.get(BoardRow, board_id) if is_board_id(board_id) else None
        if row is None:
            raise BoardError(f"No board with the id {board_id[:64]!r}: copy it from the board's student link "
                             "(board=...).")
        row.secret_hash, row.key_hash = hash_token(key), None
    return key
