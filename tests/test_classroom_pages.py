"""The classroom under AppTest: settings in the URL, the session store, hostile links, hidden and locked controls.
Every AppTest is the same browser tab unless it sets st.session_state[TEST_SECRET] (see tab_secret.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_pages.common.session import NOTICE_TITLE, SESSION, session_store
from app_pages.common.session_store import copy_lab, lab_nbytes
from app_pages.common.share import link_page
from app_pages.common.tab_secret import TEST_SECRET
from app_pages.common.ui import load_dataset
from core.config import DataConfig
from core.history.memsize import approx_nbytes
from core.history.store import SessionStore, StoreLimits
from core.lab import Lab
from core.sweep.grid import Axis, SweepSpec
from core.sweep.job import SweepJob
from core.url.state import decode
from core.url.text import new_token
from tests.conftest import wait_until

TIMEOUT = 60
HOSTILE = {  # query parameters -> a fragment of the line the notice must show for it
    "script-as-data": ({"data": "<script>alert(1)</script>"}, "data=?script?alert(1)?/script? ignored"),
    "unknown-data": ({"data": "imagenet"}, "data=imagenet ignored"),
    "unknown-model": ({"model": "transformer"}, "model=transformer ignored"),
    "cnn-on-points": ({"data": "circles", "model": "cnn"}, "model=cnn ignored"),
    "word-for-number": ({"lr": "fast"}, "lr=fast ignored"),
    "negative-lr": ({"lr": "-1"}, "lr=-1 ignored"),
    "infinite-lr": ({"lr": "1e999"}, "lr=1e999 ignored"),
    "nan-noise": ({"noise": "NaN"}, "noise=NaN ignored"),
    "huge-samples": ({"n": "99999999999"}, "n=99999999999 ignored"),
    "zero-epochs": ({"ep": "0"}, "ep=0 ignored"),
    "negative-batch": ({"bs": "-5"}, "bs=-5 ignored"),
    "bad-hidden": ({"hidden": "8,x"}, "hidden=8,x ignored"),
    "too-many-layers": ({"hidden": ",".join(["8"] * 40)}, "hidden="),
    "ten-thousand-chars": ({"noise": "9" * 10_000}, "noise ignored: its value is 10,000 characters long"),
    "markdown-link": ({"act": "[x](javascript:alert(1))"}, "act=?x?(javascript:alert(1)) ignored"),
    "latex-and-bold": ({"opt": "$$\\int$$**b**"}, "opt="),
    "repeated-key": ({"lr": ["0.1", "0.3"]}, "lr was given 2 times"),
    "unknown-name": ({"foo": "bar"}, "unknown setting foo ignored"),
    "unknown-hide": ({"hide": "everything,lr"}, "hide: unknown name everything ignored"),
    "markup-lock": ({"lock": "<b>lr</b>"}, "lock: unknown name ?b?lr?/b? ignored"),
    "unknown-page": ({"pages": "admin"}, "pages: unknown name admin ignored"),
    "bad-token": ({"s": "../../etc/passwd"}, "s=../../etc/passwd ignored"),
    "path-as-page": ({"page": "../../secret"}, "page=../../secret ignored"),
    "control-chars": ({"sched": "cos\x00ine\x1b[31m"}, "sched="),
    "right-to-left": ({"data": "circles\u202egnp"}, "data=circles?gnp ignored"),
    "too-many-params": ({f"k{i}": "1" for i in range(80)}, "more parameters ignored"),
    "too-many-classes": ({"data": "blobs", "classes": "99"}, "classes=99 ignored"),
}


def app(params: dict | None = None) -> AppTest:
    """The app (router, sidebar, URL sync) as opened from a link with these query parameters."""
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.query_params.update(params or {})
    return at


def notice_lines(at: AppTest) -> list[str]:
    """The notice's lines as the user reads them (Markdown escapes removed)."""
    for caption in at.main.caption:
        title, *lines = caption.value.replace("\\", "").split("  \n")
        if title == NOTICE_TITLE:
            return [line.removeprefix("· ") for line in lines]
    return []


def param(at: AppTest, key: str) -> str:
    """The URL's value for `key` after the run (AppTest keeps a list for a name set more than once)."""
    value = at.query_params[key]
    return value if isinstance(value, str) else value[-1]


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_a_hostile_link_gives_the_notice_and_the_session_works(case: str) -> None:
    params, expected = HOSTILE[case]
    at = app(params).run()
    no_errors(at)
    lines = notice_lines(at)
    assert any(expected in line for line in lines), (expected, lines)
    assert len(lines) == len(set(lines)), "each ignored value is listed once"
    assert list(at.session_state[SESSION].problems) == list(decode(params).problems)
    shown = " ".join(m.value for m in [*at.markdown, *at.caption])
    assert "<script" not in shown and "<b>" not in shown and "](javascript" not in shown
    at.switch_page("app_pages/train.py").run()  # the session still works: a page with a trained model
    no_errors(at)
    assert at.session_state[SESSION].lab.model is not None
    at.button(key="session.dismiss").click().run()
    assert not notice_lines(at) and not at.session_state[SESSION].problems


def test_a_huge_subset_is_limited_to_the_images_there_are_and_says_how_many() -> None:
    """QA: subset=99999999 said "subset=1e+08 limited to 60000 images"; the data had far fewer."""
    at = app({"data": "digits", "subset": "99999999"}).run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    there = len(load_dataset(replace(lab.data_config, train_size=None)).y_train)
    assert there < 60_000 and lab.data_config.train_size == there and len(lab.data.y_train) == there
    assert f"subset=99999999 limited to {there} images, all the training images there are." in notice_lines(at)


def test_the_url_mirrors_the_settings_and_follows_a_slider() -> None:
    at = app({"data": "moons", "noise": "0.2", "hidden": "4,4"}).run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert (lab.data_config.name, lab.data_config.noise, lab.model_config.hidden) == ("moons", 0.2, (4, 4))
    assert param(at, "data") == "moons" and param(at, "hidden") == "4,4"
    assert param(at, "s") == at.session_state[SESSION].token
    at.switch_page("app_pages/data.py").run()
    assert at.slider(key="data.noise").value == 0.2  # the widget starts from the link's value
    at.slider(key="data.noise").set_value(0.3).run()
    no_errors(at)
    assert param(at, "noise") == "0.3"


def test_another_browser_on_a_live_token_gets_a_fresh_lab_from_the_link(monkeypatch: pytest.MonkeyPatch) -> None:
    first = app({"data": "xor", "hidden": "4"}).run()
    token, lab = first.session_state[SESSION].token, first.session_state[SESSION].lab
    monkeypatch.setattr("app_pages.common.session._session_id", lambda: "another browser")  # AppTest has one id
    second = app({key: param(first, key) for key in first.query_params})  # the whole address bar, s= and all
    second.session_state[TEST_SECRET] = "another browser's tab secret"
    second.run()
    no_errors(second)
    fresh = second.session_state[SESSION].lab
    assert second.session_state[SESSION].token != token and param(second, "s") == second.session_state[SESSION].token
    assert fresh is not lab and fresh.model is not lab.model and fresh.data_config == lab.data_config
    assert fresh.model_config.hidden == (4,)  # built from the link's settings, as a share link would be
    assert any("belongs to another browser tab" in m.value for m in second.main.markdown)
    assert session_store().get(token).value is lab  # the first session's Lab is untouched


def test_the_same_tab_open_twice_gets_a_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    first = app({"data": "xor"}).run()
    token, lab = first.session_state[SESSION].token, first.session_state[SESSION].lab
    monkeypatch.setattr("app_pages.common.session._session_id", lambda: "a duplicated tab")  # same sessionStorage
    second = app({"s": token}).run()
    no_errors(second)
    twin = second.session_state[SESSION].lab
    assert second.session_state[SESSION].token != token and twin is not lab
    assert twin.evaluation().test.accuracy == lab.evaluation().test.accuracy
    assert any("your own copy" in m.value for m in second.main.markdown)
    assert session_store().get(token).value is lab
    result = twin.result
    second.switch_page("app_pages/train.py").run()
    assert second.session_state[SESSION].lab.result is result, "the Train page keeps the found model, no auto-train"


def test_an_unknown_token_says_so_and_gets_a_fresh_one() -> None:
    stale = new_token()
    at = app({"s": stale, "data": "moons"}).run()
    no_errors(at)
    assert any("not known to the server" in m.value for m in at.main.markdown)
    assert at.session_state[SESSION].token != stale and at.session_state[SESSION].lab.data_config.name == "moons"


def test_hidden_and_locked_controls() -> None:
    at = app({"hide": "opt,auto,noise", "lock": "lr,data", "lr": "0.1"}).run()
    at.switch_page("app_pages/train.py").run()
    no_errors(at)
    assert not [s for s in at.selectbox if s.key == "train.opt"]
    assert not [t for t in at.toggle if t.key == "train.auto"]
    lr = at.select_slider(key="train.lr")
    assert lr.disabled and lr.value == 0.1
    at.switch_page("app_pages/data.py").run()
    assert at.selectbox(key="data.name").disabled
    assert not [s for s in at.slider if s.key == "data.noise"]
    assert param(at, "lock") == "lr,data" and param(at, "lr") == "0.1"


@pytest.mark.parametrize("reload", [False, True], ids=["link", "reloaded"])
def test_a_lock_survives_new_data_and_back_to_the_link(reload: bool) -> None:
    at = app({"lock": "lr", "lr": "0.1", "hidden": "4"}).run()
    if reload:  # the same address bar again: the token's Lab, the lock still kept
        at = app({key: param(at, key) for key in at.query_params}).run()
    at.switch_page("app_pages/data.py").run()
    at.selectbox(key="data.name").set_value("digits").run()  # would bring the digits' own training preset
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert lab.data_config.name == "digits" and lab.train_config.lr == 0.1
    assert lab.train_config.epochs != 100, "unlocked settings do take the digits' preset"
    if reload:
        return
    at.button(key="session.back").click().run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert lab.model_config.kind == "mlp" and lab.model_config.hidden == (4,) and lab.model is not None


class Clock:
    """A clock the test moves forward by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_expired_session_says_so_and_retrains_with_the_same_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    store = SessionStore(StoreLimits(ttl_min=120), size_of=lab_nbytes, copier=copy_lab, clock=clock)
    monkeypatch.setattr("app_pages.common.session.session_store", lambda: store)
    first = app({"data": "digits", "subset": "300", "ep": "1"}).run()
    query = {key: param(first, key) for key in first.query_params}
    clock.now += 121 * 60
    at = app(query).run()  # the same address bar, two hours later
    no_errors(at)
    assert any("cleared after 2 hours without use" in m.value for m in at.main.markdown)
    lab = at.session_state[SESSION].lab
    assert lab.model is None and lab.data_config == first.session_state[SESSION].lab.data_config
    assert at.session_state[SESSION].token != query["s"]
    at.button(key="session.retrain").click().run()
    wait_until(lambda: lab.poll() is not None and lab.poll().done, what="the retraining run")
    assert lab.model is not None and lab.train_config.epochs == 1


def test_a_running_lab_forks_without_its_job_and_its_dataset_is_not_counted() -> None:
    lab = Lab()
    config = DataConfig(name="digits", train_size=300)
    lab.set_data(config, load_dataset(config))
    lab.train(replace(lab.train_config, epochs=50))
    lab.sweep = SweepJob(SweepSpec(lab.data_config, lab.model_config, lab.train_config, (Axis("lr", (0.1,)),)),
                         lab.data)  # not started: a handle with its lock, as a running one has
    lab.handwriting = lab.handwriting.add(np.eye(28, dtype=np.float32), 1, n_classes=10)
    try:
        twin = copy_lab(lab)
        assert twin.job is None and twin.data is lab.data and twin.model_config == lab.model_config
        assert twin.sweep is None and len(twin.handwriting) == 1 and twin.board_id == lab.board_id
    finally:
        lab.stop()
    assert lab_nbytes(lab) < approx_nbytes(lab) - lab.data.X_train.nbytes // 2


@pytest.mark.parametrize(("url", "pages", "expected"), [
    ("http://host:8501/train", ("data", "train"), "http://host:8501/train"),
    ("http://host:8501/predict", ("data", "train"), "http://host:8501/"),
    ("http://host/nnlab/predict", ("train",), "http://host/nnlab/"),
    ("http://host:8501/predict", (), "http://host:8501/predict"),
    ("http://host:8501/", ("train",), "http://host:8501/"),
])
def test_a_share_link_never_opens_a_page_it_hides(url: str, pages: tuple[str, ...], expected: str) -> None:
    assert link_page(url, pages) == expected


def test_pages_left_out_of_the_navigation_keep_the_links_between_pages_working() -> None:
    at = app({"pages": "home,data"}).run()  # Home links to every page; Data to the Model page
    no_errors(at)
    at.switch_page("app_pages/data.py").run()
    no_errors(at)
    assert at.session_state[SESSION].lab.model is not None


def test_a_page_that_stops_on_a_fresh_sessions_first_run_still_gets_a_token() -> None:
    at = app({"data": "moons"})
    at.switch_page("app_pages/board.py").run()  # no board yet: the page shows its start form, then st.stop()
    no_errors(at)
    token = at.session_state[SESSION].token
    assert param(at, "s") == token and param(at, "data") == "moons"
    assert session_store().get(token).value is at.session_state[SESSION].lab
