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
                n_groups: int) -> list[SparseHistogram]:
        """One histogram per group (``groups``: each row's group code) in one pass over the rows: the
        rows' bins offset by their group's block, counted once. Each keeps its non-empty bins only
        (`SparseHistogram`): a fine histogram has ~20,000 bins, and a hundred segments of dense ones
        per column and chunk would hold gigabytes where their rows fill a few thousand bins."""
        values = np.asarray(values, dtype=np.float64)
        combined = np.asarray(groups, dtype=np.int64) * n_bins + np.asarray(bins, dtype=np.int64)
        present, inverse = np.unique(combined, return_inverse=True)
        counts = np.bincount(inverse, minlength=present.size).astype(np.float64)
        weights = values if np.isfinite(values).all() else np.where(np.isfinite(values), values, 0.0)
        sums = np.bincount(inverse, weights=weights, minlength=present.size)
        group_of, bin_of = np.divmod(present, n_bins)
        sums[bin_of == n_bins - 1] = 0.0  # the NaN bin holds only NaN values
        edges = np.searchsorted(group_of, np.arange(n_groups + 1))
        return [SparseHistogram(n_bins, bin_of[a:b], counts[a:b], sums[a:b]) for a, b in zip(edges[:-1], edges[1:])]

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


@dataclass
class SparseHistogram:
    """A `Histogram` that keeps its non-empty bins only (``bins`` sorted): a segment's partial.

    It merges like a histogram (``+``) and becomes one (`dense`) to be finished, one at a time.
    """

    n_bins: int
    bins: np.ndarray
    counts: np.ndarray
    sums: np.ndarray

    def __add__(self, other: SparseHistogram) -> SparseHistogram:
        if self.n_bins != other.n_bins:
            raise ValueError(f"cannot combine histograms with {self.n_bins} and {other.n_bins} bins; "
                             "they were built on different points")
        present, inverse = np.unique(np.concatenate([self.bins, other.bins]), return_inverse=True)
        counts = np.bincount(inverse, weights=np.concatenate([self.counts, other.counts]), minlength=present.size)
        sums = np.bincount(inverse, weights=np.concatenate([self.sums, other.sums]), minlength=present.size)
        return SparseHistogram(self.n_bins, present, counts, sums)

    def dense(self) -> Histogram:
        counts, sums = np.zeros(self.n_bins), np.zeros(self.n_bins)
        counts[self.bins], sums[self.bins] = self.counts, self.sums
        return Histogram(counts, sums)

    def __sub__(self, other: SparseHistogram | Histogram) -> Histogram:
        return self.dense() - dense(other)

    @property
    def n(self) -> float:
        return float(self.counts[self.bins < self.n_bins - 1].sum())


def dense(histogram: Histogram | SparseHistogram) -> Histogram:
    """``histogram`` as a `Histogram` (a sparse one made dense)."""
    return histogram.dense() if isinstance(histogram, SparseHistogram) else histogram
