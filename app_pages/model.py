"""Model page: shape the network with sliders and see it drawn."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

from app_pages.common.choices import head_control
from app_pages.common.session import get_lab
from app_pages.common.training import forget_training_widgets
from app_pages.common.ui import friendly_errors, require
from app_pages.common.widgets import architecture_controls
from core import plots
from core.models import (
    ACTIVATIONS,
    activation_curve,
    build_model,
    count_parameters,
    input_names,
    layer_sizes,
    linear_biases,
    linear_weights,
    summary_table,
)


@st.cache_data
def activation_curves() -> dict[str, np.ndarray]:
    x = np.linspace(-4, 4, 161)
    return {name: activation_curve(name, x) for name in ACTIVATIONS}


lab = get_lab()
st.title("Model")
require(lab.data is not None, "Pick a dataset first: the network's input and output sizes come from it.",
        "data", "Go to the Data page")
data = lab.data
left, right = st.columns([1, 2.4], gap="large")
with left:
    config = head_control(architecture_controls(lab.model_config, prefix="model", images=data.is_image))
    with friendly_errors("This network cannot be built"):
        notice = lab.apply(replace(lab.settings, model=config))
        if notice:
            forget_training_widgets()
            st.info(notice, icon=":material/tune:")
config = lab.model_config
# The drawing shows the trained weights when the model was trained with this architecture.
model = lab.model if lab.model is not None else build_model(config)
with right:
    st.metric("Trainable parameters", f"{count_parameters(model):,}")
    if config.kind in ("logreg", "mlp"):
        weights = linear_weights(lab.model) if lab.model is not None else None
        biases = linear_biases(lab.model) if lab.model is not None else None
        outputs = [f"z → σ → p({lab.class_names[1]})"] if config.head == "sigmoid" else lab.class_names
        st.plotly_chart(plots.network_figure(layer_sizes(config), weights, biases=biases, class_names=outputs,
                                             input_names=input_names(config)), key="model.network")
        if weights is None:
            st.caption("Train the model to see its weights: blue edges are positive, orange negative.")
        else:
            small = sum(int((np.abs(w) < plots.SMALL_WEIGHT).sum()) for w in weights)
            st.caption(f"{small:,} of {sum(w.size for w in weights):,} weights below {plots.SMALL_WEIGHT:g} "
                       "(drawn faded): an L1 penalty (Train page, More settings) pushes unneeded weights there. "
                       "Point at an edge to read its weight, or at a unit to read its bias.")
    # Every layer shown: the default height stops at ten rows, and a CNN has more.
    st.dataframe(summary_table(model, config.input_shape), hide_index=True, width="stretch", height="content")
    if config.kind != "logreg":
        curves = activation_curves()
        st.plotly_chart(plots.activation_figure(list(curves), config.activation, np.linspace(-4, 4, 161), curves),
                        key="model.activation_chart")
st.page_link("app_pages/train.py", label="Next: train it", icon=":material/arrow_forward:")
