"""Mergeable fine-bin histogram: per-bin counts and sums of one numeric column.

Counts give every CDF-based statistic; the sums give each bin's mean, which
places the step of the CDF inside a bin (Wasserstein) without keeping rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seismo.stats.binning import fine_bin_index, n_fine_bins


@dataclass
class Histogram:
    """Counts and value sums per fine bin; the last bin counts NaN (its sum is 0)."""

    counts: np.ndarray
    sums: np.ndarray

    @classmethod
    def from_values(cls, values: np.ndarray, points: np.ndarray) -> Histogram:
        """Histogram of raw values on the fine bins of ``points``."""
        values = np.asarray(values, dtype=np.float64)
        return cls.from_bins(fine_bin_index(values, points), values, n_fine_bins(points))

    @classmethod
    def from_bins(cls, bins: np.ndarray, values: np.ndarray, n_bins: int) -> Histogram:
        """Histogram from bin indices already computed (shared across statistics)."""
        values = np.asarray(values, dtype=np.float64)
        counts = np.bincount(bins, minlength=n_bins).astype(np.float64)
        sums = np.bincount(bins, weights=values, minlength=n_bins)
        sums[-1] = 0.0  # the NaN bin holds only NaN values
        if not np.isfinite(sums).all():  # ±inf in a tail bin: sum its finite values only
            weights = np.where(np.isfinite(values), values, 0.0)
            sums = np.bincount(bins, weights=weights, minlength=n_bins)
        return cls(counts, sums)

    @classmethod
    def grouped(cls, bins: np.ndarray, values: np.ndarray, n_bins: int, groups: np.ndarray,
                n_groups: int) -> list[Histogram]:
        """One histogram per group (``groups``: each row's group code), in one bincount pass:
        the rows' bins offset by their group's block, so S groups cost one pass, not S."""
        values = np.asarray(values, dtype=np.float64)
        combined = np.asarray(groups, dtype=np.int64) * n_bins + bins
        size = n_groups * n_bins
        counts = np.bincount(combined, minlength=size).astype(np.float64).reshape(n_groups, n_bins)
        weights = values if np.isfinite(values).all() else np.where(np.isfinite(values), values, 0.0)
        sums = np.bincount(combined, weights=weights, minlength=size).reshape(n_groups, n_bins)
        sums[:, -1] = 0.0  # the NaN bin holds only NaN values
        return [cls(counts[k], sums[k]) for k in range(n_groups)]

    def _check(self, other: Histogram) -> None:
        if self.counts.shape != other.counts.shape:
            raise ValueError(
                f"cannot combine histograms with {self.counts.size} and "
                f"{other.counts.size} bins; they were built on different points"
            )

    def merge(self, other: Histogram) -> Histogram:
        """Histogram of the union of both row sets (associative, commutative)."""
        self._check(other)
        return Histogram(self.counts + other.counts, self.sums + other.sums)

    __add__ = merge

    def __sub__(self, other: Histogram) -> Histogram:
        """Histogram without ``other``'s rows, e.g. the reference minus one chunk."""
        self._check(other)
        counts = self.counts - other.counts
        # Rounding can leave a tiny sum in an emptied bin; it would read as a mean.
        sums = np.where(counts > 0, self.sums - other.sums, 0.0)
        return Histogram(counts, sums)

    @property
    def n(self) -> float:
        """Number of non-NaN values."""
        return float(self.counts[:-1].sum())

    @property
    def n_missing(self) -> float:
        """Number of NaN values."""
        return float(self.counts[-1])
