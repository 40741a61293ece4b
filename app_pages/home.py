"""Home page: the way in. The example run to play, the first lesson one click away, every lesson with this
session's progress, and the pages for exploring on your own."""

from __future__ import annotations

import streamlit as st

from app_pages.common.session import get_lab
from app_pages.common.ui import PAGES
from app_pages.home_top import home_top
from core.lessons import progress
from core.url.state import LESSON_PARAM

CARD_PX = 180  # a step card's width: the cards wrap onto a second row on a narrow screen instead of being cut
STEPS = [  # (page, label, what it holds, icon)
    ("data", "1 · Data", "Circles, moons, XOR, spirals… or real MNIST digits.", ":material/scatter_plot:"),
    ("model", "2 · Model", "Layers, units and activation, drawn as a network.", ":material/account_tree:"),
    ("train", "3 · Train", "Learning rate, optimizer, batch size: live curves.", ":material/model_training:"),
    ("evaluate", "4 · Evaluate", "Accuracy, F1, confusion matrix, the mistakes.", ":material/fact_check:"),
    ("predict", "5 · Predict", "Upload a digit or click a point.", ":material/draw:"),
]

lessons = home_top()
if lessons:
    lab = get_lab()
    done, total = progress(lab, lessons)
    st.subheader("Lessons")
    st.progress(done / total, text=f"{done} of {total} lessons done")
    with st.container(horizontal=True, gap="small"):
        for lesson in lessons:
            finished = lesson.id in lab.lessons_done
            st.page_link(PAGES["lessons"], label=f"{lesson.order} · {lesson.title}", query_params={
                LESSON_PARAM: lesson.id}, icon=":material/check_circle:" if finished else None, help=lesson.concept)
st.subheader("Or explore on your own")
with st.container(horizontal=True, gap="small"):
    for page, label, text, icon in STEPS:
        with st.container(border=True, width=CARD_PX):
            st.page_link(PAGES[page], label=label, icon=icon)
            st.caption(text)
st.markdown(
    "**New here without a lesson?** Start with *Circles* and an MLP: on the Train page, move the *units* slider "
    "from 1 to 16 and watch the boundary go from a straight line to a ring. Then set the learning rate to 10 and "
    "see what divergence looks like."
)
