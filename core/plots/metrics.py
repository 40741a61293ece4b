"""Evaluation charts from plain arrays: confusion matrix, ROC and PR curves, class probabilities, counts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from core.plots.style import BLUE, INK, NEUTRAL, check_names, class_color, equal_aspect, hex_rgb, new_figure

BLUES = [[0.0, "#f4f8fb"], [0.5, "#7fb4d8"], [1.0, "#08467a"]]


def _luminance(rgb: np.ndarray) -> float:
    """WCAG relative luminance of an RGB colour in [0, 255] (0 black .. 1 white)."""
    channels = rgb / 255.0
    linear = np.where(channels <= 0.03928, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def _ink_on(scale: list, fraction: float) -> str:
    """White or INK, whichever contrasts more (WCAG ratio) with `scale`'s colour at `fraction` (0..1) of it."""
    stops, rgb = [stop for stop, _ in scale], hex_rgb([color for _, color in scale])
    cell = np.round([np.interp(fraction, stops, rgb[:, k]) for k in range(3)])  # the colour as drawn, in whole steps
    lum = _luminance(cell)
    return "white" if (1.05 / (lum + 0.05)) > (lum + 0.05) / (_luminance(hex_rgb([INK])[0]) + 0.05) else INK


def _category_axis(names: list[str]) -> dict:
    """Integer positions labelled with class names (names such as '7' must not become numbers)."""
    return dict(tickmode="array", tickvals=list(range(len(names))), ticktext=names, showgrid=False, zeroline=False)


def confusion_figure(matrix: np.ndarray, class_names: Sequence[str], *, normalized: bool = False,
                     title: str = "Confusion matrix") -> go.Figure:
    """Rows = true class (class 0 at the top), columns = predicted; each cell labelled."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"A confusion matrix must be square (n_classes, n_classes). Got {matrix.shape} instead.")
    names = check_names(class_names, len(matrix), "The confusion matrix")
    n = len(names)
    value = "%{z:.1%}" if normalized else "%{z:,}"
    # Both ends fixed: with only zmin set Plotly scales from the smallest count, so 18 errors beside 24-32 correct
    # drew near-white. Counts from 0 to the largest (at least 1: an empty matrix is all white), shares 0 to 100%.
    zmax = 1.0 if normalized else max(float(matrix.max()) if matrix.size else 0.0, 1.0)
    fig = new_figure(title, height=max(360, 120 + 42 * n))
    fig.add_trace(go.Heatmap(
        z=matrix, x=np.arange(n), y=np.arange(n), colorscale=BLUES, zmin=0, zmax=zmax,
        xgap=1, ygap=1, colorbar=dict(thickness=12, len=0.8, tickformat=".0%" if normalized else ",d"),
        customdata=np.array(names)[np.indices((n, n))].transpose(1, 2, 0),  # (n, n, 2): true, predicted name
        hovertemplate=f"true %{{customdata[0]}}<br>predicted %{{customdata[1]}}<br>{value}<extra></extra>",
    ))
    # One layout update for every cell: add_annotation one by one re-validates the whole list each time (O(n^4)).
    # Each label's colour is read off its own cell's colour, on the same 0..zmax scale the heatmap draws.
    fig.update_layout(annotations=[
        dict(x=j, y=i, showarrow=False, text=f"{z:.0%}" if normalized else f"{int(z):,}",
             font=dict(size=12 if n <= 10 else 9, color=_ink_on(BLUES, min(max(z / zmax, 0.0), 1.0))))
        for (i, j), z in np.ndenumerate(matrix)])
    fig.update_xaxes(title_text="Predicted class", side="bottom", **_category_axis(names))
    fig.update_yaxes(title_text="True class", autorange="reversed", **_category_axis(names))
    equal_aspect(fig)
    return fig


def _unit_square(fig: go.Figure, x_title: str, y_title: str) -> go.Figure:
    fig.update_xaxes(title_text=x_title, range=[-0.01, 1.01], tickformat=".1f", zeroline=False)
    fig.update_yaxes(title_text=y_title, range=[-0.01, 1.03], tickformat=".1f", zeroline=False)
    equal_aspect(fig)
    return fig


def roc_figure(fpr: np.ndarray, tpr: np.ndarray, auc: float, *, title: str = "ROC curve") -> go.Figure:
    """True- against false-positive rate as the threshold moves, with the chance diagonal."""
    fig = new_figure(f"{title} (AUC = {auc:.3f})", height=440)
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance (AUC = 0.5)",
                             line=dict(color=NEUTRAL, dash="dash", width=1.5), hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=np.asarray(fpr), y=np.asarray(tpr), mode="lines", name=f"model (AUC = {auc:.3f})", fill="tozeroy",
        fillcolor="rgba(8,119,189,0.12)", line=dict(color=BLUE, width=2.5),
        hovertemplate="false positive rate %{x:.2f}<br>true positive rate %{y:.2f}<extra></extra>",
    ))
    return _unit_square(fig, "False positive rate", "True positive rate")


def pr_figure(recall: np.ndarray, precision: np.ndarray, average_precision: float, *,
              prevalence: float | None = None, title: str = "Precision-recall curve") -> go.Figure:
    """Precision against recall as the threshold moves; `prevalence` draws the chance level."""
    fig = new_figure(f"{title} (AP = {average_precision:.3f})", height=440)
    if prevalence is not None:
        fig.add_trace(go.Scatter(x=[0, 1], y=[prevalence, prevalence], mode="lines", hoverinfo="skip",
                                 name=f"chance ({prevalence:.0%} positive)",
                                 line=dict(color=NEUTRAL, dash="dash", width=1.5)))
    fig.add_trace(go.Scatter(
        x=np.asarray(recall), y=np.asarray(precision), mode="lines", line_shape="hv",  # a step, as sklearn draws it
        name=f"model (AP = {average_precision:.3f})", line=dict(color=BLUE, width=2.5),
        hovertemplate="recall %{x:.2f}<br>precision %{y:.2f}<extra></extra>",
    ))
    return _unit_square(fig, "Recall", "Precision")


def probability_figure(proba: np.ndarray, class_names: Sequence[str], *, true_label: int | None = None,
                       title: str = "Class probabilities") -> go.Figure:
    """One horizontal bar per class; the predicted class in its colour, the others grey."""
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 1:
        raise ValueError(f"proba must be one probability per class, shape (n_classes,). Got {proba.shape}.")
    names = check_names(class_names, len(proba), "proba")
    best = int(proba.argmax())
    colors = [class_color(c) if c == best else "#d5d9de" for c in range(len(names))]
    labels = [f"{name} (true)" if c == true_label else name for c, name in enumerate(names)]
    outline = [INK if c == true_label else "rgba(0,0,0,0)" for c in range(len(names))]
    fig = new_figure(title, height=max(220, 90 + 30 * len(names)), showlegend=False)
    fig.add_trace(go.Bar(
        x=proba, y=np.arange(len(names)), orientation="h", marker=dict(color=colors, line=dict(color=outline,
        width=2)), text=[f"{p:.1%}" for p in proba], textposition="outside", cliponaxis=False,
        customdata=labels, hovertemplate="%{customdata}: %{x:.2%}<extra></extra>",
    ))
    # Room right of 100% for its label: in a narrow column (1024-px screens) a tighter range cut it to "100.0".
    # Three ticks, upright: five, ~25 px apart in that column, were turned on their sides and crowded.
    fig.update_xaxes(title_text="Probability", range=[0, 1.35], tickformat=".0%", tickvals=[0, 0.5, 1], tickangle=0)
    fig.update_yaxes(title_text="Class", autorange="reversed", tickangle=0, **_category_axis(labels))
    return fig


def class_histogram_figure(y_train: np.ndarray, class_names: Sequence[str], y_test: np.ndarray | None = None, *,
                           title: str = "Examples per class") -> go.Figure:
    """Bar chart of how many examples each class has, training (solid) and test (hatched)."""
    n = len(class_names)
    names = [str(name) for name in class_names]
    splits = [("train", np.asarray(y_train))] + ([("test", np.asarray(y_test))] if y_test is not None else [])
    fig = new_figure(title, height=340, barmode="group", bargap=0.25)
    for split, y in splits:
        if y.size and (y.min() < 0 or y.max() >= n):
            raise ValueError(f"y_{split} holds labels {int(y.min())}..{int(y.max())}, but only labels 0..{n - 1} "
                             f"have class names ({n} given).")
        counts = np.bincount(y.astype(int), minlength=n)
        fig.add_trace(go.Bar(
            x=np.arange(n), y=counts, name=split, text=[f"{c:,}" for c in counts], textposition="outside",
            cliponaxis=False, marker=dict(color=[class_color(c) for c in range(n)], opacity=1 if split == "train"
                                          else 0.55, pattern_shape="" if split == "train" else "/"),
            customdata=names, hovertemplate=f"{split}<br>%{{customdata}}: %{{y:,}}<extra></extra>",
        ))
    fig.update_layout(showlegend=len(splits) > 1)
    fig.update_xaxes(title_text="Class", **_category_axis(names))
    fig.update_yaxes(title_text="Examples", rangemode="tozero")
    return fig
