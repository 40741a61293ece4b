"""Every figure in NN Lab: numpy arrays and result objects in, a plotly Figure out (no torch, no streamlit).

points: scatter and decision boundary; training: learning curves; metrics: confusion matrix, ROC/PR,
class probabilities and counts; images: image grids and upload steps; network: the network and activations.
May import numpy, plotly and the result types of core.data, core.training and core.insight; never torch.
"""

from core.plots.images import image_grid_figure, steps_figure
from core.plots.metrics import class_histogram_figure, confusion_figure, pr_figure, probability_figure, roc_figure
from core.plots.network import SMALL_WEIGHT, activation_figure, network_figure
from core.plots.points import boundary_figure, scatter_figure
from core.plots.replay import replay_figure
from core.plots.style import CLASS_COLORS, class_color, placeholder_figure
from core.plots.training import curves_figure

__all__ = [
    "CLASS_COLORS", "SMALL_WEIGHT", "activation_figure", "boundary_figure", "class_color", "class_histogram_figure",
    "confusion_figure", "curves_figure", "image_grid_figure", "network_figure", "pr_figure", "probability_figure",
    "placeholder_figure", "replay_figure", "roc_figure", "scatter_figure", "steps_figure",
]

# Inside the network (issue 10): 2-D neuron maps and hidden space; digit weights, feature maps, attributions.
from core.plots.insight import (  # noqa: E402
    UNIT_PICKER,
    axis_ranges,
    hidden_space_figure,
    neuron_map_figure,
    neuron_maps_figure,
)
from core.plots.insight_digits import (  # noqa: E402
    attribution_figure,
    embedding_figure,
    feature_maps_figure,
    weight_tiles_figure,
)
from core.plots.insight_flow import gradient_flow_figure  # noqa: E402

__all__ += [
    "UNIT_PICKER", "attribution_figure", "axis_ranges", "embedding_figure", "feature_maps_figure",
    "gradient_flow_figure", "hidden_space_figure", "neuron_map_figure", "neuron_maps_figure", "weight_tiles_figure",
]
