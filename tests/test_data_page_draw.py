"""The Data page's own points under AppTest: draw, start from a dataset, undo, CSV import and export, the link."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_pages.common.session import SESSION
from app_pages.data_draw import DRAFT, DRAWN_NAMES, HISTORY
from core.config import OWN_POINTS, DataConfig, Settings, shaped
from core.data.csvfile import read_points_csv
from core.data.drawn import MAX_IN_LINK, add_points, drawn_config, unpack_link, view_for
from core.plots.style import class_color
from core.url.points import POINTS_PARAM
from core.url.state import encode, preset_settings
from tests.csv_corpus import bad, csv_bytes, rows

TIMEOUT = 60
CSV = "text/csv"


def own_points_page() -> AppTest:
    """The Data page switched to "Your own points", on an empty plane."""
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.switch_page("app_pages/data.py").run()
    return at.selectbox(key="data.name").set_value(OWN_POINTS).run()


def drawn(n_per_class: int) -> tuple:
    """Two clouds of points as the plane's clicks would make them (brush of 1, one click each)."""
    rng = np.random.default_rng(0)
    points: tuple = ()
    for label, centre in enumerate(((-1.0, 0.0), (1.0, 0.5))):
        for x, y in rng.normal(centre, 0.3, size=(n_per_class, 2)):
            points = add_points(points, (x, y), label)
    return points


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def shared_link(at: AppTest) -> tuple[str, dict[str, str]]:
    """Press Share and read its dialog's link: (the link, its query with one value a name)."""
    at.button(key="session.share").click().run()
    no_errors(at)
    link = next(c.value for c in at.code if "data=" in c.value)  # the dialog's (a board's own links hold no data=)
    return link, {name: values[0] for name, values in parse_qs(urlsplit(link).query).items()}


def test_an_empty_plane_says_how_many_points_each_class_needs_and_keeps_the_data() -> None:
    at = own_points_page()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert lab.data_config.name == "circles"  # nothing usable drawn yet: the lab keeps its data
    message = at.info[0].value
    assert "more orange" in message and "more blue" in message and "circles" in message


def test_drawn_points_become_the_data_and_travel_in_the_share_link_not_the_address_bar() -> None:
    """The share link carries the points; the address bar (it holds the session token) never does, so whoever
    opens a copied address does not get them (tests/test_ownership.py)."""
    at = own_points_page()
    points = drawn(60)
    at.session_state[DRAFT] = (points, DRAWN_NAMES[:2], view_for([]))
    at.run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert lab.data_config.name == OWN_POINTS and lab.data_config.points == points
    assert len(lab.data.y_train) + len(lab.data.y_val) + len(lab.data.y_test) == 120
    assert len(lab.data_config.points) <= MAX_IN_LINK
    assert any("travel in the share link" in c.value for c in at.caption)
    assert "s" in at.query_params and at.query_params["data"] == OWN_POINTS and POINTS_PARAM not in at.query_params
    link, query = shared_link(at)
    linked, names = unpack_link(query[POINTS_PARAM])
    assert names == DRAWN_NAMES[:2] and len(linked) == 120 and "s" not in query


def test_start_from_the_dataset_then_clear_and_undo_restores_it() -> None:
    at = own_points_page()
    at.button(key="data.draw.start").click().run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    started = lab.data_config
    assert started.name == OWN_POINTS and len(started.points) == 500 and lab.data.class_names == ("outer", "inner")
    assert POINTS_PARAM not in at.query_params  # 500 points: too many for a link
    assert any("too many to travel in a link" in c.value for c in at.caption)
    at.button(key="data.draw.clear").click().run()
    assert at.session_state[DRAFT][0] == () and at.session_state[SESSION].lab.data_config == started
    at.button(key="data.draw.undo").click().run()
    no_errors(at)
    assert at.session_state[DRAFT][0] == started.points
    assert at.session_state[SESSION].lab.data_config == started


def test_a_good_csv_replaces_the_set_and_the_export_reads_back() -> None:
    at = own_points_page()
    raw = csv_bytes(rows(40, ("cat", "dog", "fox")), header="x;y;label", sep=";", decimal=",")
    at.file_uploader(key="data.draw.upload").set_value(("points.csv", raw, CSV)).run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert lab.data.class_names == ("cat", "dog", "fox") and len(lab.data_config.points) == 120
    assert [b.proto.label for b in at.get("download_button")] == ["Export as CSV"]
    exported = read_points_csv(_export_bytes(at))
    assert exported.class_names == ("cat", "dog", "fox") and len(exported.y) == 120
    assert len(at.session_state[HISTORY]) == 1  # the empty plane it replaced can come back


def _export_bytes(at: AppTest) -> bytes:
    """The CSV the export button offers: the same writer the page calls, on the lab's points."""
    from core.data.csvfile import write_points_csv
    from core.data.drawn import to_point_set

    config = at.session_state[SESSION].lab.data_config
    return write_points_csv(to_point_set(config.points, config.class_names))


@pytest.mark.parametrize("case", ["one class only", "over 1 MB", "markup in a label", "binary (a PNG)"])
def test_a_bad_csv_shows_its_message_and_changes_nothing(case: str) -> None:
    raw, expected = bad()[case]
    at = own_points_page()
    at.session_state[DRAFT] = (drawn(60), DRAWN_NAMES[:2], view_for([]))
    at.run()
    before = at.session_state[SESSION].lab.data_config
    at.file_uploader(key="data.draw.upload").set_value(("bad.csv", raw, CSV)).run()
    assert not at.exception
    assert len(at.error) == 1
    shown = at.error[0].value  # Markdown with every punctuation mark escaped: the file's text shows as typed
    assert expected.lower() in shown.replace("\\", "").lower() and "<b>" not in shown
    assert at.session_state[SESSION].lab.data_config is before and at.session_state[DRAFT][0] == before.points


def test_a_third_class_gets_the_next_colour_and_its_own_count() -> None:
    at = own_points_page()
    at.slider(key="data.draw.n_classes").set_value(3).run()
    no_errors(at)
    assert at.session_state[DRAFT][1] == DRAWN_NAMES[:3]
    assert "more green" in at.info[0].value


def test_each_class_to_draw_is_named_and_dotted_in_the_colour_it_is_drawn_in() -> None:
    """QA: with six classes the sixth was called "red" but drawn brown, and the pills' dots were Markdown's nearest
    named colours ("pink" violet, "sky" as dark as "blue"). Each dot is now the palette's own colour."""
    at = own_points_page()
    at.slider(key="data.draw.n_classes").set_value(6).run()
    no_errors(at)
    names = at.session_state[DRAFT][1]
    assert names == DRAWN_NAMES == ("orange", "blue", "green", "pink", "sky", "brown")
    labels = at.pills(key="data.draw.class").options  # as the page formats them
    for c, (name, label) in enumerate(zip(names, labels, strict=True)):
        assert f'foreground="{class_color(c)}"' in label and label.endswith(name), label


def test_a_drawn_set_trains_on_the_train_page() -> None:
    at = own_points_page()
    at.session_state[DRAFT] = (drawn(60), DRAWN_NAMES[:2], view_for([]))
    at.run()
    at.switch_page("app_pages/train.py").run()
    no_errors(at)
    lab = at.session_state[SESSION].lab
    assert lab.data_config.name == OWN_POINTS and lab.result is not None and len(lab.result.snapshots) > 1


def test_a_link_with_points_opens_them_on_the_plane() -> None:
    link = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    points = drawn(60)
    config = drawn_config(points, ("near", "far"), DataConfig(seed=2))
    preset = preset_settings("circles")
    for key, value in encode(Settings(config, shaped(preset.model, config), preset.train)).items():
        link.query_params[key] = value
    link.switch_page("app_pages/data.py").run()
    no_errors(link)
    lab = link.session_state[SESSION].lab
    assert lab.data_config.name == OWN_POINTS and lab.data.class_names == ("near", "far")
    assert lab.data_config.seed == 2 and lab.result is not None  # trained on arrival, like any 2-D link
    assert link.selectbox(key="data.name").value == OWN_POINTS
    assert len(link.session_state[DRAFT][0]) == 120 and link.session_state[DRAFT][1] == ("near", "far")


def test_generated_points_can_be_exported_too() -> None:
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.switch_page("app_pages/data.py").run()
    no_errors(at)
    assert [b.proto.label for b in at.get("download_button")] == ["Export as CSV"]
