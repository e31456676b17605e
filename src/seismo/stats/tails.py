"""Values beyond the reference's range, kept to a stated relative accuracy and mergeable.

A fine histogram is cut from the reference, so everything beyond its lowest or highest point
falls into one open tail bin. Spreading a tail bin's values evenly up to the chunk's extreme
misplaces its quantiles by orders of magnitude when a chunk moves out of range: a U(0, 1)
reference and a chunk of ``5 + lognormal`` values gave a median of 1435 where numpy says 6.05.

`TailSketch` keeps the distance of each tail value to the boundary in logarithmic buckets:
bucket ``k`` holds distances in ``(γ^(k-1), γ^k]`` with ``γ = (1 + α) / (1 - α)``, and reports
``2 γ^k / (γ + 1)``, which is within a relative ``α`` of every distance in it. This is the
bucketing of DDSketch (Masson, Rim and Lee, "DDSketch: a fast and fully-mergeable quantile
sketch with relative-error guarantees", VLDB 2019). Only occupied buckets are stored, so a
sketch costs nothing while values stay in range, and merging two sketches adds their counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ALPHA = 0.005  # relative accuracy of a tail value's distance to the boundary
GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = float(np.log(GAMMA))


def _empty() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@dataclass
class TailSketch:
    """Counts of positive distances per logarithmic bucket; keys sorted, each once."""

    keys: np.ndarray = field(default_factory=_empty)
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=float))

    @classmethod
    def from_distances(cls, distances: np.ndarray) -> TailSketch:
        """Sketch of ``distances`` (> 0 and finite; others are not tail values and are left out)."""
        d = distances[np.isfinite(distances) & (distances > 0)]
        if d.size == 0:
            return cls()
        keys, counts = np.unique(np.ceil(np.log(d) / _LOG_GAMMA).astype(np.int64), return_counts=True)
        return cls(keys, counts.astype(float))

    @property
    def n(self) -> float:
        return float(self.counts.sum())

    def merge(self, other: TailSketch) -> TailSketch:
        if other.keys.size == 0:
            return self
        if self.keys.size == 0:
            return other
        keys, inverse = np.unique(np.concatenate([self.keys, other.keys]), return_inverse=True)
        counts = np.bincount(inverse, weights=np.concatenate([self.counts, other.counts]), minlength=keys.size)
        return TailSketch(keys, counts)

    __add__ = merge

    def distance(self, order: np.ndarray) -> np.ndarray:
        """The ``order``-th smallest distance (0-based), within relative ``ALPHA``."""
        cum = np.cumsum(self.counts)
        bucket = np.minimum(np.searchsorted(cum, np.asarray(order, dtype=float), side="right"), cum.size - 1)
        return 2.0 * np.exp(self.keys[bucket] * _LOG_GAMMA) / (GAMMA + 1.0)


@dataclass
class Tails:
    """The values below a lower and above an upper boundary, as distances to that boundary."""

    low: float
    high: float
    below: TailSketch = field(default_factory=TailSketch)
    above: TailSketch = field(default_factory=TailSketch)

    @classmethod
    def from_values(cls, values: np.ndarray, low: float, high: float) -> Tails:
        """``values`` may hold NaN and ±inf: only finite values beyond a boundary count."""
        with np.errstate(invalid="ignore"):
            below = values[values < low]
            above = values[values > high]
        return cls(low, high, TailSketch.from_distances(low - below), TailSketch.from_distances(above - high))

    def merge(self, other: Tails) -> Tails:
        return Tails(self.low, self.high, self.below + other.below, self.above + other.above)

    __add__ = merge

    def value(self, upper: bool, order: np.ndarray) -> np.ndarray:
        """The ``order``-th smallest finite value (0-based) of one tail, ascending in value."""
        if upper:
            return self.high + self.above.distance(order)
        return self.low - self.below.distance(self.below.n - 1 - np.asarray(order, dtype=float))
