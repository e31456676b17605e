"""Mergeable category counts of one categorical column.

Bin layout, fixed at fit time: the ``K`` most frequent reference categories,
then "other" (reference categories beyond the top ``K``), "unseen" (values the
reference never had), and "missing" last. Keeping "other" and "unseen" apart
lets a report say whether drift comes from new values or from the long tail.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class CategoryCounts:
    """Counts per category bin (layout in the module docstring)."""

    counts: np.ndarray

    @classmethod
    def from_codes(cls, codes: np.ndarray, n_bins: int) -> CategoryCounts:
        """Counts of bin positions from `seismo.data.categories.category_bins`."""
        return cls(
            np.bincount(np.asarray(codes, dtype=np.int64), minlength=n_bins).astype(np.float64)
        )

    @classmethod
    def grouped(cls, codes: np.ndarray, n_bins: int, groups: np.ndarray, n_groups: int) -> list[CategoryCounts]:
        """One `CategoryCounts` per group (``groups``: each row's group code), in one bincount pass."""
        combined = np.asarray(groups, dtype=np.int64) * n_bins + np.asarray(codes, dtype=np.int64)
        counts = np.bincount(combined, minlength=n_groups * n_bins).astype(np.float64).reshape(n_groups, n_bins)
        return [cls(counts[k]) for k in range(n_groups)]

    def _check(self, other: CategoryCounts) -> None:
        if self.counts.shape != other.counts.shape:
            raise ValueError(
                f"cannot combine category counts with {self.counts.size} and "
                f"{other.counts.size} bins; they were built on different categories"
            )

    def merge(self, other: CategoryCounts) -> CategoryCounts:
        """Counts of the union of both row sets (associative, commutative)."""
        self._check(other)
        return CategoryCounts(self.counts + other.counts)

    __add__ = merge

    def __sub__(self, other: CategoryCounts) -> CategoryCounts:
        """Counts without ``other``'s rows, e.g. the reference minus one chunk."""
        self._check(other)
        return CategoryCounts(self.counts - other.counts)

    @property
    def n(self) -> float:
        """Number of non-missing values (unseen and other included)."""
        return float(self.counts[:-1].sum())

    @property
    def n_missing(self) -> float:
        return float(self.counts[-1])

    @property
    def n_unseen(self) -> float:
        return float(self.counts[-2])
