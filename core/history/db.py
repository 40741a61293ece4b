"""The database behind run history and class boards: SQLite in a state folder by default, PostgreSQL when
NNLAB_DATABASE_URL is set. The models here are the schema; core.history.migrations brings a database to them
(once, under a lock) when an engine is opened, or beforehand with `python -m core db upgrade`.

Errors never quote the database URL: it may hold a password.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
    make_url,
    select,
)
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

SCHEMA_VERSION = 4  # the head revision of core.history.migrations ("0004")
URL_ENV = "NNLAB_DATABASE_URL"
STATE_DIR_ENV = "NNLAB_STATE_DIR"
DEFAULT_STATE_DIR = "runs"  # beside the app, not the data folder (which may be read-only)
CONNECT_TIMEOUT_S = 5  # PostgreSQL: an unreachable server fails this fast (a connect_timeout in the URL wins)


class StorageError(RuntimeError):
    """The database cannot be reached or written; the message says what to check, never the URL."""


def now() -> datetime:
    """The current time in UTC, as stored in every timestamp column."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """The tables of NN Lab's database."""


class SchemaVersion(Base):
    """One row: the schema version this database was created or last migrated to (read by apps from before
    Alembic, which refuse a newer one; Alembic's own alembic_version table drives the migrations)."""

    __tablename__ = "nnlab_schema"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class RunRow(Base):
    """One training run of one session: its settings, per-epoch history, metrics on every split."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session: Mapped[str] = mapped_column(String(64))  # the session's store token, never a person
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    origin: Mapped[str] = mapped_column(String(16))  # train, play, auto, sweep
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    sweep: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(32))
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    settings: Mapped[dict] = mapped_column(JSON)  # query-string form of the data, model and train settings
    history: Mapped[list] = mapped_column(JSON)  # one record per epoch
    metrics: Mapped[dict] = mapped_column(JSON)  # per split: accuracy, loss, n_samples, ...
    boundary: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # 2-D data: a low-resolution final grid


class BoardRow(Base):
    """A teacher's class board: fixed data settings, open until closed."""

    __tablename__ = "boards"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # unguessable, in the students' link
    secret_hash: Mapped[str] = mapped_column(String(128))  # sha256 of the teacher's token, never the token
    # sha256 of the newest teacher link's key while it is unused, never the key; a newer link replaces it
    key_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    submissions: Mapped[int] = mapped_column(Integer, default=0)  # ever made; bumped first, to lock the board row


class EntryRow(Base):
    """A student's submitted run on a board."""

    __tablename__ = "board_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    board: Mapped[str] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    nickname: Mapped[str] = mapped_column(Text)
    session: Mapped[str] = mapped_column(String(64), index=True)  # for the per-session rate limit
    removal_hash: Mapped[str] = mapped_column(String(128))  # sha256 of the student's own removal token
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    validation_accuracy: Mapped[float] = mapped_column(Float)
    test_accuracy: Mapped[float] = mapped_column(Float)
    settings: Mapped[dict] = mapped_column(JSON)  # the run's model and training settings (query-string form)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)  # kept, emptied, so the rate limit still counts it


class SessionOwnerRow(Base):
    """Which browser tab made a session token: the sha256 of the tab's secret (never the secret), so that any
    server, or this one after a restart, can tell whether a tab may take the token's run history."""

    __tablename__ = "session_owners"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)


Index("ix_runs_session_created", RunRow.session, RunRow.created)  # a session's runs, newest first
Index("ix_entries_rank", EntryRow.board, EntryRow.validation_accuracy)


def database_url(environ: dict[str, str] | None = None) -> str:
    """NNLAB_DATABASE_URL when set, else an SQLite file in NNLAB_STATE_DIR (default ./runs)."""
    env = os.environ if environ is None else environ
    if env.get(URL_ENV):
        return env[URL_ENV]
    folder = Path(env.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)
    return f"sqlite:///{folder / 'nnlab.sqlite3'}"


def _sqlite_pragmas(connection: object, _record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA busy_timeout=10000")  # concurrent writers wait instead of failing
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _engine(url: str) -> Engine:
    """An engine for `url` (nothing connects yet): SQLite with its pragmas, PostgreSQL with a connect timeout."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):  # the driver installed with the app
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    parsed = make_url(url)
    timeout = {"connect_timeout": CONNECT_TIMEOUT_S} if parsed.get_backend_name() == "postgresql" else {}
    return create_engine(url, pool_pre_ping=True, hide_parameters=True,
                         connect_args={} if "connect_timeout" in parsed.query else timeout)


def open_engine(url: str) -> Engine:
    """An engine for `url` with the database at this app's schema (created or migrated). Raises StorageError."""
    from core.history.migrations import MigrationError, upgrade  # Alembic loads only when a database opens

    where = "the SQLite file in NNLAB_STATE_DIR" if url.startswith("sqlite") else "the database at NNLAB_DATABASE_URL"
    engine = None
    try:
        engine = _engine(url)
        upgrade(engine, Base.metadata)
        return engine
    except (MigrationError, SQLAlchemyError, OSError, ValueError, ImportError) as exc:
        if engine is not None:
            engine.dispose()
        if isinstance(exc, MigrationError):
            raise StorageError(str(exc)) from None
        if isinstance(exc, OperationalError):
            wait = "" if url.startswith("sqlite") else f", waited at most {CONNECT_TIMEOUT_S} s"
            raise StorageError(f"Cannot connect to {where} (OperationalError{wait}): check that it is running, "
                               "reachable and writable, and that its user may log in.") from None
        raise StorageError(f"Cannot open {where} ({type(exc).__name__}): check that it is reachable and "
                           "writable.") from None


def schema_version(engine: Engine) -> int:
    """The schema version recorded in the database."""
    with Session(engine) as session:
        return int(session.scalar(select(SchemaVersion.version).where(SchemaVersion.id == 1)) or 0)


_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()


def shared_engine(url: str | None = None) -> Engine:
    """One engine per URL for the whole server (engines hold connection pools)."""
    url = url or database_url()
    with _LOCK:
        if url not in _ENGINES:
            _ENGINES[url] = open_engine(url)
        return _ENGINES[url]


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error (raised as StorageError)."""
    maker = sessionmaker(engine, expire_on_commit=False)
    try:
        with maker() as session, session.begin():
            yield session
    except SQLAlchemyError as exc:
        raise StorageError(f"The database refused the change ({type(exc).__name__}); nothing was saved.") from None
