"""Finishes on fine histograms agree with scipy/numpy on the raw values (KS
exactly with exact points and within 0.002 with reduced points, Wasserstein
within 1%, quantiles inside their bin), and finishing merged partials of any
partition of a chunk equals finishing the whole chunk."""

from functools import reduce

import numpy as np
import pytest
from scipy.stats import ks_2samp, wasserstein_distance

from seismo.stats.binning import (
    coarse_edges,
    fine_bin_index,
    fine_points,
    fine_to_coarse,
    n_coarse_bins,
)
from seismo.stats.continuous import coarse_counts, kolmogorov_smirnov, quantile, wasserstein
from seismo.stats.distances import hellinger, jensen_shannon, psi
from seismo.stats.histogram import Histogram

CASES = {
    # name: (reference, chunk) draws from a seeded generator
    "normal": lambda g: (g.normal(size=5_000), g.normal(size=5_000)),
    "normal-shifted": lambda g: (g.normal(size=3_000), g.normal(0.3, 1.2, size=100_000)),
    "small-reference": lambda g: (g.normal(size=1_000), g.normal(size=100_000)),
    "small-reference-lognormal": lambda g: (g.lognormal(size=1_000), g.lognormal(size=100_000)),
    "lognormal": lambda g: (g.lognormal(size=4_000), g.lognormal(0.05, size=30_000)),
    "integers": lambda g: (
        g.poisson(6, 50_000).astype(float),
        g.poisson(6.5, 100_000).astype(float),
    ),
    "integers-wider-chunk": lambda g: (
        g.integers(0, 10, 5_000).astype(float),
        g.integers(-3, 14, 2_000).astype(float),
    ),
    "reduced-normal-20k": lambda g: (g.normal(size=20_000), g.normal(size=5_000)),
    "reduced-normal": lambda g: (g.normal(size=200_000), g.normal(size=100_000)),
    "reduced-shifted": lambda g: (g.normal(size=200_000), g.normal(0.1, size=100_000)),
    "reduced-lognormal-small-chunk": lambda g: (g.lognormal(size=200_000), g.lognormal(size=500)),
}


def build(name: str, seed: int):
    ref, cur = CASES[name](np.random.default_rng(seed))
    points = fine_points(ref, include=coarse_edges(ref))
    return ref, cur, points, Histogram.from_values(ref, points), Histogram.from_values(cur, points)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", list(CASES))
def test_ks_and_wasserstein_match_scipy(name: str, seed: int) -> None:
    ref, cur, points, h_ref, h_cur = build(name, seed)
    exact = np.isin(np.unique(ref), points).all()
    assert exact == (not name.startswith("reduced"))
    ks = kolmogorov_smirnov(h_ref, h_cur)
    assert ks == pytest.approx(ks_2samp(ref, cur).statistic, abs=1e-12 if exact else 0.002)
    assert wasserstein(h_ref, h_cur, points) == pytest.approx(
        wasserstein_distance(ref, cur), rel=0.01
    )


@pytest.mark.parametrize("side", [-1.0, 1.0])
def test_wasserstein_exact_when_the_cdfs_never_cross_inside_a_bin(side: float) -> None:
    rng = np.random.default_rng(7)
    ref = rng.normal(size=3_000)
    edge = ref.max() if side > 0 else ref.min()
    cur = edge + side * rng.lognormal(size=20_000)  # entirely beyond one end of the reference
    points = fine_points(ref, max_points=100)  # reduced points: only bin means are known
    got = wasserstein(
        Histogram.from_values(ref, points), Histogram.from_values(cur, points), points
    )
    # Exact in exact arithmetic, but the two sides sum 23 000 values in different orders (bin
    # sums vs. scipy's sorted CDF steps): n * eps is about 2.6e-12 relative, so 1e-12 was too tight.
    assert got == pytest.approx(wasserstein_distance(ref, cur), rel=1e-9)


def test_ks_error_bounded_by_reference_mass_in_an_interval() -> None:
    rng = np.random.default_rng(3)
    ref, cur = rng.normal(size=20_000), rng.normal(0.05, size=20_000)
    points = fine_points(ref, max_points=50)
    h_ref = Histogram.from_values(ref, points)
    bound = h_ref.counts[0:-1:2].max() / h_ref.n
    assert (
        abs(
            kolmogorov_smirnov(h_ref, Histogram.from_values(cur, points))
            - ks_2samp(ref, cur).statistic
        )
        <= bound
    )


def test_nan_is_ignored_and_empty_side_is_nan() -> None:
    rng = np.random.default_rng(4)
    ref, cur = rng.normal(size=500), rng.normal(size=400)
    points = fine_points(ref)
    with_nan = np.concatenate([cur, np.full(50, np.nan)])
    h_ref = Histogram.from_values(ref, points)
    h_cur = Histogram.from_values(with_nan, points)
    assert kolmogorov_smirnov(h_ref, h_cur) == pytest.approx(
        ks_2samp(ref, cur).statistic, abs=1e-12
    )
    assert wasserstein(h_ref, h_cur, points) == wasserstein(
        h_ref, Histogram.from_values(cur, points), points
    )
    all_nan = Histogram.from_values(np.full(3, np.nan), points)
    assert np.isnan(kolmogorov_smirnov(h_ref, all_nan))
    assert np.isnan(wasserstein(h_ref, all_nan, points))
    assert np.isnan(quantile(all_nan, points, 0.5, np.nan, np.nan))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "name", ["normal-shifted", "lognormal", "integers", "reduced-lognormal-small-chunk"]
)
def test_quantile_lies_in_the_bins_of_its_order_statistics(name: str, seed: int) -> None:
    _, cur, points, _, h_cur = build(name, seed)
    lo, hi = cur.min(), cur.max()
    limits = np.concatenate([[lo], points, [hi]])
    for q in [0.0, 0.1, 0.5, 0.9, 1.0]:
        got = quantile(h_cur, points, q, lo, hi)
        want = np.quantile(cur, q)
        rank = (len(cur) - 1) * q
        below, above = np.sort(cur)[[int(np.floor(rank)), int(np.ceil(rank))]]
        # the approximation stays between the points bracketing the two order statistics
        low = limits[np.searchsorted(limits, below, side="right") - 1]
        high = limits[np.searchsorted(limits, above, side="left")]
        assert low <= got <= high, (q, got, want)
        if name == "integers":
            assert got == want
    assert quantile(h_cur, points, 0.0, lo, hi) == lo
    assert quantile(h_cur, points, 1.0, lo, hi) == hi


def test_median_close_to_numpy() -> None:
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(size=10_000), rng.normal(0.2, size=99_999)
    points = fine_points(ref)
    got = quantile(Histogram.from_values(cur, points), points, 0.5, cur.min(), cur.max())
    assert got == pytest.approx(np.median(cur), abs=1e-3)


def test_coarse_counts_sum_fine_bins() -> None:
    rng = np.random.default_rng(6)
    ref, cur = rng.normal(size=5_000), np.concatenate([rng.normal(0, 2, size=3_000), [np.nan]])
    edges = coarse_edges(ref)
    points = fine_points(ref, max_points=300, include=edges)
    got = coarse_counts(
        Histogram.from_values(cur, points), fine_to_coarse(points, edges), n_coarse_bins(edges)
    )
    finite = cur[~np.isnan(cur)]
    inner = np.maximum(np.searchsorted(edges, finite, side="left"), 1)
    direct = np.where(finite < edges[0], 0, np.where(finite > edges[-1], len(edges), inner))
    assert np.array_equal(got, np.bincount(direct, minlength=n_coarse_bins(edges)))


def random_parts(rng: np.random.Generator, n: int, n_parts: int) -> list[np.ndarray]:
    """Random partition of range(n) into parts of random sizes, one of them empty."""
    order = rng.permutation(n)
    parts = np.split(order, np.sort(rng.integers(0, n + 1, size=n_parts - 2)))
    parts.append(order[:0])
    rng.shuffle(parts)
    return parts


def finish_all(h_ref: Histogram, h_cur: Histogram, points, mapping, n_coarse) -> np.ndarray:
    c_ref, c_cur = coarse_counts(h_ref, mapping, n_coarse), coarse_counts(h_cur, mapping, n_coarse)
    return np.array(
        [
            kolmogorov_smirnov(h_ref, h_cur),
            wasserstein(h_ref, h_cur, points),
            jensen_shannon(c_ref, c_cur),
            hellinger(c_ref, c_cur),
            psi(c_ref, c_cur),
        ]
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", ["normal-shifted", "integers", "reduced-shifted"])
def test_finishing_merged_partitions_equals_whole(name: str, seed: int) -> None:
    ref, cur, points, h_ref, h_cur = build(name, seed)
    edges = coarse_edges(ref)
    mapping, n_coarse = fine_to_coarse(points, edges), n_coarse_bins(edges)
    rng = np.random.default_rng(100 + seed)
    bins = fine_bin_index(cur, points)  # shared bin indices, as a calculator would reuse them
    parts = [
        Histogram.from_bins(bins[idx], cur[idx], len(h_cur.counts))
        for idx in random_parts(rng, len(cur), 7)
    ]
    merged = reduce(lambda a, b: a + b, [parts[i] for i in rng.permutation(len(parts))])
    want = finish_all(h_ref, h_cur, points, mapping, n_coarse)
    np.testing.assert_allclose(
        finish_all(h_ref, merged, points, mapping, n_coarse), want, rtol=1e-9, atol=1e-12
    )
    a, b, c = parts[:3]
    np.testing.assert_allclose(
        finish_all(h_ref, (a + b) + c, points, mapping, n_coarse),
        finish_all(h_ref, a + (b + c), points, mapping, n_coarse),
        rtol=1e-9,
        atol=1e-12,
    )


def test_reference_minus_chunk_equals_remaining_rows() -> None:
    ref, cur, points, h_ref, h_cur = build("reduced-shifted", 0)
    edges = coarse_edges(ref)
    mapping, n_coarse = fine_to_coarse(points, edges), n_coarse_bins(edges)
    chunk = Histogram.from_values(ref[:30_000], points)
    rest = Histogram.from_values(ref[30_000:], points)
    np.testing.assert_allclose(
        finish_all(h_ref - chunk, h_cur, points, mapping, n_coarse),
        finish_all(rest, h_cur, points, mapping, n_coarse),
        rtol=1e-9,
        atol=1e-12,
    )
    # and the leave-one-chunk-out reference still matches scipy on the raw rows
    assert kolmogorov_smirnov(h_ref - chunk, chunk) == pytest.approx(
        ks_2samp(ref[30_000:], ref[:30_000]).statistic, abs=0.002
    )
