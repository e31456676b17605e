"""Monitor on the synthetic credit data: one fit and one run give the estimated and realized
performance drop, the two harmful drifts ranked above the virtual one, PCA and domain-classifier
drift alerting in the shifted half, the data-quality problems, and a one-file HTML report."""

from __future__ import annotations

import pytest

import seismo
from seismo.engine.result import RESULT_COLUMNS

SHIFT_START = 5  # the second half of the analysis: chunks 5..9 of 5,000 rows


@pytest.fixture(scope="module")
def report():
    reference, analysis, targets = seismo.datasets.load_synthetic_credit()
    monitor = seismo.Monitor("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="defaulted",
                             timestamp="timestamp", id="id", chunk_size=5_000)
    return monitor.fit(reference).run(analysis, targets=targets)


def _alerting_chunks(report, calculator, metric=None):
    df = report.alerts()
    df = df[df["calculator"] == calculator]
    if metric is not None:
        df = df[df["metric"] == metric]
    return set(df["chunk_index"])


def test_performance_drop_estimated_and_realized(report):
    shifted = set(range(SHIFT_START, 10))
    assert _alerting_chunks(report, "estimated_performance", "roc_auc") == shifted
    assert _alerting_chunks(report, "realized_performance", "roc_auc") == shifted


def test_harmful_drift_ranked_above_virtual_drift(report):
    order = list(report.ranking["column"])
    assert max(order.index("debt_ratio"), order.index("income")) < order.index("age")
    assert set(order[:2]) == {"debt_ratio", "income"}


def test_multivariate_drift_alerts_in_the_shifted_half(report):
    assert _alerting_chunks(report, "pca_drift") == set(range(SHIFT_START, 10))
    assert _alerting_chunks(report, "domain_classifier_drift") == set(range(SHIFT_START, 10))


def test_data_quality_problems_flagged(report):
    quality = report.alerts()
    quality = quality[quality["calculator"] == "data_quality"]
    pairs = set(zip(quality["column"], quality["metric"]))
    assert {("employment_years", "missing_rate"), ("employment_type", "unseen_rate")} <= pairs
    assert quality["chunk_index"].min() >= SHIFT_START


def test_tidy_union_and_alert_order(report):
    df = report.to_df()
    assert df.columns[0] == "calculator" and set(RESULT_COLUMNS) <= set(df.columns)
    assert set(df["calculator"]) == {"estimated_performance", "realized_performance", "univariate_drift",
                                     "pca_drift", "domain_classifier_drift", "data_quality"}
    alerts = report.alerts()
    assert list(alerts["calculator"].iloc[:1]) == ["estimated_performance"]
    assert alerts["alert"].all() and (alerts["period"] == "analysis").all()


def test_summary_verdict(report):
    text = report.summary()
    assert "performance estimated to drop beyond its threshold from 2024-10-01 on" in text
    assert "most correlated drift: debt_ratio, income" in text
    assert "employment_years (missing)" in text


def test_html_report_is_one_self_contained_file(report, tmp_path):
    path = report.save_html(tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert text.count("plotly.js v") == 1  # the library is embedded once, not per figure
    assert text.count("Plotly.newPlot") >= 5  # performance, drift, multivariate, quality figures
    assert "src=\"http" not in text  # opens offline
    assert path.stat().st_size < 10_000_000
    assert "debt_ratio" in text and "Settings" in text


def test_multiclass_and_regression_monitors():
    reference, analysis, targets = seismo.datasets.load_synthetic_churn()
    proba = {k: f"y_pred_proba_{k}" for k in ("stay", "downgrade", "leave")}
    report = seismo.Monitor("multiclass", y_pred_proba=proba, y_pred="y_pred", y_true="churn", timestamp="timestamp",
                            id="id", chunk_size=3_000).fit(reference).run(analysis, targets=targets)
    assert _alerting_chunks(report, "estimated_performance", "roc_auc") == set(range(5, 10))
    assert set(report.ranking["column"].head(3)) == {"monthly_charges", "support_calls", "plan"}

    reference, analysis, targets = seismo.datasets.load_synthetic_house_prices()
    report = seismo.Monitor("regression", y_pred="y_pred", y_true="price", timestamp="timestamp", id="id",
                            chunk_size=3_000, metrics=["mae"]).fit(reference).run(analysis, targets=targets)
    assert "performance measured to drop beyond its threshold from 2024-10-01 on (mae)" in report.summary()
    assert _alerting_chunks(report, "realized_performance", "mae") == set(range(5, 10))


def test_monitor_can_use_pape():
    reference, analysis, targets = seismo.datasets.load_synthetic_credit(n_reference=20_000, n_analysis=20_000)
    report = seismo.Monitor("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="defaulted",
                            timestamp="timestamp", id="id", chunk_size=4_000, metrics=["roc_auc"],
                            estimator="pape").fit(reference).run(analysis, targets=targets)
    df = report.to_df()
    estimated = df[(df["calculator"] == "estimated_performance") & (df["period"] == "analysis")]
    assert "effective_sample_size" in estimated.columns and estimated["effective_sample_size"].notna().all()
    assert estimated["alert"].iloc[-1]  # the shifted chunks alert
    with pytest.raises(seismo.InvalidConfiguration, match="estimator is 'magic'"):
        seismo.Monitor("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="defaulted",
                       estimator="magic").fit(reference)


def test_pape_and_domain_classifier_drift_share_one_fit_per_chunk():
    """With PAPE, the Monitor's DomainClassifierDrift takes PAPE's LightGBM parameters and both read one
    cache: every analysis chunk's classifier is fitted once, and the drift values are exactly those of a
    DomainClassifierDrift run alone with the same parameters."""
    reference, analysis, targets = seismo.datasets.load_synthetic_credit(n_reference=12_000, n_analysis=12_000)
    roles = dict(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="defaulted", timestamp="timestamp", id="id")
    monitor = seismo.Monitor("binary", **roles, chunk_size=4_000, metrics=["roc_auc"], estimator="pape")
    report = monitor.fit(reference).run(analysis, targets=targets)
    drift = monitor.calculators_["domain_classifier_drift"]
    assert drift.domain_cache_ is monitor.calculators_["estimated_performance"].domain_cache_
    assert drift.domain_cache_.hits == 3  # one per analysis chunk: the second caller reused the first's fit
    assert len(drift.domain_cache_) == 0  # every shared fit was claimed and dropped
    alone = seismo.DomainClassifierDrift(**roles, chunk_size=4_000, hyperparameters=drift.hyperparameters)
    expected = alone.fit(reference).calculate(analysis).to_df()["value"].to_numpy()
    assert (report.results["domain_classifier_drift"].to_df()["value"].to_numpy() == expected).all()
    estimated = report.results["estimated_performance"].to_df()
    assert {"unseen_share", "effective_sample_size", "calibration_gap", "trust", "trust_reason"} <= set(estimated)
