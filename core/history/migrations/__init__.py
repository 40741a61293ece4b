"""Schema migrations of the history database, with Alembic: versions/ holds one script per schema change.

Revision "NNNN" is schema version NNNN, also written to the nnlab_schema row that apps from before Alembic read.
A change: a new versions/NNNN_what.py after the last one (ALTERs inside op.batch_alter_table, which SQLite needs),
the models in core.history.db changed to match and db.SCHEMA_VERSION bumped; tests/test_history_migrations.py
checks that the migrated schema equals the models.

Only core.history.db calls in here, handing over its MetaData; env.py is run by Alembic, never imported.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, create_engine, event, inspect, pool, text

HERE = Path(__file__).resolve().parent
BASELINE = "0001"  # the schema NN Lab created before Alembic: such a database is stamped here, then upgraded
VERSION_TABLE = "nnlab_schema"
PG_LOCK_KEY = 0x6E6E_6C61_625F_6462  # "nnlab_db": the advisory lock every NN Lab process takes to migrate
LOCK_WAIT_S = 120  # how long a process waits for another one's migration before giving up

_IN_PROCESS = threading.Lock()  # Alembic's `context` is one global per process: one migration at a time here too


class MigrationError(RuntimeError):
    """The database's schema cannot be brought to this app's; the message says why."""


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory(str(HERE))


def head_revision() -> str:
    """The revision this app's models match."""
    return str(_script().get_current_head())


def current_revision(connection: Connection) -> str | None:
    """The revision the database is stamped with; None when it has no alembic_version table."""
    return MigrationContext.configure(connection).get_current_revision()


def alembic_config(connection: Connection, metadata: MetaData) -> Config:
    """The Alembic configuration that migrates the database on `connection` to `metadata`."""
    config = Config()  # no alembic.ini: everything env.py needs travels in the attributes
    config.set_main_option("script_location", str(HERE))
    config.attributes.update(connection=connection, metadata=metadata)
    return config


def _sqlite_begin_immediate(engine: Engine) -> None:
    """Make `engine`'s transactions real SQLite ones (DDL included) that take the write lock at BEGIN."""

    def no_driver_transactions(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]

    event.listen(engine, "connect", no_driver_transactions)
    event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE"))


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """One transaction that no other process migrating this database runs beside: a PostgreSQL advisory lock,
    SQLite's write lock (taken at BEGIN IMMEDIATE; foreign keys stay off, as batch table copies need)."""
    if engine.dialect.name == "sqlite":
        engine = create_engine(engine.url, poolclass=pool.NullPool, connect_args={"timeout": LOCK_WAIT_S})
        _sqlite_begin_immediate(engine)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT_S}s'"))
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
            yield connection
    finally:
        if engine.dialect.name == "sqlite":
            engine.dispose()


def _stamp_legacy(connection: Connection, config: Config) -> None:
    """A database from before Alembic: stamp it at the baseline when its version row says version 1."""
    version = connection.scalar(text(f"SELECT version FROM {VERSION_TABLE} WHERE id = 1"))
    if version != int(BASELINE):
        raise MigrationError(f"The database's version row says schema {version}, and no migration starts there: "
                             "restore a backup or point NNLAB_DATABASE_URL at a new database.")
    command.stamp(config, BASELINE)


def _migrate(connection: Connection, metadata: MetaData, head: str) -> None:
    """Bring the database on `connection` to `head`: create it when empty, stamp it when from before Alembic."""
    config, current = alembic_config(connection, metadata), current_revision(connection)
    if current is None:
        tables = set(inspect(connection).get_table_names())
        if VERSION_TABLE in tables:
            _stamp_legacy(connection, config)
        elif tables & set(metadata.tables):
            raise MigrationError("The database holds some of NN Lab's tables but no schema version: point "
                                 "NNLAB_DATABASE_URL at a new database or restore a backup.")
        else:  # a new database: today's tables at once, rather than replaying every change
            metadata.create_all(connection)
            connection.execute(metadata.tables[VERSION_TABLE].insert().values(id=1, version=int(head)))
            command.stamp(config, head)
            return
    elif current not in {script.revision for script in _script().walk_revisions()}:
        raise MigrationError(f"The database is at schema revision {current}, newer than this app's {head}: "
                             "update NN Lab.")
    command.upgrade(config, "head")


def upgrade(engine: Engine, metadata: MetaData) -> str:
    """Bring `engine`'s database to the head revision and return it; a database already there costs one read.

    Every process may call this: the work happens once, under a lock that the others wait for."""
    head = head_revision()
    with engine.connect() as connection:
        if current_revision(connection) == head:
            return head
    with _IN_PROCESS, _locked(engine) as connection:
        if current_revision(connection) != head:  # another process may have done it while this one waited
            _migrate(connection, metadata, head)
    return head
