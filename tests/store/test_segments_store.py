"""Schema version 3: result rows per declared segment, their replacement, filter and migration.

Frames are built by hand until the engine writes segments: a real result's ``to_df()`` (or
`make_results`) with a ``segment`` column, its overall rows None, and the extras a segmented
result carries (``segment_rows``, ``segment_thresholds``). Every test runs on SQLite and on
a real PostgreSQL server (conftest.py).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from store_data import in_store_order, make_results
from synthetic import make_frame  # tests/: the calculator tests' synthetic log

from seismo.store import SCHEMA_VERSION, ResultsStore, StoreError, frames
from seismo.store.tables import MIGRATIONS, migrate, utcnow

NORTH, CROSSED = "region=north", "region=south, channel=web"


def with_segments(overall: pd.DataFrame, labels: tuple[str, ...] = (NORTH, CROSSED), shift: float = 0.0,
                  dtype: str = "object") -> pd.DataFrame:
    """`overall` (segment None) followed by a copy per label whose values differ, as a segmented
    result: ``segment`` right after ``column``, then its two extra columns at the end."""
    parts = []
    for i, label in enumerate((None, *labels)):
        part = overall.drop(columns="segment", errors="ignore").copy()
        part.insert(part.columns.get_loc("column") + 1, "segment", pd.Series([label] * len(part), dtype=object))
        if label is not None:
            part["value"] = part["value"] * (1.5 + i) + shift
            part["alert"] = ~part["alert"]
        part["segment_rows"] = np.nan if label is None else 250.0 * i + 0.5
        part["segment_thresholds"] = pd.Series(
            [None if label is None else ("own", "borrowed", "too few rows")[(i - 1) % 3]] * len(part), dtype=object)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    if dtype != "object":
        out["segment"] = out["segment"].astype(dtype)
        out["segment_thresholds"] = out["segment_thresholds"].astype(dtype)
    return out


def _scalar(store: ResultsStore, sql: str) -> object:
    with store.engine.connect() as conn:
        return conn.exec_driver_sql(sql).scalar()


@pytest.fixture(scope="module")
def drift_frame() -> pd.DataFrame:
    """A real univariate drift result: 2 reference and 3 analysis chunks × 2 columns × 2 methods."""
    import seismo

    reference = make_frame(2_000, seed=1)
    analysis = make_frame(3_000, seed=3, start="2024-06-01")
    with pytest.warns(seismo.SeismoWarning, match="only 2 chunks"):
        calculator = seismo.UnivariateDrift(columns=["a", "c"], timestamp="timestamp", chunk_size=1_000,
                                            methods=["kolmogorov_smirnov", "jensen_shannon", "chi2"]).fit(reference)
    df = calculator.calculate(analysis).to_df()
    df.insert(0, "calculator", "univariate_drift")
    return df


@pytest.mark.parametrize("dtype", ["object", "str"])
def test_a_segmented_result_round_trips_with_its_extras(store: ResultsStore, drift_frame: pd.DataFrame, dtype: str):
    written = with_segments(drift_frame, dtype=dtype)
    assert len(drift_frame) == 20 and len(written) == 60
    assert store.commit_run(store.begin_run("m", "h"), "m", written) == 60

    read = store.results("m")
    assert list(read.columns) == list(written.columns)
    assert dict(read.dtypes) == dict(written.dtypes)
    assert str(read["segment_rows"].dtype) == "float64" and str(read["segment"].dtype) == dtype
    pd.testing.assert_frame_equal(read, in_store_order(written), check_exact=True)
    north = read[read["segment"] == NORTH]
    assert len(north) == 20 and set(north["segment_rows"]) == {250.5} and set(north["segment_thresholds"]) == {"own"}
    crossed = read[read["segment"] == CROSSED]
    assert set(crossed["segment_rows"]) == {500.5} and set(crossed["segment_thresholds"]) == {"borrowed"}
    overall = read[read["segment"].isna()]
    assert len(overall) == 20 and overall["segment_rows"].isna().all() and overall["segment_thresholds"].isna().all()
    if dtype == "object":  # the overall rows' label is None itself, as Result.to_df() has it
        assert overall["segment"].map(lambda v: v is None).all()
    # In SQL: the label is a column (NULL for the overall rows), the two extras are JSON.
    assert _scalar(store, "SELECT count(*) FROM results WHERE segment IS NULL") == 20
    assert _scalar(store, f"SELECT count(*) FROM results WHERE segment = '{CROSSED}'") == 20
    extras = json.loads(str(_scalar(store, f"SELECT extras FROM results WHERE segment = '{NORTH}' "
                                           "AND metric = 'chi2' ORDER BY id LIMIT 1")))
    assert extras == {"p_value": drift_frame.loc[drift_frame["metric"] == "chi2", "p_value"].iloc[0],
                      "segment_rows": 250.5, "segment_thresholds": "own"}


def test_a_frame_without_a_segment_column_is_stored_as_the_overall_rows(store: ResultsStore,
                                                                       drift_frame: pd.DataFrame):
    older = drift_frame.drop(columns="segment", errors="ignore")
    store.commit_run(store.begin_run("m", "h"), "m", older)
    assert _scalar(store, "SELECT count(*) FROM results WHERE segment IS NULL") == 20
    read = store.results("m")
    assert "segment" not in read.columns  # read back as it was written
    pd.testing.assert_frame_equal(read, in_store_order(older), check_exact=True)


def test_rewriting_one_segment_replaces_only_that_segments_rows(store: ResultsStore):
    first = with_segments(make_results(3, columns=("a",)))
    assert store.commit_run(store.begin_run("m", "h"), "m", first) == 3 * 2 * 6 * 3 == 108
    stored = store.results("m")

    # Run 2: segment north of analysis chunk 1 again, with new values.
    overall_1 = make_results(1, columns=("a",), seed=9, first_chunk=1)
    north_1 = with_segments(overall_1, labels=(NORTH,), shift=1000.0)
    north_1 = north_1[(north_1["segment"] == NORTH) & (north_1["period"] == "analysis")]
    assert store.commit_run(store.begin_run("m", "h"), "m", north_1) == 6
    after = store.results("m")
    assert len(after) == 108
    replaced = (after["segment"] == NORTH) & (after["period"] == "analysis") & (after["chunk_index"] == 1)
    assert sorted(after.loc[replaced, "value"]) == sorted(north_1["value"]) and min(north_1["value"]) > 1000
    kept = after[~replaced].reset_index(drop=True)
    was = stored[~((stored["segment"] == NORTH) & (stored["period"] == "analysis")
                   & (stored["chunk_index"] == 1))].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, was, check_exact=True)  # chunk 1's overall and other rows untouched

    # Run 3: an older caller's overall rows of chunk 1 (no segment column) replace only the overall rows.
    plain = make_results(1, columns=("a",), seed=11, first_chunk=1)
    plain = plain[plain["period"] == "analysis"]
    store.commit_run(store.begin_run("m", "h"), "m", plain)
    final = store.results("m")
    # the newest run wrote no segment column: its columns come first, the older runs' after them
    assert list(final.columns[-3:]) == ["segment", "segment_rows", "segment_thresholds"]
    final = final[list(stored.columns)]
    assert len(final) == 108
    chunk_1 = (final["period"] == "analysis") & (final["chunk_index"] == 1)
    assert sorted(final.loc[chunk_1 & final["segment"].isna(), "value"]) == sorted(plain["value"])
    assert sorted(final.loc[chunk_1 & (final["segment"] == NORTH), "value"]) == sorted(north_1["value"])
    was_1 = (stored["period"] == "analysis") & (stored["chunk_index"] == 1)
    pd.testing.assert_frame_equal(final[chunk_1 & (final["segment"] == CROSSED)].reset_index(drop=True),
                                  stored[was_1 & (stored["segment"] == CROSSED)].reset_index(drop=True),
                                  check_exact=True)
    pd.testing.assert_frame_equal(final[~chunk_1].reset_index(drop=True), stored[~was_1].reset_index(drop=True),
                                  check_exact=True)  # the other chunks: as the first run wrote them


def test_a_grown_positional_chunk_replaces_every_row_of_its_shorter_self(store: ResultsStore):
    """A run writes a grown chunk whole; rows of its shorter version (same start, older key) go, whatever
    their segment: a segment merged into "(other)" while the chunk was small has its own rows now."""
    store.commit_run(store.begin_run("m", "h"), "m", with_segments(make_results(2, columns=("a",))))
    grown = with_segments(make_results(1, columns=("a",), seed=5, first_chunk=1), labels=(NORTH,))
    grown = grown[(grown["segment"] == NORTH) & (grown["period"] == "analysis")].copy()
    grown["chunk_key"], grown["chunk_end_index"] = "[100:250]", 250  # the open chunk grew
    assert store.commit_run(store.begin_run("m", "h"), "m", grown) == 6

    analysis_1 = store.results("m", period="analysis").query("chunk_index == 1")
    keys = analysis_1.groupby(analysis_1["segment"].fillna("(overall)"))["chunk_key"].agg(set).to_dict()
    assert keys == {NORTH: {"[100:250]"}}
    assert len(analysis_1) == 6
    assert len(store.results("m", period="analysis").query("chunk_index == 0")) == 18  # chunk 0 untouched


def test_the_segment_filter(store: ResultsStore):
    written = with_segments(make_results(2, columns=("a", "b")))
    store.commit_run(store.begin_run("m", "h"), "m", written)
    per_label = len(written) // 3
    assert per_label == 2 * 2 * 9

    assert len(store.results("m")) == len(store.results("m", segments="*")) == len(written)
    north = store.results("m", segments=NORTH)
    assert set(north["segment"]) == {NORTH} and len(north) == per_label
    both = store.results("m", segments=[NORTH, CROSSED], metric="chi2", period="analysis")
    assert both["segment"].value_counts().to_dict() == {NORTH: 4, CROSSED: 4} and set(both["metric"]) == {"chi2"}
    overall = store.results("m", overall_only=True)
    assert len(overall) == per_label and overall["segment"].map(lambda v: v is None).all()
    pd.testing.assert_frame_equal(overall, store.results("m").query("segment.isna()").reset_index(drop=True))
    assert store.results("m", segments="overall").empty  # no label is special
    assert store.results("m", segments="region=west").empty
    with pytest.raises(StoreError, match=r"pass segments \(\['region=north'\]\) or overall_only=True, not both"):
        store.results("m", segments=NORTH, overall_only=True)


def test_segment_labels_are_checked_before_writing(store: ResultsStore):
    base = make_results(1, columns=("a",))
    longest = "region=" + "n" * 393
    assert len(longest) == 400
    ok = with_segments(base, labels=(longest,))
    store.commit_run(store.begin_run("m", "h"), "m", ok)
    assert set(store.results("m", overall_only=False)["segment"].dropna()) == {longest}

    too_long = with_segments(base, labels=(longest + "x",))
    run = store.begin_run("m", "h")
    with pytest.raises(StoreError, match=r"results column 'segment' holds 12 label\(s\) over the limit; the first "
                                         r"is 401 characters long; the store holds segment labels of up to 400 "
                                         r"characters: 'region=nnn"):
        store.commit_run(run, "m", too_long)
    not_text = with_segments(base, labels=(NORTH,))
    not_text.loc[not_text["segment"] == NORTH, "segment"] = 7
    with pytest.raises(StoreError, match=r"'segment' holds 12 value\(s\) that are not strings, e.g. 7"):
        store.commit_run(run, "m", not_text)
    twice = pd.concat([ok, ok[ok["segment"] == longest].head(1)], ignore_index=True)
    with pytest.raises(StoreError, match=r"1 rows repeating a \(calculator, period, chunk_key, segment, column, "
                                         r"metric\) key"):
        store.commit_run(run, "m", twice)
    store.commit_run(run, "m", ok)  # the run was not spoilt by the refusals
    assert len(store.results("m")) == len(ok)


def test_a_new_store_has_the_segment_index(store: ResultsStore):
    indexes = {ix["name"]: ix["column_names"] for ix in sa.inspect(store.engine).get_indexes("results")}
    assert indexes["ix_results_segment"] == ["model", "calculator", "segment"]
    assert indexes["ix_results_chunk"] == ["model", "calculator", "period", "chunk_key", "metric", "column"]
    assert store.schema_version == SCHEMA_VERSION == 4


def _version_2_store(url: str, written: pd.DataFrame) -> None:
    """A store as seismo wrote it at schema version 2: its steps only, one succeeded run of
    `written`, inserted through the tables as the database has them (reflected)."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        assert migrate(engine, "test", MIGRATIONS[:2]) == 2
        meta = sa.MetaData()
        models, runs, results = (sa.Table(name, meta, autoload_with=engine) for name in ("models", "runs", "results"))
        assert "segment" not in results.c
        with engine.begin() as conn:
            conn.execute(models.insert().values(name="m", created_at=utcnow()))
            run_id = conn.execute(runs.insert().values(
                model="m", status="running", started_at=utcnow(), host="h", pid=1, seismo_version="0.old",
                config_hash="c")).inserted_primary_key[0]
            rows, dtypes = frames.to_rows(written, "m", run_id)
            conn.execute(results.insert(), [{k: v for k, v in row.items() if k != "segment"} for row in rows])
            conn.execute(runs.update().where(runs.c.id == run_id).values(
                status="succeeded", finished_at=utcnow(), row_count=len(rows), result_columns=json.dumps(dtypes)))
    finally:
        engine.dispose()


def test_a_version_2_store_migrates_and_keeps_its_rows(store_url: str):
    written = make_results(2, columns=("a", "b"))
    _version_2_store(store_url, written)

    with pytest.raises(StoreError, match=r"has schema version 2, older than the version 4 this seismo .* knows; "
                                         r"open it once for writing to migrate it"):
        ResultsStore(store_url, read_only=True)

    with ResultsStore(store_url) as store:
        assert store.schema_version == 4  # version 4 (alerts) adds a table, no change to results
        assert _scalar(store, "SELECT count(*) FROM results WHERE segment IS NULL") == len(written) == 2 * 2 * 9
        read = store.results("m")
        assert "segment" not in read.columns
        pd.testing.assert_frame_equal(read, in_store_order(written), check_exact=True)
        pd.testing.assert_frame_equal(store.results("m", overall_only=True), read)
        assert store.results("m", segments=NORTH).empty
        indexes = {ix["name"]: ix["column_names"] for ix in sa.inspect(store.engine).get_indexes("results")}
        assert indexes["ix_results_segment"] == ["model", "calculator", "segment"]
        assert {"ix_results_alert", "ix_results_end", "ix_results_chunk"} <= set(indexes)

        # The migrated store takes segmented rows; re-writing the old chunks replaces only the overall rows.
        segmented = with_segments(make_results(2, columns=("a", "b"), seed=4))
        store.commit_run(store.begin_run("m", "h"), "m", segmented)
        after = store.results("m")
        assert len(after) == len(segmented) == 3 * len(written)
        pd.testing.assert_frame_equal(after, in_store_order(segmented), check_exact=True)

    with ResultsStore(store_url, read_only=True) as store:  # now current: read-only opens it
        assert store.schema_version == 4 and len(store.results("m", segments=CROSSED)) == len(written)
    engine = sa.create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        assert list(conn.exec_driver_sql("SELECT version FROM schema_version ORDER BY version").scalars()) == [1, 2, 3, 4]
    engine.dispose()
