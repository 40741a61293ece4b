"""Drawn points: the plane's pixel <-> data mapping, brush and eraser, the link form, and training on them."""

from __future__ import annotations

import base64
import json
import struct

import numpy as np
import pytest
from PIL import Image

from core.config import OWN_POINTS, DataConfig, DataError, validate_config
from core.data.csvfile import read_points_csv, write_points_csv
from core.data.drawn import (
    MAX_IN_LINK,
    DrawnError,
    View,
    add_points,
    as_arrays,
    as_points,
    click_to_data,
    drawn_config,
    erase_points,
    missing_points,
    pack_link,
    points_of,
    resize_classes,
    to_data,
    to_pixels,
    to_point_set,
    unpack_link,
    view_for,
)
from core.data.make import make_dataset
from core.lab import Lab
from core.plots.drawn import nice_ticks, plane_image
from core.plots.style import class_rgb

BASE = DataConfig(seed=3)


def clouds(n_per_class: int = 40, k: int = 2, seed: int = 0) -> tuple:
    """Well separated Gaussian clouds, one per class, as a drawn set."""
    rng = np.random.default_rng(seed)
    centres = np.array([[np.cos(a), np.sin(a)] for a in np.linspace(0, 2 * np.pi, k, endpoint=False)]) * 3
    X = np.concatenate([c + rng.normal(scale=0.4, size=(n_per_class, 2)) for c in centres])
    return as_points(X, np.repeat(np.arange(k), n_per_class)), tuple(f"c{i}" for i in range(k))


# --- the plane's mapping -----------------------------------------------------------------------------


def test_pixels_and_data_round_trip_both_ways() -> None:
    view = View(-3.5, 7.25, -0.5, 2.0, width=640, height=480)
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.uniform(view.x0, view.x1, 50), rng.uniform(view.y0, view.y1, 50)])
    back = np.array([to_data(px, py, view) for px, py in to_pixels(X, view)])
    np.testing.assert_allclose(back, X, atol=1e-9)
    pixels = rng.uniform(0, 480, size=(50, 2))
    again = to_pixels(np.array([to_data(px, py, view) for px, py in pixels]), view)
    np.testing.assert_allclose(again, pixels, atol=1e-9)


def test_corners_and_up_are_where_they_should_be() -> None:
    view = View(0.0, 10.0, 0.0, 5.0, width=200, height=100)
    assert to_data(0, 0, view) == (0.0, 5.0)  # top left is (x0, y1): y points up
    assert to_data(200, 100, view) == (10.0, 0.0)


def test_a_click_on_a_scaled_down_image_maps_to_the_same_point() -> None:
    view = View(-2.0, 2.0, -2.0, 2.0, width=720, height=540)
    full = click_to_data({"x": 540, "y": 135, "width": 720, "height": 540}, view)
    half = click_to_data({"x": 270, "y": 67.5, "width": 360, "height": 270}, view)
    assert full == pytest.approx(half)
    assert full == pytest.approx((1.0, 1.0))


def test_the_drawn_point_lands_on_the_clicked_pixel() -> None:
    view = View(-2.0, 2.0, -2.0, 2.0, width=200, height=150)
    at = click_to_data({"x": 150, "y": 30, "width": 200, "height": 150}, view)
    points = add_points((), at, 1)
    image = np.asarray(plane_image(*as_arrays(points), ("a", "b"), view, active=None))
    assert np.abs(image[30, 150].astype(float) - class_rgb(2)[1]).max() < 30  # the class colour under the click
    assert np.abs(image[30, 120].astype(float) - 255).max() < 30  # and white beside it


def test_the_plane_numbers_read_at_the_width_a_1024_px_screen_shows_it() -> None:
    """Shown 564 px wide (the Data page's width at 1024 px), an axis number is dark ink (darker than #aaa) 8 px
    tall or more: the 11-px pale grey numbers of old left no stroke that dark at that size."""
    view = view_for([])
    shown_w = 564
    image = plane_image(np.empty((0, 2)), np.empty(0, dtype=int), ("a", "b"), view)
    shown = np.asarray(image.resize((shown_w, shown_w * view.height // view.width), Image.Resampling.LANCZOS))
    left = int(to_pixels([[0.0, 0.0]], view)[0, 0] * shown_w / view.width)  # the x axis's "0", right of its line
    ink = shown[-40:, left + 1: left + 20].max(axis=2) < 0xAA
    rows = np.flatnonzero(ink.any(axis=1))
    assert rows.size and rows.max() - rows.min() + 1 >= 8, f"ink rows of the x axis's 0: {rows}"


def test_the_view_holds_every_point_and_an_empty_plane_has_a_default() -> None:
    X = np.array([[5.0, -1.0], [9.0, 4.0]])
    view = view_for(X)
    pixels = to_pixels(X, view)
    assert ((pixels > 0) & (pixels < [view.width, view.height])).all()
    assert view_for(np.empty((0, 2))).x0 < 0 < view_for(np.empty((0, 2))).x1


def test_ticks_are_round_and_inside() -> None:
    ticks = nice_ticks(-1.3, 2.7)
    assert ticks.min() >= -1.3 and ticks.max() <= 2.7 and len(ticks) >= 4
    assert np.allclose(np.diff(ticks), np.diff(ticks)[0])


def test_the_planes_edge_values_are_written_clear_of_the_key() -> None:
    """QA: on the empty -2..2 plane the top "2" lay under the class key and the right "2" ran off the image. Both
    edges' values are written inside the image now."""
    view = View(-2.0, 2.0, -2.0, 2.0)
    ink = np.asarray(plane_image(np.empty((0, 2)), np.empty(0, dtype=int), ("a", "b"), view).convert("L"))
    inner = ink[3:-3, 3:-3]  # inside the 1-px border
    written = inner < 130  # the labels' grey (#5f6770); grid lines and the border are lighter
    assert written[:30, -40:].any(), "the top y value, at the right edge"
    assert written[-30:, -40:].any(), "the right x value, at the bottom"
    assert written[-30:, :40].any(), "the left x value, at the bottom"


# --- editing --------------------------------------------------------------------------------------------


def test_the_brush_adds_a_seeded_cloud_around_the_click() -> None:
    one = add_points((), (1.0, 2.0), 0, count=12, radius=0.5, seed=4)
    assert one == add_points((), (1.0, 2.0), 0, count=12, radius=0.5, seed=4)
    X, y = as_arrays(one)
    assert len(one) == 12 and (y == 0).all()
    assert np.abs(X.mean(axis=0) - [1.0, 2.0]).max() < 0.4


def test_the_eraser_removes_only_nearby_points() -> None:
    points = as_points(np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 1.0]]), np.array([0, 1, 0]))
    assert erase_points(points, (0.0, 0.0), 0.2) == points[2:]
    assert erase_points(points, (5.0, 5.0), 0.2) == points


def test_a_wrong_label_or_too_many_points_is_refused() -> None:
    with pytest.raises(DrawnError, match="label"):
        add_points((), (0.0, 0.0), 6)
    with pytest.raises(DrawnError, match="10,000"):
        add_points(((0.0, 0.0, 0),) * 10_000, (0.0, 0.0), 0)


def test_fewer_classes_drop_their_points_and_more_get_colour_names() -> None:
    points, names = clouds(k=3)
    fewer, two = resize_classes(points, names, 2)
    assert two == ("c0", "c1") and {p[2] for p in fewer} == {0, 1}
    _, four = resize_classes(points, names, 4)
    assert four[:3] == names and four[3] == "orange"


def test_missing_points_names_each_short_class_and_how_many() -> None:
    points, names = clouds(n_per_class=60, k=2)
    few = points[:60] + points[60:70]  # c1 has only 10
    missing = missing_points(few, names, drawn_config(few, names, BASE))
    assert list(missing) == ["c1"] and missing["c1"] > 0
    enough = few + add_points((), (3.0, 0.0), 1, count=missing["c1"], radius=0.1)
    assert not missing_points(enough, names, drawn_config(enough, names, BASE))
    make_dataset(drawn_config(enough, names, BASE))  # and the splits then work


# --- a drawn set is data like any other ------------------------------------------------------------------


def test_a_drawn_set_trains_and_evaluates_like_generated_data() -> None:
    points, names = clouds(n_per_class=45, k=3)
    config = drawn_config(points, names, BASE)
    lab = Lab()
    lab.set_data(config, make_dataset(config))
    result = lab.train(lab.train_config, wait=True)
    evaluation = lab.evaluation()
    assert result.history and evaluation.test.accuracy > 0.9
    assert len(result.snapshots) > 1  # the replay's frames, as for generated points
    assert lab.data.class_names == names and lab.data.units is not None
    assert len(lab.data.y_test) + len(lab.data.y_val) + len(lab.data.y_train) == len(points)


def test_the_same_points_and_seed_give_the_same_splits() -> None:
    points, names = clouds()
    a, b = (make_dataset(drawn_config(points, names, BASE)) for _ in range(2))
    np.testing.assert_array_equal(a.X_test, b.X_test)
    c = make_dataset(drawn_config(points, names, DataConfig(seed=4)))
    assert not np.array_equal(a.X_test, c.X_test)


def test_start_from_a_generated_dataset_keeps_its_points_in_their_units() -> None:
    data = make_dataset(DataConfig(name="moons", n_samples=200))
    points = points_of(data)
    assert len(points) == 200
    again = make_dataset(drawn_config(points, data.class_names, BASE))
    np.testing.assert_allclose(np.sort(np.array(points_of(again)), axis=0), np.sort(np.array(points), axis=0),
                               atol=1e-5)


def test_a_drawn_config_is_checked() -> None:
    points, names = clouds()
    with pytest.raises(DataError, match="class names"):
        validate_config(DataConfig(name=OWN_POINTS, points=points, class_names=("one",)))
    with pytest.raises(DataError, match="index"):
        validate_config(DataConfig(name=OWN_POINTS, points=points + ((0.0, 0.0, 5),), class_names=names))


def test_the_csv_export_reads_back_as_the_same_set() -> None:
    points, names = clouds(k=3)
    found = read_points_csv(write_points_csv(to_point_set(points, names)))
    assert found.class_names == names
    X, y = as_arrays(points)
    np.testing.assert_allclose(found.X, X, rtol=1e-5, atol=1e-5)  # written with 6 significant digits
    assert (found.y == y).all()


# --- the link form ------------------------------------------------------------------------------------------


def test_the_link_form_round_trips_to_within_one_step() -> None:
    points, names = clouds(n_per_class=100, k=2)
    text = pack_link(points, names)
    back, back_names = unpack_link(text)
    X, y = as_arrays(points)
    X2, y2 = as_arrays(back)
    span = X.max(axis=0) - X.min(axis=0)
    assert back_names == names and (y2 == y).all()
    assert (np.abs(X2 - X) <= span / 65535 + 1e-5).all()
    assert pack_link(back, back_names) == text  # stable: a reloaded link writes the same link
    assert len(text) < 1300 and set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_one_point_and_a_flat_set_travel_too() -> None:
    flat = as_points(np.array([[1.0, 2.0], [3.0, 2.0]]), np.array([0, 1]))
    assert unpack_link(pack_link(flat, ("a", "b")))[0] == flat


def test_a_large_set_does_not_travel_in_a_link() -> None:
    points, names = clouds(n_per_class=MAX_IN_LINK // 2 + 1)
    with pytest.raises(DrawnError, match="200"):
        pack_link(points, names)


def _raw(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


GOOD, GOOD_NAMES = as_points(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]]), np.array([0, 1, 1])), ("a", "b")
GOOD_RAW = _raw(pack_link(GOOD, GOOD_NAMES))
HOSTILE = {
    "empty": "",
    "not base64": "!!!!",
    "spaces": "AQI DAA",
    "one char": "A",
    "huge": "A" * 5000,
    "header only": _b64(GOOD_RAW[:10]),
    "cut short": _b64(GOOD_RAW[:-2]),
    "trailing bytes": _b64(GOOD_RAW + b"\x00\x00"),
    "version 9": _b64(b"\x09" + GOOD_RAW[1:]),
    "one class": _b64(GOOD_RAW[:1] + b"\x01" + GOOD_RAW[2:]),
    "200 classes": _b64(GOOD_RAW[:1] + b"\xc8" + GOOD_RAW[2:]),
    "65535 points": _b64(GOOD_RAW[:2] + b"\xff\xff" + GOOD_RAW[4:]),
    "no points": _b64(GOOD_RAW[:2] + b"\x00\x00" + GOOD_RAW[4:]),
    "NaN box": _b64(GOOD_RAW[:4] + struct.pack("<f", float("nan")) + GOOD_RAW[8:]),
    "inf box": _b64(GOOD_RAW[:4] + struct.pack("<f", float("inf")) + GOOD_RAW[8:]),
    "inverted box": _b64(GOOD_RAW[:4] + struct.pack("<ff", 5.0, -5.0) + GOOD_RAW[12:]),
    "markup name": _b64(GOOD_RAW[:20] + b"\x03<b>" + GOOD_RAW[22:]),
    "same names": _b64(GOOD_RAW[:20] + b"\x01b" + GOOD_RAW[22:]),
    "bad utf-8 name": _b64(GOOD_RAW[:20] + b"\x01\xff" + GOOD_RAW[22:]),
    "label out of range": _b64(GOOD_RAW[:-2] + b"\x77\x07"),
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_link_form_is_refused_with_a_plain_message(text: str) -> None:
    with pytest.raises(DrawnError) as info:
        unpack_link(text)
    message = str(info.value)
    assert message and len(message) < 160 and "\n" not in message and "<" not in message


def test_the_hostile_cases_start_from_a_good_one() -> None:
    points, names = unpack_link(_b64(GOOD_RAW))
    assert names == GOOD_NAMES and [p[2] for p in points] == [0, 1, 1]
    np.testing.assert_allclose(as_arrays(points)[0], as_arrays(GOOD)[0], atol=1e-4)


def test_the_command_line_trains_a_drawn_set_from_a_link(capsys: pytest.CaptureFixture[str]) -> None:
    from core.__main__ import main
    from core.config import Settings, shaped
    from core.url.state import preset_settings, share_query

    points, names = clouds(n_per_class=50, k=2)
    config = drawn_config(points, names, BASE)
    preset = preset_settings("circles")
    link = "http://localhost:8501/?" + share_query(Settings(config, shaped(preset.model, config), preset.train))
    assert main(["train", "--from-url", link, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["config"]["data"]["name"] == OWN_POINTS and report["config"]["data"]["seed"] == BASE.seed
    assert report["metrics"]["test"]["accuracy"] > 0.9 and len(report["config"]["data"]["points"]) == 100
