"""Looking inside a model, arrays out: neuron maps and the hidden space for 2-D data; for digits the
first-layer weights, feature maps, attributions and embeddings; and what each costs (for the benchmark).

maps: 2-D models (grid maps, dead/saturated units, hidden-space projections); digits: image models;
recorder: what a 2-D run keeps for the replay (weights per epoch, gradient flow); timing: seconds per call;
slots: how many looks inside run at once on the server (import it from core.insight.slots: it needs core.jobs).
Nothing here draws: core.plots.insight turns these results into figures.
"""

from core.insight.digits import (
    ATTRIBUTION_METHODS,
    EMBEDDING_METHODS,
    Attribution,
    Embedding,
    FeatureMaps,
    WeightTiles,
    attribute_image,
    digit_png,
    embed,
    feature_maps,
    first_layer_tiles,
    last_hidden,
    pca_points,
    tsne_points,
)
from core.insight.maps import (
    HiddenSpace,
    LayerMaps,
    NeuronMaps,
    Projection,
    activation_name,
    fit_projection,
    hidden_activations,
    hidden_space,
    layer_outputs,
    neuron_maps,
    unit_health,
)
from core.insight.recorder import EpochState, GradientFlow, GradientRecorder, StateRecorder, model_at
from core.insight.timing import time_attribution, time_embedding_pca, time_neuron_maps, time_snapshot_overhead

__all__ = [
    "ATTRIBUTION_METHODS", "EMBEDDING_METHODS", "Attribution", "Embedding", "FeatureMaps", "HiddenSpace", "LayerMaps",
    "NeuronMaps", "Projection", "WeightTiles", "activation_name", "attribute_image", "embed", "feature_maps",
    "first_layer_tiles", "fit_projection", "hidden_activations", "hidden_space", "last_hidden", "layer_outputs",
    "neuron_maps", "pca_points", "time_attribution", "time_embedding_pca", "time_neuron_maps", "tsne_points",
    "unit_health",
    "EpochState", "GradientFlow", "GradientRecorder", "StateRecorder", "digit_png", "model_at",
    "time_snapshot_overhead",
]
