"""The layout check of the browser tests: every visible text on the page, read in Chromium, is whole and alone.

`layout_problems(page)` lists, in words, what a person would see as broken on the page shown now (in an open
dialog, when one is open):
- a text cut short: any element holding text (page links, chips, labels, captions, headings, buttons...) or an
  element around it that hides what overflows (`overflow: hidden` or an ellipsis) while its content is wider (a
  button's label in a narrow column: "All le…");
- two texts drawn over each other: the boxes of the text's own lines (a Range's rects, so a paragraph's empty
  width does not count), Plotly's SVG texts and its update-menu buttons included, and so are a widget's help mark
  and the buttons a component draws in its shadow root (a toolbar shown on hover: hover first to check it);
- a field's value wider than its box (a select box's choice, a number), chips scrolled out of a multiselect;
- Plotly's own furniture out of place: an axis title, tick label, legend, update menu or slider drawn over a
  plot area, and any chart text outside the chart;
- a picture, pad or chart wider than its column or expander (a fixed-width QR code in a narrow column);
- button-group options cut off, and a small table (at most SMALL_TABLE_ROWS rows) that needs a scrollbar to show
  all its rows, or all its columns when it has at most SMALL_TABLE_COLUMNS.
"""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.helpers import WAIT_MS

SETTLE_MS = 500  # after the charts are drawn: components and charts take their final size
SMALL_TABLE_ROWS = 20  # a table this short shows every row; longer ones (the Runs table) may scroll
SMALL_TABLE_COLUMNS = 8  # a table this narrow shows every column; wider ones (the Runs table's settings) may scroll

LAYOUT_JS = """(limits) => {
  const problems = [];
  const say = (what, text) => problems.push(what + ': ' + String(text).replace(/\\s+/g, ' ').trim().slice(0, 60));
  const dialog = document.querySelector('[data-testid="stDialog"]');  // open: the page behind it does not count
  const roots = dialog ? [dialog] :
    Array.from(document.querySelectorAll('[data-testid="stMain"], [data-testid="stSidebarNav"]'));
  const skip = '[data-testid="stDataFrame"], [aria-hidden="true"], .hoverlayer, .modebar-container, ' +
               '[data-baseweb="popover"], [data-testid="stTooltipContent"], noscript, style, script';
  // Shown: a box, and neither it nor a parent hidden (a closed expander's content keeps its boxes).
  const seen = el => { const r = el.getBoundingClientRect();
    return r.width >= 1 && r.height >= 1 &&
           el.checkVisibility({opacityProperty: true, visibilityProperty: true, contentVisibilityAuto: true}); };
  const own = el => Array.from(el.childNodes).filter(n => n.nodeType === 3 && n.textContent.trim());
  // The elements matching `selector` under root, in the shadow roots of components (some draw in one) included.
  const deep = (root, selector, out = []) => {
    out.push(...root.querySelectorAll(selector));
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) deep(el.shadowRoot, selector, out);
    return out;
  };
  const carriers = [];
  for (const root of roots) for (const el of root.querySelectorAll('*')) {
    if (own(el).length && !el.closest(skip) && seen(el)) carriers.push(el);
  }
  // Cut short: the text's element, or one of the few around it, hides what overflows and has more than it shows.
  const clips = node => { const cs = getComputedStyle(node);
    return ['hidden', 'clip'].includes(cs.overflowX) || cs.textOverflow === 'ellipsis'; };
  const reported = new Set();
  for (const el of carriers) {
    if (el instanceof SVGElement) continue;
    let node = el;
    for (let up = 0; node && up < 5 && !node.matches('[data-testid="stElementContainer"], [data-testid="stMain"]');
         up++, node = node.parentElement) {
      if (clips(node) && node.scrollWidth > node.clientWidth + 1 && !reported.has(node)) {
        reported.add(node);
        say('truncated', node.innerText || el.textContent);
        break;
      }
    }
  }
  // A field's value (a select box's choice, a number) wider than its box; chips scrolled out of a multiselect.
  for (const input of document.querySelectorAll('[data-testid="stMain"] input')) {
    if (!['checkbox', 'radio', 'range', 'file', 'hidden'].includes(input.type) && seen(input) && input.value &&
        input.scrollWidth > input.clientWidth + 1) say('truncated', input.value);
  }
  for (const tags of document.querySelectorAll('[data-testid="stMain"] [data-testid="stMultiSelectTagsContainer"]')) {
    if (seen(tags) && tags.scrollWidth > tags.clientWidth + 1) say('chips hidden', tags.innerText);
  }
  // Drawn over each other: every line box of every text, and Plotly's buttons (their text sits on a box).
  const boxes = [];
  for (const el of carriers) {
    let rects;
    if (el instanceof SVGElement) rects = [el.getBoundingClientRect()];
    else { const range = document.createRange(); rects = [];
           for (const n of own(el)) { range.selectNodeContents(n); rects.push(...range.getClientRects()); } }
    for (const r of rects) if (r.width >= 1 && r.height >= 1) boxes.push([el, r, el.textContent]);
  }
  for (const b of document.querySelectorAll('[data-testid="stMain"] .updatemenu-button')) {
    if (seen(b)) boxes.push([b, b.getBoundingClientRect(), b.textContent, true]);
  }
  // Marks read like text though they hold none: a widget's help mark (?), and the buttons that components draw in
  // a shadow root (the drawing pad's toolbar, shown while the pointer is on the pad: hover it before checking).
  const main = document.querySelector('[data-testid="stMain"]');
  const top = dialog || main;  // an open dialog: the page behind it does not count, as for the texts above
  for (const mark of top ? top.querySelectorAll('[data-testid="stTooltipHoverTarget"]') : []) {
    const widget = mark.closest('[data-testid="stWidgetLabel"], label, [data-testid="stElementContainer"]');
    if (seen(mark)) boxes.push([mark, mark.getBoundingClientRect(), 'help of ' + (widget?.innerText || ''), true]);
  }
  for (const b of top ? deep(top, 'button').filter(b => b.getRootNode() !== document) : []) {
    const name = b.getAttribute('aria-label') || b.title || b.textContent || 'a button';
    if (seen(b)) boxes.push([b, b.getBoundingClientRect(), name, true]);
  }
  const meet = (ra, rb) => [Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left),
                            Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top)];
  const pairs = new Set();
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, ra, ta, sa] = boxes[i], [b, rb, tb, sb] = boxes[j];
      if (a === b || a.contains(b) || b.contains(a)) continue;
      const [w, h] = meet(ra, rb);
      // Font boxes of neighbouring lines touch by a few px: only a real share of a line counts, but a button's
      // box hides whatever it covers.
      if (w > 3 && h > (sa || sb ? 2 : Math.max(3, 0.3 * Math.min(ra.height, rb.height)))) {
        const key = ta.trim().slice(0, 30) + ' / ' + tb.trim().slice(0, 30);
        if (!pairs.has(key)) { pairs.add(key); say('overlap', key); }
      }
    }
  }
  // Plotly: its furniture off the plot areas, and every text inside the chart.
  // Axis titles (g-xtitle, g-y2title...), tick labels (xtick, y2tick...), the legend, the title and the controls.
  const furniture = 'g[class^="g-"][class$="title"], g[class$="tick"], .legend, .updatemenu-container, ' +
                    '.slider-container';
  for (const gd of document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')) {
    if (!seen(gd)) continue;
    const areas = Array.from(gd.querySelectorAll('.nsewdrag')).map(d => d.getBoundingClientRect())
      .filter(r => r.width >= 1 && r.height >= 1);
    const frame = gd.getBoundingClientRect();
    for (const group of gd.querySelectorAll(furniture)) {
      for (const t of group.querySelectorAll('text')) {
        const r = t.getBoundingClientRect();
        if (r.width < 1 || !t.textContent.trim()) continue;
        const over = areas.some(a => { const [w, h] = meet(r, a); return w > 3 && h > 3; });
        if (over) say('over a plot area', t.textContent);
      }
    }
    for (const t of gd.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (r.width < 1 || !t.textContent.trim() || t.closest('.hoverlayer')) continue;
      if (r.left < frame.left - 1 || r.right > frame.right + 1 || r.top < frame.top - 1 || r.bottom > frame.bottom + 1)
        say('outside its chart', t.textContent);
    }
  }
  // Pictures, pads and charts (some components draw in a shadow root) must stay inside their column.
  // Its nearest edge: of a column, an expander (a column may stick out of the expander it is in) or the page.
  const holders = '[data-testid="stColumn"], [data-testid="stExpanderDetails"], [data-testid="stMainBlockContainer"]';
  const nearestEdge = el => {
    let edge = null;
    for (let n = el.parentElement || el.getRootNode().host; n; n = n.parentElement || n.getRootNode().host) {
      if (n.matches(holders)) edge = Math.min(edge ?? Infinity, n.getBoundingClientRect().right);
    }
    return edge;
  };
  for (const el of main ? deep(main, 'iframe, canvas, .js-plotly-plot, img') : []) {
    if (el.closest('[data-testid="stDataFrame"]')) continue;  // the table's own canvases scroll inside it
    const edge = nearestEdge(el), r = el.getBoundingClientRect();
    if (edge !== null && r.width > 0 && r.right > edge + 1)
      problems.push('cut off by ' + Math.round(r.right - edge) + ' px: ' + el.tagName.toLowerCase() + ' ' +
                    String(el.title || el.className || '').slice(0, 40));
  }
  for (const group of document.querySelectorAll('[data-testid="stMain"] [data-testid="stButtonGroup"]')) {
    // the group, or the row inside it that scrolls sideways (pills: "6" to "9" of ten digits out of sight)
    if ([group, ...group.querySelectorAll('*')].some(el => el.scrollWidth > el.clientWidth + 1))
      say('options cut off', group.innerText);
  }
  // A short table shows all its rows: its scroller needs no scrollbar.
  for (const table of document.querySelectorAll('[data-testid="stMain"] [data-testid="stDataFrame"]')) {
    const grid = table.querySelector('[aria-rowcount]'), scroller = table.querySelector('.dvn-scroller');
    const rows = grid ? Number(grid.getAttribute('aria-rowcount')) - 1 : 0;
    if (scroller && rows <= limits.rows && scroller.scrollHeight > scroller.clientHeight + 1)
      say('table rows cut off (' + rows + ' rows)', table.innerText || 'a table');
    const columns = grid ? Number(grid.getAttribute('aria-colcount')) : 0;
    if (scroller && rows <= limits.rows && columns <= limits.columns && scroller.scrollWidth > scroller.clientWidth + 1)
      say('table columns cut off (' + columns + ' columns)', table.innerText || 'a table');
  }
  return problems;
}"""


def layout_problems(page: Page) -> list[str]:
    """What is cut short or drawn over something else on the page shown now (see the module's list)."""
    return page.evaluate(LAYOUT_JS, {"rows": SMALL_TABLE_ROWS, "columns": SMALL_TABLE_COLUMNS})


# The page's own heading is shown and every visible chart has drawn: before that, a page still "Loading…"
# (Home while its example trains) has nothing to check and would pass.
READY_JS = """() => !!document.querySelector('[data-testid="stMain"] h1') &&
  Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]')).filter(el => el.checkVisibility())
    .every(el => el.querySelector('.main-svg'))"""


def settled_layout_problems(page: Page) -> list[str]:
    """layout_problems once the page has its heading and its visible charts are drawn."""
    page.wait_for_function(READY_JS, timeout=WAIT_MS)
    page.wait_for_timeout(SETTLE_MS)
    return layout_problems(page)
