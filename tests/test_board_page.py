"""The Board page under AppTest: a teacher starts a board, a student submits, the projector view, hostile input,
and a teacher key that works once (each AppTest is a browser tab: its secret is set in its session state)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine
from streamlit.runtime.scriptrunner import RerunData
from streamlit.testing.v1 import AppTest, local_script_runner

from app_pages import board_panels as ui
from app_pages import board_table as ranking
from app_pages.board_panels import board_link
from app_pages.common import tab_secret
from app_pages.common.session import SESSION
from app_pages.common.share import link_opens
from app_pages.common.tab_secret import TEST_SECRET
from app_pages.common.ui import literal
from core.config import DataConfig, ModelConfig, TrainConfig
from core.history import board, board_keys
from core.history.db import URL_ENV, open_engine
from tests.test_data_page_draw import shared_link

TIMEOUT = 60
DATA = DataConfig(name="circles", n_samples=200, noise=0.2, seed=4)  # not the default: the page must set it
HOSTILE = "<b>x</b> **y** [z](j:1)"  # within the 24 characters the box takes


@pytest.fixture
def db(tmp_path, monkeypatch) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'boards.sqlite3'}"
    monkeypatch.setenv(URL_ENV, url)
    engine = open_engine(url)
    yield engine
    engine.dispose()


TAB_A, TAB_B, TAB_C = ("A" * 43, "B" * 43, "C" * 43)  # three browser tabs' secrets


def board_page(params: dict[str, str] | None = None, *, tab: str | None = None) -> AppTest:
    """The Board page opened from a link, in the browser tab whose secret is `tab` (default: the shared test tab)."""
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.query_params.update(params or {})
    if tab is not None:
        at.session_state[TEST_SECRET] = tab
    return at.switch_page("app_pages/board.py")


def teacher_links(at: AppTest) -> list[str]:
    """The teacher links on screen (in the dialog that shows one once)."""
    return [c.value for c in at.code if "key=" in c.value]


def key_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["key"][0]


def is_teacher_view(at: AppTest) -> bool:
    return any(b.label == "Close the board" for b in at.button)


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def markdown_text(at: AppTest) -> str:
    """Everything drawn as Markdown (titles, captions, notices): a nickname must never be among it."""
    parts = [*at.markdown, *at.caption, *at.title, *at.info, *at.warning, *at.success, *at.header]
    return " ".join(str(p.value) for p in parts)


def test_a_teacher_starts_a_board_and_gets_two_links(db: Engine) -> None:
    at = board_page().run()
    no_errors(at)
    data = at.session_state[SESSION].lab.data  # told in words, not as a link's settings (circles had "classes=3")
    told = next(c.value for c in at.caption if c.value.startswith("Students will train on this data"))
    assert told == (f"Students will train on this data: {data.source} {len(data.y_train):,} train · "
                    f"{len(data.y_val):,} validation · {len(data.y_test):,} test.") and "=" not in told
    at.text_input(key="board.name").input("Period 3")
    at.button(key="board.start").click().run()
    no_errors(at)
    board_id = at.session_state[SESSION].lab.board_id
    assert board_keys.is_teacher_tab(db, board_id, tab_secret.APPTEST_SECRET), "the tab that started it is the teacher"
    assert board.get_board(db, board_id).data == at.session_state[SESSION].lab.data_config
    assert at.query_params["board"] in (board_id, [board_id]) and "key" not in at.query_params
    codes = [c.value for c in at.code]
    student = next(c for c in codes if "present" not in c and "key=" not in c)
    (teacher,) = teacher_links(at)  # in its own dialog, shown once
    key = key_of(teacher)
    assert f"board={board_id}" in student and key not in student
    assert not any(key in c for c in codes if c != teacher)
    assert is_teacher_view(at)
    at.button(key="board.kept").click().run()
    assert not teacher_links(at), "shown once: gone once the teacher has kept it"
    assert any(f"board={board_id}" in c.value for c in at.code) and is_teacher_view(at)
    at.run()
    assert not teacher_links(at)


def test_a_student_gets_the_boards_data_and_submits_with_a_hostile_nickname(db: Engine) -> None:
    board_id, _ = board.create_board(db, "Period 3", DATA)
    at = board_page({"board": board_id}).run()
    no_errors(at)
    assert at.session_state[SESSION].lab.data_config == DATA  # the board's data, trained at once (2-D)
    assert not any(b.label in ("Close the board", "Remove entry") for b in at.button)
    at.text_input(key="board.nickname").input(HOSTILE)  # typed, then the click sends it
    at.button(key="board.submit").click().run()
    no_errors(at)
    (entry,) = board.entries(db, board_id)
    assert entry.nickname == HOSTILE
    table = at.dataframe[0].value
    assert list(table["Nickname"]) == [entry.nickname]  # a plain-text cell
    assert "<b>x</b>" not in markdown_text(at)
    assert any(entry.nickname in t.value for t in at.text)  # "Yours: ..." as plain text
    next(b for b in at.button if b.label == "Remove").click().run()
    no_errors(at)
    assert board.entries(db, board_id) == []


def test_the_present_view_has_the_table_and_no_controls(db: Engine) -> None:
    board_id, _ = board.create_board(db, "<i>Projector</i>", DATA)
    board.submit(db, board_id, "ada", "s1", board.BoardRun(DATA, ModelConfig(), TrainConfig(), 0.9, 0.8))
    board.submit(db, board_id, HOSTILE, "s2", board.BoardRun(DATA, ModelConfig(), TrainConfig(), 0.8, 0.8))
    at = board_page({"board": board_id, "present": "1"}).run()
    no_errors(at)
    (shown,) = at.get("html")  # large rows that wrap (a canvas table draws small print and cuts long names)
    assert "<td class='name'>ada</td>" in shown.value and escape(HOSTILE) in shown.value
    assert HOSTILE not in shown.value, "a nickname is never markup"
    assert len(at.button) == 0 and len(at.text_input) == 0 and len(at.selectbox) == 0
    assert at.title[0].value == literal("<i>Projector</i>")  # the teacher's text, every markup character escaped


def test_the_teacher_removes_an_entry_and_a_guessed_key_cannot(db: Engine) -> None:
    board_id, key = board.create_board(db, "class", DATA)
    board.submit(db, board_id, "ada", "s1", board.BoardRun(DATA, ModelConfig(), TrainConfig(), 0.9, 0.8))
    for wrong in ("A" * 22, "<b>x</b>", key[:-1], key + "A" * 22):
        guessed = board_page({"board": board_id, "key": wrong}).run()
        no_errors(guessed)
        assert [w.value for w in guessed.warning] == [board_keys.KEY_USED]
        assert not any(b.label in ("Remove entry", "Close the board") for b in guessed.button)
    at = board_page({"board": board_id, "key": key}).run()
    no_errors(at)
    assert "key" not in at.query_params  # moved out of the address bar
    at.selectbox(key="board.remove_choice").select_index(0).run()
    next(b for b in at.button if b.label == "Remove entry").click().run()
    no_errors(at)
    assert board.entries(db, board_id) == []


@pytest.mark.parametrize("params", [
    {"board": "<script>alert(1)</script>"}, {"board": "x" * 10_000}, {"board": "A" * 22},
    {"board": "A" * 22, "present": "<b>yes</b>", "key": "../../etc"}])
def test_hostile_board_links_give_a_plain_notice(db: Engine, params: dict[str, str]) -> None:
    at = board_page(params).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(str(e.value) for e in [*at.warning, *at.error])
    assert "not valid" in shown or "No board" in shown
    assert "<script>" not in markdown_text(at) and "<b>" not in markdown_text(at)


def test_board_links_never_carry_the_key_unless_asked() -> None:
    url = "https://lab.example.org/train?s=abc"
    assert board_link(url, "B" * 22) == "https://lab.example.org/board?board=" + "B" * 22
    assert board_link("http://localhost:8501/", "B" * 22, present=True).endswith("/board?board=" + "B" * 22
                                                                                 + "&present=1")
    assert "key=K" in board_link(url, "B" * 22, key="K")



def test_a_link_shared_from_the_board_page_lands_students_on_that_board(db: Engine) -> None:
    """Share on the Board page gave a link without board=: a student who opened it got the form that starts a new
    board. It names the board now (never the teacher's key), so the student lands on it, ready to submit."""
    board_id, key = board.create_board(db, "Period 3", DATA)
    teacher = board_page({"board": board_id, "key": key}, tab=TAB_A).run()
    assert is_teacher_view(teacher)
    teacher.context["url"] = "http://localhost:8501/board"  # what the browser reports (st.context.url)
    link, query = shared_link(teacher)
    assert urlsplit(link).path == "/board" and query["board"] == board_id, link
    assert "key" not in query and "present" not in query and key not in link and "s" not in query
    assert any("on your class board" in c.value for c in teacher.caption)
    student = board_page(query, tab=TAB_B).run()
    no_errors(student)
    assert student.session_state[SESSION].lab.board_id == board_id
    assert student.session_state[SESSION].lab.data_config == DATA
    assert student.button(key="board.submit") and not any(b.key == "board.start" for b in student.button)
    assert any(s.value.endswith("Period 3") for s in student.subheader) and not is_teacher_view(student)


def test_a_link_shared_from_another_page_names_no_board() -> None:
    board_id = "B" * 22
    assert link_opens("http://host:8501/board", board=board_id) == {"board": board_id}
    assert link_opens("http://host/nnlab/board", board=board_id) == {"board": board_id}
    assert link_opens("http://host:8501/train", board=board_id) == {}  # the Train page: its settings, no board
    assert link_opens("http://host:8501/", board=board_id) == {}  # the Board page hidden by pages=: the first page
    assert link_opens("http://host:8501/board", board=None) == {}  # the Board page's start form: no board yet
    assert link_opens("http://host:8501/lessons", board=board_id) == {}  # the Lessons page names a lesson or none


def test_a_reload_on_another_page_finds_the_board_again(db: Engine) -> None:
    board_id, _ = board.create_board(db, "Period 3", DATA)
    at = board_page({"board": board_id}).run()
    at.switch_page("app_pages/train.py").run()
    token = at.session_state[SESSION].token
    reloaded = AppTest.from_file("../app.py", default_timeout=TIMEOUT)  # a reload on the Train page: no board=
    reloaded.query_params.update({"s": token})
    reloaded.switch_page("app_pages/train.py").run()
    reloaded.switch_page("app_pages/board.py").run()
    no_errors(reloaded)
    assert reloaded.session_state[SESSION].lab.board_id == board_id
    assert any(s.value.endswith("Period 3") for s in reloaded.subheader)
    assert reloaded.button(key="board.submit")


def test_the_teacher_key_stays_out_of_the_lab_and_the_address_bar(db: Engine) -> None:
    at = board_page().run()
    at.text_input(key="board.name").input("Period 3")
    at.button(key="board.start").click().run()
    (link,) = teacher_links(at)
    key, lab = key_of(link), at.session_state[SESSION].lab
    assert lab.board_id and key.encode() not in pickle.dumps(lab)  # the store keeps the Lab
    assert all(key not in str(value) for value in at.query_params.values())
    at.button(key="board.kept").click().run()
    assert key not in repr({k: at.session_state[k] for k in at.session_state}), "shown once, then kept nowhere"


def test_a_teacher_key_works_once_and_the_teacher_can_make_a_new_link(db: Engine) -> None:
    board_id, key = board.create_board(db, "Period 3", DATA)
    teacher = board_page({"board": board_id, "key": key}, tab=TAB_A).run()
    no_errors(teacher)
    assert is_teacher_view(teacher) and "key" not in teacher.query_params
    assert any("now the board's teacher" in s.value for s in teacher.success)
    again = board_page({"board": board_id, "key": key}, tab=TAB_B).run()  # the key from history, a log, a screen
    no_errors(again)
    assert [w.value for w in again.warning] == [board_keys.KEY_USED]
    assert not is_teacher_view(again) and again.button(key="board.submit")
    reloaded = board_page({"board": board_id}, tab=TAB_A).run()  # the teacher's own tab, reloaded: no key needed
    assert is_teacher_view(reloaded) and not reloaded.warning
    reloaded.button(key="board.new_link").click().run()
    (link,) = teacher_links(reloaded)
    elsewhere = board_page({"board": board_id, "key": key_of(link)}, tab=TAB_C).run()  # e.g. another computer
    assert is_teacher_view(elsewhere)
    assert board_keys.is_teacher_tab(db, board_id, TAB_C) and not board_keys.is_teacher_tab(db, board_id, TAB_A)
    assert not is_teacher_view(board_page({"board": board_id}, tab=TAB_A).run()), "the role moved with the link"
    used = board_page({"board": board_id, "key": key_of(link)}, tab=TAB_B).run()
    assert [w.value for w in used.warning] == [board_keys.KEY_USED] and not is_teacher_view(used)


def test_a_student_cannot_make_a_teacher_link(db: Engine) -> None:
    board_id, _ = board.create_board(db, "Period 3", DATA)
    with pytest.raises(board.BoardError, match="Only the board's teacher"):
        board_keys.new_key(db, board_id, TAB_B)


def test_a_new_teacher_link_revokes_the_one_seen_on_the_projector(db: Engine) -> None:
    """The audit's steps: the teacher starts a board (link K1, seen on the projector) and presses New teacher link
    (K2). A student opening K1 used to become the teacher for good; now K1 is refused and the teacher keeps the
    board. K2 moves the teacher to another computer, and the tab left behind is told so."""
    teacher = board_page(tab=TAB_A).run()
    teacher.text_input(key="board.name").input("Period 3")
    teacher.button(key="board.start").click().run()
    (seen,) = teacher_links(teacher)
    board_id = teacher.session_state[SESSION].lab.board_id
    teacher.button(key="board.kept").click().run()
    teacher.button(key="board.new_link").click().run()
    (replacement,) = teacher_links(teacher)
    assert key_of(replacement) != key_of(seen)
    assert any("no longer works" in w.value for w in teacher.warning)  # the dialog says the old link is dead
    student = board_page({"board": board_id, "key": key_of(seen)}, tab=TAB_B).run()
    no_errors(student)
    assert [w.value for w in student.warning] == [board_keys.KEY_USED] and not is_teacher_view(student)
    assert board_keys.is_teacher_tab(db, board_id, TAB_A) and is_teacher_view(board_page({"board": board_id},
                                                                                            tab=TAB_A).run())
    laptop = board_page({"board": board_id, "key": key_of(replacement)}, tab=TAB_C).run()
    assert is_teacher_view(laptop)
    teacher.button(key="board.kept").click().run()  # the old tab's next run: no longer the teacher, and told
    assert not is_teacher_view(teacher) and [w.value for w in teacher.warning] == [ui.LOST]
    teacher.run()
    assert not teacher.warning, "told once"


def revoked_teacher(db: Engine) -> tuple[AppTest, str, str]:
    """Tab A starts a board and makes a new teacher link, which tab C opens: (tab A, A's session token, board)."""
    teacher = board_page(tab=TAB_A).run()
    teacher.text_input(key="board.name").input("Period 3")
    teacher.button(key="board.start").click().run()
    board_id = teacher.session_state[SESSION].lab.board_id
    teacher.button(key="board.kept").click().run()
    teacher.button(key="board.new_link").click().run()
    (link,) = teacher_links(teacher)
    teacher.button(key="board.kept").click().run()
    assert is_teacher_view(board_page({"board": board_id, "key": key_of(link)}, tab=TAB_C).run())
    assert not board_keys.is_teacher_tab(db, board_id, TAB_A)
    return teacher, teacher.session_state[SESSION].token, board_id


def test_a_teacher_tab_reloaded_after_losing_the_role_is_told(db: Engine) -> None:
    """QA: tab A, reloaded after tab C opened A's new teacher link, showed the student form with no word of why
    (the "was the teacher" mark lived in the Streamlit session, which a reload replaces). It is kept on the lab."""
    _, token, board_id = revoked_teacher(db)
    reloaded = board_page({"board": board_id, "s": token}, tab=TAB_A).run()  # a new session, the same tab
    no_errors(reloaded)
    assert not is_teacher_view(reloaded) and reloaded.button(key="board.submit")
    assert [w.value for w in reloaded.warning] == [ui.LOST]
    reloaded.run()
    assert not reloaded.warning, "told once"
    assert not board_page({"board": board_id, "s": token}, tab=TAB_A).run().warning, "and not again on a reload"


def tick(at: AppTest, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The live table's timer firing in an idle tab: a rerun of that fragment alone, as the browser asks for one every
    REFRESH_S (AppTest has no timers: its own runs are always the whole page)."""
    table = ranking.live_table.__wrapped__  # the function the fragment runs; the storage keeps the last run's fragments
    # Streamlit's own internals (no public way to rerun one fragment in AppTest): said plainly if an upgrade moves them
    assert hasattr(getattr(at, "_fragment_storage", None), "_fragments"), "AppTest's fragment storage has moved"
    (fragment,) = [fid for fid, run in at._fragment_storage._fragments.items()
                   if any(cell.cell_contents is table for cell in run.__closure__ or ())]

    def timer(**fields: Any) -> RerunData:  # the runner's first request too: a whole-page one would absorb it
        return RerunData(**fields, fragment_id_queue=[fragment], is_auto_rerun=True)

    with monkeypatch.context() as patch:
        patch.setattr(local_script_runner, "RerunData", timer)
        return at.run()


def test_an_idle_teacher_tab_is_told_at_the_next_refresh(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """QA: tab A, left alone after tab C opened its new teacher link, kept showing the teacher's links and Close the
    board. The live table's refresh sees that the tab is no longer the teacher and runs the whole page again."""
    teacher, _, _ = revoked_teacher(db)
    tick(teacher, monkeypatch)
    no_errors(teacher)
    assert [w.value for w in teacher.warning] == [ui.LOST], "the whole page ran again, and says why"
    assert not is_teacher_view(teacher) and teacher.button(key="board.submit")


def test_a_refresh_costs_the_teacher_one_lookup_and_runs_only_the_table(db: Engine,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    teacher = board_page(tab=TAB_A).run()
    teacher.text_input(key="board.name").input("Period 3")
    teacher.button(key="board.start").click().run()
    teacher.button(key="board.kept").click().run()
    board_id = teacher.session_state[SESSION].lab.board_id
    student = board_page({"board": board_id}, tab=TAB_B).run()
    board.submit(db, board_id, "ada", "s1", board.BoardRun(board.get_board(db, board_id).data, ModelConfig(),
                                                           TrainConfig(), 0.9, 0.8))
    teacher.run()
    lookups, pages = [], []
    check, page_check = board_keys.is_teacher_tab, ui.teacher_token
    monkeypatch.setattr(board_keys, "is_teacher_tab", lambda *args: lookups.append(args) or check(*args))
    monkeypatch.setattr(ui, "teacher_token", lambda *args: pages.append(args) or page_check(*args))
    tick(teacher, monkeypatch)
    no_errors(teacher)
    assert len(lookups) == 1 and not pages, "one lookup of the board's row; the page was not run again"
    assert list(teacher.dataframe[0].value["Nickname"]) == ["ada"]
    assert not teacher.warning and not teacher.title, "the table alone was drawn again"
    assert teacher.selectbox(key="board.remove_choice").options == ["#1 ada"]  # the Remove list is the table's
    tick(student, monkeypatch)
    assert len(lookups) == 1 and list(student.dataframe[0].value["Nickname"]) == ["ada"], "a student's: none"


def test_a_nickname_another_student_holds_is_refused_with_a_plain_message(db: Engine) -> None:
    board_id, _ = board.create_board(db, "Period 3", DATA)
    board.submit(db, board_id, "alice", "another-tab", board.BoardRun(DATA, ModelConfig(), TrainConfig(), 0.9, 0.8))
    at = board_page({"board": board_id}, tab=TAB_B).run()
    at.text_input(key="board.nickname").input(" ALICE ")
    at.button(key="board.submit").click().run()
    assert [e.value for e in at.error] == ["That nickname is taken on this board: pick another."]
    at.text_input(key="board.nickname").input("Alice 2")
    at.button(key="board.submit").click().run()
    no_errors(at)
    assert sorted(e.nickname for e in board.entries(db, board_id)) == ["Alice 2", "alice"]


def test_the_remove_list_follows_new_entries_with_the_tables_refresh(db: Engine,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The Remove list is drawn with the live table: a new entry appears in it at the next refresh, without a run
    of the whole teacher page; removing it takes it off the board and the list."""
    teacher = board_page(tab=TAB_A).run()
    teacher.text_input(key="board.name").input("Period 3")
    teacher.button(key="board.start").click().run()
    teacher.button(key="board.kept").click().run()
    board_id = teacher.session_state[SESSION].lab.board_id
    assert not teacher.selectbox  # nothing to remove yet
    run = board.BoardRun(board.get_board(db, board_id).data, ModelConfig(), TrainConfig(), 0.9, 0.8)
    board.submit(db, board_id, "ada", "s1", run)
    tick(teacher, monkeypatch)  # a new entry: the table alone runs, and the Remove list shows it
    no_errors(teacher)
    assert not teacher.title, "the refresh ran the whole page"
    assert teacher.selectbox(key="board.remove_choice").options == ["#1 ada"]
    assert list(teacher.dataframe[0].value["Nickname"]) == ["ada"]
    teacher.run().selectbox(key="board.remove_choice").select_index(0).run()
    teacher.button(key="board.remove").click().run()
    no_errors(teacher)
    assert board.entries(db, board_id) == [] and not teacher.selectbox


def test_a_teacher_link_opened_elsewhere_brings_the_boards_data(db: Engine) -> None:
    """QA: a board started on moons; its teacher link opened in another browser showed circles (the new session's
    default) in the sidebar and the address bar, while students got moons."""
    moons = DataConfig(name="moons", n_samples=200, noise=0.2, seed=4)
    board_id, key = board.create_board(db, "Period 3", moons)
    at = board_page({"board": board_id, "key": key}, tab=TAB_A).run()
    no_errors(at)
    assert is_teacher_view(at) and at.session_state[SESSION].lab.data_config == moons
    assert at.query_params["data"] in ("moons", ["moons"]) and at.query_params["board"] in (board_id, [board_id])
