"""Alert thresholds learned from the reference period.

How the reference is sampled (documented in docs/thresholds.md):

* every reference chunk gives one *contiguous* value; a comparison statistic
  (a drift distance) compares the chunk with the reference *without* that
  chunk, so the value is out of sample;
* ``n_resamples`` extra chunks of the median reference chunk size are drawn
  at random from the reference rows (without replacement) and compared with
  the rest of the reference. They make the spread estimate stable when there
  are only ~10 reference chunks.

`StandardDeviationThreshold` centres on the mean of all those values and uses
the larger of the two standard deviations (contiguous, resampled): contiguous
chunks carry the reference's own slow variation (seasonality) that random
subsets miss, while random subsets are many and so keep the estimate steady.
Thresholds are then clipped to the metric's range.

Statistics that are quadratic in the difference between two distributions
(chi-squared, PSI) are right-skewed like a chi-squared variable, so mean + 3 SD
would fire about twice as often on them as on distances. Their thresholds are
learned on their square root, the scale of the distances (JS, Hellinger, KS),
and squared back; the reported threshold is on the statistic's own scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InvalidConfiguration
from .scaling import FittedScaling


def _nanstd(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.std(finite, ddof=1)) if finite.size > 1 else float("nan")


@dataclass(frozen=True)
class Bounds:
    """Learned thresholds: ``at(n, reference_rows)`` gives (lower, upper) for a chunk of ``n`` rows."""

    lower: float | None = None
    upper: float | None = None
    scaling: FittedScaling | None = None  # None: the bounds are already values

    def at(self, n: float, reference_rows: float) -> tuple[float | None, float | None]:
        if self.scaling is None:
            return self.lower, self.upper
        return tuple(  # type: ignore[return-value]
            None if z is None else self.scaling.from_unit(z, n, reference_rows) for z in (self.lower, self.upper)
        )


@dataclass(frozen=True)
class Threshold:
    """Base class: turns reference samples of a statistic into `Bounds`."""

    def learn(
        self, contiguous: np.ndarray, resampled: np.ndarray, scaling: FittedScaling, quadratic: bool = False
    ) -> Bounds:
        """``contiguous``/``resampled`` are reference values on the unit scale of ``scaling``;
        ``quadratic`` marks chi-squared-like statistics (see the module docstring)."""
        raise NotImplementedError


@dataclass(frozen=True)
class ConstantThreshold(Threshold):
    """Fixed bounds in the statistic's own units; None leaves that side unbounded."""

    lower: float | None = None
    upper: float | None = None

    def learn(
        self, contiguous: np.ndarray, resampled: np.ndarray, scaling: FittedScaling, quadratic: bool = False
    ) -> Bounds:
        return Bounds(self.lower, self.upper)


@dataclass(frozen=True)
class StandardDeviationThreshold(Threshold):
    """Mean of the reference values ± multiplier × their standard deviation.

    A multiplier of None leaves that side unbounded (distances only need an
    upper bound).
    """

    lower_multiplier: float | None = 3.0
    upper_multiplier: float | None = 3.0

    def _unit_bounds(self, contiguous: np.ndarray, resampled: np.ndarray) -> tuple[float | None, float | None]:
        pooled = np.concatenate([contiguous, resampled])
        pooled = pooled[np.isfinite(pooled)]
        if pooled.size == 0:
            return None, None
        center = float(pooled.mean())
        spreads = [s for s in (_nanstd(contiguous), _nanstd(resampled)) if np.isfinite(s)]
        spread = max(spreads) if spreads else 0.0
        lower = None if self.lower_multiplier is None else center - self.lower_multiplier * spread
        upper = None if self.upper_multiplier is None else center + self.upper_multiplier * spread
        return lower, upper

    def learn(
        self, contiguous: np.ndarray, resampled: np.ndarray, scaling: FittedScaling, quadratic: bool = False
    ) -> Bounds:
        if not quadratic:
            return Bounds(*self._unit_bounds(contiguous, resampled), scaling=scaling)
        root = [np.sqrt(np.maximum(v, 0.0)) for v in (contiguous, resampled)]
        lower, upper = self._unit_bounds(*root)
        square = [None if b is None else float(max(b, 0.0) ** 2) for b in (lower, upper)]
        return Bounds(*square, scaling=scaling)


DISTANCE_THRESHOLD = StandardDeviationThreshold(lower_multiplier=None, upper_multiplier=3.0)
TWO_SIDED_THRESHOLD = StandardDeviationThreshold(3.0, 3.0)


def clip_to_range(
    bounds: tuple[float | None, float | None], lo: float | None, hi: float | None
) -> tuple[float | None, float | None]:
    """Clip thresholds to the metric's range; an upper bound is never below the range."""
    lower, upper = bounds
    if lower is not None:
        lower = float(np.clip(lower, lo if lo is not None else -np.inf, hi if hi is not None else np.inf))
    if upper is not None:
        upper = float(np.clip(upper, lo if lo is not None else -np.inf, hi if hi is not None else np.inf))
    return lower, upper


def resolve_thresholds(given: dict | None, metrics: list[str]) -> dict[str, Threshold]:
    """Validate user thresholds: keys must be metrics this calculator computes."""
    given = dict(given or {})
    for name, threshold in given.items():
        if name not in metrics:
            raise InvalidConfiguration(
                f"thresholds names {name!r}, which is not computed here; choose from {metrics}"
            )
        if not isinstance(threshold, Threshold):
            raise InvalidConfiguration(
                f"thresholds[{name!r}] is a {type(threshold).__name__}; use "
                "ConstantThreshold(lower, upper) or StandardDeviationThreshold(lower_multiplier, upper_multiplier)"
            )
    return given


def is_alert(values: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """True where a value lies outside its (NaN = unbounded) thresholds."""
    values = np.asarray(values, dtype=float)
    below = np.where(np.isnan(lower), False, values < np.nan_to_num(lower, nan=-np.inf))
    above = np.where(np.isnan(upper), False, values > np.nan_to_num(upper, nan=np.inf))
    return np.asarray(below | above, dtype=bool)


