"""The Board page's student side: the board's data for this session, submitting a run with a nickname, and this
session's own entries (each removable with the receipt kept here)."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from app_pages.board_panels import APPLIED, act, say, tab_owner
from app_pages.common.ui import percent
from core.history import board
from core.history.board import Board, BoardError
from core.history.db import StorageError
from core.lab import Lab
from core.url.state import decode

RECEIPTS = "board.receipts"  # board id -> [(entry id, removal token)]: this session's own entries


def _use_data(lab: Lab, shown: Board) -> None:
    try:
        lab.apply(decode(board.data_settings(shown.data)).settings, train="auto")
        st.session_state[APPLIED] = shown.id
    except ValueError as exc:
        say("error", f"The board's data cannot be loaded here: {exc}")


def use_board_data(lab: Lab, shown: Board) -> None:
    """Set the board's data for this session once, on arrival; later a button puts it back."""
    if lab.data_config is not None and board.data_settings(lab.data_config) == board.data_settings(shown.data):
        st.session_state[APPLIED] = shown.id
        return
    if st.session_state.get(APPLIED) != shown.id:
        _use_data(lab, shown)
        return
    st.info("Your data is not the board's: runs on other data cannot be submitted.", icon=":material/info:")
    st.button("Use the board's data", key="board.use_data", icon=":material/undo:", on_click=_use_data,
              args=(lab, shown))


def _submit(lab: Lab, db: Engine, board_id: str) -> None:
    try:
        receipt = board.submit(db, board_id, st.session_state.get("board.nickname", ""), tab_owner(),
                               board.run_from_lab(lab), address=st.context.ip_address)
    except (BoardError, StorageError) as exc:
        say("error", str(exc))
        return
    st.session_state.setdefault(RECEIPTS, {}).setdefault(board_id, []).append(receipt)
    say("success", "Submitted: your run is on the board.")


def submit_form(lab: Lab, db: Engine, shown: Board) -> None:
    """The student's current run, a nickname, and Submit."""
    try:
        run = board.run_from_lab(lab)
        st.markdown(f"**Your run**: validation {percent(run.validation_accuracy)}, "
                    f"test {percent(run.test_accuracy)}")
    except BoardError as exc:
        run = None
        st.info(str(exc), icon=":material/info:")
        st.page_link("app_pages/train.py", label="Go to the Train page", icon=":material/arrow_forward:")
    st.text_input("Nickname", max_chars=board.NICKNAME_CHARS, key="board.nickname",
                  placeholder="all the board shows of you")
    st.button("Submit my run", key="board.submit", icon=":material/send:", disabled=run is None or shown.closed,
              on_click=_submit, args=(lab, db, shown.id))


def own_entries(db: Engine, shown: Board) -> None:
    """This session's entries on the board, each with Remove."""
    mine = {r.entry_id: r for r in st.session_state.get(RECEIPTS, {}).get(shown.id, [])}
    if not mine:
        return
    try:
        ranked = board.entries(db, shown.id)
    except (BoardError, StorageError) as exc:
        st.error(str(exc), icon=":material/error:")
        return
    for entry in (e for e in ranked if e.id in mine):
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.text(f"Yours: #{entry.rank} {entry.nickname} · validation {percent(entry.validation_accuracy)}")
        right.button("Remove", key=f"board.withdraw.{entry.id}", on_click=act,
                     args=(board.withdraw, db, shown.id, entry.id, mine[entry.id].removal_token))
