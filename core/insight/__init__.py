"""Looking inside a model, arrays out: neuron maps and the hidden space for 2-D data; for digits the
first-layer weights, feature maps, attributions and embeddings; and what each costs (for the benchmark).

maps: 2-D models (grid maps, dead/saturated units, hidden-space projections); digits: image models;
recorder: what a 2-D run keeps for the replay (weights per epoch, gradient flow); timing: seconds per call;
slots: how many looks inside run at once on the server. Nothing here draws: core.plots turns these results
into figures. May import core.config, core.models, core.boundary, core.data and core.training.
"""
