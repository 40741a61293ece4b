"""Inside the network in real Chromium: circles (the network drawn with each unit's map, through the replay, a
clicked unit, the hidden space, gradient flow), then the offline digits (first-layer weights, the projector, a
CNN's feature maps, and Predict's "why it said 7"). Screenshots of each view go to test-artifacts/inside-*.png."""

from __future__ import annotations

import numpy as np
from PIL import Image
from playwright.sync_api import Page, expect

from core.config import DataConfig
from core.data.make import make_dataset
from core.data.pixels import to_pixels
from tests.browser.helpers import (
    act,
    assert_no_exception,
    chart_fingerprint,
    chart_point,
    charts,
    go_to,
    screenshot,
    wait_for_chart,
    wait_for_new_chart,
)
from tests.browser.test_journey import TRAIN_MS, choose, train_button, upload
from tests.image_corpus import png_bytes

MAPS = "What each unit sees"
# The trace names and annotation texts of the chart titled with the argument.
DRAWING_JS = """(title) => {
  const gd = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(g => (g.layout.title?.text || '').includes(title));
  return {traces: gd._fullData.map(t => t.name), notes: (gd.layout.annotations || []).map(a => a.text)};
}"""


def open_tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()
    page.wait_for_timeout(300)  # tabs switch in the browser, without a rerun


def test_circles_neuron_maps_replay_unit_hidden_space_and_gradient_flow(page: Page) -> None:
    go_to(page, "Inside")
    assert wait_for_chart(page, "heatmap", title=MAPS), f"no neuron maps: {charts(page)}"
    assert wait_for_chart(page, "heatmap", title="The boundary (output)"), f"no boundary beside: {charts(page)}"
    drawing = page.evaluate(DRAWING_JS, MAPS)
    assert {"positive weight", "negative weight"} & set(drawing["traces"]), f"no weighted edges: {drawing}"
    assert drawing["notes"].count("+8 more") == 2, f"16-16 preset: 8 of each hidden layer drawn: {drawing}"
    screenshot(page, "inside-neuron-maps")  # the README's picture: docs/screenshots/inside-neuron-maps.png

    before = chart_fingerprint(page, MAPS)
    thumb = page.get_by_role("slider", name="Epoch (replay: drag to watch the units form)")
    thumb.focus()
    act(page, lambda: page.keyboard.press("Home"))  # epoch 0: the starting weights
    wait_for_new_chart(page, MAPS, before)
    assert thumb.get_attribute("aria-valuetext") == "0"
    assert_no_exception(page, "inside-replay")
    screenshot(page, "inside-neuron-maps-epoch-0")
    act(page, lambda: page.keyboard.press("End"))

    # Maps in drawing order: the 2 features, Hidden 1's first 8 of 16 units, then Hidden 2's first unit.
    point = chart_point(page, MAPS, "units", 10)  # UNIT_PICKER
    act(page, lambda: page.mouse.click(point["x"], point["y"]))
    expect(page.get_by_role("combobox", name="Unit to see large (or click a small map)")).to_have_value(
        "Hidden 2 · unit 1")
    assert wait_for_chart(page, "heatmap", title="Hidden 2 · unit 1"), f"the clicked unit is not large: {charts(page)}"
    assert_no_exception(page, "inside-unit-click")

    open_tab(page, "Hidden space")
    assert wait_for_chart(page, "scatter", title="the data as it sees it"), f"no hidden space: {charts(page)}"
    screenshot(page, "inside-hidden-space")
    open_tab(page, "Gradient flow")
    assert wait_for_chart(page, "scatter", title="Gradient flow"), f"no gradient flow: {charts(page)}"
    screenshot(page, "inside-gradient-flow")


def seven_png() -> bytes:
    """The first 7 of the offline digits' test split, as a 140-px PNG: a digit of the kind the model learned."""
    data = make_dataset(DataConfig(name="digits"))
    pixels = to_pixels(data.X_test[int(np.flatnonzero(data.y_test == 7)[0]), 0])
    image = Image.fromarray((255 * pixels).astype(np.uint8)).resize((140, 140), Image.Resampling.BILINEAR)
    return png_bytes(image)


def train_digits(page: Page) -> None:
    go_to(page, "Train")
    act(page, train_button(page).click, timeout_ms=TRAIN_MS)
    expect(train_button(page)).to_be_enabled(timeout=TRAIN_MS)
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Trained ·", timeout=TRAIN_MS)


def test_digits_weights_projector_feature_maps_and_why_it_said_7(page: Page) -> None:
    go_to(page, "Data")
    choose(page, "Dataset", "Digits (offline, 8×8 scaled up)")
    train_digits(page)
    go_to(page, "Inside")
    assert wait_for_chart(page, "heatmap", title="What the first layer learned"), f"no weight tiles: {charts(page)}"
    screenshot(page, "inside-weights")
    open_tab(page, "Embedding projector")
    assert wait_for_chart(page, "scatter", title="(PCA)"), f"no PCA projector: {charts(page)}"
    expect(page.get_by_role("button", name="Compute t-SNE (slower, often clearer clusters)")).to_be_visible()
    point = chart_point(page, "(PCA)", "3", 0)  # the first test digit of class 3
    act(page, lambda: page.mouse.click(point["x"], point["y"]))
    expect(page.get_by_text("True 3, predicted")).to_be_visible()
    assert wait_for_chart(page, "heatmap", title=""), f"no digit shown for the clicked point: {charts(page)}"
    screenshot(page, "inside-projector")

    go_to(page, "Predict")
    upload(page, "Upload digit images", {"seven.png": seven_png()})
    assert wait_for_chart(page, "heatmap", title="Why it said"), f"no attribution overlay: {charts(page)}"
    assert_no_exception(page, "predict-why")
    screenshot(page, "inside-why-it-said")

    go_to(page, "Model")
    act(page, page.get_by_text("Small CNN", exact=True).click)
    train_digits(page)
    go_to(page, "Inside")
    open_tab(page, "Feature maps")
    assert wait_for_chart(page, "heatmap", title="Feature maps"), f"no feature maps: {charts(page)}"
    assert_no_exception(page, "inside-feature-maps")
    screenshot(page, "inside-feature-maps")

    open_tab(page, "Embedding projector")
    assert wait_for_chart(page, "scatter", title="(PCA)"), f"no PCA projector for the CNN: {charts(page)}"
    point = chart_point(page, "(PCA)", "3", 0)
    act(page, lambda: page.mouse.click(point["x"], point["y"]))
    act(page, page.get_by_role("button", name="Open it on Predict").click)
    page.get_by_role("heading", name="Predict", exact=True).first.wait_for()
    expect(page.get_by_text("File: test digit #")).to_be_visible()
    assert wait_for_chart(page, "heatmap", title="Why it said"), f"no attribution for the opened digit: {charts(page)}"
    assert_no_exception(page, "inside-open-on-predict")
