"""The Inside page's views: neuron maps, hidden space and gradient flow for 2-D data; weights, feature
maps and the embedding projector for digits. Each view computes through core.insight and draws core.plots."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

import numpy as np
import streamlit as st

from app_pages.common.session import session
from app_pages.common.ui import PAGES
from core import plots
from core.boundary import grid_box
from core.data.images import PreparedImage
from core.data.pixels import to_pixels
from core.insight.digits import attribute_image, digit_png, embed, feature_maps, first_layer_tiles
from core.insight.maps import NeuronMaps, fit_projection, hidden_activations, hidden_space, neuron_maps
from core.insight.slots import INSPECTION_SLOTS, SlotsBusy
from core.lab import Lab
from core.training.jobs import SlotTask
from core.training.recorder import model_at

SENT = "predict.sent"  # (name, PNG bytes) of a test digit opened on the Predict page from the projector
UNIT = "inside.unit"  # the selectbox of the unit drawn large ("Hidden 1 · unit 3")
CLICKED = "inside.clicked"  # (layer, unit) of the small map just clicked, for the next run to select
MAPS_KEY = "inside.maps"
LAYER = "inside.layer"  # the hidden layer whose space is drawn
DIGIT = "inside.digit"  # the test digit whose feature maps are drawn
PROJECTOR_KEY = "inside.projector"
MAX_UNITS = 8
MAX_EMBEDDED = 2000  # test digits in the projector


def per_model(model: object, name: tuple, compute: Callable[[], object], *, in_slot: bool = True) -> object:
    """`compute()` once per model and name in this session (kept with its Lab, bounded in bytes), in one of the
    server's inspection slots (unless `in_slot` is False: for what costs nothing); a new model drops the old
    one's values."""
    return session().lab.insight.get(model, name, (lambda: _in_slot(compute)) if in_slot else compute)


def _in_slot(compute: Callable[[], object]) -> object:
    """`compute()` once an inspection slot is free; a wait of more than a moment says so on the page."""
    note = st.empty()

    def waiting(seconds: float) -> None:  # each call is also a point where a click can interrupt the wait
        note.caption(f":material/hourglass_top: Waiting for a free slot: the server is busy with other looks "
                     f"inside ({seconds:.0f} s)…")

    try:
        return INSPECTION_SLOTS.run(compute, on_wait=waiting)
    finally:
        note.empty()


def busy_aware(view: Callable[..., None]) -> Callable[..., None]:
    """A view that says so, instead of failing, when the server stayed too busy to compute what it shows."""
    @functools.wraps(view)
    def guarded(*args, **kwargs) -> None:
        try:
            view(*args, **kwargs)
        except SlotsBusy as exc:
            st.warning(str(exc), icon=":material/hourglass_top:")
    return guarded


def _unit_labels(maps: NeuronMaps) -> dict[str, tuple[int, int]]:
    """'Hidden 1 · unit 3' -> (layer index, unit) for every unit, features first."""
    return {f"{layer.name} · {name}": (i, u) for i, layer in enumerate(maps.layers)
            for u, name in enumerate(layer.unit_names)}


def _liveliest(maps: NeuronMaps, labels: dict[str, tuple[int, int]]) -> str:
    """The first layer after the features' unit whose map varies most: a dead unit is a dull first view."""
    values = maps.layers[1].values.reshape(len(maps.layers[1].values), -1)
    unit = int(np.ptp(values, axis=1).argmax())
    return next(label for label, at in labels.items() if at == (1, unit))


def _pick_clicked_unit() -> None:
    """A click on a small map selects that unit in the selectbox (runs before the page is drawn again)."""
    for point in st.session_state[MAPS_KEY].selection.points:
        picked = point.get("customdata")
        if isinstance(picked, list) and len(picked) == 2:
            st.session_state[CLICKED] = (int(picked[0]), int(picked[1]))
            return


def epoch_slider(lab: Lab) -> tuple[object, int]:
    """The replay slider over the run's kept epochs -> (the model with that epoch's weights, its index)."""
    states = lab.result.states if lab.result is not None else ()
    if len(states) < 2:
        return lab.model, -1
    epochs = [s.epoch for s in states]
    key = f"inside.epoch.{lab.result.steps}.{lab.result.seconds:.6f}"  # each run starts at its last epoch
    epoch = st.select_slider("Epoch (replay: drag to watch the units form)", epochs, value=epochs[-1], key=key)
    index = epochs.index(epoch)
    if index == len(states) - 1:
        return lab.model, index
    return per_model(lab.model, ("epoch", index), lambda: model_at(lab.model, states[index]), in_slot=False), index


@busy_aware
def neuron_map_view(lab: Lab, model: object, index: int) -> None:
    """Every unit's map at its place in the network, one picked unit large beside the boundary."""
    data = lab.data
    maps = per_model(lab.model, ("maps", index), lambda: neuron_maps(
        model, X=data.X_train, box=grid_box(data.X_all), resolution=40, class_names=data.class_names))
    labels = _unit_labels(maps)
    clicked = st.session_state.pop(CLICKED, None)
    if clicked in labels.values():  # a click on a small map picks its unit in the selectbox
        st.session_state[UNIT] = next(label for label, at in labels.items() if at == clicked)
    if st.session_state.get(UNIT) not in labels:
        st.session_state[UNIT] = _liveliest(maps, labels)
    chosen = st.selectbox("Unit to see large (or click a small map)", list(labels), key=UNIT)
    st.plotly_chart(plots.neuron_maps_figure(maps, max_units=MAX_UNITS, selected=labels[chosen]), key=MAPS_KEY,
                    on_select=_pick_clicked_unit, selection_mode="points")
    health = [f"{layer.name}: {layer.dead} dead, {layer.saturated} saturated" for layer in maps.layers
              if layer.role == "hidden"]
    if health:
        st.caption(" · ".join(health) + " (over the training points).")
    big, boundary = st.columns(2)
    big.plotly_chart(plots.neuron_map_figure(maps, *labels[chosen], X=data.X_train, y=data.y_train,
                                             class_names=data.class_names, units=data.units), key="inside.unit_chart")
    last = len(maps.layers) - 1
    boundary.plotly_chart(plots.neuron_map_figure(maps, last, min(1, len(maps.layers[last].values) - 1),
                                                  X=data.X_train, y=data.y_train, class_names=data.class_names,
                                                  units=data.units, title="The boundary (output)"),
                          key="inside.boundary_chart")


@busy_aware
def hidden_space_view(lab: Lab, model: object, index: int) -> None:
    """The training points as a chosen hidden layer sees them, on axes fitted once on the final model."""
    hidden = len(lab.model_config.hidden) if lab.model_config.kind == "mlp" else 0
    if not hidden:
        st.info("Logistic regression has no hidden layer: choose an MLP on the Model page to see a hidden space.")
        return
    layers = list(range(1, hidden + 1))
    if st.session_state.get(LAYER) not in layers:  # a model with fewer layers than the last one seen
        st.session_state.pop(LAYER, None)
    layer = st.selectbox("Hidden layer", layers, index=hidden - 1, key=LAYER)
    X, y = lab.data.X_train, lab.data.y_train
    projection = per_model(lab.model, ("projection", layer),
                           lambda: fit_projection(hidden_activations(lab.model, X, layer=layer)))
    final = per_model(lab.model, ("space", layer, -1), lambda: hidden_space(lab.model, X, layer=layer,
                                                                            projection=projection))
    space = per_model(lab.model, ("space", layer, index),
                      lambda: hidden_space(model, X, layer=layer, projection=projection))
    st.plotly_chart(plots.hidden_space_figure(space, y, lab.data.class_names, ranges=plots.axis_ranges(final.points)),
                    key="inside.hidden_chart")


def gradient_view(lab: Lab) -> None:
    """Per-layer gradient and weight sizes over the run, with the first layer's share in words."""
    flow = lab.result.gradients if lab.result is not None else None
    if flow is None:
        st.info("Train a model on 2-D data to record its gradient flow.")
        return
    st.plotly_chart(plots.gradient_flow_figure(flow), key="inside.flow_chart")
    ratio = flow.ratio()
    st.caption(f"The first layer's gradients were {ratio[0]:.2g}× the last layer's on average. Far below 1 (try 6 "
               "sigmoid layers) means the first layers barely learn: vanishing gradients.")


@busy_aware
def weights_view(lab: Lab) -> None:
    """The first layer's weights as tiles: 28x28 per dense unit, or each conv filter."""
    tiles = per_model(lab.model, ("tiles",), lambda: first_layer_tiles(lab.model))
    label = "filter" if tiles.kind == "conv" else "unit"
    st.plotly_chart(plots.weight_tiles_figure(tiles.tiles, unit_label=label,
                                              title=f"What the first layer learned · {tiles.layer}"),
                    key="inside.tiles_chart")
    st.caption("Blue pixels push a unit up, orange push it down: an MLP's units often look like blurry strokes, "
               "a CNN's filters like small edge detectors.")


@busy_aware
def feature_map_view(lab: Lab) -> None:
    """Every conv layer's output for one chosen test digit."""
    if lab.model_config.kind not in ("cnn", "lenet"):
        st.info("Feature maps belong to convolutional networks: choose Small CNN or LeNet-5 on the Model page.")
        return
    X = lab.data.X_test
    if st.session_state.get(DIGIT, 0) >= len(X):  # a smaller test set than the last one seen
        st.session_state.pop(DIGIT)
    i = st.number_input("Test digit number", 0, len(X) - 1, 0, key=DIGIT)
    left, right = st.columns([1, 4])
    left.plotly_chart(plots.image_grid_figure(to_pixels(X[i: i + 1, 0]), [f"#{i}"], columns=1),
                      key="inside.digit_chart")
    maps = per_model(lab.model, ("features", i), lambda: feature_maps(lab.model, X[i]))
    right.plotly_chart(plots.feature_maps_figure(maps), key="inside.feature_chart")


def _start_tsne(model: object, X: np.ndarray) -> None:
    per_model(model, ("tsne",), lambda: SlotTask(lambda: embed(model, X, method="tsne")).start(), in_slot=False)


def _tsne_task(lab: Lab, X: np.ndarray) -> SlotTask | None:
    """The t-SNE task of this model, or None with a button that starts one in the shared job slots."""
    task = lab.insight.peek(lab.model, ("tsne",))
    if task is None:
        st.button("Compute t-SNE (slower, often clearer clusters)", key="inside.tsne", on_click=_start_tsne,
                  args=(lab.model, X))
    return task


@st.fragment(run_every=1.0)
def _tsne_progress(task: SlotTask) -> None:
    if task.done:
        st.rerun()
    st.caption(f"t-SNE running for {task.elapsed:.0f} s…" if task.state == "running" else "t-SNE waiting for a slot…")


@busy_aware
def projector_view(lab: Lab) -> None:
    """The test digits by their last hidden layer (PCA at once, t-SNE on request); a click shows the digit."""
    X, y = lab.data.X_test[:MAX_EMBEDDED], lab.data.y_test[:MAX_EMBEDDED]
    task = _tsne_task(lab, X)
    if task is not None and not task.done:
        _tsne_progress(task)
    use_tsne = task is not None and task.state == "finished"
    if task is not None and task.state == "failed":
        st.error(f"t-SNE failed: {task.error}")
    embedding = task.result if use_tsne else per_model(lab.model, ("pca",), lambda: embed(lab.model, X))
    names = lab.data.class_names
    chart, detail = st.columns([3, 1])
    event = chart.plotly_chart(plots.embedding_figure(embedding.points, y, embedding.predicted, names,
                                                      method="t-SNE" if use_tsne else "PCA"),
                               key=PROJECTOR_KEY, on_select="rerun", selection_mode="points")
    points = event.selection.points if event else []
    picked = next((int(p["customdata"]) for p in points if isinstance(p.get("customdata"), int | float)), None)
    wrong = int((embedding.predicted != y).sum())
    detail.caption(f"{len(y):,} test digits, {wrong} mistakes ringed in red. Click a point to see its digit.")
    if picked is not None:
        guess = names[embedding.predicted[picked]]
        detail.plotly_chart(plots.image_grid_figure(to_pixels(X[picked: picked + 1, 0]), [f"#{picked}"], columns=1),
                            key="inside.picked_chart")
        detail.markdown(f"True **{names[y[picked]]}**, predicted **{guess}**")
        if detail.button("Open it on Predict", key="inside.open", icon=":material/arrow_forward:"):
            st.session_state[SENT] = (f"test digit #{picked}", digit_png(X[picked]))
            st.switch_page(PAGES["predict"])


METHOD_LABELS = {"integrated_gradients": "Integrated Gradients", "saliency": "Saliency (|gradient|)"}


@busy_aware
def attribution_view(lab: Lab, prepared: PreparedImage, proba: np.ndarray, raw: bytes, *, key: str) -> None:
    """'Why it said 7': which pixels of the prepared digit pushed the model towards a class (default: its guess)."""
    names = list(lab.class_names)
    best = int(np.argmax(proba))
    left, right = st.columns([1, 2])
    target = left.selectbox("Explain the class", range(len(names)), index=best, format_func=lambda c: names[c],
                            key=f"{key}.class")
    method = left.radio("Method", list(METHOD_LABELS), format_func=METHOD_LABELS.get, key=f"{key}.method")
    digest = hashlib.sha1(raw).hexdigest()
    attribution = per_model(lab.model, ("attribution", digest, target, method),
                            lambda: attribute_image(lab.model, prepared.model_input[0], target=target, method=method))
    left.caption(f"Blue pixels pushed the model towards {names[target]}, orange away from it "
                 f"(P({names[target]}) = {attribution.probability:.1%}). Saliency shows only how sensitive each "
                 "pixel is; Integrated Gradients adds up its effect from a black image to this one.")
    right.plotly_chart(plots.attribution_figure(prepared.centered, attribution.values, label=METHOD_LABELS[method],
                                                title=f"Why it said {names[best]}" if target == best
                                                else f"What speaks for {names[target]}"), key=f"{key}.chart")
