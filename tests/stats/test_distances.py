"""Each distance on two count vectors equals an independent implementation
(scipy or plain numpy from the formula), ignores bins empty on both sides, and
returns nan when one side has no mass."""

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency

from seismo.stats.binning import coarse_edges, fine_points, fine_to_coarse, n_coarse_bins
from seismo.stats.continuous import coarse_counts
from seismo.stats.distances import PSI_FLOOR, chi2, hellinger, jensen_shannon, l_infinity, psi
from seismo.stats.histogram import Histogram


def count_pairs():
    """Random count vectors, some with bins empty on one or both sides."""
    rng = np.random.default_rng(0)
    for size in [2, 3, 5, 12, 40]:
        for _ in range(4):
            ref = rng.poisson(rng.uniform(0, 50, size)).astype(float)
            cur = rng.poisson(rng.uniform(0, 50, size)).astype(float)
            ref[0] = cur[0] = 0.0
            if ref.sum() > 0 and cur.sum() > 0:
                yield ref, cur


def coarse_pairs():
    """Coarse histograms of a random reference and chunks drawn from other laws."""
    rng = np.random.default_rng(1)
    for ref, cur in (
        (rng.normal(size=20_000), rng.normal(0.2, 1.1, size=5_000)),
        (rng.lognormal(size=10_000), rng.lognormal(0.1, size=50_000)),
        (rng.poisson(4, 8_000).astype(float), rng.poisson(5, 3_000).astype(float)),
    ):
        edges = coarse_edges(ref)
        points = fine_points(ref, max_points=1000, include=edges)
        mapping, n = fine_to_coarse(points, edges), n_coarse_bins(edges)
        yield (
            coarse_counts(Histogram.from_values(ref, points), mapping, n),
            coarse_counts(Histogram.from_values(cur, points), mapping, n),
        )


ALL_PAIRS = list(count_pairs()) + list(coarse_pairs())


def proportions(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return ref / ref.sum(), cur / cur.sum()


@pytest.mark.parametrize("ref,cur", ALL_PAIRS)
def test_jensen_shannon_equals_scipy(ref, cur) -> None:
    got = jensen_shannon(ref, cur)
    assert isinstance(got, float)
    assert got == pytest.approx(jensenshannon(*proportions(ref, cur), base=2), abs=1e-12)


@pytest.mark.parametrize("ref,cur", ALL_PAIRS)
def test_hellinger_psi_l_infinity_equal_formula(ref, cur) -> None:
    p, q = proportions(ref, cur)
    want_h = np.sqrt(max(0.0, 1 - np.sum(np.sqrt(p * q))))
    keep = (p > 0) | (q > 0)
    pf, qf = np.maximum(p[keep], PSI_FLOOR), np.maximum(q[keep], PSI_FLOOR)
    want_psi = np.sum((qf - pf) * np.log(qf / pf))
    assert hellinger(ref, cur) == pytest.approx(want_h, abs=1e-12)
    assert psi(ref, cur) == pytest.approx(want_psi, rel=1e-12, abs=1e-15)
    assert l_infinity(ref, cur) == pytest.approx(np.max(np.abs(p - q)), abs=1e-15)


@pytest.mark.parametrize("ref,cur", ALL_PAIRS)
def test_chi2_equals_scipy(ref, cur) -> None:
    keep = (ref > 0) | (cur > 0)
    stat, pvalue = chi2(ref, cur)
    assert isinstance(stat, float) and isinstance(pvalue, float)
    if keep.sum() < 2:
        assert (stat, pvalue) == (0.0, 1.0)
        return
    want = chi2_contingency(np.vstack([ref[keep], cur[keep]]))
    assert stat == pytest.approx(want.statistic, rel=1e-12)
    assert pvalue == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)


def test_chi2_two_by_two_uses_scipy_default_correction() -> None:
    ref, cur = np.array([30.0, 10.0, 0.0]), np.array([20.0, 25.0, 0.0])
    want = chi2_contingency(np.array([[30.0, 10.0], [20.0, 25.0]]))
    assert chi2(ref, cur) == pytest.approx((want.statistic, want.pvalue))


def test_known_values() -> None:
    same = np.array([3.0, 0.0, 5.0])
    for f in (jensen_shannon, hellinger, psi, l_infinity):
        assert f(same, 2 * same) == pytest.approx(0.0, abs=1e-12)
    disjoint = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert jensen_shannon(*disjoint) == pytest.approx(1.0)
    assert hellinger(*disjoint) == pytest.approx(1.0)
    assert l_infinity(*disjoint) == 1.0
    # One empty bin: each proportion floored at 1e-4, so the term stays finite.
    assert psi(*disjoint) == pytest.approx(2 * (1 - 1e-4) * np.log(1e4))


def test_bins_empty_on_both_sides_are_ignored() -> None:
    ref, cur = np.array([4.0, 1.0, 7.0]), np.array([2.0, 5.0, 1.0])
    padded = (np.insert(ref, [0, 2, 3], 0.0), np.insert(cur, [0, 2, 3], 0.0))
    for f in (jensen_shannon, hellinger, psi, l_infinity, chi2):
        assert f(*padded) == pytest.approx(f(ref, cur), rel=1e-14)


def test_degenerate_and_empty_inputs() -> None:
    assert chi2(np.array([5.0, 0.0]), np.array([3.0, 0.0])) == (0.0, 1.0)
    empty, full = np.zeros(3), np.array([1.0, 2.0, 3.0])
    for f in (jensen_shannon, hellinger, psi, l_infinity):
        assert np.isnan(f(empty, full)) and np.isnan(f(full, empty))
    assert all(np.isnan(chi2(full, empty)))
    with pytest.raises(ValueError, match="differ in length"):
        psi(full, full[:2])


def test_chi2_closed_form_matches_scipy_on_random_tables() -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        size = int(rng.integers(2, 12))
        ref = rng.integers(0, 50, size).astype(float) * (rng.random(size) < 0.8)
        cur = ref + rng.integers(-2, 3, size) if rng.random() < 0.3 else rng.integers(0, 50, size)
        cur = np.maximum(cur, 0).astype(float)
        keep = (ref > 0) | (cur > 0)
        if ref.sum() == 0 or cur.sum() == 0 or keep.sum() < 2:
            continue
        want = chi2_contingency(np.vstack([ref[keep], cur[keep]]))
        assert chi2(ref, cur) == pytest.approx((want.statistic, want.pvalue), rel=1e-9, abs=1e-300)
