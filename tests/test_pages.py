"""Every page under Streamlit's AppTest: its happy path, its missing prerequisite, and bad input."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from app_pages.common.session import SESSION, Session
from app_pages.common.ui import load_dataset
from core.config import DataConfig
from core.lab import Lab

TIMEOUT = 60
CIRCLES = DataConfig(name="circles", n_samples=200)


def page(name: str, lab: Lab | None = None) -> AppTest:
    """The app (router and sidebar included) switched to one page, optionally with a prepared Lab."""
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    if lab is not None:
        at.session_state[SESSION] = Session(lab)
    return at.switch_page(f"app_pages/{name}.py")


def ready_lab(config: DataConfig = CIRCLES, *, train: bool = True) -> Lab:
    lab = Lab()
    lab.set_data(config, load_dataset(config))
    if train:
        lab.train(lab.train_config, wait=True)
    return lab


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_app_router_runs_home_and_sidebar() -> None:
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT).run()
    no_errors(at)
    assert at.title[0].value == "NN Lab"
    assert any("Data" in m.value for m in at.sidebar.markdown)
    assert len(at.get("plotly_chart")) == 1, "Home shows the example run, ready to Play"
    assert any("Press **▶ Play**" in c.value for c in at.caption)


def test_data_page_defaults_to_circles_and_redraws_on_slider() -> None:
    at = page("data").run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert lab.data.name == "circles"
    at.slider(key="data.noise").set_value(0.3).run()
    no_errors(at)
    assert at.session_state[SESSION].lab.data_config.noise == 0.3


def test_data_page_offline_digits() -> None:
    at = page("data").run()
    at.selectbox(key="data.name").set_value("digits").run()
    no_errors(at)
    assert at.session_state[SESSION].lab.data.is_image


def test_data_page_missing_mnist_gives_guidance(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("core.data.make._mnist_full", lambda folder, download: None)  # no network in tests
    at = page("data").run()
    at.selectbox(key="data.name").set_value("mnist").run()
    assert not at.exception
    assert at.error and "t10k-images-idx3-ubyte" in at.error[0].value
    assert any("Digits" in c.value for c in at.caption)


@pytest.mark.parametrize("name", ["data", "model", "train", "evaluate", "predict"])
def test_every_page_opened_fresh_is_alive_with_the_default_circles(name: str) -> None:
    at = page(name).run()  # as a bookmarked or shared link: no earlier page, no click
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert lab.data.name == "circles" and lab.model is not None
    assert not any("first" in i.value.lower() for i in at.info), [i.value for i in at.info]
    if name in ("train", "evaluate"):
        assert any(m.label.endswith("accuracy") and float(m.value.rstrip("%")) > 90 for m in at.metric)
    # Predict on 2-D data ends early (end_page): the sidebar's summary is still drawn after it.
    assert "**Trained** · converged" in " ".join(m.value for m in at.sidebar.markdown), at.sidebar.markdown


@pytest.mark.parametrize("name", ["evaluate", "predict"])
def test_pages_without_a_model_say_what_to_do(name: str) -> None:
    lab = ready_lab(train=False)
    at = page(name, lab).run()
    assert not at.exception
    assert any("train" in i.value.lower() for i in at.info)
    assert "**Trained** · not yet" in [m.value for m in at.sidebar.markdown], "summary after an early end"


def test_model_page_sliders_change_the_network() -> None:
    at = page("model", ready_lab(train=False)).run()
    no_errors(at)
    at.slider(key="model.layers").set_value(3).run()
    at.select_slider(key="model.units").set_value(32).run()
    no_errors(at)
    assert at.session_state[SESSION].lab.model_config.hidden == (32, 32, 32)
    # 2 inputs -> 32 -> 32 -> 32 -> 2 outputs: weights plus biases of each dense layer.
    assert at.metric[0].value == f"{(2 * 32 + 32) + 2 * (32 * 32 + 32) + (32 * 2 + 2):,}"


def test_train_page_auto_trains_2d_and_follows_the_units_slider() -> None:
    at = page("train", ready_lab(train=False)).run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    # Auto-train stops once the training loss has settled: the same boundary for a fraction of the steps.
    assert lab.result is not None and lab.result.status == "converged"
    assert len(lab.result.history) < lab.train_config.epochs
    at.select_slider(key="train.arch.units").set_value(2).run()
    no_errors(at)
    assert at.session_state[SESSION].lab.model_config.hidden[0] == 2
    # The card names its split: validation during training; the test split is kept for Evaluate.
    assert any(m.label == "Validation accuracy" for m in at.metric)
    assert not any("test" in m.label.lower() for m in at.metric)


@pytest.mark.parametrize("change, expected", [
    ({"lr": 1e-5}, "learning rate is too small to move the weights"),
    ({"kind": "logreg"}, "A linear model can only draw a straight line"),
], ids=["tiny learning rate", "logistic regression on circles"])
def test_train_page_says_why_a_run_did_not_learn(change: dict, expected: str) -> None:
    at = page("train", ready_lab(train=False)).run()
    if "lr" in change:
        at.select_slider(key="train.lr").set_value(change["lr"]).run()
    else:
        at.radio(key="train.arch.kind").set_value(change["kind"]).run()
    assert not at.exception
    assert at.session_state[SESSION].lab.result.status == "not_learning"
    assert at.warning and expected in at.warning[0].value


def test_train_page_divergence_warns_and_stays_usable() -> None:
    at = page("train", ready_lab(train=False)).run()
    at.selectbox(key="train.opt").set_value("sgd").run()
    at.select_slider(key="train.lr").set_value(10.0).run()
    assert not at.exception
    assert at.warning and "learning rate" in at.warning[0].value
    at.select_slider(key="train.lr").set_value(0.03).run()
    assert not at.warning and at.session_state[SESSION].lab.result.status in ("completed", "converged")


def test_train_page_overfit_one_batch() -> None:
    at = page("train", ready_lab(train=False)).run()
    at.button(key="train.sanity").click().run()
    no_errors(at)
    assert any("Overfit one batch" in s.value for s in at.success)


def test_evaluate_page_shows_metrics_and_boundary() -> None:
    at = page("evaluate", ready_lab()).run()
    no_errors(at)
    assert [m.label for m in at.metric][:4] == ["Test accuracy", "Validation", "Train", "Macro F1 · test"]
    lab = at.session_state[SESSION].lab
    test = lab.evaluation().test
    assert at.metric[0].value == f"{100 * test.accuracy:.1f}%" and test.n_samples == len(lab.data.y_test)
    assert any(f"on {test.n_samples:,}" in c.value for c in at.caption)  # the interval names its sample size
    # QA: the help repeated the numbers; it says what an interval and a baseline mean
    assert "may be chance" in at.metric[0].help and "learned something only where it clearly beats" in \
        at.metric[0].help
    [columns] = [json.loads(d.proto.columns) for d in at.dataframe if "f1-score" in json.loads(d.proto.columns)]
    assert {name: bool(columns[name].get("help")) for name in ("precision", "recall", "f1-score", "support")} == \
        dict.fromkeys(("precision", "recall", "f1-score", "support"), True)  # scikit-learn's names, explained


def test_evaluate_page_explains_a_run_that_did_not_learn() -> None:
    lab = ready_lab(train=False)
    lab.train(replace(lab.train_config, optimizer="sgd", lr=10.0), wait=True)
    assert lab.result.failed_to_learn
    at = page("evaluate", lab).run()
    assert not at.exception
    assert at.warning and "learning rate (10) is too high" in at.warning[0].value


def test_predict_page_point_probabilities() -> None:
    at = page("predict", ready_lab()).run()
    no_errors(at)
    at.number_input(key="predict.x").set_value(1.0).run()
    at.number_input(key="predict.y").set_value(-0.4).run()
    no_errors(at)
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    bars = next(spec["data"][0] for spec in specs if spec["data"][0]["type"] == "bar")
    model = at.session_state[SESSION].lab.model
    with torch.inference_mode():  # the probabilities drawn are the model's own, for the typed point
        direct = torch.softmax(model(torch.tensor([[1.0, -0.4]])), dim=1)[0].numpy()
    np.testing.assert_allclose(decoded(bars["x"]), direct, atol=1e-6)


def decoded(values) -> np.ndarray:
    """A Plotly array as sent to the browser: a list, or a base64 typed array."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values, dtype=float)


def chart_titles(at: AppTest) -> list[str]:
    """The titles of the page's Plotly charts, from the figures sent to the browser."""
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return [spec["layout"].get("title", {}).get("text", "").replace("<b>", "").replace("</b>", "") for spec in specs]


def test_train_page_replays_a_run_from_its_starting_weights_one_step_at_a_time() -> None:
    at = page("train").run()  # a fresh session: circles already trained
    at.toggle(key="train.replay").set_value(True).run()
    no_errors(at)
    epochs = len(at.session_state[SESSION].lab.result.history)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(spec["frames"]) == epochs + 1  # epoch 0 (the starting weights) to the last
    assert chart_titles(at)[0].startswith(f"Epoch {epochs} of {epochs}")
    at.button(key="train.reset").click().run()
    assert chart_titles(at)[0] == f"Epoch 0 of {epochs} · the starting weights"
    at.button(key="train.step").click().run()
    assert chart_titles(at)[0].startswith(f"Epoch 1 of {epochs}")
    at.button(key="train.step").click().run()
    assert chart_titles(at)[0].startswith(f"Epoch 2 of {epochs}")
    assert at.session_state[SESSION].lab.result.history[0].epoch == 1  # replaying trains nothing


def test_watch_it_learn_stays_on_across_pages_and_a_reload() -> None:
    """Streamlit forgets a toggle's value on a page that does not draw it, and a reload is a new browser session:
    the switch is kept with the Lab (exploratory QA: it switched itself off)."""
    at = page("train").run()
    at.toggle(key="train.replay").set_value(True).run()
    assert at.session_state[SESSION].lab.watching
    at.switch_page("app_pages/data.py").run()
    at.switch_page("app_pages/train.py").run()
    no_errors(at)
    assert at.toggle(key="train.replay").value and chart_titles(at)[0].startswith("Epoch ")
    again = AppTest.from_file("../app.py", default_timeout=TIMEOUT)  # the same address bar, reloaded
    again.query_params.update({"s": at.session_state[SESSION].token})
    again.switch_page("app_pages/train.py").run()
    no_errors(again)
    assert again.toggle(key="train.replay").value and chart_titles(again)[0].startswith("Epoch ")
    again.toggle(key="train.replay").set_value(False).run()
    assert not again.session_state[SESSION].lab.watching


def linked(name: str, params: dict[str, str]) -> AppTest:
    """The app opened from a link with these query parameters, switched to one page."""
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.query_params.update(params)
    return at.switch_page(f"app_pages/{name}.py")


@pytest.mark.parametrize("name", ["model", "train"])
def test_a_link_keeps_each_hidden_layers_own_width(name: str) -> None:
    at = linked(name, {"data": "circles", "hidden": "16,4"}).run()
    no_errors(at)
    prefix = "model" if name == "model" else "train.arch"
    assert at.session_state[SESSION].lab.model_config.hidden == (16, 4)  # not flattened to 16-16 by the sliders
    assert at.slider(key=f"{prefix}.layers").value == 2
    assert [m.value for m in at.markdown if m.value.startswith("Layer ")] == ["Layer 1 · **16** units",
                                                                              "Layer 2 · **4** units"]
    at.select_slider(key=f"{prefix}.units").set_value(8).run()
    assert at.session_state[SESSION].lab.model_config.hidden == (8, 8)  # the units slider sets every layer


def test_plus_and_minus_set_each_layers_width_and_the_layers_slider_keeps_them() -> None:
    at = page("train", ready_lab(train=False)).run()
    lab = at.session_state[SESSION].lab
    assert lab.model_config.hidden == (16, 16)
    for _ in range(4):  # 16 -> 12 -> 8 -> 6 -> 4
        at.button(key="train.arch.less1").click().run()
    at.button(key="train.arch.more0").click().run()  # 16 -> 24
    no_errors(at)
    assert lab.model_config.hidden == (24, 4) and lab.result is not None  # auto-train followed the buttons
    assert lab.result.history and lab.model is not None
    at.slider(key="train.arch.layers").set_value(3).run()
    assert lab.model_config.hidden == (24, 4, 4)  # a new layer copies the last one's width
    at.slider(key="train.arch.layers").set_value(1).run()
    assert lab.model_config.hidden == (24,)
    assert at.button(key="train.arch.more0").disabled is False
    at.select_slider(key="train.arch.units").set_value(1).run()
    assert lab.model_config.hidden == (1,) and at.button(key="train.arch.less0").disabled


def test_a_locked_width_cannot_be_changed_by_the_buttons() -> None:
    at = linked("model", {"data": "circles", "hidden": "16,4", "lock": "hidden"}).run()
    no_errors(at)
    assert all(at.button(key=f"model.{side}{i}").disabled for side in ("less", "more") for i in (0, 1))
    assert at.slider(key="model.layers").disabled and at.select_slider(key="model.units").disabled


def test_momentum_shows_for_sgd_and_rmsprop_and_trains_with_the_value_set() -> None:
    at = page("train", ready_lab(train=False)).run()
    assert "train.mom" not in [s.key for s in at.slider]  # Adam keeps its own averages: no momentum
    at.selectbox(key="train.opt").set_value("sgd").run()
    slider = at.slider(key="train.mom")
    assert (slider.min, slider.max, slider.value) == (0.0, 0.99, 0.9)  # the limits table's range
    slider.set_value(0.5).run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert lab.train_config.momentum == 0.5 and lab.result is not None
    at.selectbox(key="train.opt").set_value("rmsprop").run()
    assert at.slider(key="train.mom").value == 0.5 and lab.train_config.momentum == 0.5


def test_validation_share_moves_points_from_validation_to_training() -> None:
    at = page("data").run()
    lab = at.session_state[SESSION].lab
    slider = at.slider(key="data.val")
    assert (slider.min, slider.max, slider.value) == (0.0, 0.5, 0.15)
    before = (len(lab.data.y_train), len(lab.data.y_val))
    slider.set_value(0.3).run()
    no_errors(at)
    assert lab.data_config.val_fraction == 0.3 and len(lab.data.y_val) > before[1]
    assert len(lab.data.y_train) + len(lab.data.y_val) == sum(before)  # the test split is untouched
    at.slider(key="data.val").set_value(0.0).run()
    no_errors(at)
    assert len(lab.data.y_val) == 0 and len(lab.data.y_train) == sum(before)
    at.switch_page("app_pages/train.py").run()  # no validation split: training still runs and shows its curve
    no_errors(at)
    assert lab.result is not None and lab.model is not None


def test_model_page_drawing_tells_the_trained_weights_and_biases_on_hover() -> None:
    at = page("model", ready_lab()).run()
    no_errors(at)
    spec = next(s for s in (json.loads(c.proto.spec) for c in at.get("plotly_chart"))
                if any(t.get("name") == "units" for t in s["data"]))
    hover = next(t for t in spec["data"] if t.get("name") == "weight values")
    model = at.session_state[SESSION].lab.model
    first = next(m for m in model.modules() if isinstance(m, torch.nn.Linear))
    told = " ".join(hover["hovertext"])
    assert f"input: x → hidden 1: unit 1<br>weight = {first.weight[0, 0].item():.4g}" in told
    units = next(t for t in spec["data"] if t.get("name") == "units")
    assert f"hidden 1: unit 1<br>bias = {first.bias[0].item():.4g}" in units["hovertext"]


def boundary_spec(at: AppTest, title: str) -> dict:
    """The figure of the page's chart whose title starts with `title`, as sent to the browser."""
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return next(s for s in specs if s["layout"].get("title", {}).get("text", "").replace("<b>", "").startswith(title))


@pytest.mark.parametrize("name, title", [("train", "Decision boundary after epoch"),
                                         ("predict", "Your point on the boundary")])
def test_boundary_views_discretize_and_show_the_test_points_on_request(name: str, title: str) -> None:
    at = page(name, ready_lab()).run()
    no_errors(at)
    heat = next(t for t in boundary_spec(at, title)["data"] if t["type"] == "heatmap")
    assert "customdata" not in heat and not any("· test" in t.get("name", "") for t in boundary_spec(at, title)["data"])
    at.toggle(key=f"{name}.discretize").set_value(True).run()
    at.toggle(key=f"{name}.test_points").set_value(True).run()
    no_errors(at)
    spec = boundary_spec(at, title)
    heat = next(t for t in spec["data"] if t["type"] == "heatmap")
    assert set(np.unique(decoded(heat["z"]))) <= {0.0, 1.0} and "customdata" in heat  # the decision only
    data = at.session_state[SESSION].lab.data
    rings = [t for t in spec["data"] if t.get("name", "").endswith(" · test")]
    assert sorted(len(decoded(t["x"])) for t in rings) == sorted(np.bincount(data.y_test).tolist())


def test_evaluate_boundary_discretizes_on_request() -> None:
    at = page("evaluate", ready_lab()).run()
    at.toggle(key="evaluate.discretize").set_value(True).run()
    no_errors(at)
    heat = next(t for t in boundary_spec(at, "Test points on the boundary")["data"] if t["type"] == "heatmap")
    assert set(np.unique(decoded(heat["z"]))) <= {0.0, 1.0}
