"""Your own handwriting (core.data.handwriting): canvas pixels -> PNG, the bounded labelled set and its scoring; and the
Evaluate page's "Take it home" downloads, the standalone script among them (core.export.files.run_script)."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import confusion_matrix
from streamlit.testing.v1 import AppTest

from app_pages.common.session import SESSION, Session
from core.config import DataConfig, ModelConfig
from core.data.dataset import Dataset
from core.data.handwriting import (
    MAX_DIGITS,
    MAX_PAD_CHARS,
    Handwriting,
    HandwritingError,
    PadDrawing,
    drawing_png,
    evaluate_handwriting,
)
from core.data.images import prepare_image
from core.data.pixels import normalize_pixels, to_pixels
from core.export.files import run_script
from core.lab import Lab
from core.models import build_model, predict_proba
from tests.image_corpus import draw_digit, png_bytes

SIDE = 280
DIGITS_MODEL = ModelConfig(kind="mlp", hidden=(16,), input_shape=(1, 28, 28), n_classes=10)


def canvas_pixels(digit: str = "7", *, ink: int = 255, paper: int = 0, alpha_only: bool = False) -> np.ndarray:
    """RGBA pixels as the canvas returns them: opaque ink on the paper, or (alpha_only) ink on a transparent pad."""
    grey = np.asarray(draw_digit(digit, size=(SIDE, SIDE), ink=255, paper=0))
    rgba = np.zeros((SIDE, SIDE, 4), dtype=np.uint8)
    if alpha_only:
        rgba[..., :3], rgba[..., 3] = ink, grey
        return rgba
    rgba[..., :3] = np.where(grey[..., None] > 127, ink, paper)
    rgba[..., 3] = 255
    return rgba


# --- canvas pixels -> PNG ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("ink, paper, background", [(255, 0, "#000000"), (0, 255, "#ffffff")])
def test_a_drawing_becomes_the_png_of_what_the_user_saw(ink: int, paper: int, background: str) -> None:
    rgba = canvas_pixels(ink=ink, paper=paper)
    raw = drawing_png(rgba, background=background)
    decoded = np.asarray(Image.open(io.BytesIO(raw)))
    assert decoded.shape == (SIDE, SIDE, 3)
    np.testing.assert_array_equal(decoded, rgba[..., :3])
    # Prepared like an uploaded picture of the same digit (the reference): the same 28x28 input.
    reference = prepare_image(png_bytes(Image.fromarray(rgba[..., 0])))
    np.testing.assert_allclose(prepare_image(raw).centered, reference.centered, atol=1e-6)


def test_strokes_on_a_transparent_pad_are_flattened_onto_its_background() -> None:
    white_ink = drawing_png(canvas_pixels(alpha_only=True), background="black")
    black_ink = drawing_png(canvas_pixels(ink=0, alpha_only=True), background="white")
    a, b = (prepare_image(raw) for raw in (white_ink, black_ink))
    assert not a.was_inverted and b.was_inverted  # either way the model sees white on black
    np.testing.assert_allclose(a.centered, b.centered, atol=0.02)
    assert a.centered.max() == pytest.approx(1.0)


def test_an_empty_pad_is_none_not_an_error() -> None:
    assert drawing_png(np.zeros((SIDE, SIDE, 4), dtype=np.uint8), background="#000000") is None  # transparent
    paper = np.full((SIDE, SIDE, 4), 255, dtype=np.uint8)
    assert drawing_png(paper, background="#ffffff") is None
    paper[5, 5, :3] = 250  # a faint speck is not a drawing
    assert drawing_png(paper, background="#ffffff") is None
    paper[5, 5, :3] = 0  # one real dot of ink is
    raw = drawing_png(paper, background="#ffffff")
    assert raw is not None and np.asarray(Image.open(io.BytesIO(raw)))[5, 5].tolist() == [0, 0, 0]


@pytest.mark.parametrize("pixels, background, message", [
    (np.zeros((SIDE, SIDE, 3), dtype=np.uint8), "#000000", "RGBA"),
    (np.zeros((SIDE, SIDE, 4), dtype=np.float32), "#000000", "RGBA"),
    (np.zeros((SIDE, SIDE), dtype=np.uint8), "#000000", "RGBA"),
    (np.zeros((SIDE, SIDE, 4), dtype=np.uint8), "no-such-colour", "CSS colour"),
    (np.zeros((SIDE, SIDE, 4), dtype=np.uint8), 0, "CSS colour"),
])
def test_bad_canvas_data_is_refused_with_what_was_expected(pixels: np.ndarray, background: object,
                                                            message: str) -> None:
    with pytest.raises(HandwritingError, match=message):
        drawing_png(pixels, background=background)


# --- the labelled set -------------------------------------------------------------------------------------------


def frames(digits: Dataset, n: int) -> list[np.ndarray]:
    """n real handwritten digits as prepared 28x28 frames in [0, 1]."""
    return [to_pixels(x[0]).astype(np.float32) for x in digits.X_test[:n]]


def test_digits_are_added_and_removed_without_changing_the_set_they_came_from(digits: Dataset) -> None:
    a, b, c = frames(digits, 3)
    empty = Handwriting()
    one = empty.add(a, 7, n_classes=10)
    three = one.add(b, 1, n_classes=10).add(c, np.int64(0), n_classes=10)
    assert len(empty) == 0 and len(one) == 1  # each change is a new set
    assert [(d.number, d.label) for d in three.digits] == [(1, 7), (2, 1), (3, 0)]
    assert three.labels.dtype == np.int64 and list(three.labels) == [7, 1, 0]
    np.testing.assert_allclose(three.model_input, normalize_pixels(np.stack([a, b, c]))[:, None])
    assert three.model_input.shape == (3, 1, 28, 28)
    assert not three.digits[0].pixels.flags.writeable
    two = three.remove(2)
    assert [d.number for d in two.digits] == [1, 3]
    assert [d.number for d in two.add(b, 1, n_classes=10).digits] == [1, 3, 4]  # numbers are never reused
    with pytest.raises(HandwritingError, match="no digit #2"):
        two.remove(2)


def test_the_set_is_bounded_and_keeps_no_duplicates(digits: Dataset) -> None:
    assert MAX_DIGITS == 100
    kept = Handwriting(limit=3)
    pictures = frames(digits, 4)
    for frame in pictures[:3]:
        kept = kept.add(frame, 1, n_classes=10)
    with pytest.raises(HandwritingError, match="at most 3 digits"):
        kept.add(pictures[3], 1, n_classes=10)
    with pytest.raises(HandwritingError, match=r"already in the set \(#2\)"):
        replace(kept, limit=10).add(pictures[1].copy(), 5, n_classes=10)
    assert len(kept) == 3


@pytest.mark.parametrize("label", [-1, 10, True, 7.0, "7", None])
def test_a_label_outside_the_classes_is_refused(digits: Dataset, label: object) -> None:
    with pytest.raises(HandwritingError, match="Pick the class"):
        Handwriting().add(frames(digits, 1)[0], label, n_classes=10)


@pytest.mark.parametrize("pixels", [np.zeros((8, 8)), np.zeros((28, 28, 3)), np.full((28, 28), 2.0),
                                    np.full((28, 28), np.nan), np.full((28, 28), -0.5)])
def test_pixels_that_are_not_a_prepared_digit_are_refused(pixels: np.ndarray) -> None:
    with pytest.raises(HandwritingError, match="28x28 pixels in"):
        Handwriting().add(pixels, 1, n_classes=10)


def test_the_set_is_scored_as_a_group_like_any_split(digits: Dataset) -> None:
    model = build_model(DIGITS_MODEL, seed=0)
    kept = Handwriting()
    for frame, label in zip(frames(digits, 12), digits.y_test[:12]):
        kept = kept.add(frame, int(label), n_classes=10)
    metrics = evaluate_handwriting(model, kept, digits.class_names)
    predicted = predict_proba(model, kept.model_input).argmax(axis=1)  # the reference, computed here
    assert metrics.n_samples == 12
    assert metrics.accuracy == pytest.approx(np.mean(predicted == digits.y_test[:12]))
    np.testing.assert_array_equal(metrics.confusion, confusion_matrix(digits.y_test[:12], predicted, labels=range(10)))
    np.testing.assert_array_equal(metrics.y_pred, predicted)


def test_scoring_needs_digits_and_labels_the_model_knows(digits: Dataset) -> None:
    model = build_model(DIGITS_MODEL, seed=0)
    with pytest.raises(HandwritingError, match="empty"):
        evaluate_handwriting(model, Handwriting(), digits.class_names)
    kept = Handwriting().add(frames(digits, 1)[0], 9, n_classes=10)
    with pytest.raises(HandwritingError, match="labels this model does not know"):
        evaluate_handwriting(model, kept, digits.class_names[:5])


# --- Take it home on the Evaluate page --------------------------------------------------------------------------


def take_it_home(lab: Lab) -> tuple[set[str], AppTest]:
    """The labels of the Evaluate page's download buttons, and the page."""
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.session_state[SESSION] = Session(lab)
    at.switch_page("app_pages/evaluate.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return {b.proto.label for b in at.get("download_button")}, at


def test_evaluate_offers_the_model_the_csvs_and_the_script(circles: Dataset) -> None:
    lab = Lab()
    lab.set_data(DataConfig(name="circles", n_samples=200, noise=0.05), circles)
    lab.train(replace(lab.train_config, epochs=5), wait=True)
    buttons, _ = take_it_home(lab)
    assert buttons == {"The trained model (.pt)", "Per-class metrics (CSV)",
                            "Predictions on the test split (CSV)", "Training history, epoch by epoch (CSV)",
                            "PyTorch script that reproduces this run (.py)"}
    script = run_script(lab.data_config, lab.data, lab.model_config, lab.train_config)
    compile(script, "nnlab_run.py", "exec")  # valid Python; tests/test_script.py runs such scripts
    assert "make_circles" in script and repr(lab.data.class_names) in script


def test_data_a_script_cannot_reproduce_gets_a_note_instead_of_a_button(digits: Dataset) -> None:
    lab = Lab()
    lab.set_data(DataConfig(name="digits", train_size=300, seed=0), digits)
    lab.train(replace(lab.train_config, epochs=1), wait=True)
    buttons, at = take_it_home(lab)
    assert "The trained model (.pt)" in buttons and "PyTorch script that reproduces this run (.py)" not in buttons
    assert any(c.value.startswith("No standalone script for this run: the script makes its data itself") and
               "not for the offline 8×8 digits." in c.value for c in at.caption)
    with pytest.raises(ValueError, match="not for the offline 8×8 digits"):
        run_script(lab.data_config, lab.data, lab.model_config, lab.train_config)


def test_the_pad_keeps_its_strokes_only_when_they_are_json_of_a_bounded_size() -> None:
    strokes = {"objects": [{"type": "path", "path": [["M", 10.5, 20], ["L", 30, 40]]}], "background": "#000000"}
    kept = PadDrawing.keep(strokes, b"png", white_ink=False)
    assert kept is not None and kept.canvas() == strokes and (kept.png, kept.white_ink) == (b"png", False)
    huge = {"objects": [{"type": "path", "path": [["L", 1.25, 2.5]] * (MAX_PAD_CHARS // 10)}]}
    assert PadDrawing.keep(huge, b"png", white_ink=True) is None  # a scribble past the bound is not kept
    assert PadDrawing.keep({"objects": [{"x": float("nan")}]}, b"png", white_ink=True) is None
    assert PadDrawing.keep({"objects": [object()]}, b"png", white_ink=True) is None
