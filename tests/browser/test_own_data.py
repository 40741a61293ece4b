"""Your own points in real Chromium: click two classes onto the plane, train on them, then import a CSV.

The plane is streamlit-image-coordinates' image in its own iframe: a click there reaches the server as the
click's pixel, and the page adds the points where it landed.
"""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from core.data.drawn import view_for
from tests.browser.helpers import (
    act,
    assert_no_exception,
    charts,
    go_to,
    screenshot,
    wait_for_chart,
    wait_for_session,
)
from tests.browser.layout import settled_layout_problems
from tests.csv_corpus import csv_bytes, rows

PLANE = 'iframe[title="streamlit_image_coordinates.streamlit_image_coordinates"]'
BOUNDARY = "Decision boundary after epoch"


def choose(page: Page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`."""
    box = page.get_by_role("combobox", name=label, exact=True)
    box.evaluate("e => e.scrollIntoView({block: 'center'})")  # at the window's lower edge its list does not open
    box.click()
    act(page, page.get_by_role("option", name=option, exact=True).click)
    expect(box).to_have_value(option)


def plane(page: Page) -> Locator:
    image = page.frame_locator(PLANE).locator("#image")
    expect(image).to_be_visible()
    return image


def click_plane(page: Page, fx: float, fy: float) -> None:
    """Click the plane at a fraction (fx, fy) of its width and height, and wait for the page to follow."""
    image = plane(page)
    box = image.bounding_box()
    act(page, lambda: image.click(position={"x": fx * box["width"], "y": fy * box["height"]}))


def points_caption(page: Page, n: int) -> Locator:
    return page.get_by_text(f"{n:,} points.", exact=False).first


def test_draw_two_classes_train_then_import_a_csv(page: Page) -> None:
    go_to(page, "Data")
    choose(page, "Dataset", "Your own points (draw or import)")
    choose(page, "Brush", "a cloud of 25")
    for fy in (0.35, 0.6):  # orange on the left
        click_plane(page, 0.25, fy)
    act(page, page.get_by_role("radio", name="blue", exact=False).first.click)  # the class pills
    for fy in (0.35, 0.6):  # blue on the right
        click_plane(page, 0.75, fy)
    expect(points_caption(page, 100)).to_be_visible()
    expect(page.get_by_text("more orange")).to_have_count(0)  # enough of each class: no "Add … more"
    assert_no_exception(page, "data-draw")
    screenshot(page, "data-draw")  # the README's picture: docs/screenshots/data-draw.png is copied from it
    assert "data=csv" in page.url and "pts=" not in page.url, "the address bar never holds the points"
    page.reload()  # this tab's reload finds them in the session store
    wait_for_session(page)
    expect(points_caption(page, 100)).to_be_visible()

    go_to(page, "Train")  # the drawn set trains on arrival, like any 2-D data
    assert wait_for_chart(page, "", title=BOUNDARY), f"no boundary for the drawn points: {charts(page)}"
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Trained")

    go_to(page, "Data")
    raw = csv_bytes(rows(60, ("cat", "dog")))
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Import a CSV").first
    act(page, lambda: uploader.locator('input[type="file"]').set_input_files(
        [{"name": "pets.csv", "mimeType": "text/csv", "buffer": raw}]))
    expect(points_caption(page, 120)).to_be_visible()
    expect(page.get_by_role("radio", name="cat", exact=False).first).to_be_visible()
    assert_no_exception(page, "data-import")


def plane_width(page: Page) -> float:
    """The plane's width on screen, px (its frame's height is set once, when its image loads: not measured)."""
    return plane(page).bounding_box()["width"]


def plane_width_after_resize(page: Page, expected: float) -> float:
    """The plane's width once its frame has followed a new window size (it may lag the page's own layout on a
    busy machine): `expected` when it gets there within a few seconds, else the width it had then."""
    for _ in range(30):
        width = plane_width(page)
        if abs(width - expected) <= 1:
            return width
        page.wait_for_timeout(100)
    return width


def test_the_plane_spans_a_1024_px_page_and_keeps_its_own_size_on_a_wide_one(page: Page) -> None:
    """At 1024 px the plane is as wide as the page's content (it was 315 of 564 px, beside the settings, its labels
    a third of their size); on a 1920-px screen it is its image's own width, not stretched past it."""
    page.set_viewport_size({"width": 1024, "height": 768})
    go_to(page, "Data")
    choose(page, "Dataset", "Your own points (draw or import)")
    problems = {1024: settled_layout_problems(page)}
    content = page.locator('[data-testid="stSelectbox"]').filter(has_text="Dataset").first.bounding_box()["width"]
    narrow = plane_width(page)
    screenshot(page, "data-draw-1024")
    page.set_viewport_size({"width": 1920, "height": 1080})
    problems[1920] = settled_layout_problems(page)
    wide = plane_width_after_resize(page, view_for([]).width)
    assert narrow >= 0.95 * content, f"at 1024 px the plane is {narrow:.0f} px wide of the page's {content:.0f}"
    assert abs(wide - view_for([]).width) <= 1, f"at 1920 px the plane is {wide:.0f} px wide, its image 720"
    assert not any(problems.values()), problems
