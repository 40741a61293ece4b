"""The address bar and the server-side store: settings mirrored in the URL, the Lab kept across reloads.

On a session's first run the URL decides what it starts with: a live session token (`s=`) finds its Lab
in the store (a second browser on the same token gets its own copy, under a new token); otherwise the
link's settings build a new Lab. Every run then writes the settings, the classroom and the token back
(Streamlit clears the query on a page change). A teacher's `hide=` and `lock=` are read here by the
widgets (`shown`, `locked`); locked values are put back to the link's after every run.
"""

from __future__ import annotations

import copy

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.lab import Lab
from core.store import FORKED, SessionStore, StoreError, approx_nbytes
from core.urlstate import (
    HIDE_PARAM,
    LOCK_PARAM,
    OWN_PARAMS,
    PAGES_PARAM,
    TOKEN_PARAM,
    Classroom,
    Decoded,
    Settings,
    apply_locks,
    decode,
    encode,
)
from pages.common.state import AUTO_TRAIN_KEY, LAB, get_lab, new_lab, use_settings
from pages.common.ui import literal

TOKEN = "urlsync.token"  # this session's store token
ROOM = "urlsync.classroom"  # the Classroom the session's link asked for
LINK = "urlsync.link"  # the shared link's Settings, for "Back to the link's setup"; None without one
LOCKED = "urlsync.locked"  # the URL's Settings on arrival: locked values are always in it, a reload included
PROBLEMS = "urlsync.problems"  # lines for the notice: what the link held that could not be used
GONE = "urlsync.gone"  # why the token's Lab was not found (expired, evicted, unknown), or that it is a copy
KEPT = "urlsync.kept"  # what the store last measured: (model, result, data, ...) identities
ARRIVED = "urlsync.arrived"  # the token in the link the session arrived with (for the run history; then None)
WIDGET_PREFIXES = ("data.", "model.", "train.")  # the settings widgets' keys (each page's prefix)
NOTICE_TITLE = "Some of this link could not be used and was ignored:"
FORK_NOTE = "This link's session is open in another browser, so this is your own copy: changes here stay here."


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


def _session_id() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def _query() -> dict[str, list[str]]:
    """The URL's parameters, every value of a repeated name kept (so decode can say it was repeated)."""
    params = st.query_params
    return {key: params.get_all(key) for key in params}  # Streamlit leaves out its own (embed)


# --- the session's first run ----------------------------------------------------------------


def _lab_from(settings: Settings, problems: list[str]) -> Lab:
    """A new Lab with the link's settings; the default one (and a problem line) when they cannot be used."""
    try:
        return new_lab(settings)
    except ValueError as exc:
        problems.append(f"data={settings.data.name} cannot be used on this server: {exc}")
        return new_lab()


def _open(decoded: Decoded, problems: list[str]) -> tuple[Lab, str | None]:
    """The Lab for this session: the token's (or a fork of it), else one built from the link's settings."""
    store, owner = session_store(), _session_id()
    if decoded.token is not None:
        found = store.claim(decoded.token, owner)
        if found.found:
            if found.status == FORKED:
                st.session_state[GONE] = FORK_NOTE
            lab = found.value  # its model is this setup's: the Train page must not auto-train it away
            st.session_state[AUTO_TRAIN_KEY] = (lab.data_config, lab.model_config, lab.train_config)
            return lab, found.token
        st.session_state[GONE] = found.message  # never adopt the old token: a fresh one is issued below
    return _lab_from(decoded.settings, problems), None


def begin() -> Lab:
    """This session's Lab: opened from the URL on the first run; on every run, locked values put back and the
    URL written before the page runs."""
    if LAB in st.session_state:
        enforce_locks(st.session_state[LAB])
        lab = get_lab()
        _write_url(lab)  # also before the page: a page change clears the query
        return lab
    params = _query()
    st.session_state.setdefault(ARRIVED, st.query_params.get(TOKEN_PARAM))  # before the URL gets this session's
    decoded = decode(params)
    problems = list(decoded.problems)
    lab, token = _open(decoded, problems)
    has_settings = token is None and any(key != TOKEN_PARAM for key in params)  # a reload is no shared link
    st.session_state.update({LAB: lab, ROOM: decoded.classroom, PROBLEMS: tuple(problems), LOCKED: decoded.settings,
                             LINK: decoded.settings if has_settings else None})
    if token is not None:
        st.session_state[TOKEN] = token
    enforce_locks(lab)
    _keep(lab)  # the token and the URL now, before the page, so the page can already use them
    _write_url(lab)
    return lab


# --- every run's end --------------------------------------------------------------------------


def current_settings(lab: Lab) -> Settings | None:
    """The lab's data, model and training settings (None while one is missing, e.g. after a model upload)."""
    if lab.data_config is None or lab.model_config is None or lab.train_config is None:
        return None
    return Settings(lab.data_config, lab.model_config, lab.train_config)


def _keep(lab: Lab) -> None:
    """Put the lab in the store when it is new there or has changed since it was last measured."""
    store, token = session_store(), st.session_state.get(TOKEN)
    sweep = len(lab.sweep.progress().result.cells) if lab.sweep is not None else 0
    kept = (id(lab.model), id(lab.result), id(lab.data), id(lab.handwriting), id(lab.sweep), sweep)
    if token is not None and st.session_state.get(KEPT) == kept and store.get(token).value is lab:
        return
    try:
        st.session_state[TOKEN] = store.put(lab, token, owner=_session_id())
        st.session_state[KEPT] = kept
    except StoreError as exc:  # larger than the whole cap: works now, but not kept across a reload
        st.session_state.pop(TOKEN, None)
        st.session_state[GONE] = str(exc)


def end(lab: Lab) -> None:
    """After the page: locks enforced, the lab kept in the store, and the URL rewritten if it differs."""
    enforce_locks(lab)
    _keep(lab)
    _write_url(lab)


def _write_url(lab: Lab) -> None:
    """The lab's settings, the classroom and the token in the address bar (a message only when they differ)."""
    room, token, settings = classroom(), st.session_state.get(TOKEN), current_settings(lab)
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
    return st.session_state.get(ROOM, Classroom())


def shown(name: str) -> bool:
    """False when the link hides the control `name` (a URL name such as "lr" or "auto")."""
    return name not in classroom().hide


def locked(name: str) -> bool:
    """True when the link locks the control `name`: draw it with disabled=True."""
    return name in classroom().lock


def link_settings() -> Settings | None:
    """The settings of the link this session was opened with, if it held any."""
    return st.session_state.get(LINK)


def enforce_locks(lab: Lab) -> None:
    """Put every locked setting back to the link's value (a new dataset or model kind can move them)."""
    room, link, now = classroom(), st.session_state.get(LOCKED), current_settings(lab)
    if not room.lock or link is None or now is None:
        return
    fixed = apply_locks(now, link, room.lock)
    if fixed == now:
        return
    if fixed.data != now.data:
        try:
            use_settings(lab, fixed)
        except ValueError:  # the locked data cannot be loaded here (the notice said so on arrival)
            pass
        return
    if fixed.model != now.model:
        lab.set_model_config(fixed.model)
    lab.set_train_config(fixed.train)


def forget_widgets() -> None:
    """Drop the settings widgets' state, so they start again from the lab's settings."""
    for key in [k for k in st.session_state if str(k).startswith(WIDGET_PREFIXES)]:
        del st.session_state[key]


def back_to_link(lab: Lab) -> None:
    """The link's settings again, for a student who has wandered off (a button's callback)."""
    forget_widgets()
    try:
        use_settings(lab, link_settings())
    except ValueError as exc:
        st.session_state[PROBLEMS] = (f"The link's setup cannot be loaded: {exc}",)


def _retrain(lab: Lab) -> None:
    lab.train(lab.train_config)
    st.session_state.pop(GONE, None)


def _dismiss() -> None:
    st.session_state.pop(PROBLEMS, None)
    st.session_state.pop(GONE, None)


def notice(lab: Lab) -> None:
    """A small notice: why the session's model is gone, and what the link held that was ignored."""
    gone, lines = st.session_state.get(GONE), st.session_state.get(PROBLEMS, ())
    if not gone and not lines:
        return
    with st.container(border=True, key="urlsync_notice"):
        if gone:
            st.markdown(literal(gone))
            if lab.model is None and lab.data is not None and not lab.training:
                st.button("Retrain with the same settings", key="urlsync.retrain", on_click=_retrain, args=(lab,),
                          icon=":material/replay:")
        if lines:  # one caption, a line each: plain text (every Markdown character escaped)
            st.caption("  \n".join([NOTICE_TITLE, *(f"· {literal(line)}" for line in lines)]))
        st.button("Dismiss", key="urlsync.dismiss", on_click=_dismiss, type="tertiary")
