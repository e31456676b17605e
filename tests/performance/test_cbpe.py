"""CBPE mechanics: the expected confusion matrix equals a brute-force sum of calibrated
probabilities, estimates equal realized values when the probabilities are the 0/1 labels,
multiclass (3 and 5 classes, a class absent from a chunk) works, calibration can be
switched on and off, and thresholds/sampling errors come from the realized reference metric."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import seismo

CHUNK = 2_000


def _binary(n: int, seed: int, power: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = 1.0 / (1.0 + np.exp(-(2.0 * x - 1.0)))
    score = p**power  # power != 1: miscalibrated scores
    return pd.DataFrame({"score": score, "y_pred": (score >= 0.5).astype(int),
                         "y": (rng.random(n) < p).astype(int)})


def test_expected_confusion_matrix_is_the_brute_force_sum():
    ref, ana = _binary(10_000, 0), _binary(6_000, 1)
    metrics = ["confusion_matrix", "precision", "recall", "f1", "accuracy", "specificity"]
    est = seismo.CBPE("binary", y_pred_proba="score", y_pred="y_pred", y_true="y", chunk_size=CHUNK,
                      metrics=metrics, calibration=None, n_resamples=5).fit(ref).estimate(ana.drop(columns="y"))
    df = est.filter(period="analysis").to_df()
    for idx, rows in df.groupby("chunk_index"):
        chunk = ana.iloc[idx * CHUNK : (idx + 1) * CHUNK]
        c, pred = chunk["score"].to_numpy(), chunk["y_pred"].to_numpy() == 1
        tp, fp = c[pred].sum(), (1 - c[pred]).sum()
        fn, tn = c[~pred].sum(), (1 - c[~pred]).sum()
        want = {"true_positive": tp, "false_positive": fp, "false_negative": fn, "true_negative": tn,
                "precision": tp / (tp + fp), "recall": tp / (tp + fn), "f1": 2 * tp / (2 * tp + fp + fn),
                "accuracy": (tp + tn) / len(c), "specificity": tn / (tn + fp)}
        got = rows.set_index("metric")["value"]
        for name, value in want.items():
            assert got[name] == pytest.approx(value, rel=1e-9), name
    assert df["realized"].isna().all()


def test_estimate_equals_realized_when_probabilities_are_the_labels():
    rng = np.random.default_rng(3)
    frames = []
    for n in (8_000, 6_000):
        y = (rng.random(n) < 0.3).astype(int)
        y_pred = np.where(rng.random(n) < 0.8, y, 1 - y)
        frames.append(pd.DataFrame({"score": y.astype(float), "y_pred": y_pred, "y": y}))
    ref, ana = frames
    est = seismo.CBPE("binary", y_pred_proba="score", y_pred="y_pred", y_true="y", chunk_size=CHUNK,
                      calibration=None, n_resamples=5).fit(ref).estimate(ana)
    df = est.to_df()
    np.testing.assert_allclose(df["value"], df["realized"], rtol=1e-12, atol=1e-12)


def _multiclass(n: int, seed: int, k: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * 2.0
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    truth = (rng.random((n, 1)) > proba.cumsum(axis=1)).sum(axis=1).clip(0, k - 1)
    df = pd.DataFrame({f"p{i}": proba[:, i] for i in range(k)})
    df["y_pred"] = proba.argmax(axis=1)
    df["y"] = truth
    return df


@pytest.mark.parametrize("k", [3, 5])
def test_multiclass_brute_force_and_absent_class(k):
    ref, ana = _multiclass(12_000, 0, k), _multiclass(6_000, 1, k)
    ana.loc[ana.index[:CHUNK], "y_pred"] = ana["y_pred"].iloc[:CHUNK].replace(1, 0)  # class 1 never predicted
    est = seismo.CBPE("multiclass", y_pred_proba={i: f"p{i}" for i in range(k)}, y_pred="y_pred", y_true="y",
                      chunk_size=CHUNK, calibration=None, n_resamples=50,
                      metrics=["confusion_matrix", "accuracy", "recall", "roc_auc"]).fit(ref).estimate(ana)
    df = est.filter(period="analysis").to_df()
    first = df[df["chunk_index"] == 0].set_index("metric")
    chunk = ana.iloc[:CHUNK]
    proba = chunk[[f"p{i}" for i in range(k)]].to_numpy()
    expected = np.stack([proba[chunk["y_pred"].to_numpy() == j].sum(axis=0) for j in range(k)], axis=1)
    for a in range(k):
        for b in range(k):
            assert first.loc[f"true_{a}_pred_{b}", "value"] == pytest.approx(expected[a, b], rel=1e-9, abs=1e-9)
    assert first.loc["accuracy", "value"] == pytest.approx(np.trace(expected) / CHUNK, rel=1e-9)
    recall = np.mean(np.diag(expected) / expected.sum(axis=1))
    assert first.loc["recall", "value"] == pytest.approx(recall, rel=1e-9)
    assert np.isfinite(df["value"]).all()
    # the estimate tracks the realized value within its band on stationary data
    inside = (df["realized"] >= df["lower_confidence"]) & (df["realized"] <= df["upper_confidence"])
    assert inside[df["metric"].isin(["accuracy", "roc_auc"])].mean() >= 0.9


def test_calibration_on_and_off():
    ref, ana = _binary(20_000, 5, power=3.0), _binary(10_000, 6, power=3.0)
    common = dict(y_pred_proba="score", y_pred="y_pred", y_true="y", chunk_size=CHUNK, metrics=["accuracy"],
                  n_resamples=5)
    auto = seismo.CBPE("binary", **common).fit(ref)
    off = seismo.CBPE("binary", calibration=None, **common).fit(ref)
    assert auto.calibrator_.applied_ and not off.calibrator_.applied_
    err = {}
    for name, calc in (("auto", auto), ("off", off)):
        df = calc.estimate(ana).filter(period="analysis").to_df()
        err[name] = (df["value"] - df["realized"]).abs().mean()
    assert err["auto"] < 0.01 < err["off"]


def test_thresholds_and_errors_come_from_realized_reference():
    ref, ana = _binary(20_000, 7), _binary(10_000, 8)
    common = dict(y_pred_proba="score", y_pred="y_pred", y_true="y", chunk_size=CHUNK, metrics=["roc_auc", "f1"])
    est = seismo.CBPE("binary", **common).fit(ref).estimate(ana).to_df()
    real = seismo.RealizedPerformance("binary", **common).fit(ref).calculate(ana).to_df()
    for col in ("lower_threshold", "upper_threshold", "sampling_error"):
        np.testing.assert_allclose(est[col].to_numpy(), real[col].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(est["realized"].to_numpy(), real["value"].to_numpy(), rtol=1e-12)
    band = est["upper_confidence"] - est["lower_confidence"]
    assert np.allclose(band[(est["upper_confidence"] < 1)], 6 * est["sampling_error"][(est["upper_confidence"] < 1)])


def test_regression_problem_type_is_deprecated_and_names_dle():
    """CBPE(problem_type="regression") keeps the contract's promise (a DLE) but warns; PAPE refuses it."""
    with pytest.warns(FutureWarning, match=r"deprecated and returns a seismo\.DLE") as caught:
        est = seismo.CBPE(problem_type="regression", y_pred="pred", y_true="y", chunk_size=1_000)
    assert type(est) is seismo.DLE and (est.y_pred, est.y_true, est.chunk_size) == ("pred", "y", 1_000)
    assert caught[0].filename == __file__  # the warning points at the caller's line
    with pytest.raises(seismo.InvalidConfiguration, match=r"^PAPE estimates classification metrics .* for "
                                                          r"regression use seismo\.DLE"):
        seismo.PAPE(problem_type="regression", y_pred="pred", y_true="y", chunk_size=1_000)
