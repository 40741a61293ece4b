"""Responsiveness in real Chromium, on a server of its own started as `make run` starts it.

A direct link opened first on a fresh server, alive on arrival, an idle server that idles, Stop during
a run, and every page at the sizes people use (a 1024-px projector included), with the views that only
show after some work: the Data page's draw mode, Evaluate after a digit run and the Predict page's canvas.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.helpers import (
    WAIT_MS,
    act,
    assert_no_exception,
    cpu_seconds,
    go_to,
    record_latency,
    screenshot,
    wait_for_session,
)
from tests.browser.layout import settled_layout_problems
from tests.browser.server import serve_app
from tests.browser.test_canvas import BAR, DIAGONAL, stroke, train_on
from tests.browser.test_journey import choose

PAGES = ("Home", "Lessons", "Data", "Model", "Inside", "Train", "Evaluate", "Predict", "Runs", "Sweep", "Board")
SIZES = ((1024, 768), (1366, 768), (1920, 1080))
NAV_TITLES = list(PAGES)
CANVAS = "canvas.upper-canvas"  # the Predict page's drawing pad (Fabric.js)
DRAW_PLANE = 'iframe[title="streamlit_image_coordinates.streamlit_image_coordinates"]'
BOUNDARY = '.js-plotly-plot:has(.heatmaplayer), [data-testid="stPlotlyChart"] .heatmaplayer'
ARRIVAL_CEILING_S = 9.0  # 3x the 3-s target: this machine is shared, so the test only catches real breakage
IDLE_CPU_LIMIT = 0.05  # of one core, over IDLE_SECONDS with one tab open on Home
IDLE_SECONDS = 10.0
STOP_CEILING_S = 3.0  # 3x the 1-s target, measured click to an enabled Train button


@pytest.fixture(scope="module")
def fresh_server(artifacts: Path, mnist_available: Path | None) -> Iterator[tuple[str, int]]:
    """A server of this module's own: no session has reached it before the first test."""
    with serve_app(artifacts / "streamlit-server-fresh.log", mnist_available) as (url, server):
        yield url, server.pid


def open_page(browser: Browser, url: str, *, width: int = 1400, height: int = 900, wait: bool = False) -> Page:
    """A page in a fresh context (a new Streamlit session); with `wait`, already on `url` with the app idle."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    if wait:
        page.goto(url)
        wait_for_session(page)
    return page


def arrive(browser: Browser, url: str) -> tuple[float, Page]:
    """Open `url` in a fresh context; seconds from navigation start until the decision boundary is drawn."""
    page = open_page(browser, url)
    start = time.perf_counter()
    page.goto(url)
    page.locator(BOUNDARY).first.wait_for(timeout=WAIT_MS)
    return time.perf_counter() - start, page


def test_a_direct_link_on_a_fresh_server_is_routed_and_alive(browser: Browser, fresh_server: tuple[str, int],
                                                             slow_day: float) -> None:
    """The first request a fresh server gets is /train: the real navigation, and a boundary with no click."""
    url, _ = fresh_server
    first_s, page = arrive(browser, f"{url}/train")
    nav = page.locator('[data-testid="stSidebarNav"] a')
    expect(nav).to_have_count(len(NAV_TITLES))
    # Titles, not file names (each link's text starts with its icon's ligature name, on a line of its own).
    assert [t.strip().splitlines()[-1] for t in nav.all_inner_texts()] == NAV_TITLES
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("CURRENT SESSION")
    assert_no_exception(page, "fresh-train")
    page.context.close()
    times = []
    for _ in range(5):  # fresh contexts: each a new Streamlit session, after the warm-up above
        seconds, page = arrive(browser, f"{url}/train")
        times.append(round(seconds, 3))
        page.context.close()
    median = statistics.median(times)
    record_latency(arrival_first_request_s=round(first_s, 3), arrival_train_boundary_s_median=median,
                   arrival_train_boundary_s_all=times)
    assert median <= ARRIVAL_CEILING_S * slow_day, f"boundary on /train after {times} s (target 3 s; {slow_day=})"


def test_an_idle_tab_leaves_the_server_idle(browser: Browser, fresh_server: tuple[str, int]) -> None:
    url, pid = fresh_server
    page = open_page(browser, url, wait=True)
    page.wait_for_timeout(2_000)  # let the first run's after-effects (imports, caches) settle
    before, start = cpu_seconds(pid), time.monotonic()
    page.wait_for_timeout(int(IDLE_SECONDS * 1000))
    share = (cpu_seconds(pid) - before) / (time.monotonic() - start)
    record_latency(idle_server_cpu_share=round(share, 4))
    page.context.close()
    assert share <= IDLE_CPU_LIMIT, f"the server used {share:.1%} of a core with one idle tab (limit 5%)"


def test_stop_ends_a_cnn_run_at_once(browser: Browser, fresh_server: tuple[str, int], slow_day: float) -> None:
    """Stop is enabled from the moment a run starts, and ends it within the ceiling."""
    url, _ = fresh_server
    page = open_page(browser, url, wait=True)
    go_to(page, "Data")
    box = page.get_by_role("combobox", name="Dataset", exact=True)
    box.click()
    act(page, page.get_by_role("option", name="Digits (offline, 8×8 scaled up)", exact=True).click)
    go_to(page, "Model")
    act(page, page.get_by_text("Small CNN", exact=True).click)
    go_to(page, "Train")
    epochs = page.get_by_role("slider", name="Epochs")
    epochs.focus()
    # A long run, so it is still going when Stop is pressed: 3 + 20 epochs (the slider's end, 3,000, is over the
    # server's per-run limit, and Train would refuse it)
    act(page, lambda: [page.keyboard.press("ArrowRight") for _ in range(20)])
    act(page, page.get_by_role("button", name="Train", exact=True).click)
    stop = page.get_by_role("button", name="Stop", exact=True)
    expect(stop).to_be_enabled(timeout=5_000)
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_disabled()
    page.locator('[data-testid="stProgress"]').first.wait_for()
    start = time.perf_counter()
    stop.click()
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled(timeout=10_000)
    seconds = time.perf_counter() - start
    record_latency(stop_click_to_train_enabled_ms=round(1000 * seconds))
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Trained · stopped")
    page.context.close()
    assert seconds <= STOP_CEILING_S * slow_day, f"Stop took {seconds:.2f} s to end the run (target 1 s; {slow_day=})"


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_page_fits_the_screen(browser: Browser, fresh_server: tuple[str, int], width: int, height: int) -> None:
    """No text cut short or drawn over another (page links, chips, chart controls included), on any page."""
    url, _ = fresh_server
    page = open_page(browser, url, width=width, height=height, wait=True)
    found = {}
    for title in PAGES:
        if title != "Home":
            go_to(page, title)
        problems = settled_layout_problems(page)
        if problems:
            found[title] = problems
        if width == 1024:
            screenshot(page, f"layout-1024-{title.lower()}")
    page.context.close()
    assert not found, f"at {width}×{height}: {found}"


def layout_at_every_size(page: Page, name: str, *, before: Callable[[], object] | None = None
                         ) -> dict[str, list[str]]:
    """The layout problems of the page shown now, at each of SIZES (the same session, resized); `before` runs
    before each check (a hover, to show what only shows then)."""
    found = {}
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        if before is not None:
            before()
        problems = settled_layout_problems(page)
        if problems:
            found[f"{name} at {width}×{height}"] = problems
        if width == 1024:
            screenshot(page, f"layout-1024-{name}")
    return found


def test_draw_mode_evaluate_and_the_canvas_fit_the_screen(browser: Browser, fresh_server: tuple[str, int],
                                                           mnist_available: Path | None) -> None:
    """The views a fresh session does not reach: draw mode, Evaluate after a digit run, the Predict canvas."""
    url, _ = fresh_server
    page = open_page(browser, url, wait=True)
    go_to(page, "Data")
    choose(page, "Dataset", "Your own points (draw or import)")
    expect(page.locator(DRAW_PLANE)).to_be_visible()
    found = layout_at_every_size(page, "data-draw")
    page.set_viewport_size({"width": 1400, "height": 900})
    train_on(page, "MNIST digits (real)" if mnist_available else "Digits (offline, 8×8 scaled up)")
    go_to(page, "Evaluate")
    expect(page.get_by_text("Mistakes on the test split")).to_be_visible()
    found |= layout_at_every_size(page, "evaluate-digits")
    go_to(page, "Predict")
    expect(page.locator(CANVAS).first).to_be_visible()
    stroke(page, BAR)  # a digit drawn: its prediction, its steps and "It was meant to be" with a pill per class
    stroke(page, DIAGONAL)
    expect(page.get_by_text("It was meant to be").first).to_be_visible()
    # The pointer on the pad: its toolbar shows above it (it covered the ink toggle's help mark at first).
    found |= layout_at_every_size(page, "predict-canvas", before=page.locator(CANVAS).first.hover)
    page.context.close()
    assert not found, found


# [plot area width, column width] of each chart drawn in a column: on Inside's neuron maps, the two large maps.
CHARTS_IN_COLUMNS_JS = """() => Array.from(document.querySelectorAll('[data-testid="stMain"] [data-testid="stColumn"] \
.js-plotly-plot')).filter(gd => gd.checkVisibility()).map(gd => [gd.querySelector('.nsewdrag').getBoundingClientRect()
  .width, gd.closest('[data-testid="stColumn"]').getBoundingClientRect().width])"""
LARGE_MAP_SHARE = 0.6  # of its column, at least, that a large neuron map's plot takes (beside a colour bar: ~0.4)


def test_inside_maps_and_the_projector_fit_the_screen(browser: Browser, fresh_server: tuple[str, int]) -> None:
    """Inside's large neuron maps use their half of the page at 1024 px (they were ~110 px wide in ~280), and the
    digits' embedding projector keeps its legend off its title (ten digits and the mistakes wrapped over it)."""
    url, _ = fresh_server
    page = open_page(browser, url, width=1024, height=768, wait=True)
    go_to(page, "Inside")
    settled_layout_problems(page)
    maps = page.evaluate(CHARTS_IN_COLUMNS_JS)
    found = layout_at_every_size(page, "inside-maps")
    page.set_viewport_size({"width": 1400, "height": 900})
    train_on(page, "Digits (offline, 8×8 scaled up)")
    go_to(page, "Inside")
    page.get_by_role("tab", name="Embedding projector", exact=True).click()
    found |= layout_at_every_size(page, "inside-projector")
    page.context.close()
    assert len(maps) == 2 and all(plot >= LARGE_MAP_SHARE * column for plot, column in maps), maps
    assert not found, found


def test_the_share_dialog_fits_a_projector(browser: Browser, fresh_server: tuple[str, int]) -> None:
    """The teacher's Share dialog at 1024 px: every page's and every control's hide and lock label readable (in
    one row of eleven pages and four groups they read "Evalu…", "h…" and "l…")."""
    url, _ = fresh_server
    page = open_page(browser, f"{url}/train", width=1024, height=768, wait=True)
    act(page, page.get_by_role("button", name="Share").click)
    page.locator('[data-testid="stDialog"]').get_by_text("Controls to hide or lock").wait_for()
    problems = settled_layout_problems(page)
    screenshot(page, "layout-1024-share")
    page.context.close()
    assert not problems, problems


def test_the_replay_and_a_cnn_fit_the_screen(browser: Browser, fresh_server: tuple[str, int]) -> None:
    """The Train page with the replay on (its chart's own Play, Pause and slider) and a CNN's layer table."""
    url, _ = fresh_server
    page = open_page(browser, f"{url}/train", wait=True)
    act(page, page.get_by_text("Watch it learn (replay)").click)
    page.locator("g.updatemenu-button").filter(has_text="Pause").wait_for()
    found = layout_at_every_size(page, "train-replay")
    page.set_viewport_size({"width": 1400, "height": 900})
    go_to(page, "Data")
    choose(page, "Dataset", "Digits (offline, 8×8 scaled up)")
    go_to(page, "Model")
    act(page, page.get_by_text("Small CNN", exact=True).click)
    expect(page.locator('[data-testid="stDataFrame"]')).to_be_visible()
    found |= layout_at_every_size(page, "model-cnn")
    page.context.close()
    assert not found, found


TITLE_JS = """() => { for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const title = gd._fullLayout && gd._fullLayout.title && gd._fullLayout.title.text;
    const text = (title || '').replace(/<[^>]+>/g, '');
    if (text.startsWith('Epoch ')) return text; }
  return ''; }"""


def replay_epoch(page: Page) -> int | None:
    """The epoch the replay figure shows now, read from its title ('Epoch 12 of 51 · …')."""
    title = page.evaluate(TITLE_JS) or ""
    return int(title.split()[1]) if title.startswith("Epoch ") else None


def sample_epochs(page: Page, seconds: float) -> list[int | None]:
    """The replay's epoch every 40 ms for `seconds`."""
    seen = []
    for _ in range(int(seconds / 0.04)):
        seen.append(replay_epoch(page))
        page.wait_for_timeout(40)
    return seen


def test_play_pause_and_step_in_the_replay(browser: Browser, fresh_server: tuple[str, int]) -> None:
    """Reset shows epoch 0, Step moves one epoch, Play advances ≥ 4 epochs a second in the browser, Pause holds."""
    url, pid = fresh_server
    page = open_page(browser, f"{url}/train", wait=True)
    act(page, page.get_by_text("Watch it learn (replay)").click)
    act(page, page.get_by_role("button", name="Reset", exact=True).click)
    expect(page.locator('[data-testid="stPlotlyChart"]').first).to_contain_text("Epoch 0 of")
    assert replay_epoch(page) == 0
    for expected in (1, 2):
        act(page, page.get_by_role("button", name="Step", exact=True).click)
        page.wait_for_function(f"() => ({TITLE_JS})().startsWith('Epoch {expected} of')", timeout=WAIT_MS)
    cpu_before = cpu_seconds(pid)
    page.locator("g.updatemenu-button").filter(has_text="Play").click()
    playing = sample_epochs(page, 1.5)
    cpu_play_ms = 1000 * (cpu_seconds(pid) - cpu_before)
    changes = sum(1 for a, b in zip(playing, playing[1:]) if b != a)
    page.locator("g.updatemenu-button").filter(has_text="Pause").click()
    page.wait_for_timeout(300)
    paused = sample_epochs(page, 0.6)
    record_latency(replay_epochs_per_second=round(changes / 1.5, 1), replay_server_cpu_ms_while_playing=round(
        cpu_play_ms, 1))
    screenshot(page, "train-replay")
    page.context.close()
    assert changes / 1.5 >= 4, f"Play showed {changes} new epochs in 1.5 s: {playing}"
    assert len(set(paused)) == 1, f"Pause did not hold the epoch: {paused}"
