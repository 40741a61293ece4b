"""This browser session: its Lab, its store token, its link's classroom and its run history. The one place the
pages find their state: `st.session_state[SESSION]` holds a `Session`, and nothing else in session state holds
settings (widgets keep their own values under their page's prefix).

On a session's first run the URL decides what it starts with: a live session token (`s=`) finds its Lab in the
store (a second browser on the same token gets its own copy, under a new token); otherwise the link's settings
build a new Lab. Every run then writes the settings, the classroom and the token back (Streamlit clears the query
on a page change). A teacher's `hide=` and `lock=` are read here by the widgets (`shown`, `locked`); locked values
are put back to the link's after every run. Every run a Lab ends is handed to a background writer (the history).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app_pages.common.ui import literal, load_dataset
from core.config import DataConfig, Settings
from core.history.db import StorageError, shared_engine
from core.history.runs import Run, list_runs, move_runs
from core.history.store import FORKED, SessionStore, StoreError, approx_nbytes
from core.history.writer import EndedRun, RunWriter
from core.lab import Lab
from core.sweep.grid import MAX_VALUES
from core.training.jobs import RUN_THREADS
from core.url.state import (
    HIDE_PARAM,
    LOCK_PARAM,
    OWN_PARAMS,
    PAGES_PARAM,
    TOKEN_PARAM,
    Classroom,
    Decoded,
    apply_locks,
    decode,
    encode,
    preset_settings,
)
from core.url.text import is_token

SESSION = "session"  # st.session_state[SESSION]: this browser session's Session
WIDGET_PREFIXES = ("data.", "model.", "train.")  # the settings widgets' keys (each page's prefix)
NOTICE_TITLE = "Some of this link could not be used and was ignored:"
FORK_NOTE = "This link's session is open in another browser, so this is your own copy: changes here stay here."
MAX_PENDING = 8 + MAX_VALUES**2  # runs held before the first token: a first run's few, and a whole sweep's cells
WAIT_S = 3.0  # the Runs page waits this long for runs still being saved


@dataclass(eq=False)
class Session:
    """What one browser session holds across its page runs (the Lab itself is also kept in the store)."""

    lab: Lab
    token: str | None = None  # the store token, in the address bar as s=
    classroom: Classroom = field(default_factory=Classroom)  # what the link hid, locked and showed
    link: Settings | None = None  # the shared link's settings, for "Back to the link's setup"
    locked: Settings | None = None  # the URL's settings on arrival: locked values are always in it
    problems: tuple[str, ...] = ()  # for the notice: what the link held that could not be used
    gone: str | None = None  # why the token's Lab was not found (expired, evicted, unknown), or that it is a copy
    arrived: str | None = None  # the token the session arrived with, until its runs are adopted
    kept: tuple = ()  # what the store last measured: (model, result, data, ...) identities
    pending: list[EndedRun] = field(default_factory=list)  # runs that ended before the session had a token
    warned: bool = False  # the history's failure has been shown once
    generated: DataConfig | None = None  # the Data page: the last generated 2-D data, for "Start from …"
    synced: DataConfig | None = None  # the Data page: the lab's data the drawn draft last matched


def copy_lab(lab: Lab) -> Lab:
    """A deep copy for a fork: the shared dataset is not copied, a running job or sweep (threads, locks) is left
    out."""
    memo = {id(lab.data): lab.data, id(lab.job): None, id(lab.sweep): None}
    return copy.deepcopy(lab, memo)


def lab_nbytes(lab: Lab) -> int:
    """A Lab's bytes, not counting its dataset (cached and shared by every session that uses it)."""
    return approx_nbytes(lab, skip=(lab.data,) if lab.data is not None else ())


def _alive(session_id: str) -> bool:
    """Whether a browser session is still connected (without a server, as under AppTest: assume it is)."""
    try:
        return Runtime.instance().is_active_session(session_id)
    except RuntimeError:
        return True


@st.cache_resource
def session_store() -> SessionStore:
    """The one store of this server process; its limits come from NNLAB_STORE_MB and NNLAB_STORE_TTL_MIN."""
    return SessionStore.from_env(size_of=lab_nbytes, copier=copy_lab, is_owner_alive=_alive)


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
    if SESSION not in st.session_state:
        st.session_state[SESSION] = new_session()
    return st.session_state[SESSION]


def get_lab() -> Lab:
    """This browser session's Lab, with the runs it ended since the last page run handed to the history."""
    here = session()
    here.lab.on_run_end, here.lab.loader = keep, load_dataset  # also a Lab made elsewhere, or copied
    _flush(here)
    return here.lab


def _open(decoded: Decoded, problems: list[str]) -> Session:
    """The session: the token's Lab (or a fork of it), else a Lab built from the link's settings."""
    store, owner, gone = session_store(), _session_id(), None
    if decoded.token is not None:
        found = store.claim(decoded.token, owner)
        if found.found:
            return Session(found.value, token=found.token, gone=FORK_NOTE if found.status == FORKED else None)
        gone = found.message  # never adopt the old token: a fresh one is issued when the Lab is kept
    try:
        return new_session(decoded.settings, gone=gone)
    except ValueError as exc:
        problems.append(f"data={decoded.settings.data.name} cannot be used on this server: {exc}")
        return new_session(gone=gone)


def begin() -> Lab:
    """This session's Lab: opened from the URL on the first run; on every run, locked values put back and the
    URL written before the page runs."""
    if SESSION not in st.session_state:
        params = _query()
        decoded = decode(params)
        problems = list(decoded.problems)
        here = _open(decoded, problems)
        has_settings = here.token is None and any(key != TOKEN_PARAM for key in params)  # a reload is no link
        here.classroom, here.problems, here.locked = decoded.classroom, tuple(problems), decoded.settings
        here.link = decoded.settings if has_settings else None
        here.arrived = st.query_params.get(TOKEN_PARAM)  # before the URL gets this session's own token
        st.session_state[SESSION] = here
    here = session()
    enforce_locks(here)
    lab = get_lab()
    _keep(here)  # the token and the URL now, before the page, so the page can already use them
    _write_url(here)
    return lab


def end() -> None:
    """After the page: locks enforced, the lab kept in the store, and the URL rewritten if it differs."""
    here = session()
    enforce_locks(here)
    _keep(here)
    _write_url(here)


def _keep(here: Session) -> None:
    """Put the lab in the store when it is new there or has changed since it was last measured."""
    store, lab = session_store(), here.lab
    sweep = len(lab.sweep.progress().result.cells) if lab.sweep is not None else 0
    kept = (id(lab.model), id(lab.result), id(lab.data), id(lab.handwriting), id(lab.sweep), sweep)
    if here.token is not None and here.kept == kept and store.get(here.token).value is lab:
        return
    try:
        here.token = store.put(lab, here.token, owner=_session_id())
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
    """The hidden and locked controls and the pages this session's link asked for."""
    return session().classroom


def shown(name: str) -> bool:
    """False when the link hides the control `name` (a URL name such as "lr" or "auto")."""
    return name not in classroom().hide


def locked(name: str) -> bool:
    """True when the link locks the control `name`: draw it with disabled=True."""
    return name in classroom().lock


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
    run_writer().submit(here.token, ended)


def _adopt(here: Session) -> None:
    """A link whose session the server has forgotten (expired, evicted, restarted) keeps its run history:
    the old token's runs move to the new token. A live old token is another browser's: its runs stay there."""
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
        run_writer().submit(here.token, ended)
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
