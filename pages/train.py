"""Train page: learning-rate slider on a log scale, live curves, the boundary forming as it trains."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import streamlit as st

from core import plots
from core.presets import LEARNING_RATES
from core.train import OPTIMIZERS, SCHEDULES, TrainConfig
from pages.common.state import AUTO_TRAIN_KEY, get_lab
from pages.common.ui import friendly_errors, percent, require
from pages.common.widgets import architecture_controls

BATCH_SIZES = [1, 4, 8, 16, 32, 64, 128, 256, 512, 0]  # 0 = the whole training set
SYNC_STEPS = 2500  # 2-D runs up to this many steps train inline (< 1 s); longer ones on a worker


def _nearest(options: Sequence[float], value: float) -> float:
    return min(options, key=lambda o: abs(o - value))


def training_controls(config: TrainConfig) -> TrainConfig:
    """Every training setting as a widget -> TrainConfig."""
    lr = st.select_slider("Learning rate (log scale)", LEARNING_RATES, value=_nearest(LEARNING_RATES, config.lr),
                          format_func=lambda v: f"{v:g}", key="train.lr")
    optimizer = st.selectbox("Optimizer", OPTIMIZERS, index=OPTIMIZERS.index(config.optimizer), key="train.opt",
                             format_func={"sgd": "SGD (momentum 0.9)", "adam": "Adam", "adamw": "AdamW",
                                          "rmsprop": "RMSprop"}.get)
    batch = st.select_slider("Batch size", BATCH_SIZES, value=config.batch_size if config.batch_size in BATCH_SIZES
                             else 32, format_func=lambda b: "all" if b == 0 else str(b), key="train.batch")
    epochs = st.slider("Epochs", 1, 200, config.epochs, key="train.epochs")
    with st.expander("More settings"):
        weight_decay = st.select_slider("Weight decay", [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1],
                                        value=config.weight_decay if config.weight_decay in
                                        (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1) else 0.0,
                                        format_func=lambda v: f"{v:g}", key="train.wd")
        schedule = st.selectbox("Learning-rate schedule", SCHEDULES, index=SCHEDULES.index(config.schedule),
                                key="train.schedule")
        patience = st.slider("Early stopping patience (0 = off)", 0, 20, config.patience, key="train.patience")
        seed = st.number_input("Seed", 0, 10_000, config.seed, key="train.seed")
    return replace(config, lr=lr, optimizer=optimizer, batch_size=batch, epochs=epochs, weight_decay=weight_decay,
                   schedule=schedule, patience=patience, seed=int(seed))


def show_run(history, snapshot, result, *, key: str) -> None:
    """Curves, accuracy and (2-D) the boundary for a finished or running run."""
    data = lab.data
    if history:
        last = history[-1]
        a, b, c = st.columns(3)
        a.metric("Test accuracy", percent(last.val_acc), f"{100 * (last.val_acc - last.train_acc):+.1f} vs train",
                 delta_color="off")
        b.metric("Loss (train / test)", f"{last.train_loss:.3f} / {last.val_loss:.3f}")
        c.metric("Epoch time", f"{1000 * last.seconds:.0f} ms", f"{last.steps:,} steps", delta_color="off")
    if snapshot is not None:
        st.plotly_chart(plots.boundary_figure(snapshot.grid, data.X_test, data.y_test, data.class_names,
                                              title=f"Decision boundary after epoch {snapshot.epoch}"),
                        key=f"{key}.boundary")
    st.plotly_chart(plots.curves_figure(history), key=f"{key}.curves")
    if result is not None and result.failed_to_learn:
        st.warning(result.message, icon=":material/warning:")
    elif result is not None and result.status in ("early_stopped", "stopped"):
        st.info(result.message)


lab = get_lab()
st.title("Train")
require(lab.data is not None, "Pick a dataset first.", "data", "Go to the Data page")
data = lab.data
points = not data.is_image
left, right = st.columns([1, 2.4], gap="large")
with left:
    if points:  # Playground-style: shape the network right here and watch the boundary follow
        with friendly_errors("This network cannot be built"):
            lab.set_model_config(architecture_controls(lab.model_config, prefix="train.arch", images=False))
    config = training_controls(lab.train_config or TrainConfig())
    auto = points and st.toggle("Auto-train when a slider moves", value=True, key="train.auto")
    go_column, stop_column, reset_column = st.columns(3)
    start = go_column.button("Train", type="primary", disabled=lab.training, key="train.go")
    if stop_column.button("Stop", disabled=not lab.training, key="train.stop"):
        lab.stop()
    reset = reset_column.button("Reset", key="train.reset")
    if reset:
        lab.stop()
        lab.forget_model()
        st.session_state.pop(AUTO_TRAIN_KEY, None)
    sanity = st.button("Overfit one batch (sanity check)", key="train.sanity", disabled=lab.training)

run_config = replace(config, snapshot_every=max(1, config.epochs // 30)) if points else config
with right, friendly_errors("Training could not start"):
    settings = (lab.data_config, lab.model_config, run_config)
    if start or (auto and st.session_state.get(AUTO_TRAIN_KEY) != settings and not reset):
        st.session_state[AUTO_TRAIN_KEY] = settings
        steps = run_config.epochs * -(-len(data.y_train) // (run_config.batch_size or len(data.y_train)))
        if points and steps <= SYNC_STEPS:
            lab.train_now(run_config)  # well under a second: the boundary follows the slider
        else:
            lab.stop()
            lab.start_training(run_config)
    if sanity:
        check = lab.sanity_check()
        acc = check.history[-1].train_acc if check.history else 0.0
        (st.success if acc >= 0.99 else st.warning)(
            f"Overfit one batch: {percent(acc)} on 16 examples after {check.steps} steps. "
            + ("The model can learn; go ahead." if acc >= 0.99 else
               "It cannot even memorise 16 examples: check the learning rate, the size or the activation."))


polling = lab.training


@st.fragment(run_every=0.5 if polling else None)
def live() -> None:
    """Redraw the running (or last) job twice a second; rerun the whole page once it ends."""
    progress = lab.poll()
    if progress is not None and progress.state == "waiting":  # nothing to chart yet: keep these reruns light
        st.progress(0.0, text="Waiting for a free training slot: other sessions are training. It starts by itself.")
        return
    if progress is not None and not progress.done:
        st.progress(progress.fraction, text=f"Epoch {len(progress.history)} of {progress.epochs} · "
                                            f"step {progress.steps:,}")
        show_run(progress.history, progress.snapshot, None, key="live")
        return
    if polling:  # it has just finished: redraw the page so the buttons and the sidebar follow
        st.rerun()
    if progress is not None and progress.state == "failed":
        st.error(f"Training failed: {progress.error}")
    result = lab.result
    if result is None:
        st.info("Press **Train** to start." if not points else "Move a slider or press **Train**.")
        return
    snapshots = result.snapshots
    snapshot = snapshots[-1] if snapshots else None
    if len(snapshots) > 1:
        epoch = st.select_slider("Replay the boundary, epoch by epoch", [s.epoch for s in snapshots],
                                 value=snapshots[-1].epoch, key="train.replay")
        snapshot = next(s for s in snapshots if s.epoch == epoch)
    show_run(result.history, snapshot, result, key="done")


with right:
    live()
