"""Class boards: a teacher fixes the data, students submit runs trained on it, ranked by validation accuracy.

The board id is in the students' link; the teacher's token (which removes entries and closes the board) and
each student's removal token are handed out once and only their sha256 is stored. Test accuracy is shown
beside the validation accuracy but never ranks: choosing the best model on the test set would spoil it.

How many runs a board takes, from each browser tab and each client address, how many boards a client may
start and how long a quiet board is kept: see core.history.board_limits (each limit has its NNLAB_BOARD_*
setting). Every refusal is a BoardError with one plain line.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update

from core.config import DataConfig, ModelConfig, TrainConfig
from core.history import board_limits as limits
from core.history.db import BoardRow, EntryRow, now, transaction
from core.lab import Lab
from core.url.state import decode, url_fields
from core.url.text import format_value

TOKEN_BYTES = 16  # 128 bits from `secrets`, for board ids, teacher tokens and removal tokens alike
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{22,64}")  # what secrets.token_urlsafe(TOKEN_BYTES) gives, with room
NICKNAME_CHARS, BOARD_NAME_CHARS = 24, 80
OWNER_CHARS = 256  # an owner (session id, token or a tab's secret hash) is hashed; longer is not one of ours
_KEEP = {"\u200d"}  # the zero-width joiner holds emoji sequences together; every other control goes


class BoardError(ValueError):
    """A board action that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Board:
    """A board as a student sees it: never its token."""

    id: str
    name: str
    data: DataConfig
    closed: bool
    submissions: int


@dataclass(frozen=True)
class BoardRun:
    """What a student submits: the run's settings and its accuracies, and whether it was trained here."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    validation_accuracy: float
    test_accuracy: float
    trained_here: bool = True


@dataclass(frozen=True)
class Receipt:
    """A submitted entry and the token that lets its student remove it (kept in their session only)."""

    entry_id: int
    removal_token: str


@dataclass(frozen=True)
class Entry:
    """One ranked line of a board."""

    id: int
    rank: int
    nickname: str
    validation_accuracy: float
    test_accuracy: float
    setup: str  # the run's model and training settings, short
    created: datetime


def hash_token(token: str) -> str:
    """The sha256 of a token, as stored in place of the token."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def is_board_id(text: object) -> bool:
    """True when `text` has the shape of a board id (URL-safe, 22-64 characters)."""
    return isinstance(text, str) and ID_PATTERN.fullmatch(text) is not None


def clean_text(text: object, limit: int) -> str:
    """Plain text of at most `limit` characters: controls removed, runs of spaces made one; may be empty."""
    chars = (c if unicodedata.category(c)[0] != "C" or c in _KEEP else " "
             for c in unicodedata.normalize("NFC", str(text))[: limit * 8])  # a 10,000-character name: cut early
    return " ".join("".join(chars).split())[:limit].strip()


def clean_nickname(text: object) -> str:
    """A nickname as stored and shown: plain text, at most NICKNAME_CHARS characters; BoardError when empty."""
    name = clean_text(text, NICKNAME_CHARS)
    if not name:
        raise BoardError("Type a nickname first (letters, digits or emoji; it is all the board shows of you).")
    return name


def data_settings(config: DataConfig) -> dict[str, str]:
    """Every link setting of the data (query-string form): what a board fixes and compares."""
    return {key: format_value(tp, getattr(config, name)) for name, key, tp in url_fields(DataConfig)}


def _setup(settings: dict[str, str]) -> str:
    """'mlp 8,8 · relu · lr 0.03 · 100 ep' from a run's stored settings (a sigmoid head, MSE and augmentation
    named when chosen). With early stopping on, the epochs are a ceiling: '≤1000 ep' (QA: a run that converged
    after 126 epochs read '1000 ep')."""
    ceiling = "≤" if settings.get("pat", "0") != "0" else ""
    parts = [settings.get("model", ""), settings.get("hidden", ""), settings.get("act", ""),
             "sigmoid head" if settings.get("head") == "sigmoid" else "",
             "MSE" if settings.get("loss") == "mse" else "", f"aug {settings['aug']}" if settings.get("aug") else "",
             f"lr {settings['lr']}" if "lr" in settings else "",
             f"{ceiling}{settings['ep']} ep" if "ep" in settings else ""]
    return " · ".join(p for p in parts if p)


def run_settings(run: BoardRun) -> dict[str, str]:
    """The run's model and training settings (query-string form), as an entry stores them."""
    return {key: format_value(tp, getattr(config, name)) for config in (run.model, run.train)
            for name, key, tp in url_fields(type(config))}


def run_from_lab(lab: Lab) -> BoardRun:
    """The lab's last run, with the settings it was trained with; BoardError when there is none to submit.

    Only a run trained here counts: a model uploaded on the Predict page is refused (`Lab.from_file`). The
    settings are the run's own, not the lab's current ones, which the user may have changed since.
    """
    if lab.training:
        raise BoardError("Your run is still training: wait for it to finish, then submit.")
    if lab.from_file:
        raise BoardError("The current model was uploaded from a file, and the board takes only runs trained in "
                         "the app: train one on the Train page, then submit.")
    trained = lab.trained_settings
    if trained is None or lab.data is None:
        raise BoardError("No run of yours to submit: train one on the Train page first.")
    evaluation = lab.evaluation()
    if evaluation.validation is None:
        raise BoardError("Your data has no validation split, and the board ranks by validation accuracy.")
    return BoardRun(trained.data, trained.model, trained.train, evaluation.validation.accuracy,
                    evaluation.test.accuracy)


def create_board(engine: Engine, name: str, data: DataConfig, *, owner: str | None = None,
                 address: str | None = None, moment: datetime | None = None) -> tuple[str, str]:
    """A new open board on `data`: (board id for the students' link, the teacher's secret token).

    `owner` (the browser tab) and `address` (the client's, None on localhost) count against the hourly
    creation limits; starting a board also deletes the boards that have been quiet past their retention.
    """
    title = clean_text(name, BOARD_NAME_CHARS)
    if not title:
        raise BoardError("Give the board a name, e.g. 'Period 3: circles'.")
    if data.name == "csv":
        raise BoardError("A board needs a built-in dataset (uploaded points are not in the link): pick one on "
                         "the Data page.")
    if data.val_fraction <= 0:
        raise BoardError("A board ranks by validation accuracy: give the data a validation share above 0.")
    moment, settings = moment or now(), data_settings(data)
    if owner or address:
        settings[limits.CREATOR_KEY] = limits.creator_mark(owner, address)
    board_id, token = secrets.token_urlsafe(TOKEN_BYTES), secrets.token_urlsafe(TOKEN_BYTES)
    with transaction(engine) as session:
        limits.prune(session, moment)
        limits.forget_creators(session, moment)
        if refusal := limits.creation_refusal(session, owner, address, moment):
            raise BoardError(refusal)
        session.add(BoardRow(id=board_id, secret_hash=hash_token(token), name=title, settings=settings,
                             created=moment))
    return board_id, token


def _row(session: object, board_id: str) -> BoardRow:
    row = session.get(BoardRow, board_id) if is_board_id(board_id) else None  # type: ignore[attr-defined]
    if row is None:
        raise BoardError(f"No board with this link (a board is deleted after {limits.RETENTION_DAYS:g} days with "
                         "no new entry): check it with your teacher.")
    return row


def _data_settings_of(row: BoardRow) -> dict[str, str]:
    """The board's data settings, without its creator's mark."""
    return {key: value for key, value in row.settings.items() if key != limits.CREATOR_KEY}


def board_data(settings: dict[str, str]) -> DataConfig:
    """The DataConfig a board's stored settings describe."""
    return decode(settings).settings.data


def get_board(engine: Engine, board_id: str) -> Board:
    """The board `board_id`; BoardError when there is none."""
    with transaction(engine) as session:
        row = _row(session, board_id)
        return Board(row.id, row.name, board_data(_data_settings_of(row)), row.closed, row.submissions)


def _check_run(board: BoardRow, run: BoardRun) -> None:
    """Refuse a run that was not trained in the app on exactly the board's data."""
    if not run.trained_here:
        raise BoardError("Only runs trained here count: an uploaded model cannot be submitted.")
    if data_settings(run.data) != _data_settings_of(board):
        raise BoardError("Your run was trained on other data: use the board's data, train again, then submit.")
    for name, value in (("validation", run.validation_accuracy), ("test", run.test_accuracy)):
        if not 0.0 <= value <= 1.0:
            raise BoardError(f"The {name} accuracy must be between 0 and 1. Got {value} instead.")


def submit(engine: Engine, board_id: str, nickname: str, owner: str, run: BoardRun, *, address: str | None = None,
           moment: datetime | None = None) -> Receipt:
    """Add `run` to the board under `nickname`; the receipt's token lets this student remove it later.

    `owner` names the browser tab (opaque: a session id or a tab's secret) and `address` the client (None on
    localhost); each is limited in how many runs it sends, and neither is stored (see board_limits). A nickname
    shown on another tab's entry is refused (board_limits.nickname_key); the same tab may reuse its own.
    """
    name, moment = clean_nickname(nickname), moment or now()
    if not isinstance(owner, str) or not owner or len(owner) > OWNER_CHARS:
        raise BoardError("This browser tab has no usable id: reload the page.")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction(engine) as session:
        # A write first: it locks the board row, so one session's check-then-insert cannot race itself.
        session.execute(update(BoardRow).where(BoardRow.id == board_id)
                        .values(submissions=BoardRow.submissions + 1))
        board = _row(session, board_id)
        if board.closed:
            raise BoardError("This board is closed: your teacher has stopped taking runs.")
        _check_run(board, run)
        if refusal := limits.submission_refusal(session, board_id, owner, address, moment):
            raise BoardError(refusal)
        if refusal := limits.nickname_refusal(session, board_id, name, owner):
            raise BoardError(refusal)
        entry = EntryRow(board=board_id, nickname=name, session=limits.mark(board_id, owner, address),
                         removal_hash=hash_token(token), created=moment,
                         validation_accuracy=float(run.validation_accuracy),
                         test_accuracy=float(run.test_accuracy), settings=run_settings(run))
        session.add(entry)
        session.flush()
        return Receipt(entry.id, token)


def entries(engine: Engine, board_id: str) -> list[Entry]:
    """The board's entries, best validation accuracy first (ties: the earlier submission first)."""
    with transaction(engine) as session:
        _row(session, board_id)
        rows = session.scalars(select(EntryRow).where((EntryRow.board == board_id) & ~EntryRow.removed)
                               .order_by(EntryRow.validation_accuracy.desc(), EntryRow.created, EntryRow.id)
                               .limit(limits.ENTRIES)).all()
    ranked, rank = [], 0
    for i, row in enumerate(rows):
        if i == 0 or row.validation_accuracy != rows[i - 1].validation_accuracy:
            rank = i + 1  # equal accuracies share a rank: 1, 2, 2, 4
        ranked.append(Entry(row.id, rank, row.nickname, row.validation_accuracy, row.test_accuracy,
                            _setup(row.settings), row.created))
    return ranked


def _matches(stored_hash: str, token: object) -> bool:
    return isinstance(token, str) and hmac.compare_digest(stored_hash, hash_token(token))


def is_teacher(engine: Engine, board_id: str, token: object) -> bool:
    """True when `token` is this board's teacher token."""
    with transaction(engine) as session:
        return _matches(_row(session, board_id).secret_hash, token)


def _empty(entry: EntryRow) -> None:
    """Remove an entry: nothing of it is shown or kept but its time and submitter's mark (for the limits)."""
    entry.removed, entry.nickname, entry.settings = True, "", {}


def _entry(session: object, board_id: str, entry_id: int) -> EntryRow:
    entry = session.get(EntryRow, entry_id)  # type: ignore[attr-defined]
    if entry is None or entry.board != board_id or entry.removed:
        raise BoardError("That entry is not on this board (already removed?).")
    return entry


def remove_entry(engine: Engine, board_id: str, entry_id: int, token: object) -> None:
    """The teacher removes any entry; BoardError without the board's teacher token."""
    remove_entries(engine, board_id, [entry_id], token)


def remove_entries(engine: Engine, board_id: str, entry_ids: list[int], token: object) -> None:
    """The teacher removes several entries at once (a flood of them); none is removed when one is not there."""
    with transaction(engine) as session:
        if not _matches(_row(session, board_id).secret_hash, token):
            raise BoardError("Only the teacher's link can remove other people's entries.")
        for entry_id in entry_ids:
            _empty(_entry(session, board_id, entry_id))


def withdraw(engine: Engine, board_id: str, entry_id: int, removal_token: object) -> None:
    """A student removes their own entry with the removal token their submission gave them."""
    with transaction(engine) as session:
        entry = _entry(session, board_id, entry_id)
        if not _matches(entry.removal_hash, removal_token):
            raise BoardError("You can remove only your own entries, from the browser that submitted them.")
        _empty(entry)


def close_board(engine: Engine, board_id: str, token: object) -> None:
    """The teacher closes the board: it stays visible and takes no more runs."""
    with transaction(engine) as session:
        row = _row(session, board_id)
        if not _matches(row.secret_hash, token):
            raise BoardError("Only the teacher's link can close this board.")
        row.closed = True

