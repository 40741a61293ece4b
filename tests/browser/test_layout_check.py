"""The layout check itself, on small hand-made pages: it finds what is cut short or drawn over, and only that."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.layout import layout_problems

STYLE = "<style>body { font: 14px sans-serif; margin: 0 } .box { position: absolute; white-space: nowrap }</style>"


@pytest.fixture
def blank(browser: Browser) -> Iterator[Page]:
    """A page with no server behind it, 1024 px wide."""
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def check(page: Page, body: str) -> list[str]:
    page.set_content(f"{STYLE}<div data-testid='stMain'>{body}</div>")
    return layout_problems(page)


def test_a_clean_page_has_no_problems(blank: Page) -> None:
    body = ("<h1>Sweep</h1><p>Every run starts from the current settings, <b>with the same seeds</b>, and wraps "
            "over several lines in a narrow column like this one.</p>"
            "<span class='box' style='top: 200px; left: 10px'>Learning rate</span>"
            "<span class='box' style='top: 200px; left: 200px'>Units</span>")
    assert check(blank, f"<div style='width: 180px'>{body}</div>") == []


def test_an_ellipsis_chip_and_a_clipped_link_are_truncated(blank: Page) -> None:
    chip = "<span style='display: inline-block; width: 24px; overflow: hidden; text-overflow: ellipsis'>0.001</span>"
    link = "<div style='width: 30px; overflow: hidden'><span style='white-space: nowrap'>1 · Data</span></div>"
    assert check(blank, chip + link) == ["truncated: 0.001", "truncated: 1 · Data"]


def test_texts_drawn_over_each_other_overlap(blank: Page) -> None:
    body = ("<span class='box' style='top: 10px; left: 10px'>Features (2)</span>"
            "<span class='box' style='top: 12px; left: 50px'>Hidden 1 (16)</span>")
    assert check(blank, body) == ["overlap: Features (2) / Hidden 1 (16)"]


def test_neighbouring_lines_that_only_touch_do_not_overlap(blank: Page) -> None:
    body = ("<span class='box' style='top: 10px; left: 10px; line-height: 14px'>first line</span>"
            "<span class='box' style='top: 24px; left: 10px; line-height: 14px'>second line</span>")
    assert check(blank, body) == []


def test_a_cut_field_value_and_hidden_chips(blank: Page) -> None:
    body = ("<input style='width: 60px' value='Units per hidden layer'>"
            "<div data-testid='stMultiSelectTagsContainer' style='width: 60px; overflow-x: auto; white-space: nowrap'>"
            "<span>0.001</span> <span>0.01</span> <span>0.1</span></div>")
    assert check(blank, body) == ["truncated: Units per hidden layer", "chips hidden: 0.001 0.01 0.1"]


def test_a_chart_button_over_the_slider_label(blank: Page) -> None:
    svg = ("<svg width='300' height='100'><text class='slider-current-value' x='60' y='30'>Epoch 56</text>"
           "<g class='updatemenu-button'><rect x='50' y='26' width='80' height='30' fill='white'/>"
           "<text x='60' y='45'>Pause</text></g></svg>")
    assert check(blank, svg) == ["overlap: Epoch 56 / Pause"]


def test_a_buttons_label_cut_with_an_ellipsis_is_truncated(blank: Page) -> None:
    """Streamlit's button: its label is Markdown in a box that ends it with an ellipsis ("All le…" in a narrow
    column); the same button in a wide column is whole."""
    def button(width: int) -> str:
        label = ("<div data-testid='stMarkdownContainer' style='overflow: hidden; text-overflow: ellipsis; "
                 "white-space: nowrap'><p style='margin: 0'>All lessons</p></div>")
        return (f"<div data-testid='stColumn' style='width: {width}px'><div data-testid='stElementContainer'>"
                f"<div data-testid='stButton'><button style='width: 100%'>{label}</button></div></div></div>")

    assert check(blank, button(50)) == ["truncated: All lessons"]
    assert check(blank, button(200)) == []


QR = "data:image/svg+xml," + "%3Csvg xmlns='http://www.w3.org/2000/svg' width='240' height='240'/%3E"


def test_a_picture_wider_than_its_column_or_expander_is_cut_off(blank: Page) -> None:
    """The board's 240-px QR code: in a column narrower than itself, or in a column that sticks out of its
    expander; fitted to its column (max-width), it is fine."""
    def panel(column: int, image: str) -> str:
        return (f"<div data-testid='stExpanderDetails' style='width: 300px'><div data-testid='stColumn' "
                f"style='width: {column}px; margin-left: 100px'><img src=\"{QR}\" style='{image}'></div></div>")

    assert check(blank, panel(150, "width: 240px")) == ["cut off by 90 px: img "]  # its column ends at 250 px
    assert check(blank, panel(260, "width: 240px")) == ["cut off by 40 px: img "]  # the expander ends at 300 px
    assert check(blank, panel(150, "width: 240px; max-width: 100%")) == []


def test_a_components_toolbar_over_a_help_mark(blank: Page) -> None:
    """The drawing pad's toolbar (buttons in the component's shadow root, shown on hover) over the help mark of the
    ink toggle above the pad; a strip between the two leaves the mark clear."""
    def page(gap: int) -> str:
        return ("<label data-testid='stWidgetLabel'><span class='box' style='top: 10px; left: 10px'>White ink on "
                "black</span><span data-testid='stTooltipHoverTarget' class='box' style='top: 10px; left: 150px; "
                "width: 16px; height: 16px'><svg width='16' height='16'></svg></span></label>"
                f"<div id='pad' style='position: absolute; top: {20 + gap}px; left: 0; width: 280px'></div>")

    def with_toolbar() -> None:
        blank.evaluate("""() => { const root = document.getElementById('pad').attachShadow({mode: 'open'});
          root.innerHTML = "<div style='position: absolute; top: -12px; right: 0'><button aria-label='Undo' " +
                           "style='width: 140px; height: 30px'></button></div>"; }""")

    blank.set_content(f"{STYLE}<div data-testid='stMain'>{page(0)}</div>")
    with_toolbar()
    assert layout_problems(blank) == ["overlap: help of White ink on black / Undo"]
    blank.set_content(f"{STYLE}<div data-testid='stMain'>{page(40)}</div>")
    with_toolbar()
    assert layout_problems(blank) == []
