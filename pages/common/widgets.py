"""Widgets used on more than one page; each owns its session-state keys under a page prefix."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from core.models import ACTIVATIONS, MAX_HIDDEN_LAYERS, ModelConfig
from pages.common.ui import nearest

KIND_LABELS = {"logreg": "Logistic regression", "mlp": "MLP (dense layers)", "cnn": "Small CNN",
               "lenet": "LeNet-5"}
UNIT_STEPS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]


def architecture_controls(config: ModelConfig, *, prefix: str, images: bool) -> ModelConfig:
    """Model family, hidden layers and units, activation, dropout -> a new ModelConfig."""
    kinds = list(KIND_LABELS) if images else ["logreg", "mlp"]
    kind = st.radio("Model", kinds, format_func=KIND_LABELS.get, horizontal=True, key=f"{prefix}.kind",
                    index=kinds.index(config.kind) if config.kind in kinds else 1)
    hidden, width = config.hidden, config.width
    if kind == "mlp":
        layers = st.slider("Hidden layers", 1, MAX_HIDDEN_LAYERS, len(config.hidden), key=f"{prefix}.layers")
        units = st.select_slider("Units per hidden layer", UNIT_STEPS, value=nearest(UNIT_STEPS, config.hidden[0]),
                                 key=f"{prefix}.units")
        hidden = (units,) * layers
    if kind == "cnn":
        width = st.select_slider("CNN width (channels)", [4, 8, 16, 32, 64], value=min(max(config.width, 4), 64),
                                 key=f"{prefix}.width")
    activation = config.activation
    if kind != "logreg":
        names = list(ACTIVATIONS)
        activation = st.selectbox("Activation", names, index=names.index(config.activation),
                                  key=f"{prefix}.activation")
    dropout = config.dropout
    if kind != "logreg" and images:
        dropout = st.slider("Dropout", 0.0, 0.5, config.dropout, 0.05, key=f"{prefix}.dropout")
    return replace(config, kind=kind, hidden=hidden, width=width, activation=activation, dropout=dropout)
