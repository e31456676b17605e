"""Robustness sweep (realized).

Part of the robustness sweep; the property it pins is stated in robust_data.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from robust_data import (  # helpers; the data fixtures come from conftest.py
    BINARY,
    CBPE_METRICS,
    WINE_NAMES,
    _analysis,
    _assert_binary_matches_sklearn,
    _cell,
    _chunks,
    _label_variants,
    _macro_ovr_auc,
    _targets,
    pl,
)
from sklearn import metrics as skm

import seismo
from seismo.engine.result import RESULT_COLUMNS
from seismo.performance.trust import TRUST_COLUMNS

pytestmark = pytest.mark.filterwarnings("ignore::seismo.SeismoWarning")


def test_binary_realized_metrics_match_sklearn_for_every_label_encoding(cancer):
    ref, ana = cancer
    seen = []
    for name, r, a in _label_variants(ref, ana):
        df = seismo.RealizedPerformance("binary", **BINARY, chunk_size=500).fit(r).calculate(a).to_df()
        assert list(df.columns) == RESULT_COLUMNS + ["targets_missing_rate"], name
        assert not _analysis(df)["value"].isna().any(), name
        _assert_binary_matches_sklearn(df, a, 500)
        seen.append(name)
    assert len(seen) == 9
    assert ((ana["y_pred_proba"] > 0.95) | (ana["y_pred_proba"] < 0.05)).mean() > 0.3  # many ties at 0 and 1


@pytest.mark.parametrize("labels", ["int", "str", "category"])
def test_multiclass_realized_metrics_match_sklearn(wine, labels):
    ref, ana = (d.copy() for d in wine)
    mapping = {0: "p0", 1: "p1", 2: "p2"}
    names = [0, 1, 2]
    if labels != "int":
        for d in (ref, ana):
            d["y_true"], d["y_pred"] = WINE_NAMES[d["y_true"]], WINE_NAMES[d["y_pred"]]
            if labels == "category":
                d["y_true"], d["y_pred"] = d["y_true"].astype("category"), d["y_pred"].astype("category")
        mapping = {WINE_NAMES[j]: f"p{j}" for j in range(3)}
        names = list(WINE_NAMES)
    df = seismo.RealizedPerformance("multiclass", y_pred_proba=mapping, y_pred="y_pred", y_true="y_true",
                                    chunk_size=500).fit(ref).calculate(ana).to_df()
    cells = {f"true_{a}_pred_{b}" for a in names for b in names}
    assert cells <= set(df["metric"])
    for k, rows in _chunks(ana, 500):
        y, p = rows["y_true"].astype(str), rows["y_pred"].astype(str)
        lab = [str(x) for x in names]
        assert _cell(df, k, "f1")["value"] == pytest.approx(skm.f1_score(y, p, average="macro", labels=lab))
        assert _cell(df, k, "precision")["value"] == pytest.approx(
            skm.precision_score(y, p, average="macro", labels=lab, zero_division=0))
        assert _cell(df, k, "recall")["value"] == pytest.approx(skm.recall_score(y, p, average="macro", labels=lab))
        assert _cell(df, k, "accuracy")["value"] == pytest.approx(skm.accuracy_score(y, p))
        assert _cell(df, k, "roc_auc")["value"] == pytest.approx(_macro_ovr_auc(rows.assign(y_true=y), lab), abs=1e-3)
        cm = skm.confusion_matrix(y, p, labels=lab)
        assert _cell(df, k, f"true_{names[0]}_pred_{names[1]}")["value"] == cm[0, 1]
    assert not _analysis(df)["alert"].any()


def test_multiclass_int_labels_with_nan_rows_and_numpy_int_keys(wine):
    ref, ana = (d.copy() for d in wine)
    ana["y_true"] = ana["y_true"].astype(float)
    ana.loc[::5, "y_true"] = np.nan
    mapping = {np.int64(j): f"p{j}" for j in range(3)}
    df = seismo.RealizedPerformance("multiclass", y_pred_proba=mapping, y_pred="y_pred", y_true="y_true",
                                    chunk_size=500).fit(ref).calculate(ana).to_df()
    for k, rows in _chunks(ana, 500):
        lab = rows.dropna(subset=["y_true"])
        assert _cell(df, k, "accuracy")["value"] == pytest.approx(skm.accuracy_score(lab.y_true.astype(int), lab.y_pred))
        assert _cell(df, k, "accuracy")["targets_missing_rate"] == pytest.approx(0.2)


def test_multiclass_float_class_keys_with_float_labels(wine):
    """Regression found by this sweep (fixed since): y_pred_proba={0.0: 'p0', 1.0: 'p1', 2.0: 'p2'}
    (float class keys, e.g. from clf.classes_ when y was float) with float label columns
    0.0/1.0/2.0: Roles.proba_columns keys by str(0.0) == '0.0' while label values are normalised to
    '0', so fit raises InvalidData "values ['2', '1', '0'] ... not among the known classes ['0.0',
    '1.0', '2.0']". Expected: integral float keys normalised like the label values (docs/data.md:
    1.0 counts as 1)
    """
    ref, ana = (d.astype({"y_true": float, "y_pred": float}) for d in wine)
    mapping = {float(j): f"p{j}" for j in range(3)}
    df = seismo.RealizedPerformance("multiclass", y_pred_proba=mapping, y_pred="y_pred", y_true="y_true",
                                    chunk_size=500).fit(ref).calculate(ana).to_df()
    assert _cell(df, 0, "accuracy")["value"] == pytest.approx(
        skm.accuracy_score(ana.y_true[:500], ana.y_pred[:500]))


def test_regression_realized_metrics_match_sklearn(diabetes):
    ref, ana = diabetes
    df = seismo.RealizedPerformance("regression", y_pred="y_pred", y_true="y_true",
                                    chunk_size=250).fit(ref).calculate(ana).to_df()
    funcs = {"mae": skm.mean_absolute_error, "mse": skm.mean_squared_error,
             "mape": skm.mean_absolute_percentage_error, "rmse": skm.root_mean_squared_error,
             "msle": skm.mean_squared_log_error, "rmsle": skm.root_mean_squared_log_error}
    assert set(df["metric"]) == set(funcs)
    for k, rows in _chunks(ana, 250):
        for m, f in funcs.items():
            assert _cell(df, k, m)["value"] == pytest.approx(f(rows.y_true, rows.y_pred), rel=1e-10), (k, m)
    assert not _analysis(df)["alert"].any()


def test_single_class_chunk_gives_nan_roc_auc_not_an_error(cancer):
    ref, ana = cancer
    df = seismo.RealizedPerformance("binary", **BINARY, chunk_size=500).fit(ref).calculate(
        ana.assign(y_true=1)).to_df()
    assert _analysis(df[df.metric == "roc_auc"])["value"].isna().all()
    assert _cell(df, 0, "accuracy")["value"] == pytest.approx((ana.y_pred[:500] == 1).mean())


def test_chunk_without_any_label_reports_nan_metrics(cancer):
    """Regression found by this sweep (fixed since): a chunk with NO labelled row (targets not
    arrived yet) reports f1 = precision = recall = specificity = 0.0 (metrics/classification.py
    _safe_div -> 0) while accuracy and roc_auc are NaN; CBPE's `realized` column then shows a
    realized collapse to 0. Expected NaN for every rate metric when the chunk has 0 labelled rows
    (accuracy's own rule: NaN for an empty chunk)
    """
    ref, ana = cancer
    ana = ana.assign(y_true=ana.y_true.astype(float))
    ana.loc[:499, "y_true"] = np.nan
    df = seismo.RealizedPerformance("binary", **BINARY, chunk_size=500).fit(ref).calculate(ana).to_df()
    assert _cell(df, 0, "accuracy")["targets_missing_rate"] == 1.0
    for m in ("roc_auc", "accuracy", "f1", "precision", "recall", "specificity"):
        assert np.isnan(_cell(df, 0, m)["value"]), m


def test_late_labels_join_on_ids_of_any_int_width_or_as_text(cancer):
    ref, ana = cancer
    perf = seismo.RealizedPerformance("binary", **BINARY, id="id", chunk_size=500).fit(ref)
    expected = perf.calculate(ana).to_df()
    unlabelled = ana.drop(columns="y_true")
    t = _targets(ana)
    variants = {
        "int32": t.astype({"id": "int32"}), "uint64": t.astype({"id": "uint64"}),
        "str": t.astype({"id": str}), "Int64": t.astype({"id": "Int64"}),
        "string[pyarrow]": t.astype({"id": "string[pyarrow]"}),
        "polars int32": pl.from_pandas(t.astype({"id": "int32"})),
        "polars str": pl.from_pandas(t.astype({"id": str})),
        "arrow str": pa.Table.from_pandas(t.astype({"id": str}), preserve_index=False),
    }
    for name, targets in variants.items():
        got = perf.calculate(unlabelled, targets=targets).to_df()
        pd.testing.assert_frame_equal(got, expected, obj=name)
    got = perf.calculate(unlabelled.astype({"id": str}), targets=t).to_df()
    pd.testing.assert_frame_equal(got, expected, obj="analysis ids as text")
    half = perf.calculate(unlabelled, targets=t[t.id < 6000]).to_df()  # ids 4000..5999 labelled
    assert _analysis(half).groupby("chunk_index")["targets_missing_rate"].first().tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


@pytest.mark.parametrize("id_dtype", ["float64", "Int64 with NA"])
def test_late_labels_join_on_float_ids(cancer, id_dtype):
    """Regression found by this sweep (fixed since): join_targets compares ids as text when the
    numpy kinds differ, so float ids (pandas turns int ids into float after a merge with NaN; a
    nullable Int64 id column with one NA also arrives as float) become '4000.0' and match no
    analysis id '4000': every label is silently missing (targets_missing_rate 1.0, metrics NaN /
    0.0, no error or warning). Expected: integral float ids match int ids (the categorical rule of
    docs/data.md), and a join that matches nothing should at least warn
    """
    ref, ana = cancer
    perf = seismo.RealizedPerformance("binary", **BINARY, id="id", chunk_size=500).fit(ref)
    t = _targets(ana)
    if id_dtype == "float64":
        t = t.astype({"id": float})
    else:
        t = pd.concat([t.astype({"id": "Int64"}),
                       pd.DataFrame({"id": pd.array([pd.NA], dtype="Int64"), "y_true": [1]})], ignore_index=True)
    got = perf.calculate(ana.drop(columns="y_true"), targets=t).to_df()
    assert (_analysis(got)["targets_missing_rate"] == 0.0).all()
    pd.testing.assert_frame_equal(got, perf.calculate(ana).to_df())


def test_cbpe_binary_realized_column_equals_realized_performance(cancer):
    ref, ana = cancer
    ana = ana.assign(y_true=ana.y_true.astype(float))
    ana.loc[::3, "y_true"] = np.nan
    kw = dict(**BINARY, chunk_size=500, metrics=CBPE_METRICS)
    realized = seismo.RealizedPerformance("binary", **kw).fit(ref).calculate(ana).to_df()
    cbpe = seismo.CBPE("binary", **kw).fit(ref)
    est = cbpe.estimate(ana).to_df()
    assert list(est.columns) == RESULT_COLUMNS + ["realized", *TRUST_COLUMNS]
    assert (est["chunk_key"] == realized["chunk_key"]).all() and (est["metric"] == realized["metric"]).all()
    np.testing.assert_allclose(est["realized"], realized["value"], rtol=1e-12)
    late = cbpe.estimate(ana.drop(columns="y_true"), targets=ana[["id", "y_true"]].dropna(), id="id").to_df()
    np.testing.assert_allclose(late["realized"], realized["value"], rtol=1e-12)
    no_labels = cbpe.estimate(ana.drop(columns="y_true")).to_df()
    assert _analysis(no_labels)["realized"].isna().all()
    np.testing.assert_allclose(no_labels["value"], est["value"], rtol=1e-12)
    a = _analysis(est)
    assert not a["value"].isna().any() and not a["sampling_error"].isna().any()
    assert ((a["lower_confidence"] <= a["value"]) & (a["value"] <= a["upper_confidence"])).all()
    assert not a["alert"].any()
    gap = (a["value"] - a["realized"]).abs()
    assert (gap <= np.maximum(4 * a["sampling_error"], 0.01)).all(), a[["metric", "value", "realized"]]


def test_cbpe_multiclass_string_and_int_labels_give_the_same_estimates(wine):
    ref, ana = wine
    kw = dict(y_pred="y_pred", y_true="y_true", chunk_size=500, metrics=CBPE_METRICS)
    as_int = seismo.CBPE("multiclass", y_pred_proba={0: "p0", 1: "p1", 2: "p2"}, **kw).fit(ref).estimate(ana).to_df()
    named = [d.assign(y_true=WINE_NAMES[d.y_true], y_pred=WINE_NAMES[d.y_pred]) for d in (ref, ana)]
    mapping = {WINE_NAMES[j]: f"p{j}" for j in range(3)}
    as_str = seismo.CBPE("multiclass", y_pred_proba=mapping, **kw).fit(named[0]).estimate(named[1]).to_df()
    np.testing.assert_allclose(as_str["value"], as_int["value"], rtol=1e-12)
    np.testing.assert_allclose(as_str["realized"], as_int["realized"], rtol=1e-12)
    a = _analysis(as_int)
    assert not a["value"].isna().any() and not a["alert"].any()
    assert ((a["value"] - a["realized"]).abs() <= np.maximum(4 * a["sampling_error"], 0.01)).all()
