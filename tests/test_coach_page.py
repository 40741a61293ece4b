"""The coach on the Train page under AppTest: the diagnosis after a run that overfits or underfits, the one-click
fix that trains and then says whether it helped, silence on a healthy circles run; and Home's way into the lessons."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import parse_qsl

import pytest
from streamlit.elements.lib import policies
from streamlit.testing.v1 import AppTest

from app_pages.common.session import SESSION
from core.lessons import load_lessons
from core.training.budget import Budget

TIMEOUT = 60


def train_page(link: str) -> AppTest:
    """The app on the Train page, opened with the link's settings and trained once with the Train button."""
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    for key, value in parse_qsl(link):
        at.query_params[key] = value
    at.switch_page("app_pages/train.py").run()
    at.button(key="train.go").click().run()  # the full run the link asks for (a moved slider trains a shorter one)
    no_errors(at)
    return at


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def coach_box(node):
    """The coach's bordered box on the page (its container's key is "coach"), or None."""
    if str(getattr(getattr(node, "proto", None), "id", "")).endswith("-coach"):
        return node
    return next((box for child in getattr(node, "children", {}).values() if (box := coach_box(child))), None)


def diagnosis(at: AppTest) -> str:
    """The coach's diagnosis on the page ('' without one)."""
    box = coach_box(at.main)
    return " ".join(m.value for m in box.markdown if ":material/lightbulb:" in m.value) if box else ""


def verdict(at: AppTest) -> str:
    """The coach's verdict on a fix's run ('' without one)."""
    box = coach_box(at.main)
    return " ".join(e.value for e in [*box.success, *box.info] if e.icon == ":material/compare_arrows:") if box else ""


def fix_button(at: AppTest):
    buttons = [b for b in at.button if b.key == "coach.fix"]
    return buttons[0] if buttons else None


@pytest.mark.parametrize(("link", "words", "outcomes"), [
    ("data=circles&n=400&noise=0.1&ln=0.3&val=0.5&hidden=64,64,64&lr=0.01&ep=300&pat=0", "Overfitting",
     ("it helped",)),
    ("data=moons&ep=10", "Underfitting", ("it helped",)),  # stopped while the loss still fell
    # the spiral: caught, though early stopping's gain there is inside the intervals
    ("data=spiral&hidden=8,8&act=tanh&ep=300&pat=0", "Overfitting", ("it helped", "within the noise")),
], ids=["overfitting flipped labels", "underfitting", "overfitting spiral"])
def test_the_diagnosis_and_its_one_click_fix(link: str, words: str, outcomes: tuple[str, ...]) -> None:
    at = train_page(link)
    lab = at.session_state[SESSION].lab
    trained = lab.trained_settings
    assert words in diagnosis(at) and fix_button(at) is not None
    assert not verdict(at), "no verdict before the fix has trained"
    assert lab.trained_settings is trained, "the coach never trains by itself"
    at.run()  # a rerun is no click: still nothing trains
    assert at.session_state[SESSION].lab.trained_settings is trained
    fix_button(at).click().run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert lab.trained_settings != trained, "the click applied the fix and trained it"
    said = verdict(at)
    assert "validation" in said and any(outcome in said for outcome in outcomes), said
    epochs = at.slider(key="train.epochs")
    assert epochs.value == lab.train_config.epochs and epochs.proto.set_value, "the browser shows the fix's settings"


def test_a_diverged_runs_fix_is_not_told_its_own_run_has_no_validation_accuracy() -> None:
    """QA: RMSprop at 10 diverged; after the fix trained, the coach said "its run has no validation accuracy to
    compare", of the fix's run, which has one: the diverged run before it is the one without."""
    at = train_page("data=circles&opt=rmsprop&lr=10&act=tanh")
    assert "Diverged" in diagnosis(at) and fix_button(at).label == "Fix it: Learning rate 0.001 (10,000× smaller)"
    fix_button(at).click().run()
    no_errors(at)
    said = verdict(at)
    assert "The run before it diverged" in said and "validation" in said, said
    assert "its run has no validation accuracy" not in said, said


def test_the_fix_sets_the_controls_without_streamlits_double_value_warning(monkeypatch) -> None:
    """Streamlit logs 'created with a default value but also had its value set via the Session State API' once per
    process, and only under a real server (runtime.exists()): both are arranged here, and the log is read."""
    said: list[str] = []
    monkeypatch.setattr(policies, "runtime", SimpleNamespace(exists=lambda: True))
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    monkeypatch.setattr(policies._LOGGER, "warning", lambda message, *args, **_kw: said.append(message % args))
    at = train_page("data=circles&hidden=8,8&lr=0.3&ep=100&pat=0")  # every ReLU dies: "Use leaky ReLU"
    assert "Dead units" in diagnosis(at) and fix_button(at).label == "Fix it: Use leaky ReLU"
    said.clear()
    fix_button(at).click().run()
    no_errors(at)
    assert at.selectbox(key="train.arch.activation").value == "leaky_relu", "the control shows the fix"
    assert not [line for line in said if "Session State API" in line], said


def test_a_fix_over_the_servers_budget_says_so_in_one_line() -> None:
    at = train_page("data=moons&ep=10")
    lab = at.session_state[SESSION].lab
    lab.budget = Budget(inline_s=1e-6, max_run_s=1e-5)  # a tiny server: the fix's longer run is refused
    fix_button(at).click().run()
    assert not at.exception
    assert any(e.value.startswith("The fix could not train: This run would take") for e in at.error), at.error
    assert lab.result is not None and not verdict(at)


def test_a_fix_that_a_teachers_link_locks_is_named_but_not_offered() -> None:
    at = train_page("data=moons&ep=10&lock=ep")
    assert "Underfitting" in diagnosis(at) and fix_button(at) is None
    assert any("locks the setting this fix changes" in c.value for c in at.caption)


def test_one_epoch_that_learned_nothing_is_told_to_train_longer_not_to_change_the_rate() -> None:
    """QA, lesson 1's start (one epoch, the learning rate hidden): the warning named the learning rate and the coach
    had nothing to say (a one-epoch run was not read at all)."""
    at = train_page("data=circles&ep=1&pat=0")
    warnings = [w.value for w in at.warning]
    assert any("It trained for only 1 epoch" in w for w in warnings) and not any("learning rate" in w for w in warnings)
    assert "only 1 epoch" in diagnosis(at) and "too few to learn anything" in diagnosis(at)
    assert fix_button(at) is not None and fix_button(at).label == "Fix it: Train up to 1,000 epochs"


def test_the_coachs_fix_on_train_counts_back_in_its_lesson() -> None:
    """QA: lesson 1, then Train and "Fix it: Train up to 1,000 epochs", then back to Lessons: the lesson's Epochs
    slider, new to that page, took the fix's stored 1,000 as no value, started at 1 and retrained the lesson's start
    ("Not yet … 38.3%")."""
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.query_params["lesson"] = "what-a-network-does"
    at.switch_page("app_pages/lessons.py").run()
    at.switch_page("app_pages/train.py").run()
    fix_button(at).click().run()
    assert at.session_state[SESSION].lab.train_config.epochs == 1000
    at.switch_page("app_pages/lessons.py").run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert lab.train_config.epochs == 1000 and lab.result.status != "not_learning", lab.result.message
    assert any(s.value.startswith("**Got it!**") for s in at.success), [w.value for w in at.warning]


def test_a_healthy_circles_run_gets_nothing_to_fix() -> None:
    at = train_page("data=circles")
    assert not diagnosis(at) and fix_button(at) is None
    assert any("nothing to fix" in c.value for c in at.caption)


def test_no_coach_before_a_run_nor_for_an_uploaded_model() -> None:
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.query_params["data"] = "digits"  # digits never train on a page load: no run yet
    at.switch_page("app_pages/train.py").run()
    no_errors(at)
    assert at.session_state[SESSION].lab.result is None and not diagnosis(at) and fix_button(at) is None
    at = train_page("data=moons&ep=10")
    assert diagnosis(at)
    lab = at.session_state[SESSION].lab
    lab.load_model_file(lab.model_file())  # as the Predict page's upload does
    at.run()
    no_errors(at)
    assert not diagnosis(at) and fix_button(at) is None
    assert not any("nothing to fix" in c.value for c in at.caption)


def test_home_starts_the_first_lesson_and_lists_them_all() -> None:
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT).run()
    no_errors(at)
    lessons, links = load_lessons(), {link.proto.label: link.proto for link in at.get("page_link")}
    assert any(f"0 of {len(lessons)} lessons done" in p.proto.text for p in at.get("progress"))
    assert all(any(lesson.title in label for label in links) for lesson in lessons), links
    start = links[f"Start the first lesson: {lessons[0].title}"]
    assert start.page == "lessons" and start.query_string == f"lesson={lessons[0].id}"
    for key, value in parse_qsl(start.query_string):  # what following the link does in a browser
        at.query_params[key] = value
    at.switch_page("app_pages/lessons.py").run()
    no_errors(at)
    assert at.title[0].value == lessons[0].title and at.session_state[SESSION].lab.lesson == lessons[0].id
    at.session_state[SESSION].lab.lessons_done = frozenset({lessons[0].id})  # as a passed check records it
    at.switch_page("app_pages/home.py").run()
    no_errors(at)
    assert any(f"1 of {len(lessons)} lessons done" in p.proto.text for p in at.get("progress"))
    ticked = [link.proto.label for link in at.get("page_link") if link.proto.icon == ":material/check_circle:"]
    assert ticked == [f"1 · {lessons[0].title}"]
