"""Runs: what they record, how re-written chunks replace old rows, and when a run counts as dead."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import socket

import pandas as pd
import pytest
import sqlalchemy as sa
from store_data import in_store_order, make_results

import seismo
from seismo.store import ResultsStore, StoreError


def test_a_run_records_who_where_and_what(store: ResultsStore):
    run = store.begin_run("credit", "cafe01", settings={"chunk_size": 5000})
    before = store.runs("credit").iloc[0]
    assert (before["run_id"], before["status"]) == (run, "running") and pd.isna(before["row_count"])
    store.commit_run(run, "credit", make_results(2))
    after = store.runs("credit").iloc[0]
    assert after["status"] == "succeeded" and after["row_count"] == len(make_results(2))
    assert (after["user"], after["host"], after["pid"]) == (getpass.getuser(), socket.gethostname(), os.getpid())
    assert (after["config_hash"], after["settings"], after["seismo_version"]) == (
        "cafe01", {"chunk_size": 5000}, seismo.__version__)
    assert after["started_at"] <= after["finished_at"]
    assert abs(after["finished_at"] - pd.Timestamp.now("UTC").tz_localize(None)) < pd.Timedelta(minutes=1)
    assert store.begin_run("credit", "h", user="scheduler") == run + 1
    assert store.runs()["user"].tolist() == [getpass.getuser(), "scheduler"]


def test_rewriting_the_same_chunks_replaces_them(store: ResultsStore):
    first = make_results(n_chunks=3, seed=1)
    store.commit_run(store.begin_run("m", "h"), "m", first)
    again = make_results(n_chunks=3, seed=2)  # same chunks, new values
    run = store.begin_run("m", "h")
    store.commit_run(run, "m", again)
    read = store.results("m")
    assert len(read) == len(again)
    pd.testing.assert_frame_equal(read, in_store_order(again), check_exact=True)
    assert store.commit_run(store.begin_run("m", "h"), "m", again) == len(again)
    assert len(store.results("m")) == len(again)


def test_overlapping_chunks_are_replaced_and_the_rest_kept(store: ResultsStore):
    old = make_results(n_chunks=3, seed=1, first_chunk=0)  # analysis chunks 0, 1, 2
    new = make_results(n_chunks=3, seed=2, first_chunk=2)  # analysis chunks 2, 3, 4; same reference keys
    store.commit_run(store.begin_run("m", "h"), "m", old)
    store.commit_run(store.begin_run("m", "h"), "m", new)
    analysis = store.results("m", period="analysis")
    assert sorted(analysis["chunk_index"].unique()) == [0, 1, 2, 3, 4]
    per_chunk = len(old) // 6
    assert len(analysis) == 5 * per_chunk
    kept = analysis[analysis["chunk_index"] < 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, in_store_order(old[(old["period"] == "analysis") & (old["chunk_index"] < 2)]))
    replaced = analysis[analysis["chunk_index"] == 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(replaced, in_store_order(new[(new["period"] == "analysis") & (new["chunk_index"] == 2)]))
    # Another model's rows with the same keys are never touched.
    store.commit_run(store.begin_run("other", "h"), "other", old)
    assert len(store.results("m")) == 8 * per_chunk and len(store.results("other")) == len(old)


def test_an_open_chunk_that_grew_replaces_its_earlier_rows(store: ResultsStore):
    """Incremental runs: the last size chunk [200:249] later becomes [200:299]; its start stays."""
    early = make_results(n_chunks=3, seed=1)
    last = early["chunk_index"] == 2
    early.loc[last, "chunk_key"] = "[200:249]"
    early.loc[last, "chunk_end_index"] = 249
    store.commit_run(store.begin_run("m", "h"), "m", early)
    store.commit_run(store.begin_run("m", "h"), "m", make_results(n_chunks=3, seed=2))
    read = store.results("m")
    assert "[200:249]" not in set(read["chunk_key"])
    pd.testing.assert_frame_equal(read, in_store_order(make_results(n_chunks=3, seed=2)), check_exact=True)
    # period keys are matched by key alone: another week at the same position is kept
    weeks = make_results(n_chunks=1, seed=3)
    weeks["chunk_key"] = "2024-W01"
    store.commit_run(store.begin_run("w", "h"), "w", weeks)
    other = weeks.assign(chunk_key="2024-W02")
    store.commit_run(store.begin_run("w", "h"), "w", other)
    assert len(store.results("w")) == 2 * len(weeks)


def test_a_failed_run_keeps_its_message_and_cannot_commit(store: ResultsStore):
    run = store.begin_run("m", "h")
    store.fail_run(run, "analysis.parquet: no such file")
    store.fail_run(run, "second message")  # already failed: first message kept
    row = store.runs("m").iloc[0]
    assert (row["status"], row["message"]) == ("failed", "analysis.parquet: no such file")
    with pytest.raises(StoreError, match=f"run {run} of model 'm' is failed \\(analysis.parquet"):
        store.commit_run(run, "m", make_results(1))
    ok = store.begin_run("m", "h")  # a failed run does not block the model
    store.commit_run(ok, "m", make_results(1))
    with pytest.raises(StoreError, match="already succeeded"):
        store.fail_run(ok, "late")


def test_a_live_run_blocks_the_model_until_it_is_stale(store_url: str):
    with ResultsStore(store_url) as store:
        run = store.begin_run("m", "h")
        with pytest.raises(StoreError, match=f"model 'm' is already being monitored by run {run} .* pid {os.getpid()}"):
            store.begin_run("m", "h")
        other = store.begin_run("n", "h")  # other models are independent
        store.commit_run(other, "n", make_results(1))
    with ResultsStore(store_url, stale_after=dt.timedelta(0)) as impatient:
        newer = impatient.begin_run("m", "h")
        runs = impatient.runs("m").set_index("run_id")
    assert runs.loc[run, "status"] == "failed" and "no result after 0:00:00" in runs.loc[run, "message"]
    assert runs.loc[newer, "status"] == "running"


def test_a_run_on_another_host_is_alive_until_stale(store_url: str):
    with ResultsStore(store_url) as store:
        run = store.begin_run("m", "h")
        with store.engine.begin() as conn:  # as if a scheduler on another machine had started it
            conn.execute(sa.text("UPDATE runs SET host = 'elsewhere', pid = 1 WHERE id = :id"), {"id": run})
        with pytest.raises(StoreError, match="on elsewhere, pid 1"):
            store.begin_run("m", "h")
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE runs SET started_at = :t WHERE id = :id"),
                         {"id": run, "t": dt.datetime(2000, 1, 1)})
        store.begin_run("m", "h")
        assert store.runs("m")["status"].tolist() == ["failed", "running"]
