"""`python -m core board teacher-link BOARD_ID [--url URL] [--app URL]`: the server operator's way back
for a teacher who lost a class board (a leaked teacher link was opened, or no tab is the teacher any more).

It prints a new one-time teacher link. From that moment no browser tab is the board's teacher and no earlier
teacher link works; the tab that opens the new link becomes the teacher. Nothing here prints the database URL.
"""

from __future__ import annotations

import argparse
import os
import sys

from core.history.board import BoardError
from core.history.board_keys import reset_key
from core.history.db import URL_ENV, StorageError, database_url, open_engine
from core.url.state import BOARD_PARAM, KEY_PARAM, to_query

PUBLIC_URL_ENV = "NNLAB_PUBLIC_URL"  # as the app reads it (app_pages.common.share)
LOCAL_APP = "http://localhost:8501"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core board",
                                     description="Give a class board's teacher a way back.")
    parser.add_argument("action", choices=("teacher-link",), help="teacher-link: a new one-time teacher link; "
                        "every browser tab and every earlier link stops being the board's teacher")
    parser.add_argument("board_id", help="the board's id: board=... in its student link")
    parser.add_argument("--url", default=None, help=f"the database (default: ${URL_ENV}, else the SQLite file in "
                        "$NNLAB_STATE_DIR or ./runs)")
    parser.add_argument("--app", default=None, help=f"the app's address for the link (default: ${PUBLIC_URL_ENV}, "
                        f"else {LOCAL_APP})")
    return parser


def teacher_link(app: str, board_id: str, key: str) -> str:
    """The Board page's teacher link on the app at `app`."""
    return f"{app.rstrip('/')}/board?{to_query({BOARD_PARAM: board_id, KEY_PARAM: key})}"


def reset_link_key(url: str, board_id: str) -> str:
    """Reset the board's teacher in the database at `url` and return the new key (BoardError, StorageError)."""
    engine = open_engine(url)
    try:
        return reset_key(engine, board_id)
    finally:
        engine.dispose()


def board_command(argv: list[str]) -> int:
    """Run `python -m core board ...` with `argv` (the words after `board`); return the exit status."""
    args = _parser().parse_args(argv)
    try:
        key = reset_link_key(args.url or database_url(), args.board_id)
    except (BoardError, StorageError) as exc:
        print(f"python -m core board {args.action}: error: {exc}", file=sys.stderr)
        return 1
    app = args.app or os.environ.get(PUBLIC_URL_ENV, "").strip() or LOCAL_APP
    print("No browser tab is this board's teacher now, and every earlier teacher link is dead. Give the teacher "
          "this link (it works once; the tab that opens it becomes the teacher):")
    print(teacher_link(app, args.board_id, key))
    return 0
