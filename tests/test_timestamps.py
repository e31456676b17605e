"""Timestamp strings are read with one format for the whole column: day-first dates are not
misread month-first, ambiguous or mixed columns are errors naming the column, and zones become UTC."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import seismo
from seismo.data.timestamps import parse_timestamps
from seismo.errors import InvalidData

DAYS = pd.date_range("2024-07-20", periods=40, freq="D")  # days 1-31: day-first is decidable


def test_day_first_dates_are_read_day_first():
    # value by value, 01/08/2024 read as January 8th while 20/07/2024 read as July 20th
    text = pa.array(DAYS.strftime("%d/%m/%Y"))
    np.testing.assert_array_equal(parse_timestamps(text, "t"), DAYS.to_numpy())


def test_month_first_and_times_are_read_too():
    stamps = DAYS + pd.Timedelta(hours=13, minutes=5)
    text = pa.array(stamps.strftime("%m/%d/%Y %H:%M"))
    np.testing.assert_array_equal(parse_timestamps(text, "t"), stamps.to_numpy())


def test_iso_strings_and_zones_become_utc():
    text = pa.array(["2024-01-31T12:00:00+01:00", "2024-01-31T12:00:00Z"])
    expected = pd.to_datetime(["2024-01-31 11:00", "2024-01-31 12:00"]).to_numpy()
    np.testing.assert_array_equal(parse_timestamps(text, "t"), expected)
    aware = pa.array(pd.date_range("2024-01-01", periods=3, freq="h", tz="Europe/Paris"))
    np.testing.assert_array_equal(parse_timestamps(aware, "t"),
                                  pd.date_range("2023-12-31 23:00", periods=3, freq="h").to_numpy())


def test_ambiguous_dates_are_an_error_that_suggests_timestamp_format():
    text = pa.array(["01/08/2024", "02/08/2024", "03/08/2024"])  # August or January? no day above 12
    with pytest.raises(InvalidData, match=r"timestamp column 'when' is ambiguous.*'%d/%m/%Y', '%m/%d/%Y'.*"
                                          r"timestamp_format"):
        parse_timestamps(text, "when")
    np.testing.assert_array_equal(parse_timestamps(text, "when", "%d/%m/%Y"),
                                  pd.to_datetime(["2024-08-01", "2024-08-02", "2024-08-03"]).to_numpy())


@pytest.mark.parametrize("values, shown", [
    (["2024-01-31", "31/01/2024", "2024-02-01"], "31/01/2024"),  # a real mix of formats
    (["2024-01-31T12:00:00", "2024-01-31T13:00:00+01:00"], r"\+01:00"),  # zone-free and zoned
    (["2024-01-31", "soon"], "soon"),
])
def test_a_mix_names_the_column_and_the_values_that_do_not_fit(values, shown):
    with pytest.raises(InvalidData, match=rf"timestamp column 'when' mixes formats.*1 of {len(values)}.*{shown}"):
        parse_timestamps(pa.array(values), "when")


def test_a_format_that_does_not_fit_counts_the_values():
    with pytest.raises(InvalidData, match="has 1 values that timestamp_format '%d/%m/%Y' does not read"):
        parse_timestamps(pa.array(["01/08/2024", "2024-08-02"]), "when", "%d/%m/%Y")


def test_a_calculator_chunks_day_first_periods_correctly():
    rng = np.random.default_rng(0)
    stamps = pd.date_range("2024-01-01", periods=24 * 120, freq="h")
    frame = pd.DataFrame({"x": rng.normal(size=len(stamps)), "t": stamps.strftime("%d/%m/%Y %H:%M")})
    with pytest.warns(seismo.SeismoWarning, match="only 4 chunks"):
        fitted = seismo.DataQuality(columns=["x"], timestamp="t", chunk_period="M").fit(frame)
    result = fitted.calculate(frame)
    rows = result.to_df().query("period == 'analysis' and metric == 'row_count'")
    assert list(rows["chunk_key"]) == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert list(rows["value"]) == [31 * 24, 29 * 24, 31 * 24, 29 * 24]
