"""Every univariate drift statistic equals a direct scipy or numpy computation on the same bins.

Property: for any reference and chunk (few rows, ties, values beyond the reference's range,
NaN and ±inf), the statistics a `ContinuousDriftTracker` finishes from its fine histograms
equal scipy on the raw values: the KS D statistic equals `scipy.stats.ks_2samp` (every
distinct reference value is a fine point, so the fine bins lose nothing KS reads), and
Wasserstein equals `scipy.stats.wasserstein_distance` wherever the binned computation is
exact by its docstring: the chunk's values are reference values, or the chunk lies wholly at
or beyond one end of the reference (the CDFs never cross). The proportion distances
(Jensen-Shannon, Hellinger, PSI) and, for categories, chi2 and L-infinity (largest change of a single category,
"other" left out) equal scipy or a direct numpy formula on the very counts the tracker compares, and those coarse counts are a
partition of the values into intervals of the line.

Tolerances: relative 1e-9, plus where the formula cancels an absolute term named at the
assertion (Jensen-Shannon is the square root of a sum of terms of both signs that cancel to a
few ulps, so ~1e-8 absolute, of which 1e-7 is well clear).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st
from properties_common import assert_same, property_settings
from scipy import stats
from scipy.spatial.distance import jensenshannon

from seismo.drift.methods import DRIFT_METHODS, Comparison
from seismo.drift.univariate import ContinuousDriftTracker
from seismo.stats import distances
from seismo.stats.binning import fine_bin_index
from seismo.stats.categorical import CategoryCounts
from seismo.stats.histogram import Histogram

CONTINUOUS = ["kolmogorov_smirnov", "wasserstein", "jensen_shannon", "hellinger", "psi"]
JS_CANCELLATION = 1e-7

values = st.one_of(st.sampled_from([0.0, 1.0, 2.0, 5.0]), st.floats(-100, 100, allow_nan=False))
odd_values = st.one_of(values, st.sampled_from([np.nan, np.inf, -np.inf, 1e3, -1e3]))


def _drift(reference: np.ndarray, chunk: np.ndarray) -> tuple[ContinuousDriftTracker, dict, Comparison]:
    tracker = ContinuousDriftTracker("x", reference, CONTINUOUS, n_bins=10)
    ref_hist = Histogram.from_values(reference, tracker.points)
    cur_hist = Histogram.from_values(chunk, tracker.points)
    comparison = Comparison(ref_hist, cur_hist, tracker.points, tracker.coarse_map, tracker.n_coarse)
    return tracker, tracker.finish(cur_hist, ref_hist), comparison


def _non_nan(x: np.ndarray) -> np.ndarray:
    return x[~np.isnan(x)]


@property_settings(35)
@given(st.lists(values, min_size=1, max_size=60), st.lists(odd_values, min_size=1, max_size=60))
def test_ks_equals_scipy(reference, chunk):
    reference, chunk = np.array(reference), np.array(chunk)
    assume(_non_nan(chunk).size > 0)
    _, out, _ = _drift(reference, chunk)
    expected = stats.ks_2samp(reference, _non_nan(chunk)).statistic
    assert_same(out["kolmogorov_smirnov"], expected, "KS")


@property_settings(50)
@given(st.lists(values, min_size=1, max_size=60, unique=True), st.data())
def test_wasserstein_equals_scipy_on_reference_values(pool, data):
    """Chunk values drawn from the reference's: every row sits in a point bin, W is exact."""
    reference = np.array(data.draw(st.lists(st.sampled_from(pool), min_size=0, max_size=40)) + pool)
    chunk = np.array(data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=40)))
    _, out, _ = _drift(reference, chunk)
    expected = stats.wasserstein_distance(reference, chunk)
    scale = np.abs(reference).max()  # CDF areas are differences of terms of this size
    assert_same(out["wasserstein"], expected, "W1", abs_tol=1e-12 * scale)


@property_settings(50)
@given(st.lists(values, min_size=1, max_size=60), st.lists(st.floats(0, 1e3), min_size=1, max_size=40),
       st.booleans())
def test_wasserstein_equals_scipy_beyond_the_reference(reference, offsets, above):
    """A chunk at or beyond one end of the reference: the CDFs never cross, W is the mean shift."""
    reference = np.array(reference)
    chunk = reference.max() + np.array(offsets) if above else reference.min() - np.array(offsets)
    _, out, _ = _drift(reference, chunk)
    expected = stats.wasserstein_distance(reference, chunk)
    scale = max(np.abs(reference).max(), np.abs(chunk).max())
    assert_same(out["wasserstein"], expected, "W1", abs_tol=1e-12 * scale)


@property_settings(60)
@given(st.lists(values, min_size=1, max_size=80), st.lists(odd_values, min_size=1, max_size=60))
def test_proportion_distances_equal_scipy_on_the_coarse_bins(reference, chunk):
    reference, chunk = np.array(reference), np.array(chunk)
    tracker, out, comparison = _drift(reference, chunk)
    ref_counts, cur_counts = comparison.counts()
    # the coarse counts are the values themselves, put into intervals of the line (NaN left out)
    for raw, counts in ((reference, ref_counts), (chunk, cur_counts)):
        kept = np.sort(_non_nan(raw))
        coarse = tracker.coarse_map[fine_bin_index(kept, tracker.points)]
        assert np.all(np.diff(coarse) >= 0), "a coarse bin is not an interval"
        np.testing.assert_array_equal(np.bincount(coarse, minlength=tracker.n_coarse), counts)
    if cur_counts.sum() == 0:  # only NaN in the chunk: no distribution to compare
        assert all(np.isnan(out[m]) for m in ("jensen_shannon", "hellinger", "psi"))
        return
    _assert_proportion_distances(ref_counts, cur_counts, out)


def _assert_proportion_distances(ref_counts: np.ndarray, cur_counts: np.ndarray, out: dict) -> None:
    p, q = ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum()
    assert_same(out["jensen_shannon"], jensenshannon(ref_counts, cur_counts, base=2), "JS", abs_tol=JS_CANCELLATION)
    # Hellinger as the scaled Euclidean distance of the square roots (no 1 - sum(sqrt(pq)) to cancel)
    hellinger = math.sqrt(0.5 * math.fsum((np.sqrt(p) - np.sqrt(q)) ** 2))
    assert_same(out["hellinger"], hellinger, "Hellinger", abs_tol=1e-15)
    kept = (p > 0) | (q > 0)
    pf, qf = np.maximum(p[kept], distances.PSI_FLOOR), np.maximum(q[kept], distances.PSI_FLOOR)
    assert_same(out["psi"], math.fsum((qf - pf) * np.log(qf / pf)), "PSI", abs_tol=1e-15)


@property_settings(50)
@given(st.integers(0, 10).flatmap(lambda k: st.tuples(*[st.lists(st.integers(0, 50), min_size=k + 2, max_size=k + 2)] * 2)))
def test_categorical_statistics_equal_scipy(pair):
    """Every registered categorical method on `CategoryCounts` laid out as the tracker lays them out:
    the top categories, "other", "unseen", then "missing" (left out by every method)."""
    ref, cur = (CategoryCounts(np.array(c + [7], dtype=float)) for c in pair)  # 7 missing values each side
    comparison = Comparison(ref, cur)
    r, c = comparison.counts()
    np.testing.assert_array_equal(r, pair[0])
    assume(r.sum() > 0 and c.sum() > 0)
    out = {name: DRIFT_METHODS[name].compute(comparison) for name in DRIFT_METHODS
           if "categorical" in DRIFT_METHODS[name].kinds}
    assert sorted(out) == ["chi2", "hellinger", "jensen_shannon", "l_infinity", "psi"]
    _assert_proportion_distances(r, c, out)
    change = np.abs(r / r.sum() - c / c.sum())
    other = len(r) - 2  # an aggregate of many categories: not a candidate for the largest change
    assert_same(out["l_infinity"], np.delete(change, other).max(), "L-infinity")
    statistic, p_value = out["chi2"]
    table = np.vstack([r, c])[:, (r > 0) | (c > 0)]
    if table.shape[1] < 2:  # one category: nothing to compare (scipy: a degenerate table)
        assert (statistic, p_value) == (0.0, 1.0)
    else:
        expected = stats.chi2_contingency(table)
        assert_same(statistic, expected.statistic, "chi2", abs_tol=1e-12 * table.sum())
        assert_same(p_value, expected.pvalue, "chi2 p-value", abs_tol=1e-12)


@property_settings(40)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=12))
def test_distances_of_a_distribution_to_itself_are_zero(count_list):
    """Identical proportions (also at another sample size) are at distance 0, exactly."""
    ref = np.array(count_list, dtype=float)
    assume(ref.sum() > 0)
    for cur in (ref, 3 * ref):
        for name in ("jensen_shannon", "hellinger", "psi", "l_infinity"):
            assert getattr(distances, name)(ref, cur) == 0.0, name
