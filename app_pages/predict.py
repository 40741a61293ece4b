"""Predict page: draw or upload digits (or type a point) and see how the model decides."""

from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st

from app_pages.common.inside import SENT
from app_pages.common.session import get_lab
from app_pages.common.ui import IMAGE_UPLOAD_MB, MODEL_UPLOAD_MB, end_page, literal, require
from app_pages.common.widgets import boundary_toggles
from app_pages.predict_canvas import chain_view, drawing_view, handwriting_view, prediction_view
from core import plots
from core.checkpoint import CheckpointError
from core.data.drawn import PointAxis, from_units, point_axes
from core.lab import MAX_IMAGES, LabError

IMAGE_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp"]

POINT_LIMIT = 10.0  # the typed point's range: this many standard deviations either side of the data's centre
PROBE_GRID = 40  # clickable points per side of the boundary chart: a click lands within 1/40 of the box
BOUNDARY_KEY = "predict.point_boundary"


def move_point_to_click(axes: tuple[PointAxis, PointAxis]) -> None:
    """A click on the boundary chart moves the typed point there (runs before the inputs are drawn again)."""
    clicked = st.session_state[BOUNDARY_KEY].selection.points
    if clicked:
        for name, axis in zip(("x", "y"), axes):
            st.session_state[f"predict.{name}"] = axis.clamp(clicked[0][name])


def point_input(column, name: str, axis: PointAxis) -> float:
    """One coordinate of the typed point, in the data's own units (a value left from other data starts over)."""
    key = f"predict.{name}"
    if not axis.low <= st.session_state.get(key, axis.start) <= axis.high:
        st.session_state[key] = axis.start
    return column.number_input(name, axis.low, axis.high, axis.start, axis.step, format=f"%.{axis.digits}f",
                               key=key)


lab = get_lab()
st.title("Predict")
lab.poll()

with st.expander("Model file: download this model, or upload one to continue from", expanded=lab.model is None):
    if lab.model is not None:
        # A callable: the file (up to ~25 MB) is written when the button is clicked, not on every rerun.
        st.download_button("Download the trained model", lab.model_file, "nnlab-model.pt",
                           "application/octet-stream", key="predict.download", on_click="ignore")  # as Evaluate's
    upload = st.file_uploader("Upload a model file (.pt)", type=["pt"], key="predict.model_upload",
                              max_upload_size=MODEL_UPLOAD_MB)
    if upload is not None and st.session_state.get("predict.loaded") != upload.file_id:
        try:
            loaded = lab.load_model_file(upload.getvalue())
            st.session_state["predict.loaded"] = upload.file_id
            st.success(f"Loaded a {loaded.config.kind} model with {len(loaded.class_names)} classes.")
        except (CheckpointError, LabError) as exc:
            # The message can quote the file (e.g. an unknown model kind): never let it render as Markdown.
            st.error(f"This file cannot be used, so the current model is unchanged: {literal(exc)}")

require(lab.model is not None, "Train a model first (or upload a model file above).", "train", "Go to the Train page")

if tuple(lab.model_config.input_shape) == (2,):
    # A 2-D model uploaded before any dataset was picked: points and the boundary need the dataset.
    require(lab.data is not None, "This model takes 2-D points, and trying it needs its dataset: pick that dataset "
            "on the Data page (the model stays loaded if the dataset fits it), then come back.", "data",
            "Go to the Data page")
    st.markdown("Click anywhere on the boundary, or type a point, and see the class probabilities.")
    units = lab.data.units  # your own points: typed, clicked and drawn in their own units; the model gets them scaled
    axes = point_axes(units, limit=POINT_LIMIT)
    point = np.array([[point_input(column, name, axis) for column, name, axis in zip(st.columns(2), "xy", axes)]])
    proba = lab.predict_points(from_units(point, units))[0]
    names = lab.class_names
    discretize, test_points = boundary_toggles("predict")
    chart, bars = st.columns([3, 2])
    chart.plotly_chart(plots.boundary_figure(lab.boundary(), from_units(point, units), np.array([proba.argmax()]),
                                             names, probe_grid=PROBE_GRID, units=units, discretize=discretize,
                                             X_test=lab.data.X_test if test_points else None, y_test=lab.data.y_test,
                                             title="Your point on the boundary"),
                       key=BOUNDARY_KEY, on_select=partial(move_point_to_click, axes), selection_mode="points")
    bars.plotly_chart(plots.probability_figure(proba, names), key="predict.point_proba")
    chain_view(bars, lab.logit_chain(from_units(point, units)), key="point")
    end_page()

st.subheader("Draw a digit")
drawing_view(lab)
handwriting_view(lab)

st.subheader("…or upload a photo")
files = st.file_uploader("Upload digit images", type=IMAGE_TYPES, accept_multiple_files=True,
                         key="predict.images", max_upload_size=IMAGE_UPLOAD_MB)
with st.expander("…or take a photo of a handwritten digit"):
    photo = st.camera_input("Camera", key="predict.camera")
sources = [(f.name, f.getvalue()) for f in files or []] + ([("camera photo", photo.getvalue())] if photo else [])
sources += [st.session_state[SENT]] if SENT in st.session_state else []  # a test digit opened from Inside
if not sources:
    st.info("Upload one or more images of a single digit (png, jpg, bmp, gif, webp).")
if len(sources) > MAX_IMAGES:
    st.warning(f"{len(sources)} images: the first {MAX_IMAGES} are shown. Remove some to see the others.",
               icon=":material/filter_none:")
for i, (name, raw) in enumerate(sources[:MAX_IMAGES]):
    st.divider()
    st.text(f"File: {name}")  # plain text: a file name is never rendered as Markdown or HTML
    prediction_view(lab, raw, key=str(i))
