"""The session's settings live in one object, and a slider move reaches the optimizer in a few short hops
(issue 21): measured on the real app under AppTest."""

from __future__ import annotations

import dataclasses
import traceback
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.common.session import SESSION, Session
from core.config import DataConfig, ModelConfig, Settings, TrainConfig
from tests.conftest import ROOT

CONFIGS = (Settings, DataConfig, ModelConfig, TrainConfig)
WIDGET_PREFIXES = ("home.", "data.", "model.", "inside.", "train.", "evaluate.", "predict.", "runs.", "sweep.",
                   "board.", "session.")
MAX_FILES = 4


def holds_config(value: object, depth: int = 0) -> bool:
    """True when `value` is a settings dataclass or holds one in a tuple, list, set or dict (a few levels)."""
    if isinstance(value, CONFIGS):
        return True
    if depth > 3:
        return False
    if isinstance(value, dict):
        return any(holds_config(v, depth + 1) or holds_config(k, depth + 1) for k, v in value.items())
    if isinstance(value, (tuple, list, set, frozenset)):
        return any(holds_config(v, depth + 1) for v in value)
    return False


def train_page() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    return at.switch_page("app_pages/train.py").run()


def test_after_a_slider_move_only_the_session_object_holds_settings() -> None:
    at = train_page()
    at.select_slider(key="train.lr").set_value(0.1).run()
    assert not at.exception
    state = {key: at.session_state[key] for key in at.session_state}  # filtered_state: the app's own keys
    assert isinstance(state.pop(SESSION), Session)
    holders = [key for key, value in state.items() if holds_config(value) and not key.startswith(WIDGET_PREFIXES)]
    assert holders == []
    assert at.session_state[SESSION].lab.train_config.lr == 0.1


def test_the_checker_sees_settings_wherever_they_hide() -> None:
    assert holds_config((DataConfig(), ModelConfig(), TrainConfig()))
    assert holds_config({"a": [Settings()]}) and not holds_config({"a": [1, "x"]})


def test_a_learning_rate_move_reaches_the_optimizer_in_a_few_files(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.training.train as train_module

    at = train_page()
    stacks: list[list[traceback.FrameSummary]] = []
    original = train_module.make_optimizer

    def recording(model, config):
        stacks.append(traceback.extract_stack()[:-1])  # the callers, outermost first
        return original(model, config)

    monkeypatch.setattr(train_module, "make_optimizer", recording)
    at.select_slider(key="train.lr").set_value(0.1).run()
    assert not at.exception and stacks, "the move trained a run (inline, in the page's thread)"
    for stack in stacks:
        files = [Path(frame.filename).resolve() for frame in stack]
        ours = [f.relative_to(ROOT).as_posix() for f in files if f == ROOT / "app.py"
                or any(ROOT / top in f.parents for top in ("core", "app_pages"))]
        ours.append(Path(original.__code__.co_filename).resolve().relative_to(ROOT).as_posix())  # make_optimizer's
        entered = [f for i, f in enumerate(ours) if i == 0 or ours[i - 1] != f]  # a run of frames in one file
        assert entered[:2] == ["app.py", "app_pages/train.py"], entered  # from the page itself, through the Lab
        assert len(set(entered)) <= MAX_FILES and len(entered) == len(set(entered)), entered


def test_holds_config_is_not_fooled_by_plain_dataclasses() -> None:
    @dataclasses.dataclass
    class Other:
        x: int = 1

    assert not holds_config(Other())
