"""Chunkers cut sorted rows into the chunks the issue describes: by size (keep/append/drop),
by number, by calendar period, or by a custom rule; too little reference data is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo.chunks.chunkers import CountChunker, PeriodChunker, SizeChunker, chunk_reference, make_chunker
from seismo.errors import InvalidConfiguration, InvalidData, SeismoWarning


def _bounds(chunks):
    return [(c.start, c.stop) for c in chunks]


def test_size_chunker_incomplete_modes():
    assert _bounds(SizeChunker(4).split(10)) == [(0, 4), (4, 8), (8, 10)]
    assert _bounds(SizeChunker(4, "append").split(10)) == [(0, 4), (4, 10)]
    with pytest.warns(SeismoWarning, match="2 rows after the last complete chunk of 4 were dropped"):
        assert _bounds(SizeChunker(4, "drop").split(10)) == [(0, 4), (4, 8)]
    assert [c.key for c in SizeChunker(4).split(10)] == ["[0:3]", "[4:7]", "[8:9]"]


def test_count_chunker_covers_every_row_evenly():
    chunks = CountChunker(3).split(10)
    assert _bounds(chunks)[0][0] == 0 and _bounds(chunks)[-1][1] == 10
    assert sorted(c.size for c in chunks) == [3, 3, 4]
    assert len(CountChunker(10).split(4)) == 4
    assert len(make_chunker().split(1000)) == 10  # default is 10 chunks


@pytest.mark.parametrize(
    ("alias", "keys"),
    [
        ("D", ["2024-01-30", "2024-01-31", "2024-02-01"]),
        ("W", ["2024-W05", "2024-W06"]),
        ("M", ["2024-01", "2024-02"]),
        ("Q", ["2024Q1"]),
        ("Y", ["2024"]),
    ],
)
def test_period_chunker_keys(alias, keys):
    stamps = pd.date_range("2024-01-30", "2024-02-05 23:00", freq="h").to_numpy()
    chunks = PeriodChunker(alias).split(len(stamps), stamps)
    assert [c.key for c in chunks][: len(keys)] == keys
    assert chunks[0].start_date == stamps[0] and chunks[-1].end_date == stamps[-1]
    assert sum(c.size for c in chunks) == len(stamps)


def test_chunk_dates_and_positions_in_result(reference, analysis):
    result = seismo.DataQuality(columns=["a"], timestamp="timestamp", chunk_period="W", n_resamples=5)
    df = result.fit(reference).calculate(analysis).to_df()
    first = df[df["period"] == "analysis"].iloc[0]
    assert first["chunk_start_index"] == 0
    assert first["chunk_start_date"] == analysis["timestamp"].iloc[0]
    assert str(first["chunk_key"]).startswith("2024-W")


def test_custom_chunker():
    class Halves(seismo.Chunker):
        def split(self, n_rows, timestamps=None):
            mid = n_rows // 2
            return [seismo.Chunk(0, "first", 0, mid), seismo.Chunk(1, "second", mid, n_rows)]

    chunks = make_chunker(chunker=Halves()).split(9)
    assert [(c.key, c.size) for c in chunks] == [("first", 4), ("second", 5)]


def test_reference_smaller_than_one_chunk_is_refused():
    with pytest.raises(InvalidData, match="reference set has 99 rows, fewer than one chunk needs \\(100\\)"):
        chunk_reference(SizeChunker(100), 99, None)


def test_few_reference_chunks_warn():
    with pytest.warns(SeismoWarning, match="only 3 chunks"):
        chunk_reference(SizeChunker(100), 300, None)


def test_conflicting_or_bad_arguments():
    with pytest.raises(InvalidConfiguration, match="give only one of"):
        make_chunker(chunk_size=10, chunk_number=3)
    with pytest.raises(InvalidConfiguration, match="chunk_period is 'fortnight'"):
        make_chunker(chunk_period="fortnight")
    with pytest.raises(InvalidConfiguration, match="incomplete is 'pad'"):
        SizeChunker(10, "pad")
    with pytest.raises(InvalidConfiguration, match="needs a timestamp"):
        PeriodChunker("M").split(10, None)


def test_unsorted_rows_are_sorted_stably_before_chunking():
    stamps = pd.to_datetime(["2024-01-03", "2024-01-01", "2024-01-02", "2024-01-01"])
    df = pd.DataFrame({"timestamp": stamps, "v": [3.0, 1.0, 2.0, 1.5]})
    from seismo.data.frame import load_frame

    frame = load_frame(df, ["v"], "timestamp", "analysis")
    np.testing.assert_array_equal(frame.floats("v"), [1.0, 1.5, 2.0, 3.0])
