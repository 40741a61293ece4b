"""This browser session: its Lab, its store token, its link's classroom and its run history. The one place the
pages find their state: `st.session_state[SESSION]` holds a `Session`, and nothing else in session state holds
settings (widgets keep their own values under their page's prefix).

A session belongs to its browser tab: nothing is opened until the tab has reported its secret (tab_secret.py,
one light run on arrival). Then the URL decides what the session starts with: a session token (`s=`) finds its
Lab in the store only for the tab that made it (a reload, Back or Forward); any other tab, browser or person gets
a new Lab from the link's settings, never a copy of another's work or its run history. A new session in a tab
that already has one (the next lesson's link opened there) carries its lesson progress alone. Every run then writes the
settings, the classroom and the token back (Streamlit clears the query on a page change), but never the session's
own points: the store keeps them for a reload, and an address that held them would hand them to anyone. The
store's reaper stops the work of a session whose browser has been gone for the grace period; "End my session"
forgets the session and the tab's secret at once. A teacher's `hide=` and `lock=` are read here by the widgets
(`shown`, `locked`); locked values are put back to the link's after every run. Every run a Lab ends is handed to a
background writer (the history).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app_pages.common import tab_secret
from app_pages.common.session_store import session_store, stop_work
from app_pages.common.ui import literal, load_dataset
from core.config import DataConfig, Settings
from core.history.db import StorageError, shared_engine
from core.history.owners import made_by, record_owner
from core.history.runs import Run, list_runs, move_runs
from core.history.store import FORKED, UNKNOWN, StoreError
from core.history.writer import EndedRun, RunWriter
from core.lab import Lab
from core.sweep.grid import MAX_VALUES
from core.training.jobs import RUN_THREADS
from core.url.points import points_param
from core.url.state import (
    HIDE_PARAM,
    LOCK_PARAM,
    OWN_PARAMS,
    PAGES_PARAM,
    TOKEN_PARAM,
    Classroom,
    Decoded,
    Locks,
    apply_locks,
    decode,
    encode,
    preset_settings,
)
from core.url.text import is_token

SESSION = "session"  # st.session_state[SESSION]: this browser session's Session
WIDGET_PREFIXES = ("data.", "model.", "train.")  # the settings widgets' keys (each page's prefix)
NOTICE_TITLE = "Some of this link could not be used and was ignored:"
FORK_NOTE = "This session is open in another tab of this browser too, so this is your own copy: changes here stay here."
RESTARTED_NOTE = ("Your session is not known to the server: this server restarted, or your browser was moved to "
                  "another one, so the model you trained is gone. Your run history is kept: it is on the Runs page.")
POINTS_GONE = ("The points drawn or imported in it were kept only with it, never in the address bar, so this starts "
               "from the circles: draw or import points again on the Data page (its Export as CSV keeps a copy).")
ENDED = "session.ended"  # set by "End my session" for the fresh session's first run, which says so once
ENDED_NOTE = "Session ended: its work was stopped and cleared from this server. This is a fresh start."
MAX_PENDING = 8 + MAX_VALUES**2  # runs held before the first token: a first run's few, and a whole sweep's cells
WAIT_S = 3.0  # the Runs page waits this long for runs still being saved


@dataclass(eq=False)
class Session:
    """What one browser session holds across its page runs (the Lab itself is also kept in the store)."""

    lab: Lab
    token: str | None = None  # the store token, in the address bar as s=
    owner: str | None = None  # the sha256 of this browser tab's secret: the store gives the Lab to it alone
    classroom: Classroom = field(default_factory=Classroom)  # what the link hid, locked and showed
    link: Settings | None = None  # the shared link's settings, for "Back to the link's setup"
    locked: Settings | None = None  # the URL's settings on arrival: locked values are always in it
    problems: tuple[str, ...] = ()  # for the notice: what the link held that could not be used
    gone: str | None = None  # why the token's Lab was not found (expired, evicted, unknown), or that it is a copy
    arrived: str | None = None  # this tab's own forgotten token it arrived with, until its runs are adopted
    kept: tuple = ()  # what the store last measured: (model, result, data, ...) identities
    pending: list[EndedRun] = field(default_factory=list)  # runs that ended before the session had a token
    warned: bool = False  # the history's failure has been shown once
    recorded: str | None = None  # the token whose tab was last recorded in the history database (see _submit)
    generated: DataConfig | None = None  # the Data page: the last generated 2-D data, for "Start from …"
    synced: DataConfig | None = None  # the Data page: the lab's data the drawn draft last matched


@st.cache_resource
def run_writer() -> RunWriter:
    """The server's one background writer (retention and database from the environment at each save)."""
    return RunWriter(shared_engine)


def _session_id() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def _query() -> dict[str, list[str]]:
    """The URL's parameters, every value of a repeated name kept (so decode can say it was repeated)."""
    params = st.query_params
    return {key: params.get_all(key) for key in params}  # Streamlit leaves out its own (embed)


def new_session(settings: Settings | None = None, **fields) -> Session:
    """A new session's Lab with `settings` (by default circles), trained at once when the data is 2-D; its first
    run is held for the history until the session has a token."""
    held: list[EndedRun] = []
    lab = Lab(threads=RUN_THREADS, on_run_end=held.append, loader=load_dataset)  # runs capped: the cores are shared
    lab.apply(settings or preset_settings("circles"), train="auto")
    lab.on_run_end = keep
    return Session(lab, pending=held, **fields)


# --- the session's first run and every run after it -----------------------------------------


def session() -> Session:
    """This browser session's Session (made by `begin` on its first run)."""
    here = st.session_state.get(SESSION)  # one look-up: a page run asks ~60 times, each ~10 us through Streamlit
    if here is None:
        here = st.session_state[SESSION] = new_session()
    return here


def get_lab() -> Lab:
    """This browser session's Lab, with the runs it ended since the last page run handed to the history."""
    here = session()
    here.lab.on_run_end, here.lab.loader = keep, load_dataset  # also a Lab made elsewhere, or copied
    _flush(here)
    return here.lab


def _open(decoded: Decoded, problems: list[str], owner: str) -> Session:
    """The session: the token's Lab if it is this tab's (or a copy, if the tab is open twice), else a Lab built
    from the link's settings (whoever made the token: another tab gets nothing of it)."""
    gone = arrived = None
    if decoded.token is not None:
        found = session_store().claim(decoded.token, _session_id(), owner)
        if found.found:
            return Session(found.value, token=found.token, owner=owner,
                           gone=FORK_NOTE if found.status == FORKED else None)
        gone = found.message  # the old token is never reused: a fresh one is issued when the Lab is kept
        mine = found.mine or (found.status == UNKNOWN and _made_here(decoded.token, owner))
        arrived = decoded.token if mine else None  # this tab's own forgotten session: its history follows
        gone = RESTARTED_NOTE if mine and found.status == UNKNOWN else gone  # not this server's: it restarted
        gone = f"{gone} {POINTS_GONE}" if decoded.without_points else gone  # said, not silently other data
    try:
        here = new_session(decoded.settings, gone=gone, owner=owner, arrived=arrived)
    except ValueError as exc:
        problems.append(f"data={decoded.settings.data.name} cannot be used on this server: {exc}")
        here = new_session(gone=gone, owner=owner, arrived=arrived)
    earlier = session_store().newest_of(owner)  # the same tab's session (one link per lesson): its progress
    if isinstance(earlier, Lab):
        here.lab.lessons_done = earlier.lessons_done
    return here


def _train_images(config: DataConfig) -> int | None:
    """How many training images `config`'s data has before any subset (None where it cannot be loaded here), so
    that a link's subset is limited to those there are: the same cached load the Data page counts them with."""
    try:
        return len(load_dataset(replace(config, train_size=None, label_noise=0.0)).y_train)
    except ValueError:
        return None


def _made_here(token: str, owner: str) -> bool:
    """Whether the history database records this tab as the maker of `token` (from before a restart, or from
    another server); False when it cannot be read."""
    try:
        return made_by(shared_engine(), token, owner)
    except StorageError:
        return False


def begin() -> Lab | None:
    """This session's Lab: opened from the URL on the first run once the tab has said who it is (None before:
    the caller ends the run); on every run, locked values put back and the URL written before the page runs."""
    secret = tab_secret.secret()
    if secret is None:
        return None
    if SESSION not in st.session_state:
        params = _query()
        decoded = decode(params, train_images=_train_images)
        problems = list(decoded.problems)
        here = _open(decoded, problems, tab_secret.hash_secret(secret))
        if decoded.without_points and here.token is not None:  # found: the address's points are the Lab's
            decoded = decode(params | {key: [value] for key, value in points_param(here.lab.data_config).items()},
                             train_images=_train_images)
            problems = list(decoded.problems)  # a link lock=data then locks the points, not the circles
        # a reload is no link, nor one with only a page's own parameters (?lesson=, ?board=)
        has_settings = here.token is None and any(key not in (TOKEN_PARAM, *OWN_PARAMS) for key in params)
        here.classroom, here.problems, here.locked = decoded.classroom, tuple(problems), decoded.settings
        here.link = decoded.settings if has_settings else None
        st.session_state[SESSION] = here
        if st.session_state.pop(ENDED, False):  # the first run after "End my session": say what it did
            st.toast(ENDED_NOTE, icon=":material/logout:")
    here = session()
    if here.owner is None:  # a Session made before its tab reported (a test's prepared Lab) belongs to this tab
        here.owner = tab_secret.hash_secret(secret)
    enforce_locks(here)
    lab = get_lab()
    _keep(here, weigh=False)  # the token and the URL now, before the page, so the page can already use them
    _write_url(here)
    return lab


def end() -> None:
    """After the page: locks enforced, the lab kept in the store, and the URL rewritten if it differs."""
    here = session()
    enforce_locks(here)
    _keep(here)
    _write_url(here)


def _keep(here: Session, *, weigh: bool = True) -> None:
    """Put the lab in the store when it is not held there, or (`weigh`) has changed since it was last weighed.
    Before the page (`weigh` False) a lab already held is not weighed again: a widget's callback may have changed
    it (a slider move drops the model), and the page changes it again (it trains), so the end weighs it once."""
    store, lab = session_store(), here.lab
    sweep = len(lab.sweep.progress().result.cells) if lab.sweep is not None else 0
    kept = (id(lab.model), id(lab.result), id(lab.data), id(lab.handwriting), id(lab.pad), id(lab.sweep), sweep)
    held = here.token is not None and store.get(here.token).value is lab
    if held and (here.kept == kept or not weigh):
        return
    try:
        here.token = store.put(lab, here.token, owner=_session_id(), secret_hash=here.owner)
        here.kept = kept
    except StoreError as exc:  # larger than the whole cap: works now, but not kept across a reload
        here.token, here.gone = None, str(exc)
    _flush(here)


def _write_url(here: Session) -> None:
    """The lab's settings, the classroom and the token in the address bar (a message only when they differ)."""
    room, token, settings = here.classroom, here.token, here.lab.settings
    if settings is not None:
        params = encode(settings, classroom=room, token=token)
    else:
        extras = {HIDE_PARAM: ",".join(room.hide), LOCK_PARAM: ",".join(room.lock),
                  PAGES_PARAM: ",".join(room.pages), TOKEN_PARAM: token or ""}
        params = {key: value for key, value in extras.items() if value}
    params.update({key: st.query_params[key] for key in OWN_PARAMS if key in st.query_params})  # e.g. board=
    if st.query_params.to_dict() != params or any(len(st.query_params.get_all(key)) > 1 for key in params):
        st.query_params.from_dict(params)


# --- a teacher's classroom ------------------------------------------------------------------------


def classroom() -> Classroom:
    """The hidden and locked controls and the pages this session's link asked for (the link's own while the tab
    has not reported yet, and no session is open)."""
    here = st.session_state.get(SESSION)  # asked by every control drawn (shown, locked): one look-up, not three
    return decode(_query()).classroom if here is None else here.classroom


def shown(name: str) -> bool:
    """False when the link hides the control `name` (a URL name such as "lr" or "auto")."""
    return name not in classroom().hide


def locked(name: str) -> bool:
    """True when the link locks the control `name`: draw it with disabled=True."""
    return name in classroom().lock


def link_locks() -> Locks | None:
    """The link's settings and the controls it locks, for what must not change (the coach's fixes); None if none."""
    here = session()
    return (here.locked, here.classroom.lock) if here.classroom.lock and here.locked is not None else None


def use_classroom(room: Classroom, settings: Settings | None = None) -> None:
    """Hide and lock the controls `room` names (a lesson's, from the Lessons page), their locked values those of
    `settings`; the empty Classroom() shows and frees them all again. The pages the link shows stay as they were."""
    here = session()
    here.classroom = Classroom(room.hide, room.lock, here.classroom.pages)
    here.locked = settings if settings is not None else here.locked


def enforce_locks(here: Session) -> None:
    """Put every locked setting back to the link's value (a new dataset or model kind can move them)."""
    now = here.lab.settings
    if not here.classroom.lock or here.locked is None or now is None:
        return
    fixed = apply_locks(now, here.locked, here.classroom.lock)
    if fixed != now:
        try:
            here.lab.apply(fixed, train="auto" if fixed.data != now.data else "never")
        except ValueError:  # the locked data cannot be loaded here (the notice said so on arrival)
            pass


def forget_widgets() -> None:
    """Drop the settings widgets' state, so they start again from the lab's settings."""
    for key in [k for k in st.session_state if str(k).startswith(WIDGET_PREFIXES)]:
        del st.session_state[key]


def back_to_link() -> None:
    """The link's settings again, for a student who has wandered off (a button's callback)."""
    here = session()
    forget_widgets()
    try:
        here.lab.apply(here.link, train="auto")
    except ValueError as exc:
        here.problems = (f"The link's setup cannot be loaded: {exc}",)


def end_session() -> None:
    """"End my session" (a button's callback, for a shared computer): this session's work stopped, its store
    entry dropped, this tab's secret replaced, and a fresh default session on the next run."""
    here = st.session_state.get(SESSION)
    if here is not None:
        stop_work(here.lab)
        if here.token is not None and here.owner is not None:
            session_store().drop(here.token, here.owner)
    tab_secret.forget()
    for key in [k for k in st.session_state if k not in tab_secret.KEEP]:
        del st.session_state[key]
    st.query_params.clear()
    st.session_state[ENDED] = True  # the fresh session's first run says so: the page alone changes silently


def _retrain() -> None:
    here = session()
    here.lab.train()
    here.gone = None


def _dismiss() -> None:
    here = session()
    here.problems, here.gone = (), None


def notice() -> None:
    """A small notice: why the session's model is gone, and what the link held that was ignored."""
    here = session()
    if not here.gone and not here.problems:
        return
    lab = here.lab
    with st.container(border=True, key="session_notice"):
        if here.gone:
            st.markdown(literal(here.gone))
            if lab.model is None and lab.data is not None and not lab.training:
                st.button("Retrain with the same settings", key="session.retrain", on_click=_retrain,
                          icon=":material/replay:")
        if here.problems:  # one caption, a line each: plain text (every Markdown character escaped)
            st.caption("  \n".join([NOTICE_TITLE, *(f"· {literal(line)}" for line in here.problems)]))
        st.button("Dismiss", key="session.dismiss", on_click=_dismiss, type="tertiary")


# --- the run history ----------------------------------------------------------------------------


def keep(ended: EndedRun) -> None:
    """Save `ended` under this session's token, off the page's thread (held until the session has a token)."""
    if get_script_run_ctx() is None or SESSION not in st.session_state:  # not in a page run: no session
        return
    here = session()
    if here.token is None:
        here.pending = [*here.pending[1 - MAX_PENDING:], ended]
        return
    _submit(here, ended)


def _submit(here: Session, ended: EndedRun) -> None:
    """Hand `ended` to the history writer under the session's token; before a token's first run, the database
    records which tab made the token (once: a database that fails is not asked again for it)."""
    if here.recorded != here.token and here.owner is not None:
        here.recorded = here.token
        try:
            record_owner(shared_engine(), here.token, here.owner)
        except StorageError:
            pass  # the history is unreachable: the toast says so when the run is saved
    run_writer().submit(here.token, ended)


def _adopt(here: Session) -> None:
    """This tab's own session that the server has forgotten (expired, evicted) keeps its run history: the old
    token's runs move to the new token. Another tab's token never gets here (`arrived` is only set for the tab's
    own)."""
    old, here.arrived = here.arrived, None
    if is_token(old) and old != here.token and old not in session_store():
        try:
            move_runs(shared_engine(), old, here.token)
        except StorageError:
            pass  # the history is unreachable: the toast below says so when a run is saved


def _flush(here: Session) -> None:
    """Save the runs held back for a token and the sweep's finished cells; say once (a small toast) when the
    history cannot be saved."""
    if here.lab.sweep is not None:
        for ended in here.lab.sweep.take_ended():
            keep(ended)
    if here.token is None:
        return
    if here.arrived:
        _adopt(here)
    pending, here.pending = here.pending, []
    for ended in pending:
        _submit(here, ended)
    error = run_writer().error(here.token)
    if error and not here.warned:
        here.warned = True
        st.toast(f"Run history is off: {error} Training goes on as before.", icon=":material/warning:")


def keep_sweep_runs() -> None:
    """Hand the sweep's cells finished since the last page run (and runs held back) to the history now."""
    _flush(session())


def session_runs() -> list[Run] | None:
    """This session's saved runs, newest first (waiting a moment for those still being saved); None on error."""
    here = session()
    _flush(here)
    if here.token is None:
        return []
    run_writer().wait(WAIT_S)
    try:
        return list_runs(shared_engine(), here.token)
    except StorageError as exc:
        st.warning(f"The run history cannot be read: {exc}", icon=":material/warning:")
        return None
