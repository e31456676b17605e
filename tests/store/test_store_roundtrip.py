"""What goes into the store comes back: values, dtypes, extra columns, state; filters select."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from store_data import in_store_order, make_results

from seismo.store import ResultsStore, StoreError


def test_results_round_trip_keeps_every_value_and_dtype(store: ResultsStore):
    written = make_results(n_chunks=3, columns=("a", "b", "c"))
    run = store.begin_run("credit", "h1")
    assert store.commit_run(run, "credit", written) == len(written) == 3 * 2 * (3 * 3 + 2 + 1)

    read = store.results("credit")
    expected = in_store_order(written)
    assert list(read.columns) == list(written.columns)
    assert dict(read.dtypes) == dict(written.dtypes)
    pd.testing.assert_frame_equal(read, expected, check_exact=False, rtol=1e-12, atol=0)
    # Exactly, in fact: doubles, infinities, microseconds and 40-bit integers survive both databases.
    for name in ("value", "sampling_error", "lower_threshold", "upper_threshold", "realized", "p_value"):
        assert np.array_equal(read[name].to_numpy(), expected[name].to_numpy(), equal_nan=True), name
    assert np.isinf(read["upper_threshold"]).sum() == np.isinf(written["upper_threshold"]).sum() > 0
    assert read["chunk_end_date"].dt.microsecond.eq(123_456).all()
    assert read.loc[read["metric"] == "row_count", "column"].map(lambda v: v is None).all()


def test_time_zone_aware_dates_come_back_in_their_zone(store: ResultsStore):
    written = make_results(n_chunks=2, tz="Europe/Amsterdam")
    store.commit_run(store.begin_run("m", "h"), "m", written)
    read = store.results("m")
    assert str(read["chunk_start_date"].dtype) == "datetime64[ns, Europe/Amsterdam]"
    pd.testing.assert_series_equal(read["chunk_start_date"], in_store_order(written)["chunk_start_date"])


@pytest.fixture(scope="module")
def report_frame(reference, analysis) -> pd.DataFrame:
    import seismo

    monitor = seismo.Monitor("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                             timestamp="timestamp", id="id", chunk_size=1_000, features=["a", "c"],
                             calculators={"domain_classifier_drift": False}).fit(reference.head(6_000))
    return monitor.run(analysis.head(6_000)).to_df()


@pytest.mark.filterwarnings("ignore::seismo.SeismoWarning")
def test_a_real_report_round_trips(store: ResultsStore, report_frame: pd.DataFrame):
    store.commit_run(store.begin_run("credit", "h"), "credit", report_frame)
    pd.testing.assert_frame_equal(store.results("credit"), in_store_order(report_frame), check_exact=True)


def test_filters_select_rows_and_since_compares_chunk_start(store: ResultsStore):
    written = make_results(n_chunks=4, columns=("a", "b"))
    store.commit_run(store.begin_run("m", "h"), "m", written)

    drift_a = store.results("m", calculator="univariate_drift", column="a", metric=["chi2", "jensen_shannon"])
    assert set(drift_a["metric"]) == {"chi2", "jensen_shannon"} and set(drift_a["column"]) == {"a"}
    assert len(drift_a) == 2 * 4 * 2  # metrics × chunks × periods
    assert list(drift_a["period"]) == ["reference"] * 8 + ["analysis"] * 8
    assert list(drift_a["chunk_index"][:8]) == [0, 0, 1, 1, 2, 2, 3, 3]

    analysis_rows = store.results("m", period="analysis")
    assert set(analysis_rows["period"]) == {"analysis"} and len(analysis_rows) == len(written) // 2

    since = written.loc[written["period"] == "analysis", "chunk_start_date"].sort_values().unique()[2]
    recent = store.results("m", since=since)
    assert recent["chunk_start_date"].min() == since
    assert len(recent) == (written["chunk_start_date"] >= since).sum() == len(written) // 4  # chunks 2, 3

    empty = store.results("m", metric="no_such_metric")
    assert empty.empty and dict(empty.dtypes) == dict(written.dtypes)  # a dashboard's columns stay put


def test_state_is_upserted_per_key_and_kept_per_model(store: ResultsStore):
    assert store.load_state("m") == {}
    blob = bytes(range(256)) * 4000  # 1 MB with every byte value
    store.commit_run(store.begin_run("m", "h"), "m", make_results(1), {"monitor": blob, "open_chunk": b"1"})
    store.commit_run(store.begin_run("m", "h"), "m", make_results(1), {"open_chunk": b"2"})
    store.commit_run(store.begin_run("other", "h"), "other", make_results(1), {"monitor": b"x"})
    assert store.load_state("m") == {"monitor": blob, "open_chunk": b"2"}
    assert store.load_state("other") == {"monitor": b"x"}
    assert store.models() == ["m", "other"]


def test_unknown_model_and_bad_input_are_named(store: ResultsStore):
    store.commit_run(store.begin_run("credit_model", "h"), "credit_model", make_results(1))
    with pytest.raises(StoreError, match="'credit_modle' is not in the store.*did you mean 'credit_model'"):
        store.results("credit_modle")
    with pytest.raises(StoreError, match="period is 'test'"):
        store.results("credit_model", period="test")

    run = store.begin_run("credit_model", "h")
    with pytest.raises(StoreError, match=r"lacks the columns \['calculator'\]"):
        store.commit_run(run, "credit_model", make_results(1).drop(columns="calculator"))
    twice = pd.concat([make_results(1), make_results(1).head(1)])
    with pytest.raises(StoreError, match="1 rows repeating a .*chunk_key"):
        store.commit_run(run, "credit_model", twice)
    with pytest.raises(StoreError, match="'period' holds \\['test'\\]"):
        store.commit_run(run, "credit_model", make_results(1).assign(period="test"))
    with pytest.raises(StoreError, match=r"state\['monitor'\] must be bytes, not str"):
        store.commit_run(run, "credit_model", make_results(1), {"monitor": "text"})
    with pytest.raises(StoreError, match="run 9999 is not in the store"):
        store.commit_run(9999, "credit_model", make_results(1))
    with pytest.raises(StoreError, match=f"run {run} belongs to model 'credit_model', not 'other'"):
        store.commit_run(run, "other", make_results(1))
    assert store.commit_run(run, "credit_model", make_results(1)) == len(make_results(1))  # still usable


@pytest.mark.parametrize("url, message", [
    ("monitoring.db", "not a SQLAlchemy URL; for a SQLite file write sqlite:///monitoring.db"),
    ("nosuchdb://x/y", "cannot open the store nosuchdb://x/y"),
    ("sqlite:////no/such/dir/x.db", "cannot open the store sqlite:////no/such/dir/x.db: unable to open"),
])
def test_an_unusable_url_is_a_store_error(url: str, message: str):
    with pytest.raises(StoreError, match=message.replace(".", r"\.").replace("/", "/")):
        ResultsStore(url)


def test_standing_holds_the_alerting_rows_and_the_blind_chunks_rows(store: ResultsStore):
    """On SQLite and PostgreSQL: `standing` gives the analysis rows that alert, plus every
    estimated-performance row of a chunk where some estimate is withheld (trust "none"), and
    the last chunk's end: what a run reports, without reading every stored row."""
    written = make_results(n_chunks=6, seed=3)
    estimated = written["calculator"] == "estimated_performance"
    trust = np.where(written["chunk_index"].isin([1, 4]) & (written["metric"] == "f1"), "none", "high")
    written["trust"] = pd.Series(trust, index=written.index, dtype=object).where(estimated, None)
    store.commit_run(store.begin_run("m", "h"), "m", written)
    standing, until = store.standing("m", estimator="estimated_performance", withheld="none")
    every = store.results("m", period="analysis")
    blind = (every["calculator"] == "estimated_performance") & every["chunk_index"].isin([1, 4])
    expected = every[every["alert"].astype(bool) | blind]
    assert 0 < len(expected) < len(every)
    pd.testing.assert_frame_equal(standing.reset_index(drop=True), expected.reset_index(drop=True))
    assert pd.Timestamp(until) == every["chunk_end_date"].max()
    assert store.standing("m", estimator="estimated_performance", withheld="no such level")[0]["calculator"].tolist() == \
        every[every["alert"].astype(bool)]["calculator"].tolist()


def test_names_up_to_the_limit_are_stored_and_longer_ones_refused_alike_on_every_database(store: ResultsStore):
    """PostgreSQL refused a name over 200 characters only at commit, SQLite stored it: now both
    store 200 and refuse 201 before writing anything, naming the column and the length."""
    written = make_results(n_chunks=2, columns=("c" * 200, "b"))
    model = "m" * 200
    store.commit_run(store.begin_run(model, "h"), model, written)
    pd.testing.assert_frame_equal(store.results(model), in_store_order(written), check_exact=True)

    longer = written.assign(column=written["column"].replace({"c" * 200: "é" * 201}))
    run = store.begin_run(model, "h")
    with pytest.raises(StoreError, match=r"^results column 'column' holds 12 value\(s\) over the limit; the first is "
                                         r"201 characters long; the store holds names of up to 200 characters: 'éé"):
        store.commit_run(run, model, longer)
    with pytest.raises(StoreError, match=r"^the state key is 201 characters long"):
        store.commit_run(run, model, written, state={"k" * 201: b"x"})
    with pytest.raises(StoreError, match=r"^the model name is 201 characters long"):
        store.begin_run("m" * 201, "h")
    store.commit_run(run, model, written)  # the refused commits wrote nothing; the run can still commit
    pd.testing.assert_frame_equal(store.results(model), in_store_order(written), check_exact=True)
