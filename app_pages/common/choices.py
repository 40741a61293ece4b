"""The seeds' choices as widgets: label noise (Data), the output head (Model), the loss, augmentation and the
device (Train, under More settings). Each owns its key, under its page's prefix; a control a teacher's link hides
keeps its value."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app_pages.common.session import locked, shown
from core.config import AUGMENTATIONS, DASHBOARD_LIMITS, DEVICES, LOSSES, DataConfig, ModelConfig, TrainConfig
from core.config import augment_strengths as strengths_of
from core.lab import Lab
from core.models import resolve_device

LOSS_LABELS = {"cross_entropy": "Cross-entropy", "mse": "Mean squared error"}
HEAD_LABELS = {"softmax": "Two logits → softmax", "sigmoid": "One logit → sigmoid (BCE)"}
DEVICE_LABELS = {"auto": "Auto (a GPU for digits, if there is one)", "cpu": "CPU", "cuda": "GPU (CUDA)"}
AUGMENT_LABELS = {"shift": "Shift (pixels)", "rotate": "Rotate (degrees)", "scale": "Scale (percent)"}


def label_noise_control(config: DataConfig) -> float:
    """The share of training labels to flip, 0-0.5 (Data page)."""
    if not shown("ln"):
        return config.label_noise
    return st.slider("Label noise (training labels flipped)", *DASHBOARD_LIMITS[DataConfig]["label_noise"],
                     config.label_noise, 0.05, key="data.ln", disabled=locked("ln"),
                     help="This share of the training labels is moved to a wrong class, at random (the seed fixes "
                          "which). Validation and test labels stay true, so their scores show what the wrong labels "
                          "cost.")


def head_control(config: ModelConfig) -> ModelConfig:
    """Softmax over two logits, or one logit and a sigmoid: for two classes only (Model page)."""
    if config.n_classes != 2 or not shown("head"):
        return config
    head = st.radio("Output", list(HEAD_LABELS), index=list(HEAD_LABELS).index(config.head), key="model.head",
                    format_func=HEAD_LABELS.get, horizontal=True, disabled=locked("head"),
                    help="Two classes need only one number: a single output z with p = sigmoid(z), trained with "
                         "binary cross-entropy, gives the same probabilities as a softmax over two logits.")
    return replace(config, head=head)


def loss_control(config: TrainConfig) -> str:
    """Cross-entropy or mean squared error (Train page, More settings)."""
    if not shown("loss"):
        return config.loss
    return st.radio("Loss", LOSSES, index=LOSSES.index(config.loss), key="train.loss", format_func=LOSS_LABELS.get,
                    horizontal=True, disabled=locked("loss"),
                    help="Cross-entropy punishes a confident wrong answer without limit; mean squared error "
                         "(probabilities against the one-hot labels) at most by 1, so it learns more slowly.")


def augment_control(config: TrainConfig, *, images: bool) -> tuple[str, ...]:
    """Shift, rotate and scale, each a toggle with a strength (digits only; Train page, More settings)."""
    if not images or not shown("aug"):
        return config.augment
    chosen, current = [], strengths_of(config.augment)
    st.markdown("**Augmentation** (training images only, new each epoch)")
    for name, (default, (low, high), _unit) in AUGMENTATIONS.items():
        on, strength = st.columns([1, 2])
        if on.toggle(name.capitalize(), value=name in current, key=f"train.aug.{name}", disabled=locked("aug")):
            value = strength.slider(AUGMENT_LABELS[name], float(low), float(high), float(current.get(name, default)),
                                    key=f"train.aug.{name}.strength", disabled=locked("aug"),
                                    label_visibility="collapsed")
            chosen.append(name if value == default else f"{name}{value:g}")
    return tuple(chosen)


def device_control(lab: Lab) -> None:
    """Where this session's runs train: auto, CPU or CUDA; one line when CUDA is chosen and absent."""
    device = st.selectbox("Device", DEVICES, index=DEVICES.index(lab.device), key="train.device",
                          format_func=DEVICE_LABELS.get)
    try:
        where = resolve_device(device, images=lab.data is not None and lab.data.is_image)
    except ValueError as exc:
        st.error(str(exc), icon=":material/memory:")
        return
    lab.device = device
    st.caption(f"The next run trains on the {where.type.upper()}.")

