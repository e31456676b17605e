"""Registry of univariate drift methods: one function and one registration each.

A method reads a `Comparison` (the reference and chunk partials of one column)
and returns its statistic. The registry is what the calculator, the docs and
the config read: there is no other list of supported methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from seismo.stats import distances
from seismo.stats.categorical import CategoryCounts
from seismo.stats.continuous import coarse_counts, kolmogorov_smirnov, wasserstein
from seismo.stats.histogram import Histogram


@dataclass
class Comparison:
    """A chunk next to the reference it is compared with, for one column."""

    reference: Histogram | CategoryCounts  # Histogram (continuous) or CategoryCounts (categorical), as current
    current: Histogram | CategoryCounts
    points: np.ndarray | None = None  # fine points (continuous)
    coarse_map: np.ndarray | None = None
    n_coarse: int = 0

    def histograms(self) -> tuple[Histogram, Histogram]:
        """The reference and chunk histograms of a continuous column (continuous methods read them)."""
        if not (isinstance(self.reference, Histogram) and isinstance(self.current, Histogram)):
            raise TypeError("a continuous drift method was given a categorical column's counts")
        return self.reference, self.current

    def fine_points(self) -> np.ndarray:
        """The fine points of a continuous column's histograms."""
        if self.points is None:
            raise TypeError("a continuous drift method was given no fine points")
        return self.points

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Counts over the bins the proportion-based distances use (NaN/missing left out)."""
        if isinstance(self.reference, Histogram):
            reference, current = self.histograms()
            if self.coarse_map is None:
                raise TypeError("a continuous column's comparison was given no coarse bins")
            return (coarse_counts(reference, self.coarse_map, self.n_coarse),
                    coarse_counts(current, self.coarse_map, self.n_coarse))
        return self.reference.counts[:-1], self.current.counts[:-1]


@dataclass(frozen=True)
class DriftMethod:
    name: str
    kinds: frozenset[str]
    compute: Callable[[Comparison], float | tuple[float, float]]
    upper_bound: float | None  # every method is >= 0
    description: str
    noise_exponent: float = 0.5  # noise ∝ (1/n + 1/m)^exponent under no drift (see seismo.engine.sampling_error)
    quadratic: bool = False  # chi-squared-like scale (see seismo.engine.thresholds)


DRIFT_METHODS: dict[str, DriftMethod] = {}
BOTH = frozenset({"continuous", "categorical"})
CONTINUOUS = frozenset({"continuous"})
CATEGORICAL = frozenset({"categorical"})


def register(
    name: str, kinds: frozenset[str], upper_bound: float | None, description: str,
    noise_exponent: float = 0.5, quadratic: bool = False,
):
    def wrap(fn: Callable[[Comparison], float]) -> Callable[[Comparison], float]:
        DRIFT_METHODS[name] = DriftMethod(name, kinds, fn, upper_bound, description, noise_exponent, quadratic)
        return fn

    return wrap


@register("kolmogorov_smirnov", CONTINUOUS, 1.0, "two-sample KS D statistic on the fine bins")
def _ks(c: Comparison) -> float:
    return kolmogorov_smirnov(*c.histograms())


@register("wasserstein", CONTINUOUS, None, "earth mover's distance (W1) in the column's units")
def _wasserstein(c: Comparison) -> float:
    return wasserstein(*c.histograms(), c.fine_points())


@register("jensen_shannon", BOTH, 1.0, "Jensen-Shannon distance, base 2, on reference-quantile bins")
def _js(c: Comparison) -> float:
    return distances.jensen_shannon(*c.counts())


@register("hellinger", BOTH, 1.0, "Hellinger distance on reference-quantile bins")
def _hellinger(c: Comparison) -> float:
    return distances.hellinger(*c.counts())


@register("psi", BOTH, None, "population stability index, proportions floored at 1e-4",
          noise_exponent=1.0, quadratic=True)
def _psi(c: Comparison) -> float:
    return distances.psi(*c.counts())


@register("chi2", CATEGORICAL, None, "chi-squared statistic of the 2×categories table (p-value exposed)",
          noise_exponent=0.0, quadratic=True)
def _chi2(c: Comparison) -> tuple[float, float]:
    return distances.chi2(*c.counts())


@register("l_infinity", CATEGORICAL, 1.0, "largest absolute difference of category proportions")
def _l_infinity(c: Comparison) -> float:
    # Bins: the tracked categories, "other" (the rest of the reference's categories) and
    # "unseen". "other" sums up to thousands of small categories: its noise would hide a
    # change of a few points in any single category, and it is not one category, so it
    # is left out of the maximum (it still counts in the proportions' totals).
    ref, cur = c.counts()
    return distances.l_infinity(ref, cur, skip=len(ref) - 2)


def methods_for(kind: str, requested: list[str] | None) -> list[str]:
    """Requested methods (all by default) that fit a column kind, in registry order."""
    names = list(DRIFT_METHODS) if requested is None else requested
    return [m for m in names if kind in DRIFT_METHODS[m].kinds]
