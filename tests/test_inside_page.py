"""The Inside page (and Predict's "why it said 7") under AppTest: circles and the offline digits."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_pages.common.session import SESSION, Session
from app_pages.common.ui import load_dataset
from core.config import DataConfig
from core.insight.slots import InspectionSlots
from core.lab import Lab
from core.models import linear_weights
from tests.conftest import wait_until
from tests.image_corpus import draw_digit, png_bytes
from tests.test_insight_slots import hold_a_slot
from tests.test_pages import TIMEOUT, chart_titles, decoded, no_errors, page, ready_lab

DIGITS = DataConfig(name="digits", train_size=300)


def specs(at: AppTest) -> dict[str, dict]:
    """Plotly figures sent to the browser, by title."""
    out = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        out[spec["layout"].get("title", {}).get("text", "").replace("<b>", "").replace("</b>", "")] = spec
    return out


def layer_maps(at: AppTest, layer: str) -> np.ndarray:
    """The small maps of one layer's drawn units in the network drawing of neuron maps, one after the other."""
    figure = specs(at)["What each unit sees"]
    return np.concatenate([decoded(t["z"]).ravel() for t in figure["data"]
                           if t["type"] == "heatmap" and t["name"].startswith(f"{layer} · ")])


def digits_lab(kind: str) -> Lab:
    lab = Lab()
    lab.set_data(DIGITS, load_dataset(DIGITS))
    lab.set_model_config(replace(lab.model_config, kind=kind, width=8))
    lab.train(replace(lab.train_config, epochs=1), wait=True)
    return lab


class CountingSlots(InspectionSlots):
    """One inspection slot that counts the computations run in it and gives up waiting after `timeout` s."""

    def __init__(self, timeout: float = 30.0) -> None:
        super().__init__(1, poll_s=0.02)
        self.calls, self.timeout = 0, timeout

    def run(self, work, **kwargs):
        self.calls += 1
        return super().run(work, **{**kwargs, "timeout": self.timeout})


@pytest.fixture
def slots(monkeypatch: pytest.MonkeyPatch) -> CountingSlots:
    spy = CountingSlots(timeout=0.3)
    monkeypatch.setattr("app_pages.common.inside.INSPECTION_SLOTS", spy)
    return spy


@pytest.fixture(scope="module")
def circles_lab() -> Lab:
    return ready_lab()


def test_neuron_maps_follow_the_replay_slider_and_a_chosen_unit_is_drawn_large(circles_lab: Lab) -> None:
    at = page("inside", circles_lab).run()
    no_errors(at)
    final = layer_maps(at, "Hidden 1")
    assert {"What each unit sees", "The boundary (output)", "Gradient flow, layer by layer"} <= set(specs(at))
    assert any("dead" in c.value and "saturated" in c.value for c in at.caption)
    slider = at.select_slider[0]
    assert slider.value == circles_lab.result.states[-1].epoch
    slider.set_value(0).run()
    no_errors(at)
    start = layer_maps(at, "Hidden 1")
    assert start.shape == final.shape and not np.allclose(start, final)  # the starting weights drew other maps
    at.selectbox(key="inside.unit").set_value("Hidden 2 · unit 3").run()
    no_errors(at)
    assert "Hidden 2 · unit 3" in chart_titles(at)


def test_hidden_space_keeps_its_axes_through_the_replay(circles_lab: Lab) -> None:
    at = page("inside", circles_lab).run()
    title = "Hidden layer 2: the data as it sees it"
    axes = specs(at)[title]["layout"]["xaxis"]["range"]
    final = decoded(specs(at)[title]["data"][0]["x"])
    at.select_slider[0].set_value(0).run()
    no_errors(at)
    assert specs(at)[title]["layout"]["xaxis"]["range"] == axes  # fitted once, on the final model
    assert not np.allclose(decoded(specs(at)[title]["data"][0]["x"]), final)
    at.selectbox(key="inside.layer").set_value(1).run()
    assert "Hidden layer 1: the data as it sees it" in chart_titles(at)


def test_logistic_regression_with_squared_features_on_the_model_and_inside_pages() -> None:
    lab = ready_lab(train=False)
    lab.set_model_config(replace(lab.model_config, kind="logreg"))
    at = page("model", lab).run()
    at.button_group(key="model.features").set_value(["x", "y", "xx", "yy"]).run()
    no_errors(at)
    assert at.session_state[SESSION].lab.model_config.features == ("x", "y", "xx", "yy")
    nodes = specs(at)["The network"]["data"][-1]
    assert {"x²", "y²"} <= set(nodes["text"])
    lab = at.session_state[SESSION].lab
    lab.train(lab.train_config, wait=True)
    at.run()
    small = next(c.value for c in at.caption if "weights below 0.01" in c.value)
    weights = np.concatenate([w.ravel() for w in linear_weights(lab.model)])
    assert small.startswith(f"{int((np.abs(weights) < 0.01).sum())} of {weights.size} weights below 0.01")
    at.button_group(key="model.features").set_value([]).run()
    assert at.error and "at least one input feature" in at.error[0].value
    lab = at.session_state[SESSION].lab
    lab.train(lab.train_config, wait=True)
    assert lab.evaluation().test.accuracy >= 0.9
    inside = page("inside", lab).run()
    no_errors(inside)
    assert any("no hidden layer" in i.value for i in inside.info)


def test_inside_without_a_model_says_what_to_do() -> None:
    at = page("inside", ready_lab(train=False)).run()
    assert not at.exception
    assert at.info and "Train a model first" in at.info[0].value


def test_digit_weights_and_projector_with_an_mlp() -> None:
    at = page("inside", digits_lab("mlp")).run()
    no_errors(at)
    titles = chart_titles(at)
    assert any(t.startswith("What the first layer learned · Linear 784 → 128") for t in titles)
    assert "Test digits in the last hidden layer (PCA)" in titles
    assert any("Feature maps belong to convolutional networks" in i.value for i in at.info)
    at.button(key="inside.tsne").click().run()  # t-SNE waits for the button, then runs in a job slot
    no_errors(at)
    lab = at.session_state[SESSION].lab
    task = lab.insight.peek(lab.model, ("tsne",))  # kept with the Lab, counted against the session store
    wait_until(lambda: task.done, timeout=60, what="t-SNE to finish")
    assert task.state == "finished", task.error
    at.run()
    no_errors(at)
    assert "Test digits in the last hidden layer (t-SNE)" in chart_titles(at)


def test_feature_maps_of_every_conv_layer_with_a_cnn() -> None:
    at = page("inside", digits_lab("cnn")).run()
    no_errors(at)
    figure = specs(at)["Feature maps"]
    names = [a["text"] for a in figure["layout"]["annotations"]]
    assert len(names) == 2 and names[0].startswith("Conv 1") and names[1].startswith("Conv 2")
    at.number_input(key="inside.digit").set_value(5).run()
    no_errors(at)
    assert "#5" in json.dumps(specs(at))


def test_feature_maps_are_computed_in_a_slot_once_per_model_and_a_busy_server_says_so(slots: CountingSlots) -> None:
    at = page("inside", digits_lab("cnn")).run()
    no_errors(at)
    first = slots.calls  # first-layer tiles, digit 0's feature maps, the projector's PCA
    assert first == 3 and slots.peak == 1
    at.run()
    assert slots.calls == first  # cached for this model: nothing computed again
    release, holder = hold_a_slot(slots)
    at.number_input(key="inside.digit").set_value(7).run()
    assert not at.exception and "#7" not in json.dumps(specs(at).get("Feature maps", {}))
    assert any("stayed busy with other looks inside" in w.value for w in at.warning)
    release.set()
    holder.join(5)
    at.run()
    no_errors(at)
    assert "Feature maps" in specs(at) and not at.warning
    assert slots.calls == first + 1 + 1 + 1  # the holder, the refused try, then digit 7 once


def test_predict_explains_an_upload_with_both_methods(slots: CountingSlots) -> None:
    lab = digits_lab("mlp")
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.session_state[SESSION] = Session(lab)
    at = at.switch_page("app_pages/predict.py").run()
    raw = png_bytes(draw_digit("7", size=(120, 120)))
    at.file_uploader(key="predict.images").set_value([("seven.png", raw, "image/png")]).run()
    no_errors(at)
    predicted = at.metric[0].value
    assert any(t.startswith("Why it said") for t in chart_titles(at))
    assert at.selectbox(key="predict.why.0.class").value == int(lab.class_names.index(predicted))
    explained = slots.calls
    assert explained >= 1  # the attribution ran in an inspection slot
    at.run()
    assert slots.calls == explained  # and is cached for this model and image
    at.radio(key="predict.why.0.method").set_value("saliency").run()
    no_errors(at)
    assert slots.calls == explained + 1
    other = (at.selectbox(key="predict.why.0.class").value + 1) % 10
    at.selectbox(key="predict.why.0.class").set_value(other).run()
    no_errors(at)
    assert f"What speaks for {lab.class_names[other]}" in chart_titles(at)



def test_a_test_digit_opened_from_the_projector_is_predicted_and_explained() -> None:
    from core.insight.digits import digit_png

    lab = digits_lab("mlp")
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.session_state[SESSION] = Session(lab)
    at.session_state["predict.sent"] = ("test digit #0", digit_png(lab.data.X_test[0]))
    at = at.switch_page("app_pages/predict.py").run()
    no_errors(at)
    assert any(t.value == "File: test digit #0" for t in at.text)
    assert at.metric[0].label == "Prediction" and any(t.startswith("Why it said") for t in chart_titles(at))
