"""The Board page's ranking: the live table (refreshed every REFRESH_S), the projector's large rows, and the
teacher's Remove list, refreshed with the table (an open list stays open while its entries do not change).

Nicknames are plain text: st.dataframe cells, select-box options, and in the projector's HTML table every HTML
character escaped.
"""

from __future__ import annotations

from html import escape

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from app_pages.board_panels import act, messages
from app_pages.common import tab_secret
from core.history import board, board_keys
from core.history.board import BoardError
from core.history.db import StorageError

REFRESH_S = 2.0
WRAP_ROW = 66  # px: st.dataframe wraps a cell's text only in rows taller than 4rem
ONE_LINE = {"Nickname": 19, "Setup": 22}  # characters a column shows on one line at 1024 px (the widths below)


def _remove(db: Engine, board_id: str, key: str) -> None:
    if st.session_state.get("board.remove_choice") is not None:
        board.remove_entry(db, board_id, st.session_state["board.remove_choice"], key)
        st.session_state["board.remove_choice"] = None


def _choices(ranked: list[board.Entry]) -> dict[int, str]:
    """The Remove list's options: entry id -> what it shows (plain text)."""
    return {e.id: f"#{e.rank} {e.nickname}" for e in ranked}


def remove_control(db: Engine, board_id: str, key: str, ranked: list[board.Entry]) -> None:
    """Pick an entry and remove it (the teacher's); drawn with the live table, so the list follows new entries."""
    messages()  # a refused removal, said here: the button reruns this fragment only
    choices = _choices(ranked)
    if not choices:
        return
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen = left.selectbox("Entry to remove", list(choices), index=None, key="board.remove_choice",
                            format_func=choices.__getitem__)
    right.button("Remove entry", key="board.remove", disabled=chosen is None, on_click=act,
                 args=(_remove, db, board_id, key))


def table(ranked: list[board.Entry]) -> pd.DataFrame:
    """The ranked entries as a table (nicknames as plain cell text)."""
    return pd.DataFrame({"Rank": [e.rank for e in ranked], "Nickname": [e.nickname for e in ranked],
                         "Validation accuracy": [100 * e.validation_accuracy for e in ranked],
                         "Test accuracy": [100 * e.test_accuracy for e in ranked],
                         "Setup": [e.setup for e in ranked]})


# Widths in px that fit the page's column at 1024 px beside the sidebar (about 560 px); wider, the rest is shared out.
COLUMNS = {"Rank": st.column_config.NumberColumn("#", width=40),
           "Nickname": st.column_config.TextColumn(width=170),
           "Validation accuracy": st.column_config.NumberColumn(
               "Validation", width=90, format="%.1f%%", help="Validation accuracy: ranks the board"),
           "Test accuracy": st.column_config.NumberColumn(
               "Test", width=60, format="%.1f%%",
               help="Test accuracy: shown, never ranked (choosing by it would spoil the test set)"),
           "Setup": st.column_config.TextColumn(
               width=180, help="Model, layers, activation, learning rate and epochs; '≤1000 ep': early stopping "
                               "was on, so the run trained at most that many")}


def row_height(ranked: list[board.Entry]) -> int | None:
    """Rows tall enough to wrap when a nickname or setup is longer than its column's line; else the usual rows."""
    long = any(len(e.nickname) > ONE_LINE["Nickname"] or len(e.setup) > ONE_LINE["Setup"] for e in ranked)
    return WRAP_ROW if long else None


PRESENT_STYLE = """<style>
.board-present {width: 100%; border-collapse: collapse; font-size: clamp(1.25rem, 2.6vw, 2.75rem); line-height: 1.25}
.board-present th {font-size: 0.55em; font-weight: 600; text-align: left; opacity: 0.7; padding: 0 0.4em 0.2em}
.board-present td {padding: 0.3em 0.4em; border-top: 1px solid rgba(128, 128, 128, 0.4); vertical-align: middle}
.board-present .name {font-weight: 700; overflow-wrap: anywhere}
.board-present .score {white-space: nowrap; text-align: right; font-variant-numeric: tabular-nums}
.board-present .setup {font-size: 0.6em; overflow-wrap: anywhere}
</style>"""


def present_html(ranked: list[board.Entry]) -> str:
    """The projector's table: large rows that wrap rather than cut; every text escaped (a nickname is never markup)."""
    rows = "".join(f"<tr><td class='score'>{e.rank}</td><td class='name'>{escape(e.nickname)}</td>"
                   f"<td class='score'>{100 * e.validation_accuracy:.1f}%</td>"
                   f"<td class='score'>{100 * e.test_accuracy:.1f}%</td><td class='setup'>{escape(e.setup)}</td></tr>"
                   for e in ranked)
    head = "".join(f"<th>{name}</th>" for name in ("#", "Nickname", "Validation", "Test", "Setup"))
    return f"{PRESENT_STYLE}<table class='board-present'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


@st.fragment(run_every=REFRESH_S)
def live_table(db: Engine, board_id: str, *, big: bool = False, key: str | None = None) -> None:
    """The board's ranking, redrawn every REFRESH_S seconds; `big`: the projector's large rows.

    A teacher tab left alone checks on every refresh that it still is the teacher (one lookup of the board's row):
    once another tab took the role, the whole page runs again and says so. The teacher's Remove list is drawn
    under the table.
    """
    try:
        if key is not None and not board_keys.is_teacher_tab(db, board_id, tab_secret.current() or ""):
            st.rerun(scope="app")
        ranked = board.entries(db, board_id)
    except (BoardError, StorageError) as exc:
        st.error(str(exc), icon=":material/error:")
        return
    if not ranked:
        st.info("No runs yet: the first one submitted appears here.", icon=":material/hourglass_empty:")
    elif big:
        st.html(present_html(ranked))
    else:
        st.dataframe(table(ranked), hide_index=True, column_config=COLUMNS, key="board.table",
                     row_height=row_height(ranked))
    if key is not None and not big:
        remove_control(db, board_id, key, ranked)
