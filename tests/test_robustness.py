"""Adversarial robustness sweep of the public calculators on real and awkward data.

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

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import scipy.stats as ss
from scipy.spatial.distance import jensenshannon
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import seismo
from seismo.result import RESULT_COLUMNS

pl = pytest.importorskip("polars")

pytestmark = pytest.mark.filterwarnings("ignore::seismo.SeismoWarning")


# ---------------------------------------------------------------------------------------------
# data: scikit-learn's bundled datasets, a quick model, upsampled with noise
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# UnivariateDrift against scipy
# ---------------------------------------------------------------------------------------------
CANCER_COLUMNS = ["mean radius", "mean texture", "worst area", "mean concave points"]


def test_ks_and_wasserstein_match_scipy_on_breast_cancer(cancer):
    ref, ana = cancer
    df = seismo.UnivariateDrift(columns=CANCER_COLUMNS, chunk_size=500,
                                methods=["kolmogorov_smirnov", "wasserstein"]).fit(ref).calculate(ana).to_df()
    assert list(df.columns[: len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    for k, rows in _chunks(ana, 500):
        for c in CANCER_COLUMNS:
            ks = _cell(df, k, "kolmogorov_smirnov", c)["value"]
            assert ks == pytest.approx(ss.ks_2samp(ref[c], rows[c]).statistic, abs=0.002), (k, c)
            w = _cell(df, k, "wasserstein", c)["value"]
            assert w == pytest.approx(ss.wasserstein_distance(ref[c], rows[c]), rel=0.01), (k, c)


def test_ks_matches_scipy_beyond_exact_fine_points():
    """20 000 distinct reference values: more than the 5 000 exact fine points."""
    rng = np.random.default_rng(5)
    n = 20_000
    ref = pd.DataFrame({"income": rng.lognormal(0.0, 1.0, n), "t3": rng.standard_t(3, n)})
    ana = pd.DataFrame({"income": rng.lognormal(0.05, 1.1, n), "t3": 1.1 * rng.standard_t(3, n)})
    df = seismo.UnivariateDrift(columns=["income", "t3"], chunk_size=4000,
                                methods=["kolmogorov_smirnov"], n_resamples=10).fit(ref).calculate(ana).to_df()
    for k, rows in _chunks(ana, 4000):
        for c in ("income", "t3"):
            expected = ss.ks_2samp(ref[c], rows[c]).statistic
            assert _cell(df, k, "kolmogorov_smirnov", c)["value"] == pytest.approx(expected, abs=0.002)


def _category_table(ref: pd.Series, cur: pd.Series) -> np.ndarray:
    rc, cc = ref.dropna().value_counts(), cur.dropna().value_counts()
    cats = sorted(set(rc.index) | set(cc.index), key=str)
    return np.array([[rc.get(x, 0) for x in cats], [cc.get(x, 0) for x in cats]], dtype=float)


def test_categorical_distances_match_scipy_with_unseen_and_missing_values():
    rng = np.random.default_rng(1)
    n = 6000
    ref = pd.DataFrame({"c": rng.choice(list("abcd"), n, p=[0.4, 0.3, 0.2, 0.1])})
    ana = pd.DataFrame({"c": pd.Series(rng.choice(list("abcd"), n, p=[0.35, 0.3, 0.25, 0.1]), dtype=object)})
    ana.loc[::11, "c"] = "zz"  # one category the reference never had
    ana.loc[::13, "c"] = None
    df = seismo.UnivariateDrift(columns=["c"], chunk_size=1000).fit(ref).calculate(ana).to_df()
    assert set(df["metric"]) == {"chi2", "jensen_shannon", "hellinger", "psi", "l_infinity"}
    for k, rows in _chunks(ana, 1000):
        table = _category_table(ref["c"], rows["c"])
        expected = ss.chi2_contingency(table)
        chi2 = _cell(df, k, "chi2", "c")
        assert chi2["value"] == pytest.approx(expected.statistic, rel=1e-9)
        assert chi2["p_value"] == pytest.approx(expected.pvalue, rel=1e-6, abs=1e-12)
        assert _cell(df, k, "jensen_shannon", "c")["value"] == pytest.approx(
            jensenshannon(table[0], table[1], base=2), abs=1e-9)
        p, q = table[0] / table[0].sum(), table[1] / table[1].sum()
        assert _cell(df, k, "l_infinity", "c")["value"] == pytest.approx(np.abs(p - q).max(), abs=1e-12)
        assert _cell(df, k, "hellinger", "c")["value"] == pytest.approx(
            np.sqrt(1 - np.sqrt(p * q).sum()), abs=1e-9)


def test_integer_category_turned_float_by_nan_keeps_its_categories():
    """Reference ints 0..4 (categorical); analysis the same column as float with NaN."""
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"n_loans": rng.integers(0, 5, 4000)})
    ana = pd.DataFrame({"n_loans": rng.integers(0, 5, 4000).astype(float)})
    ana.loc[::7, "n_loans"] = np.nan
    drift = seismo.UnivariateDrift(columns=["n_loans"], chunk_size=1000, methods=["chi2"]).fit(ref)
    assert [(c.name, c.kind) for c in drift.schema_.columns] == [("n_loans", "categorical")]
    df = drift.calculate(ana).to_df()
    dq = seismo.DataQuality(columns=["n_loans"], chunk_size=1000).fit(ref).calculate(ana).to_df()
    for k, rows in _chunks(ana, 1000):
        expected = ss.chi2_contingency(_category_table(ref["n_loans"], rows["n_loans"].astype("Int64")))
        assert _cell(df, k, "chi2", "n_loans")["value"] == pytest.approx(expected.statistic, rel=1e-9)
        assert _cell(dq, k, "unseen_rate", "n_loans")["value"] == 0.0
        assert _cell(dq, k, "missing_rate", "n_loans")["value"] == pytest.approx(rows["n_loans"].isna().mean())
    assert not _analysis(df)["alert"].any()


def test_digits_pixels_ks_exact_and_chi2_as_categories():
    """Integer-valued pixels (17 levels): KS exact with ties; as categories, chi2 = scipy."""
    X, _ = load_digits(return_X_y=True, as_frame=True)
    cols = ["pixel_0_2", "pixel_3_4", "pixel_5_5"]
    X = X[cols].astype(int)
    perm = np.random.default_rng(0).permutation(len(X))
    ref, ana = X.iloc[perm[:900]].reset_index(drop=True), X.iloc[perm[900:]].reset_index(drop=True)
    ks = seismo.UnivariateDrift(columns=cols, chunk_size=150,
                                methods=["kolmogorov_smirnov"]).fit(ref).calculate(ana).to_df()
    chi = seismo.UnivariateDrift(columns=cols, chunk_size=150, methods=["chi2"],
                                 column_types=dict.fromkeys(cols, "categorical")).fit(ref).calculate(ana).to_df()
    for k, rows in _chunks(ana, 150):
        for c in cols:
            assert _cell(ks, k, "kolmogorov_smirnov", c)["value"] == pytest.approx(
                ss.ks_2samp(ref[c], rows[c]).statistic, abs=1e-12)
            expected = ss.chi2_contingency(_category_table(ref[c], rows[c]))
            got = _cell(chi, k, "chi2", c)
            assert got["value"] == pytest.approx(expected.statistic, rel=1e-9)
            assert got["p_value"] == pytest.approx(expected.pvalue, rel=1e-6)


# ---------------------------------------------------------------------------------------------
# DataQuality against pandas, awkward dtypes
# ---------------------------------------------------------------------------------------------
def test_data_quality_matches_pandas_on_diabetes_with_missing_values(diabetes):
    ref, ana = (d.copy() for d in diabetes)
    rng = np.random.default_rng(3)
    for d in (ref, ana):
        d.loc[rng.random(len(d)) < 0.1, "bmi"] = np.nan
    cols = ["age", "bmi", "bp", "s5"]
    df = seismo.DataQuality(columns=cols, chunk_size=500).fit(ref).calculate(ana).to_df()
    for k, rows in _chunks(ana, 500):
        for c in cols:
            s = rows[c]
            v = {m: _cell(df, k, m, c)["value"] for m in
                 ("mean", "std", "median", "sum", "missing_rate", "out_of_range_rate")}
            assert v["mean"] == pytest.approx(s.mean(), rel=1e-12)
            assert v["std"] == pytest.approx(s.std(), rel=1e-9)
            # values between two reference points are spread evenly over that interval
            assert v["median"] == pytest.approx(s.median(), abs=0.005 * s.std())
            assert v["sum"] == pytest.approx(s.sum(), rel=1e-12)
            assert v["missing_rate"] == pytest.approx(s.isna().mean(), abs=1e-15)
            outside = ((s < ref[c].min()) | (s > ref[c].max())).sum() / s.notna().sum()
            assert v["out_of_range_rate"] == pytest.approx(outside, abs=1e-15)


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


def test_awkward_dtypes_run_with_right_kinds_values_and_few_alerts(awkward):
    ref, ana = awkward
    drift = seismo.UnivariateDrift(chunk_size=250).fit(ref)
    quality = seismo.DataQuality(chunk_size=250).fit(ref)
    assert {c.name: c.kind for c in drift.schema_.columns} == AWKWARD_KINDS
    assert {c.name: c.kind for c in quality.schema_.columns} == AWKWARD_KINDS
    d, q = drift.calculate(ana).to_df(), quality.calculate(ana).to_df()
    for df in (d, q):
        assert list(df.columns[: len(RESULT_COLUMNS)]) == RESULT_COLUMNS
        assert df["alert"].dtype == bool
        assert _analysis(df)["alert"].mean() <= 0.02, _analysis(df)[_analysis(df)["alert"]][["column", "metric"]]
    # NaN only where no value exists: the all-NaN column
    nan_cols = set(_analysis(d)[_analysis(d)["value"].isna()]["column"])
    assert nan_cols == {"all_nan"}
    nan_q = _analysis(q)[_analysis(q)["value"].isna()]
    assert set(nan_q["column"]) == {"all_nan"}
    assert set(nan_q["metric"]) == {"mean", "std", "median", "out_of_range_rate"}
    for k, rows in _chunks(ana, 250):
        for c in ("category", "nullable_bool", "arrow_string", "object_mixed", "nullable_int", "all_nan"):
            assert _cell(q, k, "missing_rate", c)["value"] == pytest.approx(rows[c].isna().mean(), abs=1e-15), c
        assert _cell(q, k, "missing_rate", "all_nan")["value"] == 1.0
        assert _cell(q, k, "std", "constant")["value"] == 0.0
        assert _cell(q, k, "mean", "ünïcødé")["value"] == pytest.approx(rows["ünïcødé"].mean(), rel=1e-12)
        table = _category_table(ref["plain_bool"], rows["plain_bool"])
        assert _cell(d, k, "chi2", "plain_bool")["value"] == pytest.approx(ss.chi2_contingency(table).statistic)
    assert set(q.dropna(subset=["column"])["column"]) == set(AWKWARD_KINDS)
    assert set(d["column"]) == set(AWKWARD_KINDS)


def test_constant_column_alerts_only_when_its_value_changes():
    ref = pd.DataFrame({"c": np.ones(2000)})
    ana = pd.DataFrame({"c": np.r_[np.ones(1000), np.full(1000, 2.0)]})
    d = seismo.UnivariateDrift(columns=["c"], chunk_size=500).fit(ref).calculate(ana).to_df()
    q = seismo.DataQuality(columns=["c"], chunk_size=500).fit(ref).calculate(ana).to_df()
    a = _analysis(d)
    assert not a[a["chunk_index"] < 2]["alert"].any()
    assert a[a["chunk_index"] >= 2]["alert"].all()
    assert (a[a["chunk_index"] >= 2]
            .set_index("metric")["value"].loc[["kolmogorov_smirnov", "jensen_shannon", "hellinger"]] == 1.0).all()
    aq = _analysis(q)
    assert not aq[aq["chunk_index"] < 2]["alert"].any()
    assert _cell(q, 3, "out_of_range_rate", "c")["value"] == 1.0 and _cell(q, 3, "mean", "c")["alert"]


def test_all_nan_reference_column_alerts_when_values_appear():
    ref = pd.DataFrame({"e": np.full(2000, np.nan)})
    ana = pd.DataFrame({"e": np.random.default_rng(0).normal(size=1000)})
    q = seismo.DataQuality(columns=["e"], chunk_size=500).fit(ref).calculate(ana).to_df()
    rows = _analysis(q)[_analysis(q)["metric"] == "missing_rate"]
    assert (rows["value"] == 0.0).all() and rows["alert"].all()
    d = seismo.UnivariateDrift(columns=["e"], chunk_size=500).fit(ref).calculate(ana).to_df()
    assert _analysis(d)["value"].isna().all()  # no reference distribution to compare with
    assert not _analysis(d)["alert"].any()


def test_infinite_values_are_counted_by_ks_like_scipy():
    rng = np.random.default_rng(0)

    def make(n):
        x = rng.normal(size=n)
        x[rng.random(n) < 0.2] = np.inf
        x[rng.random(n) < 0.05] = -np.inf
        x[rng.random(n) < 0.05] = np.nan
        return pd.DataFrame({"x": x})

    ref, ana = make(4000), make(2000)
    d = seismo.UnivariateDrift(columns=["x"], chunk_size=500,
                               methods=["kolmogorov_smirnov", "jensen_shannon"]).fit(ref).calculate(ana).to_df()
    q = seismo.DataQuality(columns=["x"], chunk_size=500).fit(ref).calculate(ana).to_df()
    for k, rows in _chunks(ana, 500):
        expected = ss.ks_2samp(ref["x"].dropna(), rows["x"].dropna()).statistic
        assert _cell(d, k, "kolmogorov_smirnov", "x")["value"] == pytest.approx(expected, abs=1e-12)
        assert _cell(q, k, "missing_rate", "x")["value"] == pytest.approx(rows["x"].isna().mean())
        finite = rows["x"][np.isfinite(rows["x"])]
        assert _cell(q, k, "mean", "x")["value"] == pytest.approx(finite.mean(), rel=1e-12)
    assert not _analysis(d)["alert"].any() and not _analysis(q)["alert"].any()


def test_infinite_values_emit_no_runtime_warning():
    """Regression found by this sweep (fixed since): a continuous column holding +inf leaks numpy
    'RuntimeWarning: invalid value encountered in subtract' from stats/histogram.py
    Histogram.__sub__ (inf - inf in the bin sums of the tail bin) on every fit; the result is right,
    the warning is noise (and an error under -W error)
    """
    x = np.random.default_rng(0).normal(size=2000)
    x[::10] = np.inf
    x[1::17] = -np.inf
    x[2::19] = np.nan
    df = pd.DataFrame({"x": x})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        seismo.DataQuality(columns=["x"], chunk_size=500).fit(df).calculate(df)
        seismo.UnivariateDrift(columns=["x"], chunk_size=500).fit(df).calculate(df)


def test_data_quality_median_and_mean_describe_the_same_values_with_inf():
    """Regression found by this sweep (fixed since): DataQuality on a column with +/-inf:
    mean/std/sum use the finite values only (Moments), but median is read off the fine histogram,
    whose tail bins hold the infinities, so it is np.nanmedian over finite AND infinite values; the
    four summaries describe different rows
    """
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    x[rng.random(2000) < 0.2] = np.inf
    df = pd.DataFrame({"x": x})
    q = seismo.DataQuality(columns=["x"], chunk_size=500, metrics=["mean", "median"]).fit(df).calculate(df).to_df()
    for k, rows in _chunks(df, 500):
        mean, median = _cell(q, k, "mean", "x")["value"], _cell(q, k, "median", "x")["value"]
        finite = rows["x"][np.isfinite(rows["x"])]
        finite_convention = mean == pytest.approx(finite.mean()) and median == pytest.approx(finite.median(), abs=0.01)
        all_convention = not np.isfinite(mean) and median == pytest.approx(rows["x"].median(), abs=0.01)
        assert finite_convention or all_convention, (k, mean, median, finite.median(), rows["x"].median())


def test_object_column_all_none_in_reference_then_strings():
    """Regression found by this sweep (fixed since): an object column that is entirely None in the
    reference becomes Arrow type null, which schema.infer_kind calls 'continuous'; when the analysis
    brings strings, calculate raises InvalidData "column 's' holds large_string values; a numeric
    column was expected" -- misleading. Expected: a null-typed reference column is categorical-
    compatible (missing_rate 1.0 -> 0.0 alerts), or fit names it as entirely missing
    """
    ref = pd.DataFrame({"s": pd.Series([None] * 2000, dtype=object)})
    ana = pd.DataFrame({"s": np.random.default_rng(0).choice(["a", "b"], 1000)})
    q = seismo.DataQuality(columns=["s"], chunk_size=500).fit(ref).calculate(ana).to_df()
    rows = _analysis(q)[_analysis(q)["metric"] == "missing_rate"]
    assert (rows["value"] == 0.0).all() and rows["alert"].all()


# ---------------------------------------------------------------------------------------------
# RealizedPerformance against scikit-learn
# ---------------------------------------------------------------------------------------------
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


def _macro_ovr_auc(rows: pd.DataFrame, labels) -> float:
    return float(np.mean([skm.roc_auc_score(rows["y_true"] == lab, rows[f"p{j}"]) for j, lab in enumerate(labels)]))


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


# -- late labels joined on ids ------------------------------------------------------------------
def _targets(ana: pd.DataFrame) -> pd.DataFrame:
    return ana[["id", "y_true"]].sample(frac=1.0, random_state=0).reset_index(drop=True)


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


# ---------------------------------------------------------------------------------------------
# CBPE and DLE
# ---------------------------------------------------------------------------------------------
CBPE_METRICS = ["roc_auc", "average_precision", "f1", "precision", "recall", "specificity", "accuracy"]


def test_cbpe_binary_realized_column_equals_realized_performance(cancer):
    ref, ana = cancer
    ana = ana.assign(y_true=ana.y_true.astype(float))
    ana.loc[::3, "y_true"] = np.nan
    kw = dict(**BINARY, chunk_size=500, metrics=CBPE_METRICS)
    realized = seismo.RealizedPerformance("binary", **kw).fit(ref).calculate(ana).to_df()
    cbpe = seismo.CBPE("binary", **kw).fit(ref)
    est = cbpe.estimate(ana).to_df()
    assert list(est.columns) == RESULT_COLUMNS + ["realized"]
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


def test_cbpe_binary_bool_labels_and_exact_0_1_scores_match_int_labels(cancer):
    ref, ana = cancer
    clip = lambda d: d.assign(y_pred_proba=np.where(d.y_pred_proba < 0.05, 0.0,  # noqa: E731
                                                    np.where(d.y_pred_proba > 0.95, 1.0, d.y_pred_proba)))
    kw = dict(**BINARY, chunk_size=500, metrics=CBPE_METRICS)
    as_int = seismo.CBPE("binary", **kw).fit(clip(ref)).estimate(clip(ana)).to_df()
    as_bool = seismo.CBPE("binary", **kw).fit(clip(ref).astype({"y_true": bool, "y_pred": bool})).estimate(
        clip(ana).astype({"y_true": bool, "y_pred": bool})).to_df()
    pd.testing.assert_frame_equal(as_int, as_bool)
    assert not _analysis(as_int)["value"].isna().any() and not _analysis(as_int)["alert"].any()


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


def test_dle_on_diabetes_with_awkward_feature_types(diabetes):
    ref, ana = (d.copy() for d in diabetes)
    rng = np.random.default_rng(4)
    for d in (ref, ana):
        n = len(d)
        d["cat"] = pd.Categorical(rng.choice(["a", "b", "c"], n))
        d["flag"] = rng.random(n) < 0.5
        d["nullable int"] = pd.array(rng.integers(0, 50, n), dtype="Int64")
        d.loc[::5, "nullable int"] = pd.NA
        d["ünï"] = pd.Series(rng.choice(["u", "v", None], n), dtype=object)
        d["small_int"] = rng.integers(0, 3, n)
        d["constant"] = 1.0
        d["all_nan"] = np.nan
    ana["small_int"] = ana["small_int"].astype(float)
    ana.loc[::4, "small_int"] = np.nan
    dle = seismo.DLE(y_pred="y_pred", y_true="y_true", id="id", chunk_size=250, metrics=["mae", "rmse"],
                     hyperparameters={"n_estimators": 40}, n_splits=3).fit(ref)
    est = dle.estimate(ana).to_df()
    realized = seismo.RealizedPerformance("regression", y_pred="y_pred", y_true="y_true", metrics=["mae", "rmse"],
                                          chunk_size=250).fit(ref).calculate(ana).to_df()
    np.testing.assert_allclose(est["realized"], realized["value"], rtol=1e-12)
    a = _analysis(est)
    assert list(est.columns) == RESULT_COLUMNS + ["realized"]
    assert not a["value"].isna().any() and not a["sampling_error"].isna().any()
    assert ((a["value"] - a["realized"]).abs() <= 3 * a["sampling_error"]).all()
    assert a["alert"].mean() <= 0.02
    unlabelled = dle.estimate(ana.drop(columns="y_true")).to_df()
    np.testing.assert_allclose(unlabelled["value"], est["value"], rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# the same content in every container
# ---------------------------------------------------------------------------------------------
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


def test_polars_pyarrow_parquet_and_glob_inputs_give_identical_results(mixed, tmp_path):
    ref, ana, expected = mixed
    ref.to_parquet(tmp_path / "ref.parquet")
    (tmp_path / "ana").mkdir()
    ana.iloc[:1500].to_parquet(tmp_path / "ana" / "part-1.parquet")
    ana.iloc[1500:].to_parquet(tmp_path / "ana" / "part-2.parquet")
    inputs = {
        "polars": (pl.from_pandas(ref), pl.from_pandas(ana)),
        "pyarrow": (pa.Table.from_pandas(ref, preserve_index=False), pa.Table.from_pandas(ana, preserve_index=False)),
        "parquet dir": (tmp_path / "ref.parquet", tmp_path / "ana"),
        "parquet glob": (str(tmp_path / "ref.parquet"), str(tmp_path / "ana" / "*.parquet")),
    }
    for name, (r, a) in inputs.items():
        got = _all_results(r, a)
        for calc, df in got.items():
            pd.testing.assert_frame_equal(df, expected[calc], obj=f"{name} {calc}")


def test_csv_input_gives_the_same_results_as_pandas(tmp_path):
    """Regression found by this sweep (fixed since): CSV input: seismo reads CSV with pyarrow's
    default ConvertOptions(strings_can_be_null=False), so an empty cell of a string column (how
    pandas.to_csv writes None) is the category '' instead of missing: missing_rate 0.0 instead of
    0.1 and drift on a fake category. Expected the same results as the pandas frame written to that
    CSV (pd.read_csv reads NaN)
    """
    ref, ana = _mixed_frame(3000, 0), _mixed_frame(3000, 1)
    for d in (ref, ana):
        d.loc[::10, "s"] = None
    ref.to_csv(tmp_path / "ref.csv", index=False)
    ana.to_csv(tmp_path / "ana.csv", index=False)
    kw = dict(columns=FEATURES, timestamp="timestamp", chunk_size=500, n_resamples=20)
    expected = seismo.DataQuality(**kw).fit(ref).calculate(ana).to_df()
    got = seismo.DataQuality(**kw).fit(str(tmp_path / "ref.csv")).calculate(str(tmp_path / "ana.csv")).to_df()
    assert _cell(got, 0, "missing_rate", "s")["value"] == pytest.approx(0.1)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["Categorical", "Enum"])
def test_polars_categorical_and_enum_columns(dtype):
    """Regression found by this sweep (fixed since): polars Categorical / Enum columns arrive
    through the Arrow stream as dictionary<values=string_view>; io.string_values does
    array.cast(value_type), which pyarrow cannot do (ArrowNotImplementedError: Unsupported cast from
    dictionary<values=string_view...> to utf8_view) -- a raw pyarrow error from fit of
    UnivariateDrift, DataQuality and DLE. Fix: decode per chunk,
    chunk.dictionary.cast(pa.string()).take(chunk.indices)
    """
    rng = np.random.default_rng(0)
    values = rng.choice(["a", "b", "c"], 2000)
    pandas_df = pd.DataFrame({"c": pd.Categorical(values)})
    series = pl.Series("c", values)
    series = series.cast(pl.Categorical) if dtype == "Categorical" else series.cast(pl.Enum(["a", "b", "c"]))
    polars_df = pl.DataFrame([series])
    for calc in (seismo.UnivariateDrift(chunk_size=500, n_resamples=10), seismo.DataQuality(chunk_size=500, n_resamples=10)):
        expected = calc.fit(pandas_df).calculate(pandas_df).to_df()
        pd.testing.assert_frame_equal(calc.fit(polars_df).calculate(polars_df).to_df(), expected)


def test_pandas_frame_with_integer_column_labels():
    """Regression found by this sweep (fixed since): a pandas frame with non-string column labels
    (pd.DataFrame(numpy_array): labels 0, 1, 2) fails with a raw KeyError('0'): io.read_table lists
    the columns as str(c) and then reads df['0']. Expected: the columns are monitored under the
    names '0', '1', '2' (or a SeismoError that says column labels must be strings)
    """
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(1000, 3)))
    df = seismo.UnivariateDrift(chunk_size=100).fit(frame).calculate(frame).to_df()
    assert set(df["column"]) == {"0", "1", "2"}
    named = frame.set_axis(["0", "1", "2"], axis=1)
    pd.testing.assert_frame_equal(df, seismo.UnivariateDrift(chunk_size=100).fit(named).calculate(named).to_df())


def test_pandas_frame_with_duplicated_column_names():
    """Regression found by this sweep (fixed since): a raw KeyError from io._pandas_to_arrow."""
    x = pd.DataFrame({"x": np.arange(1000.0)})
    frame = pd.concat([x, x], axis=1)
    with pytest.raises(seismo.InvalidData, match="'x'"):
        seismo.DataQuality(chunk_size=100).fit(frame)


# ---------------------------------------------------------------------------------------------
# timestamps and chunking
# ---------------------------------------------------------------------------------------------
def test_zone_aware_string_and_unsorted_timestamps_give_the_naive_sorted_result():
    rng = np.random.default_rng(2)
    n = 3000
    base = pd.DataFrame({"x": rng.normal(size=n), "t": pd.date_range("2024-01-01", periods=n, freq="h")})

    def run(df):
        return seismo.DataQuality(columns=["x"], timestamp="t", chunk_period="W",
                                  n_resamples=20).fit(df.iloc[:2000]).calculate(df.iloc[2000:]).to_df()

    expected = run(base)
    tokyo = base.assign(t=base.t.dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo"))
    text = base.assign(t=base.t.dt.strftime("%Y-%m-%d %H:%M:%S"))
    offset_text = base.assign(t=tokyo.t.dt.strftime("%Y-%m-%dT%H:%M:%S%z"))
    perm = np.r_[rng.permutation(2000), 2000 + rng.permutation(1000)]
    shuffled = base.iloc[perm].reset_index(drop=True)
    for name, df in {"tz-aware": tokyo, "strings": text, "offset strings": offset_text,
                     "unsorted": shuffled}.items():
        got = run(df)
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, obj=name)
    assert expected["chunk_start_date"].dt.tz is None
    assert expected["chunk_key"].iloc[-1] == "2024-W18"


@pytest.mark.parametrize("period", ["D", "W", "M", "Q"])
def test_period_chunks_with_duplicates_gaps_and_shuffled_rows_match_pandas_groupby(period):
    rng = np.random.default_rng(0)
    n = 6000
    t = (pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24, n), unit="h")).floor("D")
    df = pd.DataFrame({"x": rng.normal(size=n), "t": t})
    df = df[df.t.dt.month != 3]  # a month without any row
    ref = df[df.t < "2023-07-01"].sample(frac=1.0, random_state=1).reset_index(drop=True)
    ana = df[df.t >= "2023-07-01"].sample(frac=1.0, random_state=2).reset_index(drop=True)
    out = seismo.DataQuality(columns=["x"], timestamp="t", chunk_period=period, metrics=["mean", "row_count"],
                             n_resamples=10).fit(ref).calculate(ana).to_df()
    groups = ana.groupby(ana.t.dt.to_period("W-SUN" if period == "W" else period))["x"]
    means = _analysis(out)[_analysis(out)["metric"] == "mean"]
    counts = _analysis(out)[_analysis(out)["metric"] == "row_count"]
    np.testing.assert_allclose(means["value"], groups.mean().to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(counts["value"], groups.size().to_numpy())
    np.testing.assert_array_equal(means["chunk_end_index"] - means["chunk_start_index"] + 1, groups.size())
    ref_keys = set(out[out.period == "reference"]["chunk_key"])
    if period == "M":
        assert "2023-03" not in ref_keys and {"2023-02", "2023-04"} <= ref_keys


def test_incomplete_last_chunk_keep_drop_append():
    df = pd.DataFrame({"x": np.random.default_rng(0).normal(size=2000)})

    def bounds(incomplete):
        out = seismo.DataQuality(columns=["x"], chunk_size=700, incomplete=incomplete,
                                 metrics=["row_count", "mean"]).fit(df).calculate(df).to_df()
        rows = _analysis(out)[_analysis(out)["metric"] == "mean"]
        for _, row in rows.iterrows():
            part = df["x"].iloc[row.chunk_start_index : row.chunk_end_index + 1]
            assert row["value"] == pytest.approx(part.mean(), rel=1e-12)
        return list(zip(rows.chunk_start_index, rows.chunk_end_index))

    assert bounds("keep") == [(0, 699), (700, 1399), (1400, 1999)]
    with pytest.warns(seismo.SeismoWarning, match="600 rows after the last complete chunk of 700 were dropped"):
        assert bounds("drop") == [(0, 699), (700, 1399)]
    assert bounds("append") == [(0, 699), (700, 1999)]


def test_tiny_reference_and_single_chunk(cancer):
    ref, ana = cancer
    with pytest.warns(seismo.SeismoWarning, match="only 1 chunks"):
        drift = seismo.UnivariateDrift(columns=["mean radius"], chunk_number=1).fit(ref)
    df = drift.calculate(ana.iloc[:1000]).to_df()
    assert df[df.period == "reference"]["value"].isna().all()  # one chunk: nothing left to compare with
    a = _analysis(df)
    assert len(a) == 5 and not a["value"].isna().any() and not a["upper_threshold"].isna().any()
    assert _cell(df, 0, "kolmogorov_smirnov", "mean radius")["value"] == pytest.approx(
        ss.ks_2samp(ref["mean radius"], ana["mean radius"].iloc[:1000]).statistic, abs=1e-12)
    small = ref.iloc[:60]
    for calc in (seismo.RealizedPerformance("binary", **BINARY, chunk_number=6),
                 seismo.CBPE("binary", **BINARY, chunk_number=6, metrics=CBPE_METRICS)):
        out = (calc.fit(small).estimate(ana) if isinstance(calc, seismo.CBPE) else calc.fit(small).calculate(ana)).to_df()
        assert not _analysis(out)["value"].isna().any()
        assert not _analysis(out)["sampling_error"].isna().any()
    with pytest.raises(seismo.InvalidData, match=r"the reference set has 60 rows, fewer than one chunk needs \(500\)"):
        seismo.DataQuality(columns=["mean radius"], chunk_size=500).fit(small)


# ---------------------------------------------------------------------------------------------
# errors: a seismo error class that names the column
# ---------------------------------------------------------------------------------------------
def test_bad_inputs_raise_seismo_errors_naming_the_column():
    rng = np.random.default_rng(0)
    n = 1000
    df = pd.DataFrame({"x": rng.normal(size=n), "t": pd.date_range("2024-01-01", periods=n, freq="h")})
    drift = seismo.UnivariateDrift(columns=["x"], chunk_size=100).fit(df)
    with pytest.raises(seismo.InvalidData, match="column 'x' holds (large_)?string values; a numeric column was expected"):
        drift.calculate(df.assign(x=df.x.astype(str)))
    with pytest.raises(seismo.ColumnNotFound, match="'x' is not in the analysis data"):
        drift.calculate(df.drop(columns="x"))
    mixed = pd.Series(rng.choice(["a", 1, None], n), dtype=object)
    with pytest.raises(seismo.InvalidData, match="column 'm' mixes types"):
        seismo.DataQuality(chunk_size=100).fit(pd.DataFrame({"m": mixed}))
    nat = df.copy()
    nat.loc[5, "t"] = pd.NaT
    with pytest.raises(seismo.InvalidData, match=r"timestamp column 't' has 1 missing or unparseable values \(first at row 5\)"):
        seismo.UnivariateDrift(columns=["x"], timestamp="t", chunk_size=100).fit(nat)
    with pytest.raises(seismo.InvalidData, match="timestamp column 't' holds numbers"):
        seismo.UnivariateDrift(columns=["x"], timestamp="t", chunk_size=100).fit(df.assign(t=np.arange(n)))
    with pytest.raises(seismo.InvalidData, match="column 't' has type timestamp"):
        seismo.DataQuality(columns=["t"], chunk_size=100).fit(df)
    labels = pd.DataFrame({"p": [0.2, 0.7] * 500, "yp": [0, 1] * 500, "y": [-1, 1] * 500})
    with pytest.raises(seismo.InvalidData, match=r"y_true column 'y' in the reference data has values \['-1'\]"):
        seismo.RealizedPerformance("binary", y_pred_proba="p", y_pred="yp", y_true="y", chunk_size=100).fit(labels)
    over = labels.assign(y=[0, 1] * 500, p=[0.2, 1 + 1e-12] * 500)
    with pytest.raises(seismo.InvalidData, match="y_pred_proba column 'p' in the reference data has 500 values"):
        seismo.CBPE("binary", y_pred_proba="p", y_pred="yp", y_true="y", chunk_size=100).fit(over)
    for exc in (seismo.InvalidData, seismo.ColumnNotFound, seismo.InvalidConfiguration):
        assert issubclass(exc, seismo.SeismoError)


# ---------------------------------------------------------------------------------------------
# no alert storm on a stationary split
# ---------------------------------------------------------------------------------------------
def test_random_split_of_breast_cancer_raises_at_most_two_percent_alerts(cancer):
    ref, ana = cancer
    df = pd.concat([ref, ana], ignore_index=True)
    df = df.sample(frac=1.0, random_state=7).reset_index(drop=True)
    df["grade"] = pd.cut(df["mean radius"], [0, 12, 15, 20, 40], labels=["s", "m", "l", "xl"])
    df["texture_band"] = (df["mean texture"] // 5).astype(int)
    ref, ana = _halves(df)
    roles = dict(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true", id="id", timestamp="timestamp")
    features = ["mean radius", "mean texture", "mean smoothness", "worst area", "radius error",
                "mean concavity", "grade", "texture_band"]
    results = {
        "drift": seismo.UnivariateDrift(columns=features, chunk_size=500, n_resamples=30).fit(ref).calculate(ana),
        "quality": seismo.DataQuality(columns=features, chunk_size=500, n_resamples=30).fit(ref).calculate(ana),
        "realized": seismo.RealizedPerformance("binary", **{k: v for k, v in roles.items() if k != "timestamp"},
                                               chunk_size=500).fit(ref).calculate(ana),
        "cbpe": seismo.CBPE("binary", **{k: v for k, v in roles.items() if k != "timestamp"},
                            chunk_size=500, metrics=CBPE_METRICS).fit(ref).estimate(ana),
    }
    for name, result in results.items():
        a = _analysis(result.to_df())
        assert a["alert"].mean() <= 0.02, (name, result.alerts()[["chunk_key", "column", "metric", "value"]])
