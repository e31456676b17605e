"""A Histogram holds the count and value sum of every fine bin; merging the
histograms of any partition of the rows gives the histogram of all rows, and
subtracting one part gives the histogram of the rest."""

from functools import reduce

import numpy as np
import pytest

from seismo.stats.binning import fine_bin_index, fine_points, n_fine_bins
from seismo.stats.histogram import Histogram


def random_parts(rng: np.random.Generator, n: int, n_parts: int) -> list[np.ndarray]:
    """Random partition of range(n) into parts of random sizes, one of them empty."""
    order = rng.permutation(n)
    cuts = np.sort(rng.integers(0, n + 1, size=n_parts - 2))
    parts = np.split(order, cuts)
    parts.append(order[:0])
    rng.shuffle(parts)
    return parts


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=5000)
    values = rng.normal(0.3, 1.5, size=3000)
    values[rng.choice(3000, 100, replace=False)] = np.nan
    return fine_points(ref, max_points=200), values


def test_counts_and_sums_by_bin(data) -> None:
    points, values = data
    hist = Histogram.from_values(values, points)
    bins = fine_bin_index(values, points)
    assert hist.counts.dtype == np.float64 and hist.sums.dtype == np.float64
    assert len(hist.counts) == n_fine_bins(points)
    for b in np.unique(bins)[:20]:
        assert hist.counts[b] == (bins == b).sum()
        assert hist.sums[b] == pytest.approx(np.nansum(values[bins == b]))
    assert hist.sums[-1] == 0.0 and np.isfinite(hist.sums).all()
    assert hist.n == 2900 and hist.n_missing == 100


def test_from_bins_matches_from_values(data) -> None:
    points, values = data
    a = Histogram.from_values(values, points)
    b = Histogram.from_bins(fine_bin_index(values, points), values, n_fine_bins(points))
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.sums, b.sums)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_merge_of_partition_equals_whole(data, seed: int) -> None:
    points, values = data
    rng = np.random.default_rng(seed)
    parts = [
        Histogram.from_values(values[idx], points) for idx in random_parts(rng, len(values), 6)
    ]
    merged = reduce(lambda a, b: a + b, parts)
    whole = Histogram.from_values(values, points)
    assert np.array_equal(merged.counts, whole.counts)
    np.testing.assert_allclose(merged.sums, whole.sums, rtol=1e-12, atol=1e-9)


def test_associative(data) -> None:
    points, values = data
    a, b, c = (Histogram.from_values(v, points) for v in np.array_split(values, 3))
    left, right = (a + b) + c, a.merge(b.merge(c))
    assert np.array_equal(left.counts, right.counts)
    np.testing.assert_allclose(left.sums, right.sums, rtol=1e-12, atol=1e-9)


def test_subtraction_gives_the_remaining_rows(data) -> None:
    points, values = data
    total = Histogram.from_values(values, points)
    chunk = Histogram.from_values(values[:1000], points)
    rest = Histogram.from_values(values[1000:], points)
    diff = total - chunk
    assert np.array_equal(diff.counts, rest.counts)
    np.testing.assert_allclose(diff.sums, rest.sums, rtol=1e-12, atol=1e-9)
    assert np.all(diff.sums[diff.counts == 0] == 0.0)


def test_mismatched_bins_raise(data) -> None:
    points, values = data
    with pytest.raises(ValueError, match="different points"):
        Histogram.from_values(values, points) + Histogram.from_values(values, points[:10])


def test_infinite_values_count_in_the_tails_but_not_in_the_sums() -> None:
    points = np.array([0.0, 1.0, 2.0])
    values = np.array([-np.inf, -3.0, 0.5, 1.0, np.inf, 7.0, np.nan, np.nan])
    hist = Histogram.from_values(values, points)
    assert hist.counts.tolist() == [2, 0, 1, 1, 0, 0, 2, 2]
    assert hist.sums.tolist() == [-3.0, 0, 0.5, 1.0, 0, 0, 7.0, 0]
    finite = Histogram.from_values(values[np.isfinite(values)], points)
    assert np.array_equal(finite.sums, hist.sums)
