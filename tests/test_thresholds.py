"""Thresholds: constant and standard-deviation rules, clipping to the metric range, and
bounds that follow each chunk's size, so that analysis chunks smaller than the reference
chunks (another chunk count, a kept incomplete chunk, uneven periods) do not false-alarm."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import make_frame

import seismo
from seismo.engine.sampling_error import LOCATION, distance
from seismo.engine.thresholds import ConstantThreshold, StandardDeviationThreshold, clip_to_range, is_alert


def test_standard_deviation_rule_on_the_unit_scale():
    rng = np.random.default_rng(0)
    contiguous, resampled = rng.normal(0, 1, 10), rng.normal(0, 2, 200)
    scale = LOCATION.fit(np.r_[contiguous, resampled], np.full(210, 100.0), np.full(210, 900.0))
    bounds = StandardDeviationThreshold(3, 3).learn(contiguous, resampled, scale)
    center = np.r_[contiguous, resampled].mean()
    spread = max(contiguous.std(ddof=1), resampled.std(ddof=1))
    assert bounds.lower == pytest.approx(center - 3 * spread) and bounds.upper == pytest.approx(center + 3 * spread)
    one_sided = StandardDeviationThreshold(None, 3).learn(contiguous, resampled, scale)
    assert one_sided.lower is None


def test_constant_threshold_ignores_the_reference():
    scale = distance().fit(np.ones(3), np.ones(3), np.ones(3))
    bounds = ConstantThreshold(upper=0.1).learn(np.ones(3), np.ones(3), scale)
    assert bounds.at(10, 100) == (None, 0.1) and bounds.at(10_000, 100) == (None, 0.1)


def test_distance_bounds_shrink_with_chunk_size():
    scale = distance(0.5).fit(np.ones(3), np.ones(3), np.ones(3))
    bounds = StandardDeviationThreshold(None, 3).learn(np.array([1.0, 2.0]), np.array([1.0, 2.0, 3.0]), scale)
    small, big = bounds.at(100, 10_000)[1], bounds.at(10_000, 10_000)[1]
    assert small / big == pytest.approx(np.sqrt((1 / 100 + 1 / 10_000) / (2 / 10_000)))


def test_clipping_and_alerts():
    assert clip_to_range((-0.2, 1.3), 0.0, 1.0) == (0.0, 1.0)
    assert clip_to_range((None, 5.0), 0.0, None) == (None, 5.0)
    alerts = is_alert(np.array([0.5, 1.5, -1.0, np.nan]), np.array([0.0, 0.0, np.nan, 0.0]),
                      np.array([1.0, 1.0, 1.0, 1.0]))
    assert alerts.tolist() == [False, True, False, False]


def test_smaller_analysis_chunks_do_not_false_alarm():
    reference = make_frame(50_000, seed=21)
    analysis = make_frame(10_000, seed=22)  # ten chunks of 1,000 rows against reference chunks of 5,000
    calc = seismo.UnivariateDrift(columns=["a", "b", "c", "d"]).fit(reference)
    df = calc.calculate(analysis).filter(period="analysis").to_df()
    assert df["alert"].mean() <= 0.02
    quality = seismo.DataQuality(columns=["a", "b"]).fit(reference).calculate(analysis).filter(period="analysis")
    assert quality.to_df()["alert"].mean() <= 0.02


def test_small_kept_last_chunk_gets_wider_bounds():
    reference = make_frame(30_000, seed=23)
    analysis = make_frame(10_300, seed=24)  # last chunk: 300 rows
    calc = seismo.UnivariateDrift(columns=["a"], chunk_size=5_000, methods=["jensen_shannon"]).fit(reference)
    df = calc.calculate(analysis).filter(period="analysis").to_df()
    assert not df["alert"].any()
    assert df["upper_threshold"].iloc[-1] > 2 * df["upper_threshold"].iloc[0]


# ---------------------------------------------------------------- FalseAlarmThreshold (the default)
# Reference values drawn from a known null: with 5,000 of them the fitted quantile's own noise is
# a few percent (measured over seeds: chi-square 0.999 quantile within ±4%), so the tolerances
# below are several times what the fit's sampling noise gives.

from scipy import stats  # noqa: E402

from seismo.engine.sampling_error import PROPORTION  # noqa: E402
from seismo.engine.thresholds import DEFAULT_FALSE_ALARM_RATE, FalseAlarmThreshold  # noqa: E402
from seismo.errors import InvalidConfiguration  # noqa: E402


def _unit_distance(exponent: float):
    return distance(exponent).fit(np.ones(3), np.ones(3), np.ones(3))


def test_chi_square_null_gives_the_chi_square_quantile():
    values = np.random.default_rng(1).chisquare(9, 5_010)
    bounds = FalseAlarmThreshold(0.001, sides="upper").learn(values[:10], values[10:], _unit_distance(0.0),
                                                              quadratic=True)
    assert bounds.lower is None
    assert bounds.upper == pytest.approx(stats.chi2.ppf(0.999, 9), rel=0.08)


def test_root_of_chi_square_null_gives_the_root_quantile():
    values = np.sqrt(np.random.default_rng(2).chisquare(4, 5_010))  # e.g. Hellinger on five bins
    bounds = FalseAlarmThreshold(0.01, sides="upper").learn(values[:10], values[10:], _unit_distance(0.5))
    assert bounds.upper == pytest.approx(np.sqrt(stats.chi2.ppf(0.99, 4)), rel=0.05)


def test_kolmogorov_null_gets_its_heavier_tail():
    """KS's null (the Kolmogorov distribution) has a heavier tail than a chi-square of the same
    mean and variance; the power-gamma family must not cut it short (a chi-square fit to its
    square puts the 0.1% bound at 1.84, where the true false-alarm rate is 2.3 times higher)."""
    values = stats.kstwobign.rvs(size=5_010, random_state=np.random.default_rng(3))
    upper = FalseAlarmThreshold(0.001, sides="upper").learn(values[:10], values[10:], _unit_distance(0.5)).upper
    assert stats.kstwobign.sf(upper) < 2 * 0.001
    assert upper == pytest.approx(stats.kstwobign.ppf(0.999), rel=0.1)


def test_exact_zeros_keep_the_stated_rate():
    """A statistic with exact zeros among its reference values (chi2 with Yates' correction on
    a binary column) was modelled by a two-moment chi-square alone; on 60 values its 0.1% bound
    was crossed by about 1.7% of null values. Zeros are now values below the smallest one seen,
    and the power-gamma models compete as usual. The chi2(1) null, with the smallest values
    set to exactly zero, over 300 references of 60 values (fixed seed)."""
    rng = np.random.default_rng(11)
    crossed = []
    for _ in range(300):
        values = rng.chisquare(1, 60)
        values[np.argsort(values)[:3]] = 0.0  # Yates' correction clamps small deviations to 0
        upper = FalseAlarmThreshold(0.001, sides="upper").learn(values[:10], values[10:], _unit_distance(0.0),
                                                                 quadratic=True).upper
        crossed.append(stats.chi2.sf(upper, 1))
    assert np.mean(crossed) < 2 * 0.001  # 0.015 with the chi-square-only rule


def test_location_bounds_are_normal_quantiles_split_between_the_sides():
    values = np.random.default_rng(4).normal(0.0, 2.0, 5_010)
    scale = LOCATION.fit(values, np.full(values.size, 100.0), np.full(values.size, 900.0))
    bounds = FalseAlarmThreshold(0.002).learn(values[:10], values[10:], scale)
    expected = 2.0 * stats.norm.isf(0.001)  # 0.2% per cell, 0.1% on each side
    assert bounds.upper == pytest.approx(expected, rel=0.05) and bounds.lower == pytest.approx(-expected, rel=0.05)
    assert FalseAlarmThreshold(0.002, sides="lower").learn(values[:10], values[10:], scale).upper is None


def test_few_reference_values_widen_the_bounds():
    """A Student-t prediction limit: ten values cannot pin down a 0.1% tail, so the bound is wider."""
    rng = np.random.default_rng(5)
    scale = LOCATION.fit(np.zeros(3), np.full(3, 100.0), np.full(3, 900.0))
    few = [FalseAlarmThreshold().learn(rng.normal(size=10), np.empty(0), scale).upper for _ in range(200)]
    many = [FalseAlarmThreshold().learn(rng.normal(size=10), rng.normal(size=200), scale).upper for _ in range(200)]
    assert np.median(few) > 1.3 * np.median(many)


def test_slow_variation_in_the_contiguous_chunks_is_kept():
    """Contiguous chunks five times as spread as random subsets (a seasonal reference): an F test
    detects it, and the pooled values are widened to the contiguous spread (keeping their number,
    so the bound does not jump to a ten-value tail quantile when the test flips)."""
    rng = np.random.default_rng(6)
    contiguous, resampled = rng.normal(0, 5, 12), rng.normal(0, 1, 50)
    scale = LOCATION.fit(np.zeros(3), np.full(3, 100.0), np.full(3, 900.0))
    bounds = FalseAlarmThreshold(0.001).learn(contiguous, resampled, scale)
    pooled = np.r_[contiguous, resampled]
    widen = np.sqrt(contiguous.var(ddof=1) / pooled.var(ddof=1))
    half = stats.t.isf(0.0005, 61) * widen * pooled.std(ddof=1) * np.sqrt(1 + 1 / 62)
    assert bounds.upper == pytest.approx(pooled.mean() + half)
    assert widen > 2 and bounds.upper - pooled.mean() > 3.3 * contiguous.std(ddof=1)


def test_equal_spreads_are_pooled():
    rng = np.random.default_rng(7)
    contiguous, resampled = rng.normal(0, 1, 10), rng.normal(0, 1, 50)
    scale = LOCATION.fit(np.zeros(3), np.full(3, 100.0), np.full(3, 900.0))
    pooled = np.r_[contiguous, resampled]
    half = stats.t.isf(0.0005, 59) * pooled.std(ddof=1) * np.sqrt(1 + 1 / 60)
    assert FalseAlarmThreshold(0.001).learn(contiguous, resampled, scale).upper == pytest.approx(pooled.mean() + half)


def test_the_poisson_floor_of_a_rate_follows_the_stated_rate():
    scale = PROPORTION.fit(np.full(20, 0.001), np.full(20, 1_000.0), np.full(20, 9_000.0))
    z = np.zeros(20)  # every reference chunk at the centre: the normal bound adds nothing
    for rate in (0.001, 0.1):
        upper = FalseAlarmThreshold(rate).learn(z[:10], z[10:], scale).at(1_000, 10_000)[1]
        expected = stats.poisson.ppf(1 - rate / 2, 0.001 * 1_000 * 1.1) / 1_000
        assert upper == pytest.approx(expected)


@pytest.mark.parametrize("rate", [0, 1, -0.1, 1.5, "0.01"])
def test_false_alarm_rate_must_be_a_probability(rate):
    with pytest.raises(InvalidConfiguration, match="false_alarm_rate"):
        FalseAlarmThreshold(rate)


def test_defaults_state_the_documented_rate():
    assert DEFAULT_FALSE_ALARM_RATE == 0.001
    assert FalseAlarmThreshold().false_alarm_rate == 0.001 and FalseAlarmThreshold().sides == "both"
