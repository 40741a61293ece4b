"""The Sweep page's seed spread at 1024 px: the right panel's title and axis, seeds that tie, the sd bar's ends."""

from __future__ import annotations

import numpy as np
import pytest

from core.plots.seeds import seed_spread_figure
from tests.test_plots_readable import EM_WIDTH as EM  # a character's mean width in ems, as the other checks

CHART_1024 = 564  # px: a chart across the page's main column at 1024 px


def _seeds(final: list[float]):
    final = np.asarray(final)
    return seed_spread_figure(np.tile(final, (4, 1)).T, final, seeds=tuple(range(len(final))), interval=(0.7, 0.95))


def test_the_seed_spreads_right_panel_keeps_its_title_in_the_chart_and_its_axis_off_the_left_plot() -> None:
    """At 1024 px the right panel's title was cut at the chart's edge ("Final: each seed, 95% interv") and its
    y title, in the gap between the panels, ran over the left plot."""
    fig = _seeds([0.8, 0.85, 0.9])
    margin = fig.layout.margin
    plot = CHART_1024 - margin.l - margin.r
    left, right = fig.layout.xaxis.domain, fig.layout.xaxis2.domain
    title = next(a for a in fig.layout.annotations if abs(a.x - sum(right) / 2) < 1e-9)
    left_title = next(a for a in fig.layout.annotations if abs(a.x - sum(left) / 2) < 1e-9)
    half, left_half = (len(t.text) * EM * t.font.size / 2 for t in (title, left_title))
    assert margin.l + plot * title.x + half <= CHART_1024, title.text  # not cut at the chart's right edge
    assert plot * (title.x - left_title.x) >= half + left_half, title.text  # nor over the left panel's title
    assert not fig.layout.yaxis2.title.text  # the gap holds the right panel's tick labels only
    assert plot * (right[0] - left[1]) >= 3 * EM * fig.layout.font.size + 8  # "100" and the ticks' gap


def test_seeds_with_one_accuracy_show_as_separate_dots_drawn_without_the_global_rng() -> None:
    """Five seeds at 100% were one dot: they sit side by side, at offsets from the figure's own generator."""
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    dots = _seeds([1.0] * 5).data[3]
    assert len(set(dots.x)) == 5 and np.ptp(dots.x) <= 0.4, dots.x
    assert min(dots.x) > 0.2  # right of the mean's diamond at x 0
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # the process-wide RNG untouched
    np.testing.assert_array_equal(dots.x, _seeds([1.0] * 5).data[3].x)  # the same on every rerun


def test_the_seeds_mean_plus_sd_bar_stops_at_100_percent_and_says_so() -> None:
    final = [1.0, 1.0, 1.0, 1.0, 0.9]
    mean, sd = np.mean(final), np.std(final, ddof=1)
    summary = _seeds(final).data[4]
    assert summary.error_y.array[0] == pytest.approx(100 * (1 - mean))  # 100%, not 100% + the rest of one sd
    assert summary.error_y.arrayminus[0] == pytest.approx(100 * sd)
    assert "stops at 100%" in summary.hovertemplate
    assert "stops" not in _seeds([0.8, 0.85, 0.9]).data[4].hovertemplate
