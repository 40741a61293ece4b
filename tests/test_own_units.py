"""Your own points in their own units on every page: Train, Evaluate, Predict and Inside draw them as the file has them,
while the model keeps taking standardised inputs."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_pages.common.session import SESSION, Session
from app_pages.common.ui import load_dataset
from core.config import OWN_POINTS, DataConfig
from core.data.drawn import as_points, to_units
from core.lab import Lab

TIMEOUT = 60


def own_points() -> tuple:
    """Two classes far from the origin on very different scales: x in the thousands, y in hundredths."""
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal((1000, 0.02), (120, 0.01), (60, 2)), rng.normal((1600, 0.06), (120, 0.01), (60, 2))]
    return as_points(X, np.repeat([0, 1], 60))


@pytest.fixture(scope="module")
def lab() -> Lab:
    config = DataConfig(name=OWN_POINTS, points=own_points(), class_names=("low", "high"))
    lab = Lab()
    lab.set_data(config, load_dataset(config))
    lab.train(lab.train_config, wait=True)
    return lab


def page(name: str, lab: Lab) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.session_state[SESSION] = Session(lab)
    return at.switch_page(f"app_pages/{name}.py").run()


def array(values) -> np.ndarray:
    """A Plotly array as sent to the browser: a list, or a base64 typed array."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).astype(float)
    return np.asarray(values, dtype=float)


def chart(at: AppTest, title: str) -> dict:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    found = [s for s in specs if title in (s["layout"].get("title") or {}).get("text", "")]
    assert found, [(s["layout"].get("title") or {}).get("text") for s in specs]
    return found[0]


def trace(spec: dict, name: str) -> dict:
    return next(t for t in spec["data"] if t.get("name") == name)


def in_file_units(spec: dict, lab: Lab) -> None:
    """The plane's axes span the points as the file has them, one standard deviation as long on x as on y."""
    heat = next(t for t in spec["data"] if t["type"] == "heatmap")
    xs, ys = array(heat["x"]), array(heat["y"])
    X = to_units(lab.data.X_all, lab.data.units)
    assert xs[0] < X[:, 0].min() < X[:, 0].max() < xs[-1] and 500 < xs[0] < xs[-1] < 2200
    assert ys[0] < X[:, 1].min() < X[:, 1].max() < ys[-1] and -0.1 < ys[0] < ys[-1] < 0.2
    std = lab.data.units[1]
    assert spec["layout"]["yaxis"]["scaleratio"] == pytest.approx(std[0] / std[1], rel=1e-5)


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def class_in_file_units(spec: dict, lab: Lab, split: str, label: int) -> None:
    """The chart's trace of class `label` holds exactly the split's points of that class, in the file's units."""
    X, y = lab.data.split(split)
    shown = trace(spec, lab.data.class_names[label])
    expected = to_units(X[y == label], lab.data.units)
    np.testing.assert_allclose(np.c_[array(shown["x"]), array(shown["y"])], expected, rtol=1e-5)


def shown_in_file_units(name: str, title: str, lab: Lab) -> tuple[AppTest, dict]:
    """Page `name`, run without errors, and its chart titled `title`, checked to be drawn in the file's units."""
    at = page(name, lab)
    no_errors(at)
    spec = chart(at, title)
    in_file_units(spec, lab)
    return at, spec


def test_train_page_draws_the_boundary_and_the_replay_in_the_files_units(lab: Lab) -> None:
    at, spec = shown_in_file_units("train", "Decision boundary after epoch", lab)
    class_in_file_units(spec, lab, "train", 0)
    at.toggle(key="train.replay").set_value(True).run()
    no_errors(at)
    in_file_units(chart(at, "Epoch"), lab)


def test_evaluate_page_draws_the_test_points_and_mistakes_in_the_files_units(lab: Lab) -> None:
    _, spec = shown_in_file_units("evaluate", "Test points on the boundary", lab)
    class_in_file_units(spec, lab, "test", 1)
    marks = next(t for t in spec["data"] if t.get("name", "").startswith("misclassified"))
    wrong = lab.evaluation().test.y_pred != lab.data.y_test
    expected = to_units(lab.data.X_test[wrong], lab.data.units)
    np.testing.assert_allclose(np.c_[array(marks["x"]), array(marks["y"])].reshape(-1, 2), expected, rtol=1e-5)


def test_predict_page_types_and_clicks_points_in_the_files_units(lab: Lab) -> None:
    at = page("predict", lab)
    no_errors(at)
    x_input, y_input = at.number_input(key="predict.x"), at.number_input(key="predict.y")
    mean = lab.data.units[0]
    assert x_input.value == pytest.approx(mean[0], rel=1e-2) and y_input.value == pytest.approx(mean[1], rel=1e-2)
    x_input.set_value(1580.0).run()
    at.number_input(key="predict.y").set_value(0.058).run()
    no_errors(at)
    spec = chart(at, "Your point on the boundary")
    in_file_units(spec, lab)
    point = next(t for t in spec["data"] if t["type"] == "scatter" and t.get("name") in ("low", "high"))
    assert (array(point["x"])[0], array(point["y"])[0]) == pytest.approx((1580.0, 0.058))
    assert point["name"] == "high"  # deep inside the second cloud, in the file's units
    bars = next(t for t in (json.loads(c.proto.spec)["data"][0] for c in at.get("plotly_chart"))
                if t["type"] == "bar")
    standard = (np.array([[1580.0, 0.058]]) - mean) / lab.data.units[1]
    np.testing.assert_allclose(array(bars["x"]), lab.predict_points(standard.astype(np.float32))[0], atol=1e-6)


def test_inside_page_draws_the_neuron_maps_plane_in_the_files_units(lab: Lab) -> None:
    shown_in_file_units("inside", "The boundary (output)", lab)
