"""The Lessons page under AppTest: the list with progress, a lesson opened from its link, the learner's run
checked after every training ("Got it"), a digit lesson trained with the Train button, and a reload."""

from __future__ import annotations

from urllib.parse import urlsplit

from streamlit.testing.v1 import AppTest

from app_pages.common.session import SESSION
from app_pages.common.tab_secret import TEST_SECRET
from app_pages.common.ui import literal
from app_pages.lesson_view import START_NOTE
from core.lessons import find_lesson, load_lessons
from core.lessons.facts import ENDINGS
from core.url.state import decode_url
from tests.conftest import wait_until
from tests.test_data_page_draw import shared_link

TIMEOUT = 60


def lesson_page(lesson_id: str | None = None, **params: str) -> AppTest:
    """The app on the Lessons page, opened with ?lesson=ID (and any other parameters)."""
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    if lesson_id is not None:
        at.query_params["lesson"] = lesson_id
    for key, value in params.items():
        at.query_params[key] = value
    return at.switch_page("app_pages/lessons.py").run()


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def got_it(at: AppTest) -> bool:
    return any("Got it" in s.value for s in at.success)


def test_the_list_shows_every_lesson_and_no_progress_yet() -> None:
    at = lesson_page()
    no_errors(at)
    assert at.title[0].value == "Lessons"
    assert len([b for b in at.button if str(b.key).startswith("lessons.open.")]) == len(load_lessons())
    assert f"0 of {len(load_lessons())} lessons done" in at.get("progress")[0].proto.text


def test_a_lesson_link_opens_it_and_a_moved_slider_gets_it_done() -> None:
    at = lesson_page("hidden-units")
    no_errors(at)
    lesson = find_lesson("hidden-units")
    lab = at.session_state[SESSION].lab
    assert at.title[0].value == lesson.title and lab.lesson == lesson.id
    assert lab.settings == lesson.settings("start"), "the page trains exactly the start that --check measured"
    assert any("Not yet" in w.value for w in at.warning) and not got_it(at)
    assert at.selectbox(key="train.arch.activation").disabled, "the lesson locks the activation"
    assert not at.get("button_group"), "and hides the input features"
    at.select_slider(key="train.arch.units").set_value(2).run()
    assert any("Hint:" in c.value for c in at.caption), "a failed run of the learner's own brings a hint"
    at.select_slider(key="train.arch.units").set_value(3).run()
    no_errors(at)
    assert got_it(at)
    assert any("What just happened" in m.value for m in at.markdown)
    assert at.session_state[SESSION].lab.lessons_done == {"hidden-units"}
    at.button(key="lessons.restart").click().run()
    assert at.session_state[SESSION].lab.settings == lesson.settings("start") and not got_it(at)
    assert at.session_state[SESSION].lab.lessons_done == {"hidden-units"}, "starting again keeps the progress"
    at.button(key="lessons.next").click().run()
    assert at.session_state[SESSION].lab.lesson == "depth"
    at.button(key="lessons.back").click().run()
    assert at.title[0].value == "Lessons"
    assert f"1 of {len(load_lessons())} lessons done" in at.get("progress")[0].proto.text
    assert not at.session_state[SESSION].classroom.lock, "leaving the lesson frees its controls"


def test_progress_survives_a_reload() -> None:
    at = lesson_page("hidden-units")
    at.select_slider(key="train.arch.units").set_value(3).run()
    assert got_it(at)
    token = at.query_params["s"]
    again = lesson_page(**{key: at.query_params[key] for key in at.query_params})  # the same address
    no_errors(again)
    assert "s" in again.query_params and again.query_params["s"] == token, "the same tab finds its session"
    assert again.session_state[SESSION].lab.lessons_done == {"hidden-units"}
    assert got_it(again), "the run that passed is still there"


def test_a_link_shared_from_an_open_lesson_opens_that_lesson_in_another_tab() -> None:
    """Share on the Lessons page gave a link without lesson=: a student who opened it landed on the list. It names
    the open lesson now (and the dialog says so), and the student's tab opens it at its start. The link holds the
    start too, not the teacher's moved controls, which "Back to the link's setup" would hand the student."""
    lesson = find_lesson("hidden-units")
    teacher = lesson_page(lesson.id)
    teacher.select_slider(key="train.arch.units").set_value(3).run()  # the teacher solved it: the link must not
    assert got_it(teacher)
    teacher.context["url"] = "http://localhost:8501/lessons"  # what the browser reports (st.context.url)
    link, query = shared_link(teacher)
    assert urlsplit(link).path == "/lessons" and query["lesson"] == lesson.id and "s" not in query, link
    assert decode_url(link).settings == lesson.settings("start"), "the teacher's solution stays out of the link"
    assert any(f"open the lesson “{literal(lesson.title)}” at its start" in c.value for c in teacher.caption)
    student = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    student.query_params.update(query)
    student.session_state[TEST_SECRET] = "S" * 43  # another browser tab
    student.switch_page("app_pages/lessons.py").run()
    no_errors(student)
    lab = student.session_state[SESSION].lab
    assert student.title[0].value == lesson.title and lab.lesson == lesson.id
    assert lab.settings == lesson.settings("start") and not got_it(student) and not lab.lessons_done
    assert student.selectbox(key="train.arch.activation").disabled, "the lesson's own lock"
    assert "session.back" not in [b.key for b in student.sidebar.button]


def test_a_digit_lesson_trains_with_the_train_button() -> None:
    at = lesson_page("confusion-matrix")
    no_errors(at)
    assert any("Press **Train**" in i.value for i in at.info)
    at.slider(key="train.epochs").set_value(5).run()
    at.button(key="lessons.train").click().run()
    wait_for_the_run(at)
    no_errors(at)
    assert got_it(at), [w.value for w in at.warning]


def test_an_unknown_lesson_says_so_and_shows_the_list() -> None:
    at = lesson_page("no-such-lesson")
    assert at.error and "There is no lesson 'no-such-lesson'" in at.error[0].value
    assert at.title[0].value == "Lessons"


def test_every_lesson_opens_on_its_start() -> None:
    at = lesson_page()
    for lesson in load_lessons():
        at.query_params["lesson"] = lesson.id
        at.run()
        no_errors(at)
        lab = at.session_state[SESSION].lab
        assert lab.lesson == lesson.id and at.title[0].value == lesson.title
        assert lab.settings == lesson.settings("start"), f"{lesson.id}: the page's controls keep the start as it is"
        assert not got_it(at), f"{lesson.id}: the start must not pass"


def test_a_lesson_moves_a_data_control_too() -> None:
    at = lesson_page("label-noise")
    assert not got_it(at) and not [s for s in at.slider if s.key == "data.lesson_n"], "the lesson hides Samples"
    at.slider(key="data.ln").set_value(0.2).run()
    no_errors(at)
    assert at.session_state[SESSION].lab.data_config.label_noise == 0.2
    assert got_it(at), [w.value for w in at.warning]


def wait_for_the_run(at: AppTest) -> None:
    """Until the lab's worker has finished (failing after TIMEOUT), then the page run that checks it."""
    lab = at.session_state[SESSION].lab
    wait_until(lambda: not lab.training, timeout=TIMEOUT, what="the lesson's run")
    at.run()


def test_overfitting_asks_for_a_network_that_fits_its_training_points() -> None:
    """QA: a 3-3-3 network passed "Make it overfit" on its 13.7% gap at 87.5% training accuracy, and the lesson then
    told of three layers of 128 units. Overfitting is near-perfect training accuracy far above validation: a gap
    alone is not enough. The readout shows both parts, as the learner reads them (the gap at 8 units reads 10.0%:
    0.9 - 0.8 is 0.0999... in floating point)."""
    at = lesson_page("overfitting")
    at.select_slider(key="train.arch.units").set_value(8).run()
    wait_for_the_run(at)
    no_errors(at)
    assert not got_it(at)
    assert any(f"Your run: {literal('training accuracy 90.0% · train–validation gap 10.0%')}." in w.value
               for w in at.warning), [w.value for w in at.warning]
    assert any(c.value == f"Check: {literal('training accuracy ≥ 95% and train–validation gap ≥ 10%')}"
               for c in at.caption)
    at.slider(key="train.arch.layers").set_value(3).run()
    at.select_slider(key="train.arch.units").set_value(3).run()
    wait_for_the_run(at)
    no_errors(at)
    assert not got_it(at), [w.value for w in at.warning]  # the QA's 3-3-3
    assert any("Not yet" in w.value and "training accuracy" in w.value for w in at.warning), at.warning
    at.select_slider(key="train.arch.units").set_value(128).run()  # the hint's
    wait_for_the_run(at)
    no_errors(at)
    assert got_it(at), [w.value for w in at.warning]


def test_the_start_says_it_does_not_count_and_how_a_run_ended_reads_as_words() -> None:
    """QA: Train at a lesson's unchanged start gave "Not yet" and no reason; lesson 6 read "Your run: how the run
    ended completed"."""
    at = lesson_page("learning-rate-too-large")
    no_errors(at)
    assert any(c.value == f"Check: {literal('the run diverged')}" for c in at.caption)
    for press_train in (False, True):
        if press_train:  # Train pressed at the unchanged start: the same run again, and the same reason
            before = at.session_state[SESSION].lab.result
            at.button(key="lessons.train").click().run()
            wait_for_the_run(at)
            no_errors(at)
            assert at.session_state[SESSION].lab.result is not before, "Train ran the start again"
        warning = next(w.value for w in at.warning if "Not yet" in w.value)
        assert "how the run ended" not in warning and "_" not in warning, warning
        assert any(warning.endswith(f"Your run: {literal(words)}.") for _, words in ENDINGS), warning
        assert any(c.value == START_NOTE for c in at.caption)
    at.select_slider(key="train.lr").set_value(0.03).run()  # the learner's own run: it counts, and says no more
    wait_for_the_run(at)
    no_errors(at)
    assert any("Not yet" in w.value for w in at.warning) and not any(c.value == START_NOTE for c in at.caption)
    assert any("Hint:" in c.value for c in at.caption)
