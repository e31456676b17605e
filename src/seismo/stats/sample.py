"""A bounded uniform sample of rows that merges like every other partial.

Statistics that need raw rows (a domain classifier, a weighted recalibration) cannot be
summed, but they only ever look at a bounded random sample of a chunk. Giving every row a
pseudo-random key computed from its global position and keeping the rows with the ``k``
smallest keys ("bottom-k" sampling, Cohen & Kaplan, "Summarizing data using bottom-k
sketches", PODC 2007) makes that sample mergeable: the union of two samples, cut back to the
``k`` smallest keys, is exactly the sample of the union. So a chunk split over batches,
incremental runs or Spark partitions yields the very same rows as the chunk read at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def row_keys(positions: np.ndarray, seed: int) -> np.ndarray:
    """SplitMix64 of (seed, position): a fixed pseudo-random 64-bit key per row position."""
    with np.errstate(over="ignore"):
        z = positions.astype(np.uint64) * _GOLDEN + np.uint64(seed & 0xFFFFFFFFFFFFFFFF) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@dataclass
class RowSample:
    """At most ``k`` rows (``values``, one row per key) with the smallest keys, and the rows seen."""

    k: int
    keys: np.ndarray  # uint64, ascending
    positions: np.ndarray  # global row positions of the kept rows
    values: np.ndarray  # 2-D, rows × columns
    n: int = 0

    @classmethod
    def from_rows(cls, values: np.ndarray, positions: np.ndarray, k: int, seed: int) -> "RowSample":
        keys = row_keys(positions, seed)
        return cls._bottom(k, keys, positions, values, len(positions))

    @classmethod
    def _bottom(cls, k: int, keys: np.ndarray, positions: np.ndarray, values: np.ndarray, n: int) -> "RowSample":
        if len(keys) > k:
            keep = np.argpartition(keys, k - 1)[:k]
        else:
            keep = np.arange(len(keys))
        order = keep[np.lexsort((positions[keep], keys[keep]))]
        return cls(k, keys[order], positions[order], values[order], n)

    def merge(self, other: "RowSample") -> "RowSample":
        if self.k != other.k:
            raise ValueError(f"cannot merge samples of {self.k} and {other.k} rows")
        return RowSample._bottom(self.k, np.r_[self.keys, other.keys], np.r_[self.positions, other.positions],
                                 np.concatenate([self.values, other.values]), self.n + other.n)

    __add__ = merge

    def rows(self) -> np.ndarray:
        """The sampled rows in their original order (by position)."""
        return self.values[np.argsort(self.positions, kind="stable")]
