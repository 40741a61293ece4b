"""Uploaded bytes -> 28x28 model input: the hostile corpus, digit recovery, and a round trip through real MNIST."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from core.data.images import CROP_THRESHOLD, MAX_PIXELS, REASONS, ImageError, PreparedImage, prepare_image
from core.data.mnist import read_idx
from core.data.pixels import center_by_mass, to_pixels
from tests.image_corpus import bomb_png, corpus, draw_digit, encode, paper_photo, png_bytes

CENTRE = 14.0  # where MNIST puts the centre of mass in its 28x28 frame
DIGIT_BOX = (400, 100, 520, 300)  # a 121x201 digit on the darker right half of a 640x480 photo


def centre_of_mass(pixels: np.ndarray) -> tuple[float, float]:
    """(row, column) of the brightness-weighted centre."""
    rows, cols = np.indices(pixels.shape)
    return float((rows * pixels).sum() / pixels.sum()), float((cols * pixels).sum() / pixels.sum())


def ink_box(pixels: np.ndarray, threshold: float = 0.1) -> tuple[int, int]:
    """(height, width) of the box around pixels brighter than the threshold."""
    rows, cols = np.flatnonzero((pixels > threshold).any(axis=1)), np.flatnonzero((pixels > threshold).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def reason_of(data: bytes, **limits: int) -> str:
    """"ok" if the bytes prepare, else the ImageError's reason."""
    try:
        prepare_image(data, **limits)
    except ImageError as exc:
        return exc.reason
    return "ok"


@pytest.mark.parametrize("name", sorted(corpus()))
def test_corpus_case_gives_its_expected_outcome(name: str) -> None:
    data, expected = corpus()[name]
    assert expected == "ok" or expected in REASONS
    if expected != "ok":
        with pytest.raises(ImageError) as caught:
            prepare_image(data)
        assert caught.value.reason == expected and str(caught.value)
        return
    prepared = prepare_image(data)
    assert prepared.centered.shape == (28, 28) and prepared.centered.max() == pytest.approx(1.0)
    assert np.isfinite(prepared.model_input).all()
    assert prepared.original.dtype == np.uint8 and prepared.original.shape[2] == 3


def test_every_refusal_is_an_image_error_that_is_a_value_error() -> None:
    refusals = {name: data for name, (data, expected) in corpus().items() if expected != "ok"}
    assert set(REASONS) <= {expected for _, expected in corpus().values()}
    for name, data in refusals.items():
        with pytest.raises(ValueError, match=".") as caught:  # pages catch ImageError; it is also a ValueError
            prepare_image(data)
        assert isinstance(caught.value, ImageError), name


def test_dark_digit_off_centre_on_light_canvas_is_recovered() -> None:
    canvas = draw_digit("0", size=(200, 120), box=(5, 5, 45, 75), stroke=6)  # top-left corner, 41x71
    prepared = prepare_image(png_bytes(canvas))
    assert prepared.was_inverted and (prepared.width, prepared.height, prepared.format) == (200, 120, "PNG")
    assert prepared.inverted[0, 0] == pytest.approx(0.0) and prepared.inverted.max() == pytest.approx(1.0)
    assert prepared.cropped.shape == pytest.approx((71, 41), abs=2)
    assert prepared.scaled.shape == (20, 12)
    row, col = centre_of_mass(prepared.centered)
    assert abs(row - CENTRE) <= 1 and abs(col - CENTRE) <= 1
    assert max(ink_box(prepared.centered)) == pytest.approx(20, abs=1)
    border = np.concatenate([prepared.centered[:3].ravel(), prepared.centered[-3:].ravel()])
    assert border.max() == 0.0 and prepared.centered[14].max() > 0.9  # a white ring on black


def test_light_digit_on_dark_is_not_inverted() -> None:
    prepared = prepare_image(png_bytes(draw_digit("1", size=(90, 90), ink=230, paper=20)))
    assert not prepared.was_inverted
    # Light ink (230) on dark paper (20) stays light on dark, as MNIST is stored.
    assert prepared.inverted.max() == pytest.approx(230 / 255, abs=0.01)
    assert np.median(prepared.inverted) == pytest.approx(20 / 255, abs=0.01)


def test_both_polarities_give_the_same_input() -> None:
    dark = prepare_image(png_bytes(draw_digit("7", size=(90, 90))))
    light = prepare_image(png_bytes(draw_digit("7", size=(90, 90), ink=255, paper=0)))
    assert dark.was_inverted and not light.was_inverted
    np.testing.assert_allclose(dark.centered, light.centered, atol=1e-5)


def test_exif_orientation_is_applied() -> None:
    prepared = prepare_image(corpus()["exif_rotated_jpeg"][0])  # stored 120x60 with a wide bar, tag 6
    assert (prepared.width, prepared.height) == (60, 120)
    height, width = prepared.cropped.shape
    assert height > 5 * width  # the bar now stands upright
    assert prepared.scaled.shape[0] == 20


def test_gray_photo_of_paper_is_stretched_to_full_contrast() -> None:
    prepared = prepare_image(encode(draw_digit("0", size=(120, 120), ink=90, paper=170), "JPEG", quality=85))
    assert prepared.was_inverted
    assert prepared.centered.max() == pytest.approx(1.0) and prepared.centered[:2].max() == 0.0


@pytest.mark.parametrize("color", [(0, 0, 0), (255, 255, 255)], ids=["black", "white"])
def test_digit_only_in_alpha_is_recovered_like_an_opaque_one(color: tuple[int, int, int]) -> None:
    expected = prepare_image(png_bytes(draw_digit("0", size=(80, 80), ink=255, paper=0))).centered
    image = Image.new("RGBA", (80, 80), (*color, 0))
    image.putalpha(draw_digit("0", size=(80, 80), ink=255, paper=0))
    np.testing.assert_allclose(prepare_image(png_bytes(image)).centered, expected, atol=0.02)


def test_animated_gif_uses_its_first_frame() -> None:
    one = prepare_image(png_bytes(draw_digit("1", size=(64, 64)))).centered
    prepared = prepare_image(corpus()["animated_gif"][0])
    assert prepared.format == "GIF"
    np.testing.assert_allclose(prepared.centered, one, atol=0.02)


def test_model_input_is_the_normalised_centred_frame() -> None:
    prepared = prepare_image(corpus()["digit_black_on_white"][0])
    assert prepared.model_input.shape == (1, 1, 28, 28) and prepared.model_input.dtype == np.float32
    # MNIST's training mean and std, written out rather than taken from the code under test.
    np.testing.assert_allclose(prepared.model_input[0, 0], (prepared.centered - 0.1307) / 0.3081, atol=1e-6)
    np.testing.assert_allclose(to_pixels(prepared.model_input[0, 0]), prepared.centered, atol=1e-6)


def test_steps_are_in_pipeline_order() -> None:
    prepared = prepare_image(corpus()["digit_black_on_white"][0])
    assert [title for title, _ in prepared.steps] == ["Original", "Grayscale", "Inverted", "Background removed",
                                                      "Cropped", "28×28 centred"]
    assert prepared.steps[0][1] is prepared.original and prepared.steps[-1][1] is prepared.centered
    with pytest.raises(AttributeError):
        prepared.was_inverted = False  # type: ignore[misc]  # results are frozen


def test_random_noise_prepares_rather_than_crashing() -> None:
    # Noise has no background to tell ink from, so nothing marks it as blank: it prepares (the model
    # then predicts whatever it predicts, usually with low confidence); what matters is no crash.
    prepared = prepare_image(corpus()["random_noise"][0])
    assert isinstance(prepared, PreparedImage) and prepared.cropped.shape == (64, 64)


def test_bomb_is_refused_from_its_header_without_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Image.Image) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(Image.Image, "load", refuse)
    for name in ("bomb_30000x30000", "bomb_8000x8000"):
        assert reason_of(corpus()[name][0]) == "too_large", name


def test_limits_are_arguments() -> None:
    data = png_bytes(draw_digit("0", size=(100, 100)))
    assert reason_of(data) == "ok"
    assert reason_of(data, max_pixels=100 * 100 - 1) == "too_large"
    assert reason_of(data, max_bytes=len(data) - 1) == "too_large"
    assert reason_of(bomb_png(4096, 4096)) == "blank"  # exactly MAX_PIXELS is allowed (and all black)
    assert reason_of(bomb_png(4097, 4096)) == "too_large"
    assert MAX_PIXELS == 4096 * 4096


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_pixels": 0}, "max_pixels must be a positive integer. Got 0 instead."),
    ({"max_bytes": -5}, "max_bytes must be a positive integer. Got -5 instead."),
])
def test_bad_limits_say_what_was_expected(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        prepare_image(b"anything", **kwargs)


def test_non_bytes_are_a_type_error() -> None:
    with pytest.raises(TypeError, match="data must be the file's bytes. Got str instead."):
        prepare_image("digit.png")  # type: ignore[arg-type]


def test_bytearray_and_memoryview_are_accepted() -> None:
    data = png_bytes(draw_digit("7", size=(60, 60)))
    expected = prepare_image(data).centered
    for view in (bytearray(data), memoryview(data)):
        np.testing.assert_array_equal(prepare_image(view).centered, expected)


def test_large_photo_is_shrunk_for_the_steps_but_reports_its_size() -> None:
    prepared = prepare_image(encode(draw_digit("0", size=(3000, 2000), mode="RGB"), "JPEG"))
    assert (prepared.width, prepared.height) == (3000, 2000)
    assert prepared.original.shape == (683, 1024, 3) and prepared.grayscale.shape == (683, 1024)
    assert prepared.background_removed.shape == (683, 1024)  # the background is removed after shrinking
    assert prepared.scaled.shape == (20, 12)


@pytest.mark.parametrize("digit", ["0", "1", "7"])
@pytest.mark.parametrize("shadow", [False, True], ids=["light_falls_off", "hard_shadow"])
def test_uneven_light_is_removed_before_the_ink_is_cropped(digit: str, shadow: bool) -> None:
    # Paper at 190 lit from 120% down to 80% (or with a hard shadow edge through the digit), ink at 90: the
    # paper's light varies by ~76 grey levels, close to the ink's own contrast. Judged from the border alone,
    # the darker paper passes for ink and the crop is a grey rectangle (what happened before).
    box = (150, 100, 270, 300) if shadow else DIGIT_BOX  # the shadow's edge is at x = 213
    prepared = prepare_image(paper_photo(digit, box=box, shadow=shadow))
    expected = prepare_image(png_bytes(draw_digit(digit, size=(640, 480), box=box)))  # the same digit, scanned
    assert prepared.was_inverted
    assert prepared.cropped.shape == pytest.approx(expected.cropped.shape, abs=3)
    assert shift_tolerant_r(prepared.centered, expected.centered) > 0.95
    removed = prepared.background_removed
    left, right = removed[:, : box[0] - 20], removed[:, box[2] + 20:]  # clear of the strokes (25 px wide)
    assert removed.max() == pytest.approx(1.0) and left.max() < CROP_THRESHOLD and right.max() < CROP_THRESHOLD
    assert (left > 0).mean() < 0.01 and (right > 0).mean() < 0.01  # lit and dim paper alike: black but for grain


def test_clean_drawing_passes_background_removal_unchanged() -> None:
    prepared = prepare_image(corpus()["digit_black_on_white"][0])
    np.testing.assert_array_equal(prepared.background_removed, prepared.inverted)


def test_thick_strokes_are_not_taken_for_background() -> None:
    # A ring drawn 30 px thick on a 100 px canvas: the background estimate must look wider than any stroke.
    prepared = prepare_image(corpus()["thick_stroke"][0])
    assert prepared.background_removed.sum() >= 0.99 * prepared.inverted.sum()


def test_a_photo_of_blank_paper_is_blank_however_it_is_lit() -> None:
    with pytest.raises(ImageError) as caught:
        prepare_image(paper_photo(None))
    assert caught.value.reason == "blank"


def shift_tolerant_r(a: np.ndarray, b: np.ndarray) -> float:
    """The best Pearson r between two images over shifts of at most one pixel."""
    shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return max(float(np.corrcoef(np.roll(a, s, axis=(0, 1)).ravel(), b.ravel())[0, 1]) for s in shifts)


@pytest.mark.mnist
def test_real_mnist_digits_survive_a_round_trip(mnist_folder: Path) -> None:
    digits = read_idx(mnist_folder / "t10k-images-idx3-ubyte.gz")[:50]
    r = []
    for index, digit in enumerate(digits):
        # Rendered black on white at 4x (each pixel a 4x4 block), as a clean scan or drawing would be.
        upload = Image.fromarray((255 - digit).repeat(4, axis=0).repeat(4, axis=1))
        prepared = prepare_image(png_bytes(upload))
        assert prepared.was_inverted and max(prepared.cropped.shape) == 80  # MNIST's 20 px box, at 4x
        r.append(np.corrcoef(prepared.centered.ravel(), digit.ravel())[0, 1])
        # Rounding the centre of mass can move a thin stroke by one pixel from where MNIST put it.
        assert shift_tolerant_r(prepared.centered, digit / 255.0) > 0.9, f"digit {index}"
    assert np.median(r) > 0.95


def test_centring_a_lopsided_digit_never_cuts_ink_off() -> None:
    # A heavy bar at the top and a one-pixel stem: the centre of mass sits high, and moving it to the
    # frame's centre would push the stem's end past the bottom edge.
    frame = np.zeros((28, 28), dtype=np.float32)
    frame[4:10, 8:20] = 1.0  # the bar: 72 units of ink
    frame[10:24, 14] = 1.0  # the stem: 14 more, down to the last row the 20 px box allows
    centred = center_by_mass(frame)
    assert centred.sum() == frame.sum()  # a pure shift: every pixel of ink kept
    assert centred[-1].any() or centred[:, -1].any() or centred[0].any()  # pushed as far as the frame allows
    ys, xs = np.nonzero(centred)
    assert (ys.max() - ys.min(), xs.max() - xs.min()) == (19, 11)  # same shape, moved whole
