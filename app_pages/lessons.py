"""Lessons page: the guided lessons with this session's progress; `?lesson=ID` opens one (a teacher's link).
Inside a lesson: its explanation and task, the controls it leaves free, the learner's run, and its check after
every training."""

from __future__ import annotations

import streamlit as st

from app_pages import lesson_view as view
from app_pages.common.session import forget_widgets, get_lab, use_classroom
from app_pages.common.ui import end_page, literal
from core.lessons import Lesson, LessonError, find_lesson, leave_lesson, load_lessons, open_lesson, progress
from core.url.state import LESSON_PARAM, Classroom

AGAIN = "lessons.again"  # "Start again" pressed: the lesson's starting setup on this run


def start(lesson: Lesson) -> None:
    """Open `lesson` at its starting setup, its controls hidden and locked as it says."""
    lab = get_lab()
    open_lesson(lab, lesson)
    use_classroom(lesson.classroom, lab.settings)
    forget_widgets()
    st.session_state.pop(view.TRIES, None)
    st.query_params[LESSON_PARAM] = lesson.id


def choose(lesson_id: str) -> None:
    """A button's callback: open this lesson on the next run."""
    st.query_params[LESSON_PARAM] = lesson_id


def restart() -> None:
    """A button's callback: the lesson's starting setup again on the next run."""
    st.session_state[AGAIN] = True


def leave() -> None:
    """A button's callback: back to the list, every control shown and free again."""
    leave_lesson(get_lab())
    use_classroom(Classroom())
    forget_widgets()
    st.query_params.pop(LESSON_PARAM, None)


def listing(lessons: tuple[Lesson, ...]) -> None:
    """Every lesson with a tick for those done, and a button to open each."""
    lab = get_lab()
    done, total = progress(lab, lessons)
    st.title("Lessons")
    st.markdown("Each lesson sets up a network that has a problem, explains the idea behind it, and gives you a "
                "task. Move the controls and train: your own run is checked after every training.")
    st.progress(done / total, text=f"{done} of {total} lessons done")
    for lesson in lessons:
        mark, text, button = st.columns([0.5, 6, 1.4], vertical_alignment="center")
        finished = lesson.id in lab.lessons_done
        mark.markdown(":material/check_circle:" if finished else f"**{lesson.order}**")
        text.markdown(f"**{literal(lesson.title)}**  \n{literal(lesson.concept)}")
        button.button("Again" if finished else "Open", key=f"lessons.open.{lesson.id}", on_click=choose,
                      args=(lesson.id,), width="stretch")


def lesson_page(lesson: Lesson, lessons: tuple[Lesson, ...]) -> None:
    """One lesson: what it is about, the task, the controls, the run and the check."""
    lab = get_lab()
    later = [other for other in lessons if other.order > lesson.order]
    st.title(lesson.title)
    st.caption(f"Lesson {lesson.order} of {len(lessons)} · {literal(lesson.concept)} · a link to it ends in "
               f"/lessons?lesson={lesson.id}")
    with st.container(horizontal=True, gap="small"):  # each button as wide as its label (columns cut them short)
        st.button("All lessons", key="lessons.back", on_click=leave, icon=":material/list:")
        st.button("Start again", key="lessons.restart", on_click=restart, icon=":material/restart_alt:")
    st.markdown(literal(lesson.explanation))
    st.info(f"**Your task.** {literal(lesson.task)}", icon=":material/flag:")
    left, right = st.columns([1, 2.2], gap="large")
    with left:
        view.controls(lesson)
    with right:
        view.verdict(lesson)
        if lesson.id in lab.lessons_done and later:
            st.button(f"Next: {later[0].title}", key="lessons.next", on_click=choose, args=(later[0].id,),
                      icon=":material/arrow_forward:")
        view.live(lab.training)


lab = get_lab()
try:
    all_lessons = load_lessons()
except LessonError as exc:  # a lesson file that cannot be used: say which, and show nothing half-loaded
    st.error(f"The lessons cannot be loaded: {exc}", icon=":material/error:")
    end_page()
wanted = st.query_params.get(LESSON_PARAM)
if wanted and (wanted != lab.lesson or st.session_state.pop(AGAIN, False)):
    try:
        start(find_lesson(wanted))
    except LessonError as exc:
        st.error(str(exc), icon=":material/error:")
        st.query_params.pop(LESSON_PARAM, None)
current = next((lesson for lesson in all_lessons if lesson.id == lab.lesson), None)
if current is None:
    listing(all_lessons)
else:
    st.query_params[LESSON_PARAM] = current.id  # the address bar links to this lesson, also after a reload
    lesson_page(current, all_lessons)
