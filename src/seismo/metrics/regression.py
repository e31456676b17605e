"""Regression metrics finished from :class:`LossSums`.

Each metric is a mean loss (sum / n), so it merges exactly across chunks; the
root metrics are the square root of the merged mean, never a mean of roots.
An empty chunk gives NaN; so do msle/rmsle when the log sums were not built.
"""

from __future__ import annotations

import math

from seismo.metrics.partials import LossSums


def _mean(total: float, n: float) -> float:
    return total / n if n > 0 else float("nan")


def _root(value: float) -> float:
    # Estimated (label-free) losses can sum below 0; the root of that is 0.
    return value if math.isnan(value) else math.sqrt(max(value, 0.0))


def mae(sums: LossSums) -> float:
    """Mean absolute error."""
    return _mean(sums.abs_error, sums.n)


def mape(sums: LossSums) -> float:
    """Mean of |e| / max(|y|, eps), eps = float64 machine epsilon (as scikit-learn)."""
    return _mean(sums.abs_pct_error, sums.n)


def mse(sums: LossSums) -> float:
    """Mean squared error."""
    return _mean(sums.sq_error, sums.n)


def rmse(sums: LossSums) -> float:
    """Square root of the mean squared error."""
    return _root(mse(sums))


def msle(sums: LossSums) -> float:
    """Mean of (log1p(y) - log1p(y_hat))^2."""
    return _mean(sums.sq_log_error, sums.n)


def rmsle(sums: LossSums) -> float:
    """Square root of the mean squared log error."""
    return _root(msle(sums))
