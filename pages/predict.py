"""Predict page: draw or upload digits (or type a point) and see how the model decides."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core import plots
from core.checkpoint import CheckpointError
from core.lab import LabError
from pages.common.canvas import drawing_view, handwriting_view, prediction_view
from pages.common.inside import SENT
from pages.common.state import get_lab
from pages.common.ui import IMAGE_UPLOAD_MB, MODEL_UPLOAD_MB, literal, require

IMAGE_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp"]

POINT_LIMIT = 10.0  # the typed point's range on each axis
PROBE_GRID = 40  # clickable points per side of the boundary chart: a click lands within 1/40 of the box
BOUNDARY_KEY = "predict.point_boundary"


def move_point_to_click() -> None:
    """A click on the boundary chart moves the typed point there (runs before the inputs are drawn again)."""
    clicked = st.session_state[BOUNDARY_KEY].selection.points
    if clicked:
        for axis in ("x", "y"):
            value = min(max(float(clicked[0][axis]), -POINT_LIMIT), POINT_LIMIT)
            st.session_state[f"predict.{axis}"] = round(value, 2)


lab = get_lab()
st.title("Predict")
lab.poll()

with st.expander("Model file: download this model, or upload one to continue from", expanded=lab.model is None):
    if lab.model is not None:
        # A callable: the file (up to ~25 MB) is written when the button is clicked, not on every rerun.
        st.download_button("Download the trained model", lab.model_file, "nnlab-model.pt",
                           "application/octet-stream", key="predict.download")
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
    a, b = st.columns(2)
    x = a.number_input("x", -POINT_LIMIT, POINT_LIMIT, 0.0, 0.1, key="predict.x")
    y = b.number_input("y", -POINT_LIMIT, POINT_LIMIT, 0.0, 0.1, key="predict.y")
    proba = lab.predict_points(np.array([[x, y]]))[0]
    names = lab.class_names
    chart, bars = st.columns([3, 2])
    chart.plotly_chart(plots.boundary_figure(lab.boundary(), np.array([[x, y]]), np.array([proba.argmax()]), names,
                                             probe_grid=PROBE_GRID, title="Your point on the boundary"),
                       key=BOUNDARY_KEY, on_select=move_point_to_click, selection_mode="points")
    bars.plotly_chart(plots.probability_figure(proba, names), key="predict.point_proba")
    st.stop()

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
for i, (name, raw) in enumerate(sources):
    st.divider()
    st.text(f"File: {name}")  # plain text: a file name is never rendered as Markdown or HTML
    prediction_view(lab, raw, key=str(i))
