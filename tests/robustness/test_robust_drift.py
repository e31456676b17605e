"""Robustness sweep (drift).

Part of the robustness sweep; the property it pins is stated in robust_data.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats as ss
from robust_data import (  # helpers; the data fixtures come from conftest.py
    CANCER_COLUMNS,
    _analysis,
    _category_table,
    _cell,
    _chunks,
)
from scipy.spatial.distance import jensenshannon
from sklearn.datasets import load_digits

import seismo
from seismo.engine.result import RESULT_COLUMNS

pytestmark = pytest.mark.filterwarnings("ignore::seismo.SeismoWarning")


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
        # a mean near 0 of up to 500 N(0, 1) values summed in another order: absolute error up to
        # n * eps * mean|x| (about 4e-14), far more than 1e-12 of a mean that is itself near 0
        assert _cell(q, k, "mean", "x")["value"] == pytest.approx(finite.mean(), rel=1e-12, abs=1e-11)
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
    # means near 0 of up to ~1500 N(0, 1) values (a quarterly chunk) summed in another order than pandas
    # sums them: absolute error up to n * eps * mean|x| (about 1.3e-13); rtol alone was too tight
    np.testing.assert_allclose(means["value"], groups.mean().to_numpy(), rtol=1e-12, atol=1e-11)
    np.testing.assert_array_equal(counts["value"], groups.size().to_numpy())
    np.testing.assert_array_equal(means["chunk_end_index"] - means["chunk_start_index"] + 1, groups.size())
    ref_keys = set(out[out.period == "reference"]["chunk_key"])
    if period == "M":
        assert "2023-03" not in ref_keys and {"2023-02", "2023-04"} <= ref_keys
