"""The Board page's parts: reading its link, the teacher's links and controls (the live table and the Remove list:
app_pages.board_table; a student's submitting: app_pages.board_student).

Nicknames are shown only as plain text (st.dataframe cells, st.text, select-box options, the projector's table with
every HTML character escaped), never as Markdown;
the teacher's board name goes through ui.literal (every markup character escaped). A teacher link's key leaves
the address bar on arrival and works once: it is exchanged for this browser tab (core.history.board_keys), which
is the teacher from then on, across reloads; the same key opened again is refused, and so is any key older than
the newest. A new teacher link is shown once, in its own dialog, never beside the projected QR code.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import streamlit as st
from sqlalchemy import Engine

from app_pages.common import tab_secret
from app_pages.common.share import public_url, qr_png
from app_pages.common.ui import end_page
from core.history import board, board_keys
from core.history.board import Board, BoardError
from core.history.db import StorageError, shared_engine
from core.lab import Lab
from core.url.state import BOARD_PARAM, KEY_PARAM, PAGE_NAMES, PRESENT_PARAM, to_query

PENDING_KEY = "board.pending_key"  # (board id, key) from a teacher link, until the page exchanges it
NEW_LINK = "board.link_to_show"  # a teacher link just made, to show once in its dialog
APPLIED = "board.applied"  # the board whose data was last set for this session
MESSAGE = "board.message"  # (kind, text): what the last button did, shown once
LOST = ("This tab is no longer the board's teacher: a teacher link was opened in another tab or browser. If that "
        "was not you, ask whoever runs NN Lab for a new teacher link (python -m core board teacher-link).")
MAX_KEY_CHARS = 64


def engine() -> Engine:
    """The server's database, or a stop with what to check."""
    try:
        return shared_engine()
    except StorageError as exc:
        st.error(f"The board cannot be opened: {exc}", icon=":material/error:")
        end_page()


def arrival(lab: Lab) -> tuple[str | None, bool]:
    """The board this session looks at and whether it is the present view; a hostile link gets a plain notice.

    The board id is kept on the lab (so a reload on any page finds the board again); a teacher key only until
    the page exchanges it (`teacher_token`), never in the address bar or the server-side store.
    """
    params = st.query_params
    raw, present = params.get(BOARD_PARAM), params.get(PRESENT_PARAM)
    if raw is not None and board.is_board_id(raw):
        lab.board_id = raw
    elif raw is not None:
        st.warning("This link's board id is not valid: ask for the link again.", icon=":material/link_off:")
        del st.query_params[BOARD_PARAM]
    board_id = lab.board_id
    if KEY_PARAM in params:  # out of the address bar, exchanged (or refused) by the board's page
        key = params.get(KEY_PARAM) or ""
        if board_id is not None and key:
            st.session_state[PENDING_KEY] = (board_id, key[:MAX_KEY_CHARS])
        del st.query_params[KEY_PARAM]
    if present is not None and present != "1":
        st.warning("present= takes 1 (the projector view); showing the usual board.", icon=":material/info:")
        del st.query_params[PRESENT_PARAM]
    if board_id is not None and params.get(BOARD_PARAM) != board_id:
        st.query_params[BOARD_PARAM] = board_id  # kept in the URL (and across a reload) with the settings
    return board_id, present == "1"


def teacher_token(lab: Lab, db: Engine, board_id: str) -> str | None:
    """This tab's teacher token for the board (a key from its link exchanged first), or None: a student.

    The board it was last the teacher of is kept on the lab, so that a tab reloaded after another tab took the
    role is still told so (LOST).
    """
    secret, pending = tab_secret.current(), st.session_state.pop(PENDING_KEY, None)
    if secret is None:
        return None
    try:
        teacher = board_keys.is_teacher_tab(db, board_id, secret)
        if not teacher and pending is not None and pending[0] == board_id:
            board_keys.claim_key(db, board_id, pending[1], secret)
            teacher = True
            say("success", "This browser tab is now the board's teacher. Before closing it, make a new teacher "
                            "link (Teacher: links) if you will need the teacher view elsewhere.")
    except (BoardError, StorageError) as exc:
        say("warning", str(exc))
        return None
    was, lab.teacher_of = lab.teacher_of, board_id if teacher else None
    if not teacher and was == board_id:
        say("warning", LOST)
    return board_keys.tab_token(board_id, secret) if teacher else None


def board_link(page_url: str, board_id: str, *, key: str | None = None, present: bool = False) -> str:
    """The Board page's link: the students' (board id only), the projector's, or the teacher's (with the key)."""
    parts = urlsplit(page_url)
    head, _, last = parts.path.rstrip("/").rpartition("/")
    path = (head if last in PAGE_NAMES else parts.path.rstrip("/")) + "/board"
    params = {BOARD_PARAM: board_id} | ({PRESENT_PARAM: "1"} if present else {}) | ({KEY_PARAM: key} if key else {})
    return urlunsplit(parts._replace(path=path, query=to_query(params), fragment=""))


def page_url() -> str:
    """This page's address as students should get it (NNLAB_PUBLIC_URL when set; see common.share)."""
    return public_url(st.context.url or "http://localhost:8501/")[0]


def say(kind: str, text: str) -> None:
    """A message for the next run of the page (buttons act in callbacks, before the page is drawn)."""
    st.session_state[MESSAGE] = (kind, text)


def messages() -> None:
    """Show, once, what the last button did."""
    kind, text = st.session_state.pop(MESSAGE, (None, ""))
    if kind == "error":
        st.error(text, icon=":material/error:")
    elif kind == "warning":
        st.warning(text, icon=":material/key_off:")
    elif kind == "success":
        st.success(text, icon=":material/check:")


def _start(lab: Lab, db: Engine) -> None:
    """Create the board, make this tab its teacher at once, and make the teacher link to show once."""
    secret = tab_secret.current() or ""
    try:
        board_id, key = board.create_board(db, st.session_state.get("board.name", ""), lab.data_config,
                                           owner=tab_owner(), address=st.context.ip_address)
        board_keys.claim_key(db, board_id, key, secret)
        link = board_link(page_url(), board_id, key=board_keys.new_key(db, board_id, secret))
    except (BoardError, StorageError) as exc:
        say("error", str(exc))
        return
    lab.board_id = board_id
    st.session_state.update({NEW_LINK: link, APPLIED: board_id})
    st.query_params[BOARD_PARAM] = board_id


def _new_link(db: Engine, board_id: str) -> None:
    try:
        key = board_keys.new_key(db, board_id, tab_secret.current() or "")
    except (BoardError, StorageError) as exc:
        say("error", str(exc))
        return
    st.session_state[NEW_LINK] = board_link(page_url(), board_id, key=key)


@st.dialog("Your teacher link", width="large")
def _link_dialog(link: str) -> None:
    st.warning("Keep it now (bookmark it, or copy it with the button at the top right of the box): it is shown "
               "only this once. It works once: the browser tab that opens it becomes the board's teacher, and "
               "this one stops being it. Every earlier teacher link no longer works; lost this one? Make another "
               "here while this tab is the teacher. Students must never see it.", icon=":material/key:")
    st.code(link, language=None, wrap_lines=True)
    if st.button("I have kept it", key="board.kept"):
        st.rerun()


def new_link_dialog() -> None:
    """A teacher link just made, shown once in its own dialog (away from the projected QR code)."""
    link = st.session_state.pop(NEW_LINK, None)
    if link is not None:
        _link_dialog(link)


def start_form(lab: Lab, db: Engine) -> None:
    """A teacher names a board; the current data's settings become its fixed data."""
    if lab.data_config is None:
        st.info("Pick a dataset on the Data page first: it becomes the board's data.", icon=":material/info:")
        return
    data = lab.require_data()  # in words, with its split (a link's key=value list named settings circles lack)
    st.caption(f"Students will train on this data: {data.source} {len(data.y_train):,} train · "
               f"{len(data.y_val):,} validation · {len(data.y_test):,} test.")
    st.text_input("Board name", max_chars=board.BOARD_NAME_CHARS, placeholder="Period 3: circles", key="board.name")
    st.button("Start a board", key="board.start", icon=":material/leaderboard:", type="primary", on_click=_start,
              args=(lab, db))


def links_panel(db: Engine, shown: Board) -> None:
    """The student link and its QR code, the projector's link, and a button for a new teacher link."""
    student = board_link(page_url(), shown.id)
    unreachable = public_url(st.context.url)[1] if st.context.url else None  # unknown address: nothing to say
    if unreachable:
        st.warning(unreachable, icon=":material/wifi_off:")
    left, right = st.columns([2, 1], vertical_alignment="center")
    left.markdown("**Student link** (project it, or the QR code):")
    left.code(student, language=None, wrap_lines=True)
    left.markdown("**Projector view** (no controls):")
    left.code(board_link(page_url(), shown.id, present=True), language=None, wrap_lines=True)
    right.image(qr_png(student), caption="Scan to join the board", width="stretch")  # 240 px stuck out
    left.button("New teacher link", key="board.new_link", icon=":material/key:", on_click=_new_link,
                args=(db, shown.id), help="A link that makes the browser tab opening it this board's teacher, "
                                          "once: for another computer, or to come back after closing this tab. "
                                          "It revokes every earlier teacher link.")


def act(action: Callable[..., None], *args: object) -> None:
    """Run a board action from a button; its refusal becomes the page's error message."""
    try:
        action(*args)
    except (BoardError, StorageError) as exc:
        say("error", str(exc))


def close_button(db: Engine, shown: Board, key: str) -> None:
    """Close the board (the teacher's)."""
    if not shown.closed:
        st.button("Close the board", key="board.close", icon=":material/lock:", on_click=act,
                  args=(board.close_board, db, shown.id, key), help="It stays visible and takes no more runs.")


def tab_owner() -> str:
    """Who submits or starts a board, for the board's limits: this tab (its secret's hash), opaque."""
    return tab_secret.owner_hash() or ""


def forget(lab: Lab) -> None:
    """Leave a board that cannot be opened (a button's callback)."""
    lab.board_id = None
    st.query_params.pop(BOARD_PARAM, None)
