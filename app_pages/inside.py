"""Inside page: what the units compute. 2-D data: neuron maps, the hidden space and gradient flow, following
the run's epochs; digits: the first layer's weights, feature maps and the embedding projector."""

from __future__ import annotations

import streamlit as st

from app_pages.common import inside
from app_pages.common.session import get_lab
from app_pages.common.ui import end_page, require

lab = get_lab()
st.title("Inside")
st.caption("What the units compute, and how that changes as the network learns.")
lab.poll()
require(lab.data is not None, "Pick a dataset first.", "data", "Go to the Data page")
require(lab.model is not None, "Train a model first: looking inside needs one (a run in progress shows here "
        "once it ends).", "train", "Go to the Train page")
require(lab.model_config.takes_images == lab.data.is_image, "This model was made for another kind of data: pick "
        "its dataset on the Data page.", "data", "Go to the Data page")

if lab.data.is_image:
    weights, features, projector = st.tabs(["First layer", "Feature maps", "Embedding projector"])
    with weights:
        inside.weights_view(lab)
    with features:
        inside.feature_map_view(lab)
    with projector:
        inside.projector_view(lab)
    end_page()

model, index = inside.epoch_slider(lab)
maps, space, flow = st.tabs(["Neuron maps", "Hidden space", "Gradient flow"])
with maps:
    inside.neuron_map_view(lab, model, index)
with space:
    inside.hidden_space_view(lab, model, index)
with flow:
    inside.gradient_view(lab)
