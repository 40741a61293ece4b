"""Every figure in NN Lab: numpy arrays and result objects in, a plotly Figure out (no torch, no streamlit).

points: scatter and decision boundary; training: learning curves; metrics: confusion matrix, ROC/PR,
class probabilities and counts; images: image grids and upload steps; network: the network and activations.
"""

from core.plots.images import image_grid_figure, steps_figure
from core.plots.metrics import class_histogram_figure, confusion_figure, pr_figure, probability_figure, roc_figure
from core.plots.network import activation_figure, network_figure
from core.plots.points import boundary_figure, scatter_figure
from core.plots.style import CLASS_COLORS, class_color
from core.plots.training import curves_figure

__all__ = [
    "CLASS_COLORS", "activation_figure", "boundary_figure", "class_color", "class_histogram_figure",
    "confusion_figure", "curves_figure", "image_grid_figure", "network_figure", "pr_figure", "probability_figure",
    "roc_figure", "scatter_figure", "steps_figure",
]
