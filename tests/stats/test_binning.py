"""Every value lands in the fine bin the layout promises (point, open interval,
tail or NaN), and every fine bin maps to the coarse bin its values belong to."""

import numpy as np
import pytest

from seismo.stats.binning import (
    coarse_edges,
    fine_bin_index,
    fine_points,
    fine_to_coarse,
    n_coarse_bins,
    n_fine_bins,
)


def brute_fine_bin(values: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Fine bin by comparing every value with every point (no searchsorted)."""
    equal = values[:, None] == points[None, :]
    below = (points[None, :] < values[:, None]).sum(axis=1)
    bins = np.where(equal.any(axis=1), 2 * equal.argmax(axis=1) + 1, 2 * below)
    return np.where(np.isnan(values), 2 * len(points) + 1, bins)


def brute_coarse_bin(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Coarse bin straight from the definition: tails, [e0, e1], then (e_j-1, e_j]."""
    m = len(edges) - 1
    inner = np.maximum((edges[None, :] < values[:, None]).sum(axis=1), 1)
    return np.where(values < edges[0], 0, np.where(values > edges[-1], max(m, 1) + 1, inner))


def test_nan_tails_points_and_intervals() -> None:
    points = np.array([1.0, 2.0, 4.0])
    values = np.array([np.nan, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 9.0, -np.inf, np.inf])
    bins = fine_bin_index(values, points)
    assert bins.tolist() == [7, 0, 1, 2, 3, 4, 5, 6, 0, 6]
    assert n_fine_bins(points) == 8


def test_matches_brute_force_on_random_values() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=300)
    points = fine_points(ref)
    values = np.concatenate([rng.normal(scale=2, size=300), ref[:50], [np.nan, np.nan]])
    assert np.array_equal(fine_bin_index(values, points), brute_fine_bin(values, points))


def test_tied_discrete_data() -> None:
    rng = np.random.default_rng(1)
    ref = rng.integers(0, 5, size=1000).astype(float)
    points = fine_points(ref)
    assert points.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    bins = fine_bin_index(ref, points)
    assert np.all(bins % 2 == 1)  # exact points: the reference only fills point bins
    assert np.array_equal(np.bincount(bins, minlength=12)[1:10:2], np.bincount(ref.astype(int)))


def test_empty_points_put_everything_in_one_bin() -> None:
    bins = fine_bin_index(np.array([1.0, np.nan]), np.empty(0))
    assert bins.tolist() == [0, 1]


def test_reduced_points_keep_quantiles_grid_and_edges() -> None:
    rng = np.random.default_rng(2)
    ref = rng.lognormal(size=50_000)
    edges = coarse_edges(ref)
    points = fine_points(ref, max_points=500, include=edges)
    assert 500 <= len(points) <= 1000 + len(edges)
    assert np.all(np.diff(points) > 0)
    assert np.isin(edges, points).all()
    assert points[0] == ref.min() and points[-1] == ref.max()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("grid_range", [None, (-10.0, 10.0)])
def test_fine_to_coarse_agrees_with_coarse_definition(seed: int, grid_range) -> None:
    rng = np.random.default_rng(seed)
    ref = rng.normal(size=2000)
    edges = coarse_edges(ref, n_bins=7)
    points = fine_points(ref, max_points=100, include=edges, grid_range=grid_range)
    mapping = fine_to_coarse(points, edges)
    values = np.concatenate([rng.normal(scale=3, size=2000), points, edges])
    got = mapping[fine_bin_index(values, points)]
    want = brute_coarse_bin(values, edges)
    assert np.array_equal(got, want)
    assert mapping[-1] == -1 and got.max() < n_coarse_bins(edges)


def test_fine_to_coarse_constant_reference() -> None:
    edges = coarse_edges(np.full(10, 3.0))
    points = np.array([2.0, 3.0, 4.0])  # grid points on both sides of the constant
    mapping = fine_to_coarse(points, edges)
    values = np.array([1.0, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0])
    assert mapping[fine_bin_index(values, points)].tolist() == [0, 0, 0, 1, 2, 2, 2]
    assert n_coarse_bins(edges) == 3


@pytest.mark.parametrize("kind", ["normal", "uniform", "lognormal", "integers", "tiny_span", "two_points", "edges", "next_to_points"])
def test_lookup_bins_equal_binary_search(kind):
    """The lookup table (used for large inputs) gives exactly the binary search's bins."""
    from seismo.stats.binning import LOOKUP_MIN_VALUES, PointLookup, _search_bins

    rng = np.random.default_rng(11)
    n = LOOKUP_MIN_VALUES * 3
    ref = {
        "normal": rng.normal(size=50_000),
        "uniform": rng.uniform(-1e6, 1e6, size=50_000),
        "lognormal": rng.lognormal(0, 2, size=50_000),
        "integers": rng.integers(0, 40, size=50_000).astype(float),
        "tiny_span": 1e12 + rng.uniform(0, 1e-3, size=50_000),
        "two_points": np.r_[np.zeros(100), np.ones(100)],
        "edges": rng.normal(size=50_000),
        "next_to_points": rng.normal(size=50_000),
    }[kind]
    points = fine_points(ref)
    values = np.r_[rng.choice(ref, n), rng.normal(np.median(ref), np.std(ref) * 2 + 1e-9, n)]
    values[::37] = rng.choice(points, len(values[::37]))
    values[::101] = np.nan
    values[::103] = np.inf
    values[::107] = -np.inf
    if kind == "edges":  # values at and next to the table's cell edges
        lookup = PointLookup(points)
        cells = points[0] + np.arange(0, lookup.n_cells, 7) / lookup.scale
        values = np.r_[values, cells, np.nextafter(cells, -np.inf), np.nextafter(cells, np.inf)]
    if kind == "next_to_points":  # a lone point's cell decides with one comparison: below, at, above
        near = rng.choice(points, n)
        values = np.r_[values, near, np.nextafter(near, -np.inf), np.nextafter(near, np.inf), -1e300, 1e300]
    expected = _search_bins(values, points)
    for _ in range(2):  # a retired lookup and a kept one both answer exactly
        np.testing.assert_array_equal(fine_bin_index(values, points), expected)
