"""The Share dialog: a link with this session's settings (never its token), a QR code, and a teacher's choices
of which controls to hide or lock and which pages to show. Shared from the Board page with a class board open,
the link also names the board (never its teacher key), so students land on it rather than on the form that
starts a new one; shared from the Lessons page with a lesson open, it names the lesson, so students open it."""

from __future__ import annotations

import io
import os
from urllib.parse import urlsplit, urlunsplit

import segno
import streamlit as st

from app_pages.common.session import classroom, get_lab
from app_pages.common.ui import literal
from core.config import Settings
from core.lessons import Lesson, find_lesson
from core.url.state import BOARD_PARAM, LESSON_PARAM, PAGE_NAMES, Classroom, share_query

CONTROL_GROUPS = {  # URL name -> label, for the controls a student sees
    "Data": {"data": "Dataset", "n": "Samples", "noise": "Noise", "factor": "Radius factor",
             "classes": "Classes", "test": "Test fraction", "val": "Validation share", "dseed": "Data seed",
             "subset": "Training images"},
    "Model": {"model": "Model", "hidden": "Layers, units", "width": "CNN width", "act": "Activation",
              "drop": "Dropout", "feat": "Input features"},
    "Training": {"lr": "Learning rate", "opt": "Optimizer", "mom": "Momentum", "bs": "Batch size", "ep": "Epochs",
                 "wd": "Weight decay", "l1": "L1 penalty", "sched": "LR schedule", "pat": "Early stopping",
                 "seed": "Shuffle seed"},
    "Buttons": {"auto": "Auto-train", "new_weights": "New weights", "sanity": "Sanity check",
                "play": "Replay", "speed": "Play speed", "share": "Share"},
}
PAGE_TITLES = {"home": "Home", "data": "Data", "model": "Model", "inside": "Inside", "train": "Train",
               "evaluate": "Evaluate", "predict": "Predict"}
QR_SCALE = 10  # pixels a module: large enough to scan from the back of a room
QR_DENSE = 10  # versions (57 modules a side) beyond which a link's code drops to low error correction
QR_MAX_VERSION = 27  # 125 modules a side (a 200-point link): denser codes are missed by phone cameras too often
QR_MODULE_PX = 3  # shown at least this many screen pixels a module
QR_TOO_LONG = ("This link is too long for a QR code a phone can read reliably (your own points make it long): "
               "share the link itself, by chat, mail or your learning platform.")


PUBLIC_URL_ENV = "NNLAB_PUBLIC_URL"  # the address students' devices use, e.g. http://<this server's name>:8501/
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")
LOCAL_WARNING = ("This link uses {host}, which only this computer can open: students' phones and laptops cannot "
                 "reach it. Set NNLAB_PUBLIC_URL to this server's address on the class network (for example "
                 "http://<this computer's name or address>:8501/) and restart NN Lab.")


def public_url(page_url: str, environ: dict[str, str] | None = None) -> tuple[str, str | None]:
    """(The page's address as students should get it, a warning when they cannot reach it.)

    NNLAB_PUBLIC_URL, when set, replaces the scheme, host and port the teacher's browser used (a proxy or a
    server reached as localhost); the page's path stays. Without it, a localhost address comes with a warning.
    """
    env = os.environ if environ is None else environ
    parts, public = urlsplit(page_url), env.get(PUBLIC_URL_ENV, "").strip()
    if public:
        base = urlsplit(public if "://" in public else f"http://{public}")
        prefix = base.path.rstrip("/")
        parts = parts._replace(scheme=base.scheme, netloc=base.netloc, path=prefix + (parts.path or "/"))
    host = parts.hostname or ""
    return urlunsplit(parts), LOCAL_WARNING.format(host=host) if host in LOCAL_HOSTS else None


def qr_png(text: str) -> bytes:
    """A QR code of `text` as PNG bytes (medium error correction, the standard 4-module quiet zone)."""
    return _png(segno.make(text, error="m", micro=False))


def _png(code: segno.QRCode) -> bytes:
    out = io.BytesIO()
    code.save(out, kind="png", scale=QR_SCALE, border=4)
    return out.getvalue()


def _make(text: str, error: str) -> segno.QRCode | None:
    """The smallest QR code of `text` at this error correction, or None when no version can hold it."""
    try:
        return segno.make(text, error=error, micro=False)
    except segno.DataOverflowError:
        return None


def link_qr(link: str) -> tuple[bytes, int] | None:
    """(PNG, width to show it at) of a QR code a phone can read, or None when the link is too long for one.

    Short links keep medium error correction; long ones use low (segno raises it again where that costs no
    extra modules), which keeps the code a few versions smaller and each module larger.
    """
    code = _make(link, "m")
    if code is None or code.version > QR_DENSE:
        code = _make(link, "l")
    if code is None or code.version > QR_MAX_VERSION:
        return None
    return _png(code), max(320, QR_MODULE_PX * (code.symbol_size(scale=1)[0]))


PER_ROW = 6  # page ticks a row


def _ticks(room: Classroom) -> Classroom:
    """The teacher's ticks: which pages to show, which controls to hide or lock."""
    # Rows of at most PER_ROW pages and two control groups: in one row of eleven pages and four groups the dialog
    # cut the labels at 1024 px ("Evalu…", and every hide and lock box read "h…" and "l…").
    st.markdown("**Pages students see**")
    columns = [column for start in range(0, len(PAGE_NAMES), PER_ROW) for column in st.columns(PER_ROW)]
    shown = [name for column, name in zip(columns, PAGE_NAMES)
             if column.checkbox(PAGE_TITLES.get(name, name.title()), value=not room.pages or name in room.pages,
                                key=f"share_page_{name}")]
    st.markdown("**Controls to hide or lock** (locked: shown, but fixed at this link's value)")
    hide, lock = [], []
    groups = [column for _ in range(0, len(CONTROL_GROUPS), 2) for column in st.columns(2, gap="large")]
    for column, (group, controls) in zip(groups, CONTROL_GROUPS.items()):
        column.caption(group.upper())
        for name, label in controls.items():
            row = column.columns([2.2, 1, 1], vertical_alignment="center")
            row[0].markdown(label)
            if row[1].checkbox("hide", value=name in room.hide, key=f"share_hide_{name}"):
                hide.append(name)
            if row[2].checkbox("lock", value=name in room.lock, key=f"share_lock_{name}"):
                lock.append(name)
    every_page = len(shown) == len(PAGE_NAMES) or not shown
    return Classroom(tuple(hide), tuple(lock), () if every_page else tuple(shown))


def link_page(page_url: str, pages: tuple[str, ...]) -> str:
    """The page the link opens: this one, or the app's first page when the link hides this one."""
    parts = urlsplit(page_url)
    head, _, last = parts.path.rstrip("/").rpartition("/")
    if pages and last in PAGE_NAMES and last not in pages:
        return urlunsplit(parts._replace(path=head + "/"))
    return page_url


def link_opens(page: str, *, board: str | None = None, lesson: str | None = None) -> dict[str, str]:
    """What a link to `page` should open there, as its page's own parameter: on the Board page `board` (the board
    this session looks at: without it a student lands on the form that starts a new board), on the Lessons page
    `lesson` (the lesson open: without it, the list); nothing on any other page."""
    opened = {"board": (BOARD_PARAM, board), "lessons": (LESSON_PARAM, lesson)}
    name, value = opened.get(urlsplit(page).path.rstrip("/").rpartition("/")[2], ("", None))
    return {name: value} if value else {}


def _students_get(opens: dict[str, str], lesson: Lesson | None) -> str:
    """The dialog's sentence on what students who open the link get."""
    if lesson is not None:
        return (f"Students open the lesson “{literal(lesson.title)}” at its start, each in a session of their own; "
                "the lesson hides and locks its own controls.")
    return ("Students get these settings and their own copy to play with"
            + (" on your class board, where they submit their runs." if BOARD_PARAM in opens else "."))


@st.dialog("Share this setup", width="large")
def share_dialog(settings: Settings, page_url: str) -> None:
    """The link, its QR code and the classroom ticks (the link follows the ticks as they change)."""
    top = st.container()
    room = _ticks(classroom())
    page_url, unreachable = public_url(page_url)
    page, lab = link_page(page_url, room.pages), get_lab()
    opens = link_opens(page, board=lab.board_id, lesson=lab.lesson)
    lesson = find_lesson(opens[LESSON_PARAM]) if LESSON_PARAM in opens else None
    # A lesson opens at its start, so the link holds the start: the teacher's moved controls (a solution, say) would
    # only come back to students as "Back to the link's setup".
    shared = lesson.settings("start") if lesson is not None else settings
    link = f"{page}?{share_query(shared, classroom=room, opens=opens)}"
    with top:
        if unreachable:
            st.warning(unreachable, icon=":material/wifi_off:")
        st.caption("Project this link or its QR code, never your own address bar: that holds your session. "
                   + _students_get(opens, lesson))
        st.code(link, language=None, wrap_lines=True)
        left, right = st.columns([1, 1.4], vertical_alignment="center")
        qr = link_qr(link)
        if qr is None:
            left.info(QR_TOO_LONG, icon=":material/qr_code_2:")
        else:
            left.image(qr[0], caption="Scan to open this setup", width=qr[1])
        right.markdown("A student can still unlock a value by editing the link: this is a teaching aid, not "
                       "access control.")
