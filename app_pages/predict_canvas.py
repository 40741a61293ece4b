"""The Predict page's digit views: the drawing pad, one image's prediction, and the "my handwriting" set."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from app_pages.common.inside import attribution_view
from app_pages.common.ui import accuracy_card, literal
from core import plots
from core.data.handwriting import Handwriting, HandwritingError, PadDrawing, drawing_png, evaluate_handwriting
from core.data.images import ImageError, PreparedImage
from core.lab import Lab, LabError

if TYPE_CHECKING:
    from plotly.graph_objects import Figure
    from streamlit.delta_generator import DeltaGenerator

    from core.evaluate import LogitChain

CLEARS = "predict.canvas_clears"  # how often the pad was cleared: part of its key, so a clear remounts it
MOUNTED = "predict.canvas_mounted"  # (key, the Lab's drawing the pad was mounted with, its strokes)
WHITE_INK = "predict.white_ink"  # the toggle: white ink on black (as MNIST) or black ink on white
LABEL = "predict.true_label"
NOTE = "predict.handwriting_note"  # a message from the last Add or remove, shown once
REFRESH = "predict.handwriting_refresh"  # set by Add: the whole page reruns, to show the set or why not
PAD_SIDE = 280  # px: ten canvas pixels per MNIST pixel
STROKE = 20  # px: about two MNIST pixels once the digit is scaled to 20 px
THUMBS_PER_ROW = 10
BLACK, WHITE = "#000000", "#ffffff"
DRAWING_TITLE = "Your drawing"  # beside the pad at 1024 px, "…: class probabilities" ran out of its chart


def _clear(lab: Lab) -> None:
    st.session_state[CLEARS] = st.session_state.get(CLEARS, 0) + 1
    lab.pad = None


def _mounted(lab: Lab, key: str, white: bool) -> PadDrawing | None:
    """The drawing this pad (`key`) was first drawn with in this browser session: the Lab's, when a reload mounts
    the pad afresh with the same ink, else none. Kept per key, so the canvas is not told to redraw on every run."""
    mounted = st.session_state.get(MOUNTED)
    if mounted is None or mounted[0] != key:
        restored = lab.pad if lab.pad is not None and lab.pad.white_ink == white else None
        mounted = st.session_state[MOUNTED] = (key, restored, restored.canvas() if restored else None)
        lab.pad = restored  # a new ink or a cleared pad starts empty
    return mounted[1]


def drawing_pad(lab: Lab) -> bytes | None:
    """The canvas with its ink toggle and Clear button; the drawing as PNG bytes, or None while it is empty.

    The drawing is kept on the Lab: after a reload the pad shows it again, and until the canvas sends anything
    (it does not for strokes it was given) the kept PNG stands for it."""
    from streamlit_drawable_canvas import st_canvas  # lazily: importing it outside a running app raises

    white = st.toggle("White ink on black", value=lab.pad.white_ink if lab.pad is not None else True, key=WHITE_INK,
                      help="As MNIST's digits are stored; either way the model sees white on black.")
    ink, paper = (WHITE, BLACK) if white else (BLACK, WHITE)
    # Room for the pad's own toolbar (upload, undo, redo, edit, delete): it shows on hover ~2.6rem above the pad's
    # top right corner, and without this strip it covered the toggle's help mark.
    st.space("small")
    key = f"predict.canvas.{st.session_state.get(CLEARS, 0)}.{white}"
    restored = _mounted(lab, key, white)
    result = st_canvas(stroke_width=STROKE, stroke_color=ink, background_color=paper, height=PAD_SIDE, width=PAD_SIDE,
                       return_image_data=True, initial_drawing=st.session_state[MOUNTED][2], key=key)
    st.button("Clear", icon=":material/ink_eraser:", on_click=_clear, args=(lab,), key="predict.clear")
    if result.image_data is None:  # nothing sent yet: the strokes it was given, if any
        return restored.png if restored is not None else None
    try:
        png = drawing_png(result.image_data, background=paper)
    except HandwritingError as exc:  # not what this component version sends: say so rather than fail
        st.error(f"The drawing could not be read: {exc}", icon=":material/error:")
        return None
    if png is None:
        lab.pad = None
    elif lab.pad is None or lab.pad.png != png:
        lab.pad = PadDrawing.keep(result.json_data, png, white_ink=white)
    return png


def chain_view(where: DeltaGenerator, chain: LogitChain, *, key: str) -> None:
    """Logits -> softmax (or sigmoid) probabilities -> label for one input, with its numbers, in an expander."""
    with where.expander(f"From logits to a label ({chain.head})", icon=":material/functions:"):
        st.dataframe(chain.table(), hide_index=True, key=f"predict.chain.{key}", column_config={
            "logit": st.column_config.NumberColumn("logit", format="%.3f"),
            "probability": st.column_config.ProgressColumn("probability", format="%.3f", min_value=0, max_value=1),
            "label": st.column_config.CheckboxColumn("label")})
        st.caption(literal(chain.formula()))


def prediction_view(lab: Lab, raw: bytes, *, key: str, steps: DeltaGenerator | None = None,
                    bars: DeltaGenerator | None = None, title: str = "Class probabilities",
                    follow_guess: bool = False) -> PreparedImage | None:
    """The prediction for image bytes: the steps, the probabilities and why; None (and a message) if unusable.

    `key` tells its widgets apart ("predict.why.<key>"); `steps` and `bars` hold the preparation steps and the
    prediction (by default two new columns). With `follow_guess` the map explains each new guess (a drawing).
    """
    try:
        prepared, proba = lab.predict_image(raw)
    except (ImageError, LabError) as exc:
        st.error(f"Cannot use this image: {exc}", icon=":material/image_not_supported:")
        return None
    if steps is None:
        steps, bars = st.columns([3, 2])
    best = int(proba.argmax())
    bars.metric("Prediction", literal(lab.class_names[best]))  # first: the answer shows before the pictures
    bars.caption(f"{proba[best]:.1%} probability")
    bars.plotly_chart(plots.probability_figure(proba, lab.class_names, title=title), key=f"predict.proba.{key}")
    chain_view(bars, lab.logit_chain(prepared.model_input), key=key)
    steps.plotly_chart(plots.steps_figure(prepared.steps), key=f"predict.steps.{key}")
    st.markdown(f"**Why it said {literal(lab.class_names[best])}**")
    attribution_view(lab, prepared, proba, raw, key=f"predict.why.{key}" + (f".{best}" if follow_guess else ""))
    return prepared


def _add(lab: Lab, pixels: np.ndarray, n_classes: int) -> None:
    """Keep the drawing with the label picked (in the lab, so a reload finds it), then clear the pad."""
    label = st.session_state.get(LABEL)
    st.session_state[REFRESH] = True
    try:
        lab.handwriting = lab.handwriting.add(pixels, label, n_classes=n_classes)
    except HandwritingError as exc:
        st.session_state[NOTE] = str(exc)
        return
    st.session_state[LABEL] = None
    _clear(lab)


def _remove(lab: Lab, number: int) -> None:
    try:
        lab.handwriting = lab.handwriting.remove(number)
    except HandwritingError as exc:
        st.session_state[NOTE] = str(exc)


def _clear_set(lab: Lab) -> None:
    lab.handwriting = Handwriting()


def _keep_controls(lab: Lab, prepared: PreparedImage, where: DeltaGenerator) -> None:
    """'This was a 7': pick the true class and add the drawing to the set."""
    names = lab.class_names
    label = where.pills("It was meant to be", range(len(names)), key=LABEL, format_func=lambda c: literal(names[c]),
                        help="Your word, not the model's: the set's accuracy compares the two.")
    where.button("Add to my handwriting", icon=":material/add:", disabled=label is None, key="predict.keep",
                 on_click=_add, args=(lab, prepared.centered, len(names)))


@st.fragment
def drawing_view(lab: Lab) -> None:
    """The pad beside its prediction, steps and attribution below. A fragment: a stroke reruns only this part,
    not the whole page (the set's scoring, the uploads, the sidebar), so the answer follows the pen quickly."""
    if st.session_state.pop(REFRESH, False):
        st.rerun()  # the set and its messages lie outside this fragment
    pad, side = st.columns([3, 2])  # the 280-px pad whole at 1024 px wide
    with pad:
        drawn = drawing_pad(lab)
    if drawn is None:
        side.info("Draw a digit on the pad with the mouse, a pen or a finger: the prediction follows every stroke.")
        return
    keep = st.container()  # under both columns, the page's whole width: ten digits' pills did not fit beside the
    # pad at 1024 px (6 to 9 were off screen in a box that scrolled sideways)
    prepared = prediction_view(lab, drawn, key="drawn", steps=st.container(), bars=side, title=DRAWING_TITLE,
                               follow_guess=True)
    if prepared is not None:
        _keep_controls(lab, prepared, keep)


def handwriting_view(lab: Lab) -> None:
    """The kept digits as thumbnails (each removable) and the model's score on them beside the test set's."""
    st.subheader("My handwriting")
    if NOTE in st.session_state:
        st.warning(st.session_state.pop(NOTE), icon=":material/warning:")
    kept = lab.handwriting
    if not len(kept):
        st.caption("Keep your drawings as a small test set of your own: draw a digit, pick what it was meant to "
                   "be and press *Add to my handwriting*.")
        return
    try:
        metrics = evaluate_handwriting(lab.model, kept, lab.class_names)
    except HandwritingError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    names = lab.class_names
    cards = st.columns(3)
    accuracy_card(cards[0], "Accuracy on your handwriting", metrics.accuracy, metrics.n_samples)
    if lab.data is not None:
        test = lab.evaluation().test
        accuracy_card(cards[1], "Accuracy on the test set", test.accuracy, test.n_samples)
    cards[2].button("Clear the set", icon=":material/delete_sweep:", key="predict.clear_set",
                    on_click=_clear_set, args=(lab,))
    for start in range(0, len(kept), THUMBS_PER_ROW):
        for column, digit, guess in zip(st.columns(THUMBS_PER_ROW), kept.digits[start:start + THUMBS_PER_ROW],
                                        metrics.y_pred[start:]):
            column.image(digit.pixels, width=56, clamp=True,
                         caption=f"#{digit.number}: {literal(names[digit.label])} → {literal(names[guess])}")
            column.button("Remove", key=f"predict.remove.{digit.number}", on_click=_remove, args=(lab, digit.number),
                          icon=":material/close:", type="tertiary")
    st.plotly_chart(_confusion(metrics.confusion, names), key="predict.handwriting_cm")


@st.cache_data(max_entries=32, show_spinner=False)
def _confusion(matrix: np.ndarray, names: tuple[str, ...]) -> Figure:
    """The set's confusion matrix, built once per matrix: its cell labels take Plotly a second to add."""
    return plots.confusion_figure(matrix, names, title="Your handwriting: confusion matrix")
