"""The usual learning rate of a model with each optimizer: the rate the diagnosis (core.training.diagnose) and the
coach (core.training.coach) call "this model's usual", and against which a run's own rate is "far below".

The presets train with Adam; SGD wants a far larger rate and RMSprop a smaller one, so one rate per model would
call a good SGD run too slow. The table is measured, not guessed: see REFERENCE_RATES.
"""

from __future__ import annotations

from core.config import OPTIMIZERS, ModelConfig, TrainConfig
from core.training.presets import preset

MOMENTUM = 0.9  # the momentum the table's SGD and RMSprop rows were measured with (TrainConfig's default)
WITH_MOMENTUM = 0.5  # a run with at least this momentum reads the row measured with MOMENTUM, below it the row without

# (data, model kind) -> (optimizer, momentum) -> its usual rate. Measured by core/bench/reference_rates.py (run
# `python -m core.bench.reference_rates` to re-measure; tests/test_reference_rates.py re-measures SGD on circles):
# the preset trained with each optimizer at each of the slider's rates, 5 seeds on circles and 3 on the offline
# digits (a seed draws the split, the starting weights and the shuffle), each run scored by its lowest validation
# loss within its preset's epochs (at most 100 on circles: a usual rate trains in about a slider move's run). An
# optimizer's best rate is the smallest whose mean loss is within one standard error of the best mean; its usual
# rate is the preset's rate times its best over Adam's, so Adam keeps the preset's rate (tested) and an Adam run is
# judged as before. Bests on 7 December 2026 (circles / digits MLP / digits CNN): Adam 0.1 / 0.003 / 0.003,
# SGD 0.3 / 0.03 / 0.03 (without momentum 0.3 / 0.1 / 0.3), RMSprop 0.003 / 3e-4 / 1e-4 (without momentum
# 0.01 / 0.003 / 0.001); AdamW as Adam (no weight decay: the same steps). Without the 100-epoch bound, circles'
# RMSprop without momentum came out at 3e-4, a rate still improving after 1,000 epochs.
REFERENCE_RATES: dict[tuple[str, str], dict[tuple[str, float], float]] = {
    ("points", "mlp"): {("adam", 0.0): 0.03, ("adamw", 0.0): 0.03, ("sgd", MOMENTUM): 0.1, ("sgd", 0.0): 0.1,
                        ("rmsprop", MOMENTUM): 1e-3, ("rmsprop", 0.0): 3e-3},
    ("images", "mlp"): {("adam", 0.0): 3e-3, ("adamw", 0.0): 3e-3, ("sgd", MOMENTUM): 0.03, ("sgd", 0.0): 0.1,
                        ("rmsprop", MOMENTUM): 3e-4, ("rmsprop", 0.0): 3e-3},
    ("images", "cnn"): {("adam", 0.0): 3e-3, ("adamw", 0.0): 3e-3, ("sgd", MOMENTUM): 0.03, ("sgd", 0.0): 0.3,
                        ("rmsprop", MOMENTUM): 1e-4, ("rmsprop", 0.0): 1e-3},
}
MEASURED = tuple(REFERENCE_RATES)
# A model the sweep did not train reads the row of the one nearest it (the same data, as the presets pair them).
NEAREST = {("points", "logreg"): ("points", "mlp"), ("images", "logreg"): ("images", "mlp"),
           ("images", "lenet"): ("images", "cnn")}


def reference_lr(images: bool, kind: str, optimizer: str, momentum: float = MOMENTUM) -> float:
    """The usual learning rate of a model of `kind` on images (True) or 2-D points (False) with `optimizer`."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}. Got {optimizer!r}.")
    preset(images, kind)  # a model that does not fit the data: its ValueError says which would
    case = ("images" if images else "points", kind)
    rows = REFERENCE_RATES[NEAREST.get(case, case)]
    with_momentum = optimizer in ("sgd", "rmsprop") and momentum >= WITH_MOMENTUM
    return rows[optimizer, MOMENTUM if with_momentum else 0.0]


def usual_lr(model: ModelConfig, train: TrainConfig) -> float:
    """The usual learning rate of this model with this run's optimizer (and momentum): the one lookup every caller
    makes, the lab, a sweep and the command line alike."""
    return reference_lr(model.takes_images, model.kind, train.optimizer, train.momentum)
