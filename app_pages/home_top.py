"""Home's top: the title, the first lesson and the example run. It needs no session, so the first run of a visit to
Home draws it while the tab reports its secret (app.py), and Home itself draws it the same way after."""

from __future__ import annotations

import streamlit as st

from app_pages.common.replay_chart import replay_chart
from app_pages.common.ui import PAGES
from core.lessons import Lesson, LessonError, load_lessons
from core.showcase import example_caption, example_figure
from core.url.state import LESSON_PARAM


def home_top(*, waiting: bool = False) -> tuple[Lesson, ...]:
    """Draw Home's top and return the lessons (none when they cannot be loaded). `waiting`: the tab has not
    reported yet, so the first lesson's link is shown but off (a page change then would be undone by the report's
    rerun, see app.py)."""
    st.title("NN Lab")
    st.markdown("Watch a neural network learn to tell classes apart. Each lesson sets up a network with a problem, "
                "says what to look for, and checks your own run when you have trained it.")
    try:
        lessons = load_lessons()
    except LessonError as exc:  # a lesson file that cannot be used: the rest of Home still works
        lessons = ()
        st.error(f"The lessons cannot be loaded: {exc}", icon=":material/error:")
    if lessons:
        with st.container(border=True):  # a link, like every way between pages here (st.switch_page loses the tab)
            st.page_link(PAGES["lessons"], label=f"Start the first lesson: {lessons[0].title}",
                         icon=":material/school:", query_params={LESSON_PARAM: lessons[0].id}, disabled=waiting)
            st.caption(f"{len(lessons)} short lessons, from “{lessons[0].title}” to “{lessons[-1].title}”. Each one "
                       "checks your own run after every training.")
    replay_chart(example_figure(), key="home.example")
    st.caption(example_caption())
    return tuple(lessons)
