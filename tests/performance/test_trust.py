"""Trust diagnostics on every estimator's result, and PAPE where CBPE fails.

* The rule (`seismo.performance.trust`): a chunk drawn like the reference is ``ok``; a chunk
  moved into a region the reference never covers is ``low``/``none``, with a reason naming the
  unseen rows; the thresholds and the calibration gap's units are pinned on hand-made numbers.
* Done when (issue 7), on the scenarios of ``benchmarks/scenarios/`` where CBPE's error
  exceeds 3 SE (sparse-region shift, local calibration): for every such chunk, PAPE's error is
  at most half of CBPE's *or* PAPE flags the chunk low/none; both cases occur and are pinned.
  Under no shift, PAPE's MAE is at most 1.1 × CBPE's (there it falls back to CBPE's calibration).
* ``trust=False`` leaves the columns empty; a Report turns a flagged chunk into "estimate
  unreliable here" and draws it as a grey marker with the reason on hover.
* Issue 11 item 5, on the multiclass scenario whose shift breaks one class's calibration
  (``multiclass_sparse_region_shift``): of the (chunk, metric) estimates off by more than 3 SE, at
  most 20% are left ``ok`` and none off by more than 4 SE (before: all were left ``ok``); stationary
  chunks stay ``ok``; PAPE's accuracy MAE is at most half of CBPE's. The
  per-metric gap equals scikit-learn's weighted accuracy minus the mean calibrated P(correct).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo.engine.domain_fit import DomainFit, DomainFitCache, cross_fit
from seismo.performance.trust import (
    GAP_NOISE,
    TRUST_COLUMNS,
    calibration_gap,
    shift_within_noise,
    trust_verdict,
    worst_gap,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import scenarios

METRICS = ["accuracy", "roc_auc", "f1"]
SCENARIO_FEATURES = ["x1", "x2", "x3", "x4", "segment"]


# -- the rule on hand-made numbers --------------------------------------------------------------
def test_trust_verdict_thresholds_and_reasons():
    assert trust_verdict(0.0, 0.9, 0.5) == ("ok", "")
    level, reason = trust_verdict(0.12, 0.9, 0.0)
    assert level == "low" and reason.startswith("12% of the chunk's rows lie where the reference has almost no data")
    assert trust_verdict(0.5, 0.9, 0.0)[0] == "none"
    level, reason = trust_verdict(0.0, 0.05, 0.0)
    assert level == "low" and "only 5% of the reference sample resembles the chunk" in reason
    level, reason = trust_verdict(0.0, 0.9, -2.5)
    assert level == "low" and "overstates realized accuracy by 2.5 sampling errors" in reason
    assert trust_verdict(0.0, 0.9, 1.99)[0] == "ok"
    assert trust_verdict(float("nan"), float("nan"), float("nan")) == ("ok", "")  # nothing measured, nothing flagged
    level, reason = trust_verdict(0.6, 0.01, 3.0)  # the worst level wins, every reason is given
    assert level == "none" and reason.count(";") == 2
    # a shifted chunk matched by fewer effective reference rows than it has is estimated less precisely
    level, reason = trust_verdict(0.0, 0.5, 0.0, support_rows=2_400, n_chunk=5_000)
    assert level == "low" and "only 2,400 reference rows (effective) resemble the chunk's 5,000" in reason
    assert trust_verdict(0.0, 0.5, 0.0, support_rows=5_000, n_chunk=5_000)[0] == "ok"
    level, reason = trust_verdict(0.0, 0.9, 2.5, "roc_auc")  # the gap names its metric
    assert level == "low" and "understates realized roc_auc by 2.5 sampling errors" in reason
    assert worst_gap({"accuracy": (3.0, 0.5), "roc_auc": (-2.5, -1.5)}) == ("roc_auc", -2.5, -1.5)


def test_calibration_gap_is_in_chunk_sampling_errors_beyond_its_own_noise():
    n_ref, n_chunk = 10_000, 2_500
    observed = np.r_[np.ones(9_000), np.zeros(1_000)]  # realized accuracy 0.9
    expected = np.full(n_ref, 0.8)  # estimated 0.8
    gap, beyond = calibration_gap(observed, expected, np.ones(n_ref), n_chunk, "rate")
    unit = np.sqrt(0.8 * 0.2 / n_chunk)
    assert gap == pytest.approx(0.1 / unit)
    noise = np.sqrt(np.sum((observed - expected - 0.1) ** 2)) / n_ref
    assert beyond == pytest.approx((0.1 - GAP_NOISE * noise) / unit)
    # the same gap measured on 20 rows is mostly noise
    _, small = calibration_gap(observed[::500], expected[::500], np.ones(20), n_chunk, "rate")
    assert small < beyond
    # weights pick the rows that look like the chunk: only the wrong rows count
    w = np.r_[np.zeros(9_000), np.ones(1_000)]
    assert calibration_gap(observed, expected, w, n_chunk, "rate")[0] == pytest.approx(-0.8 / unit)


def test_shift_within_noise_reads_the_auroc_against_its_null_standard_error():
    def fit(auroc, n=5_000):
        return DomainFit(np.full(n, 0.5), np.full(n, 0.5), auroc, np.zeros(1))

    null_se = np.sqrt((2 / 5_000) / 12)  # 0.0058
    assert shift_within_noise(fit(0.5 + 2.9 * null_se))
    assert not shift_within_noise(fit(0.5 + 3.1 * null_se))
    assert shift_within_noise(fit(0.47))


def test_domain_fit_cache_serves_a_fit_once_more_only_for_identical_inputs():
    rng = np.random.default_rng(0)
    reference, current = rng.normal(size=(300, 2)), rng.normal(0.5, 1.0, size=(200, 2))
    params = {"n_estimators": 10, "n_jobs": 1, "verbose": -1, "random_state": 0}
    cache = DomainFitCache()
    first = cache.fit(reference, current, params, 3, None, 0)
    assert len(cache) == 1 and 0.5 < first.auroc < 0.8
    assert cache.fit(reference, current, params, 3, None, 0) is first and cache.hits == 1 and len(cache) == 0
    other = cache.fit(reference, current, {**params, "n_estimators": 11}, 3, None, 0)  # other inputs: own fit
    assert other is not first and cache.hits == 1
    alone = cross_fit(reference, current, params, 3, None, 0)
    assert np.array_equal(alone.reference_proba, first.reference_proba) and alone.auroc == first.auroc
    assert len(first.reference_proba) == 300 and len(first.chunk_proba) == 200
    assert first.ratio_scale == pytest.approx(1.5)


# -- in support vs unseen ------------------------------------------------------------------------
def _binary(rng: np.random.Generator, n: int, x1_mean: float) -> pd.DataFrame:
    x1 = rng.normal(x1_mean, 1.0, n)
    x2 = rng.normal(size=n)
    score = 1 / (1 + np.exp(-(x1 - 0.5 * x2)))
    y = (rng.random(n) < score).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "p": score, "y_pred": (score > 0.5).astype(int), "y": y})


def _regression(rng: np.random.Generator, n: int, x1_mean: float) -> pd.DataFrame:
    x1 = rng.normal(x1_mean, 1.0, n)
    x2 = rng.normal(size=n)
    pred = x1 + x2
    return pd.DataFrame({"x1": x1, "x2": x2, "y_pred": pred, "y": pred + rng.normal(0, 1 + np.abs(x1), n)})


@pytest.fixture(scope="module")
def binary_frames():
    rng = np.random.default_rng(3)
    reference = _binary(rng, 6_000, 0.0)
    analysis = pd.concat([_binary(rng, 1_000, 0.0), _binary(rng, 1_000, 5.0)], ignore_index=True)
    return reference, analysis


def _analysis(result) -> pd.DataFrame:
    df = result.filter(period="analysis").to_df()
    return df.drop_duplicates("chunk_index").set_index("chunk_index")


@pytest.mark.parametrize("kind", ["cbpe", "pape"])
def test_in_support_chunk_is_ok_and_a_chunk_in_an_unseen_region_is_flagged(binary_frames, kind):
    reference, analysis = binary_frames
    cls = seismo.PAPE if kind == "pape" else seismo.CBPE
    estimator = cls("binary", y_pred_proba="p", y_pred="y_pred", y_true="y", chunk_size=1_000, metrics=METRICS)
    df = _analysis(estimator.fit(reference).estimate(analysis))
    assert list(df.columns[-len(TRUST_COLUMNS):]) == list(TRUST_COLUMNS)
    same, moved = df.loc[0], df.loc[1]
    assert same["trust"] == "ok" and same["trust_reason"] == ""
    assert same["unseen_share"] < 0.02 and same["effective_sample_size"] > 0.8 * 5_000
    assert moved["trust"] == "none"  # x1 moved 5 standard deviations: nothing in the reference is like it
    assert moved["unseen_share"] > 0.9
    assert "lie where the reference has almost no data" in moved["trust_reason"]
    ref = estimator.estimate(analysis).filter(period="reference").to_df()
    assert set(ref["trust"]) == {"ok"} and (ref["unseen_share"] == 0).all()


def test_dle_reports_the_same_diagnostics_with_a_loss_gap():
    rng = np.random.default_rng(4)
    reference = _regression(rng, 6_000, 0.0)
    analysis = pd.concat([_regression(rng, 1_000, 0.0), _regression(rng, 1_000, 5.0)], ignore_index=True)
    dle = seismo.DLE(y_pred="y_pred", y_true="y", features=["x1", "x2"], chunk_size=1_000, metrics=["mae"],
                     hyperparameters={"n_estimators": 50})
    df = _analysis(dle.fit(reference).estimate(analysis))
    assert df.loc[0, "trust"] == "ok" and abs(df.loc[0, "calibration_gap"]) < 3
    assert df.loc[1, "trust"] == "none" and "almost no data" in df.loc[1, "trust_reason"]


def test_trust_false_leaves_the_columns_empty(binary_frames):
    reference, analysis = binary_frames
    cbpe = seismo.CBPE("binary", y_pred_proba="p", y_pred="y_pred", y_true="y", chunk_size=1_000,
                       metrics=METRICS, trust=False)
    df = cbpe.fit(reference).estimate(analysis).to_df()
    assert set(TRUST_COLUMNS) <= set(df.columns)
    assert df["trust"].isna().all() and df["unseen_share"].isna().all()
    assert set(df["trust_reason"]) == {"trust diagnostics off"}


def test_cbpe_without_the_features_in_the_analysis_still_reports_the_calibration_gap(binary_frames):
    reference, analysis = binary_frames
    cbpe = seismo.CBPE("binary", y_pred_proba="p", y_pred="y_pred", y_true="y", chunk_size=1_000, metrics=METRICS)
    cbpe.fit(reference)
    with pytest.warns(seismo.SeismoWarning, match=r"2 of the default features are missing .*'x1', 'x2'"):
        df = _analysis(cbpe.estimate(analysis.drop(columns=["x1", "x2"])))
    assert df["unseen_share"].isna().all() and df["calibration_gap"].notna().all()
    # the support was not checked: never "ok" on evidence it did not see (issue 12)
    assert set(df["trust"]) == {"low"} and df["trust_reason"].str.contains("missing from the analysis").all()


# -- done when: PAPE where CBPE fails, or a flag ---------------------------------------------------
def _errors(name: str, generator, kind: str, n_analysis: int) -> pd.DataFrame:
    reference, analysis = generator(0, n_reference=20_000, n_analysis=n_analysis)
    cls = seismo.PAPE if kind == "pape" else seismo.CBPE
    estimator = cls("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y", chunk_size=5_000,
                    metrics=METRICS, features=SCENARIO_FEATURES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = estimator.fit(reference).estimate(analysis).filter(period="analysis").to_df()
    df["abs_error"] = (df["value"] - df["realized"]).abs()
    return df.set_index(["chunk_index", "metric"])


@pytest.fixture(scope="module")
def hard_cases():
    out = {}
    for name, generator in (("sparse", scenarios.binary_sparse_region_shift),
                            ("local", scenarios.binary_local_calibration)):
        out[name] = (_errors(name, generator, "cbpe", 15_000), _errors(name, generator, "pape", 15_000))
    return out


def test_where_cbpe_is_off_by_more_than_3_se_pape_halves_the_error_or_flags_the_chunk(hard_cases):
    by_error, by_flag = 0, 0
    for name, (cbpe, pape) in hard_cases.items():
        bad = cbpe[cbpe["abs_error"] > 3 * cbpe["sampling_error"]]
        assert len(bad) >= 3, f"{name}: CBPE should fail here"
        for key in bad.index:
            halved = pape.loc[key, "abs_error"] <= 0.5 * cbpe.loc[key, "abs_error"]
            flagged = pape.loc[key, "trust"] in ("low", "none")
            assert halved or flagged, f"{name} {key}: PAPE {pape.loc[key, 'abs_error']:.4f} vs CBPE " \
                                      f"{cbpe.loc[key, 'abs_error']:.4f}, trust {pape.loc[key, 'trust']}"
            by_error += bool(halved and not flagged)
            by_flag += bool(flagged)
    assert by_error >= 3 and by_flag >= 3  # both ways of meeting the bar occur


def test_local_calibration_pape_fixes_it_and_sparse_region_is_flagged(hard_cases):
    cbpe, pape = hard_cases["local"]
    last = pape.index.get_level_values(0).max()
    # the region is covered: PAPE's calibration gap does not flag it ... (its support, fewer effective
    # reference rows than the chunk has, may: that is a precision flag, not a bias one)
    assert "beyond noise" not in pape.loc[(last, "accuracy"), "trust_reason"]
    assert pape.loc[(last, "accuracy"), "abs_error"] < 0.25 * cbpe.loc[(last, "accuracy"), "abs_error"]  # ... rightly
    assert cbpe.loc[(last, "accuracy"), "calibration_gap"] > 3  # CBPE's global calibration fails there
    cbpe, pape = hard_cases["sparse"]
    assert set(pape.xs("accuracy", level="metric")["trust"]) <= {"low", "none"}
    assert (pape.xs("accuracy", level="metric")["unseen_share"] >= 0.1).all()


def test_under_no_shift_pape_is_within_ten_percent_of_cbpe():
    for seed in (0, 1):
        reference, analysis = scenarios.binary_stationary(seed, n_reference=20_000, n_analysis=20_000)
        common = dict(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y", chunk_size=5_000,
                      metrics=METRICS, features=SCENARIO_FEATURES)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cbpe = seismo.CBPE("binary", **common).fit(reference).estimate(analysis).filter(period="analysis")
            pape = seismo.PAPE("binary", **common).fit(reference).estimate(analysis).filter(period="analysis")
        c, p = cbpe.to_df(), pape.to_df()
        for metric in METRICS:
            mae_c = (c.loc[c.metric == metric, "value"] - c.loc[c.metric == metric, "realized"]).abs().mean()
            mae_p = (p.loc[p.metric == metric, "value"] - p.loc[p.metric == metric, "realized"]).abs().mean()
            assert mae_p <= 1.1 * mae_c, (seed, metric, mae_p, mae_c)
        assert set(p["trust"]) == {"ok"}


# -- display ---------------------------------------------------------------------------------------
def test_report_says_estimate_unreliable_and_draws_the_chunk_grey(binary_frames, tmp_path):
    reference, analysis = binary_frames
    monitor = seismo.Monitor("binary", y_pred_proba="p", y_pred="y_pred", y_true="y", chunk_size=1_000,
                             metrics=METRICS, estimator="pape")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = monitor.fit(reference).run(analysis.drop(columns="y"))
    summary = report.summary()
    assert "estimate unreliable here: [1000:1999] (1 of 2 analysis chunks; [1000:1999]: " in summary
    assert "lie where the reference has almost no data" in summary
    assert "estimated to drop" not in summary and "estimated to improve" not in summary
    assert list(report.unreliable()["trust"]) == ["none"]
    figure = report.plot("estimated_performance")
    grey = [t for t in figure.data if t.name == "estimate unreliable"]
    assert len(grey) == len(METRICS)  # one per panel
    assert all(t.customdata[0][1] == "none" and "almost no data" in t.customdata[0][2] for t in grey)
    html = report.save_html(tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Estimate unreliable in 1 chunk (grey markers)" in html and "estimate unreliable here" in html


# -- issue 11 item 5: the per-metric gap, misses > 3 SE flagged, stationary chunks ok -----------------
MULTI_METRICS = ["accuracy", "roc_auc", "f1"]


def test_metric_gap_of_accuracy_is_weighted_realized_minus_estimated_accuracy(binary_frames):
    from sklearn.metrics import accuracy_score

    reference, _ = binary_frames
    cbpe = seismo.CBPE("binary", y_pred_proba="p", y_pred="y_pred", y_true="y", chunk_size=1_000,
                       metrics=METRICS).fit(reference)
    gaps = cbpe.trust_.metric_gaps
    rows = np.arange(len(reference))
    w = np.where(reference["x1"].to_numpy() > 0.5, 3.0, 1.0)  # rows like a chunk shifted up in x1
    out = gaps.gaps(rows, w, 1_000)
    assert set(out) == set(METRICS)
    soft = gaps.soft  # out-of-fold calibrated P(class), (n, 2)
    pred = reference["y_pred"].to_numpy()
    p_correct = soft[rows, pred]
    expected_gap = accuracy_score(reference["y"], pred, sample_weight=w) - np.average(p_correct, weights=w)
    se = gaps.sampling_errors(1_000)["accuracy"]
    # the gap (~0.002) is a difference of two weighted means (~0.9) of 6000 rows summed in other
    # orders: absolute error up to n * eps (about 7e-13) each, i.e. 1e-10 in units of se (~0.01)
    assert out["accuracy"][0] == pytest.approx(expected_gap / se, rel=1e-9, abs=1e-8)
    # the single accuracy gap of the old rule is the same number (in its own unit)
    old = calibration_gap((reference["y"].to_numpy() == pred).astype(float), p_correct, w, 1_000, "rate")[0]
    rate = np.average(p_correct, weights=w)
    assert old * np.sqrt(rate * (1 - rate) / 1_000) == pytest.approx(expected_gap, rel=1e-9, abs=1e-10)


def _multiclass_run(generator, kind: str, seed: int = 0) -> pd.DataFrame:
    reference, analysis = generator(seed, n_reference=30_000, n_analysis=25_000)
    cls = seismo.PAPE if kind == "pape" else seismo.CBPE
    estimator = cls("multiclass", y_pred_proba=dict(scenarios.PROBA_COLUMNS), y_pred="y_pred", y_true="y",
                    chunk_size=5_000, metrics=MULTI_METRICS, features=SCENARIO_FEATURES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = estimator.fit(reference).estimate(analysis).filter(period="analysis").to_df()
    df["z"] = (df["value"] - df["realized"]) / df["sampling_error"]
    return df


@pytest.fixture(scope="module")
def multiclass_sparse():
    return {kind: _multiclass_run(scenarios.multiclass_sparse_region_shift, kind) for kind in ("cbpe", "pape")}


def test_multiclass_sparse_region_every_miss_beyond_3_se_is_flagged(multiclass_sparse):
    cbpe = multiclass_sparse["cbpe"]
    misses = cbpe[cbpe["z"].abs() > 3]
    assert len(misses) >= 6  # CBPE fails here: the shift breaks class c's calibration
    # exceptions: misses left ok (measured 1 of 7, a 3.2-SE ROC AUC miss whose gap is -1.3 SE: mostly
    # noise); before the per-metric gap every one of them was left ok
    assert (misses["trust"] == "ok").mean() <= 0.2, misses[["chunk_index", "metric", "z", "trust"]]
    assert set(misses.loc[misses["z"].abs() > 4, "trust"]) <= {"low", "none"}
    pape = multiclass_sparse["pape"]
    assert set(pape.loc[pape["z"].abs() > 3, "trust"]) <= {"low", "none"}
    assert (cbpe.groupby("chunk_index")["trust"].first() == "ok").sum() >= 2  # early chunks: mild shift, ok


def test_multiclass_sparse_region_pape_halves_cbpes_error(multiclass_sparse):
    def mae(df: pd.DataFrame) -> float:
        acc = df[df["metric"] == "accuracy"]
        return float((acc["value"] - acc["realized"]).abs().mean())

    assert mae(multiclass_sparse["pape"]) <= 0.5 * mae(multiclass_sparse["cbpe"])


def test_stationary_multiclass_chunks_are_not_flagged():
    df = _multiclass_run(scenarios.multiclass_stationary, "cbpe")
    assert (df["trust"] == "ok").mean() >= 0.95
