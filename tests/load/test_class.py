"""A class on one server without browsers (crowd.py): the short form runs in `make test`, the full capacity run
(marker `capacity`, `make test-capacity`) finds the knee. Figures go to test-artifacts/latency.json with the day's
`import torch` time.

Short form: 30 students arrive within 10 s and open Train, move a slider every 3-8 s for SHORT_S seconds; five
train MNIST and three of those open Inside and Predict with a test digit (when the MNIST files are here). It asserts
no error and no lost move, and records the p95. The capacity run plays the whole scenario (two minutes of moves)
at 10, 30, 60 and 100 students on fresh servers and records where the p95 passes 1 s and 3 s.
"""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from tests.browser.helpers import record_latency
from tests.load.conftest import play_class
from tests.load.crowd import ClassPlan
from tests.load.measure import knee

SHORT_S = 40.0
SHORT = ClassPlan(sessions=30, arrive_within_s=10.0, moving_s=SHORT_S)
LEVELS = (10, 30, 60, 100)
FULL = ClassPlan(moving_s=120.0)
P95_TARGET_MS = 1000.0  # at 30 students, on a quiet machine
CEILING = 3.0  # the test asserts 3x the target: this machine is shared


def test_a_class_of_thirty_short(artifacts, machine_speed) -> None:
    figures = play_class(SHORT, artifacts / "streamlit-class-short.log")
    record_latency(class_short=figures)
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["moves_lost"] == 0, f"{figures['moves_lost']} moves never finished with their value"
    assert figures["moves_done"] >= SHORT.sessions, f"only {figures['moves_done']} of {figures['moves']} moves done"
    if figures["mnist_files"]:
        assert figures["mnist_runs"] == SHORT.mnist and len(figures["inside_digits"]) == SHORT.inspect, figures
        # Predict opened with the test digit answers, unless st.switch_page lost the tab's secret (recorded above)
        assert len(figures["predictions"]) + figures["predict_stuck_after_switch_page"] == SHORT.inspect, figures
    assert figures["stale_sidebar"] == 0, "a finished run's sidebar still said 'Training'"


@pytest.mark.capacity
@pytest.mark.timeout(3600)
def test_capacity_knee(artifacts, machine_speed) -> None:
    levels = {}
    for sessions in LEVELS:
        levels[sessions] = play_class(replace(FULL, sessions=sessions),
                                      artifacts / f"streamlit-capacity-{sessions}.log")
        record_latency(capacity={str(n): figures for n, figures in levels.items()})
    found = knee(levels, os.cpu_count() or 1)
    record_latency(capacity_knee=found)
    at_thirty = levels[30]
    assert at_thirty["errors"] == 0 and at_thirty["moves_lost"] == 0, at_thirty
    assert at_thirty["move_ms_p95_with_superseded"] <= CEILING * P95_TARGET_MS, found
