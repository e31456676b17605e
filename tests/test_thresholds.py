"""Thresholds: constant and standard-deviation rules, clipping to the metric range, and
bounds that follow each chunk's size, so that analysis chunks smaller than the reference
chunks (another chunk count, a kept incomplete chunk, uneven periods) do not false-alarm."""

from __future__ import annotations

import numpy as np
import pytest

import seismo
from synthetic import make_frame
from seismo.scaling import LOCATION, distance
from seismo.thresholds import ConstantThreshold, StandardDeviationThreshold, clip_to_range, is_alert


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
