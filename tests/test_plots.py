"""Figures of core.plots: trace types, data and layout checked against values computed here, nothing rendered."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest
from sklearn.metrics import average_precision_score, confusion_matrix, precision_recall_curve, roc_auc_score, roc_curve

from core.boundary import BoundaryGrid, Snapshot, boundary_grid
from core.config import ModelConfig
from core.data.images import prepare_image
from core.data.pixels import to_pixels
from core.models import build_model, predict_proba
from core.plots import (
    CLASS_COLORS,
    activation_figure,
    boundary_figure,
    class_color,
    class_histogram_figure,
    confusion_figure,
    curves_figure,
    image_grid_figure,
    network_figure,
    pr_figure,
    probability_figure,
    roc_figure,
    scatter_figure,
    steps_figure,
    style,
)
from core.plots import points as points_module
from core.plots import replay as replay_module
from core.plots import training as training_module
from core.plots.images import MAX_STEP_SIDE
from core.plots.network import HOVER_NAME
from core.plots.points import PROBE_NAME
from core.plots.runs import runs_curves_figure
from core.plots.style import NEUTRAL, check_names
from core.training.result import EpochStats
from tests.image_corpus import draw_digit, png_bytes


@pytest.fixture(autouse=True)
def validated(monkeypatch) -> list[go.Figure]:
    """Every figure that style.figure builds without Plotly's validation, validated here as it is built: a property
    Plotly does not know, or a value of the wrong kind, fails the test that drew it. Returns the figures built."""
    built: list[go.Figure] = []

    def checked(traces, layout, frames=()) -> go.Figure:
        fig = style.figure(traces, layout, frames)
        sent = fig.to_dict()  # what the browser gets
        valid = go.Figure(sent).to_dict()  # the validation the page no longer pays for (ValueError on a bad property)
        # Plotly's shorthands ("title_text") are expanded only by validation: plotly.js ignores one sent as it is.
        assert not _paths(sent) - _paths(valid), f"shorthand keys plotly.js ignores: {_paths(sent) - _paths(valid)}"
        built.append(fig)
        return fig

    for module in (points_module, training_module, replay_module):
        monkeypatch.setattr(module, "figure", checked)
    return built


def _paths(spec: object, at: str = "") -> set[str]:
    """Every key path in a figure's dict ("layout/xaxis/title/text"), list items by position."""
    if isinstance(spec, dict):
        return set().union(*({f"{at}/{k}"} | _paths(v, f"{at}/{k}") for k, v in spec.items())) if spec else set()
    if isinstance(spec, list | tuple):
        return set().union(*(_paths(v, f"{at}[{i}]") for i, v in enumerate(spec)))
    return set()


def test_figures_built_unvalidated_are_validated_by_these_tests(validated, circles) -> None:
    grid = boundary_grid(build_model(ModelConfig(hidden=(4,), n_classes=2), seed=0), circles.X_all, resolution=16)
    boundary_figure(grid, circles.X_train, circles.y_train, circles.class_names)
    curves_figure(_history(3))
    replay_module.replay_figure([Snapshot(0, grid), Snapshot(3, grid)], _history(3), circles.X_train, circles.y_train,
                                circles.class_names)
    assert len(validated) == 3  # the hot figures went through the check, the replay's frames too
    with pytest.raises(ValueError):  # a misspelt property in a frame fails here
        replay_module.figure([], {}, [dict(name="0", data=[dict(type="heatmap", zz=[[1]])])])
    bad = style.figure([{"type": "scatter", "x": [0], "colour": "red"}], {})  # taken as it is, without complaint
    with pytest.raises(ValueError, match="colour"):
        go.Figure(bad.to_dict())
    with pytest.raises(AssertionError, match="title_text"):  # Plotly takes it; plotly.js would draw no title
        training_module.figure([], {"xaxis": {"title_text": "Epoch"}})


def test_every_colour_scale_is_the_traces_own_so_the_template_needs_none(circles, blobs) -> None:
    """The house template carries no default colour scales (style._house_template): plotly.js reads those only for a
    trace with autocolorscale, which a trace's own scale turns off. So every heatmap names its scale and every
    contour draws lines only; were one to rely on a default, it would be plotly.js's, not plotly_white's."""
    assert "colorscale" not in style.TEMPLATE_JSON["layout"]
    two = boundary_grid(build_model(ModelConfig(hidden=(4,), n_classes=2), seed=0), circles.X_all, resolution=8)
    many = boundary_grid(build_model(ModelConfig(hidden=(4,), n_classes=3), seed=0), blobs.X_all, resolution=8)
    figures = [boundary_figure(grid, discretize=d) for grid in (two, many) for d in (False, True)]
    figures += [replay_module.replay_figure([Snapshot(0, two), Snapshot(3, two)], _history(3), circles.X_train,
                                            circles.y_train, circles.class_names),
                confusion_figure(np.eye(3, dtype=int), ("a", "b", "c")),
                image_grid_figure(np.zeros((2, 4, 4)), ["a", "b"])]
    traces = [t for fig in figures for t in fig.data]  # the replay's frames change these traces' values only
    assert {t.type for t in traces} >= {"heatmap", "contour"}
    for trace in traces:
        if trace.type == "heatmap":
            assert trace.colorscale, f"heatmap {trace.name!r} has no colour scale of its own"
        elif trace.type == "contour":
            assert trace.contours.coloring == "none", f"contour {trace.name!r} is coloured by a default scale"


def _named(fig, name: str):
    """The one trace called `name`."""
    found = [trace for trace in fig.data if trace.name == name]
    assert len(found) == 1, f"expected one trace named {name!r}, got {[t.name for t in fig.data]}"
    return found[0]


def _annotation_texts(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def _title(fig) -> str:
    return fig.layout.title.text or ""


# ---------------------------------------------------------------- scatter_figure


def _points(fig: go.Figure) -> list:
    """The scatter's traces of points (not its legend entries, which hold none)."""
    return [t for t in fig.data if t.showlegend is False]


def test_scatter_draws_one_trace_per_class_and_split_with_exactly_its_points(circles) -> None:
    d = circles
    fig = scatter_figure(d.X_train, d.y_train, d.X_test, d.y_test, d.class_names)
    points = _points(fig)
    assert len(points) == 2 * len(d.class_names)  # both classes occur in both splits
    assert {t.type for t in fig.data} == {"scatter"}  # 200 points: SVG
    assert sum(len(t.x) for t in points) == len(d.X_train) + len(d.X_test)
    for c, name in enumerate(d.class_names):
        for split, X, y in (("train", d.X_train, d.y_train), ("test", d.X_test, d.y_test)):
            [trace] = [t for t in points if name in t.name and split in t.name]
            np.testing.assert_array_equal(trace.x, X[y == c, 0])
            np.testing.assert_array_equal(trace.y, X[y == c, 1])
            assert f"<b>{name} · {split}</b>" in trace.hovertemplate and trace.legendgroup == name


def test_scatter_legend_has_one_entry_per_class_and_names_the_splits_marks(blobs) -> None:
    """Six classes in three splits made 18 legend entries: now six, each hiding its class in every split, and a
    title that says which mark is which split."""
    d = blobs
    fig = scatter_figure(d.X_train, d.y_train, d.X_test, d.y_test, d.class_names, X_val=d.X_val, y_val=d.y_val)
    entries = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in entries] == list(d.class_names) and [t.legendgroup for t in entries] == list(d.class_names)
    assert [t.marker.color for t in entries] == [class_color(c) for c in range(len(d.class_names))]
    assert all(t.x == (None,) for t in entries)  # no points of their own
    assert fig.layout.legend.title.text == "● train · ◆ validation · ○ test"
    no_val = scatter_figure(d.X_train, d.y_train, d.X_test, d.y_test, d.class_names)
    assert no_val.layout.legend.title.text == "● train · ○ test"


def test_scatter_draws_train_points_filled_and_test_points_as_white_rings(blobs) -> None:
    d = blobs
    fig = scatter_figure(d.X_train, d.y_train, d.X_test, d.y_test, d.class_names)
    for c, name in enumerate(d.class_names):
        [train] = [t for t in _points(fig) if name in t.name and "train" in t.name]
        [test] = [t for t in _points(fig) if name in t.name and "test" in t.name]
        assert train.marker.color == class_color(c)
        assert test.marker.color == "white" and test.marker.line.color == class_color(c)


def test_scatter_shows_the_validation_points_as_diamonds(circles) -> None:
    d = circles
    assert len(d.y_val)  # the fixture has a validation split
    fig = scatter_figure(d.X_train, d.y_train, d.X_test, d.y_test, d.class_names, X_val=d.X_val, y_val=d.y_val)
    val = [t for t in _points(fig) if t.name.endswith(" · validation")]
    assert sum(len(t.x) for t in val) == len(d.y_val) and {t.marker.symbol for t in val} == {"diamond"}
    assert sum(len(t.x) for t in _points(fig)) == len(d.y_train) + len(d.y_val) + len(d.y_test)


def test_scatter_names_default_to_class_numbers() -> None:
    X = np.arange(8, dtype=float).reshape(4, 2)
    fig = scatter_figure(X, np.array([0, 1, 2, 1]))
    names = [t.name for t in _points(fig)]
    assert len(names) == 3 and all(str(c) in name for c, name in enumerate(names))
    assert [len(t.x) for t in _points(fig)] == [1, 2, 1]


@pytest.mark.parametrize(("n_train", "n_test", "kind"), [(600, 400, "scatter"), (600, 401, "scattergl")])
def test_scatter_switches_to_webgl_above_a_thousand_points(n_train: int, n_test: int, kind: str) -> None:
    rng = np.random.default_rng(0)
    X_train, X_test = rng.normal(size=(n_train, 2)), rng.normal(size=(n_test, 2))
    y_train, y_test = np.arange(n_train) % 2, np.arange(n_test) % 2
    fig = scatter_figure(X_train, y_train, X_test, y_test, ("a", "b"))
    assert {t.type for t in fig.data} == {kind}
    assert sum(len(t.x) for t in _points(fig)) == n_train + n_test


@pytest.mark.parametrize(("X", "y", "X_test", "y_test", "message"), [
    (np.zeros((5, 3)), np.zeros(5), None, None, r"X_train must be 2-D points of shape \(n, 2\). Got \(5, 3\)"),
    (np.zeros(10), np.zeros(5), None, None, r"shape \(n, 2\). Got \(10,\)"),
    (np.zeros((5, 2)), np.zeros(4), None, None, r"X_train has 5 points but its labels have shape \(4,\)"),
    (np.zeros((5, 2)), np.zeros(5), np.zeros((3, 2)), np.zeros(2), r"X_test has 3 points"),
])
def test_scatter_rejects_points_or_labels_of_the_wrong_shape(X, y, X_test, y_test, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        scatter_figure(X, y, X_test, y_test)


def test_scatter_refuses_fewer_class_names_than_classes(blobs) -> None:
    with pytest.raises(ValueError, match="class names"):
        scatter_figure(blobs.X_train, blobs.y_train, class_names=blobs.class_names[:2])


# ---------------------------------------------------------------- boundary_figure


def test_boundary_two_classes_shows_p_class_1_and_the_half_contour(circles) -> None:
    model = build_model(ModelConfig(hidden=(6,), n_classes=2), seed=3)
    grid = boundary_grid(model, circles.X_all, resolution=24)
    fig = boundary_figure(grid, class_names=circles.class_names)
    [heat] = [t for t in fig.data if t.type == "heatmap"]
    np.testing.assert_array_equal(heat.z, grid.proba[..., 1])
    np.testing.assert_array_equal(heat.x, grid.xs)
    np.testing.assert_array_equal(heat.y, grid.ys)
    assert (heat.zmin, heat.zmax) == (0, 1)
    [line] = [t for t in fig.data if t.type == "contour"]
    assert line.contours.start == line.contours.end == 0.5
    np.testing.assert_array_equal(line.z, grid.proba[..., 1])
    assert _title(fig) == "Decision boundary"


def test_boundary_multi_class_heatmap_encodes_class_and_confidence() -> None:
    rng = np.random.default_rng(4)
    proba = rng.dirichlet(np.full(4, 0.7), size=(9, 11)).astype(np.float32)  # (ys, xs, n_classes)
    proba[0, 0] = 0.25  # a perfect tie
    grid = BoundaryGrid(np.linspace(-2, 2, 11), np.linspace(-1, 1, 9), proba)
    fig = boundary_figure(grid)
    assert not [t for t in fig.data if t.type == "contour"]
    [heat] = [t for t in fig.data if t.type == "heatmap"]
    z = np.asarray(heat.z, dtype=float)
    predicted = proba.argmax(axis=2)
    assert len(np.unique(predicted)) == 4  # the check below covers every class
    np.testing.assert_array_equal(np.floor(z).astype(int), predicted)
    # The fraction grows with the winning probability: faint for a tie, strong when certain.
    fraction = (z - np.floor(z)).ravel()
    order = np.argsort(proba.max(axis=2).ravel(), kind="stable")
    assert np.all(np.diff(fraction[order]) >= -1e-6)
    assert fraction[order[0]] < 0.05 and fraction[order[-1]] > fraction[order[0]] + 0.3
    assert (heat.zmin, heat.zmax) == (0, 4)


def test_boundary_points_and_misclassified_marks_are_exactly_the_given_ones(blobs) -> None:
    model = build_model(ModelConfig(hidden=(6,), n_classes=3), seed=0)
    grid = boundary_grid(model, blobs.X_all, resolution=16)
    X, y = blobs.X_test, blobs.y_test
    wrong = predict_proba(model, X).argmax(axis=1) != y
    assert 0 < wrong.sum() < len(y)
    fig = boundary_figure(grid, X, y, blobs.class_names, misclassified=wrong)
    for c, name in enumerate(blobs.class_names):
        trace = _named(fig, name)
        np.testing.assert_array_equal(trace.x, X[y == c, 0])
        np.testing.assert_array_equal(trace.y, X[y == c, 1])
    [marks] = [t for t in fig.data if t.name and t.name.startswith("misclassified")]
    assert str(int(wrong.sum())) in marks.name
    np.testing.assert_array_equal(marks.x, X[wrong, 0])
    np.testing.assert_array_equal(marks.y, X[wrong, 1])
    # Without the mask there are no mistake marks.
    plain = boundary_figure(grid, X, y, blobs.class_names)
    assert not [t for t in plain.data if t.name and t.name.startswith("misclassified")]


def test_boundary_discretized_colours_only_the_decision_and_still_tells_the_probability(circles) -> None:
    model = build_model(ModelConfig(hidden=(6,), n_classes=2), seed=3)
    grid = boundary_grid(model, circles.X_all, resolution=24)
    p1 = grid.proba[..., 1]
    assert 0 < (p1 >= 0.5).mean() < 1  # both sides of the line are on the plane
    [heat] = [t for t in boundary_figure(grid, discretize=True).data if t.type == "heatmap"]
    np.testing.assert_array_equal(heat.z, p1 >= 0.5)  # 0 or 1: each side in its class's full colour
    np.testing.assert_allclose(np.asarray(heat.customdata, dtype=float), p1, atol=1e-6)
    assert "customdata" in heat.hovertemplate and heat.showscale is False and heat.zsmooth is False
    [line] = [t for t in boundary_figure(grid, discretize=True).data if t.type == "contour"]
    np.testing.assert_array_equal(line.z, p1)  # the line stays where P = 0.5
    proba = np.random.default_rng(5).dirichlet(np.ones(3), size=(6, 7))
    [multi] = [t for t in boundary_figure(BoundaryGrid(np.arange(7.0), np.arange(6.0), proba), discretize=True).data
               if t.type == "heatmap"]
    z = np.asarray(multi.z, dtype=float)
    np.testing.assert_array_equal(np.floor(z), proba.argmax(axis=2))
    np.testing.assert_allclose(z - np.floor(z), 0.99, atol=1e-6)  # every cell at full strength, ties or not


def test_boundary_test_points_are_an_optional_trace_of_rings_per_class(circles) -> None:
    model = build_model(ModelConfig(hidden=(6,), n_classes=2), seed=3)
    grid = boundary_grid(model, circles.X_all, resolution=12)
    names = circles.class_names
    plain = boundary_figure(grid, circles.X_train, circles.y_train, names)
    fig = boundary_figure(grid, circles.X_train, circles.y_train, names, X_test=circles.X_test,
                          y_test=circles.y_test)
    assert len(fig.data) == len(plain.data) + 2 and not any("test" in (t.name or "") for t in plain.data)
    for c, name in enumerate(names):
        rings = _named(fig, f"{name} · test")
        np.testing.assert_array_equal(rings.x, circles.X_test[circles.y_test == c, 0])
        np.testing.assert_array_equal(rings.y, circles.X_test[circles.y_test == c, 1])
        assert rings.marker.color == "white" and rings.marker.line.color == class_color(c)  # hollow, class-edged
        np.testing.assert_array_equal(_named(fig, name).x, circles.X_train[circles.y_train == c, 0])
    with pytest.raises(ValueError, match="X_test has 3 points"):
        boundary_figure(grid, X_test=np.zeros((3, 2)), y_test=np.zeros(2))


def test_boundary_axes_cover_the_whole_grid() -> None:
    xs, ys = np.linspace(-3.0, 1.0, 9), np.linspace(2.0, 5.0, 4)  # cells 0.5 wide, 1.0 tall
    grid = BoundaryGrid(xs, ys, np.full((4, 9, 2), 0.5))
    fig = boundary_figure(grid, np.array([[-3.0, 2.0], [1.0, 5.0]]), np.array([0, 1]))
    (x_lo, x_hi), (y_lo, y_hi) = fig.layout.xaxis.range, fig.layout.yaxis.range
    assert x_lo <= xs[0] and x_hi >= xs[-1] and y_lo <= ys[0] and y_hi >= ys[-1]
    # ... and no more than a cell beyond it.
    assert xs[0] - x_lo <= 0.5 and x_hi - xs[-1] <= 0.5 and ys[0] - y_lo <= 1.0 and y_hi - ys[-1] <= 1.0


@pytest.mark.parametrize(("grid_shape", "X", "kwargs", "message"), [
    ((4, 5, 2), np.zeros((6, 2)), dict(misclassified=np.zeros(5, dtype=bool)), r"misclassified must be a mask"),
    ((5, 4, 2), None, {}, r"grid.proba must have shape \(4, 5"),
    ((4, 5), None, {}, r"grid.proba must have shape"),
    ((4, 5, 1), None, {}, r"grid.proba must have shape"),
    ((4, 5, 2), None, dict(class_names=("a", "b", "c")), r"2 classes but 3 class names"),
    ((4, 5, 2), np.zeros((6, 3)), {}, r"shape \(n, 2\)"),
])
def test_boundary_rejects_mismatched_inputs(grid_shape, X, kwargs, message: str) -> None:
    grid = BoundaryGrid(np.linspace(0, 1, 5), np.linspace(0, 1, 4), np.full(grid_shape, 0.5))
    y = None if X is None else np.zeros(len(X), dtype=int)
    with pytest.raises(ValueError, match=message):
        boundary_figure(grid, X, y, **kwargs)


def test_boundary_refuses_labels_the_grid_does_not_have() -> None:
    grid = BoundaryGrid(np.linspace(0, 1, 5), np.linspace(0, 1, 4), np.full((4, 5, 2), 0.5))
    with pytest.raises(ValueError, match="label"):
        boundary_figure(grid, np.zeros((3, 2)), np.array([0, 1, 2]))


# ---------------------------------------------------------------- curves_figure


def _history(n: int = 4) -> list[EpochStats]:
    rng = np.random.default_rng(7)
    return [EpochStats(epoch=e, train_loss=float(l1), train_acc=float(a1), val_loss=float(l2), val_acc=float(a2),
                       lr=1e-3, seconds=0.1, steps=10 * e)
            for e, (l1, a1, l2, a2) in enumerate(rng.random((n, 4)), start=1)]


def test_curves_show_loss_and_accuracy_for_train_and_validation() -> None:
    history = _history()
    fig = curves_figure(history)
    assert len(fig.data) == 4 and {t.type for t in fig.data} == {"scatter"}
    texts = _annotation_texts(fig)
    assert "Loss" in texts[0] and "Accuracy" in texts[1]  # subplot titles, left to right
    panels = {"x": ("train_loss", "val_loss"), "x2": ("train_acc", "val_acc")}
    for axis, fields in panels.items():
        traces = [t for t in fig.data if t.xaxis == axis]
        assert [t.name for t in traces] == ["train", "validation"]
        for trace, field in zip(traces, fields):
            np.testing.assert_array_equal(trace.x, [s.epoch for s in history])
            np.testing.assert_allclose(trace.y, [getattr(s, field) for s in history])


@pytest.mark.parametrize(("metric", "fields"), [("loss", ("train_loss", "val_loss")),
                                                 ("accuracy", ("train_acc", "val_acc"))])
def test_curves_with_one_metric_draw_one_panel(metric: str, fields: tuple[str, str]) -> None:
    history = _history(3)
    fig = curves_figure(history, metric=metric)
    assert [t.name for t in fig.data] == ["train", "validation"]
    assert {t.xaxis for t in fig.data} == {"x"} and "xaxis2" not in fig.layout
    for trace, field in zip(fig.data, fields):
        np.testing.assert_allclose(trace.y, [getattr(s, field) for s in history])


def test_curves_of_an_empty_history_show_a_hint() -> None:
    fig = curves_figure([])
    assert all(len(t.y) == 0 for t in fig.data)
    hints = [a for a in fig.layout.annotations if a.text == "After the first epoch"]
    # One per subplot, each in the middle of its own plot area (not on the axis titles between them).
    assert sorted(a.xref for a in hints) == ["x domain", "x2 domain"] and all(a.x == 0.5 for a in hints)
    assert not any("first epoch" in text for text in _annotation_texts(curves_figure(_history(2))))


def test_curves_mark_the_epoch_whose_weights_the_run_kept() -> None:
    """Early stopping went back to epoch 2 of 4: a dotted line on each panel there, named once in the legend (QA: a
    label on the plot widened the loss panel's epoch axis to -5 to fit it); none when the run kept its last epoch."""
    history = _history(4)
    fig = curves_figure(history, kept_epoch=2)
    assert sorted((s.xref, s.x0, s.x1, s.yref) for s in fig.layout.shapes) == [
        ("x", 2, 2, "y domain"), ("x2", 2, 2, "y2 domain")]
    [key] = [t for t in fig.data if t.name == "kept: epoch 2"]
    assert key.x == (None,) and key.line.dash == "dot" and key.showlegend is not False  # a legend entry, no data
    assert not fig.layout.annotations or not any("kept" in t for t in _annotation_texts(fig))  # nothing on the plot
    assert len(curves_figure(history, kept_epoch=2, metric="loss").layout.shapes) == 1
    for unmarked in (curves_figure(history, kept_epoch=4), curves_figure(history), curves_figure([], kept_epoch=2)):
        assert not unmarked.layout.shapes and not any("kept" in (t.name or "") for t in unmarked.data)


@pytest.mark.parametrize(("epochs", "dtick"), [(1, 1), (3, 1), (10, 1), (11, None), (400, None)])
def test_epoch_axes_tick_whole_epochs(epochs: int, dtick: int | None) -> None:
    """QA: a 3-epoch CNN run's curves were ticked 1, 1.5, 2, 2.5, 3; over a short run every epoch is a tick."""
    fig = curves_figure(_history(epochs))
    assert (fig.layout.xaxis.dtick, fig.layout.xaxis2.dtick) == (dtick, dtick)
    arrays = {k: np.linspace(0.1, 1, epochs) for k in ("train_loss", "val_loss", "train_acc", "val_acc")}
    runs = runs_curves_figure([("#1", {"epoch": np.arange(1, epochs + 1, dtype=float), **arrays})])
    assert (runs.layout.xaxis.dtick, runs.layout.xaxis2.dtick) == (dtick, dtick)


def test_the_curves_legend_hangs_under_the_title_clear_of_the_toolbar_and_the_panel_titles() -> None:
    """QA at 1024 px: on the title's line at the right, the legend lay under Plotly's toolbar. In the house place,
    left under the title, the top margin keeps a line for the panels' titles under it."""
    fig = curves_figure(_history(5))
    assert (fig.layout.legend.yref, fig.layout.legend.x, fig.layout.legend.xanchor) == ("container", 0, "left")
    legend_bottom = (1 - fig.layout.legend.y) * fig.layout.height + 29  # px: one row, as Chromium draws it
    assert legend_bottom + 22 <= fig.layout.margin.t  # the panels' titles (16 px) stand on the plots' top


def test_curves_reject_an_unknown_metric() -> None:
    with pytest.raises(ValueError, match="metric must be one of loss, accuracy.*Got 'f1'"):
        curves_figure(_history(), metric="f1")


# ---------------------------------------------------------------- metrics


def _labels(n: int = 60, n_classes: int = 4, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, n_classes, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, n_classes, n))
    return y_true, y_pred


def test_confusion_figure_shows_the_counts_under_class_name_ticks() -> None:
    names = ["7", "1", "cat", "dog"]  # '7' and '1' must stay labels, not become numbers
    matrix = confusion_matrix(*_labels(), labels=range(4))
    fig = confusion_figure(matrix, names)
    [heat] = fig.data
    assert heat.type == "heatmap"
    np.testing.assert_array_equal(heat.z, matrix)
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        assert list(axis.ticktext) == names and list(axis.tickvals) == [0, 1, 2, 3]
    assert fig.layout.yaxis.autorange == "reversed"  # true class 0 at the top
    cells = {(a.y, a.x): a.text for a in fig.layout.annotations}
    assert cells == {(i, j): str(matrix[i, j]) for i in range(4) for j in range(4)}


def test_confusion_figure_normalised_shows_row_fractions() -> None:
    matrix = confusion_matrix(*_labels(), labels=range(4))
    share = matrix / matrix.sum(axis=1, keepdims=True)
    fig = confusion_figure(share, ("a", "b", "c", "d"), normalized=True)
    np.testing.assert_allclose(fig.data[0].z, share)
    assert fig.data[0].zmax == 1
    for a in fig.layout.annotations:
        assert a.text.endswith("%")
        assert float(a.text[:-1]) == pytest.approx(100 * share[a.y, a.x], abs=0.5)
    counts = confusion_figure(matrix, ("a", "b", "c", "d"))
    assert counts.data[0].zmax == matrix.max() and not any(a.text.endswith("%") for a in counts.layout.annotations)


def test_confusion_figure_labels_every_cell_in_one_layout_update(monkeypatch) -> None:
    """Adding the 100 labels of a 10 x 10 matrix one by one re-validated the list each time (~0.6 s a figure)."""
    import plotly.graph_objects as go

    def one_at_a_time(*args, **kwargs):
        raise AssertionError("confusion_figure must not add its cell labels one at a time")

    monkeypatch.setattr(go.Figure, "add_annotation", one_at_a_time)
    matrix = np.arange(100).reshape(10, 10)
    fig = confusion_figure(matrix, [str(c) for c in range(10)])
    cells = {(a.y, a.x): a.text for a in fig.layout.annotations}
    assert cells == {(i, j): str(matrix[i, j]) for i in range(10) for j in range(10)}
    colours = {(a.y, a.x): a.font.color for a in fig.layout.annotations}
    assert colours[(9, 9)] == "white" and colours[(0, 0)] != "white"  # dark cells get white text


def test_confusion_figure_rejects_bad_shapes_and_names() -> None:
    with pytest.raises(ValueError, match=r"must be square.*Got \(2, 3\)"):
        confusion_figure(np.zeros((2, 3)), ("a", "b"))
    with pytest.raises(ValueError, match="3 classes but 2 class names"):
        confusion_figure(np.eye(3), ("a", "b"))


def _scores(seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 80)
    return y, y * 0.8 + rng.normal(scale=0.6, size=80)


def test_roc_figure_draws_the_curve_with_its_auc_and_the_chance_line() -> None:
    y, score = _scores()
    fpr, tpr, _ = roc_curve(y, score)
    auc = roc_auc_score(y, score)
    fig = roc_figure(fpr, tpr, auc)
    [model] = [t for t in fig.data if len(t.x) == len(fpr)]
    np.testing.assert_array_equal(model.x, fpr)
    np.testing.assert_array_equal(model.y, tpr)
    assert f"{auc:.3f}" in _title(fig) and f"{auc:.3f}" in model.name
    assert any(list(t.x) == [0, 1] and list(t.y) == [0, 1] for t in fig.data)  # chance diagonal
    assert fig.layout.xaxis.range[0] <= 0 and fig.layout.xaxis.range[1] >= 1


def test_pr_figure_draws_the_curve_with_its_ap_and_an_optional_chance_level() -> None:
    y, score = _scores(3)
    precision, recall, _ = precision_recall_curve(y, score)
    ap = average_precision_score(y, score)
    fig = pr_figure(recall, precision, ap)
    [model] = fig.data
    np.testing.assert_array_equal(model.x, recall)
    np.testing.assert_array_equal(model.y, precision)
    assert f"{ap:.3f}" in _title(fig) and f"{ap:.3f}" in model.name
    prevalence = float(y.mean())
    with_chance = pr_figure(recall, precision, ap, prevalence=prevalence)
    assert len(with_chance.data) == 2
    [chance] = [t for t in with_chance.data if len(t.x) == 2]
    assert list(chance.x) == [0, 1] and list(chance.y) == [prevalence, prevalence]


def test_probability_figure_bars_equal_the_probabilities_with_the_winner_highlighted() -> None:
    proba = np.array([0.1, 0.05, 0.6, 0.25])
    names = ("a", "b", "c", "d")
    fig = probability_figure(proba, names, true_label=3)
    [bars] = fig.data
    assert bars.type == "bar" and bars.orientation == "h"
    np.testing.assert_array_equal(bars.x, proba)
    colors = list(bars.marker.color)
    assert colors[2] == class_color(2)
    assert len({colors[i] for i in (0, 1, 3)}) == 1 and colors[0] != colors[2]  # the losers share one grey
    ticks = list(fig.layout.yaxis.ticktext)
    assert ticks[:3] == ["a", "b", "c"] and ticks[3] != "d" and ticks[3].startswith("d")  # the true class marked
    outline = list(bars.marker.line.color)
    assert outline[3] != outline[0] and len(set(outline[:3])) == 1
    plain = probability_figure(proba, names)
    assert list(plain.layout.yaxis.ticktext) == list(names)


def test_probability_figure_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"shape \(n_classes,\). Got \(2, 2\)"):
        probability_figure(np.full((2, 2), 0.5), ("a", "b"))
    with pytest.raises(ValueError, match="3 classes but 2 class names"):
        probability_figure(np.full(3, 1 / 3), ("a", "b"))


def test_class_histogram_bars_count_each_class_per_split() -> None:
    rng = np.random.default_rng(8)
    names = ("zero", "one", "two", "three")
    y_train, y_test = rng.integers(0, 4, 50), rng.integers(0, 3, 20)  # no 'three' in the test split
    fig = class_histogram_figure(y_train, names, y_test)
    assert [t.type for t in fig.data] == ["bar", "bar"]
    np.testing.assert_array_equal(_named(fig, "train").y, np.bincount(y_train, minlength=4))
    np.testing.assert_array_equal(_named(fig, "test").y, np.bincount(y_test, minlength=4))
    assert list(fig.layout.xaxis.ticktext) == list(names)
    only_train = class_histogram_figure(y_train, names)
    assert len(only_train.data) == 1
    np.testing.assert_array_equal(only_train.data[0].y, np.bincount(y_train, minlength=4))


def test_class_histogram_rejects_labels_without_a_name() -> None:
    with pytest.raises(ValueError, match=r"y_train holds labels 0\.\.4, but only labels 0\.\.3 have class names"):
        class_histogram_figure(np.array([0, 4, 1]), ("a", "b", "c", "d"))
    with pytest.raises(ValueError, match="y_test"):
        class_histogram_figure(np.array([0, 1]), ("a", "b"), np.array([2]))


def test_class_histogram_error_names_a_negative_label() -> None:
    with pytest.raises(ValueError, match="-1"):
        class_histogram_figure(np.array([-1, 0, 1]), ("a", "b"))


# ---------------------------------------------------------------- images


def _tile_origins(canvas: np.ndarray, image: np.ndarray) -> list[tuple[int, int]]:
    """Every (row, column) where `image` sits in `canvas` pixel for pixel."""
    windows = np.lib.stride_tricks.sliding_window_view(canvas, image.shape)
    hits = np.isclose(windows, image, atol=1e-6).all(axis=(2, 3))  # NaN (gaps) never matches
    return [tuple(int(v) for v in hit) for hit in np.argwhere(hits)]


def test_image_grid_puts_each_image_in_its_tile_row_by_row() -> None:
    rng = np.random.default_rng(9)
    images = rng.random((7, 5, 4))  # not square: rows and columns must not be swapped
    titles = [f"#{k}" for k in range(7)]
    fig = image_grid_figure(images, titles, columns=3)
    [heat] = fig.data
    assert heat.type == "heatmap"
    canvas = np.asarray(heat.z, dtype=float)
    assert np.count_nonzero(~np.isnan(canvas)) == images.size  # nothing but the images is drawn
    origins = []
    for image in images:
        found = _tile_origins(canvas, image)
        assert len(found) == 1
        origins.append(found[0])
    tops = sorted({r for r, _ in origins})
    lefts = sorted({c for _, c in origins})
    assert len(tops) == 3 and len(lefts) == 3
    for k, (top, left) in enumerate(origins):
        assert (top, left) == (tops[k // 3], lefts[k % 3])
    # One caption per image, above its own tile.
    captions = list(fig.layout.annotations)
    assert [a.text for a in captions] == titles
    for a, (top, left) in zip(captions, origins):
        assert left <= a.x <= left + 3 and top - 5 < a.y < top


def test_image_grid_scales_uint8_digits_to_unit_range(digits) -> None:
    pixels = (to_pixels(digits.X_train[:4, 0]) * 255).round().astype(np.uint8)
    fig = image_grid_figure(pixels, [digits.class_names[c] for c in digits.y_train[:4]])
    canvas = np.asarray(fig.data[0].z, dtype=float)
    assert np.nanmax(canvas) <= 1.0
    for image in pixels:
        assert _tile_origins(canvas, image / 255.0)


def test_image_grid_checks_titles_and_survives_no_images() -> None:
    with pytest.raises(ValueError, match="Got 2 images but 1 titles"):
        image_grid_figure(np.zeros((2, 4, 4)), ["only one"])
    with pytest.raises(ValueError, match=r"\(n, h, w\)"):
        image_grid_figure(np.zeros((4, 4)), ["a"] * 4)
    empty = image_grid_figure(np.zeros((0, 28, 28)), [])
    assert len(empty.data) == 0 and _annotation_texts(empty) == ["No images to show"]


def test_steps_figure_shows_each_prepared_step_in_its_own_panel() -> None:
    prepared = prepare_image(png_bytes(draw_digit("7")))
    steps = prepared.steps
    fig = steps_figure(steps)
    assert [t.type for t in fig.data] == ["image"] * len(steps)
    assert len({t.xaxis for t in fig.data}) == len(steps)  # one panel each
    assert [text.replace("<br>", " ") for text in _annotation_texts(fig)] == [name for name, _ in steps]  # titles
    for trace, (_, image) in zip(fig.data, steps):
        z = np.asarray(trace.z).astype(int)
        stride = int(trace.dx)
        if image.ndim == 3:  # the uploaded RGB, as it is
            np.testing.assert_array_equal(z, image[::stride, ::stride])
        else:  # grayscale [0, 1] -> grey RGB
            expected = np.clip(image[::stride, ::stride], 0, 1) * 255
            assert np.abs(z - expected[..., None]).max() <= 1


def test_steps_figure_thins_large_images_and_rejects_odd_ones() -> None:
    image = np.random.default_rng(10).random((500, 300))
    [trace] = steps_figure([("big", image)]).data
    stride = int(trace.dx)
    assert stride > 1 and trace.dy == trace.dx  # shown in the original pixel coordinates
    z = np.asarray(trace.z)
    assert z.shape == (math.ceil(500 / stride), math.ceil(300 / stride), 3) and max(z.shape) <= MAX_STEP_SIDE
    assert np.abs(z[..., 0].astype(int) - image[::stride, ::stride] * 255).max() <= 1
    with pytest.raises(ValueError, match=r"Got shape \(8, 8, 4\)"):
        steps_figure([("rgba", np.zeros((8, 8, 4), dtype=np.uint8))])
    empty = steps_figure([])
    assert len(empty.data) == 0 and _annotation_texts(empty) == ["No image yet"]


def test_steps_figure_keeps_each_step_at_its_own_aspect_ratio_inside_its_panel() -> None:
    # A tall crop (a thin "1"), square steps and a very wide strip: none may spill out of its panel.
    prepared = prepare_image(png_bytes(draw_digit("1", size=(300, 300), box=(140, 40, 160, 260), stroke=12)))
    steps = prepared.steps + [("wide", np.zeros((10, 400)))]
    fig = steps_figure(steps)
    panels = []
    for trace, (name, image), title in zip(fig.data, steps, fig.layout.annotations):
        x = fig.layout[trace.xaxis.replace("x", "xaxis")]
        y = fig.layout[trace.yaxis.replace("y", "yaxis")]
        stride = trace.dx
        height, width = (math.ceil(side / stride) * stride for side in image.shape[:2])
        # The axes span exactly the image (no autorange padding), y reversed as images are stored ...
        assert tuple(x.range) == (-stride / 2, width - stride / 2) and x.autorange is False, name
        assert tuple(y.range) == (height - stride / 2, -stride / 2) and y.autorange is False, name
        # ... one x unit is drawn as long as one y unit, so the picture keeps its own aspect ratio ...
        assert (y.scaleanchor, y.scaleratio) == (trace.xaxis, 1), name
        # ... and Plotly meets that by narrowing the panel's domain, never by widening a range past the image.
        assert x.constrain == y.constrain == "domain", name
        frame = [s for s in fig.layout.shapes if (s.xref, s.yref) == (trace.xaxis, trace.yaxis)]
        assert [(f.x0, f.x1, f.y0, f.y1) for f in frame] == [(x.range[0], x.range[1], y.range[1], y.range[0])], name
        assert title.text.replace("<br>", " ") == name and title.y >= y.domain[1]
        assert x.domain[0] <= title.x <= x.domain[1], name
        panels.append((x.domain, y.domain))
    assert len(steps) == 7 and max(y[1] for _, y in panels) <= 1 and min(y[0] for _, y in panels) >= 0
    for k, (xa, ya) in enumerate(panels):  # no two panels share any area
        for xb, yb in panels[k + 1:]:
            assert xa[1] <= xb[0] or xb[1] <= xa[0] or ya[1] <= yb[0] or yb[1] <= ya[0]


# ---------------------------------------------------------------- network


def _edges(fig) -> list[tuple[object, tuple[str, str]]]:
    """(trace, (from-unit label, to-unit label)) for every drawn edge, units named by their hover text."""
    nodes = _named(fig, "units")
    label = {(x, y): text for x, y, text in zip(nodes.x, nodes.y, nodes.customdata)}
    edges = []
    for trace in fig.data:
        if trace is nodes or trace.name == HOVER_NAME:
            continue
        xs, ys = list(trace.x), list(trace.y)
        assert len(xs) % 3 == 0 and xs[2::3] == [None] * (len(xs) // 3)  # (start, end, break) triples
        edges += [(trace, (label[xs[k], ys[k]], label[xs[k + 1], ys[k + 1]])) for k in range(0, len(xs), 3)]
    return edges


def _unit(text: str) -> int:
    """'hidden 1: unit 3' -> 2, 'output: class 4' -> 4."""
    number = int(text.rsplit(" ", 1)[1])
    return number if text.startswith("output") else number - 1


def test_network_draws_each_layer_and_neutral_edges_before_training() -> None:
    fig = network_figure([2, 5, 3], class_names=("cat", "dog", "eel"))
    nodes = _named(fig, "units")
    assert [list(nodes.x).count(i) for i in range(3)] == [2, 5, 3]
    assert [t for t in nodes.text if t][-3:] == ["cat", "dog", "eel"]  # outputs labelled with class names
    edges = _edges(fig)
    assert len(edges) == 2 * 5 + 5 * 3 and len(set(pair for _, pair in edges)) == len(edges)
    assert {trace.line.color for trace, _ in edges} == {NEUTRAL}
    assert not any("weight" in (t.name or "") for t in fig.data)
    assert any("Input" in text for text in _annotation_texts(fig))
    assert any("Output" in text for text in _annotation_texts(fig))


def test_network_edges_follow_the_sign_and_size_of_their_weight() -> None:
    rng = np.random.default_rng(11)
    values = rng.permutation(np.arange(1, 21)) * rng.choice([-1.0, 1.0], 20) / 20  # 20 distinct |w|
    weights = [values[:12].reshape(4, 3), values[12:].reshape(2, 4)]
    fig = network_figure([3, 4, 2], weights)
    edges = _edges(fig)
    assert len(edges) == 20 and len(set(pair for _, pair in edges)) == 20
    layer = {"input": 0, "hidden 1": 1}
    colours: dict[str, set] = {"positive weight": set(), "negative weight": set()}
    by_size = []
    for trace, (src, dst) in edges:
        w = weights[layer[src.split(":")[0]]][_unit(dst), _unit(src)]
        assert trace.name == ("positive weight" if w >= 0 else "negative weight")
        colours[trace.name].add(trace.line.color)
        by_size.append((abs(w), trace.line.width))
    assert all(len(c) == 1 for c in colours.values()) and colours["positive weight"] != colours["negative weight"]
    widths = [width for _, width in sorted(by_size)]
    assert widths == sorted(widths) and widths[-1] > widths[0]  # heavier weight, thicker edge


def test_network_summarises_a_large_layer_keeping_its_first_and_last_units() -> None:
    rng = np.random.default_rng(12)
    signs = np.where(np.add.outer(np.arange(3), np.arange(784)) % 2 == 0, 1.0, -1.0)  # (out, in) checkerboard
    weights = [signs * rng.uniform(0.1, 1.0, (3, 784)), rng.normal(size=(10, 3))]
    fig = network_figure([784, 3, 10], weights, max_nodes=16)
    nodes = _named(fig, "units")
    assert [list(nodes.x).count(i) for i in range(3)] == [16, 3, 10]
    inputs = sorted(_unit(text) for x, text in zip(nodes.x, nodes.customdata) if x == 0)
    assert inputs == [*range(8), *range(776, 784)]
    assert "⋮" in _annotation_texts(fig) and any("784" in text for text in _annotation_texts(fig))
    edges = _edges(fig)
    assert len(edges) == 16 * 3 + 3 * 10
    for trace, (src, dst) in edges:
        if src.startswith("input"):  # the drawn edges carry the weights of the units they join
            assert trace.name == ("positive weight" if signs[_unit(dst), _unit(src)] > 0 else "negative weight")


def test_network_tells_each_drawn_weight_at_its_edges_midpoint_and_each_bias_at_its_unit() -> None:
    rng = np.random.default_rng(13)
    weights = [rng.normal(size=(4, 3)), rng.normal(size=(2, 4))]
    biases = [rng.normal(size=4), rng.normal(size=2)]
    fig = network_figure([3, 4, 2], weights, biases=biases, class_names=("cat", "dog"))
    nodes, hover = _named(fig, "units"), _named(fig, HOVER_NAME)
    assert hover.marker.color == "rgba(0,0,0,0)" and "%{hovertext}" in hover.hovertemplate  # invisible, hoverable
    at = {(x, y): name for x, y, name in zip(nodes.x, nodes.y, nodes.customdata)}
    found = {edge: (x, y, value) for x, y, text in zip(hover.x, hover.y, hover.hovertext)
             for edge, value in _hover_edges(text)}
    assert len(found) == 3 * 4 + 4 * 2  # every edge once, even where two cross at one midpoint
    for (src, dst), (x, y, value) in found.items():
        (xa, ya), (xb, yb) = (next(p for p, n in at.items() if n == name) for name in (src, dst))
        assert (x, y) == pytest.approx(((xa + xb) / 2, (ya + yb) / 2))  # the midpoint of the edge it tells
        w = weights[0 if src.startswith("input") else 1]
        assert value == pytest.approx(w[_class_or_unit(dst), _unit(src)], rel=1e-3)  # shown to 4 digits
    hovers = dict(zip(nodes.customdata, nodes.hovertext))
    assert hovers["hidden 1: unit 3"].endswith(f"bias = {biases[0][2]:.4g}")
    assert hovers["output: dog"].endswith(f"bias = {biases[1][1]:.4g}") and "bias" not in hovers["input: unit 1"]
    assert not any(t.name == HOVER_NAME for t in network_figure([3, 4, 2]).data)  # untrained: nothing to tell


def _hover_edges(text: str) -> list[tuple[tuple[str, str], float]]:
    """'input: x → hidden 1: unit 2<br>weight = 0.5<br>...' -> [(('input: x', 'hidden 1: unit 2'), 0.5), ...]."""
    parts = text.split("<br>")
    return [(tuple(parts[k].split(" → ")), float(parts[k + 1].removeprefix("weight = ")))
            for k in range(0, len(parts), 2)]


def _class_or_unit(name: str) -> int:
    """'hidden 1: unit 3' -> 2; 'output: dog' -> 1 (of cat, dog)."""
    return ("cat", "dog").index(name.split(": ")[1]) if name.startswith("output") else _unit(name)


def test_network_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least an input and an output"):
        network_figure([4])
    with pytest.raises(ValueError, match="at least an input and an output"):
        network_figure([4, 0, 2])
    with pytest.raises(ValueError, match=r"shapes \[\(3, 4\), \(2, 3\)\].*Got \[\(4, 3\), \(2, 3\)\]"):
        network_figure([4, 3, 2], [np.zeros((4, 3)), np.zeros((2, 3))])
    with pytest.raises(ValueError, match="max_nodes must be at least 2"):
        network_figure([4, 2], max_nodes=1)


def test_activation_figure_draws_every_function_with_the_chosen_one_on_top() -> None:
    x = np.linspace(-3, 3, 61)
    curves = {"relu": np.maximum(x, 0), "tanh": np.tanh(x), "sigmoid": 1 / (1 + np.exp(-x))}
    fig = activation_figure(list(curves), "tanh", x, curves)
    assert sorted(t.name for t in fig.data) == sorted(curves)
    for trace in fig.data:
        np.testing.assert_array_equal(trace.x, x)
        np.testing.assert_array_equal(trace.y, curves[trace.name])
    *others, chosen = fig.data
    assert chosen.name == "tanh"  # drawn last, so on top
    assert all(chosen.line.width > t.line.width and chosen.opacity > t.opacity for t in others)
    assert "tanh" in _title(fig)


def test_activation_figure_rejects_bad_arguments() -> None:
    x = np.linspace(-1, 1, 5)
    with pytest.raises(ValueError, match="selected must be one of relu, tanh. Got 'gelu'"):
        activation_figure(["relu", "tanh"], "gelu", x, {"relu": x, "tanh": x})
    with pytest.raises(ValueError, match=r"curves\['tanh'\]"):
        activation_figure(["relu", "tanh"], "relu", x, {"relu": x})
    with pytest.raises(ValueError, match=r"curves\['relu'\].*shape \(5,\)"):
        activation_figure(["relu"], "relu", x, {"relu": x[:4]})


# ---------------------------------------------------------------- style


def test_class_color_gives_ten_distinct_colours_then_cycles() -> None:
    first_ten = [class_color(c) for c in range(10)]
    assert first_ten == list(CLASS_COLORS) and len(set(first_ten)) == 10
    assert [class_color(c) for c in range(10, 23)] == [first_ten[c % 10] for c in range(10, 23)]
    assert class_color(np.int64(12)) == class_color(2)


def test_check_names_returns_strings_or_explains_the_mismatch() -> None:
    assert check_names((7, "b"), 2, "proba") == ["7", "b"]
    with pytest.raises(ValueError, match="proba has 3 classes but 2 class names were given"):
        check_names(("a", "b"), 3, "proba")


def test_boundary_probe_grid_is_an_invisible_clickable_lattice_over_the_grid(circles) -> None:
    grid = boundary_grid(build_model(ModelConfig(hidden=(6,)), seed=3), circles.X_all, resolution=24)
    fig = boundary_figure(grid, circles.X_test, circles.y_test, circles.class_names, probe_grid=5)
    probe = fig.data[-1]
    assert probe.name == PROBE_NAME and probe.type == "scatter" and len(probe.x) == 25
    assert sorted(set(np.round(probe.x, 5))) == list(np.round(np.linspace(grid.xs[0], grid.xs[-1], 5), 5))
    assert sorted(set(np.round(probe.y, 5))) == list(np.round(np.linspace(grid.ys[0], grid.ys[-1], 5), 5))
    assert probe.marker.color == "rgba(0,0,0,0)" and probe.showlegend is False  # invisible, yet hoverable
    # A click selects one probe point: the data points must not fade as "unselected" ones do by default.
    for trace in fig.data[:-1]:
        if trace.type.startswith("scatter"):
            assert trace.unselected.marker.opacity == 1
    assert PROBE_NAME not in [t.name for t in boundary_figure(grid).data]  # off by default


@pytest.mark.parametrize("bad", [1, -3])
def test_boundary_probe_grid_needs_two_points_a_side(bad: int) -> None:
    grid = BoundaryGrid(np.linspace(0, 1, 5), np.linspace(0, 1, 4), np.full((4, 5, 2), 0.5))
    with pytest.raises(ValueError, match="probe_grid must be 0"):
        boundary_figure(grid, probe_grid=bad)


def test_network_with_a_nan_weight_still_draws_every_other_edge() -> None:
    weights = [np.array([[0.5, -0.2], [np.nan, 1.0], [0.3, -0.7]])]  # (3 out, 2 in): one NaN among six
    fig = network_figure([2, 3], weights)
    edges = [t for t in fig.data if t.mode == "lines"]
    assert [len(t.x) // 3 for t in edges if t.name == "not a number"] == [1]  # one segment: x0, x1, gap
    assert sum(len(t.x) // 3 for t in edges if t.name.endswith("weight")) == 5  # the five finite weights


def test_replay_has_one_frame_per_snapshot_with_play_pause_and_a_slider(circles) -> None:
    from core.boundary import Snapshot, boundary_grid, grid_box
    from core.plots import replay_figure
    from core.training.result import EpochStats

    model = build_model(ModelConfig(hidden=(4,)), seed=0)
    box = grid_box(circles.X_all)
    snapshots = [Snapshot(e, boundary_grid(model, box=box, resolution=12)) for e in range(4)]
    history = [EpochStats(e, 1.0 / e, 0.5, 1.2 / e, 0.5 + 0.1 * e, 0.03, 0.001, e) for e in range(1, 4)]
    fig = replay_figure(snapshots, history, circles.X_train, circles.y_train, ("outer", "inner"), start=1,
                        frame_ms=250)
    assert [f.name for f in fig.frames] == ["0", "1", "2", "3"]
    assert fig.layout.title.text == "Epoch 1 of 3 · validation accuracy 60%"
    assert fig.frames[0].layout.title.text == "<b>Epoch 0 of 3 · the starting weights</b>"
    # Each frame moves the heatmap, the P = 0.5 line and the two loss curves, and nothing else.
    heat, line = fig.data[0], fig.data[1]
    assert heat.type == "heatmap" and line.type == "contour" and list(fig.frames[2].traces) == [0, 1, 4, 5]
    expected = np.round(snapshots[2].grid.proba[..., 1] * 255).astype(np.uint8)
    np.testing.assert_array_equal(fig.frames[2].data[0].z, expected)  # one byte a cell
    assert list(fig.frames[2].data[2].x) == [1, 2] and fig.frames[2].data[3].y[-1] == pytest.approx(0.6)
    (play, pause) = fig.layout.updatemenus[0].buttons
    assert play.args[1]["frame"]["duration"] == 250 and play.args[1]["fromcurrent"] and list(pause.args[0]) == [None]
    assert fig.layout.sliders[0].active == 1 and [s.label for s in fig.layout.sliders[0].steps] == ["0", "1", "2", "3"]
    with pytest.raises(ValueError, match="start must be a frame index from 0 to 3"):
        replay_figure(snapshots, history, circles.X_train, circles.y_train, ("outer", "inner"), start=4)
    with pytest.raises(ValueError, match="at least one snapshot"):
        replay_figure([], history, circles.X_train, circles.y_train, ("outer", "inner"))


# ---------------------------------------------------------------- your own points in their own units

UNITS = (np.array([1000.0, -5.0], dtype=np.float32), np.array([250.0, 0.01], dtype=np.float32))  # (mean, std)


def _in_units(X: np.ndarray) -> np.ndarray:
    return np.asarray(X, dtype=np.float64) * UNITS[1] + UNITS[0]


def test_boundary_in_own_units_moves_the_grid_points_mistakes_and_probes_but_not_the_shape() -> None:
    rng = np.random.default_rng(8)
    xs, ys = np.linspace(-2, 2, 9, dtype=np.float32), np.linspace(-1, 1, 5, dtype=np.float32)
    grid = BoundaryGrid(xs, ys, rng.dirichlet((1, 1), size=(5, 9)).astype(np.float32))
    X, y = rng.normal(size=(12, 2)).astype(np.float32), np.arange(12) % 2
    wrong = np.arange(12) % 5 == 0
    fig = boundary_figure(grid, X, y, ("a", "b"), misclassified=wrong, probe_grid=3, units=UNITS)
    [heat] = [t for t in fig.data if t.type == "heatmap"]
    np.testing.assert_allclose(heat.x, 250 * xs + 1000, rtol=1e-6)
    np.testing.assert_allclose(heat.y, 0.01 * ys - 5, rtol=1e-6)
    np.testing.assert_array_equal(heat.z, grid.proba[..., 1])  # the model's probabilities, unchanged
    a = _named(fig, "a")
    np.testing.assert_allclose(np.c_[a.x, a.y], _in_units(X[y == 0]), rtol=1e-6)
    marks = _named(fig, f"misclassified ({wrong.sum()})")
    np.testing.assert_allclose(np.c_[marks.x, marks.y], _in_units(X[wrong]), rtol=1e-6)
    probe = _named(fig, PROBE_NAME)
    assert min(probe.x) == pytest.approx(500) and max(probe.y) == pytest.approx(-4.99)
    (x_lo, x_hi), (y_lo, y_hi) = fig.layout.xaxis.range, fig.layout.yaxis.range
    assert x_lo < 500 < 1500 < x_hi and y_lo < -5.01 < -4.99 < y_hi
    # One standard deviation as long on y as on x: the picture the model sees, whatever the units.
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == pytest.approx(250 / 0.01)
    assert ".4~g" in a.hovertemplate and ".4~g" in heat.hovertemplate  # 0.001 is not shown as 0.00
    plain = boundary_figure(grid, X, y, ("a", "b"))  # generated data: as before
    assert plain.layout.yaxis.scaleratio == 1 and ".2f" in _named(plain, "a").hovertemplate
    np.testing.assert_array_equal(_named(plain, "a").x, X[y == 0, 0])


def test_replay_in_own_units_puts_the_plane_and_points_in_them(circles) -> None:
    from core.boundary import Snapshot, boundary_grid, grid_box
    from core.plots import replay_figure

    model = build_model(ModelConfig(hidden=(4,)), seed=0)
    snapshots = [Snapshot(e, boundary_grid(model, box=grid_box(circles.X_all), resolution=10)) for e in range(3)]
    history = [EpochStats(e, 1.0, 0.5, 1.0, 0.5, 0.03, 0.001, e) for e in range(1, 3)]
    fig = replay_figure(snapshots, history, circles.X_train, circles.y_train, ("outer", "inner"), units=UNITS)
    heat = fig.data[0]
    np.testing.assert_allclose(heat.x, _in_units(np.c_[snapshots[0].grid.xs, snapshots[0].grid.ys])[:, 0], rtol=1e-6)
    outer = _named(fig, "outer")
    np.testing.assert_allclose(outer.y, _in_units(circles.X_train[circles.y_train == 0])[:, 1], rtol=1e-6)
    assert fig.layout.xaxis.range[0] == pytest.approx(float(heat.x[0]))
    assert fig.layout.yaxis.scaleratio == pytest.approx(25_000)
    np.testing.assert_array_equal(fig.frames[1].data[0].z, np.round(snapshots[1].grid.proba[..., 1] * 255))


def test_neuron_map_in_own_units(circles) -> None:
    from core.insight.maps import neuron_maps
    from core.plots import neuron_map_figure

    maps = neuron_maps(build_model(ModelConfig(hidden=(3,)), seed=0), X=circles.X_train, resolution=8)
    fig = neuron_map_figure(maps, 0, 1, X=circles.X_train, y=circles.y_train, units=UNITS)
    np.testing.assert_allclose(fig.data[0].x, 250 * maps.xs + 1000, rtol=1e-6)
    np.testing.assert_allclose(fig.data[0].y, 0.01 * maps.ys - 5, rtol=1e-6)
    np.testing.assert_allclose(fig.data[1].x, _in_units(circles.X_train[circles.y_train == 0])[:, 0], rtol=1e-6)
    assert fig.layout.xaxis.range[1] == pytest.approx(250 * float(maps.xs[-1]) + 1000, rel=1e-6)
    assert fig.layout.yaxis.scaleratio == pytest.approx(25_000)
