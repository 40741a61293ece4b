"""Teacher links of class boards on SQLite and PostgreSQL: each works once, only the newest one works, and the
server's operator gives a teacher who lost the board a way back (`python -m core board teacher-link`)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine

from core.__main__ import main as cli
from core.config import DataConfig, ModelConfig, TrainConfig
from core.history import board, board_keys
from core.history.board import BoardError, BoardRun
from core.history.db import BoardRow, open_engine, transaction

DATA = DataConfig(name="circles", n_samples=200, noise=0.05, seed=3)
TEACHER, LAPTOP, STUDENT = "T" * 43, "L" * 43, "S" * 43  # browser tabs' secrets


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = open_engine(db_url)
    yield engine
    engine.dispose()


def started(engine: Engine) -> str:
    """A board whose teacher is the TEACHER tab, as the page leaves it, with one entry on it."""
    board_id, first = board.create_board(engine, "Period 3", DATA)
    board_keys.claim_key(engine, board_id, first, TEACHER)
    board.submit(engine, board_id, "ada", "tab-1", BoardRun(DATA, ModelConfig(), TrainConfig(), 0.9, 0.8))
    return board_id


def claim_refused(engine: Engine, board_id: str, key: str, tab: str) -> None:
    with pytest.raises(BoardError) as caught:
        board_keys.claim_key(engine, board_id, key, tab)
    assert str(caught.value) == board_keys.KEY_USED


def test_a_new_teacher_link_revokes_every_earlier_unused_one(engine: Engine) -> None:
    """The audit's steps: K1 was seen on the projector, the teacher made K2; a student opening K1 took the board
    for good. Now K1 is dead, the teacher keeps the board, and K2 moves it where the teacher opens it."""
    board_id = started(engine)
    seen = board_keys.new_key(engine, board_id, TEACHER)
    older = board_keys.new_key(engine, board_id, TEACHER)
    newest = board_keys.new_key(engine, board_id, TEACHER)
    for revoked in (seen, older):
        claim_refused(engine, board_id, revoked, STUDENT)
    assert board_keys.is_teacher_tab(engine, board_id, TEACHER) and not board_keys.is_teacher_tab(
        engine, board_id, STUDENT)
    board_keys.claim_key(engine, board_id, newest, LAPTOP)  # the teacher's other computer
    assert board_keys.is_teacher_tab(engine, board_id, LAPTOP) and not board_keys.is_teacher_tab(
        engine, board_id, TEACHER)
    claim_refused(engine, board_id, newest, STUDENT)  # used once
    claim_refused(engine, board_id, seen, STUDENT)
    (entry,) = board.entries(engine, board_id)
    board.remove_entry(engine, board_id, entry.id, board_keys.tab_token(board_id, LAPTOP))
    assert board.entries(engine, board_id) == []


def test_a_teacher_who_lost_a_link_makes_another_and_only_a_hash_is_kept(engine: Engine) -> None:
    board_id = started(engine)
    lost = board_keys.new_key(engine, board_id, TEACHER)
    kept = board_keys.new_key(engine, board_id, TEACHER)  # still the teacher: nothing was locked out
    assert lost != kept and board.is_board_id(kept)
    with transaction(engine) as session:
        row = session.get(BoardRow, board_id)
        assert row.key_hash == board.hash_token(kept) and kept not in str(vars(row))
    board_keys.claim_key(engine, board_id, kept, LAPTOP)
    with transaction(engine) as session:
        assert session.get(BoardRow, board_id).key_hash is None
    with pytest.raises(BoardError, match="Only the board's teacher"):
        board_keys.new_key(engine, board_id, TEACHER)  # the role moved with the link


def test_the_operator_gives_a_lost_board_back(engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A leaked link was opened before the teacher replaced it: the student's tab is the teacher and makes links
    of its own. The operator's command makes every tab and link stop being the teacher; its link restores it."""
    board_id = started(engine)
    leaked = board_keys.new_key(engine, board_id, TEACHER)
    board_keys.claim_key(engine, board_id, leaked, STUDENT)
    squatted = board_keys.new_key(engine, board_id, STUDENT)
    assert cli(["board", "teacher-link", board_id, "--url", db_url, "--app", "https://lab.example.org/"]) == 0
    link = capsys.readouterr().out.strip().splitlines()[-1]
    query = parse_qs(urlsplit(link).query)
    assert link.startswith("https://lab.example.org/board?") and query["board"] == [board_id]
    assert not board_keys.is_teacher_tab(engine, board_id, STUDENT)
    claim_refused(engine, board_id, squatted, STUDENT)
    with pytest.raises(BoardError, match="Only the board's teacher"):
        board_keys.new_key(engine, board_id, STUDENT)
    board_keys.claim_key(engine, board_id, query["key"][0], TEACHER)
    assert board_keys.is_teacher_tab(engine, board_id, TEACHER)
    claim_refused(engine, board_id, query["key"][0], STUDENT)  # it too works once


def test_the_operators_command_refuses_an_unknown_board(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    for wrong in ("A" * 22, "not a board"):
        assert cli(["board", "teacher-link", wrong, "--url", db_url]) == 1
        captured = capsys.readouterr()
        assert "No board" in captured.err and captured.out == ""
    assert cli(["board", "teacher-link", "A" * 22, "--url", "postgresql://nnlab:s3cret@127.0.0.1:1/nnlab"]) == 1
    err = capsys.readouterr().err
    assert "Cannot connect" in err and "s3cret" not in err
