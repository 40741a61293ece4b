"""The Lessons page's inside of a lesson: the controls it leaves free, the learner's run, and the check after
every training ("Got it" with what just happened, or what to try next)."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app_pages.common.choices import label_noise_control
from app_pages.common.polling import polled
from app_pages.common.session import get_lab, locked, shown
from app_pages.common.training import (
    forget_training_widgets,
    pending_run_note,
    progress_text,
    show_run,
    training_controls,
)
from app_pages.common.ui import friendly_errors, literal
from app_pages.common.widgets import architecture_controls
from core.lessons import Lesson, goal, judge

REQUEST = "lessons.request"  # set by a button's callback, acted on before the buttons are drawn again
TRIES = "lessons.tries"  # (lesson id, id of the last failed run counted, failed runs so far): when hints show
NOTICE = "lessons.notice"
START_NOTE = "This is the lesson's starting setup: change something first, then train."


def _request(action: str) -> None:
    st.session_state[REQUEST] = action


def _data_controls(config):
    """Samples, noise and label noise of 2-D points, where the lesson leaves them to the learner."""
    if not any(shown(name) for name in ("n", "noise", "ln")):
        return config
    with st.expander("Data"):
        n_samples = st.slider("Samples", 100, 5000, config.n_samples, 50, key="data.lesson_n", disabled=locked("n"),
                              help="How many points are generated (a fifth is kept for the test).") \
            if shown("n") else config.n_samples
        noise = st.slider("Noise", 0.0, 0.5, float(config.noise), 0.01, key="data.lesson_noise",
                          disabled=locked("noise")) if shown("noise") else config.noise
        label_noise = label_noise_control(config)
    return replace(config, n_samples=n_samples, noise=noise, label_noise=label_noise)


def controls(lesson: Lesson) -> None:
    """The lesson's free controls; a moved 2-D control trains at once, Train and New weights always do."""
    lab = get_lab()
    images = lab.data.is_image
    with friendly_errors("These settings cannot be used"):
        data = lab.data_config if images else _data_controls(lab.data_config)
        model = architecture_controls(lab.model_config, prefix="train.arch", images=images)
        config = training_controls(lab.train_config)
        action = st.session_state.pop(REQUEST, None)
        if action == "new_weights":
            config = replace(config, init_seed=config.init_seed + 1)
        notice = lab.apply(replace(lab.settings, data=data, model=model, train=config),
                           train="always" if action else "auto" if not images else "never")
        if notice:  # a new kind of model: its training settings, and the widgets drawn from them
            forget_training_widgets()
            st.session_state[NOTICE] = notice
    running = lab.training
    st.button("Train", type="primary", key="lessons.train", disabled=running, on_click=_request, args=("train",),
              icon=":material/play_arrow:", width="stretch")
    if shown("new_weights"):
        st.button("New weights", key="lessons.new", disabled=running or locked("new_weights"), on_click=_request,
                  args=("new_weights",), width="stretch", help="Draw different starting weights and train again.")


def _hints(lesson: Lesson, failed_run: object | None) -> int:
    """How many hints to show: one more after each failed run of the learner's own (not the starting one)."""
    kept = st.session_state.get(TRIES)
    lesson_id, last, tries = kept if kept and kept[0] == lesson.id else (lesson.id, None, 0)
    if failed_run is not None and id(failed_run) != last:
        last, tries = id(failed_run), tries + 1
    st.session_state[TRIES] = (lesson_id, last, tries)
    return min(tries, len(lesson.hints))


def verdict(lesson: Lesson) -> None:
    """The check on the learner's latest run: "Got it" and what happened, or the readings and the hints."""
    lab = get_lab()
    attempt = judge(lab, lesson)
    st.caption(f"Check: {literal(goal(lesson))}")
    if attempt is None:
        if lab.needs_retrain and not lab.training:
            pending_run_note(lab, auto=not lab.data.is_image)
        st.info("Press **Train** to try." if lab.data.is_image else "Move a control or press **Train**.",
                icon=":material/info:")
        return
    readings = literal(" · ".join(attempt.readings))
    if attempt.passed:
        st.success(f"**Got it!** Your run: {readings}.", icon=":material/check_circle:")
        st.markdown(f"**What just happened.** {literal(lesson.what_happened)}")
        return
    own = lab.settings != lesson.settings("start")
    shown_hints = _hints(lesson, lab.result if own else None)
    st.warning(f"**Not yet.** Your run: {readings}.", icon=":material/pending:")
    if not own:  # by design the start never counts (it fails its check): say so, or "Not yet" reads as a verdict
        st.caption(START_NOTE)
    for hint in lesson.hints[:shown_hints]:
        st.caption(f"Hint: {literal(hint)}")
    if lesson.id in lab.lessons_done:
        st.caption("You have solved this lesson before: its progress is kept.")


def run_view() -> None:
    """The running or last run: progress while a worker trains it, then its cards, boundary and curves."""
    lab = get_lab()
    if st.session_state.get(NOTICE):
        st.caption(st.session_state.pop(NOTICE))
    progress = lab.poll()
    if lab.training and progress is not None:
        st.progress(progress.fraction, text=progress_text(lab, progress))
        return
    result = lab.result
    if result is not None and not lab.needs_retrain:
        show_run(lab, result.history, lab.kept_boundary(), result, key="lessons")


def live(running: bool) -> None:
    """The run view, redrawn twice a second while a worker trains it; the whole page runs again once it ends, so
    that the check follows."""
    def _live() -> None:
        if running and not get_lab().training:
            st.rerun()
        run_view()

    polled(_live, every=0.5 if running else None)  # two fragments: see app_pages.common.polling
