"""Alert thresholds learned from the reference period.

How the reference is sampled (documented in docs/thresholds.md):

* every reference chunk gives one *contiguous* value; a comparison statistic
  (a drift distance) compares the chunk with the reference *without* that
  chunk, so the value is out of sample;
* ``n_resamples`` extra chunks of the median reference chunk size are drawn
  at random from the reference rows (without replacement) and compared with
  the rest of the reference. They make the spread estimate stable when there
  are only ~10 reference chunks.

`FalseAlarmThreshold` (the default) sets each bound at a stated per-cell
false-alarm rate from a model of the statistic's null distribution on the
size-free unit scale (`seismo.engine.sampling_error`):

* a distance is right-skewed: without drift, JS, Hellinger, KS, Wasserstein and
  L-infinity behave like the square root of a (weighted) chi-squared variable,
  PSI and chi2 like the chi-squared variable itself. The chi-squared-like
  quantity is modelled as a scaled chi-square (a gamma distribution, fitted by
  its mean and variance: Satterthwaite's approximation of a weighted sum of
  chi-squares), and the bound is its predictive quantile (an F quantile, which
  also accounts for the finite number of reference values);
* a location statistic (mean, rate, performance metric) is normal, and the
  bound is a Student-t prediction limit from the reference values.

The reference values are pooled (contiguous and resampled). When the
contiguous ones are significantly more spread out by a one-sided F test, the
reference varies slowly (seasonality) more than random subsets show, and the
pooled values are widened by the ratio of the two spreads.

`StandardDeviationThreshold` (NannyML's rule) centres on the mean of all those
values and uses the larger of the two standard deviations (contiguous,
resampled). Statistics quadratic in the difference between two distributions
(chi-squared, PSI) are learned on their square root there and squared back.
Thresholds are then clipped to the metric's range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from seismo._typing import Sides
from seismo.engine.sampling_error import TAIL
from seismo.errors import InvalidConfiguration

DEFAULT_FALSE_ALARM_RATE = 0.001  # per cell: one alert in a thousand chunk × column × metric cells without drift
# Performance metrics are a handful of cells per chunk, and the alert seismo exists for ("alert on
# performance first"): at 0.1% a drop of 3 sampling errors was caught in 0-27% of chunks, against
# NannyML's 33-47%. At 1% it is caught in 60-73% with no more false alarms than NannyML on the same
# 120 stationary chunks (benchmarks/alerts.py; docs/thresholds.md). NannyML's mean ± 3 SD of ten
# chunk values is nominally 0.27%, in fact about 1.9% per cell (a Student-t with 9 df).
PERFORMANCE_FALSE_ALARM_RATE = 0.01
SLOW_VARIATION_LEVEL = 0.05  # one-sided F test: contiguous values more spread out than random subsets
MAX_SHAPE = 1e6  # a gamma shape beyond this is a normal variable for every practical quantile


def _nanstd(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.std(finite, ddof=1)) if finite.size > 1 else float("nan")


class UnitScale(Protocol):
    """A noise model as thresholds use it: a bound learned on the size-free unit scale as a value
    for a chunk of ``n`` rows (`seismo.engine.sampling_error.FittedScaling`, or the domain
    classifier's AUROC model)."""

    def from_unit(self, z: float, n: float, reference_rows: float, tail: float = TAIL) -> float: ...


@dataclass(frozen=True)
class Bounds:
    """Learned thresholds: ``at(n, reference_rows)`` gives (lower, upper) for a chunk of ``n`` rows."""

    lower: float | None = None
    upper: float | None = None
    scaling: UnitScale | None = None  # None: the bounds are already values
    tail: float = TAIL  # one side's false-alarm rate, for the Poisson floor of rates and counts

    def at(self, n: float, reference_rows: float) -> tuple[float | None, float | None]:
        scaling = self.scaling
        if scaling is None:
            return self.lower, self.upper

        def value(z: float | None) -> float | None:
            return None if z is None else scaling.from_unit(z, n, reference_rows, self.tail)
        return value(self.lower), value(self.upper)


@dataclass(frozen=True)
class Threshold:
    """Base class: turns reference samples of a statistic into `Bounds`."""

    def learn(
        self, contiguous: np.ndarray, resampled: np.ndarray, scaling: UnitScale, quadratic: bool = False
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
        self, contiguous: np.ndarray, resampled: np.ndarray, scaling: UnitScale, quadratic: bool = False
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
        self, contiguous: np.ndarray, resampled: np.ndarray, scaling: UnitScale, quadratic: bool = False
    ) -> Bounds:
        if not quadratic:
            return Bounds(*self._unit_bounds(contiguous, resampled), scaling=scaling)
        root = [np.sqrt(np.maximum(v, 0.0)) for v in (contiguous, resampled)]
        lower, upper = self._unit_bounds(*root)
        lower, upper = (None if b is None else float(max(b, 0.0) ** 2) for b in (lower, upper))
        return Bounds(lower, upper, scaling=scaling)



@dataclass(frozen=True)
class FalseAlarmThreshold(Threshold):
    """Bounds that a chunk without drift crosses with probability ``false_alarm_rate``.

    ``sides``: "both" splits the rate evenly between the lower and the upper bound;
    "upper" or "lower" puts all of it on that side and leaves the other unbounded
    (a distance is never "too small", so drift methods use "upper"). The null model
    (gamma for distances, normal for location statistics) is described in
    docs/thresholds.md.
    """

    false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE
    sides: Sides = "both"

    def __post_init__(self) -> None:
        rate = self.false_alarm_rate
        if not isinstance(rate, (int, float)) or not 0.0 < rate < 1.0:
            raise InvalidConfiguration(f"false_alarm_rate must be a number between 0 and 1, got {rate!r}")
        if self.sides not in ("both", "upper", "lower"):
            raise InvalidConfiguration(f"sides must be 'both', 'upper' or 'lower', got {self.sides!r}")

    @property
    def side_rate(self) -> float:
        """The false-alarm rate of each bounded side."""
        return self.false_alarm_rate / 2 if self.sides == "both" else self.false_alarm_rate

    def learn(
        self, contiguous: np.ndarray, resampled: np.ndarray, scaling: UnitScale, quadratic: bool = False
    ) -> Bounds:
        contiguous, resampled = (np.asarray(v, dtype=float) for v in (contiguous, resampled))
        contiguous, resampled = contiguous[np.isfinite(contiguous)], resampled[np.isfinite(resampled)]
        kind = getattr(getattr(scaling, "scaling", None), "kind", "location")  # a duck-typed scale: location-like
        if kind == "distance":
            lower, upper = self._distance_bounds(contiguous, resampled, quadratic)
        else:
            lower, upper = self._location_bounds(contiguous, resampled)
        return Bounds(lower if self.sides != "upper" else None, upper if self.sides != "lower" else None,
                      scaling=scaling, tail=self.side_rate)

    def _location_bounds(self, contiguous: np.ndarray, resampled: np.ndarray) -> tuple[float | None, float | None]:
        """Student-t prediction limits: a new value beside ``k`` normal reference values with
        estimated mean and standard deviation lies within mean ± t(k-1) · sd · sqrt(1 + 1/k)."""
        from scipy.stats import t

        values = np.concatenate([contiguous, resampled])
        if values.size < 2:  # no spread to learn: a zero-width band would alert on every chunk
            return None, None
        center = float(values.mean())
        widen = _slow_variation_scale(contiguous, resampled, _spread_ratio_p(contiguous, resampled, squares=False),
                                      squares=False)
        half = (t.isf(self.side_rate, values.size - 1) * widen * values.std(ddof=1)
                * np.sqrt(1.0 + 1.0 / values.size))
        return center - float(half), center + float(half)

    def _distance_bounds(self, contiguous: np.ndarray, resampled: np.ndarray,
                         quadratic: bool) -> tuple[float | None, float | None]:
        """Quantiles of a power-gamma model of the distance (the square root of PSI and chi2).

        ``r ** p`` is a scaled chi-square (gamma) variable, ``p`` chosen by likelihood among
        `POWERS` (0: ``log r`` is normal). The quantile is predictive: for independent gamma
        variables of one scale, a new value over the mean of ``k`` reference values is
        F(2 shape, 2 k shape)-distributed; on the log scale it is a Student-t limit.
        """
        root = (lambda v: np.sqrt(np.maximum(v, 0.0))) if quadratic else (lambda v: np.maximum(v, 0.0))
        back = (lambda r: r * r) if quadratic else (lambda r: r)
        roots = [root(v) for v in (contiguous, resampled)]
        square_c, square_r = (r * r for r in roots)
        widen = _slow_variation_scale(square_c, square_r, _spread_ratio_p(square_c, square_r, squares=True),
                                      squares=True)
        values = np.concatenate(roots) * widen
        if values.size == 0:
            return None, None
        if values.size < 2 or np.ptp(values) == 0.0:  # every reference value equal: any difference is news
            return float(back(values[0])), float(back(values[0]))
        lower, upper = _power_gamma_quantiles(values, self.side_rate)
        return float(back(lower)), float(back(upper))


POWERS = (0.0, 0.5, 1.0, 1.5, 2.0)  # r ** 2 chi-square-like (JS, Hellinger); lower powers: heavier tails (KS, W1)


def _power_gamma_quantiles(r: np.ndarray, rate: float) -> tuple[float, float]:
    """Lower and upper predictive ``rate`` quantiles of a distance from its reference values ``r``.

    Without drift JS and Hellinger are the square root of a weighted chi-square (``p = 2``,
    a gamma by Satterthwaite's two-moment fit), but suprema and integrals of the empirical
    process (KS, L-infinity, Wasserstein) have tails heavier than their bulk suggests; smaller
    powers, down to the log-normal limit, model those.

    Exact zeros (a statistic on few distinct values: chi2 with Yates' correction, a binary
    column's distances) have no logarithm. They stand for "below the smallest value seen", so
    each is set to half the smallest positive reference value, as values below a detection
    limit are, and every model competes as usual. Keeping only the chi-square model there
    (the previous rule) fitted its shape from two moments, which a 60-value sample of a skewed
    variable gets wrong often enough that its 0.1% bound was crossed by 1.5-1.8% of null values.

    The candidates are averaged, not selected: each is weighted by its likelihood (Bayesian
    model averaging with equal priors), and the bound is the quantile of that mixture. Picking
    the single best power made the bound jump (by 2x on one categorical column) when the
    reference values moved a little, e.g. between a full and a sampled reference.
    """
    from scipy.optimize import brentq
    from scipy.stats import f, gamma, norm, t

    k = r.size
    if np.any(r <= 0.0):  # the caller ensures a positive value (not every value is equal)
        r = np.where(r > 0.0, r, r[r > 0.0].min() / 2.0)
    log_r = np.log(r)
    # (log-likelihood, survival function of a new value, its lower and upper quantile)
    models: list[tuple[float, Callable[[float], float], tuple[float, float]]] = []
    survival: Callable[[float], float]
    for p in POWERS:
        if p == 0.0:
            mean, sd = log_r.mean(), log_r.std(ddof=1)
            if not sd > 0.0:
                continue
            loglik = norm.logpdf(log_r, mean, sd).sum() - log_r.sum()
            scale = sd * np.sqrt(1.0 + 1.0 / k)

            def log_t_survival(x, mean=mean, scale=scale):
                return t.sf((np.log(x) - mean) / scale, k - 1)
            survival = log_t_survival
            half = t.isf(rate, k - 1) * scale
            quantiles = (float(np.exp(mean - half)), float(np.exp(mean + half)))
        else:
            y = r ** p
            mean, var = y.mean(), y.var(ddof=1)
            if not var > 0.0:
                continue
            shape = min(mean * mean / var, MAX_SHAPE)
            loglik = gamma.logpdf(y, shape, scale=var / mean).sum() + k * np.log(p)
            loglik += (p - 1.0) * log_r.sum()
            dfn, dfd = 2.0 * shape, 2.0 * k * shape

            def f_survival(x, p=p, mean=mean, dfn=dfn, dfd=dfd):
                return f.sf(x ** p / mean, dfn, dfd)
            survival = f_survival
            quantiles = (float((mean * f.ppf(rate, dfn, dfd)) ** (1 / p)),
                         float((mean * f.isf(rate, dfn, dfd)) ** (1 / p)))
        if np.isfinite(loglik):
            models.append((float(loglik), survival, quantiles))
    if not models:
        return float(r.min()), float(r.max())
    best = max(m[0] for m in models)
    weights = np.array([np.exp(m[0] - best) for m in models])
    weights /= weights.sum()

    def mixture_sf(x: float) -> float:
        return float(sum(w * m[1](x) for w, m in zip(weights, models)))

    def solve(target: float, side: int) -> float:
        """x where the mixture's survival equals ``target``; between the models' own quantiles."""
        ends = sorted(m[2][side] for m in models)
        lo, hi = np.log(max(ends[0], 1e-300)), np.log(max(ends[-1], 1e-300))
        if hi - lo < 1e-12:
            return float(np.exp(lo))
        return float(np.exp(brentq(lambda u: mixture_sf(np.exp(u)) - target, lo, hi, xtol=1e-10)))

    return solve(1.0 - rate, 0), solve(rate, 1)


def _slow_variation_scale(contiguous: np.ndarray, resampled: np.ndarray, p_value: float, squares: bool) -> float:
    """How much wider than the pooled values the contiguous ones vary (1: not significantly).

    The reference may vary slowly (seasonality) more than random subsets of it show; then the
    contiguous chunks are the better guide to a new chunk's spread. The pooled values keep
    their number (a tail quantile from ten values alone would be far wider than the evidence
    says, and jumps when the test flips); they are widened by the ratio of the spreads.
    """
    if p_value >= SLOW_VARIATION_LEVEL or contiguous.size < 2:
        return 1.0
    pooled = np.concatenate([contiguous, resampled])
    if squares:  # squared distances: the mean is the spread
        ratio = contiguous.mean() / pooled.mean() if pooled.mean() > 0 else 1.0
    else:
        ratio = contiguous.var(ddof=1) / pooled.var(ddof=1) if pooled.var(ddof=1) > 0 else 1.0
    return float(np.sqrt(max(ratio, 1.0)))


def _spread_ratio_p(contiguous: np.ndarray, resampled: np.ndarray, squares: bool) -> float:
    """One-sided p-value of "the contiguous values spread more than the resampled ones".

    Location: the F test of the two variances. Distances (``squares``): the values are
    already squared deviations from zero, so the ratio of their means is the variance
    ratio, F-distributed with 2·shape degrees of freedom per value under equal spreads.
    """
    from scipy.stats import f

    if contiguous.size < 2 or resampled.size < 2:
        return 1.0
    if squares:
        pooled = np.concatenate([contiguous, resampled])
        mean_c, mean_r, var = contiguous.mean(), resampled.mean(), pooled.var(ddof=1)
        if mean_r <= 0.0 or var <= 0.0:
            return 0.0 if mean_c > mean_r else 1.0
        shape = min(pooled.mean() ** 2 / var, MAX_SHAPE)
        return float(f.sf(mean_c / mean_r, 2 * shape * contiguous.size, 2 * shape * resampled.size))
    var_c, var_r = contiguous.var(ddof=1), resampled.var(ddof=1)
    if var_r <= 0.0:
        return 0.0 if var_c > 0.0 else 1.0
    return float(f.sf(var_c / var_r, contiguous.size - 1, resampled.size - 1))


@dataclass(frozen=True)
class WidenedBounds(Bounds):
    """Constant bounds, widened at a chunk's size to ``noise`` where that is wider."""

    noise: Bounds | None = None

    def at(self, n: float, reference_rows: float) -> tuple[float | None, float | None]:
        if self.noise is None:
            return self.lower, self.upper
        lower, upper = self.noise.at(n, reference_rows)
        return (None if self.lower is None else (self.lower if lower is None else min(self.lower, lower)),
                None if self.upper is None else (self.upper if upper is None else max(self.upper, upper)))


@dataclass(frozen=True)
class MaterialThreshold(Threshold):
    """Fixed bounds for a change that matters, never tighter than the noise at a stated rate.

    A constant such as a domain classifier's AUROC of 0.65 says what size of shift is worth an
    alert, but in a chunk of a few dozen rows chance alone crosses it (a third of stationary
    chunks did on public data sets). Each side is the wider of the constant and the bound of
    `FalseAlarmThreshold` at ``false_alarm_rate`` for the chunk's own size; a None side stays
    unbounded.
    """

    lower: float | None = None
    upper: float | None = None
    false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE

    def learn(
        self, contiguous: np.ndarray, resampled: np.ndarray, scaling: UnitScale, quadratic: bool = False
    ) -> Bounds:
        sides: Sides = "both" if self.lower is not None and self.upper is not None else (
            "upper" if self.upper is not None else "lower")
        noise = FalseAlarmThreshold(self.false_alarm_rate, sides).learn(contiguous, resampled, scaling, quadratic)
        return WidenedBounds(self.lower, self.upper, noise=noise)


DISTANCE_THRESHOLD = FalseAlarmThreshold(sides="upper")
TWO_SIDED_THRESHOLD = FalseAlarmThreshold(sides="both")
PERFORMANCE_THRESHOLD = FalseAlarmThreshold(PERFORMANCE_FALSE_ALARM_RATE, sides="both")


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
                "FalseAlarmThreshold(false_alarm_rate, sides), ConstantThreshold(lower, upper) or "
                "StandardDeviationThreshold(lower_multiplier, upper_multiplier)"
            )
    return given


def is_alert(values: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """True where a value lies outside its (NaN = unbounded) thresholds."""
    values = np.asarray(values, dtype=float)
    below = np.where(np.isnan(lower), False, values < np.nan_to_num(lower, nan=-np.inf))
    above = np.where(np.isnan(upper), False, values > np.nan_to_num(upper, nan=np.inf))
    return np.asarray(below | above, dtype=bool)


