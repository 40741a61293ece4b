"""Decision-boundary grids: shape, bounds, and agreement with an independent computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.boundary import boundary_grid, grid_box
from core.models import ModelConfig, build_model


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
