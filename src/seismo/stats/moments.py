"""Count, mean and centred second moment, merged exactly (Chan et al.)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Moments:
    """Mergeable mean and variance of the finite values of a column.

    Merging uses Chan, Golub and LeVeque's pairwise update ("Algorithms for
    computing the sample variance", 1983), which stays accurate where the naive
    sum of squares cancels catastrophically.
    """

    n: float = 0.0
    mean: float = 0.0
    m2: float = 0.0
    lo: float = np.inf
    hi: float = -np.inf

    @classmethod
    def from_values(cls, values: np.ndarray) -> "Moments":
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return cls()
        mean = float(finite.mean())
        return cls(float(finite.size), mean, float(((finite - mean) ** 2).sum()),
                   float(finite.min()), float(finite.max()))

    def merge(self, other: "Moments") -> "Moments":
        if other.n == 0:
            return Moments(self.n, self.mean, self.m2, self.lo, self.hi)
        if self.n == 0:
            return Moments(other.n, other.mean, other.m2, other.lo, other.hi)
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * other.n / n
        m2 = self.m2 + other.m2 + delta * delta * self.n * other.n / n
        return Moments(n, mean, m2, min(self.lo, other.lo), max(self.hi, other.hi))

    __add__ = merge

    @property
    def variance(self) -> float:
        """Sample variance (ddof=1), NaN below two values."""
        return self.m2 / (self.n - 1) if self.n > 1 else float("nan")

    @property
    def std(self) -> float:
        return float(np.sqrt(self.variance))

    @property
    def total(self) -> float:
        return self.mean * self.n


def grouped_moments(values: np.ndarray, groups: np.ndarray, n_groups: int) -> list[Moments]:
    """`Moments.from_values` of each group's values (``groups``: each value's group code), by bincount:
    one pass for every group. The second moment is centred on each group's own mean, as in one group."""
    finite = np.isfinite(values)
    x, g = values[finite], np.asarray(groups)[finite]
    n = np.bincount(g, minlength=n_groups).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(g, weights=x, minlength=n_groups) / n
    m2 = np.bincount(g, weights=(x - mean[g]) ** 2, minlength=n_groups)
    lo, hi = np.full(n_groups, np.inf), np.full(n_groups, -np.inf)
    np.minimum.at(lo, g, x)
    np.maximum.at(hi, g, x)
    return [Moments(float(n[k]), float(mean[k]), float(m2[k]), float(lo[k]), float(hi[k])) if n[k] else Moments()
            for k in range(n_groups)]
