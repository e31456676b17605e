"""RealizedPerformance equals scikit-learn on each chunk's rows (exact metrics to 1e-9,
histogram ROC AUC / average precision to 1e-3), for binary, multiclass and regression;
late labels are joined by id and the missing share is reported; bad model output is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

import seismo
from seismo.errors import InvalidConfiguration, InvalidData

CHUNK = 4_000


def _chunks(df: pd.DataFrame, frame: pd.DataFrame):
    for _, row in df[df["period"] == "analysis"].iterrows():
        yield row, frame.iloc[row["chunk_start_index"] : row["chunk_end_index"] + 1]


def test_binary_matches_sklearn(reference, analysis):
    value_matrix = [[1.0, -2.0], [-10.0, 5.0]]
    calc = seismo.RealizedPerformance("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                                      chunk_size=CHUNK, business_value_matrix=value_matrix, n_resamples=10)
    df = calc.fit(reference).calculate(analysis).to_df()
    for row, rows in _chunks(df, analysis):
        y, p, s = rows["y_true"], rows["y_pred"], rows["y_pred_proba"]
        tn, fp, fn, tp = skm.confusion_matrix(y, p).ravel()
        exact = {
            "f1": skm.f1_score(y, p), "precision": skm.precision_score(y, p), "recall": skm.recall_score(y, p),
            "specificity": tn / (tn + fp), "accuracy": skm.accuracy_score(y, p),
            "true_positive": tp, "false_positive": fp, "true_negative": tn, "false_negative": fn,
            "business_value": (np.array(value_matrix) * skm.confusion_matrix(y, p)).sum(),
        }
        approx = {"roc_auc": skm.roc_auc_score(y, s), "average_precision": skm.average_precision_score(y, s)}
        if row["metric"] in exact:
            assert row["value"] == pytest.approx(exact[row["metric"]], rel=1e-9), row["metric"]
        else:
            assert row["value"] == pytest.approx(approx[row["metric"]], abs=1e-3), row["metric"]
        assert row["targets_missing_rate"] == 0.0


def _multiclass(n: int, seed: int, n_classes: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, n_classes)) * 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([f"k{i}" for i in range(n_classes)])
    truth = np.array([rng.choice(n_classes, p=row) for row in proba[:200]])  # small warm-up draw
    cum = proba.cumsum(axis=1)
    truth = (rng.random((n, 1)) > cum).sum(axis=1).clip(0, n_classes - 1)
    df = pd.DataFrame({f"p_{lab}": proba[:, i] for i, lab in enumerate(labels)})
    df["y_true"] = labels[truth]
    df["y_pred"] = labels[proba.argmax(axis=1)]
    return df


@pytest.mark.parametrize("n_classes", [3, 5])
def test_multiclass_matches_sklearn_macro(n_classes):
    ref, ana = _multiclass(12_000, 1, n_classes), _multiclass(8_000, 2, n_classes)
    labels = [f"k{i}" for i in range(n_classes)]
    ana.loc[ana.index[:CHUNK], "y_true"] = np.where(ana["y_true"].iloc[:CHUNK] == "k1", "k0", ana["y_true"].iloc[:CHUNK])
    calc = seismo.RealizedPerformance("multiclass", y_pred_proba={lab: f"p_{lab}" for lab in labels},
                                      y_pred="y_pred", y_true="y_true", chunk_size=CHUNK, n_resamples=10)
    df = calc.fit(ref).calculate(ana).to_df()
    assert f"true_k0_pred_k{n_classes - 1}" in set(df["metric"])
    for row, rows in _chunks(df, ana):
        y, p = rows["y_true"], rows["y_pred"]
        scores = rows[[f"p_{lab}" for lab in labels]].to_numpy()
        cm = skm.confusion_matrix(y, p, labels=labels)
        spec = np.mean([(cm.sum() - cm[i].sum() - cm[:, i].sum() + cm[i, i]) / (cm.sum() - cm[i].sum())
                        for i in range(n_classes)])
        exact = {
            "f1": skm.f1_score(y, p, labels=labels, average="macro", zero_division=0),
            "precision": skm.precision_score(y, p, labels=labels, average="macro", zero_division=0),
            "recall": skm.recall_score(y, p, labels=labels, average="macro", zero_division=0),
            "accuracy": skm.accuracy_score(y, p), "specificity": spec,
        }
        present = [i for i, lab in enumerate(labels) if (y == lab).any()]
        onehot = (y.to_numpy()[:, None] == np.array(labels)[None, :]).astype(int)
        auc = np.mean([skm.roc_auc_score(onehot[:, i], scores[:, i]) for i in present])
        ap = np.mean([skm.average_precision_score(onehot[:, i], scores[:, i]) for i in present])
        if row["metric"] in exact:
            assert row["value"] == pytest.approx(exact[row["metric"]], rel=1e-9), row["metric"]
        elif row["metric"] == "roc_auc":
            assert row["value"] == pytest.approx(auc, abs=1e-3)
        elif row["metric"] == "average_precision":
            assert row["value"] == pytest.approx(ap, abs=1e-3)


def test_regression_matches_sklearn():
    rng = np.random.default_rng(0)

    def frame(n):
        y = rng.lognormal(3, 0.5, n)
        return pd.DataFrame({"y": y, "pred": y * rng.lognormal(0, 0.2, n)})

    ref, ana = frame(12_000), frame(8_000)
    df = seismo.RealizedPerformance("regression", y_pred="pred", y_true="y", chunk_size=CHUNK,
                                    n_resamples=10).fit(ref).calculate(ana).to_df()
    funcs = {"mae": skm.mean_absolute_error, "mape": skm.mean_absolute_percentage_error,
             "mse": skm.mean_squared_error, "rmse": skm.root_mean_squared_error,
             "msle": skm.mean_squared_log_error, "rmsle": skm.root_mean_squared_log_error}
    assert set(df["metric"]) == set(funcs)
    for row, rows in _chunks(df, ana):
        assert row["value"] == pytest.approx(funcs[row["metric"]](rows["y"], rows["pred"]), rel=1e-9)


def test_late_labels_joined_by_id(reference, analysis):
    calc = seismo.RealizedPerformance("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                                      id="id", chunk_size=CHUNK, metrics=["accuracy"], n_resamples=10).fit(reference)
    targets = analysis[["id", "y_true"]].sample(frac=1.0, random_state=1)
    targets = targets[~targets["id"].isin(analysis["id"].iloc[: CHUNK // 2])]  # first half-chunk not arrived
    features = analysis.drop(columns=["y_true"])
    late = calc.calculate(features, targets=targets).to_df()
    full = calc.calculate(analysis).to_df()
    ana_late, ana_full = late[late["period"] == "analysis"], full[full["period"] == "analysis"]
    assert ana_late["targets_missing_rate"].tolist() == [0.5] + [0.0] * (len(ana_late) - 1)
    np.testing.assert_allclose(ana_late["value"].iloc[1:], ana_full["value"].iloc[1:], rtol=1e-12)
    first = analysis.iloc[CHUNK // 2 : CHUNK]
    assert ana_late["value"].iloc[0] == pytest.approx(skm.accuracy_score(first["y_true"], first["y_pred"]))
    with pytest.raises(InvalidData, match="duplicated ids"):
        calc.calculate(features, targets=pd.concat([targets, targets.iloc[:3]]))


def test_bad_model_output_is_refused(reference, analysis):
    kw = dict(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true", chunk_size=CHUNK, n_resamples=5)
    calc = seismo.RealizedPerformance("binary", **kw).fit(reference)
    with pytest.raises(InvalidData, match="'y_pred_proba' in the analysis data has 1 values that are NaN or outside"):
        calc.calculate(analysis.assign(y_pred_proba=analysis["y_pred_proba"].where(analysis.index != 5, 1.5)))
    with pytest.raises(InvalidData, match="NaN or outside"):
        calc.calculate(analysis.assign(y_pred_proba=analysis["y_pred_proba"].where(analysis.index != 5, np.nan)))
    with pytest.raises(InvalidData, match="y_pred column 'y_pred' in the analysis data has values \\['2'\\]"):
        calc.calculate(analysis.assign(y_pred=analysis["y_pred"].where(analysis.index != 9, 2)))
    with pytest.raises(InvalidConfiguration, match="metric 'mae' is not available for binary"):
        seismo.RealizedPerformance("binary", metrics=["mae"], **kw).fit(reference)
    with pytest.raises(InvalidConfiguration, match="problem_type is 'ordinal'"):
        seismo.RealizedPerformance("ordinal", **kw).fit(reference)
    with pytest.raises(InvalidConfiguration, match="business_value_matrix of shape \\(2, 2\\)"):
        seismo.RealizedPerformance("binary", metrics=["business_value"], **kw).fit(reference)


def test_thresholds_learned_from_reference_chunks(reference, analysis):
    df = seismo.RealizedPerformance("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                                    chunk_size=CHUNK, metrics=["roc_auc"]).fit(reference).calculate(analysis).to_df()
    ref = df[df["period"] == "reference"]
    assert (ref["lower_threshold"] < ref["value"].min()).all() and (ref["upper_threshold"] > ref["value"].max()).all()
    assert (df["upper_threshold"] <= 1.0).all()
    se = df["sampling_error"].iloc[0]
    assert 0.002 < se < 0.02  # AUC standard error at 4k rows
