"""Bottom-k row samples: uniform, bounded, and merging to exactly the sample of the union."""

from __future__ import annotations

import numpy as np

from seismo.stats.sample import RowSample, row_keys


def _sample(values: np.ndarray, positions: np.ndarray, k: int = 100) -> RowSample:
    return RowSample.from_rows(values, positions, k, seed=7)


def test_merged_pieces_equal_the_sample_of_the_whole():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(5_000, 3))
    positions = np.arange(10_000, 15_000)
    whole = _sample(values, positions)
    cuts = [0, 17, 1_200, 1_201, 3_999, 5_000]
    pieces = [_sample(values[a:b], positions[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    for order in (range(len(pieces)), rng.permutation(len(pieces))):
        merged = pieces[order[0]]
        for i in list(order)[1:]:
            merged = merged + pieces[i]
        np.testing.assert_array_equal(merged.positions, whole.positions)
        np.testing.assert_array_equal(merged.values, whole.values)
        assert merged.n == whole.n == 5_000
    a, b, c = pieces[:3]
    np.testing.assert_array_equal(((a + b) + c).keys, (a + (b + c)).keys)


def test_sample_is_bounded_and_uniform_over_positions():
    positions = np.arange(1_000_000)
    keys = row_keys(positions, seed=3)
    assert len(np.unique(keys)) == len(keys)  # a bijection of positions: no ties
    picked = _sample(positions[:, None].astype(float), positions, k=20_000)
    assert len(picked.positions) == 20_000
    # each decile of positions gets ~10% of the sample (binomial sd ~0.2 percentage points)
    share = np.bincount(picked.positions // 100_000, minlength=10) / 20_000
    np.testing.assert_allclose(share, 0.1, atol=0.01)
    np.testing.assert_array_equal(picked.rows()[:, 0], np.sort(picked.positions))


def test_small_input_keeps_every_row():
    s = _sample(np.arange(10.0)[:, None], np.arange(10))
    assert sorted(s.positions.tolist()) == list(range(10))
