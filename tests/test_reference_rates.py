"""The usual learning rate depends on the optimizer as well as the model: Adam keeps each preset's rate, SGD on
circles is re-measured against the table, and the lab, the command line and the coach read the same table, so the
coach's "usually takes" and its fix name SGD's own rate."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.__main__ import _options, _settings, build_parser
from core.bench.reference_rates import measure, slider_rate
from core.config import OPTIMIZERS
from core.training.presets import LEARNING_RATES, PRESETS
from core.training.reference import MOMENTUM, REFERENCE_RATES, reference_lr, usual_lr
from tests.test_coach_advice import trained

CIRCLES = ("points", "mlp")


@pytest.mark.parametrize("momentum", [0.0, 0.5, MOMENTUM, 0.99])
def test_adam_keeps_each_presets_rate(momentum: float) -> None:
    for (data, kind), start in PRESETS.items():
        for optimizer in ("adam", "adamw"):
            assert reference_lr(data == "images", kind, optimizer, momentum) == start.train.lr, (data, kind)


def test_every_optimizer_has_a_usual_rate_on_the_slider() -> None:
    for data, kind in PRESETS:
        for optimizer in OPTIMIZERS:
            for momentum in (0.0, MOMENTUM):
                assert reference_lr(data == "images", kind, optimizer, momentum) in LEARNING_RATES
    assert all(rate in LEARNING_RATES for rows in REFERENCE_RATES.values() for rate in rows.values())
    assert reference_lr(False, "mlp", "sgd") == 0.1 and reference_lr(True, "cnn", "rmsprop") == 1e-4
    assert reference_lr(True, "mlp", "rmsprop", 0.0) == 3e-3  # without momentum: its own row
    with pytest.raises(ValueError, match="optimizer must be one of"):
        reference_lr(False, "mlp", "lbfgs")
    with pytest.raises(ValueError, match="needs 28x28 images"):
        reference_lr(False, "cnn", "sgd")


def test_a_runs_usual_rate_reads_its_own_model_and_optimizer() -> None:
    for (data, kind), start in PRESETS.items():
        for optimizer in OPTIMIZERS:
            train = replace(start.train, optimizer=optimizer, momentum=0.0)
            assert usual_lr(start.model, train) == reference_lr(data == "images", kind, optimizer, 0.0), kind
    cnn = PRESETS["images", "cnn"]
    assert usual_lr(cnn.model, replace(cnn.train, optimizer="sgd", momentum=0.0)) == 0.3


def test_sgd_on_circles_is_re_measured() -> None:
    """The sweep behind the table, cut to the rates around the two bests: SGD's usual rate is the preset's times
    SGD's best over Adam's."""
    rates = (0.01, 0.03, 0.1, 0.3, 1.0)
    adam, _ = measure(CIRCLES, "adam", 0.0, rates=rates)
    sgd, losses = measure(CIRCLES, "sgd", MOMENTUM, rates=rates)
    assert sum(losses[1.0]) > sum(losses[sgd]), losses  # the grid reaches past SGD's best
    assert slider_rate(PRESETS[CIRCLES].train.lr * sgd / adam) == REFERENCE_RATES[CIRCLES]["sgd", MOMENTUM]


def test_the_command_line_passes_the_optimizers_usual_rate() -> None:
    for optimizer, usual in (("sgd", 0.1), ("adam", 0.03), ("rmsprop", 1e-3)):
        args = build_parser().parse_args(["train", "--optimizer", optimizer, "--lr", "0.001", "--threads", "1"])
        _data_config, data, model_config, train_config = _settings(args)
        assert _options(args, data, model_config, train_config).reference_lr == usual, optimizer


def test_sgd_too_small_on_circles_the_coach_names_sgds_usual_rate_and_offers_it() -> None:
    """SGD at 0.001 on circles does not move: the warning, the coach's words and its fix all say 0.1, SGD's usual
    rate (the coach used to say "usually takes 0.03", Adam's, while offering 0.1)."""
    lab = trained("data=circles&opt=sgd&lr=0.001")
    usual = reference_lr(False, "mlp", "sgd", lab.settings.train.momentum)
    assert lab.result.status == "not_learning" and f"({usual:g})" in lab.result.message, lab.result.message
    advice, _ = lab.coach()
    assert advice is not None and advice.fix.train.lr == usual == 0.1, advice
    assert f"usually takes {usual:g})" in advice.message and f"Learning rate {usual:g} " in advice.fix_label


def test_adam_too_small_on_circles_is_offered_adams_usual_rate() -> None:
    """Adam at 1e-5 on circles, 3,000× below its usual 0.03: the warning and the fix name 0.03 itself (they named
    100× larger, 0.001, which was still 30× too slow)."""
    lab = trained("data=circles&lr=0.00001")
    advice, _ = lab.coach()
    assert advice is not None and advice.fix.train.lr == 0.03, advice
    assert "usually takes 0.03)" in advice.message and "usual rate with this optimizer (0.03)" in lab.result.message
