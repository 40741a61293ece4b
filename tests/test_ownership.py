"""A session belongs to its browser tab (issue 18): the token corpus under AppTest, "End my session", and the
reaper that stops a gone session's work.

Each AppTest is one browser tab: its secret is st.session_state[TEST_SECRET] (tab_secret.py), and its browser
session id is set through session._session_id. Every stranger's case ends in a fresh Lab from the URL's settings
(or a clear line), and the victim's Lab, store entry and run history are asserted unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.common import session as session_module
from app_pages.common.session import ENDED_NOTE, SESSION, run_writer
from app_pages.common.session_store import copy_lab, lab_nbytes, new_store, stop_work
from app_pages.common.tab_secret import TEST_SECRET, hash_secret
from app_pages.common.ui import load_dataset
from app_pages.data_draw import DRAFT
from core.config import OWN_POINTS, DataConfig, Settings, shaped
from core.data.drawn import DRAWN_NAMES, drawn_config, unpack_link, view_for
from core.history.db import SessionOwnerRow, shared_engine, transaction
from core.history.owners import made_by, record_owner
from core.history.runs import Retention, RunRecord, list_runs, record_run
from core.history.store import ENDED, EVICTED, EXPIRED, FOUND, SessionStore, StoreLimits
from core.lab import Lab
from core.sweep.grid import Axis, SweepSpec
from core.sweep.job import SweepJob
from core.training.jobs import SHARED_SLOTS, JobSlots, SlotTask
from core.url.state import Classroom, encode, preset_settings
from core.url.text import new_token
from tests.conftest import wait_until
from tests.test_data_page_draw import drawn

TIMEOUT = 60
VICTIM, STRANGER = "V" * 43, "S" * 43  # two tabs' secrets (sessionStorage is per tab: another tab has its own)
LINK = {"data": "moons", "noise": "0.2", "hidden": "4,4"}


class Clock:
    """A clock the test moves forward by hand (for the store's time limit)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Server:
    """One test server: its store (a fake clock, browser sessions alive while in `alive`)."""

    store: SessionStore
    clock: Clock
    alive: set[str]
    monkeypatch: pytest.MonkeyPatch

    def open(self, params: dict[str, str], *, tab: str | None, as_session: str, page: str | None = None) -> AppTest:
        """`params` opened in browser tab `tab` (None: a tab that has not reported yet) by browser session
        `as_session`, which is alive from now on."""
        at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
        at.query_params.update(params)
        at.session_state[TEST_SECRET] = tab
        if page is not None:
            at.switch_page(page)
        return self.rerun(at, as_session)

    def restart(self) -> None:
        """A restarted server (or another one behind the same address): an empty store; the database stays."""
        self.store = new_test_store(self.clock, self.alive)

    def rerun(self, at: AppTest, as_session: str) -> AppTest:
        self.monkeypatch.setattr(session_module, "_session_id", lambda: as_session)
        self.alive.add(as_session)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at


def new_test_store(clock: Clock, alive: set[str]) -> SessionStore:
    return SessionStore(StoreLimits(ttl_min=120), size_of=lab_nbytes, copier=copy_lab, clock=clock,
                        is_owner_alive=alive.__contains__, on_end=stop_work)


@pytest.fixture
def server(tmp_path, monkeypatch) -> Iterator[Server]:
    monkeypatch.setenv("NNLAB_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("NNLAB_DATABASE_URL", raising=False)
    clock, alive = Clock(), set()
    test_server = Server(new_test_store(clock, alive), clock, alive, monkeypatch)
    monkeypatch.setattr(session_module, "session_store", lambda: test_server.store)
    yield test_server


def here(at: AppTest):
    return at.session_state[SESSION]


def params(at: AppTest) -> dict[str, str]:
    """The address bar after the run (AppTest keeps a list for a name set more than once)."""
    return {key: value if isinstance(value, str) else value[-1] for key, value in at.query_params.items()}


def saved_runs(token: str) -> list[tuple[int, str]]:
    """The run history of `token` once the writer is idle: (id, origin) of each run."""
    assert run_writer().wait(30)
    return [(run.id, run.origin) for run in list_runs(shared_engine(), token)]


def victim(server: Server) -> tuple[AppTest, dict[str, str], list[tuple[int, str]]]:
    """The victim's tab with a trained model and its first run saved; its address bar; its run history."""
    at = server.open(LINK, tab=VICTIM, as_session="victim")
    lab = here(at).lab
    assert lab.model is not None and here(at).token is not None
    url = params(at)
    record_run(shared_engine(), url["s"], RunRecord({"data": "moons", "lr": "0.1"}, "completed"), origin="train")
    history = saved_runs(url["s"])
    assert sorted(origin for _, origin in history) == ["auto", "train"], "a run history to protect"
    return at, url, history


def assert_untouched(server: Server, at: AppTest, history: list[tuple[int, str]]) -> None:
    token, lab = here(at).token, here(at).lab
    assert server.store.get(token).value is lab and lab.model is not None
    assert saved_runs(token) == history


def assert_fresh_from_the_link(stranger: AppTest, victim_at: AppTest, line: str) -> None:
    mine, theirs = here(stranger), here(victim_at)
    assert mine.token not in (None, theirs.token) and mine.lab is not theirs.lab
    assert mine.lab.model is not theirs.lab.model and not mine.lab.handwriting
    assert mine.lab.data_config == theirs.lab.data_config  # the URL's settings, as a share link would give
    assert mine.lab.model_config.hidden == (4, 4)
    assert any(line in m.value for m in stranger.main.markdown), [m.value for m in stranger.main.markdown]
    assert not {run_id for run_id, _ in saved_runs(mine.token)} & {run_id for run_id, _ in saved_runs(theirs.token)}


# --- the token corpus ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["stranger on another computer", "new tab of the same browser"])
def test_a_closed_tabs_url_opened_within_the_reconnect_window_gives_a_fresh_lab(server: Server, who: str) -> None:
    at, url, history = victim(server)
    server.alive.discard("victim")  # the tab was closed; its Streamlit session waits out the 120-s window
    stranger = server.open(url, tab=STRANGER, as_session=who)  # the full URL, s= and all (from history)
    assert_fresh_from_the_link(stranger, at, "belongs to another browser tab")
    assert params(stranger)["s"] == here(stranger).token != url["s"]
    assert_untouched(server, at, history)
    assert server.store.claim(url["s"], "victim again", hash_secret(VICTIM)).value is here(at).lab


@pytest.mark.parametrize("how", [EXPIRED, EVICTED, "unknown", ENDED])
def test_a_gone_token_opened_by_a_stranger_adopts_nothing(server: Server, how: str) -> None:
    at, url, history = victim(server)
    token = url["s"]
    if how == EXPIRED:
        server.clock.now += 121 * 60
    elif how == EVICTED:
        server.store.limits = StoreLimits(max_mb=lab_nbytes(here(at).lab) * 1.5 / 2**20)
        server.store.put(copy_lab(here(at).lab), secret_hash=hash_secret("someone else"))
    elif how == "unknown":  # a token from before a restart: only its run history is left
        token = new_token()
        record_run(shared_engine(), token, RunRecord({"data": "moons"}, "completed"), origin="train")
        history = saved_runs(token)
    else:
        server.store.drop(token, hash_secret(VICTIM))
    assert token not in server.store
    stranger = server.open({**url, "s": token}, tab=STRANGER, as_session="stranger")
    mine = here(stranger)
    assert mine.token != token and mine.lab is not here(at).lab and mine.lab.model_config.hidden == (4, 4)
    assert saved_runs(token) == history, "the stranger took none of the old token's run history"
    assert not {run_id for run_id, _ in saved_runs(mine.token)} & {run_id for run_id, _ in history}


def test_the_same_tab_after_a_restart_keeps_its_own_run_history_and_a_stranger_does_not(server: Server) -> None:
    _, url, history = victim(server)
    assert made_by(shared_engine(), url["s"], hash_secret(VICTIM)), "recorded with the session's first saved run"
    server.restart()  # it knows nothing of the token; the database does
    stranger = server.open(url, tab=STRANGER, as_session="stranger")
    assert saved_runs(url["s"]) == history and here(stranger).lab.model_config.hidden == (4, 4)
    again = server.open(url, tab=VICTIM, as_session="victim after the restart")
    assert any("not known to the server" in m.value for m in again.main.markdown)
    trained = [run for run in history if run[1] == "train"]
    assert saved_runs(url["s"]) == [] and set(trained) <= set(saved_runs(here(again).token))


def test_the_same_tab_after_expiry_keeps_its_own_run_history(server: Server) -> None:
    _, url, history = victim(server)
    server.clock.now += 121 * 60
    again = server.open(url, tab=VICTIM, as_session="victim reloaded")
    assert any("cleared after 2 hours" in m.value for m in again.main.markdown)
    token = here(again).token
    trained = [run for run in history if run[1] == "train"]
    assert token != url["s"] and saved_runs(url["s"]) == []
    assert set(trained) <= set(saved_runs(token)), "its own runs followed it (its new automatic run replaced the old)"


def test_a_reload_in_the_same_tab_finds_its_work(server: Server) -> None:
    at, url, history = victim(server)
    lab = here(at).lab
    server.alive.discard("victim")  # a reload: the old browser session goes, a new one comes
    reloaded = server.open({"s": url["s"]}, tab=VICTIM, as_session="victim reloaded")
    assert here(reloaded).lab is lab and here(reloaded).token == url["s"] and not here(reloaded).gone
    assert server.store.get(url["s"]).value is lab and saved_runs(url["s"])[-len(history):] == history


def test_the_same_tab_duplicated_gets_its_own_copy(server: Server) -> None:
    at, url, _ = victim(server)  # the victim's browser session still alive: a duplicated tab shares its storage
    twin = server.open(url, tab=VICTIM, as_session="duplicate")
    assert here(twin).token != url["s"] and here(twin).lab is not here(at).lab
    assert here(twin).lab.evaluation().test.accuracy == here(at).lab.evaluation().test.accuracy
    assert any("your own copy" in m.value for m in twin.main.markdown)


def test_nothing_is_opened_before_the_tab_has_reported(server: Server) -> None:
    at, url, _ = victim(server)
    waiting = server.open(url, tab=None, as_session="arriving")
    assert [c.value for c in waiting.main.caption][-1] == "Loading…"
    assert SESSION not in waiting.session_state and len(server.store) == 1
    assert [t.value for t in waiting.title] == ["NN Lab"], "Home's top, which needs no session, is all that is drawn"
    assert not waiting.main.subheader and not waiting.sidebar.button and not waiting.sidebar.markdown
    assert [link.proto.disabled for link in waiting.get("page_link")] == [True], "no page change before the report"
    assert server.store.get(url["s"]).value is here(at).lab


def test_end_my_session_forgets_the_session_and_the_tabs_secret(server: Server) -> None:
    at, url, history = victim(server)
    lab = here(at).lab
    at.switch_page("app_pages/train.py")
    server.rerun(at, "victim")
    assert not at.toast
    at.button(key="session.end").click()
    server.rerun(at, "victim")
    assert [t.value for t in at.toast] == [ENDED_NOTE], "it says what it did: the page alone changed silently"
    assert url["s"] not in server.store and at.session_state[TEST_SECRET] != VICTIM
    fresh = here(at)
    assert fresh.lab is not lab and fresh.token not in (None, url["s"]) and fresh.lab.data_config == DataConfig()
    assert params(at)["s"] == fresh.token and params(at)["data"] == "circles" and "hidden" not in params(at)
    assert saved_runs(url["s"]) == history, "nothing of it goes to the next session"
    server.rerun(at, "victim")
    assert not at.toast, "said once"
    back = server.open(url, tab=at.session_state[TEST_SECRET], as_session="back button")  # Back, same tab
    assert here(back).token != url["s"] and here(back).lab is not lab
    assert any("ended in its browser tab" in m.value for m in back.main.markdown)


# --- your own points: in the tab's session, never in its address bar ----------------------------------------


def drawing_victim(server: Server) -> tuple[AppTest, dict[str, str]]:
    """The victim's tab with 120 points of its own drawn on the Data page; its address bar."""
    at = server.open({}, tab=VICTIM, as_session="victim", page="app_pages/data.py")
    at.selectbox(key="data.name").set_value(OWN_POINTS)
    server.rerun(at, "victim")
    at.session_state[DRAFT] = (drawn(60), DRAWN_NAMES[:2], view_for([]))
    server.rerun(at, "victim")
    data = here(at).lab.data_config
    assert data.name == OWN_POINTS and len(data.points) == 120
    return at, params(at)


@pytest.mark.parametrize("owner", ["open", "closed"])
def test_a_tabs_address_never_gives_another_tab_its_own_points(server: Server, owner: str) -> None:
    """The address bar held pts=: a stranger who opened it was told the session was another tab's, and got the
    120 points anyway. Now the points stay in the store with the session; the stranger starts from the circles."""
    at, url = drawing_victim(server)
    if owner == "closed":
        server.alive.discard("victim")
    stranger = server.open(url, tab=STRANGER, as_session="stranger", page="app_pages/data.py")  # the whole address
    mine = here(stranger)
    assert mine.lab.data_config.name != OWN_POINTS and not mine.lab.data_config.points, "the victim's points"
    assert mine.lab.data_config == DataConfig() and mine.token != url["s"]
    shown = [m.value for m in stranger.main.markdown]
    assert any("belongs to another browser tab" in m and "never in the address bar" in m for m in shown), shown
    assert url["data"] == OWN_POINTS and "pts" not in url and "pts" not in params(stranger)
    assert here(at).lab.data_config.points == drawn(60)


def test_the_owner_reloading_finds_its_own_points(server: Server) -> None:
    at, url = drawing_victim(server)
    lab = here(at).lab
    server.alive.discard("victim")  # a reload: the old browser session goes, a new one comes
    reloaded = server.open(url, tab=VICTIM, as_session="victim reloaded", page="app_pages/data.py")
    assert here(reloaded).lab is lab and lab.data_config.points == drawn(60)
    assert not here(reloaded).gone and not here(reloaded).problems and "pts" not in params(reloaded)
    assert reloaded.selectbox(key="data.name").value == OWN_POINTS and len(reloaded.session_state[DRAFT][0]) == 120


def test_a_reload_keeps_points_a_link_locked(server: Server) -> None:
    """A student's own points from a share link with lock=data: the address bar then names data=csv without
    them, and a reload must not read that as the circles and lock the student's data to them."""
    preset = preset_settings("circles")
    config = drawn_config(drawn(60), ("near", "far"), DataConfig())
    link = encode(Settings(config, shaped(preset.model, config), preset.train), classroom=Classroom(lock=("data",)))
    assert "pts" in link
    at = server.open(link, tab=VICTIM, as_session="student")
    url = params(at)
    assert "pts" not in url and url["lock"] == "data"
    server.alive.discard("student")
    reloaded = server.open(url, tab=VICTIM, as_session="student reloaded", page="app_pages/data.py")
    data = here(reloaded).lab.data_config
    assert here(reloaded).lab is here(at).lab and data.name == OWN_POINTS
    assert data.points == unpack_link(link["pts"])[0] and not here(reloaded).problems


@pytest.mark.parametrize("how", [EXPIRED, EVICTED])
def test_the_owner_reloading_a_gone_session_is_told_its_points_went_with_it(server: Server, how: str) -> None:
    """The store no longer has the session, and the address never had the points: the reload starts from the
    circles (the address's other settings kept) and says why, rather than showing other data silently."""
    at, url = drawing_victim(server)
    if how == EXPIRED:
        server.clock.now += 121 * 60
    else:
        server.store.limits = StoreLimits(max_mb=lab_nbytes(here(at).lab) * 1.5 / 2**20)
        server.store.put(copy_lab(here(at).lab), secret_hash=hash_secret("someone else"))
        server.store.limits = StoreLimits()  # room again for the reload's new session
    server.alive.discard("victim")
    assert url["s"] not in server.store
    reloaded = server.open(url, tab=VICTIM, as_session="victim reloaded", page="app_pages/data.py")
    assert here(reloaded).lab.data_config == DataConfig() and here(reloaded).lab.model is not None
    shown = [m.value for m in reloaded.main.markdown]
    assert any("cleared" in m and "never in the address bar" in m and "draw or import" in m for m in shown), shown


# --- the reaper ----------------------------------------------------------------------------------


def long_digits_lab() -> Lab:
    """A Lab training the offline digits for far longer than any test waits (a worker in the job slots)."""
    lab = Lab(loader=load_dataset)
    config = DataConfig(name="digits", train_size=600)
    lab.set_data(config, load_dataset(config))
    lab.train(replace(lab.train_config, epochs=2000))
    wait_until(lambda: lab.job.progress().state == "running", what="the run to take a slot")
    return lab


def test_a_closed_tab_mid_run_frees_its_job_slot_within_the_grace_period() -> None:
    alive = {"tab"}
    store = SessionStore(StoreLimits(grace_s=1.0), size_of=lab_nbytes, is_owner_alive=alive.__contains__,
                         on_end=stop_work)
    lab = long_digits_lab()
    running = SHARED_SLOTS.running
    token = store.put(lab, owner="tab", secret_hash=hash_secret(VICTIM))
    store.start_reaper()
    try:
        time.sleep(1.5)
        assert lab.training, "alive: the run goes on past the grace period"
        alive.clear()  # the tab closed mid-run
        closed = time.monotonic()
        wait_until(lambda: not lab.training, timeout=20, what="the reaper to stop the run")
        took = time.monotonic() - closed
        assert 1.0 <= took < 1.0 + 2 * store.limits.reap_every_s + 2.0, took
        progress = lab.job.join(10)
        assert progress.result.status == "stopped" and len(progress.history) < 2000
        wait_until(lambda: SHARED_SLOTS.running == running - 1, what="the slot to be given back")
        assert store.claim(token, "tab reopened", hash_secret(VICTIM)).value is lab, "released, not forgotten"
    finally:
        store.stop_reaper()
        lab.stop()


def test_the_reaper_stops_a_gone_sessions_sweep_mid_cell() -> None:
    alive = {"tab"}
    lab = Lab(loader=load_dataset)
    config = DataConfig(name="digits", train_size=600)
    lab.set_data(config, load_dataset(config))
    spec = SweepSpec(lab.data_config, lab.model_config, replace(lab.train_config, epochs=2000),
                     (Axis("lr", (0.01, 0.1)),))
    lab.sweep = SweepJob(spec, lab.data).start()
    store = SessionStore(StoreLimits(grace_s=0.5), size_of=lab_nbytes, is_owner_alive=alive.__contains__,
                         on_end=stop_work)
    store.put(lab, owner="tab", secret_hash=hash_secret(VICTIM))
    store.start_reaper()
    try:
        time.sleep(1.0)
        assert not lab.sweep.progress().done
        alive.clear()
        wait_until(lambda: lab.sweep.progress().done, timeout=20, what="the reaper to stop the sweep")
        progress = lab.sweep.progress()
        assert progress.state == "finished" and progress.result.stopped and not progress.result.cells
    finally:
        store.stop_reaper()
        lab.sweep.stop()


def test_the_app_store_runs_its_reaper_with_the_grace_from_the_environment() -> None:
    alive = {"page"}
    store = new_store({"NNLAB_SESSION_GRACE_S": "0.5"}, is_owner_alive=alive.__contains__)
    lab = long_digits_lab()
    try:
        assert store.limits.grace_s == 0.5
        token = store.put(lab, owner="page", secret_hash=hash_secret(VICTIM))
        alive.clear()
        wait_until(lambda: not lab.training, timeout=20, what="the app's reaper to stop the run")
        assert store.claim(token, "again", hash_secret(VICTIM)).status == FOUND
    finally:
        store.stop_reaper()
        lab.stop()


def test_a_gone_sessions_tsne_waiting_for_a_slot_is_stopped() -> None:
    lab = Lab(loader=load_dataset)
    config = DataConfig(name="digits", train_size=300)
    lab.set_data(config, load_dataset(config))
    lab.train(replace(lab.train_config, epochs=1), wait=True)
    slots = JobSlots(1)
    assert slots.acquire(lambda: False)  # the server's slots are all busy
    task = lab.insight.get(lab.model, ("tsne",), lambda: SlotTask(lambda: "embedded", slots=slots).start())
    time.sleep(0.2)
    assert task.state == "waiting"
    stop_work(lab)
    wait_until(lambda: task.done, what="the waiting t-SNE to give up")
    assert task.state == "failed" and task.result is None and "Stopped" in task.error
    slots.release()
    assert slots.running == 0, "it never took the slot"


# --- the history database: which tab made a token -----------------------------------------------


def test_the_database_records_the_first_tab_of_a_token_for_as_long_as_its_runs(tmp_path) -> None:
    engine = shared_engine(f"sqlite:///{tmp_path / 'owners.sqlite3'}")
    token, mine, theirs = new_token(), hash_secret(VICTIM), hash_secret(STRANGER)
    record_owner(engine, token, mine)
    record_owner(engine, token, theirs)  # never handed to another tab
    assert made_by(engine, token, mine) and not made_by(engine, token, theirs)
    assert not made_by(engine, new_token(), mine)
    with transaction(engine) as db:
        moment = db.get(SessionOwnerRow, token).created
    record_owner(engine, new_token(), theirs, moment=moment + timedelta(days=8), retention=Retention(days=7))
    assert not made_by(engine, token, mine), "gone with the run history's retention"
    for token_, hash_ in (("../etc", mine), (new_token(), "short"), (new_token(), None)):
        with pytest.raises(ValueError):
            record_owner(engine, token_, hash_)


def test_a_lesson_link_opened_in_the_same_tab_keeps_its_lesson_progress(server: Server) -> None:
    """QA: a class handed one link per lesson saw "1 of 23 done" at every link: each link without s= opens a new
    session. A new session in a tab that has one carries its lesson progress (and nothing else); another tab, or
    the same computer's next person in a new tab, starts with none."""
    first = server.open({"lesson": "non-linearity"}, tab=VICTIM, as_session="victim", page="app_pages/lessons.py")
    here(first).lab.lessons_done = frozenset({"non-linearity"})  # passed (the check itself: test_lessons_page)
    server.rerun(first, "victim")
    second = server.open({"lesson": "hidden-units"}, tab=VICTIM, as_session="victim, next link",
                         page="app_pages/lessons.py")
    assert here(second).token != here(first).token, "a new session: the link's own settings"
    assert here(second).lab.lessons_done == {"non-linearity"}
    assert here(second).lab.model_config.hidden == (1,)  # the new lesson's start, not the first session's Lab
    stranger = server.open({"lesson": "hidden-units"}, tab=STRANGER, as_session="stranger",
                           page="app_pages/lessons.py")
    assert here(stranger).lab.lessons_done == frozenset()
