"""Class boards on SQLite and PostgreSQL: tokens, ranking, limits against a crowd, pruning, hostile nicknames,
concurrent writers."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from core.checkpoint import save_model
from core.config import DataConfig, ModelConfig, TrainConfig
from core.data.make import make_dataset
from core.history import board, board_limits
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
    barrier, errors, start = threading.Barrier(8), [], now()

    def student(i: int) -> None:
        barrier.wait()
        try:
            for k in range(3):  # three each from one tab, one submission interval apart
                board.submit(engine, board_id, f"s{i}", f"session-{i}", run(i / 10, 0.5), moment=start + k * STEP)
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
    assert "lr 0.03" in entry.setup and "≤5 ep" in entry.setup and "0.5" not in entry.setup  # a ceiling (patience on)
    assert board._setup({"ep": "100", "pat": "0"}) == "100 ep" and board._setup({"ep": "100"}) == "100 ep"


# Limits against a crowd. The documented defaults are pinned, whatever NNLAB_BOARD_* the environment sets.
DEFAULTS = {"ENTRIES": 200, "STORED": 2000, "TAB_RUNS": 20, "TAB_INTERVAL_S": 10.0, "TABS_PER_ADDRESS": 40,
            "BOARDS_PER_HOUR": 5, "ADDRESS_BOARDS_PER_HOUR": 20, "RETENTION_DAYS": 30.0}
SETTINGS = {"ENTRIES": "NNLAB_BOARD_ENTRIES", "STORED": "NNLAB_BOARD_STORED", "TAB_RUNS": "NNLAB_BOARD_TAB_RUNS",
            "TAB_INTERVAL_S": "NNLAB_BOARD_TAB_INTERVAL_S", "TABS_PER_ADDRESS": "NNLAB_BOARD_TABS_PER_ADDRESS",
            "BOARDS_PER_HOUR": "NNLAB_BOARD_BOARDS_PER_HOUR",
            "ADDRESS_BOARDS_PER_HOUR": "NNLAB_BOARD_ADDRESS_BOARDS_PER_HOUR",
            "RETENTION_DAYS": "NNLAB_BOARD_RETENTION_DAYS"}
SCHOOL, HOME = "203.0.113.7", "2001:db8::42"
STEP = timedelta(seconds=11)  # just past one submission interval


@pytest.fixture(autouse=True)
def documented_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in DEFAULTS.items():
        monkeypatch.setattr(board_limits, name, value)


def refused(match: str, action: Callable[..., object], *args: object, **kwargs: object) -> str:
    """The refusal `action` raises: a BoardError of one line matching `match`."""
    with pytest.raises(BoardError, match=match) as caught:
        action(*args, **kwargs)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_the_limits_are_settings_documented_with_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, variable in SETTINGS.items():
        assert f"{variable} ({DEFAULTS[name]:g})" in (board_limits.__doc__ or "")
    monkeypatch.delenv("NNLAB_BOARD_TAB_RUNS", raising=False)
    assert board_limits._setting("NNLAB_BOARD_TAB_RUNS", 20) == 20
    monkeypatch.setenv("NNLAB_BOARD_TAB_RUNS", " 7 ")
    assert board_limits._setting("NNLAB_BOARD_TAB_RUNS", 20) == 7
    for bad in ("0", "-3", "lots", "2.5"):
        monkeypatch.setenv("NNLAB_BOARD_TAB_RUNS", bad)
        with pytest.raises(ValueError, match="NNLAB_BOARD_TAB_RUNS must be a positive whole number"):
            board_limits._setting("NNLAB_BOARD_TAB_RUNS", 20)
    monkeypatch.setenv("NNLAB_BOARD_RETENTION_DAYS", "0.5")
    assert board_limits._setting("NNLAB_BOARD_RETENTION_DAYS", 30.0, float) == 0.5
    for bad in ("nan", "inf", "0"):
        monkeypatch.setenv("NNLAB_BOARD_RETENTION_DAYS", bad)
        with pytest.raises(ValueError, match="positive number"):
            board_limits._setting("NNLAB_BOARD_RETENTION_DAYS", 30.0, float)


def test_one_tab_stops_at_its_own_cap(engine: Engine) -> None:
    board_id, _ = board.create_board(engine, "class", DATA)
    start = now()
    first = board.submit(engine, board_id, "ada", "tab-1", run(0.5, 0.5), address=SCHOOL, moment=start)
    refused(r"One submission every 10 s from each tab: try again in 7 s\.", board.submit, engine, board_id, "ada",
            "tab-1", run(0.6, 0.5), address=SCHOOL, moment=start + timedelta(seconds=3))
    board.submit(engine, board_id, "bo", "tab-2", run(0.6, 0.5), address=SCHOOL, moment=start + timedelta(seconds=3))
    for i in range(1, 20):
        board.submit(engine, board_id, "ada", "tab-1", run(0.5, 0.5), address=SCHOOL, moment=start + i * STEP)
    refused("This tab has submitted 20 runs to this board, the most one tab may", board.submit, engine, board_id,
            "ada", "tab-1", run(0.5, 0.5), address=SCHOOL, moment=start + 99 * STEP)
    board.withdraw(engine, board_id, first.entry_id, first.removal_token)  # a removed run still counts
    refused("the most one tab may", board.submit, engine, board_id, "ada", "tab-1", run(0.5, 0.5),
            address=SCHOOL, moment=start + 100 * STEP)
    assert len(board.entries(engine, board_id)) == 20
    for owner in ("", "x" * 300):
        refused("no usable id", board.submit, engine, board_id, "cy", owner, run(0.5, 0.5))


def test_fifty_tabs_behind_one_address_stop_at_the_address_then_the_board_cap(engine: Engine) -> None:
    board_id, token = board.create_board(engine, "Period 3", DATA)
    start, accepted, refusals = now(), [], []
    for round_ in range(6):  # 50 fresh sessions, all in the same second, every 11 s
        taken, said = 0, []
        for tab in range(50):
            try:
                board.submit(engine, board_id, f"Teacher (official) {tab}", f"tab-{tab}", run(0.99, 0.99),
                             address=SCHOOL, moment=start + round_ * STEP)
                taken += 1
            except BoardError as exc:
                said.append(str(exc))
        accepted.append(taken)
        refusals.append(said)
    assert accepted == [40, 40, 40, 40, 40, 0]  # 40 tabs' worth at a time, then the board is full
    assert refusals[0] == ["40 runs came from your network address in the last 10 s, the most one address may: "
                           "try again in 10 s."] * 10
    assert set(refusals[5]) == {"This board is full (200 entries): ask your teacher to remove some or to start a "
                                "new board."}
    assert len(board.entries(engine, board_id)) == 200 == board.get_board(engine, board_id).submissions
    refused("full", board.submit, engine, board_id, "ada", "elsewhere", run(0.5, 0.5), address=HOME,
            moment=start + 9 * STEP)
    board.remove_entries(engine, board_id, [e.id for e in board.entries(engine, board_id)], token)
    assert board.entries(engine, board_id) == []
    board.submit(engine, board_id, "ada", "a-real-student", run(0.8, 0.7), address=SCHOOL, moment=start + 9 * STEP)
    assert [e.nickname for e in board.entries(engine, board_id)] == ["ada"]


def test_addresses_are_counted_apart_and_never_stored(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(board_limits, "TABS_PER_ADDRESS", 3)
    monkeypatch.setattr(board_limits, "TAB_RUNS", 2)  # so an address may send 6 runs to a board
    board_id, _ = board.create_board(engine, "class", DATA)
    start = now()
    for tab in range(3):
        board.submit(engine, board_id, f"s{tab}", f"school-{tab}", run(0.5, 0.5), address=SCHOOL, moment=start)
    refused("3 runs came from your network address", board.submit, engine, board_id, "s3", "school-3",
            run(0.5, 0.5), address=SCHOOL, moment=start)
    board.submit(engine, board_id, "h0", "home-0", run(0.5, 0.5), address=HOME, moment=start)
    for tab in range(5):  # localhost: no address, no address limit
        board.submit(engine, board_id, f"l{tab}", f"local-{tab}", run(0.5, 0.5), moment=start)
    for tab in range(3):
        board.submit(engine, board_id, f"s{tab}", f"school-{tab}", run(0.5, 0.5), address=SCHOOL,
                     moment=start + STEP)
    refused("Your network address has submitted 6 runs to this board, the most one address may: no more",
            board.submit, engine, board_id, "s9", "school-9", run(0.5, 0.5), address=SCHOOL, moment=start + 2 * STEP)
    board.submit(engine, board_id, "h1", "home-1", run(0.5, 0.5), address=HOME, moment=start + 2 * STEP)
    other, _ = board.create_board(engine, "another class", DATA)  # counted per board
    board.submit(engine, other, "s9", "school-9", run(0.5, 0.5), address=SCHOOL, moment=start + 2 * STEP)
    assert len(board.entries(engine, board_id)) == 3 + 1 + 5 + 3 + 1
    with transaction(engine) as session:
        stored = [str(vars(row)) for row in session.scalars(select(EntryRow)).all()]
    assert not any(secret in text for text in stored for secret in (SCHOOL, HOME, "school-0", "home-0"))


def test_concurrent_tabs_behind_one_address_never_pass_its_cap(engine: Engine,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(board_limits, "TABS_PER_ADDRESS", 5)
    board_id, _ = board.create_board(engine, "rush", DATA)
    moment, barrier, outcomes = now(), threading.Barrier(10), []

    def tab(i: int) -> None:
        barrier.wait()
        try:
            board.submit(engine, board_id, f"s{i}", f"tab-{i}", run(0.5, 0.5), address=SCHOOL, moment=moment)
            outcomes.append("taken")
        except Exception as exc:  # noqa: BLE001 - anything but a BoardError fails below
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=tab, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["BoardError"] * 5 + ["taken"] * 5
    assert len(board.entries(engine, board_id)) == 5


def test_removed_entries_free_places_up_to_what_a_board_keeps(engine: Engine,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(board_limits, "ENTRIES", 4)
    monkeypatch.setattr(board_limits, "STORED", 6)
    board_id, token = board.create_board(engine, "class", DATA)
    for tab in range(4):
        board.submit(engine, board_id, f"s{tab}", f"tab-{tab}", run(0.5, 0.5))
    refused(r"This board is full \(4 entries\)", board.submit, engine, board_id, "x", "tab-x", run(0.5, 0.5))
    ids = [e.id for e in board.entries(engine, board_id)]
    refused("teacher", board.remove_entries, engine, board_id, ids[:2], board_id)
    refused("not on this board", board.remove_entries, engine, board_id, [ids[0], 10**9], token)
    assert len(board.entries(engine, board_id)) == 4  # all or nothing
    board.remove_entries(engine, board_id, ids[:2], token)
    for tab in range(4, 6):
        board.submit(engine, board_id, f"s{tab}", f"tab-{tab}", run(0.5, 0.5))
    board.remove_entry(engine, board_id, ids[2], token)
    refused("This board has taken 6 runs, the most one board keeps", board.submit, engine, board_id, "x", "tab-x",
            run(0.5, 0.5))
    assert len(board.entries(engine, board_id)) == 3


def test_board_creation_is_capped_per_tab_and_per_address(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(board_limits, "BOARDS_PER_HOUR", 2)
    monkeypatch.setattr(board_limits, "ADDRESS_BOARDS_PER_HOUR", 3)
    start, minute = now(), timedelta(minutes=1)

    def create(owner: str | None, address: str | None, minutes: int) -> str:
        return board.create_board(engine, "b", DATA, owner=owner, address=address, moment=start + minutes * minute)[0]

    first = create("tab-1", SCHOOL, 0)
    create("tab-1", SCHOOL, 10)
    refused(r"This tab has started 2 boards in the last hour, the most it may: try again in 50 min\.",
            create, "tab-1", SCHOOL, 10)
    create("tab-2", SCHOOL, 20)
    refused(r"Your network address has started 3 boards in the last hour, the most it may: try again in 40 min\.",
            create, "tab-3", SCHOOL, 20)
    create("tab-3", HOME, 20)
    for _ in range(6):  # neither known (localhost, or a page that passes neither): no creation limit
        create(None, None, 20)
    latest = create("tab-1", SCHOOL, 61)  # the board of minute 0 has left both windows
    with transaction(engine) as session:  # a creator's mark is kept only for the hour the limit needs it
        assert board_limits.CREATOR_KEY not in session.get(BoardRow, first).settings
        assert board_limits.CREATOR_KEY in session.get(BoardRow, latest).settings
    assert board.get_board(engine, latest).data == DATA
    board.submit(engine, latest, "ada", "tab-9", run(0.9, 0.9), moment=start + 62 * minute)


def test_quiet_boards_are_deleted_with_their_entries_when_a_board_is_started(engine: Engine) -> None:
    today, day = now(), timedelta(days=1)
    old, _ = board.create_board(engine, "last term", DATA, moment=today - 40 * day)
    busy, _ = board.create_board(engine, "all term", DATA, moment=today - 40 * day)
    board.submit(engine, old, "ada", "tab-1", run(0.9, 0.9), moment=today - 39 * day)
    board.submit(engine, busy, "ada", "tab-1", run(0.9, 0.9), moment=today - 2 * day)
    assert board.get_board(engine, old).submissions == 1  # nothing is deleted until a board is started
    recent, _ = board.create_board(engine, "today", DATA, moment=today)
    refused("No board with this link", board.get_board, engine, old)
    assert len(board.entries(engine, busy)) == 1 and board.entries(engine, recent) == []
    with transaction(engine) as session:
        assert session.scalars(select(EntryRow).where(EntryRow.board == old)).all() == []
        assert len(session.scalars(select(BoardRow)).all()) == 2  # all term, today


def test_a_nickname_on_another_tabs_entry_is_refused_and_the_same_tab_may_reuse_its_own(engine: Engine) -> None:
    board_id, token = board.create_board(engine, "class", DATA)
    start = now()
    first = board.submit(engine, board_id, "Alice", "tab-1", run(0.8, 0.8), moment=start)
    for same in ("Alice", "alice", "  ALICE ", "ａｌｉｃｅ", "Ali\u200dce", "Alice\u00a0"):  # case, spaces, NFKC
        said = refused("taken", board.submit, engine, board_id, same, "tab-2", run(0.9, 0.9), moment=start + STEP)
        assert said == "That nickname is taken on this board: pick another."
    board.submit(engine, board_id, "Alice B", "tab-2", run(0.9, 0.9), moment=start + STEP)  # another name is fine
    board.submit(engine, board_id, "alice", "tab-1", run(0.95, 0.9), moment=start + STEP)  # the same tab: a better run
    assert [e.nickname for e in board.entries(engine, board_id)] == ["alice", "Alice B", "Alice"]
    board.withdraw(engine, board_id, first.entry_id, first.removal_token)
    refused("taken", board.submit, engine, board_id, "Alice", "tab-3", run(0.5, 0.5), moment=start + 2 * STEP)
    board.remove_entries(engine, board_id, [e.id for e in board.entries(engine, board_id) if e.nickname == "alice"],
                         token)
    board.submit(engine, board_id, "Alice", "tab-3", run(0.5, 0.5), moment=start + 2 * STEP)  # free once removed
    other, _ = board.create_board(engine, "another class", DATA)  # taken per board
    board.submit(engine, other, "alice", "tab-2", run(0.5, 0.5), moment=start + 2 * STEP)


@pytest.mark.parametrize(("held", "look_alike"), [
    ("Alice", "\u0410lice"),  # Cyrillic capital A
    ("alice", "\u0410LICE"),  # the same letter in the other case
    ("Alice", "Al\u0456ce"),  # Ukrainian i
    ("Bob", "B\u03bfb"),  # Greek omicron
    ("Joe", "\u0408\u043e\u0435"),  # every letter Cyrillic: no script is mixed
    ("Sophie", "\u0455\u043e\u0440\u04bb\u0456\u0435"),  # the same, six letters long
    ("Ian", "lan"),  # a small L for a capital I
    ("Emma", "Ernrna"),  # r and n side by side for m
    ("Alice", "Ali\ufe0fce"),  # an invisible variation selector
    ("\u674e\u660e", "\u674e\u660e"),  # a Chinese name is held as a Latin one is
])
def test_a_nickname_that_looks_like_another_tabs_is_refused(engine: Engine, held: str, look_alike: str) -> None:
    board_id, _ = board.create_board(engine, "class", DATA)
    board.submit(engine, board_id, held, "tab-1", run(0.8, 0.8))
    said = refused("taken", board.submit, engine, board_id, look_alike, "tab-2", run(0.9, 0.9))
    assert said == "That nickname is taken on this board: pick another."
    assert [e.nickname for e in board.entries(engine, board_id)] == [held]


def test_names_that_a_reader_tells_apart_are_all_free(engine: Engine) -> None:
    board_id, _ = board.create_board(engine, "class", DATA)
    # Diacritics and strokes show, so Zoë is not Zoe (nor Bjørn Bjorn); a capital I is only a small L's twin.
    names = ["Ana", "Anna", "Lee", "Lea", "Zoë", "Zoe", "José", "Jose", "Bjørn", "Bjorn", "Ian", "Lan", "IVY", "LVY",
             "\u674e\u660e", "\u674e\u670b", "\u0645\u062d\u0645\u062f", "\u0645\u062d\u0645\u0648\u062f",
             "\u0418\u0432\u0430\u043d", "Ivan", "\uae40\ubbfc\uc900", "\uae40\ubbfc\uc911"]
    for i, name in enumerate(names):
        board.submit(engine, board_id, name, f"tab-{i}", run(0.8, 0.8))
    assert sorted(e.nickname for e in board.entries(engine, board_id)) == sorted(names)


def test_skeletons_follow_unicodes_confusables_table() -> None:
    skeleton = board_limits.skeleton
    assert skeleton("p\u0430yp\u0430l") == skeleton("paypal")  # UTS #39's example, with Cyrillic a
    assert skeleton("m") == skeleton("rn") and skeleton("1") == skeleton("I") == skeleton("l") != skeleton("i")
    # The package lists each link both ways. U+0337 is the only source of U+0338, which is part of the prototype of
    # o with stroke (o, U+0338): read from the links, either may stand for the pair, but both sides must agree.
    assert skeleton("\u00f8") == skeleton("o\u0337") == skeleton("o\u0338") != skeleton("o")
    assert skeleton("Zo\u00eb") == skeleton("Zoe\u0308") != skeleton("Zoe")
