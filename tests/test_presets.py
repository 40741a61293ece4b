"""The dashboard's starting points: each preset fits its data and sits on the dashboard's own sliders."""

from __future__ import annotations

import pytest

from core.config import validate_train_config
from core.models import build_model
from core.training.presets import (
    CNN_TRAIN,
    IMAGES_TRAIN,
    LEARNING_RATES,
    POINTS_TRAIN,
    default_model_config,
    default_train_config,
)


@pytest.mark.parametrize("preset", [POINTS_TRAIN, IMAGES_TRAIN, CNN_TRAIN], ids=["points", "images", "cnn"])
def test_every_preset_rate_is_a_value_of_the_learning_rate_slider(preset) -> None:
    # The slider snaps to its own values: a rate off the list would silently train at a neighbour's rate.
    assert preset.lr in LEARNING_RATES
    validate_train_config(preset)


def test_learning_rates_span_the_documented_range_in_log_steps() -> None:
    assert LEARNING_RATES[0] == 1e-5 and LEARNING_RATES[-1] == 10
    ratios = [b / a for a, b in zip(LEARNING_RATES, LEARNING_RATES[1:])]
    assert all(2.9 < r < 3.5 for r in ratios), ratios  # alternately x3 and x3.33: even steps on a log axis


@pytest.mark.parametrize("fixture", ["circles", "blobs", "digits"])
def test_defaults_fit_the_data(fixture: str, request: pytest.FixtureRequest) -> None:
    data = request.getfixturevalue(fixture)
    config = default_model_config(data)
    assert config.input_shape == data.input_shape and config.n_classes == data.n_classes
    build_model(config)
    assert default_train_config(data) is (IMAGES_TRAIN if data.is_image else POINTS_TRAIN)
