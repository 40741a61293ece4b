"""The user journey in real Chromium: circles and the units slider, then real MNIST, training and a digit upload.

Each test opens a fresh Streamlit session and moves between pages through the sidebar, as a user does.
Screenshots of every page go to test-artifacts/; latency figures to test-artifacts/latency.json.
"""

from __future__ import annotations

import io
import statistics
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from core.checkpoint import load_model
from core.data.mnist import read_idx
from tests.browser.helpers import (
    WAIT_MS,
    act,
    assert_no_exception,
    chart_fingerprint,
    charts,
    cpu_seconds,
    go_to,
    record_latency,
    run_mark,
    screenshot,
    wait_for_app,
    wait_for_chart,
    wait_for_new_chart,
)
from tests.hostile_models import hostile_file
from tests.image_corpus import bomb_png, draw_digit, encode, png_bytes

TRAIN_MS = 120_000  # one training run on the Train page
SETTLE_MS = 300  # wait_for_app's pause after a run ends, not part of a page switch
BOUNDARY = "Decision boundary after epoch"
UNIT_MOVES = ["ArrowRight", "ArrowRight", "ArrowLeft", "ArrowLeft", "ArrowRight"]  # 16 -> 24 -> 32 -> 24 -> 16 -> 24
DIGIT_INDEX = 0  # the first official MNIST test image: a clear 7
MARKUP_NAME = "<b>bold</b> zahl-sieben-ä.png"  # HTML and non-ASCII in a file name


def metric(page: Page, label: str) -> Locator:
    """The st.metric whose label is `label`."""
    return page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=label)).first


def metric_value(page: Page, label: str) -> str:
    """The value shown by the st.metric labelled `label`."""
    return metric(page, label).locator('[data-testid="stMetricValue"]').inner_text().strip()


def choose(page: Page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`."""
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    act(page, page.get_by_role("option", name=option, exact=True).click)
    expect(box).to_have_value(option)


def train_button(page: Page) -> Locator:
    return page.get_by_role("button", name="Train", exact=True)


def upload(page: Page, uploader_label: str, files: dict[str, bytes], mime: str = "image/png") -> None:
    """Give files (name -> bytes) to the st.file_uploader labelled `uploader_label` and wait for the rerun."""
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text=uploader_label).first
    payloads = [{"name": name, "mimeType": mime, "buffer": raw} for name, raw in files.items()]
    act(page, lambda: uploader.locator('input[type="file"]').set_input_files(payloads))


def predictions(page: Page) -> dict[str, str]:
    """File name -> the 'Prediction' metric shown under it on the Predict page (in page order)."""
    blocks = page.evaluate("""() => Array.from(document.querySelectorAll(
        '[data-testid="stText"], [data-testid="stMetric"]')).map(e => [e.dataset.testid, e.innerText,
        (e.querySelector('[data-testid="stMetricValue"]') || {}).innerText || ''])""")
    found, name = {}, None
    for kind, text, value in blocks:
        if kind == "stText":
            name = text.removeprefix("File:").strip()
        elif name is not None and text.startswith("Prediction"):
            found[name] = value.strip()
    return found


def mnist_digit_png(folder: Path, index: int = DIGIT_INDEX) -> tuple[bytes, int]:
    """A real MNIST test digit as a user would photograph it: dark ink on white, scaled up, with a margin."""
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    ink = Image.fromarray(255 - images[index]).resize((140, 140), Image.Resampling.LANCZOS)  # (28, 28) -> (140, 140)
    sheet = Image.new("L", (200, 200), 255)
    sheet.paste(ink, (30, 30))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue(), int(labels[index])


def move_units_slider(page: Page) -> list[float]:
    """Press arrow keys on 'Units per hidden layer'; per move, ms from key press to a redrawn boundary."""
    thumb = page.get_by_role("slider", name="Units per hidden layer")
    elapsed = []
    for key in UNIT_MOVES:
        units = thumb.get_attribute("aria-valuetext")
        old = chart_fingerprint(page, BOUNDARY)
        mark = run_mark(page)
        thumb.focus()
        start = time.perf_counter()
        page.keyboard.press(key)
        try:
            wait_for_new_chart(page, BOUNDARY, old)
        except PlaywrightTimeoutError as exc:
            screenshot(page, "failed-units-slider")
            pytest.fail(f"no new '{BOUNDARY} …' chart within {WAIT_MS} ms of pressing {key} on 'Units per "
                        f"hidden layer' (was {units}); auto-train did not redraw the boundary: {exc}")
        elapsed.append(round(1000 * (time.perf_counter() - start), 1))
        wait_for_app(page, after=mark, settle_ms=100)
        assert thumb.get_attribute("aria-valuetext") != units, f"{key} did not move the units slider from {units}"
        assert_no_exception(page, "train-circles")
    return elapsed


def test_circles_units_slider_redraws_the_boundary(page: Page, server_pid: int, slow_day: float) -> None:
    """Home -> Data (circles) -> Model -> Train: the boundary follows the units slider -> Evaluate -> Predict."""
    assert_no_exception(page, "home")
    expect(page.get_by_role("heading", name="NN Lab", exact=True)).to_be_visible()
    screenshot(page, "home")

    switches = {"Data": timed_go_to(page, "Data")}
    expect(page.get_by_role("combobox", name="Dataset", exact=True)).to_have_value("Circles")
    assert wait_for_chart(page, "scatter"), f"no scatter plot of the circles on the Data page: {charts(page)}"
    screenshot(page, "data-circles")
    switches["Model"] = timed_go_to(page, "Model")
    expect(metric(page, "Trainable parameters")).to_be_visible()
    screenshot(page, "model-circles")
    switches["Train"] = timed_go_to(page, "Train")

    cpu_before = cpu_seconds(server_pid)
    elapsed = move_units_slider(page)
    cpu_per_move = 1000 * (cpu_seconds(server_pid) - cpu_before) / len(elapsed)
    median, worst = statistics.median(elapsed), max(elapsed)
    record_latency(slider_to_boundary_ms_median=median, slider_to_boundary_ms_all=elapsed,
                   slider_server_cpu_ms_per_move=round(cpu_per_move, 1))
    print(f"slider -> redrawn boundary: median {median:.0f} ms over {elapsed}; server CPU {cpu_per_move:.0f} ms/move")
    # Ceilings at 3x the targets (300 ms median, 600 ms p95, 80 ms of server CPU), stretched on a slow day by
    # `slow_day` (the machine's speed against the day the targets were met): noise cannot fail CI, a real
    # regression can.
    assert median <= 900 * slow_day and worst <= 1800 * slow_day, f"slider -> boundary took {elapsed} ms ({slow_day=})"
    assert cpu_per_move <= 240 * slow_day, f"the server spent {cpu_per_move:.0f} ms of CPU a slider move ({slow_day=})"
    expect(metric(page, "Validation accuracy")).to_be_visible()
    accuracy = float(metric_value(page, "Validation accuracy").rstrip("%"))
    assert 70 <= accuracy <= 100, f"an MLP of 24 units should separate circles; validation accuracy {accuracy}%"
    assert wait_for_chart(page, "", title=BOUNDARY), f"no decision-boundary chart on the Train page: {charts(page)}"
    screenshot(page, "train-circles")

    switches["Evaluate"] = timed_go_to(page, "Evaluate")
    expect(metric(page, "Test accuracy")).to_be_visible()
    assert wait_for_chart(page, "heatmap"), f"no confusion-matrix heatmap on the Evaluate page: {charts(page)}"
    screenshot(page, "evaluate-circles")
    switches["Predict"] = timed_go_to(page, "Predict")
    record_latency(page_switch_ms=switches, page_switch_ms_max=max(switches.values()))
    assert max(switches.values()) <= 3000 * slow_day, f"page switches took {switches} ms (target 1 s; {slow_day=})"
    assert wait_for_chart(page, "bar"), f"no probability bars for the typed point on the Predict page: {charts(page)}"
    click_on_the_boundary(page)
    screenshot(page, "predict-circles")


def timed_go_to(page: Page, title: str) -> float:
    """Switch page through the sidebar; ms from the click until the page's run has finished."""
    start = time.perf_counter()
    go_to(page, title)
    return round(1000 * (time.perf_counter() - start) - SETTLE_MS, 1)


def click_on_the_boundary(page: Page) -> None:
    """Click the upper-left part of the Predict page's boundary: the typed point moves there (x < 0 < y)."""
    x_input = page.get_by_role("spinbutton", name="x", exact=True)
    y_input = page.get_by_role("spinbutton", name="y", exact=True)
    assert float(x_input.input_value()) == 0.0 and float(y_input.input_value()) == 0.0
    chart = page.locator(".js-plotly-plot").filter(has_text="Your point on the boundary").first
    area = chart.locator(".nsewdrag").first.bounding_box()  # the plot area, without axes and legend
    act(page, lambda: page.mouse.click(area["x"] + 0.25 * area["width"], area["y"] + 0.25 * area["height"]))
    expect(x_input).not_to_have_value("0.00")
    x, y = float(x_input.input_value()), float(y_input.input_value())
    assert x < 0 < y, f"a click on the upper left of the plane should give x < 0 < y, got ({x}, {y})"
    assert_no_exception(page, "predict-click")


def test_mnist_train_and_predict_an_uploaded_digit(page: Page, mnist_available: Path | None) -> None:
    """Data (MNIST) -> Model -> Train (press Train, watch it run) -> Evaluate -> Predict (upload a digit PNG)."""
    if mnist_available is None:
        pytest.skip("real MNIST files not found in ../shared/data/mnist (set NNLAB_TEST_MNIST_DIR)")
    go_to(page, "Data")
    choose(page, "Dataset", "MNIST digits (real)")
    expect(page.get_by_text("validation ·")).to_be_visible()
    assert wait_for_chart(page, "bar"), f"no class histogram for MNIST on the Data page: {charts(page)}"
    assert_no_exception(page, "data-mnist")
    screenshot(page, "data-mnist")
    go_to(page, "Model")
    expect(metric(page, "Trainable parameters")).to_be_visible()
    screenshot(page, "model-mnist")
    go_to(page, "Train")
    expect(page.get_by_text("Press Train to start.")).to_be_visible()

    start = time.perf_counter()
    train_button(page).click()
    page.locator('[data-testid="stProgress"], [data-testid="stMetric"]').first.wait_for(timeout=TRAIN_MS)
    first_sign = time.perf_counter()
    metric(page, "Validation accuracy").wait_for(timeout=TRAIN_MS)
    first_point = time.perf_counter()
    expect(train_button(page)).to_be_enabled(timeout=TRAIN_MS)
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Trained · completed", timeout=TRAIN_MS)
    done = time.perf_counter()
    wait_for_app(page)
    record_latency(mnist_train_click_to_first_point_ms=round(1000 * (first_point - start), 1),
                   mnist_train_click_to_progress_ms=round(1000 * (first_sign - start), 1),
                   mnist_train_click_to_done_ms=round(1000 * (done - start), 1))
    accuracy = float(metric_value(page, "Validation accuracy").rstrip("%"))
    assert accuracy >= 80, f"an MLP on 4,000 real digits should pass 80%; validation accuracy {accuracy}%"
    assert wait_for_chart(page, "scatter"), f"no training curves on the Train page: {charts(page)}"
    assert_no_exception(page, "train-mnist")
    screenshot(page, "train-mnist")

    go_to(page, "Evaluate")
    assert wait_for_chart(page, "heatmap"), f"no confusion-matrix heatmap on the Evaluate page: {charts(page)}"
    screenshot(page, "evaluate-mnist")
    go_to(page, "Predict")
    real_png, label = mnist_digit_png(mnist_available)
    upload(page, "Upload digit images", {"drawn-7.png": png_bytes(draw_digit("7", size=(200, 200))),
                                         "mnist-test-0.png": real_png})
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Prediction")).to_have_count(2)
    assert wait_for_chart(page, "bar"), f"no probability bars after uploading digits: {charts(page)}"
    assert_no_exception(page, "predict-mnist")
    screenshot(page, "predict-mnist")
    predicted = predictions(page)
    assert set(predicted) == {"drawn-7.png", "mnist-test-0.png"}, predicted
    assert label == 7 and predicted == {"drawn-7.png": "7", "mnist-test-0.png": "7"}, f"two clear 7s: {predicted}"

    page.get_by_text("Model file: download this model").click()
    with page.expect_download(timeout=WAIT_MS) as download:
        page.get_by_role("button", name="Download the trained model").click()
    loaded = load_model(Path(download.value.path()).read_bytes())  # the engine's own loader accepts it
    assert loaded.config.kind == "mlp" and loaded.config.hidden == (128,) and len(loaded.class_names) == 10


def test_hostile_uploads_show_messages_and_the_server_stays_healthy(page: Page, app_url: str, tmp_path: Path) -> None:
    """Junk, a decompression bomb, a cut JPEG, markup in a file name and a code-running model file, in Chromium."""
    go_to(page, "Data")
    choose(page, "Dataset", "Digits (offline, 8×8 scaled up)")
    go_to(page, "Train")
    train_button(page).click()
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Trained · completed", timeout=TRAIN_MS)
    wait_for_app(page)
    go_to(page, "Predict")
    jpeg = encode(draw_digit("0", size=(200, 200)), "JPEG")
    hostile = {"notes.png": b"These are my notes, not a picture.\n" * 20, "bomb.png": bomb_png(30_000, 30_000),
               "cut.jpg": jpeg[: len(jpeg) // 2], MARKUP_NAME: png_bytes(draw_digit("7", size=(200, 200)))}
    upload(page, "Upload digit images", hostile)
    expect(page.locator('[data-testid="stAlert"]').filter(has_text="Cannot use this image")).to_have_count(3)
    expect(page.get_by_text(f"File: {MARKUP_NAME}", exact=True)).to_be_visible()  # shown as text, not as markup
    assert page.locator('[data-testid="stMain"] b').filter(has_text="bold").count() == 0
    expect(metric(page, "Prediction")).to_have_count(1)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "predict-bad-upload")

    marker = tmp_path / "ran"
    page.get_by_text("Model file: download this model").click()
    upload(page, "Upload a model file", {"model.pt": hostile_file(marker, "torch os.system")},
           mime="application/octet-stream")
    expect(page.locator('[data-testid="stAlert"]').filter(has_text="current model is unchanged")).to_be_visible()
    assert not marker.exists(), "the uploaded model file ran code on the server"
    with urllib.request.urlopen(f"{app_url}/_stcore/health", timeout=10) as response:
        assert response.status == 200
    expect(metric(page, "Prediction")).to_have_count(1)  # the session's model still predicts


def test_sidebar_names_the_model_the_sliders_describe(page: Page) -> None:
    """After a units-slider move on the Train page, the sidebar's 'Model' line shows the new size."""
    go_to(page, "Data")
    go_to(page, "Train")
    thumb = page.get_by_role("slider", name="Units per hidden layer")
    thumb.focus()
    act(page, lambda: page.keyboard.press("ArrowRight"))
    units = thumb.get_attribute("aria-valuetext")
    layers = page.get_by_role("slider", name="Hidden layers").get_attribute("aria-valuetext")
    shape = "-".join([units] * int(layers))
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text(f"Model · mlp {shape}", timeout=5_000)
