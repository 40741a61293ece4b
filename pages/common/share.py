"""The Share dialog: a link with this session's settings (never its token), a QR code, and a teacher's choices
of which controls to hide or lock and which pages to show."""

from __future__ import annotations

import io
from urllib.parse import urlsplit, urlunsplit

import segno
import streamlit as st

from core.urlstate import PAGE_NAMES, Classroom, Settings, share_query
from pages.common.urlsync import classroom

CONTROL_GROUPS = {  # URL name -> label, for the controls a student sees
    "Data": {"data": "Dataset", "n": "Samples", "noise": "Noise", "factor": "Radius factor",
             "classes": "Classes", "test": "Test fraction", "dseed": "Data seed", "subset": "Training images"},
    "Model": {"model": "Model", "hidden": "Layers, units", "width": "CNN width", "act": "Activation",
              "drop": "Dropout", "feat": "Input features"},
    "Training": {"lr": "Learning rate", "opt": "Optimizer", "bs": "Batch size", "ep": "Epochs",
                 "wd": "Weight decay", "l1": "L1 penalty", "sched": "LR schedule", "pat": "Early stopping",
                 "seed": "Shuffle seed"},
    "Buttons": {"auto": "Auto-train", "new_weights": "New weights", "sanity": "Sanity check",
                "play": "Replay", "speed": "Play speed", "share": "Share"},
}
PAGE_TITLES = {"home": "Home", "data": "Data", "model": "Model", "inside": "Inside", "train": "Train",
               "evaluate": "Evaluate", "predict": "Predict"}
QR_SCALE = 10  # pixels a module: large enough to scan from the back of a room


def qr_png(text: str) -> bytes:
    """A QR code of `text` as PNG bytes (medium error correction, the standard 4-module quiet zone)."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="png", scale=QR_SCALE, border=4)
    return out.getvalue()


def _ticks(room: Classroom) -> Classroom:
    """The teacher's ticks: which pages to show, which controls to hide or lock."""
    st.markdown("**Pages students see**")
    shown = [name for column, name in zip(st.columns(len(PAGE_NAMES)), PAGE_NAMES)
             if column.checkbox(PAGE_TITLES.get(name, name.title()), value=not room.pages or name in room.pages,
                                key=f"share_page_{name}")]
    st.markdown("**Controls to hide or lock** (locked: shown, but fixed at this link's value)")
    hide, lock = [], []
    for column, (group, controls) in zip(st.columns(len(CONTROL_GROUPS), gap="medium"), CONTROL_GROUPS.items()):
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


@st.dialog("Share this setup", width="large")
def share_dialog(settings: Settings, page_url: str) -> None:
    """The link, its QR code and the classroom ticks (the link follows the ticks as they change)."""
    top = st.container()
    room = _ticks(classroom())
    link = f"{link_page(page_url, room.pages)}?{share_query(settings, classroom=room)}"
    with top:
        st.caption("Project this link or its QR code, never your own address bar: that holds your session. "
                   "Students get these settings and their own copy to play with.")
        st.code(link, language=None, wrap_lines=True)
        left, right = st.columns([1, 1.4], vertical_alignment="center")
        left.image(qr_png(link), caption="Scan to open this setup", width=320)
        right.markdown("A student can still unlock a value by editing the link: this is a teaching aid, not "
                       "access control.")
