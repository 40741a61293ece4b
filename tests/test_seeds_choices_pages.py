"""Issue 19's choices on the pages (AppTest): label noise on Data and Evaluate, the head on Model, the loss and the
device on Train, the device in the sidebar, the chain logits -> probabilities -> label on Predict."""

from __future__ import annotations

from dataclasses import replace

import torch
from streamlit.testing.v1 import AppTest

from app_pages.common.session import SESSION, Session
from app_pages.common.ui import load_dataset
from core.config import DataConfig
from core.lab import Lab

TIMEOUT = 60
CIRCLES = DataConfig(name="circles", n_samples=200)


def page(name: str, lab: Lab | None = None) -> AppTest:
    """The app switched to one page, optionally with a prepared Lab, after one run."""
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    if lab is not None:
        at.session_state[SESSION] = Session(lab)
    return at.switch_page(f"app_pages/{name}.py").run()


def lab_on(config: DataConfig, *, head: str = "softmax") -> Lab:
    lab = Lab(threads=1)
    lab.set_data(config, load_dataset(config))
    lab.set_model_config(replace(lab.model_config, head=head))
    lab.train(lab.train_config, wait=True)
    return lab


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_label_noise_from_the_data_page_to_the_evaluate_page() -> None:
    at = page("data")
    at.slider(key="data.ln").set_value(0.2).run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert lab.data_config.label_noise == 0.2 and lab.data.n_flipped == round(0.2 * len(lab.data.y_train))
    lab.train(lab.train_config, wait=True)
    at = page("evaluate", lab)
    no_errors(at)
    said = " ".join(i.value for i in at.info)
    assert f"{lab.data.n_flipped} training labels of" in said and "against the true labels" in said
    assert any(m.label == "Train (its labels)" for m in at.metric)


def test_the_model_page_offers_a_sigmoid_head_for_two_classes_only() -> None:
    at = page("model", lab_on(CIRCLES))
    at.radio(key="model.head").set_value("sigmoid").run()
    no_errors(at)
    assert at.session_state[SESSION].lab.model_config.head == "sigmoid"
    at = page("model", lab_on(DataConfig(name="blobs", n_samples=200)))
    no_errors(at)
    assert not [r for r in at.radio if r.key == "model.head"]


def test_the_train_page_sets_the_loss_and_shows_the_device() -> None:
    at = page("train", lab_on(CIRCLES))
    no_errors(at)
    assert any("**Device** · auto (CPU)" in m.value for m in at.sidebar.markdown)
    at.radio(key="train.loss").set_value("mse").run()
    assert at.session_state[SESSION].lab.train_config.loss == "mse"
    if not torch.cuda.is_available():
        at.selectbox(key="train.device").set_value("cuda").run()
        assert [e.value for e in at.error if "CUDA is not available" in e.value]
        assert at.session_state[SESSION].lab.device == "auto"  # refused: the runs stay where they can train


def test_predict_shows_the_chain_from_the_logit_to_the_label() -> None:
    lab = lab_on(CIRCLES, head="sigmoid")
    at = page("predict", lab)
    no_errors(at)
    assert any(e.label.startswith("From logits to a label (sigmoid)") for e in at.expander)
    assert any("sigmoid: p(inner) = 1 / (1 + e^(-z))" in c.value.replace("\\", "") for c in at.caption)
    table = next(d for d in at.dataframe if list(d.value.columns) == ["class", "logit", "probability", "label"])
    assert list(table.value["class"]) == ["outer", "inner"] and table.value["label"].sum() == 1


def test_augmentation_toggles_and_strengths_on_the_train_page_for_digits() -> None:
    lab = Lab(threads=1)
    config = DataConfig(name="digits")
    lab.set_data(config, load_dataset(config))
    at = page("train", lab)
    no_errors(at)
    at.toggle(key="train.aug.rotate").set_value(True).run()
    assert at.session_state[SESSION].lab.train_config.augment == ("rotate",)
    at.slider(key="train.aug.rotate.strength").set_value(20.0).run()
    at.toggle(key="train.aug.shift").set_value(True).run()
    no_errors(at)
    assert at.session_state[SESSION].lab.train_config.augment == ("shift", "rotate20")
    assert not [t for t in page("train", lab_on(CIRCLES)).toggle if t.key.startswith("train.aug")]  # digits only
