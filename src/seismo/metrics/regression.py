"""Regression metrics finished from :class:`LossSums`.

Each metric is a mean per-row loss (sum / n, the loss from `seismo.metrics.losses`), so it merges
exactly across chunks; the root metrics are the square root of the merged mean, never a mean of
roots. An empty chunk gives NaN; so does a metric whose loss was not built (msle/rmsle without
the log sums).
"""

from __future__ import annotations

import math

from seismo.metrics.losses import ABS_ERROR, ABS_PCT_ERROR, SQ_ERROR, SQ_LOG_ERROR, RowLoss
from seismo.metrics.partials import LossSums


def _mean(total: float, n: float) -> float:
    return total / n if n > 0 else float("nan")


def _root(value: float) -> float:
    # Estimated (label-free) losses can sum below 0; the root of that is 0.
    return value if math.isnan(value) else math.sqrt(max(value, 0.0))


def mean_loss(sums: LossSums, loss: RowLoss) -> float:
    """The mean of one per-row loss over the chunk's rows."""
    return _mean(sums.total(loss.name), sums.n)


def root_mean_loss(sums: LossSums, loss: RowLoss) -> float:
    """The square root of the mean of one per-row loss."""
    return _root(mean_loss(sums, loss))


def mae(sums: LossSums) -> float:
    """Mean absolute error."""
    return mean_loss(sums, ABS_ERROR)


def mape(sums: LossSums) -> float:
    """Mean of |e| / max(|y|, eps), eps = float64 machine epsilon (as scikit-learn)."""
    return mean_loss(sums, ABS_PCT_ERROR)


def mse(sums: LossSums) -> float:
    """Mean squared error."""
    return mean_loss(sums, SQ_ERROR)


def rmse(sums: LossSums) -> float:
    """Square root of the mean squared error."""
    return root_mean_loss(sums, SQ_ERROR)


def msle(sums: LossSums) -> float:
    """Mean of (log1p(y) - log1p(y_hat))^2."""
    return mean_loss(sums, SQ_LOG_ERROR)


def rmsle(sums: LossSums) -> float:
    """Square root of the mean squared log error."""
    return root_mean_loss(sums, SQ_LOG_ERROR)
