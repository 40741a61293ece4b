"""The Predict page through the app router: hostile and odd image uploads, hostile model files, real MNIST digits,
the drawing canvas and the "my handwriting" set."""

from __future__ import annotations

import copy
import io
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Error, Metric, Text

from app_pages.common.session import SESSION, Session
from app_pages.common.ui import percent
from app_pages.predict_canvas import DRAWING_TITLE, LABEL, PAD_SIDE, WHITE_INK
from core.checkpoint import save_model
from core.config import DataConfig, ModelConfig
from core.data.handwriting import drawing_png, evaluate_handwriting
from core.data.images import REASONS
from core.data.make import make_dataset
from core.data.mnist import read_idx
from core.lab import Lab
from core.models import build_model, predict_proba
from tests.hostile_models import hostile_file, unpickle_unsafely
from tests.image_corpus import corpus, draw_digit, png_bytes

TIMEOUT = 60
PNG = "image/png"
PT = "application/octet-stream"
UNCHANGED = "This file cannot be used, so the current model is unchanged: "
# A phrase only its own reason's message has: an error must name what is wrong, not just that something is.
REASON_PHRASES = {
    "empty": r"\bempty\b",
    "too_large": r"(at most|far more than) [\d,]+ .*accepted",
    "not_an_image": r"not an image",
    "truncated": r"truncated or damaged",
    "too_small": r"needs at least",
    "blank": r"\bblank\b",
}
POINTS = ModelConfig(kind="mlp", hidden=(4,), input_shape=(2,), n_classes=2)
MNIST_DIGITS = {1: 2, 3: 0, 4: 4}  # index in the official MNIST test file -> its label: three clearly written digits


def predict_page(lab: Lab | None = None) -> AppTest:
    """The app (router and sidebar included) after one run of the Predict page, optionally with a prepared Lab."""
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    if lab is not None:
        at.session_state[SESSION] = Session(lab)
    return at.switch_page("app_pages/predict.py").run()


def upload_images(at: AppTest, files: dict[str, bytes]) -> AppTest:
    """Upload the files (name -> bytes) together to the digit uploader and rerun."""
    return at.file_uploader(key="predict.images").set_value([(name, raw, PNG) for name, raw in files.items()]).run()


def upload_model(at: AppTest, raw: bytes) -> AppTest:
    """Upload one model file and rerun."""
    return at.file_uploader(key="predict.model_upload").set_value(("model.pt", raw, PT)).run()


def per_file(at: AppTest) -> dict[str, dict[str, list[str]]]:
    """File name -> the errors and "Prediction" metrics shown under its "File: <name>" line, in page order."""
    shown: dict[str, dict[str, list[str]]] = {}
    current = None
    for node in at.main:
        if isinstance(node, Text) and node.value.startswith("File: "):
            current = shown.setdefault(node.value.removeprefix("File: "), {"errors": [], "predictions": []})
        elif current is not None and isinstance(node, Error):
            current["errors"].append(node.value)
        elif current is not None and isinstance(node, Metric) and node.label == "Prediction":
            current["predictions"].append(node.value)
    return shown


def displayed(markdown: str) -> str:
    """Markdown as the browser shows it, as far as backslash escapes go (CommonMark: any ASCII punctuation)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def engine_prediction(lab: Lab, raw: bytes) -> str:
    """The class the engine itself predicts for the bytes: the reference the page must agree with."""
    _, proba = lab.predict_image(raw)
    return lab.class_names[int(proba.argmax())]


def trained_digits_lab(seed: int = 0) -> Lab:
    """An MLP trained 3 epochs on 500 of the offline digits."""
    lab = Lab()
    config = DataConfig(name="digits", train_size=500)
    lab.set_data(config, make_dataset(config))
    lab.train(replace(lab.train_config, epochs=3, seed=seed), wait=True)
    return lab


@pytest.fixture(scope="module")
def digits_lab() -> Lab:
    """Shared by the tests that only predict; a test that may change the model takes `own_lab`."""
    return trained_digits_lab()


@pytest.fixture(autouse=True)
def _pad_of_its_own(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts with an empty pad: the shared lab keeps the last drawing, as a session's does."""
    yield
    if "digits_lab" in request.fixturenames:
        request.getfixturevalue("digits_lab").pad = None


@pytest.fixture
def own_lab(digits_lab: Lab) -> Lab:
    """A private copy of the trained digits lab, for a test whose upload might replace the model."""
    return copy.deepcopy(digits_lab)


def test_hostile_images_are_refused_with_their_reason_and_the_session_keeps_working(digits_lab: Lab) -> None:
    assert set(REASON_PHRASES) == set(REASONS)  # a new reason needs its phrase here
    hostile = {f"{name}.png": case for name, case in corpus().items() if case[1] != "ok"}
    assert {reason for _, reason in hostile.values()} == set(REASONS)
    at = upload_images(predict_page(digits_lab), {name: raw for name, (raw, _) in hostile.items()})
    assert not at.exception, [e.value for e in at.exception]
    shown = per_file(at)
    assert list(shown) == list(hostile)
    for name, (_, reason) in hostile.items():
        assert not shown[name]["predictions"], name
        assert len(shown[name]["errors"]) == 1, (name, shown[name])
        message = shown[name]["errors"][0]
        assert message.startswith("Cannot use this image: "), (name, message)
        said = {r for r, phrase in REASON_PHRASES.items() if re.search(phrase, message)}
        assert said == {reason}, (name, message)

    digit = png_bytes(draw_digit("7", size=(120, 120)))
    upload_images(at, {"seven.png": digit})
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert per_file(at) == {"seven.png": {"errors": [], "predictions": [engine_prediction(digits_lab, digit)]}}


def test_odd_but_readable_images_are_each_predicted(digits_lab: Lab) -> None:
    readable = {f"{name}.png": raw for name, (raw, expected) in corpus().items() if expected == "ok"}
    at = upload_images(predict_page(digits_lab), readable)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    shown = per_file(at)
    assert list(shown) == list(readable)
    for name, raw in readable.items():
        # the page shows, under each file's own name, what the engine predicts for that file
        assert shown[name] == {"errors": [], "predictions": [engine_prediction(digits_lab, raw)]}, name


def test_a_file_name_with_html_and_non_ascii_is_shown_as_plain_text(digits_lab: Lab) -> None:
    name = "<img src=x onerror=alert(1)> zahl-sieben-ä.png"
    at = upload_images(predict_page(digits_lab), {name: png_bytes(draw_digit("7", size=(120, 120)))})
    assert not at.exception and not at.error
    assert f"File: {name}" in [t.value for t in at.text]
    assert per_file(at)[name]["predictions"]
    rendered = [*at.markdown, *at.caption, *at.info, *at.success, *at.warning, *at.title, *at.metric]
    assert rendered and not any("<img" in str(node.value) or "onerror" in str(node.value) for node in rendered)


def assert_refused(at: AppTest, model_before: object, phrase: str) -> str:
    """The upload was refused with a message naming `phrase`, and the session kept its model."""
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and not at.success, [e.value for e in at.error]
    message = displayed(at.error[0].value)
    assert message.startswith(UNCHANGED) and phrase in message, message
    assert at.session_state[SESSION].lab.model is model_before
    return message


@pytest.mark.parametrize("kind", ["torch Path.touch", "bare pickle"])
def test_a_model_file_that_would_run_code_is_refused_without_running_it(own_lab: Lab, tmp_path: Path,
                                                                        kind: str) -> None:
    control = tmp_path / "control"
    unpickle_unsafely(hostile_file(control, kind), kind)
    assert control.exists(), "the file must really run code when unpickled, or this test proves nothing"

    marker = tmp_path / "marker"
    at = predict_page(own_lab)
    model_before = own_lab.model
    upload_model(at, hostile_file(marker, kind))
    phrase = "contains code or objects that are not allowed" if kind != "bare pickle" else "not an NN Lab model file"
    assert_refused(at, model_before, phrase)
    assert not marker.exists()


def forged(raw: bytes, *, config: dict | None = None, state: dict | None = None) -> bytes:
    """A valid model file with some config fields and tensors replaced."""
    payload = torch.load(io.BytesIO(raw), weights_only=True)
    payload["config"].update(config or {})
    payload["state_dict"].update(state or {})
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def points_model_file() -> bytes:
    """A valid model file for 2-D points (a circles-shaped MLP)."""
    return save_model(build_model(POINTS, seed=7), POINTS, ("outer", "inner"), extra={"dataset": "circles"})


def broken_model_file(case: str, lab: Lab) -> bytes:
    """A model file that must be refused while `lab` (digits, 28x28 inputs, 10 classes) is current."""
    valid = lab.model_file()
    if case == "truncated":
        return valid[: len(valid) * 2 // 3]
    if case == "random bytes":
        return np.random.default_rng(0).bytes(4096)
    if case == "circles model":
        return points_model_file()
    last_bias = list(lab.model.state_dict())[-1]  # (10,) in a file that says 10 classes
    return forged(valid, state={last_bias: torch.zeros(3)})


@pytest.mark.parametrize(("case", "phrase"), [
    ("truncated", "truncated or damaged"),
    ("random bytes", "not an NN Lab model file"),
    ("circles model", "takes inputs of shape (2,) with 2 classes, but the current dataset (digits)"),
    ("tensors unlike their config", "does not fit the config: expected shape (10,), got (3,)"),
])
def test_a_broken_or_foreign_model_file_is_refused(own_lab: Lab, case: str, phrase: str) -> None:
    raw = broken_model_file(case, own_lab)
    at = predict_page(own_lab)
    model_before = own_lab.model
    assert_refused(upload_model(at, raw), model_before, phrase)
    at.run()  # the refused file stays in the uploader: every rerun still refuses it
    assert_refused(at, model_before, phrase)


def test_text_quoted_from_a_model_file_is_not_rendered_as_markdown(own_lab: Lab) -> None:
    link = "[Download the fixed model](https://example.com/x.pt)"
    at = predict_page(own_lab)
    model_before = own_lab.model
    upload_model(at, forged(own_lab.model_file(), config={"kind": link}))
    message = assert_refused(at, model_before, f"Unknown model kind '{link}'")
    raw = at.error[0].value
    assert link not in raw and "](" not in raw and "https://" not in raw, raw  # escaped: shown as typed, no link
    assert displayed(raw) == message


def test_a_model_file_of_the_same_kind_becomes_the_session_model(own_lab: Lab) -> None:
    other = trained_digits_lab(seed=1)
    at = predict_page(own_lab)
    model_before = own_lab.model
    upload_model(at, other.model_file())
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == ["Loaded a mlp model with 10 classes."]
    loaded = at.session_state[SESSION].lab.model
    assert loaded is not model_before
    X = own_lab.data.X_test[:32]
    np.testing.assert_array_equal(predict_proba(loaded, X), predict_proba(other.model, X))
    assert not np.array_equal(predict_proba(model_before, X), predict_proba(other.model, X))
    at.run()  # a rerun keeps the loaded model instead of loading the file again
    assert not at.exception and not at.success and at.session_state[SESSION].lab.model is loaded


def test_a_2d_model_uploaded_on_a_fresh_page_works_on_the_default_circles() -> None:
    at = predict_page()
    upload_model(at, points_model_file())
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success] == ["Loaded a mlp model with 2 classes."]
    assert at.number_input  # the point inputs are there at once: the default data fits the model


@pytest.fixture(scope="module")
def mnist_lab(mnist_folder: Path) -> Lab:
    """The default image MLP trained on 4,000 real MNIST digits (a few seconds)."""
    lab = Lab()
    config = DataConfig(name="mnist", data_dir=str(mnist_folder), download=False, train_size=4000)
    lab.set_data(config, make_dataset(config))
    lab.train(lab.train_config, wait=True)
    return lab


@pytest.mark.mnist
def test_real_mnist_digits_and_drawn_sevens_are_recognised(mnist_lab: Lab, mnist_folder: Path) -> None:
    images = read_idx(mnist_folder / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(mnist_folder / "t10k-labels-idx1-ubyte.gz")
    assert {i: int(labels[i]) for i in MNIST_DIGITS} == MNIST_DIGITS
    files, truth = {}, {}
    for index, label in MNIST_DIGITS.items():
        white_on_black = images[index].repeat(4, axis=0).repeat(4, axis=1)  # as MNIST stores it, at 4x
        for style, pixels in (("white-on-black", white_on_black), ("black-on-white", 255 - white_on_black)):
            name = f"mnist-{index}-{style}.png"
            files[name], truth[name] = png_bytes(Image.fromarray(pixels)), str(label)
    for style, ink, paper in (("black-on-white", "black", "white"), ("white-on-black", 255, 0)):
        name = f"drawn-7-{style}.png"
        files[name], truth[name] = png_bytes(draw_digit("7", size=(200, 200), ink=ink, paper=paper)), "7"
    at = upload_images(predict_page(mnist_lab), files)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert {name: shown["predictions"] for name, shown in per_file(at).items()} == {
        name: [label] for name, label in truth.items()}


# --- the drawing canvas and "my handwriting" -------------------------------------------------------------------
# The canvas is a browser component: here a stand-in module returns the RGBA pixels a browser would send, so the
# page's own path (PNG, preparation, prediction, the set) runs unchanged. tests/browser draws with a real mouse.


class FakeCanvas:
    """Stands in for streamlit_drawable_canvas: returns `drawing` (RGBA or None) and records every call."""

    def __init__(self) -> None:
        self.drawing: np.ndarray | None = None
        self.calls: list[dict] = []

    def st_canvas(self, **kwargs: object) -> object:
        self.calls.append(kwargs)
        return SimpleNamespace(image_data=self.drawing, json_data=strokes(self.drawing))


def strokes(drawing: np.ndarray | None) -> dict:
    """Stands in for the canvas's JSON of its strokes: one path per drawing, named by its pixels' checksum."""
    return {"objects": [] if drawing is None else [{"type": "path", "sum": int(drawing.sum())}]}


@pytest.fixture
def canvas(monkeypatch: pytest.MonkeyPatch) -> FakeCanvas:
    fake = FakeCanvas()
    module = ModuleType("streamlit_drawable_canvas")
    module.st_canvas = fake.st_canvas
    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", module)
    return fake


def drawn(digit: str, *, white_ink: bool = True) -> np.ndarray:
    """RGBA pixels of a digit drawn on the 280-px pad, as the canvas returns them."""
    ink, paper = (255, 0) if white_ink else (0, 255)
    return np.asarray(draw_digit(digit, size=(PAD_SIDE, PAD_SIDE), ink=ink, paper=paper).convert("RGBA"))


def drawing_prediction(at: AppTest) -> str:
    """The 'Prediction' shown beside the pad (the first on the page: uploads come below)."""
    return next(m.value for m in at.metric if m.label == "Prediction")


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def test_a_drawing_is_predicted_as_the_same_picture_uploaded_would_be(digits_lab: Lab, canvas: FakeCanvas) -> None:
    canvas.drawing = drawn("7")
    at = predict_page(digits_lab)
    assert not at.exception and not at.error, [e.value for e in at.error]
    png = drawing_png(canvas.drawing, background="#000000")
    said = drawing_prediction(at)
    assert said == engine_prediction(digits_lab, png)
    assert {DRAWING_TITLE, f"Why it said {said}"} <= set(chart_titles(at))  # its probabilities and attribution map
    canvas.drawing = drawn("0")  # the next stroke: the attribution map follows the new guess
    at.run()
    first, said = said, drawing_prediction(at)
    assert said != first and said == engine_prediction(digits_lab, drawing_png(canvas.drawing, background="#000000"))
    assert f"Why it said {said}" in chart_titles(at)
    call = canvas.calls[-1]
    assert (call["stroke_color"], call["background_color"], call["return_image_data"]) == ("#ffffff", "#000000", True)


def test_black_ink_on_white_gives_the_same_answer_and_remounts_the_pad(digits_lab: Lab, canvas: FakeCanvas) -> None:
    canvas.drawing = drawn("7")
    at = predict_page(digits_lab)
    white_on_black, first_key = drawing_prediction(at), canvas.calls[-1]["key"]
    canvas.drawing = drawn("7", white_ink=False)
    at.toggle(key=WHITE_INK).set_value(False).run()
    assert not at.exception and not at.error
    call = canvas.calls[-1]
    assert (call["stroke_color"], call["background_color"]) == ("#000000", "#ffffff")
    assert call["key"] != first_key  # a fresh pad: strokes in the old colours are not mixed in
    assert drawing_prediction(at) == white_on_black  # inverted by the engine: the model sees the same digit


def test_an_empty_or_cleared_pad_asks_for_a_drawing(digits_lab: Lab, canvas: FakeCanvas) -> None:
    at = predict_page(digits_lab)  # nothing drawn yet: the component sends no image
    for pixels in (None, drawn("7") * np.array([0, 0, 0, 1], dtype=np.uint8)):  # then a pad of black only
        canvas.drawing = pixels
        at.run()
        assert not at.exception and not at.error
        assert any(i.value.startswith("Draw a digit on the pad") for i in at.info)
        assert "Prediction" not in [m.label for m in at.metric]
    key = canvas.calls[-1]["key"]
    at.button(key="predict.clear").click().run()
    assert canvas.calls[-1]["key"] != key  # Clear remounts the pad empty


def test_a_reload_draws_the_pad_again_with_its_prediction_until_cleared(digits_lab: Lab, canvas: FakeCanvas) -> None:
    """QA: a reload emptied the pad and dropped its prediction. The pad is mounted again with its strokes, and
    since the canvas sends nothing for strokes it was given, the kept drawing is predicted. Clear forgets it."""
    canvas.drawing = drawn("7", white_ink=False)
    at = predict_page(digits_lab)
    at.toggle(key=WHITE_INK).set_value(False).run()  # black ink: a new pad, and the drawing on it
    said, sent = drawing_prediction(at), strokes(canvas.drawing)
    assert canvas.calls[-1]["initial_drawing"] is None  # a pad drawn on in this tab is never redrawn from the Lab

    def reload() -> AppTest:
        again = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
        again.query_params.update({"s": at.session_state[SESSION].token})
        return again.switch_page("app_pages/predict.py").run()

    canvas.drawing = None  # a freshly mounted pad sends nothing
    reloaded = reload()
    assert not reloaded.exception and not reloaded.error, [e.value for e in reloaded.error]
    assert reloaded.toggle(key=WHITE_INK).value is False  # the ink it was drawn in
    assert canvas.calls[-1]["initial_drawing"] == sent and canvas.calls[-1]["stroke_color"] == "#000000"
    assert drawing_prediction(reloaded) == said
    reloaded.run()  # the same strokes again, not new ones: the canvas is not told to redraw
    assert canvas.calls[-1]["initial_drawing"] == sent and drawing_prediction(reloaded) == said
    reloaded.button(key="predict.clear").click().run()
    assert canvas.calls[-1]["initial_drawing"] is None and "Prediction" not in [m.label for m in reloaded.metric]
    assert reload().toggle(key=WHITE_INK).value is True and canvas.calls[-1]["initial_drawing"] is None


def test_canvas_data_of_another_shape_gets_a_message_not_a_traceback(digits_lab: Lab, canvas: FakeCanvas) -> None:
    canvas.drawing = drawn("7")[..., :3]  # RGB: not what the component sends
    at = predict_page(digits_lab)
    assert not at.exception
    assert [e.value for e in at.error] == ["The drawing could not be read: A drawing must be (height, width, 4) "
                                           f"RGBA bytes. Got ({PAD_SIDE}, {PAD_SIDE}, 3) uint8."]


def test_a_2d_model_shows_no_pad(canvas: FakeCanvas) -> None:
    at = predict_page()  # the default circles
    assert not at.exception and at.number_input and not canvas.calls


def test_drawn_digits_join_my_handwriting_and_are_scored_as_a_group(digits_lab: Lab, canvas: FakeCanvas) -> None:
    canvas.drawing = drawn("7")
    at = predict_page(digits_lab)
    assert at.button(key="predict.keep").disabled  # the true class must be picked first: the user's word
    key = canvas.calls[-1]["key"]
    at.pills(key=LABEL).set_value(7).run()
    at.button(key="predict.keep").click().run()
    assert not at.exception and not at.error and not at.warning, [w.value for w in at.warning]
    kept = at.session_state[SESSION].lab.handwriting
    assert [(d.number, d.label) for d in kept.digits] == [(1, 7)]
    assert canvas.calls[-1]["key"] != key and at.pills(key=LABEL).value is None  # ready for the next digit
    canvas.drawing = drawn("0")
    at.run()
    at.pills(key=LABEL).set_value(0).run()
    at.button(key="predict.keep").click().run()
    kept = at.session_state[SESSION].lab.handwriting
    assert [(d.number, d.label) for d in kept.digits] == [(1, 7), (2, 0)]
    reloaded = AppTest.from_file("../app.py", default_timeout=TIMEOUT)  # the same address bar, reloaded
    reloaded.query_params.update({"s": at.session_state[SESSION].token})
    reloaded.switch_page("app_pages/predict.py").run()
    assert reloaded.session_state[SESSION].lab.handwriting is kept, "the set is kept with the Lab in the store"

    reference = evaluate_handwriting(digits_lab.model, kept, digits_lab.class_names)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Accuracy on your handwriting"] == percent(reference.accuracy)
    assert shown["Accuracy on the test set"] == percent(digits_lab.evaluation().test.accuracy)
    assert "Your handwriting: confusion matrix" in chart_titles(at)
    names = digits_lab.class_names
    captions = [c for image in at.get("image") for c in image.captions]  # a thumbnail per digit: meant -> said
    assert captions == [f"#1: 7 → {names[reference.y_pred[0]]}", f"#2: 0 → {names[reference.y_pred[1]]}"]

    at.button(key="predict.remove.1").click().run()
    assert [d.number for d in at.session_state[SESSION].lab.handwriting.digits] == [2]
    at.button(key="predict.clear_set").click().run()
    assert not len(at.session_state[SESSION].lab.handwriting)
    assert "Accuracy on your handwriting" not in [m.label for m in at.metric]


def test_the_set_refuses_a_digit_twice_and_past_its_limit(digits_lab: Lab, canvas: FakeCanvas) -> None:
    canvas.drawing = drawn("7")
    at = predict_page(digits_lab)
    for _ in range(2):  # the same drawing twice: the pad still sends it after the first Add
        at.pills(key=LABEL).set_value(7).run()
        at.button(key="predict.keep").click().run()
    assert len(at.session_state[SESSION].lab.handwriting) == 1
    assert any("already in the set (#1)" in w.value for w in at.warning), [w.value for w in at.warning]

    canvas.drawing = drawn("1")
    at.session_state[SESSION].lab.handwriting = replace(at.session_state[SESSION].lab.handwriting, limit=1)
    at.run()
    at.pills(key=LABEL).set_value(1).run()
    at.button(key="predict.keep").click().run()
    assert not at.exception and len(at.session_state[SESSION].lab.handwriting) == 1
    assert any("at most 1 digits" in w.value for w in at.warning), [w.value for w in at.warning]
