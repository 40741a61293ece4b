"""Train page: the settings on the left; the run, its curves and (2-D) the boundary forming on the right."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app_pages.coach_panel import coach_panel
from app_pages.common.polling import polled
from app_pages.common.session import get_lab, locked, shown
from app_pages.common.training import (
    forget_training_widgets,
    pending_run_note,
    progress_text,
    show_run,
    training_controls,
)
from app_pages.common.ui import count, friendly_errors, percent, require
from app_pages.common.widgets import architecture_controls
from app_pages.train_replay import replay_view, rewind

REQUEST = "train.request"  # set by a button's callback, acted on before the buttons are drawn again
NOTICE = "train.notice"


def request(action: str) -> None:
    st.session_state[REQUEST] = action


lab = get_lab()
st.title("Train")
require(lab.data is not None, "Pick a dataset first.", "data", "Go to the Data page")
data = lab.data
points = not data.is_image
left, right = st.columns([1, 2.4], gap="large")
with left:
    if points:  # Playground-style: shape the network right here and watch the boundary follow
        with friendly_errors("This network cannot be built"):
            model = architecture_controls(lab.model_config, prefix="train.arch", images=False)
            notice = lab.apply(replace(lab.settings, model=model))
            if notice:
                forget_training_widgets()
                st.session_state[NOTICE] = notice
    config = training_controls(lab.train_config)
    auto = points and (not shown("auto") or st.toggle(
        "Auto-train", value=True, key="train.auto", disabled=locked("auto"),
        help="Train again whenever a setting changes, to see at once what it does."))

action = st.session_state.pop(REQUEST, None)
with right, friendly_errors("Training could not start"):
    if st.session_state.get(NOTICE):
        st.caption(st.session_state.pop(NOTICE))
    if action == "stop":
        lab.stop()
    elif action == "reset":  # back to the starting weights: the replay's epoch 0, ready to Play or Step
        lab.stop()
        rewind(lab.result)
    elif action == "new_weights":  # different starting weights ("Reset" keeps the same ones)
        config = replace(config, init_seed=config.init_seed + 1)
    # A moved slider trains at once (auto); Train and New weights always start a run.
    lab.apply(replace(lab.settings, train=config),
              train="always" if action in ("start", "new_weights") else "auto" if auto and action is None else "never")
    if lab.needs_retrain and not lab.training:  # auto-train trains only what fits the page's own budget
        pending_run_note(lab, auto=auto)
    if action == "sanity":
        check = lab.sanity_check()
        acc = check.history[-1].train_acc if check.history else 0.0
        (st.success if acc >= 0.99 else st.warning)(
            f"Overfit one batch: {percent(acc)} on 16 examples after {count(check.steps, 'step')}. "
            + ("The model can learn; go ahead." if acc >= 0.99 else
               "It cannot even memorise 16 examples: check the learning rate, the size or the activation."))

with left:  # drawn after the actions above, so they show whether a run is going now
    running = lab.training
    st.button("Train", type="primary", disabled=running, key="train.go", on_click=request, args=("start",),
              icon=":material/play_arrow:", width="stretch")
    stop_col, reset_col = st.columns(2)
    stop_col.button("Stop", disabled=not running, key="train.stop", on_click=request, args=("stop",),
                    width="stretch")
    reset_col.button("Reset", key="train.reset", on_click=request, args=("reset",), width="stretch",
                     disabled=not points, help="Back to the starting weights (epoch 0): then Play or Step.")
    if shown("new_weights"):
        st.button("New weights", key="train.new", on_click=request, args=("new_weights",), width="stretch",
                  disabled=running or locked("new_weights"), help="Draw different initial weights and train again.")
    if shown("sanity"):
        st.button("Sanity check", key="train.sanity", disabled=running or locked("sanity"), on_click=request,
                  args=("sanity",), width="stretch", help="Overfit one batch: a healthy model memorises 16 examples.")


def live() -> None:
    """The running (or last) job, redrawn twice a second in a polling fragment (app_pages.common.polling); the
    whole page runs again once it ends."""
    progress = lab.poll()
    if progress is not None and progress.state == "waiting":  # nothing to chart yet: keep these reruns light
        place = f" (number {progress.queue_position} in line)" if progress.queue_position else ""
        st.progress(0.0, text=f"Waiting for a free training slot{place}: other sessions are training. "
                              "It starts by itself.")
        return
    if progress is not None and not progress.done:
        st.progress(progress.fraction, text=progress_text(lab, progress))
        show_run(lab, progress.history, progress.snapshot, None, key="live")
        return
    if running:  # it has just finished: redraw the page so the buttons and the sidebar follow
        st.rerun()
    if progress is not None and progress.state == "failed":
        st.error(f"Training failed: {progress.error}")
    result = lab.result
    if result is None:
        st.info("Press **Train** to start." if not points else "Move a slider or press **Train**.")
        return
    if len(result.snapshots) > 1 and shown("play") and replay_view(lab, result):
        return
    show_run(lab, result.history, lab.kept_boundary(), result, key="done")


with right:
    coach_panel(lab)  # the last run's diagnosis, its one-click fix, and whether the fix helped
    polled(live, every=0.5 if running else None)
