"""Tests for seismo.monitor.ranking.rank: which drifted columns hurt performance.

Covers the alert-count ranking, the correlation ranking on the synthetic credit
data (harmful income/debt_ratio shifts above the harmless age shift, which needs
model sensitivity because all three shifts start together), NaN and constant
handling, ties, mismatched chunkings and bad inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo.engine.result import RESULT_COLUMNS, Result
from seismo.errors import InvalidConfiguration
from seismo.monitor.ranking import prediction_sensitivity, rank

ROLES = {"y_pred_proba": "y_pred_proba", "y_pred": "y_pred", "y_true": "defaulted", "id": "id",
             "chunk_size": 5000, "timestamp": "timestamp"}
FEATURES = ["age", "income", "debt_ratio", "loan_amount", "credit_history_years", "n_open_loans",
            "employment_years", "employment_type", "region"]


@pytest.fixture(scope="module", params=[0, 3])
def credit(request):
    ref, ana, targets = seismo.datasets.load_synthetic_credit(seed=request.param)
    drift = seismo.UnivariateDrift(**ROLES).fit(ref).calculate(ana)
    perf = seismo.RealizedPerformance(problem_type="binary", **ROLES).fit(ref).calculate(ana, targets=targets)
    return ref, drift, perf


def _frame(rows):
    df = pd.DataFrame(rows)
    for c in RESULT_COLUMNS:
        if c not in df:
            df[c] = None
    df["chunk_key"] = df["period"].str[0] + df["chunk_index"].astype(str)
    return df[RESULT_COLUMNS]


def _drift(values: dict, upper=1.0, periods=("reference", "analysis")) -> Result:
    """values: column -> list of values per chunk (split half reference, half analysis)."""
    rows = []
    for col, vals in values.items():
        n = len(vals) // 2
        for i, v in enumerate(vals):
            period = periods[0] if i < n else periods[1]
            rows.append({"chunk_index": i if i < n else i - n, "period": period, "column": col,
                             "metric": "jensen_shannon", "value": v, "upper_threshold": upper,
                             "alert": bool(v is not None and not np.isnan(v) and v > upper)})
    return Result(_frame(rows), "UnivariateDrift")


def _perf(values, metric="roc_auc", calculator="RealizedPerformance") -> Result:
    n = len(values) // 2
    rows = [{"chunk_index": i if i < n else i - n, "period": "reference" if i < n else "analysis",
                 "column": None, "metric": metric, "value": v, "alert": False} for i, v in enumerate(values)]
    return Result(_frame(rows), calculator)


def test_credit_harmful_drift_ranks_above_virtual_drift(credit):
    ref, drift, perf = credit
    sens = prediction_sensitivity(ref, "y_pred_proba", FEATURES)
    out = rank(drift, perf, sensitivity=sens)
    pos = dict(zip(out["column"], out["rank"]))
    assert max(pos["income"], pos["debt_ratio"]) < pos["age"]
    assert set(out.loc[out["rank"] <= 2, "column"]) == {"income", "debt_ratio"}
    assert (out["performance_metric"] == "roc_auc").all()
    assert (out["n_chunks"] == 20).all()
    # without sensitivity, the shifted columns all correlate strongly (same step) ...
    plain = rank(drift, perf).set_index("column")
    for col in ("income", "debt_ratio", "age"):
        assert plain.loc[col, "pearson"] > 0.95
    assert list(rank(drift, perf).columns) == ["rank", "column", "drift_method", "correlation", "pearson",
                                               "alert_count", "n_chunks", "performance_metric", "note"]


def test_credit_alert_ranking(credit):
    _, drift, _ = credit
    out = rank(drift)
    assert list(out.columns) == ["rank", "column", "alert_count", "n_chunks"]
    top = set(out.loc[out["alert_count"] == 5, "column"])
    assert {"income", "debt_ratio", "age", "employment_type"} <= top
    assert out["alert_count"].is_monotonic_decreasing
    one = rank(drift, method="jensen_shannon")
    assert (one["drift_method"] == "jensen_shannon").all()


def test_alert_count_ties_broken_by_magnitude_then_name():
    d = _drift({"b": [0, 0, 2, 0], "a": [0, 0, 2, 0], "c": [0, 0, 3, 0], "z": [0, 0, 0.5, 0.5]})
    out = rank(d)
    assert list(out["column"]) == ["c", "a", "b", "z"]
    assert list(out["alert_count"]) == [1, 1, 1, 0]
    assert list(out["rank"]) == [1, 2, 3, 4]
    assert (out["n_chunks"] == 2).all()


def test_any_method_alert_aggregation():
    d = _drift({"x": [0, 0, 0, 2, 0, 0]})
    df = d.to_df()
    other = df.copy()
    other["metric"] = "psi"
    other["value"] = [0, 0, 0, 0, 2, 0]
    other["alert"] = other["value"] > 1
    both = Result(pd.concat([df, other], ignore_index=True), "UnivariateDrift")
    assert rank(both)["alert_count"].iloc[0] == 2
    assert rank(both, method="psi")["alert_count"].iloc[0] == 1
    with pytest.raises(InvalidConfiguration, match="method 'chi2'"):
        rank(both, method="chi2")


def test_correlation_order_nan_and_constant():
    perf = _perf([0.9, 0.91, 0.89, 0.9, 0.85, 0.8, 0.7, 0.88])
    d = _drift({
        "good": [0.1, 0.0, 0.2, 0.1, 0.4, 0.6, 0.9, 0.2],
        "bad": [0.5, 0.6, 0.4, 0.5, 0.3, 0.2, 0.1, 0.4],
        "flat": [0.3] * 8,
        "holes": [np.nan, np.nan, 0.1, np.nan, np.nan, 0.3, np.nan, np.nan],
        "gappy": [0.1, np.nan, 0.2, 0.1, 0.4, 0.6, 0.9, np.nan],
    })
    out = rank(d, perf).set_index("column")
    assert out.loc["good", "correlation"] > 0.95
    assert out.loc["gappy", "correlation"] == pytest.approx(1.0) and out.loc["gappy", "rank"] == 1
    assert out.loc["bad", "correlation"] < -0.95
    assert out.loc["gappy", "n_chunks"] == 6
    assert out.loc["flat", "note"] == "constant drift values" and np.isnan(out.loc["flat", "correlation"])
    assert "fewer than 3" in out.loc["holes", "note"] and out.loc["holes", "n_chunks"] == 2
    assert set(out.index[out["rank"] > 3]) == {"flat", "holes"}


def test_loss_metric_sign_and_metric_choice():
    d = _drift({"x": [0.1, 0.0, 0.2, 0.1, 0.4, 0.6, 0.9, 0.2]})
    mae = _perf([1.0, 0.9, 1.1, 1.0, 1.5, 2.0, 3.0, 1.2], metric="mae")
    out = rank(d, mae)
    assert out["performance_metric"].iloc[0] == "mae"
    assert out["correlation"].iloc[0] > 0.95  # a higher loss is a positive drop
    both = Result(pd.concat([mae.to_df(), _perf([0.9] * 8, metric="accuracy").to_df()]), "RealizedPerformance")
    assert rank(d, both)["performance_metric"].iloc[0] == "accuracy"
    assert rank(d, both, metric="mae")["performance_metric"].iloc[0] == "mae"
    assert rank(d, both)["note"].iloc[0] == "constant performance values"
    with pytest.raises(InvalidConfiguration, match="no_such"):
        rank(d, both, metric="no_such")
    with pytest.raises(InvalidConfiguration, match="known performance metric"):
        rank(d, _perf([1.0] * 8, metric="true_positive"))


def test_ties_by_alert_count_then_name():
    perf = _perf([0.9, 0.9, 0.9, 0.9, 0.8, 0.7])
    d = _drift({"b": [0, 0, 0, 0, 2, 3], "a": [0, 0, 0, 0, 2, 3], "c": [0, 0, 0, 0, 0.2, 0.3]})
    out = rank(d, perf)
    assert list(out["column"]) == ["a", "b", "c"]


def test_bad_inputs():
    d = _drift({"x": [0.1, 0.2, 0.3, 0.4]})
    p = _perf([0.9, 0.9, 0.8, 0.7])
    with pytest.raises(InvalidConfiguration, match="expects a result from one of"):
        rank(p, d)
    with pytest.raises(InvalidConfiguration, match="must be a seismo Result"):
        rank(pd.DataFrame())
    with pytest.raises(InvalidConfiguration, match="performance_result comes from UnivariateDrift"):
        rank(d, d)
    longer = _perf([0.9, 0.9, 0.9, 0.8, 0.7, 0.6])
    with pytest.raises(InvalidConfiguration, match="different chunkings"):
        rank(d, longer)
    with pytest.raises(InvalidConfiguration, match="sensitivity"):
        rank(d, sensitivity={"x": 1.0})


def test_prediction_sensitivity_categorical_and_numeric():
    rng = np.random.default_rng(0)
    cat = rng.choice(["a", "b"], 500)
    noise = rng.normal(size=500)
    p = np.where(cat == "a", 0.2, 0.8) + 0.01 * rng.normal(size=500)
    ref = pd.DataFrame({"cat": cat, "noise": noise, "p": p, "const": 1.0})
    s = prediction_sensitivity(ref, "p")
    assert s["cat"] > 0.8 and s["noise"] < 0.2 and s["const"] == 0.0
