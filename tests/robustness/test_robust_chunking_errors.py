"""Robustness sweep (chunking and errors).

Part of the robustness sweep; the property it pins is stated in robust_data.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats as ss
from robust_data import (  # helpers; the data fixtures come from conftest.py
    BINARY,
    CBPE_METRICS,
    _analysis,
    _cell,
    _chunks,
    _halves,
)

import seismo

pytestmark = pytest.mark.filterwarnings("ignore::seismo.SeismoWarning")


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


def test_bad_inputs_raise_seismo_errors_naming_the_column():
    rng = np.random.default_rng(0)
    n = 1000
    df = pd.DataFrame({"x": rng.normal(size=n), "t": pd.date_range("2024-01-01", periods=n, freq="h")})
    drift = seismo.UnivariateDrift(columns=["x"], chunk_size=100).fit(df)
    with pytest.raises(seismo.InvalidData, match="column 'x' in the analysis data holds (large_)?string values; a numeric column was expected"):
        drift.calculate(df.assign(x=df.x.astype(str)))
    with pytest.raises(seismo.ColumnNotFound, match="'x' is not in the analysis data"):
        drift.calculate(df.drop(columns="x"))
    mixed = pd.Series(rng.choice(["a", 1, None], n), dtype=object)
    with pytest.warns(seismo.SeismoWarning, match="column 'm' in the reference data mixes text with other values"):
        seismo.DataQuality(chunk_size=100).fit(pd.DataFrame({"m": mixed}))  # read as text (test_input_matrix.py)
    nat = df.copy()
    nat.loc[5, "t"] = pd.NaT
    with pytest.raises(seismo.InvalidData, match=r"timestamp column 't' has 1 missing or unparseable values \(first at row 5\)"):
        seismo.UnivariateDrift(columns=["x"], timestamp="t", chunk_size=100).fit(nat)
    with pytest.raises(seismo.InvalidData, match="timestamp column 't' holds numbers"):
        seismo.UnivariateDrift(columns=["x"], timestamp="t", chunk_size=100).fit(df.assign(t=np.arange(n)))
    with pytest.raises(seismo.InvalidData, match="column 't' in the reference data has type timestamp"):
        seismo.DataQuality(columns=["t"], chunk_size=100).fit(df)
    labels = pd.DataFrame({"p": [0.2, 0.7] * 500, "yp": [0, 1] * 500, "y": [-1, 1] * 500})
    with pytest.raises(seismo.InvalidData, match=r"y_true column 'y' in the reference data has values \['-1'\]"):
        seismo.RealizedPerformance("binary", y_pred_proba="p", y_pred="yp", y_true="y", chunk_size=100).fit(labels)
    over = labels.assign(y=[0, 1] * 500, p=[0.2, 1 + 1e-12] * 500)
    with pytest.raises(seismo.InvalidData, match="y_pred_proba column 'p' in the reference data has 500 values"):
        seismo.CBPE("binary", y_pred_proba="p", y_pred="yp", y_true="y", chunk_size=100).fit(over)
    for exc in (seismo.InvalidData, seismo.ColumnNotFound, seismo.InvalidConfiguration):
        assert issubclass(exc, seismo.SeismoError)


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
