"""Decision-boundary grids: shape, bounds, and agreement with an independent computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.boundary import boundary_grid, grid_box
from core.config import ModelConfig
from core.data.drawn import from_units, point_axes, to_units
from core.models import build_model
from core.plots.points import grid_in_units


def test_grid_shape_bounds_and_values_match_a_direct_forward_pass(circles) -> None:
    model = build_model(ModelConfig(hidden=(5,), n_classes=2), seed=1)
    grid = boundary_grid(model, circles.X_all, resolution=30, padding=0.5)
    assert grid.proba.shape == (30, 30, 2) and grid.xs.shape == (30,) == grid.ys.shape
    lo, hi = circles.X_all.min(axis=0), circles.X_all.max(axis=0)
    assert grid.xs[0] == pytest.approx(lo[0] - 0.5) and grid.xs[-1] == pytest.approx(hi[0] + 0.5)
    assert grid.ys[0] == pytest.approx(lo[1] - 0.5) and grid.ys[-1] == pytest.approx(hi[1] + 0.5)
    # Recompute one row and one column point by point.
    i, j = 7, 21
    point = torch.tensor([[grid.xs[j], grid.ys[i]]])
    with torch.no_grad():
        expected = torch.softmax(model(point), dim=1).numpy()[0]
    np.testing.assert_allclose(grid.proba[i, j], expected, atol=1e-5)
    assert grid.predicted.shape == (30, 30)


def test_explicit_box_and_bad_arguments() -> None:
    model = build_model(ModelConfig(kind="logreg", n_classes=3))
    grid = boundary_grid(model, box=(-1.0, 1.0, -2.0, 2.0), resolution=5)
    assert grid.xs.tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0] and grid.ys[-1] == 2.0
    with pytest.raises(ValueError, match="resolution must be > 1. Got 1"):
        boundary_grid(model, box=(0, 1, 0, 1), resolution=1)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        grid_box(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="needs the data X or an explicit box"):
        boundary_grid(model)


UNITS = (np.array([1000.0, -5.0], dtype=np.float32), np.array([250.0, 0.01], dtype=np.float32))  # (mean, std)


def test_a_grid_in_own_units_holds_the_models_probabilities_at_those_points(circles) -> None:
    model = build_model(ModelConfig(hidden=(5,), n_classes=2), seed=2)
    grid = grid_in_units(boundary_grid(model, circles.X_all, resolution=12), UNITS)
    i, j = 3, 8
    point = from_units(np.array([[grid.xs[j], grid.ys[i]]]), UNITS)  # the user's point, as the model takes it
    with torch.no_grad():
        expected = torch.softmax(model(torch.as_tensor(point)), dim=1).numpy()[0]
    np.testing.assert_allclose(grid.proba[i, j], expected, atol=1e-5)
    assert grid_in_units(grid, None) is grid


def test_own_units_round_trip_and_typed_point_ranges() -> None:
    X = np.array([[1200.0, -4.98], [750.0, -5.0]])
    np.testing.assert_allclose(to_units(from_units(X, UNITS), UNITS), X, rtol=1e-6)
    np.testing.assert_allclose(from_units(X, UNITS)[0], [0.8, 2.0], rtol=1e-4)
    np.testing.assert_array_equal(to_units(X, None), X)
    x, y = point_axes(UNITS, limit=10)
    assert (x.low, x.high, x.step, x.start) == (-1500, 3500, 20, 1000)
    assert (y.low, y.high, y.step, y.start) == pytest.approx((-5.1, -4.9, 0.001, -5))
    assert y.clamp(-4.912345) == -4.9123 and y.clamp(3.0) == -4.9 and x.clamp(1234.567) == 1235
    plain_x, _ = point_axes(None)  # generated data: the inputs as they always were
    assert (plain_x.low, plain_x.high, plain_x.step, plain_x.start, plain_x.clamp(1.234)) == (-10, 10, 0.1, 0, 1.23)
