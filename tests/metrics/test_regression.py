"""Regression metrics finished from LossSums equal scikit-learn to 1e-9.

Pinned properties: mae, mape (sklearn's eps rule, zeros in y_true included),
mse, rmse, msle, rmsle match sklearn.metrics on random data; the log sums are
only built on request, and then values outside log1p's domain raise
InvalidData naming the column; summed predicted losses (from_losses) finish
like realized ones.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from seismo.errors import InvalidData
from seismo.metrics import LossSums, get_metric, mae, mape, metrics_for, mse, msle, rmse, rmsle
from seismo.metrics.partials import MAPE_EPS

SKLEARN = {
    "mae": skm.mean_absolute_error,
    "mape": skm.mean_absolute_percentage_error,
    "mse": skm.mean_squared_error,
    "rmse": skm.root_mean_squared_error,
    "msle": skm.mean_squared_log_error,
    "rmsle": skm.root_mean_squared_log_error,
}


def make_targets(seed: int, n: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = rng.lognormal(1.0, 1.0, size=n)
    y_true[rng.choice(n, size=5, replace=False)] = 0.0  # exercises MAPE's eps
    y_pred = np.maximum(y_true * rng.lognormal(0.0, 0.3, size=n) + rng.normal(0, 0.5, size=n), -0.9)
    return y_true, y_pred


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_metrics_match_sklearn(seed):
    y_true, y_pred = make_targets(seed)
    sums = LossSums.from_rows(y_true, y_pred, with_log=True)
    for name in metrics_for("regression"):
        got = get_metric(name, "regression").finish(sums)
        assert got == pytest.approx(SKLEARN[name](y_true, y_pred), rel=1e-9, abs=1e-9), name


def test_functions_match_registry():
    y_true, y_pred = make_targets(7, n=100)
    sums = LossSums.from_rows(y_true, y_pred, with_log=True)
    for fn in (mae, mape, mse, rmse, msle, rmsle):
        assert fn(sums) == get_metric(fn.__name__, "regression").finish(sums)
    assert rmse(sums) == pytest.approx(math.sqrt(mse(sums)), rel=1e-15)


def test_log_sums_only_on_request():
    y_true, y_pred = make_targets(1, n=100)
    y_pred[0] = -3.0  # out of log1p's domain but harmless without msle
    sums = LossSums.from_rows(y_true, y_pred)
    assert math.isnan(msle(sums)) and math.isnan(rmsle(sums))
    assert mae(sums) == pytest.approx(skm.mean_absolute_error(y_true, y_pred), rel=1e-12)
    names = {"true_name": "target", "pred_name": "prediction"}
    with pytest.raises(InvalidData, match="'prediction'"):
        LossSums.from_rows(y_true, y_pred, with_log=True, **names)
    y_pred[0] = 1.0
    y_true[3] = -1.0
    with pytest.raises(InvalidData, match="'target'"):
        LossSums.from_rows(y_true, y_pred, with_log=True, **names)


def test_from_losses_equals_from_rows():
    y_true, y_pred = make_targets(2, n=1000)
    err = np.abs(y_pred - y_true)
    losses = LossSums.from_losses({
        "abs_error": err,
        "abs_pct_error": err / np.maximum(np.abs(y_true), MAPE_EPS),
        "sq_error": err**2,
        "sq_log_error": (np.log1p(y_true) - np.log1p(y_pred)) ** 2,
    })
    rows = LossSums.from_rows(y_true, y_pred, with_log=True)
    for fn in (mae, mape, mse, rmse, msle, rmsle):
        assert fn(losses) == pytest.approx(fn(rows), rel=1e-12)
    assert math.isnan(msle(LossSums.from_losses({"abs_error": err, "abs_pct_error": err, "sq_error": err})))


def test_empty_chunk_is_nan():
    empty = LossSums.from_rows(np.empty(0), np.empty(0), with_log=True)
    assert all(math.isnan(fn(empty)) for fn in (mae, mape, mse, rmse, msle, rmsle))
