"""Schema migrations of the history database (core.history.migrations), on SQLite and, under .ci/postgres.sh,
PostgreSQL: a version-1 database made before Alembic (tests/fixtures/history-v1.sqlite, written by the app of
that day; history-v1.json says what it holds) is stamped, upgraded and read back the same; a new one is created
at the head; one migration at a time; the models and the migrations agree."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, create_engine, inspect, select, text

import core.history.db as db
from core.__main__ import main
from core.history import board, board_keys
from core.history.cli import db_command
from core.history.db import SCHEMA_VERSION, Base, StorageError, open_engine, schema_version
from core.history.migrations import BASELINE, PG_LOCK_KEY, alembic_config, current_revision, head_revision
from core.history.runs import RunRecord, list_runs, record_run

FIXTURES = Path(__file__).resolve().parent / "fixtures"
V1 = FIXTURES / "history-v1.sqlite"
EXPECTED = json.loads((FIXTURES / "history-v1.json").read_text())
COPIED = ("runs", "boards", "board_entries")  # nnlab_schema's one row comes with the baseline migration


def driver_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def revision_of(url: str) -> str | None:
    engine = create_engine(driver_url(url))
    try:
        with engine.connect() as connection:
            return current_revision(connection)
    finally:
        engine.dispose()


def migrate(url: str, target: str, *, down: bool = False) -> None:
    """Run the migration scripts themselves (not the app's create-or-stamp path) up or down to `target`."""
    engine = create_engine(driver_url(url))
    try:
        with engine.begin() as connection:
            (command.downgrade if down else command.upgrade)(alembic_config(connection, Base.metadata), target)
    finally:
        engine.dispose()


def make_v1(url: str, tmp_path: Path) -> None:
    """The fixture's version-1 database at `url`: the file itself for SQLite; for PostgreSQL the baseline's
    tables, no alembic_version (as the app of that day left it), and the fixture's rows copied in."""
    if url.startswith("sqlite"):
        shutil.copy(V1, url.removeprefix("sqlite:///"))
        return
    migrate(url, BASELINE)
    source, target = create_engine(f"sqlite:///{shutil.copy(V1, tmp_path / 'v1.sqlite')}"), create_engine(
        driver_url(url))
    with source.connect() as read, target.begin() as write:
        write.execute(text("DROP TABLE alembic_version"))
        for name in COPIED:
            table = Base.metadata.tables[name]  # today's columns, those of version 1 read (boards gained key_hash)
            old = {column["name"] for column in inspect(read).get_columns(name)}
            rows = [{key: value.replace(tzinfo=UTC) if isinstance(value, datetime) else value  # SQLite: UTC, naive
                     for key, value in row.items()}
                    for row in read.execute(select(*(c for c in table.columns if c.name in old))).mappings()]
            write.execute(table.insert(), rows)
        for name in ("runs", "board_entries"):  # ids were copied: the next ones follow them
            write.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"))
    source.dispose()
    target.dispose()


def run_view(run) -> dict:
    record = run.record
    return {"id": run.id, "session": run.session, "created": run.created, "origin": run.origin, "pinned": run.pinned,
            "sweep": run.sweep, "settings": record.settings, "status": record.status, "seconds": record.seconds,
            "history": list(record.history), "metrics": record.metrics, "boundary": record.boundary}


def test_a_version_1_database_is_upgraded_and_reads_back_the_same(db_url: str, tmp_path: Path) -> None:
    make_v1(db_url, tmp_path)
    assert revision_of(db_url) is None
    engine = open_engine(db_url)
    assert revision_of(db_url) == head_revision() and schema_version(engine) == SCHEMA_VERSION
    for session, runs in EXPECTED["runs"].items():
        expected = [{**run, "created": datetime.fromisoformat(run["created"])} for run in runs]
        assert [run_view(run) for run in list_runs(engine, session)] == expected
    for board_id, kept in EXPECTED["boards"].items():
        shown = board.get_board(engine, board_id)
        assert (shown.name, shown.closed, shown.submissions) == (kept["name"], kept["closed"], kept["submissions"])
        assert [{"id": e.id, "rank": e.rank, "nickname": e.nickname, "validation_accuracy": e.validation_accuracy,
                 "test_accuracy": e.test_accuracy, "setup": e.setup} for e in board.entries(engine, board_id)] == \
            kept["entries"]
        assert board.is_teacher(engine, board_id, kept["teacher_token"])
    board_id, kept = next((i, b) for i, b in EXPECTED["boards"].items() if b["removal_tokens"])
    entry_id, token = next(iter(kept["removal_tokens"].items()))
    board.withdraw(engine, board_id, int(entry_id), token)  # a student's token from before still works
    assert int(entry_id) not in [e.id for e in board.entries(engine, board_id)]
    newest = max(run["id"] for runs in EXPECTED["runs"].values() for run in runs)
    assert record_run(engine, "after-upgrade", RunRecord({"data": "circles"}, "completed")) > newest
    engine.dispose()


def test_a_new_database_is_created_at_the_head(db_url: str) -> None:
    engine = open_engine(db_url)
    assert revision_of(db_url) == head_revision() == f"{SCHEMA_VERSION:04d}"
    assert schema_version(engine) == SCHEMA_VERSION
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def schema(connection: Connection) -> dict:
    """Tables, columns (name, type, nullable), indexes and foreign keys, as the database reports them."""
    seen = inspect(connection)
    return {table: ([(c["name"], str(c["type"]), c["nullable"]) for c in seen.get_columns(table)],
                    sorted((i["name"], tuple(i["column_names"])) for i in seen.get_indexes(table)),
                    [(f["referred_table"], f["constrained_columns"]) for f in seen.get_foreign_keys(table)])
            for table in seen.get_table_names() if table != "alembic_version"}


def test_the_migrations_agree_with_the_models_and_with_version_1(tmp_path: Path, db_url: str) -> None:
    """Run from nothing, the scripts build exactly the models' schema; the baseline is the version-1 file's;
    a downgrade and upgrade again work. (A model changed without a migration fails here.)"""
    migrate(db_url, "head")
    engine = create_engine(driver_url(db_url))
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    migrate(db_url, BASELINE, down=True)
    if db_url.startswith("sqlite"):
        old = create_engine(f"sqlite:///{shutil.copy(V1, tmp_path / 'v1.sqlite')}")
        with old.connect() as before, engine.connect() as baseline:
            assert schema(baseline) == schema(before)
        old.dispose()
    assert schema_version(engine) == 1
    migrate(db_url, "head")
    assert schema_version(engine) == SCHEMA_VERSION
    engine.dispose()


def test_a_database_from_a_newer_app_or_without_a_version_is_refused(db_url: str, tmp_path: Path) -> None:
    open_engine(db_url).dispose()
    engine = create_engine(driver_url(db_url))
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StorageError, match="revision 9999, newer than this app's .*update NN Lab"):
        open_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(text("DROP TABLE nnlab_schema"))
    with pytest.raises(StorageError, match="some of NN Lab's tables but no schema version"):
        open_engine(db_url)
    engine.dispose()


def test_one_migration_at_a_time(db_url: str) -> None:
    """While another process holds the migration lock, opening a new database waits, then finds it done."""
    if db_url.startswith("sqlite"):
        holder = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("PRAGMA journal_mode=WAL")  # as the app sets it: readers pass, writers queue
        holder.execute("BEGIN IMMEDIATE")
        release = lambda: holder.execute("COMMIT")  # noqa: E731
    else:
        holder = create_engine(driver_url(db_url)).connect()
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PG_LOCK_KEY})
        release = lambda: holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_LOCK_KEY})  # noqa: E731
    opened: list[object] = []
    opener = threading.Thread(target=lambda: opened.append(open_engine(db_url)))
    opener.start()
    time.sleep(1.0)
    assert opener.is_alive() and revision_of(db_url) is None  # waiting for the lock, nothing done yet
    release()
    opener.join(30)
    holder.close()
    assert opened and revision_of(db_url) == head_revision()
    opened[0].dispose()


def test_db_upgrade_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    shutil.copy(V1, url.removeprefix("sqlite:///"))
    assert main(["db", "upgrade", "--url", url]) == 0
    assert f"schema version {SCHEMA_VERSION}" in capsys.readouterr().out and revision_of(url) == head_revision()
    assert db_command(["upgrade", "--url", "postgresql://nnlab:s3cret@127.0.0.1:1/nnlab"]) == 1
    err = capsys.readouterr().err
    assert "Cannot connect to the database at NNLAB_DATABASE_URL" in err and "s3cret" not in err


def test_an_unanswering_postgresql_fails_within_the_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts the connection and never answers: StorageError after the timeout, not a hang;
    a connect_timeout in the URL wins over the default."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"postgresql://nnlab:s3cret@127.0.0.1:{silent.getsockname()[1]}/nnlab"
        for default, query in ((2, ""), (600, "?connect_timeout=2")):
            monkeypatch.setattr(db, "CONNECT_TIMEOUT_S", default)
            start = time.perf_counter()
            with pytest.raises(StorageError, match="Cannot connect to the database") as caught:
                open_engine(url + query)
            assert 1.5 < time.perf_counter() - start < 10 and "s3cret" not in str(caught.value)


def test_a_board_from_version_3_keeps_its_teacher_tab_and_its_old_links_stop_working(db_url: str) -> None:
    """Version 4 adds boards.key_hash (the one live teacher link). A board made at version 3, whose teacher is a
    tab, keeps that teacher; links it signed before are dead; the teacher makes a new one, and a downgrade drops
    the column again."""
    migrate(db_url, "0003")
    engine = create_engine(driver_url(db_url))
    board_id, tab = "B" * 22, "T" * 43
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO boards (id, secret_hash, name, settings, created, closed, submissions) "
                                "VALUES (:id, :secret, 'Period 3', '{\"data\": \"circles\"}', :created, false, 0)"),
                           {"id": board_id, "secret": board.hash_token(board_keys.tab_token(board_id, tab)),
                            "created": datetime.now(UTC)})
    migrate(db_url, "head")
    assert schema_version(engine) == SCHEMA_VERSION
    assert board_keys.is_teacher_tab(engine, board_id, tab)
    key = board_keys.new_key(engine, board_id, tab)
    board_keys.claim_key(engine, board_id, key, "U" * 43)
    assert board_keys.is_teacher_tab(engine, board_id, "U" * 43)
    migrate(db_url, "0003", down=True)
    with engine.connect() as connection:
        assert "key_hash" not in [c["name"] for c in inspect(connection).get_columns("boards")]
    engine.dispose()
