"""Shared data and helpers of the robustness sweep (tests/robustness/test_robust_*.py).

Property pinned: `UnivariateDrift`, `DataQuality`, `RealizedPerformance`, `CBPE` and `DLE`
either run on real-world shaped data (scikit-learn's bundled datasets, upsampled with noise)
and on frames with awkward types (pandas `category`, nullable `Int64`/`boolean`/`string`,
`bool`, object columns mixing str and None, integer categories that turn float through NaN,
constant / all-NaN / infinite columns, odd column names, zone-aware, string, unsorted and
duplicated timestamps, gaps between periods, tiny references, polars / pyarrow / parquet /
CSV inputs) -- or they fail with a `seismo.SeismoError` that names the column. Where they run:

* the values equal the textbook reference implementation on the same rows: KS within 0.002
  of `scipy.stats.ks_2samp`, chi2 and its p-value equal to `scipy.stats.chi2_contingency`,
  Jensen-Shannon equal to `scipy.spatial.distance.jensenshannon` (base 2), data-quality
  statistics equal to pandas (the histogram median within 0.5% of a standard deviation),
  realized classification and regression metrics equal to scikit-learn (ROC AUC / average precision within 1e-3, counts-based metrics exactly);
* the same content in another container or dtype gives the same numbers;
* `to_df()` has the API columns and no NaN where the value is well defined;
* a random split of one dataset (stationary by construction) raises at most 2% alerts.

Tests whose
docstring starts "Regression found by this sweep" pin bugs it found that have been fixed since.
Each says what a user saw and what is right.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl  # noqa: F401  (re-exported; in the [test] extra: a missing polars is a broken install, not a reason to skip)
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import seismo


def _upsample(X: pd.DataFrame, y: pd.Series, n: int, seed: int, noise: float = 0.02):
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(X), n)
    F = X.iloc[idx].reset_index(drop=True)
    F = F * (1.0 + rng.normal(0.0, noise, F.shape))
    return F, y.iloc[idx].reset_index(drop=True)


def _halves(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    h = len(df) // 2
    return df.iloc[:h].reset_index(drop=True), df.iloc[h:].reset_index(drop=True)


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Binary: breast cancer, logistic regression; 4000 reference and 4000 analysis rows."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.6, random_state=0, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000)).fit(X_tr, y_tr)
    F, labels = _upsample(X_te, y_te, 8000, seed=0)
    df = F.copy()
    df["y_pred_proba"] = model.predict_proba(F)[:, 1]
    df["y_pred"] = (df["y_pred_proba"] > 0.5).astype(int)
    df["y_true"] = labels.to_numpy()
    df["id"] = np.arange(len(df), dtype=np.int64)
    df["timestamp"] = pd.date_range("2024-01-01", periods=len(df), freq="h")
    return _halves(df)


WINE_NAMES = np.array(["barolo", "grignolino", "barbera"])


@pytest.fixture(scope="module")
def wine() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Multiclass: wine, logistic regression; int labels 0/1/2 and scores p0/p1/p2."""
    X, y = load_wine(return_X_y=True, as_frame=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000)).fit(X_tr, y_tr)
    F, labels = _upsample(X_te, y_te, 6000, seed=1, noise=0.05)
    proba = model.predict_proba(F)
    df = F[["alcohol", "malic_acid", "color_intensity"]].copy()
    for j in range(3):
        df[f"p{j}"] = proba[:, j]
    df["y_true"] = labels.to_numpy()
    df["y_pred"] = proba.argmax(axis=1)
    return _halves(df)


@pytest.fixture(scope="module")
def diabetes() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Regression: diabetes, ridge; `sex` as strings, all features raw (unscaled)."""
    X, y = load_diabetes(return_X_y=True, as_frame=True, scaled=False)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, random_state=0)
    model = Ridge().fit(X_tr, y_tr)
    rng = np.random.default_rng(2)
    idx = rng.integers(0, len(X_te), 4000)
    F = X_te.iloc[idx].reset_index(drop=True)
    numeric = [c for c in F.columns if c != "sex"]
    F[numeric] = F[numeric] * (1.0 + rng.normal(0.0, 0.02, (len(F), len(numeric))))
    df = F.copy()
    df["y_pred"] = model.predict(F)
    df["y_true"] = y_te.iloc[idx].to_numpy() + rng.normal(0.0, 5.0, len(F))
    df["sex"] = df["sex"].map({1.0: "f", 2.0: "m"})
    df["id"] = np.arange(len(df))
    return _halves(df)


def _analysis(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["period"] == "analysis"]


def _cell(df: pd.DataFrame, chunk: int, metric: str, column: str | None = None) -> pd.Series:
    rows = df[(df["period"] == "analysis") & (df["chunk_index"] == chunk) & (df["metric"] == metric)]
    if column is not None:
        rows = rows[rows["column"] == column]
    assert len(rows) == 1, (chunk, metric, column, len(rows))
    return rows.iloc[0]


def _chunks(df: pd.DataFrame, size: int):
    """(index, rows) of consecutive chunks of `size` rows, as SizeChunker cuts them."""
    for k, start in enumerate(range(0, len(df), size)):
        yield k, df.iloc[start : start + size]


CANCER_COLUMNS = ["mean radius", "mean texture", "worst area", "mean concave points"]


def _category_table(ref: pd.Series, cur: pd.Series) -> np.ndarray:
    rc, cc = ref.dropna().value_counts(), cur.dropna().value_counts()
    cats = sorted(set(rc.index) | set(cc.index), key=str)
    return np.array([[rc.get(x, 0) for x in cats], [cc.get(x, 0) for x in cats]], dtype=float)


def _awkward_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "category": pd.Categorical(rng.choice(["a", "b", "c"], n)),
        "nullable_int": pd.array(rng.integers(0, 100, n), dtype="Int64"),
        "nullable_bool": pd.array(rng.random(n) < 0.3, dtype="boolean"),
        "arrow_string": pd.array(rng.choice(["x", "y", None], n), dtype="string[pyarrow]"),
        "plain_bool": rng.random(n) < 0.5,
        "object_mixed": pd.Series(rng.choice(["u", "v", None], n), dtype=object),
        "small_int": rng.integers(0, 4, n),
        "float_levels": rng.choice([0.5, 1.5, 2.5], n),
        "with space": rng.normal(size=n),
        "ünïcødé": rng.normal(size=n),
        "constant": np.ones(n),
        "all_nan": np.full(n, np.nan),
    })
    df.loc[::7, "nullable_int"] = pd.NA
    df.loc[::5, "nullable_bool"] = pd.NA
    return df


AWKWARD_KINDS = {
    "category": "categorical", "nullable_int": "continuous", "nullable_bool": "categorical",
    "arrow_string": "categorical", "plain_bool": "categorical", "object_mixed": "categorical",
    "small_int": "categorical", "float_levels": "continuous", "with space": "continuous",
    "ünïcødé": "continuous", "constant": "continuous", "all_nan": "continuous",
}


@pytest.fixture(scope="module")
def awkward() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _awkward_frame(2000, seed=0), _awkward_frame(2000, seed=1)


BINARY = dict(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true")


def _assert_binary_matches_sklearn(df: pd.DataFrame, ana: pd.DataFrame, size: int) -> None:
    for k, rows in _chunks(ana, size):
        labelled = rows["y_true"].notna()
        y = rows.loc[labelled, "y_true"].astype(float).astype(int)
        pred = rows.loc[labelled, "y_pred"].astype(float).astype(int)
        score = rows.loc[labelled, "y_pred_proba"].astype(float)
        exact = {
            "f1": skm.f1_score(y, pred), "precision": skm.precision_score(y, pred),
            "recall": skm.recall_score(y, pred), "accuracy": skm.accuracy_score(y, pred),
            "specificity": skm.recall_score(y, pred, pos_label=0),
        }
        for m, v in exact.items():
            assert _cell(df, k, m)["value"] == pytest.approx(v, abs=1e-12), (k, m)
        tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
        assert [_cell(df, k, m)["value"] for m in ("true_positive", "false_positive", "true_negative",
                                                    "false_negative")] == [tp, fp, tn, fn]
        assert _cell(df, k, "roc_auc")["value"] == pytest.approx(skm.roc_auc_score(y, score), abs=1e-3)
        assert _cell(df, k, "average_precision")["value"] == pytest.approx(
            skm.average_precision_score(y, score), abs=1e-3)
        assert _cell(df, k, "accuracy")["targets_missing_rate"] == pytest.approx(1 - labelled.mean())


def _label_variants(ref: pd.DataFrame, ana: pd.DataFrame):
    yield "int", ref, ana
    yield "bool", ref.assign(y_true=ref.y_true.astype(bool)), ana.assign(y_true=ana.y_true.astype(bool))
    yield "float", ref.assign(y_true=ref.y_true.astype(float)), ana.assign(y_true=ana.y_true.astype(float))
    nan = ana.assign(y_true=ana.y_true.astype(float))
    nan.loc[::4, "y_true"] = np.nan
    yield "float with NaN", ref, nan
    nullable = ana.assign(y_true=ana.y_true.astype("Int64"))
    nullable.loc[::3, "y_true"] = pd.NA
    yield "Int64 with NA", ref.assign(y_true=ref.y_true.astype("Int64")), nullable
    yield "boolean with NA", ref.assign(y_true=ref.y_true.astype("boolean")), nullable.astype({"y_true": "boolean"})
    yield "y_pred bool", ref.assign(y_pred=ref.y_pred.astype(bool)), ana.assign(y_pred=ana.y_pred.astype(bool))
    yield "y_pred float", ref.assign(y_pred=ref.y_pred.astype(float)), ana.assign(y_pred=ana.y_pred.astype(float))
    clip = lambda d: d.assign(y_pred_proba=np.where(d.y_pred_proba < 0.05, 0.0,  # noqa: E731
                                                    np.where(d.y_pred_proba > 0.95, 1.0, d.y_pred_proba)))
    yield "proba exactly 0 and 1", clip(ref), clip(ana)


def _macro_ovr_auc(rows: pd.DataFrame, labels) -> float:
    return float(np.mean([skm.roc_auc_score(rows["y_true"] == lab, rows[f"p{j}"]) for j, lab in enumerate(labels)]))


def _targets(ana: pd.DataFrame) -> pd.DataFrame:
    return ana[["id", "y_true"]].sample(frac=1.0, random_state=0).reset_index(drop=True)


CBPE_METRICS = ["roc_auc", "average_precision", "f1", "precision", "recall", "specificity", "accuracy"]


def _mixed_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "x": rng.normal(size=n), "k": rng.integers(0, 4, n), "s": rng.choice(["a", "b", "c"], n),
        "b": rng.random(n) < 0.3, "with space": rng.lognormal(size=n),
    })
    df.loc[::9, "x"] = np.nan
    p = 1.0 / (1.0 + np.exp(-df["x"].fillna(0.0)))
    df["y_pred_proba"] = p
    df["y_pred"] = (p > 0.5).astype(int)
    df["y_true"] = (rng.random(n) < p).astype(int)
    df["timestamp"] = pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC") + pd.Timedelta(hours=n * seed)
    df["id"] = np.arange(n) + n * seed
    return df


FEATURES = ["x", "k", "s", "b", "with space"]


def _all_results(ref, ana) -> dict[str, pd.DataFrame]:
    return {
        "drift": seismo.UnivariateDrift(columns=FEATURES, timestamp="timestamp", chunk_size=500,
                                        n_resamples=20).fit(ref).calculate(ana).to_df(),
        "quality": seismo.DataQuality(columns=FEATURES, timestamp="timestamp", chunk_period="W",
                                      n_resamples=20).fit(ref).calculate(ana).to_df(),
        "realized": seismo.RealizedPerformance("binary", **BINARY, timestamp="timestamp", chunk_size=500,
                                               n_resamples=20).fit(ref).calculate(ana).to_df(),
        "cbpe": seismo.CBPE("binary", **BINARY, timestamp="timestamp", chunk_size=500, n_resamples=20,
                            metrics=["roc_auc", "f1"]).fit(ref).estimate(ana).to_df(),
    }


@pytest.fixture(scope="module")
def mixed():
    ref, ana = _mixed_frame(3000, 0), _mixed_frame(3000, 1)
    return ref, ana, _all_results(ref, ana)
