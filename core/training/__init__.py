"""Training: the in-memory loop with its optimizer and schedule (train), what a run records for the replay
(recorder), fast copies of a model's weights for it and for early stopping (state_copy), how it ended and why
(diagnose), its results (result), jobs and the server's slots (jobs), the presets each model starts from
(presets), each optimizer's usual learning rate (reference), the losses for either head (losses), the augmentation
of digit batches (augment), the coach's one piece of advice after a run (coach) and whether its fix helped
(verdict).

May import core.config, core.models, core.boundary, core.evaluate and core.data; never core.lab or above.
"""
