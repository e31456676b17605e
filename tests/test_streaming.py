"""Streaming (batches of a file) and incremental (growing data, resumed state) runs give the
same numbers as one in-memory run over all of the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from closeness import assert_close_by_metric
from synthetic import make_frame, write_parts

import seismo
import seismo.data.frame
from seismo.errors import InvalidConfiguration, InvalidData

COLUMNS = ["a", "b", "c", "d"]
KEYS = ["period", "chunk_key", "column", "metric"]


def _calculators(**chunking):
    common = dict(columns=COLUMNS, timestamp="timestamp", n_resamples=5, **chunking)
    return [seismo.UnivariateDrift(**common), seismo.DataQuality(**common), seismo.PCADrift(**common)]


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a = a.sort_values(KEYS).reset_index(drop=True)
    b = b.sort_values(KEYS).reset_index(drop=True)
    assert len(a) == len(b)
    pd.testing.assert_frame_equal(a.drop(columns=["value", "sampling_error", "lower_confidence", "upper_confidence"]),
                                  b.drop(columns=["value", "sampling_error", "lower_confidence", "upper_confidence"]),
                                  check_dtype=False)
    for col in ["value", "sampling_error", "lower_confidence", "upper_confidence"]:
        assert_close_by_metric(a[col], b[col], a["metric"], err_msg=col)  # batches sum rows in another order


@pytest.fixture
def holes(analysis: pd.DataFrame) -> pd.DataFrame:
    df = analysis.copy()
    df.loc[df.index[::11], "a"] = np.nan
    df.loc[df.index[::13], "c"] = "unseen-category"
    return df


@pytest.mark.parametrize("chunking", [dict(chunk_size=3_000), dict(chunk_period="W"), dict(chunk_number=7)],
                         ids=["size", "period", "number"])
def test_streamed_batches_equal_in_memory(chunking, reference, holes, tmp_path, monkeypatch):
    # batches of 1,777 rows never line up with chunks of 3,000 rows, weeks, or 7 equal chunks
    monkeypatch.setattr(seismo.data.frame, "BATCH_ROWS", 1_777)
    write_parts(holes, tmp_path / "ana", [5_000, 6_500, 8_500])
    for calc in _calculators(**chunking):
        calc.fit(reference)
        in_memory = calc.calculate(holes).to_df()
        streamed = calc.calculate(str(tmp_path / "ana"), streaming=True).to_df()
        _assert_same(in_memory, streamed)
        assert (streamed["period"] == "analysis").any()


def test_streaming_refuses_files_out_of_time_order(reference, analysis, tmp_path, monkeypatch):
    monkeypatch.setattr(seismo.data.frame, "BATCH_ROWS", 4_000)  # within one batch rows are sorted; across, not
    directory = tmp_path / "ana"
    directory.mkdir()
    analysis.iloc[10_000:].to_parquet(directory / "a.parquet", index=False)  # later rows in the first file
    analysis.iloc[:10_000].to_parquet(directory / "b.parquet", index=False)
    calc = seismo.UnivariateDrift(columns=COLUMNS, timestamp="timestamp", chunk_size=3_000, n_resamples=5).fit(reference)
    with pytest.raises(InvalidData, match="not in time order"):
        calc.calculate(str(directory), streaming=True)
    # in memory the rows are sorted, so the same files work
    assert len(calc.calculate(str(directory), streaming=False).to_df()) > 0


def _incremental(calc, pieces: list) -> pd.DataFrame:
    """Run pieces one after another; keep the latest row of every chunk, as the store does."""
    state = seismo.StreamState()
    frames = []
    for piece in pieces:
        result = calc.calculate(piece, state=state)
        state = result.state
        frames.append(result.to_df())
    # a chunk still open keeps its start (and index) while its key's end grows: replace by start
    return pd.concat(frames).drop_duplicates(["period", "chunk_start_index", "column", "metric"], keep="last")


@pytest.mark.parametrize("chunking", [dict(chunk_size=3_000), dict(chunk_period="W")], ids=["size", "period"])
@pytest.mark.parametrize("source", ["growing", "new_rows_only"])
def test_incremental_runs_equal_one_run(chunking, source, reference, holes):
    cuts = [0, 4_321, 9_000, 15_500, len(holes)]  # cuts fall inside chunks and weeks
    if source == "growing":  # each run sees the whole history so far
        pieces = [holes.iloc[:b] for b in cuts[1:]]
    else:  # each run sees only the rows that arrived since the last
        pieces = [holes.iloc[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
    for calc in _calculators(**chunking):
        calc.fit(reference)
        one_run = calc.calculate(holes).to_df()
        _assert_same(one_run, _incremental(calc, pieces))


def test_incremental_without_timestamp_counts_rows(reference, holes):
    calc = seismo.DataQuality(columns=COLUMNS, chunk_size=3_000, n_resamples=5).fit(reference)
    pieces = [holes.iloc[:b] for b in (5_000, 5_000, 12_345, len(holes))]  # one run with nothing new
    _assert_same(calc.calculate(holes).to_df(), _incremental(calc, pieces))


def test_incremental_reports_what_it_skipped_and_keeps_the_last_chunk_open(reference, holes):
    calc = seismo.UnivariateDrift(columns=COLUMNS, timestamp="timestamp", chunk_size=3_000, n_resamples=5).fit(reference)
    first = calc.calculate(holes.iloc[:4_500], state=seismo.StreamState())
    assert first.rows_skipped == 0
    assert first.state.rows_seen == 4_500
    assert first.state.open is not None and first.state.open.start == 3_000  # [3000:4499] waits for more rows
    second = calc.calculate(holes.iloc[:7_000], state=first.state)
    assert second.rows_skipped == 4_500
    keys = second.filter(period="analysis").to_df()["chunk_key"].unique().tolist()
    assert keys == ["[3000:5999]", "[6000:6999]"]  # the open chunk completed, a new one opened


def test_chunk_number_cannot_run_incrementally(reference, analysis):
    calc = seismo.DataQuality(columns=COLUMNS, chunk_number=5, n_resamples=5).fit(reference)
    with pytest.raises(InvalidConfiguration, match="chunk_size or chunk_period"):
        calc.calculate(analysis, state=seismo.StreamState())


def test_streaming_checks_column_types_before_reading_batches(reference, tmp_path):
    bad = make_frame(5_000, seed=4, start="2024-06-01")
    bad["a"] = bad["a"].astype(str)
    bad.to_parquet(tmp_path / "bad.parquet", index=False)
    calc = seismo.UnivariateDrift(columns=COLUMNS, timestamp="timestamp", chunk_size=1_000, n_resamples=5).fit(reference)
    with pytest.raises(InvalidData, match="'a'"):
        calc.calculate(str(tmp_path / "bad.parquet"), streaming=True)


@pytest.mark.parametrize("late_labels", [False, True], ids=["labels_in_data", "targets_joined"])
def test_realized_performance_streams_and_joins_late_labels_per_batch(late_labels, reference, analysis, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setattr(seismo.data.frame, "BATCH_ROWS", 2_500)
    calc = seismo.RealizedPerformance("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                                      id="id", timestamp="timestamp", chunk_size=3_000, n_resamples=5).fit(reference)
    data, targets = analysis, None
    if late_labels:  # labels for a random 70% of the rows, in shuffled order
        targets = analysis[["id", "y_true"]].sample(frac=0.7, random_state=1)
        data = analysis.drop(columns="y_true")
    write_parts(data, tmp_path / "ana", [7_000, 13_000])
    in_memory = calc.calculate(data, targets=targets).to_df()
    streamed = calc.calculate(str(tmp_path / "ana"), targets=targets, streaming=True).to_df()
    _assert_same(in_memory, streamed)


def test_monitor_streamed_equals_in_memory(reference, holes, tmp_path, monkeypatch):
    """Every calculator of a Monitor, including the estimator (with its trust diagnostics) and the
    domain classifier, which assemble each chunk's rows from batches."""
    monkeypatch.setattr(seismo.data.frame, "BATCH_ROWS", 2_900)
    write_parts(holes, tmp_path / "ana", [6_000, 14_000])
    monitor = seismo.Monitor("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                             timestamp="timestamp", features=COLUMNS, chunk_size=4_000).fit(reference)
    in_memory = monitor.run(holes).to_df()
    streamed = monitor.run(str(tmp_path / "ana"), streaming=True).to_df()
    keys = ["calculator", *KEYS]
    a = in_memory.sort_values(keys).reset_index(drop=True)
    b = streamed.sort_values(keys).reset_index(drop=True)
    assert set(a["calculator"]) == set(b["calculator"]) >= {"estimated_performance", "domain_classifier_drift"}
    pd.testing.assert_frame_equal(a[keys + ["alert"]], b[keys + ["alert"]])
    for col in ["value", "sampling_error", "upper_threshold", "realized"]:
        assert_close_by_metric(a[col], b[col], a["metric"], err_msg=col)


def test_a_state_can_be_resumed_twice_with_the_same_result(reference, holes):
    """Resuming must not change the state it started from: a retried run gives the same numbers."""
    calc = seismo.DataQuality(columns=COLUMNS, timestamp="timestamp", chunk_size=3_000, n_resamples=5).fit(reference)
    first = calc.calculate(holes.iloc[:4_500], state=seismo.StreamState())
    again = [calc.calculate(holes.iloc[:9_000], state=first.state).to_df() for _ in range(2)]
    _assert_same(again[0], again[1])
    assert first.state.open.stop == 4_500
