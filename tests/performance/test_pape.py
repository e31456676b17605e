"""PAPE: without shift it agrees with CBPE and with realized values; under a covariate shift
towards a region where the model's calibration differs (calibrated on the reference mixture,
under-confident in region "a", over-confident in region "b") it tracks the realized metrics
where CBPE does not, binary and multiclass; the effective sample size column shrinks under
shift; the weighting helpers and configuration checks behave as documented."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.isotonic import IsotonicRegression

import seismo
from seismo.errors import InvalidConfiguration
from seismo.performance.pape import PAPE, effective_sample_size, weighted_calibration

CHUNK = 1_000
METRICS = ["roc_auc", "f1", "accuracy"]
FAST = {"n_estimators": 30}


def _binary(n: int, share_a: float, seed: int) -> pd.DataFrame:
    """Score sigmoid(x) for everyone; true logit 3x in region a, 0.3x in region b."""
    rng = np.random.default_rng(seed)
    region = np.where(rng.random(n) < share_a, "a", "b")
    x = rng.normal(scale=1.5, size=n)
    score = 1.0 / (1.0 + np.exp(-x))
    logit = np.where(region == "a", 3.0 * x, 0.3 * x)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"x": x, "region": region, "score": score, "y_pred": (score >= 0.5).astype(int), "y": y})


def _multiclass(n: int, share_a: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = np.where(rng.random(n) < share_a, "a", "b")
    z = rng.normal(scale=1.5, size=(n, 3))
    s = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    t = np.where(region[:, None] == "a", 3.0 * z, 0.3 * z)
    pt = np.exp(t) / np.exp(t).sum(axis=1, keepdims=True)
    y = (pt.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    return pd.DataFrame({"x0": z[:, 0], "x1": z[:, 1], "region": region, "p0": s[:, 0], "p1": s[:, 1],
                         "p2": s[:, 2], "y_pred": s.argmax(axis=1), "y": y})


BINARY = dict(y_pred_proba="score", y_pred="y_pred", y_true="y", chunk_size=CHUNK, metrics=METRICS, n_resamples=5)
MULTI = dict(y_pred_proba={0: "p0", 1: "p1", 2: "p2"}, y_pred="y_pred", y_true="y", chunk_size=CHUNK,
             metrics=METRICS, n_resamples=5)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return _binary(10_000, 0.5, 0)


def _run(cls, problem: str, kw: dict, ref: pd.DataFrame, ana: pd.DataFrame, **extra) -> pd.DataFrame:
    return cls(problem, **kw, **extra).fit(ref).estimate(ana).filter(period="analysis").to_df()


def _mae(df: pd.DataFrame, metric: str) -> float:
    rows = df[df["metric"] == metric]
    return float(np.mean(np.abs(rows["value"] - rows["realized"])))


def test_no_shift_agrees_with_cbpe_and_realized(reference):
    ana = _binary(5_000, 0.5, 1)
    cbpe = _run(seismo.CBPE, "binary", BINARY, reference, ana, calibration="isotonic")
    pape = _run(PAPE, "binary", BINARY, reference, ana, hyperparameters=FAST)
    assert len(pape) == len(cbpe) == 5 * len(METRICS)
    for metric in METRICS:
        p, c = pape[pape["metric"] == metric], cbpe[cbpe["metric"] == metric]
        se = float(p["sampling_error"].mean())
        assert np.all(np.isfinite(p["value"]))
        assert np.mean(np.abs(p["value"].to_numpy() - c["value"].to_numpy())) < 0.5 * se, metric
        assert _mae(pape, metric) < 1.5 * se, metric


def test_shift_towards_a_differently_calibrated_region(reference):
    ana = _binary(5_000, 0.9, 2)
    cbpe = _run(seismo.CBPE, "binary", BINARY, reference, ana)
    pape = _run(PAPE, "binary", BINARY, reference, ana, hyperparameters=FAST)
    for metric in METRICS:
        assert _mae(cbpe, metric) > 0.05, metric  # CBPE is clearly wrong here ...
        assert _mae(pape, metric) <= 0.5 * _mae(cbpe, metric), metric  # ... and PAPE repairs most of it
        assert _mae(pape, metric) < 0.03, metric


def test_multiclass_shift():
    ref, ana = _multiclass(6_000, 0.5, 0), _multiclass(3_000, 0.9, 2)
    cbpe = _run(seismo.CBPE, "multiclass", MULTI, ref, ana)
    pape = _run(PAPE, "multiclass", MULTI, ref, ana, hyperparameters=FAST)
    for metric in METRICS:
        assert _mae(pape, metric) <= 0.5 * _mae(cbpe, metric), metric


def test_effective_sample_size_shrinks_under_shift(reference):
    est = PAPE("binary", **BINARY, hyperparameters=FAST, max_reference_rows=4_000).fit(reference)
    same = est.estimate(_binary(3_000, 0.5, 1)).to_df()
    shifted = est.estimate(_binary(3_000, 0.9, 2)).to_df()
    assert "effective_sample_size" in same.columns
    ref_ess = same.loc[same["period"] == "reference", "effective_sample_size"]
    assert (ref_ess == 4_000).all()  # reference chunks are not reweighted: the sample size
    ess_same = same.loc[same["period"] == "analysis", "effective_sample_size"]
    ess_shift = shifted.loc[shifted["period"] == "analysis", "effective_sample_size"]
    assert ess_same.notna().all() and (ess_same <= 4_000 + 1e-6).all()
    assert ess_same.min() > 0.8 * 4_000
    assert ess_shift.max() < 0.8 * ess_same.min()


def test_weighting_helpers():
    assert effective_sample_size(np.ones(50)) == pytest.approx(50.0)
    assert effective_sample_size(np.r_[np.ones(10), np.zeros(90)]) == pytest.approx(10.0)
    rng = np.random.default_rng(0)
    s = rng.random(500)
    y = (rng.random(500) < s).astype(int)
    new = rng.random(100)
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(s, y)
    np.testing.assert_allclose(weighted_calibration(s, y, np.full(500, 3.0), new), iso.predict(new), atol=1e-12)
    # weighting rows up pulls the map towards their labels
    w = np.where(y == 1, 5.0, 1.0)
    assert weighted_calibration(s, y, w, new).mean() > iso.predict(new).mean()
    # multiclass rows are renormalised
    scores = rng.dirichlet(np.ones(3), size=300)
    labels = rng.integers(0, 3, size=300)
    out = weighted_calibration(scores, labels, np.ones(300), scores[:20])
    np.testing.assert_allclose(out.sum(axis=1), 1.0)


@pytest.mark.parametrize("bad", [
    {"weight_clip": (2.0, 1.0)}, {"weight_clip": "x"}, {"calibration": None}, {"n_splits": 1},
    {"max_reference_rows": 0}, {"hyperparameters": [1]},
])
def test_invalid_configuration(reference, bad):
    with pytest.raises(InvalidConfiguration):
        PAPE("binary", **BINARY, **bad).fit(reference)
