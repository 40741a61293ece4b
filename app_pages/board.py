"""Board page: a teacher starts a class board on fixed data; students submit runs with a nickname; ranked by
validation accuracy, live. `?board=<id>` is the students' link, `&present=1` the projector's, `&key=` the
teacher's (it works once: the tab that opens it becomes the teacher)."""

from __future__ import annotations

import streamlit as st

from app_pages import board_panels as ui
from app_pages import board_student as student
from app_pages import board_table as ranking
from app_pages.common.session import get_lab
from app_pages.common.share import qr_png
from app_pages.common.ui import end_page, literal
from core.history import board
from core.history.board import BoardError
from core.history.db import StorageError

lab = get_lab()
board_id, present = ui.arrival(lab)
db = ui.engine()

if board_id is None:
    st.title("Board")
    st.caption("Start a board for your class: everyone trains on the same data, and the board ranks their runs "
               "by validation accuracy. Test accuracy is shown beside it, never ranked.")
    ui.messages()
    ui.start_form(lab, db)
    end_page()

try:
    shown = board.get_board(db, board_id)
except (BoardError, StorageError) as exc:
    st.title("Board")
    st.error(str(exc), icon=":material/error:")
    st.button("Start your own board instead", key="board.forget", on_click=ui.forget, args=(lab,))
    end_page()

if present:  # the projector: the name, the table and how to join; no controls
    st.title(literal(shown.name + (" (closed)" if shown.closed else "")))  # the teacher's text, escaped
    table, join = st.columns([2, 1])  # the ranking in large rows; a code large enough to scan from the back
    with table:
        ranking.live_table(db, shown.id, big=True)
    join.image(qr_png(ui.board_link(ui.page_url(), shown.id)), caption="Scan to join", width="stretch")
    end_page(bare=True)  # the projector shows the board alone: no sidebar summary or buttons

st.title("Board")
st.subheader(literal(shown.name + (" · closed: no more runs" if shown.closed else "")))
teacher = ui.teacher_token(lab, db, shown.id)  # this tab's, once a key from the link is exchanged; None: a student
ui.messages()
student.use_board_data(lab, shown)  # a teacher link opened elsewhere brings the board's data, as a student link does
if teacher is not None:
    with st.expander("Teacher: links", expanded=True, icon=":material/school:"):
        ui.links_panel(db, shown)
    ui.close_button(db, shown, teacher)
else:
    student.submit_form(lab, db, shown)
    student.own_entries(db, shown)
ranking.live_table(db, shown.id, key=teacher)  # with the teacher's Remove list under it
ui.new_link_dialog()
