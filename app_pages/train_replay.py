"""The Train page's replay of a 2-D run: Play, Pause and the frame slider run in the browser; Step here, from the
frame the browser last reported."""

from __future__ import annotations

import streamlit as st

from app_pages.common.replay_chart import replay_chart
from app_pages.common.session import locked, shown
from core import plots
from core.export.files import replay_gif
from core.lab import Lab
from core.plots.replay import SPEEDS
from core.training.result import TrainResult

SHOW = "train.replay"  # the toggle: show the replay instead of the final boundary
FRAME = "train.frame"  # (the result it belongs to, the frame index the replay starts from)
SPEED = "train.speed"


def _run_key(result: TrainResult) -> tuple[int, float]:
    """Tells one run from the next (a new run has other steps or another duration)."""
    return result.steps, result.seconds


def rewind(result: TrainResult | None) -> None:
    """Show the replay of `result` at epoch 0 (the starting weights), for Play or Step."""
    if result is not None and len(result.snapshots) > 1:
        st.session_state[SHOW] = True
        _hold(result, 0)


def _hold(result: TrainResult, index: int) -> None:
    """Keep frame `index` of `result` as the one the replay starts from (and Step counts from)."""
    st.session_state[FRAME] = (_run_key(result), index)


def _frame(result: TrainResult) -> int:
    """The frame to start from: the stored one when it belongs to this run, else the last."""
    owner, index = st.session_state.get(FRAME, (None, None))
    return index if owner == _run_key(result) else len(result.snapshots) - 1


def _step(result: TrainResult) -> None:
    _hold(result, min(_frame(result) + 1, len(result.snapshots) - 1))


def replay_view(lab: Lab, result: TrainResult) -> bool:
    """Draw the replay when it is switched on; True when it was drawn. The switch is kept with the Lab: Streamlit
    forgets a widget's value on a page that does not draw it, and a reload starts a new browser session."""
    if SHOW not in st.session_state:
        st.session_state[SHOW] = lab.watching
    lab.watching = st.toggle("Watch it learn (replay)", key=SHOW, disabled=locked("play"),
                             help="Every epoch of this run, from its starting weights: ▶ Play and ❚❚ Pause run in "
                                  "your browser; Step moves one epoch.")
    if not lab.watching:
        return False
    index = _frame(result)
    speed_col, step_col = st.columns([3, 1])
    speed = speed_col.select_slider("Play speed (epochs a second)", SPEEDS, value=8, key=SPEED,
                                    disabled=locked("speed")) if shown("speed") else 8
    step_col.button("Step", key="train.step", on_click=_step, args=(result,), width="stretch",
                    disabled=index >= len(result.snapshots) - 1, help="One epoch forward.")
    data = lab.data
    figure = plots.replay_figure(result.snapshots, result.history, data.X_train, data.y_train, data.class_names,
                                 start=index, frame_ms=1000 // speed, units=data.units)
    # The browser reports where a Pause or the slider left the chart: Step goes on from there.
    replay_chart(figure, key="train.replay_chart", on_frame=lambda frame: _hold(result, frame))
    # A callable: the GIF (about 1 MB for 100 epochs) is drawn when the button is clicked, not on every rerun.
    st.download_button("Download the replay (animated GIF)", lambda: replay_gif(
        result.snapshots, data.X_train, data.y_train, frame_ms=1000 // speed), "nnlab-replay.gif", "image/gif",
        key="train.gif", icon=":material/download:", on_click="ignore")  # no rerun: see evaluate.take_it_home
    if result.failed_to_learn:
        st.warning(result.message, icon=":material/warning:")
    return True
