"""Widgets used on more than one page; each owns its session-state keys under a page prefix."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app_pages.common.session import locked, shown
from app_pages.common.ui import nearest
from core.config import FEATURE_LABELS, MAX_HIDDEN_LAYERS, ModelConfig
from core.models import ACTIVATIONS, FEATURES

KIND_LABELS = {"logreg": "Logistic regression", "mlp": "MLP (dense layers)", "cnn": "Small CNN",
               "lenet": "LeNet-5"}
UNIT_STEPS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]


def architecture_controls(config: ModelConfig, *, prefix: str, images: bool) -> ModelConfig:
    """Model family, hidden layers and units, activation, dropout -> a new ModelConfig."""
    kinds = list(KIND_LABELS) if images else ["logreg", "mlp"]
    kind = config.kind if not shown("model") else st.radio(  # a teacher's link can hide or lock each control
        "Model", kinds, format_func=KIND_LABELS.get, horizontal=True, key=f"{prefix}.kind",
        index=kinds.index(config.kind) if config.kind in kinds else 1, disabled=locked("model"))
    hidden, width = config.hidden, config.width
    if kind == "mlp" and shown("hidden"):
        layers = st.slider("Hidden layers", 1, MAX_HIDDEN_LAYERS, len(config.hidden), key=f"{prefix}.layers",
                           disabled=locked("hidden"))
        units = st.select_slider("Units per hidden layer", UNIT_STEPS, value=nearest(UNIT_STEPS, config.hidden[0]),
                                 key=f"{prefix}.units", disabled=locked("hidden"))
        hidden = (units,) * layers
    if kind == "cnn" and shown("width"):
        width = st.select_slider("CNN width (channels)", [4, 8, 16, 32, 64], value=min(max(config.width, 4), 64),
                                 key=f"{prefix}.width", disabled=locked("width"))
    activation = config.activation
    if kind != "logreg" and shown("act"):
        names = list(ACTIVATIONS)
        activation = st.selectbox("Activation", names, index=names.index(config.activation),
                                  key=f"{prefix}.activation", disabled=locked("act"))
    dropout = config.dropout
    if kind != "logreg" and images and shown("drop"):
        dropout = st.slider("Dropout", 0.0, 0.5, config.dropout, 0.05, key=f"{prefix}.dropout", disabled=locked("drop"))
    features = config.features if images or not shown("feat") else feature_controls(config, prefix=prefix)
    return replace(config, kind=kind, hidden=hidden, width=width, activation=activation, dropout=dropout,
                   features=features)


def feature_controls(config: ModelConfig, *, prefix: str) -> tuple[str, ...]:
    """Input features of 2-D data as toggles (x, y, x², ...); at least one must stay on."""
    chosen = st.pills("Input features", list(FEATURES), selection_mode="multi", default=list(config.features),
                      format_func=FEATURE_LABELS.get, key=f"{prefix}.features", disabled=locked("feat"), wrap=True,
                      help="A fixed first layer computes these from each point's (x, y). With x² and y² even "
                           "logistic regression can draw a circle: feature engineering instead of depth.")
    if not chosen:
        st.error("Choose at least one input feature: the network needs something to look at.",
                 icon=":material/error:")
        return config.features
    return tuple(name for name in FEATURES if name in chosen)  # the canonical order, whatever the click order
