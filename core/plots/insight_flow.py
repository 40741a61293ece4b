"""Gradient flow: how large each layer's weights and gradients are, epoch by epoch."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.plots.style import house_layout, whole_ticks

if TYPE_CHECKING:
    from core.training.recorder import GradientFlow

# Input side light, output side dark: a starved first layer reads as the pale line at the bottom.
LAYER_SHADES = ("#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b", "#041c40")


def _shade(k: int, n: int) -> str:
    return LAYER_SHADES[round(k * (len(LAYER_SHADES) - 1) / max(n - 1, 1))]


def gradient_flow_figure(flow: GradientFlow, *, title: str = "Gradient flow, layer by layer") -> go.Figure:
    """Mean |gradient| (log scale) and mean |weight| per layer over the epochs, one line per layer."""
    gradients, weights = np.asarray(flow.gradients, dtype=float), np.asarray(flow.weights, dtype=float)
    n = len(flow.layers)
    if gradients.shape != (len(flow.epochs), n) or weights.shape != gradients.shape:
        raise ValueError(f"gradients and weights must be (epochs, layers) = ({len(flow.epochs)}, {n}). "
                         f"Got {gradients.shape} and {weights.shape}.")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("mean |gradient| (log)", "mean |weight|"),
                        horizontal_spacing=0.12)
    fig.update_layout(house_layout(title, height=400))
    # Under the plots, clear of their titles.
    fig.update_layout(legend=dict(orientation="h", x=0, yref="paper", y=-0.22, yanchor="top"), margin=dict(b=90))
    for k, name in enumerate(flow.layers):
        style = dict(mode="lines", line=dict(color=_shade(k, n), width=2), legendgroup=name)
        fig.add_trace(go.Scatter(x=flow.epochs, y=np.maximum(gradients[:, k], 1e-12), name=f"layer {name}",
                                 hovertemplate=f"layer {name}<br>epoch %{{x}}<br>|grad| %{{y:.2e}}<extra></extra>",
                                 **style), row=1, col=1)
        fig.add_trace(go.Scatter(x=flow.epochs, y=weights[:, k], name=f"layer {name}", showlegend=False,
                                 hovertemplate=f"layer {name}<br>epoch %{{x}}<br>|w| %{{y:.3f}}<extra></extra>",
                                 **style), row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_xaxes(title_text="epoch", **whole_ticks(max(flow.epochs, default=0)))
    return fig
