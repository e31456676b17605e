"""`Monitor.run` explains the latest chunk whose estimated performance alerts: label-free from the
estimator's expected losses, and from realized losses when the run is given the labels."""

from __future__ import annotations

import warnings

import pytest

import seismo

ONLY_PERFORMANCE = {"univariate_drift": False, "pca_drift": False, "domain_classifier_drift": False,
                    "data_quality": False}


@pytest.fixture(scope="module")
def campaign():
    reference, analysis, targets = seismo.datasets.load_synthetic_campaign()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        monitor = seismo.Monitor("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="defaulted",
                                 timestamp="timestamp", id="id", chunk_size=5_000, calculators=ONLY_PERFORMANCE)
        monitor.fit(reference)
    return monitor, analysis, targets


def test_the_latest_alerting_chunk_is_explained_without_labels(campaign):
    monitor, analysis, _ = campaign
    found = monitor.run(analysis).discovery
    assert list(found["chunk_key"]) == ["[45000:49999]"]
    top = found.iloc[0]
    assert top["rule"] == "age <= 30 and region == 'east'"
    assert top["share_reference"] == pytest.approx(0.0419, abs=1e-4) and top["share_chunk"] == pytest.approx(0.2286)
    assert top["performance_chunk"] < top["performance_reference"] - 0.15 and top["share_of_change"] > 0.9


def test_with_labels_the_realized_losses_name_the_same_customers(campaign):
    monitor, analysis, targets = campaign
    report = monitor.run(analysis, targets=targets)
    top = report.discovery.iloc[0]
    assert "region == 'east'" in top["rule"] and top["share_of_change"] > 0.5
    assert "Where performance fell in chunk [45000:49999]" in report.summary()


def test_no_alert_no_discovery(campaign):
    monitor, analysis, _ = campaign
    assert monitor.run(analysis.iloc[:25_000]).discovery.empty  # before the campaign: nothing alerts
