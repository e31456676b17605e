"""How a statistic's sampling noise depends on chunk size.

Thresholds and sampling errors are learned from reference samples of one size
but applied to chunks of any size (period chunks vary; a kept incomplete last
chunk is small). Each statistic therefore declares how its noise scales, the
reference samples are put on a size-free *unit scale* ``z``, and bounds and
errors are mapped back at each chunk's own size:

* ``location`` (means, rates, medians, performance metrics): the value
  fluctuates around a centre ``c`` with variance σ²/n. A reference subset of
  ``n`` of the ``N`` reference rows deviates from the reference's own value
  with variance σ²(1/n − 1/N) (sampling without replacement), while a new chunk
  deviates with σ²(1/n + 1/N), because the reference value is itself an
  estimate. So ``z = (v − c) / sqrt(1/n − 1/N)`` on the reference, and
  ``v = c + z · sqrt(1/n + 1/N)`` for a new chunk. The sampling error of the
  chunk's own value is ``σ / sqrt(n)``.
* ``proportion`` (missing, unseen and out-of-range rates): a location
  statistic whose bounds are never tighter than the Poisson tail of the same
  reach: a rate of a rare event counts a handful of rows, where the normal
  approximation would alert on a single row. The upper bound is at least
  ``q/n`` with ``q`` the Poisson quantile of the expected count at the bound's
  one-sided false-alarm rate (``1 − tail``), and the lower bound at most the
  ``tail`` quantile. ``StandardDeviationThreshold`` uses ``TAIL`` (the normal 3σ level).
* ``extensive`` (the sum): a location statistic times ``n``; ``count`` (raw
  confusion-matrix cells) is extensive with the same Poisson floor as a proportion.
* ``distance`` (a two-sample statistic comparing a chunk of ``n`` rows with
  ``m`` reference rows): under no drift its noise scales like
  ``(1/n + 1/m)^e``: ``e = 1/2`` for KS, Wasserstein, Jensen-Shannon,
  Hellinger and L-infinity (square roots of chi-squared-like quantities), ``e = 1``
  for PSI (chi-squared-like divided by sample size), ``e = 0`` for the chi-squared
  statistic itself (its null distribution does not depend on size).
* ``fixed``: no size dependence and no sampling error (``row_count``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from seismo._typing import NoiseKind

TAIL = 0.00135  # one-sided tail of a normal variable beyond 3σ


@dataclass(frozen=True)
class Scaling:
    """A statistic's noise model; see the module docstring."""

    kind: NoiseKind = "location"
    exponent: float = 0.5  # distances only

    def fit(self, values: np.ndarray, n: np.ndarray, m: np.ndarray) -> "FittedScaling":
        """Learn the centre (location kinds) from reference samples of ``n`` rows with ``m`` rows left over."""
        center = 0.0
        if self.kind in ("location", "proportion", "extensive", "count"):
            per_row = values / n if self.kind in ("extensive", "count") else values
            finite = per_row[np.isfinite(per_row)]
            center = float(finite.mean()) if finite.size else float("nan")
        return FittedScaling(self, center)


@dataclass(frozen=True)
class FittedScaling:
    scaling: Scaling
    center: float

    def to_unit(self, values: np.ndarray, n: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Reference samples (``n`` rows, ``m`` reference rows left) on the unit scale."""
        values, n, m = (np.asarray(a, dtype=float) for a in (values, n, m))
        kind = self.scaling.kind
        with np.errstate(divide="ignore", invalid="ignore"):
            if kind == "distance":
                return values / (1.0 / n + 1.0 / m) ** self.scaling.exponent
            if kind == "fixed":
                return values
            per_row = values / n if kind in ("extensive", "count") else values
            return (per_row - self.center) / np.sqrt(np.maximum(1.0 / n - 1.0 / (n + m), 1e-300))

    def from_unit(self, z: float, n: float, reference_rows: float, tail: float = TAIL) -> float:
        """A unit-scale bound as a value for a new chunk of ``n`` rows; ``tail``: the bound's
        one-sided false-alarm rate, which the Poisson floor of rates and counts keeps."""
        kind = self.scaling.kind
        n, reference_rows = np.float64(n), np.float64(reference_rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            if kind == "distance":
                return float(z * (1.0 / n + 1.0 / reference_rows) ** self.scaling.exponent)
            if kind == "fixed":
                return float(z)
            value = self.center + z * np.sqrt(1.0 / n + 1.0 / reference_rows)
            if kind in ("proportion", "count"):
                value = self._poisson_floor(value, z, n, reference_rows, tail)
            return float(value * n if kind in ("extensive", "count") else value)

    def _poisson_floor(self, value: float, z: float, n: float, reference_rows: float, tail: float) -> float:
        expected = float(max(self.center, 0.0) * n * (1.0 + n / reference_rows))  # reference uncertainty too
        if z >= 0:
            return max(value, _poisson_ppf(1.0 - tail, expected) / n)
        return min(value, _poisson_ppf(tail, expected) / n)

    def sampling_error(self, unit_std: float, n: float, reference_rows: float) -> float:
        """Standard error of a new chunk's value, from the spread of unit-scale reference samples."""
        kind = self.scaling.kind
        n, reference_rows = np.float64(n), np.float64(reference_rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            if kind == "fixed":
                return float("nan")
            if kind == "distance":
                return float(unit_std * (1.0 / n + 1.0 / reference_rows) ** self.scaling.exponent)
            se = unit_std / np.sqrt(n)
            return float(se * n if kind in ("extensive", "count") else se)


LOCATION = Scaling("location")
PROPORTION = Scaling("proportion")
EXTENSIVE = Scaling("extensive")
COUNT = Scaling("count")
FIXED = Scaling("fixed")


@lru_cache(maxsize=4096)
def _poisson_ppf(q: float, expected: float) -> float:
    """scipy's Poisson quantile, cached: chunks of one size ask for the same one for every row."""
    from scipy.stats import poisson  # scipy.stats is heavy to import; most runs never need it

    return float(poisson.ppf(q, expected))


def distance(exponent: float = 0.5) -> Scaling:
    return Scaling("distance", exponent)
