"""Widgets used on more than one page; each owns its session-state keys under a page prefix."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app_pages.common.session import get_lab, locked, shown
from app_pages.common.ui import nearest, unless_set
from core.config import FEATURE_LABELS, LAYER_LIMITS, ModelConfig
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
    width = config.width
    if kind == "mlp" and shown("hidden"):
        hidden_controls(config.hidden, prefix=prefix)
    if kind == "cnn" and shown("width"):
        width = st.select_slider("CNN width (channels)", [4, 8, 16, 32, 64], value=min(max(config.width, 4), 64),
                                 key=f"{prefix}.width", disabled=locked("width"))
    activation = config.activation
    if kind != "logreg" and shown("act"):
        names = list(ACTIVATIONS)
        activation = st.selectbox("Activation", names, **unless_set(f"{prefix}.activation",
                                                                     index=names.index(config.activation)),
                                  key=f"{prefix}.activation", disabled=locked("act"))
    dropout = config.dropout
    if kind != "logreg" and images and shown("drop"):
        dropout = st.slider("Dropout", 0.0, 0.5, config.dropout, 0.05, key=f"{prefix}.dropout", disabled=locked("drop"))
    features = config.features if images or not shown("feat") else feature_controls(config, prefix=prefix)
    return replace(config, kind=kind, width=width, activation=activation, dropout=dropout,
                   features=features)


def hidden_controls(hidden: tuple[int, ...], *, prefix: str) -> None:
    """Hidden layers Playground-style: how many, one width for all, and − / + on each layer's own width.

    Each control's callback changes the lab's widths before the page is drawn, so a width set here, by a link or
    by the command line is never flattened; the sliders are set from the lab's widths on every run.
    """
    off = locked("hidden")
    st.session_state[f"{prefix}.layers"] = len(hidden)
    st.session_state[f"{prefix}.units"] = nearest(UNIT_STEPS, hidden[0])
    st.slider("Hidden layers", *LAYER_LIMITS, key=f"{prefix}.layers", disabled=off, on_change=_reshape,
              args=("layers", f"{prefix}.layers"), help="A new layer starts as wide as the last one.")
    st.select_slider("Units per hidden layer", UNIT_STEPS, key=f"{prefix}.units", disabled=off, on_change=_reshape,
                     args=("units", f"{prefix}.units"), help="Sets every hidden layer to this width; − and + "
                                                             "below change one layer.")
    for layer, units in enumerate(hidden):
        # A row that wraps: in a narrow column (1024 px) − and + go under the label instead of being squeezed blank.
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.markdown(f"Layer {layer + 1} · **{units:,}** {'unit' if units == 1 else 'units'}", width="content")
            st.button("−", key=f"{prefix}.less{layer}", on_click=_reshape, args=("less", "", layer), width="content",
                      disabled=off or units <= UNIT_STEPS[0], help=f"Layer {layer + 1}: fewer units")
            st.button(r"\+", key=f"{prefix}.more{layer}", on_click=_reshape, args=("more", "", layer),
                      width="content", disabled=off or units >= UNIT_STEPS[-1], help=f"Layer {layer + 1}: more units")


def step_units(units: int, direction: int) -> int:
    """The next width in UNIT_STEPS above (direction 1) or below (-1) `units`; the end one at either end."""
    if direction > 0:
        return next((s for s in UNIT_STEPS if s > units), UNIT_STEPS[-1])
    return next((s for s in reversed(UNIT_STEPS) if s < units), UNIT_STEPS[0])


def widths(hidden: tuple[int, ...], action: str, value: int) -> tuple[int, ...]:
    """`hidden` after one control: "layers" (a count: new layers copy the last width, removal drops the last),
    "units" (every layer this wide), "less" / "more" (layer `value` one step narrower or wider)."""
    if action == "layers":
        return hidden[:value] + hidden[-1:] * (value - len(hidden))
    if action == "units":
        return (value,) * len(hidden)
    if action not in ("less", "more"):
        raise ValueError(f"action must be layers, units, less or more. Got {action!r} instead.")
    changed = list(hidden)
    changed[value] = step_units(changed[value], 1 if action == "more" else -1)
    return tuple(changed)


def _reshape(action: str, key: str, layer: int = 0) -> None:
    """A width control's callback: the lab's hidden widths as the control asks (a slider's value is under `key`)."""
    lab = get_lab()
    value = layer if action in ("less", "more") else int(st.session_state[key])
    model = replace(lab.model_config, hidden=widths(lab.model_config.hidden, action, value))
    lab.apply(replace(lab.settings, model=model))


def feature_controls(config: ModelConfig, *, prefix: str) -> tuple[str, ...]:
    """Input features of 2-D data as toggles (x, y, x², ...); at least one must stay on."""
    chosen = st.pills("Input features", list(FEATURES), selection_mode="multi",
                      **unless_set(f"{prefix}.features", default=list(config.features)),
                      format_func=FEATURE_LABELS.get, key=f"{prefix}.features", disabled=locked("feat"), wrap=True,
                      help="A fixed first layer computes these from each point's (x, y). With x² and y² even "
                           "logistic regression can draw a circle: feature engineering instead of depth.")
    if not chosen:
        st.error("Choose at least one input feature: the network needs something to look at.",
                 icon=":material/error:")
        return config.features
    return tuple(name for name in FEATURES if name in chosen)  # the canonical order, whatever the click order


def boundary_toggles(prefix: str, *, test_points: bool = True) -> tuple[bool, bool]:
    """Playground's two switches over a boundary view: (discretize the output, show the test points)."""
    left, right = st.columns(2)
    discretize = left.toggle("Discretize output", key=f"{prefix}.discretize",
                             help="Colour only the decision, each class's region in full, instead of the model's "
                                  "confidence fading towards the boundary.")
    shown_test = test_points and right.toggle("Show test points", key=f"{prefix}.test_points",
                                              help="The held-out test points as rings: does the boundary that fits "
                                                   "the training points fit them too?")
    return discretize, shown_test
