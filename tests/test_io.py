"""Every input form (pandas, polars, Arrow, parquet, CSV, directory, glob) gives the same result,
and bad input is refused before any work with a message naming the column."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import seismo
from seismo.errors import ColumnNotFound, InvalidData


def _drift_values(reference, analysis) -> np.ndarray:
    calc = seismo.UnivariateDrift(columns=["a", "b", "c", "d"], timestamp="timestamp", chunk_size=2_000,
                                  n_resamples=5)
    return calc.fit(reference).calculate(analysis).to_df()["value"].to_numpy()


def test_every_input_form_gives_identical_values(tmp_path, reference, analysis):
    ref, ana = reference.iloc[:8_000], analysis.iloc[:6_000]
    expected = _drift_values(ref, ana)
    pq.write_table(pa.Table.from_pandas(ref, preserve_index=False), tmp_path / "ref.parquet")
    ana_dir = tmp_path / "ana"
    ana_dir.mkdir()
    pq.write_table(pa.Table.from_pandas(ana.iloc[:3_000], preserve_index=False), ana_dir / "part-0.parquet")
    pq.write_table(pa.Table.from_pandas(ana.iloc[3_000:], preserve_index=False), ana_dir / "part-1.parquet")
    ref.to_csv(tmp_path / "ref.csv", index=False)
    forms = [
        (pl.from_pandas(ref), pl.from_pandas(ana)),
        (pa.Table.from_pandas(ref, preserve_index=False), pa.Table.from_pandas(ana, preserve_index=False)),
        (str(tmp_path / "ref.parquet"), str(ana_dir)),
        (tmp_path / "ref.parquet", str(ana_dir / "part-*.parquet")),
        (str(tmp_path / "ref.csv"), ana),
    ]
    for ref_form, ana_form in forms:
        np.testing.assert_allclose(_drift_values(ref_form, ana_form), expected, rtol=1e-12, atol=1e-12)


def test_missing_column_is_named(reference, analysis):
    with pytest.raises(ColumnNotFound, match="'nope' is not in the reference data"):
        seismo.UnivariateDrift(columns=["a", "nope"]).fit(reference)
    fitted = seismo.UnivariateDrift(columns=["a", "b"], n_resamples=5).fit(reference)
    with pytest.raises(ColumnNotFound, match="'b' is not in the analysis data; it has"):
        fitted.calculate(analysis[["a"]])


def test_unparseable_timestamp_is_named(reference):
    bad = reference.iloc[:3_000].copy()
    bad["timestamp"] = bad["timestamp"].astype(str)
    bad.loc[bad.index[17], "timestamp"] = "not a date"
    with pytest.raises(InvalidData, match="timestamp column 'timestamp' mixes formats or holds values that are not dates.*'not a date'"):
        seismo.UnivariateDrift(columns=["a"], timestamp="timestamp").fit(bad)
    numeric = reference.iloc[:3_000].assign(timestamp=np.arange(3_000))
    with pytest.raises(InvalidData, match="holds numbers"):
        seismo.UnivariateDrift(columns=["a"], timestamp="timestamp").fit(numeric)


def test_string_timestamps_are_parsed_and_sorted(reference):
    ref = reference.iloc[:4_000].copy()
    shuffled = ref.sample(frac=1.0, random_state=0)
    shuffled["timestamp"] = shuffled["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")
    a = seismo.DataQuality(columns=["a"], timestamp="timestamp", chunk_number=8, n_resamples=5).fit(ref)
    b = seismo.DataQuality(columns=["a"], timestamp="timestamp", chunk_number=8, n_resamples=5).fit(shuffled)
    da = a.calculate(ref).to_df()
    db = b.calculate(shuffled).to_df()
    np.testing.assert_allclose(da["value"], db["value"], rtol=1e-9, equal_nan=True)
    assert (da["chunk_start_date"] == db["chunk_start_date"]).all()


def test_continuous_column_turned_text_is_refused(reference, analysis):
    fitted = seismo.UnivariateDrift(columns=["a"], n_resamples=5).fit(reference)
    with pytest.raises(InvalidData, match="column 'a' in the analysis data holds (large_)?string values; a numeric column was expected"):
        fitted.calculate(analysis.assign(a=analysis["a"].astype(str)))


def test_empty_analysis_is_refused(reference, analysis):
    fitted = seismo.UnivariateDrift(columns=["a"], n_resamples=5).fit(reference)
    with pytest.raises(InvalidData, match="analysis set is empty"):
        fitted.calculate(analysis.iloc[:0])


def test_unsupported_object_is_refused():
    with pytest.raises(InvalidData, match="expected a pandas or polars DataFrame"):
        seismo.UnivariateDrift(columns=["a"]).fit([1, 2, 3])


def test_default_columns_skip_roles_and_datetimes(reference):
    calc = seismo.UnivariateDrift(timestamp="timestamp", y_pred="y_pred", y_true="y_true",
                                  y_pred_proba="y_pred_proba", id="id", n_resamples=5)
    calc.fit(reference.assign(when=reference["timestamp"]))
    assert calc.schema_.names == ["a", "b", "c", "d"]
