"""Robustness sweep (inputs).

Part of the robustness sweep; the property it pins is stated in robust_data.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import scipy.stats as ss
from robust_data import (  # helpers; the data fixtures come from conftest.py
    AWKWARD_KINDS,
    FEATURES,
    _all_results,
    _analysis,
    _category_table,
    _cell,
    _chunks,
    _mixed_frame,
    pl,
)

import seismo
from seismo.engine.result import RESULT_COLUMNS

pytestmark = pytest.mark.filterwarnings("ignore::seismo.SeismoWarning")


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
        # a mean near 0 of 250 N(0, 1) values: absolute error up to n * eps * mean|x| (about 2e-14)
        assert _cell(q, k, "mean", "ünïcødé")["value"] == pytest.approx(rows["ünïcødé"].mean(), rel=1e-12,
                                                                          abs=1e-11)
        table = _category_table(ref["plain_bool"], rows["plain_bool"])
        assert _cell(d, k, "chi2", "plain_bool")["value"] == pytest.approx(ss.chi2_contingency(table).statistic)
    assert set(q.dropna(subset=["column"])["column"]) == set(AWKWARD_KINDS)
    assert set(d["column"]) == set(AWKWARD_KINDS)


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
