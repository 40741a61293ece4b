"""A replay (core.plots.replay_figure) on a page: the chart, and a guard that keeps its ❚❚ Pause quiet.

Pausing a replay mid-Play made the browser report an error each time ("Uncaught (in promise) undefined"): Plotly
rejects the promise of the animation that Pause interrupts, and its Play button never handles that promise.
Nothing is wrong, so replay_chart.js (beside this file) cancels those reports, and only those: a rejection with no
reason in the moment after a chart's animation was interrupted.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    import plotly.graph_objects as go

GUARD = "replay-guard"  # the guard's key prefix
# Two lines: Streamlit takes a one-line string with "[" or "*" in it for a file's path, not for CSS.
CSS = f"""/* The guard draws nothing: its box takes no room. */
[class*="st-key-{GUARD}-"] {{ display: none; }}"""

_guard = st.components.v2.component("nnlab_replay_guard", js=Path(__file__).with_name("replay_chart.js").read_text(),
                                    css=CSS, isolate_styles=False)


def replay_chart(figure: go.Figure, *, key: str) -> None:
    """Draw a replay figure under `key`, with the guard (installed once per browser page, whatever mounts it)."""
    _guard(key=f"{GUARD}.{key}")
    st.plotly_chart(figure, key=key)
