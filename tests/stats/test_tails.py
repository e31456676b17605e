"""Quantiles beyond the reference's range: the tail sketch is within its stated relative accuracy
of numpy, merges exactly, and gives DataQuality's median on chunks that moved out of range."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo.stats.tails import ALPHA, Tails, TailSketch


def test_every_order_statistic_is_within_the_relative_accuracy():
    rng = np.random.default_rng(0)
    distances = np.concatenate([rng.lognormal(0, 3, 5_000), rng.uniform(1e-9, 1e-6, 100), [1e12]])
    ordered = np.sort(distances)
    got = TailSketch.from_distances(distances).distance(np.arange(distances.size))
    assert np.all(np.abs(got - ordered) <= ALPHA * ordered * (1 + 1e-12))


def test_merging_equals_sketching_the_union_in_any_order():
    rng = np.random.default_rng(1)
    parts = [rng.exponential(s, n) for s, n in ((1, 300), (50, 10), (0.01, 0), (3, 1_000))]
    whole = TailSketch.from_distances(np.concatenate(parts))
    sketches = [TailSketch.from_distances(p) for p in parts]
    for order in ([0, 1, 2, 3], [3, 1, 0, 2]):
        merged = TailSketch()
        for i in order:
            merged = merged + sketches[i]
        np.testing.assert_array_equal(merged.keys, whole.keys)
        np.testing.assert_array_equal(merged.counts, whole.counts)


def test_both_tails_ascend_in_value_and_leave_out_nan_and_inf():
    values = np.array([-5.0, -1.5, np.nan, -np.inf, 0.5, 2.0, 7.0, np.inf])
    tails = Tails.from_values(values, low=0.0, high=1.0)
    assert tails.below.n == 2 and tails.above.n == 2
    np.testing.assert_allclose(tails.value(False, np.array([0, 1])), [-5.0, -1.5], rtol=ALPHA)
    np.testing.assert_allclose(tails.value(True, np.array([0, 1])), [2.0, 7.0], rtol=ALPHA)


@pytest.mark.parametrize("make", [
    lambda rng, n: 5 + rng.lognormal(0, 1, n),   # entirely above the range (the reported case: 1435 vs 6.05)
    lambda rng, n: -3 - rng.exponential(2, n),   # entirely below
    lambda rng, n: np.where(rng.random(n) < 0.6, 1 + rng.pareto(1.5, n), rng.uniform(0, 1, n)),  # partly out
    lambda rng, n: rng.uniform(0, 1, n),         # in range: the fine bins, as before
])
def test_data_quality_median_matches_numpy_on_shifted_chunks(make):
    rng = np.random.default_rng(2)
    reference = pd.DataFrame({"x": rng.uniform(0, 1, 30_000)})
    analysis = pd.DataFrame({"x": make(rng, 12_000)})
    fitted = seismo.DataQuality(columns=["x"], chunk_size=2_000).fit(reference)
    rows = fitted.calculate(analysis).to_df().query("period == 'analysis' and metric == 'median'")
    truth = [np.median(analysis["x"].to_numpy()[i:i + 2_000]) for i in range(0, 12_000, 2_000)]
    # beyond the range: within ALPHA of the distance to the range's edge; inside: within a fine bin
    edge = np.where(np.asarray(truth) > 1, 1.0, 0.0)
    tolerance = ALPHA * np.abs(np.asarray(truth) - edge) + 1e-3
    assert np.all(np.abs(rows["value"].to_numpy() - truth) <= tolerance)
