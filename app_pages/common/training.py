"""The Train page's widgets and run view: training settings in, curves, cards and the boundary out."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app_pages.common.choices import augment_control, device_control, loss_control
from app_pages.common.session import get_lab, locked, shown
from app_pages.common.ui import accuracy_card, count, nearest, unless_set
from app_pages.common.widgets import boundary_toggles
from core import plots
from core.config import DASHBOARD_LIMITS, OPTIMIZERS, SCHEDULES, TrainConfig
from core.evaluate import majority_baseline
from core.lab import Lab
from core.training.presets import LEARNING_RATES

BATCH_SIZES = [1, 4, 8, 16, 32, 64, 128, 256, 512, 0]  # 0 = the whole training set
WEIGHT_DECAYS = [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
TRAIN_KEYS = ("train.lr", "train.opt", "train.mom", "train.batch", "train.epochs", "train.wd", "train.l1",
              "train.schedule", "train.patience", "train.seed")
LIMITS = DASHBOARD_LIMITS[TrainConfig]  # the same ranges a link is held to
OPTIMIZER_LABELS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}
WITH_MOMENTUM = ("sgd", "rmsprop")  # Adam and AdamW keep their own running averages instead


def forget_training_widgets() -> None:
    """Drop the training widgets' state, so they start again from the lab's settings (a new preset)."""
    for key in TRAIN_KEYS:
        st.session_state.pop(key, None)


def training_controls(config: TrainConfig, *, disabled: bool = False) -> TrainConfig:
    """Every training setting as a widget -> TrainConfig; a control a teacher's link hides keeps its value."""
    def off(name: str) -> bool:
        return disabled or locked(name)

    lr = st.select_slider("Learning rate (log scale)", LEARNING_RATES,
                          **unless_set("train.lr", value=nearest(LEARNING_RATES, config.lr)),
                          format_func=lambda v: f"{v:g}", key="train.lr",
                          disabled=off("lr")) if shown("lr") else config.lr
    optimizer = st.selectbox("Optimizer", OPTIMIZERS, index=OPTIMIZERS.index(config.optimizer), key="train.opt",
                             format_func=OPTIMIZER_LABELS.get,
                             disabled=off("opt")) if shown("opt") else config.optimizer
    momentum = st.slider("Momentum", *LIMITS["momentum"], min(config.momentum, LIMITS["momentum"][1]), 0.01,
                         key="train.mom", disabled=off("mom"),
                         help="How much of the last step each step keeps: 0 is plain gradient descent; 0.9 rolls "
                              "through small bumps and narrow valleys faster."
                         ) if shown("mom") and optimizer in WITH_MOMENTUM else config.momentum
    batch = st.select_slider("Batch size", BATCH_SIZES, value=nearest(BATCH_SIZES, config.batch_size),
                             format_func=lambda b: "all" if b == 0 else str(b), key="train.batch",
                             disabled=off("bs")) if shown("bs") else config.batch_size
    epochs = st.slider("Epochs, at most", *LIMITS["epochs"],
                       **unless_set("train.epochs", value=min(config.epochs, LIMITS["epochs"][1])),
                       key="train.epochs", disabled=off("ep"),
                       help="The ceiling: with the stopping rule on (More settings: patience), a run ends sooner, "
                            "once its validation loss has stopped improving.") if shown("ep") else config.epochs
    with st.expander("More settings"):
        weight_decay = st.select_slider(
            "Weight decay (L2)", WEIGHT_DECAYS,
            **unless_set("train.wd", value=nearest(WEIGHT_DECAYS, config.weight_decay)),
            format_func=lambda v: f"{v:g}", key="train.wd", disabled=off("wd"),
            help="For SGD, Adam and RMSprop weight decay is an L2 penalty: it shrinks every weight a little at "
                 "each step. AdamW decouples the decay from the gradient step.") if shown("wd") else config.weight_decay
        l1 = st.select_slider("L1 penalty", WEIGHT_DECAYS, value=nearest(WEIGHT_DECAYS, config.l1),
                              format_func=lambda v: f"{v:g}", key="train.l1", disabled=off("l1"),
                              help="Adds rate × Σ|w| to the loss: it pushes unneeded weights to exactly zero."
                              ) if shown("l1") else config.l1
        schedule = st.selectbox("Learning-rate schedule", SCHEDULES, index=SCHEDULES.index(config.schedule),
                                key="train.schedule", disabled=off("sched")) if shown("sched") else config.schedule
        patience = st.slider("Stop when it stops improving: patience (0 = off)", *LIMITS["patience"],
                             **unless_set("train.patience", value=config.patience), key="train.patience",
                             disabled=off("pat"),
                             help="A run stops after this many epochs without a new low of the validation loss "
                                  "(longer on a long run) and keeps the best epoch's weights. 0: it trains up to "
                                  "the epoch ceiling and keeps the last weights.") if shown("pat") else config.patience
        seed = st.number_input("Shuffle seed", *LIMITS["seed"], config.seed, key="train.seed",
                               disabled=off("seed")) if shown("seed") else config.seed
        lab = get_lab()  # #19: the loss, augmentation (digits) and the device (app_pages.common.choices)
        loss, augment = loss_control(config), augment_control(config, images=lab.data is not None and lab.data.is_image)
        device_control(lab)
    return replace(config, lr=lr, optimizer=optimizer, momentum=momentum, batch_size=batch, epochs=epochs,
                   weight_decay=weight_decay, l1=l1, schedule=schedule, patience=patience, seed=int(seed), loss=loss,
                   augment=augment)


def pending_run_note(lab: Lab, *, auto: bool) -> None:
    """What the next run would cost when the settings changed but nothing trained: over the server's per-run
    limit (what to lower), or, with auto-train on, too long to train on every move (press Train)."""
    try:
        lab.budget.check(lab.cost(), lab.train_config)
    except ValueError as exc:
        st.warning(str(exc), icon=":material/hourglass_disabled:")
        return
    if auto:
        st.info(f"This run would take {lab.cost().describe()}: too long to train on every move. Press **Train** "
                "to start it.", icon=":material/hourglass_top:")


def progress_text(lab: Lab, progress) -> str:
    """'Epoch 3 of at most 1,000 · 120 steps' for a running job ('first steps' before the first is done: an MNIST
    CNN takes a few seconds to reach it)."""
    ceiling = f"{'at most ' if lab.train_config.patience else ''}{progress.epochs:,}"
    steps = count(progress.steps, "step") if progress.steps else "first steps"
    return f"Epoch {min(len(progress.history) + 1, progress.epochs):,} of {ceiling} · {steps}"


SHARED_NOTE = ("Trained before on this server, so it appeared at once: the very run that training again would give "
               "(same data, settings and seeds).")


def show_run(lab: Lab, history, snapshot, result, *, key: str) -> None:
    """Cards, the boundary (2-D) and the curves of a running or finished run. A finished run's cards and boundary
    are of the weights it kept (its best epoch, when early stopping went back to it), as Evaluate's are."""
    data = lab.data
    kept = result.kept_stats if result is not None else None
    went_back = kept is not None and bool(history) and kept.epoch != history[-1].epoch
    if history:
        last = kept or history[-1]
        a, b = st.columns(2)
        if data.has_validation:
            accuracy_card(a, "Validation accuracy", last.val_acc, len(data.y_val),
                          baseline=majority_baseline(data.y_train, data.y_val))
        b.metric("Validation loss", _loss(last.val_loss),
                 help=f"The {lab.loss_label} on the validation split. The training loss is averaged over the "
                      "epoch's batches.")
        b.caption(f"train {_loss(last.train_loss)} (epoch mean) · epoch {last.epoch:,}"
                  f"{f' (kept; the run went on to {history[-1].epoch:,})' if went_back else ''} · "
                  f"{count(last.steps, 'step')} · {_duration(last.seconds)} an epoch")
    if result is not None and result is lab.result and lab.shared_run:
        st.caption(SHARED_NOTE)
    if result is not None and result.failed_to_learn:
        st.warning(result.message, icon=":material/warning:")
    elif result is not None and result.status == "time_limit":
        st.warning(result.message, icon=":material/timer_off:")
    elif result is not None and result.status in ("early_stopped", "stopped", "converged", "still_improving"):
        st.info(result.message, icon=":material/info:")
    if not data.is_image:
        if snapshot is not None:
            discretize, test_points = boundary_toggles("train")
            st.plotly_chart(plots.boundary_figure(snapshot.grid, data.X_train, data.y_train, data.class_names,
                                                  X_test=data.X_test if test_points else None, y_test=data.y_test,
                                                  discretize=discretize, units=data.units,
                                                  title=f"Decision boundary after epoch {snapshot.epoch}"),
                            key=f"{key}.boundary")
        elif result is not None and result.diverged:
            st.plotly_chart(plots.placeholder_figure(
                "No boundary: the weights blew up", "Lower the learning rate and train again."), key=f"{key}.none")
    st.plotly_chart(plots.curves_figure(history, loss=lab.loss_label,
                                        kept_epoch=kept.epoch if went_back else None), key=f"{key}.curves")


def _duration(seconds: float) -> str:
    """0.0004 -> '0.4 ms'; 0.0123 -> '12 ms'; 3.4 -> '3.4 s'."""
    if seconds < 0.01:
        return f"{1000 * seconds:.1f} ms"
    return f"{1000 * seconds:,.0f} ms" if seconds < 1 else f"{seconds:,.1f} s"


def _loss(value: float) -> str:
    """A loss readably: 0.0123, 12.3, 2.03e+04."""
    if value != value:
        return "—"
    return f"{value:.3g}" if abs(value) >= 1000 else f"{value:.3f}" if value < 10 else f"{value:.1f}"
