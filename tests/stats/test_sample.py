"""Row keys of bottom-k samples: one fixed key per position, no ties, uniform over positions."""

from __future__ import annotations

import numpy as np

from seismo.stats.sample import row_keys


def _bottom_k(positions: np.ndarray, k: int, seed: int = 3) -> np.ndarray:
    keys = row_keys(positions, seed)
    return np.sort(positions[np.argsort(keys, kind="stable")[:k]])


def test_keys_are_fixed_per_position_and_never_tie():
    positions = np.arange(1_000_000)
    keys = row_keys(positions, seed=3)
    assert len(np.unique(keys)) == len(keys)  # a bijection of positions: no ties
    np.testing.assert_array_equal(row_keys(positions[500:600], seed=3), keys[500:600])  # whatever the batch
    assert not np.array_equal(row_keys(positions[:100], seed=4), keys[:100])  # the seed matters


def test_bottom_k_of_pieces_is_the_bottom_k_of_the_whole():
    positions = np.arange(50_000)
    whole = _bottom_k(positions, 1_000)
    cuts = [0, 17, 12_000, 12_001, 39_999, 50_000]
    pieces = np.concatenate([_bottom_k(positions[a:b], 1_000) for a, b in zip(cuts[:-1], cuts[1:])])
    np.testing.assert_array_equal(_bottom_k(pieces, 1_000), whole)


def test_bottom_k_is_uniform_over_positions():
    picked = _bottom_k(np.arange(1_000_000), 20_000)
    # each decile of positions gets ~10% of the sample (binomial sd ~0.2 percentage points)
    share = np.bincount(picked // 100_000, minlength=10) / 20_000
    np.testing.assert_allclose(share, 0.1, atol=0.01)
