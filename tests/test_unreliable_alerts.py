"""An unreliable estimate never removes an alert silently.

The issue's scenario: `CBPE` without ``features=`` on a log with a unique, increasing ``id``
and a real performance drop. The default features took ``id``, the trust diagnostics flagged
every analysis chunk ``none`` and the report said nothing of the drop. Now ``id`` is left out
(so stationary chunks are trusted and the drop alerts), and a chunk whose estimate really
cannot be believed is reported as "cannot judge performance here", with the reason.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo.monitor.report import Report

NO_RANKING = pd.DataFrame(columns=["rank", "column", "alert_count", "n_chunks"])


def quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# -- the reported scenario, end to end -------------------------------------------------------------
@pytest.fixture(scope="module")
def credit_estimate():
    """CBPE as the user called it: no features=, no id=, on the synthetic credit log (labels joined)."""
    reference, analysis, targets = seismo.datasets.load_synthetic_credit()
    cbpe = seismo.CBPE("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="defaulted",
                       timestamp="timestamp", chunk_size=5_000, metrics=["roc_auc"])
    quietly(cbpe.fit, reference)
    result = quietly(cbpe.estimate, analysis.merge(targets, on="id"))
    return cbpe, result


def test_the_id_column_is_not_a_feature_of_the_diagnostics(credit_estimate):
    cbpe, _ = credit_estimate
    assert "id" not in cbpe.feature_names_ and "timestamp" not in cbpe.feature_names_
    assert "income" in cbpe.feature_names_  # a float unique per row stays


def test_a_real_drop_alerts_and_stationary_chunks_are_trusted(credit_estimate):
    _, result = credit_estimate
    df = result.filter(period="analysis").to_df().sort_values("chunk_index")
    stationary, drifted = df[df["chunk_index"] < 5], df[df["chunk_index"] >= 5]
    # the drop is real: every drifted chunk's realized ROC AUC is below every stationary one's
    assert drifted["realized"].max() < stationary["realized"].min()
    assert set(stationary["trust"]) == {"ok"}  # before: "none" everywhere, told apart by id alone
    assert "none" not in set(drifted["trust"])
    assert not stationary["alert"].any()
    assert drifted["alert"].all()  # 5 of 5 drifted chunks alert
    summary = Report({"estimated_performance": result}, NO_RANKING, {}).summary()
    assert "performance estimated to drop beyond its threshold from 2024-10-01 on (roc_auc" in summary
    assert "cannot judge performance here" not in summary


# -- a chunk whose estimate cannot be believed -----------------------------------------------------
def log(n: int, rng: np.random.Generator, x1_mean: float = 0.0) -> pd.DataFrame:
    x1, x2 = rng.normal(x1_mean, 1.0, n), rng.normal(size=n)
    p = 1 / (1 + np.exp(-(x1 - 0.5 * x2)))
    return pd.DataFrame({"x1": x1, "x2": x2, "p": p, "y_pred": (p > 0.5).astype(int),
                         "y": (rng.random(n) < p).astype(int)})


@pytest.fixture(scope="module")
def moved():
    """A reference and an analysis whose second chunk lies 8 SD away, where the reference has no rows."""
    rng = np.random.default_rng(3)
    reference = log(6_000, rng)
    analysis = pd.concat([log(1_000, rng), log(1_000, rng, x1_mean=8.0)], ignore_index=True)
    return reference, analysis


def moved_report(moved, targets: bool = False) -> Report:
    reference, analysis = moved
    # thresholds that no estimate crosses: the chunk must alert for being unjudgeable, not for its value
    monitor = seismo.Monitor("binary", y_pred_proba="p", y_pred="y_pred", y_true="y", chunk_size=1_000,
                             metrics=["accuracy"],
                             calculators={"estimated_performance": {"thresholds": {"accuracy": seismo.ConstantThreshold(lower=0.0)}},
                                          "pca_drift": False, "domain_classifier_drift": False})
    quietly(monitor.fit, reference)
    return quietly(monitor.run, analysis if targets else analysis.drop(columns="y"))


def test_an_unjudgeable_chunk_is_said_so_in_the_summary_with_its_reason(moved):
    report = moved_report(moved)
    estimated = report.results["estimated_performance"].filter(period="analysis").to_df()
    assert list(estimated.sort_values("chunk_index")["trust"]) == ["ok", "none"]
    assert not estimated["alert"].any()  # the estimate itself crosses nothing
    blind = report.cannot_judge()
    assert list(blind["chunk_index"]) == [1] and list(blind["chunk"]) == ["[1000:1999]"]
    summary = report.summary()
    line = next(s for s in summary.splitlines() if s.startswith("cannot judge performance here"))
    assert line.startswith("cannot judge performance here: [1000:1999] (1 of 2 analysis chunks")
    assert "lie where the reference has almost no data" in line
    assert "no performance alert" not in summary


def test_the_html_verdict_says_it(moved, tmp_path):
    html = moved_report(moved).save_html(tmp_path / "report.html").read_text(encoding="utf-8")
    verdict = re.search(r"<div class='verdict'>(.*?)</div>", html, re.DOTALL)  # red: not the ' ok' variant
    assert verdict is not None
    assert "cannot judge performance here: [1000:1999]" in verdict.group(1)
    assert "almost no data" in verdict.group(1)
    assert "<strong>Cannot judge performance here</strong> in 1 chunk ([1000:1999])" in html


def test_labels_judge_the_chunk_the_estimate_cannot(moved):
    """With the chunk's labels, realized performance judges it: nothing is left unjudged."""
    report = moved_report(moved, targets=True)
    assert report.cannot_judge().empty
    assert "cannot judge performance here" not in report.summary()
    assert "estimate unreliable here: [1000:1999]" in report.summary()  # the estimate still is
