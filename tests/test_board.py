"""Class boards on SQLite and PostgreSQL: tokens, ranking, rate limits, hostile nicknames, concurrent writers."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from core.checkpoint import save_model
from core.config import DataConfig, ModelConfig, TrainConfig
from core.data.make import make_dataset
from core.history import board
from core.history.board import BoardError, BoardRun
from core.history.db import SCHEMA_VERSION, BoardRow, EntryRow, now, open_engine, schema_version, transaction
from core.lab import Lab

DATA = DataConfig(name="circles", n_samples=200, noise=0.05, seed=3)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = open_engine(db_url)
    yield engine
    engine.dispose()


def run(validation: float, test: float, data: DataConfig = DATA) -> BoardRun:
    return BoardRun(data, ModelConfig(hidden=(8, 8)), TrainConfig(lr=0.03), validation, test)


def test_board_ranks_by_validation_with_test_beside(engine: Engine) -> None:
    board_id, _ = board.create_board(engine, "Period 3", DATA)
    later = now()
    # Test accuracy runs the other way, so a board ranked by test would be upside down.
    for i, (nickname, val, test) in enumerate([("ada", 0.80, 0.95), ("bo", 0.95, 0.70), ("cy", 0.90, 0.80)]):
        board.submit(engine, board_id, nickname, f"session-{i}", run(val, test), moment=later)
    ranked = board.entries(engine, board_id)
    assert [e.nickname for e in ranked] == ["bo", "cy", "ada"]
    assert [e.rank for e in ranked] == [1, 2, 3]
    assert [e.test_accuracy for e in ranked] == [0.70, 0.80, 0.95]
    assert "8,8" in ranked[0].setup and "lr 0.03" in ranked[0].setup
    shown = board.get_board(engine, board_id)
    assert (shown.name, shown.data, shown.closed, shown.submissions) == ("Period 3", DATA, False, 3)


def test_equal_accuracies_share_a_rank(engine: Engine) -> None:
    board_id, _ = board.create_board(engine, "ties", DATA)
    for i, val in enumerate([0.9, 0.8, 0.9, 0.7]):
        board.submit(engine, board_id, f"n{i}", f"s{i}", run(val, 0.5))
    assert [(e.nickname, e.rank) for e in board.entries(engine, board_id)] == [
        ("n0", 1), ("n2", 1), ("n1", 3), ("n3", 4)]


def test_ids_and_tokens_are_random_and_only_hashes_are_stored(engine: Engine) -> None:
    first, token = board.create_board(engine, "a", DATA)
    second, other = board.create_board(engine, "b", DATA)
    assert first != second and token != other
    assert board.is_board_id(first) and len(token) >= 22  # 16 bytes of `secrets`, URL-safe
    receipt = board.submit(engine, first, "ada", "s1", run(0.9, 0.9))
    with transaction(engine) as session:
        row, entry = session.get(BoardRow, first), session.get(EntryRow, receipt.entry_id)
        stored = [str(v) for v in (*vars(row).values(), *vars(entry).values())]
    assert row.secret_hash == board.hash_token(token)
    assert entry.removal_hash == board.hash_token(receipt.removal_token)
    assert not any(token in text or receipt.removal_token in text for text in stored)


def test_only_the_teacher_token_removes_entries_and_closes(engine: Engine) -> None:
    board_id, token = board.create_board(engine, "class", DATA)
    entry = board.submit(engine, board_id, "ada", "s1", run(0.9, 0.8)).entry_id
    guessed = secrets.token_urlsafe(16)
    for wrong in (None, "", guessed, board_id, token[:-1]):  # the student link holds no key, or the board id
        assert not board.is_teacher(engine, board_id, wrong)
        with pytest.raises(BoardError, match="teacher"):
            board.remove_entry(engine, board_id, entry, wrong)
        with pytest.raises(BoardError, match="teacher"):
            board.close_board(engine, board_id, wrong)
    assert [e.id for e in board.entries(engine, board_id)] == [entry]
    assert board.is_teacher(engine, board_id, token)
    board.remove_entry(engine, board_id, entry, token)
    assert board.entries(engine, board_id) == []
    board.close_board(engine, board_id, token)
    assert board.get_board(engine, board_id).closed
    with pytest.raises(BoardError, match="closed"):
        board.submit(engine, board_id, "bo", "s2", run(0.9, 0.8))


def test_a_student_removes_only_their_own_entry(engine: Engine) -> None:
    board_id, _ = board.create_board(engine, "class", DATA)
    mine = board.submit(engine, board_id, "ada", "s1", run(0.9, 0.8))
    theirs = board.submit(engine, board_id, "bo", "s2", run(0.8, 0.8))
    with pytest.raises(BoardError, match="your own"):
        board.withdraw(engine, board_id, theirs.entry_id, mine.removal_token)
    board.withdraw(engine, board_id, mine.entry_id, mine.removal_token)
    assert [e.nickname for e in board.entries(engine, board_id)] == ["bo"]
    with pytest.raises(BoardError, match="not on this board"):
        board.withdraw(engine, board_id, mine.entry_id, mine.removal_token)
    with transaction(engine) as session:  # nothing of a removed entry is kept but its time
        assert session.get(EntryRow, mine.entry_id).nickname == ""


def test_submissions_are_rate_limited_per_session(engine: Engine) -> None:
    board_id, _ = board.create_board(engine, "class", DATA)
    start = now()
    board.submit(engine, board_id, "ada", "s1", run(0.5, 0.5), moment=start)
    with pytest.raises(BoardError, match="try again in"):
        board.submit(engine, board_id, "ada", "s1", run(0.6, 0.5), moment=start + timedelta(seconds=3))
    board.submit(engine, board_id, "bo", "s2", run(0.6, 0.5), moment=start + timedelta(seconds=3))  # another one
    step = timedelta(seconds=board.SUBMIT_INTERVAL_S + 1)
    for i in range(1, board.MAX_PER_SESSION):
        board.submit(engine, board_id, "ada", "s1", run(0.5, 0.5), moment=start + i * step)
    with pytest.raises(BoardError, match="the most one session may"):
        board.submit(engine, board_id, "ada", "s1", run(0.5, 0.5), moment=start + 99 * step)
    assert len(board.entries(engine, board_id)) == board.MAX_PER_SESSION + 1


@pytest.mark.parametrize(("typed", "kept"), [
    ("<script>alert(1)</script>", "<script>alert(1)</script>"[: board.NICKNAME_CHARS]),
    ("**bold** [x](javascript:1)", "**bold** [x](javascript:"),
    ("x" * 10_000, "x" * board.NICKNAME_CHARS),
    ("a\x00b\x1b[31mc\u202ed\nE", "a b [31mc d E"),
    ("  👩‍💻 Zoë 🚀  ", "👩‍💻 Zoë 🚀"),
])
def test_hostile_nicknames_are_stored_as_plain_text(engine: Engine, typed: str, kept: str) -> None:
    board_id, _ = board.create_board(engine, "class", DATA)
    board.submit(engine, board_id, typed, "s1", run(0.9, 0.9))
    (entry,) = board.entries(engine, board_id)
    assert entry.nickname == kept
    assert len(entry.nickname) <= board.NICKNAME_CHARS
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c == "\u202e" for c in entry.nickname)


@pytest.mark.parametrize("typed", ["", "   ", "\x00\x01\n\t", "\u202e"])
def test_an_empty_nickname_is_refused(engine: Engine, typed: str) -> None:
    board_id, _ = board.create_board(engine, "class", DATA)
    with pytest.raises(BoardError, match="nickname"):
        board.submit(engine, board_id, typed, "s1", run(0.9, 0.9))
    assert board.entries(engine, board_id) == []


def test_only_runs_on_the_boards_data_and_trained_here_count(engine: Engine) -> None:
    board_id, _ = board.create_board(engine, "class", DATA)
    with pytest.raises(BoardError, match="other data"):
        board.submit(engine, board_id, "ada", "s1", run(0.9, 0.9, replace(DATA, noise=0.2)))
    with pytest.raises(BoardError, match="uploaded"):
        board.submit(engine, board_id, "ada", "s1", replace(run(0.9, 0.9), trained_here=False))
    with pytest.raises(BoardError, match="between 0 and 1"):
        board.submit(engine, board_id, "ada", "s1", run(1.5, 0.9))
    with pytest.raises(BoardError, match="No board"):
        board.submit(engine, "x" * 22, "ada", "s1", run(0.9, 0.9))
    assert board.entries(engine, board_id) == []


def test_a_lab_run_is_submittable_and_an_uploaded_model_is_not(engine: Engine) -> None:
    lab = Lab()
    lab.set_data(DATA, make_dataset(DATA))
    with pytest.raises(BoardError, match="train one"):
        board.run_from_lab(lab)
    lab.train(replace(lab.train_config, epochs=5), wait=True)
    submitted = board.run_from_lab(lab)
    assert submitted.validation_accuracy == lab.evaluation().validation.accuracy
    board_id, _ = board.create_board(engine, "class", DATA)
    board.submit(engine, board_id, "ada", "s1", submitted)
    assert board.entries(engine, board_id)[0].validation_accuracy == pytest.approx(submitted.validation_accuracy)
    lab.load_model_file(save_model(lab.model, lab.model_config, lab.data.class_names))
    with pytest.raises(BoardError, match="uploaded"):
        board.run_from_lab(lab)


@pytest.mark.parametrize(("name", "data", "message"), [
    ("  ", DATA, "name"), ("x", replace(DATA, val_fraction=0.0), "validation"),
    ("x", DataConfig(name="csv", points=((0.0, 0.0, 0), (1.0, 1.0, 1))), "built-in")])
def test_a_board_needs_a_name_and_validation_data(engine: Engine, name: str, data: DataConfig, message: str) -> None:
    with pytest.raises(BoardError, match=message):
        board.create_board(engine, name, data)


def test_unknown_or_hostile_board_ids_are_refused(engine: Engine) -> None:
    for board_id in ("", "nope", "'; DROP TABLE boards; --", "x" * 10_000, secrets.token_urlsafe(16)):
        with pytest.raises(BoardError, match="No board"):
            board.get_board(engine, board_id)


def test_eight_concurrent_submitters_lose_nothing(engine: Engine) -> None:
    board_id, _ = board.create_board(engine, "rush", DATA)
    barrier, errors = threading.Barrier(8), []

    def student(i: int) -> None:
        barrier.wait()
        try:
            for k in range(3):  # three each, as three sessions' worth of clock
                board.submit(engine, board_id, f"s{i}", f"session-{i}-{k}", run(i / 10, 0.5))
        except Exception as exc:  # noqa: BLE001 - reported below, with the thread's number
            errors.append((i, exc))

    threads = [threading.Thread(target=student, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    ranked = board.entries(engine, board_id)
    assert len(ranked) == 24 and board.get_board(engine, board_id).submissions == 24
    assert [e.nickname for e in ranked[::3]] == [f"s{i}" for i in reversed(range(8))]


def test_the_schema_version_is_recorded(engine: Engine) -> None:
    assert schema_version(engine) == SCHEMA_VERSION
    with transaction(engine) as session:
        assert session.scalars(select(BoardRow)).all() == []  # a fresh database for every test


def test_a_loaded_model_file_is_refused_with_a_clear_message() -> None:
    lab = Lab()
    lab.set_data(DATA, make_dataset(DATA))
    lab.train(replace(lab.train_config, epochs=5), wait=True)
    assert not lab.from_file
    lab.load_model_file(save_model(lab.model, lab.model_config, lab.data.class_names))
    assert lab.from_file and lab.trained_settings is None
    with pytest.raises(BoardError, match="uploaded from a file.*trained in the app"):
        board.run_from_lab(lab)
    lab.train(replace(lab.train_config, epochs=5), wait=True)  # a run trained here clears the mark
    assert not lab.from_file and board.run_from_lab(lab).train.epochs == 5


def test_an_entry_carries_the_settings_of_its_run_not_the_labs_current_ones(engine: Engine) -> None:
    lab = Lab()
    lab.set_data(DATA, make_dataset(DATA))
    lab.train(replace(lab.train_config, epochs=5, lr=0.03), wait=True)
    # changed after the run, not trained
    lab.apply(replace(lab.settings, train=replace(lab.train_config, lr=0.5, epochs=50)))
    submitted = board.run_from_lab(lab)
    assert (submitted.train.lr, submitted.train.epochs) == (0.03, 5)
    board_id, _ = board.create_board(engine, "class", DATA)
    board.submit(engine, board_id, "ada", "s1", submitted)
    (entry,) = board.entries(engine, board_id)
    assert "lr 0.03" in entry.setup and "5 ep" in entry.setup and "0.5" not in entry.setup
