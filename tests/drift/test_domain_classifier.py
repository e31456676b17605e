"""DomainClassifierDrift: stationary data gives AUROC near 0.5 with no alerts, a shifted
feature, a flipped correlation (same marginals) and a new category all alert, and
top_features names what changed; the result follows the tidy API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic import make_frame

from seismo.drift.domain_classifier import DomainClassifierDrift
from seismo.engine.result import RESULT_COLUMNS, Result
from seismo.engine.thresholds import ConstantThreshold
from seismo.errors import ColumnNotFound, InvalidConfiguration

CHUNK = 1_000
FAST = {"n_estimators": 40}  # fewer trees keep the suite quick; the defaults use 100


def _data(n: int, seed: int, *, shift: float = 0.0, rho: float = 0.8, new_share: float = 0.0) -> pd.DataFrame:
    """Independent features a, b (correlated with rho), d, and a category; options shift one thing."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = rho * a + np.sqrt(1 - rho**2) * rng.normal(size=n)
    cat = rng.choice(["x", "y", "z"], size=n, p=[0.5, 0.3, 0.2]).astype(object)
    cat[rng.random(n) < new_share] = "new"
    return pd.DataFrame({"a": a, "b": b, "d": rng.uniform(size=n) + shift, "cat": cat})


@pytest.fixture(scope="module")
def fitted() -> DomainClassifierDrift:
    return DomainClassifierDrift(chunk_size=CHUNK, hyperparameters=FAST).fit(_data(10_000, seed=1))


def _analysis(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["period"] == "analysis"]


def test_stationary_is_near_half_and_quiet(fitted):
    df = fitted.calculate(_data(3_000, seed=2)).to_df()
    assert list(df.columns) == RESULT_COLUMNS
    ref = df[df["period"] == "reference"]
    assert len(ref) == 10 and ref["value"].notna().all()
    assert (np.abs(df["value"] - 0.5) < 0.05).all(), df["value"].tolist()
    assert not df["alert"].any()
    assert (df["metric"] == "domain_classifier_auroc").all() and df["column"].isna().all()
    # the material-change constants hold where the chunk's noise is below them (1,000 rows: nearly)
    assert df["lower_threshold"].between(0.43, 0.45).all() and (df["upper_threshold"] == 0.65).all()
    assert (df["sampling_error"] > 0).all() and (df["sampling_error"] < 0.05).all()
    assert (df["lower_confidence"] <= df["value"]).all() and (df["value"] <= df["upper_confidence"]).all()
    assert fitted.top_features().empty


def test_shift_in_one_feature_alerts_and_is_named(fitted):
    result = fitted.calculate(_data(2_000, seed=3, shift=0.5))
    ana = _analysis(result.to_df())
    assert (ana["value"] > 0.8).all() and ana["alert"].all()
    top = fitted.top_features()
    assert list(top.columns) == ["chunk_index", "chunk_key", "period", "column", "importance"]
    assert set(top["chunk_index"]) == {0, 1} and (top["period"] == "analysis").all()
    for _, chunk in top.groupby("chunk_index"):
        assert chunk["column"].iloc[0] == "d"
        assert chunk["importance"].is_monotonic_decreasing and chunk["importance"].iloc[0] > 0.5
    assert top.equals(fitted.feature_importance_)
    # a filtered result keeps only the chunks alerting in it
    only_first = result.to_df()
    only_first.loc[(only_first["period"] == "analysis") & (only_first["chunk_index"] == 1), "alert"] = False
    assert set(fitted.top_features(Result(only_first, "x"))["chunk_index"]) == {0}


def test_joint_shift_with_same_marginals_alerts(fitted):
    ana = _analysis(fitted.calculate(_data(2_000, seed=4, rho=-0.8)).to_df())
    assert (ana["value"] > 0.65).all() and ana["alert"].all()
    firsts = set(fitted.top_features().groupby("chunk_index")["column"].first())
    assert firsts <= {"a", "b"}


def test_new_category_is_detected(fitted):
    ana = _analysis(fitted.calculate(_data(2_000, seed=5, new_share=0.5)).to_df())
    # half the chunk rows are perfectly separable: AUROC about 0.5 + 0.5 / 2
    assert (ana["value"] > 0.7).all() and ana["alert"].all()
    assert (fitted.top_features().groupby("chunk_index")["column"].first() == "cat").all()


def test_small_chunk_is_nan_not_a_crash(fitted):
    df = _analysis(fitted.calculate(_data(1_004, seed=6)).to_df())
    assert len(df) == 2
    assert np.isfinite(df["value"].iloc[0]) and np.isnan(df["value"].iloc[1])
    assert not df["alert"].iloc[1]


def test_roles_timestamp_and_overrides():
    ref, ana = make_frame(4_000, seed=1), make_frame(1_000, seed=2, shift=1.0, start="2024-06-01")
    calc = DomainClassifierDrift(
        chunk_number=4, timestamp="timestamp", y_true="y_true", y_pred="y_pred", y_pred_proba="y_pred_proba",
        id="id", thresholds={"domain_classifier_auroc": ConstantThreshold(upper=0.6)},
        hyperparameters={"n_estimators": 20}, max_reference_rows=2_000, max_chunk_rows=500,
    ).fit(ref)
    assert calc.schema_.names == ["a", "b", "c", "d"]
    df = calc.calculate(ana).to_df()
    assert df["lower_threshold"].isna().all() and (df["upper_threshold"] == 0.6).all()
    assert df["chunk_start_date"].notna().all()
    assert _analysis(df)["alert"].all() and not df[df["period"] == "reference"]["alert"].any()
    assert (calc.top_features()["column"].iloc[0]) == "a"
    assert len(calc.reference_sample_) == 2_000


def test_missing_column_and_bad_config(fitted):
    with pytest.raises(ColumnNotFound):
        fitted.calculate(_data(2_000, seed=7).drop(columns="cat"))
    with pytest.raises(ColumnNotFound):
        DomainClassifierDrift(columns=["a", "nope"], chunk_size=CHUNK).fit(_data(3_000, seed=1))
    with pytest.raises(InvalidConfiguration):
        DomainClassifierDrift(chunk_size=CHUNK, n_splits=1).fit(_data(3_000, seed=1))
    with pytest.raises(InvalidConfiguration):
        DomainClassifierDrift(chunk_size=CHUNK, thresholds={"roc_auc": ConstantThreshold()}).fit(_data(3_000, seed=1))


@pytest.mark.slow
def test_false_alarm_rate_on_stationary_data_with_default_thresholds():
    """At most 1 alerting chunk in 100 stationary chunks (default constant thresholds 0.45/0.65)."""
    calc = DomainClassifierDrift(chunk_size=500, hyperparameters={"n_estimators": 20}, max_reference_rows=2_000)
    df = calc.fit(_data(5_000, seed=11)).calculate(_data(50_000, seed=12)).filter(period="analysis").to_df()
    assert len(df) == 100
    assert df["alert"].sum() <= 1
    assert abs(df["value"].mean() - 0.5) < 0.02


def test_small_chunks_widen_the_constant_bounds_to_the_noise():
    """With 15-row chunks chance alone crosses 0.65 (NannyML's constant fired on a quarter to a third of
    stationary chunks of public data sets); the default widens each bound to the stated-rate noise bound."""
    small = DomainClassifierDrift(chunk_size=15, hyperparameters=FAST).fit(_data(900, seed=4))
    analysis = _analysis(small.calculate(_data(900, seed=5)).to_df())
    assert (analysis["upper_threshold"] > 0.7).all() and (analysis["lower_threshold"] < 0.3).all()
    assert analysis["alert"].mean() <= 2 / 60
    shifted = _data(900, seed=6, shift=3.0)  # d moves wholly out of its range: still crosses the bound
    assert _analysis(small.calculate(shifted).to_df())["alert"].mean() >= 0.9
