"""A replay (core.plots.replay_figure) on a page: the chart, and a small component beside it (replay_chart.js).

The component does two things in the browser. It keeps the replay's ❚❚ Pause quiet: Plotly rejects the promise of
the animation that Pause interrupts and its Play button never handles that promise, so the browser reported an
error each time ("Uncaught (in promise) undefined"); the component cancels those reports, and only those. And, for
a page that asks (`on_frame`), it tells the server the frame the chart came to rest on after a Pause, a slider move
or the end of a Play, so that the page's own Step and Reset go on from the frame on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    import plotly.graph_objects as go

GUARD = "replay-guard"  # the component's key prefix
# Two lines: Streamlit takes a one-line string with "[" or "*" in it for a file's path, not for CSS.
CSS = f"""/* The component draws nothing: its box takes no room. */
[class*="st-key-{GUARD}-"] {{ display: none; }}"""

_guard = st.components.v2.component("nnlab_replay_guard", js=Path(__file__).with_name("replay_chart.js").read_text(),
                                    css=CSS, isolate_styles=False)


def replay_chart(figure: go.Figure, *, key: str, on_frame: Callable[[int], None] | None = None) -> None:
    """Draw a replay figure under `key`, with its component. With `on_frame`, the browser reports the frame index a
    Pause or the slider left the chart on (once it is at rest, never during a Play): `on_frame(index)` is called
    then, as a widget callback, before the rerun."""
    guard_key = f"{GUARD}.{key}"
    if on_frame is None:  # nothing is reported: a Pause costs no rerun
        _guard(key=guard_key)
    else:  # the frame the server draws first, to report only a frame that differs from it
        _guard(key=guard_key, data={"chart": key, "frame": figure.layout.sliders[0].active},
               on_frame_change=lambda: on_frame(int(st.session_state[guard_key]["frame"])))
    st.plotly_chart(figure, key=key)
