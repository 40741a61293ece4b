"""`python -m core db upgrade [--url URL]`: bring the history database to this app's schema before servers start.

The app upgrades on first use too, under the same lock, so running this is optional but makes a long migration
happen once, at a chosen time. Nothing here prints the database URL: it may hold a password.
"""

from __future__ import annotations

import argparse
import sys
import time

from core.history.db import URL_ENV, StorageError, database_url, open_engine, schema_version


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core db", description="Manage NN Lab's history database.")
    parser.add_argument("action", choices=("upgrade",), help="upgrade: create or migrate the database to this app's "
                        "schema (safe to run while servers run: one migration at a time)")
    parser.add_argument("--url", default=None, help=f"the database (default: ${URL_ENV}, else the SQLite file in "
                        "$NNLAB_STATE_DIR or ./runs)")
    return parser


def db_command(argv: list[str]) -> int:
    """Run `python -m core db ...` with `argv` (the words after `db`); return the exit status."""
    args = _parser().parse_args(argv)
    start = time.perf_counter()
    try:
        engine = open_engine(args.url or database_url())
    except StorageError as exc:
        print(f"python -m core db {args.action}: error: {exc}", file=sys.stderr)
        return 1
    try:
        print(f"The database is at schema version {schema_version(engine)}, this app's "
              f"({time.perf_counter() - start:.2f} s).")
    finally:
        engine.dispose()
    return 0
