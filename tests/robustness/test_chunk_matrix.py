"""Bad-input matrix, chunks and sizes (issue 12, item 1), and the silent cases found beside them.

Each case either raises a `seismo.errors.*` error naming the problem before computing, or goes on
with a documented behaviour and a warning that counts the rows or chunks affected:

* an empty calendar period (a gap of weeks) is a chunk with ``row_count`` 0 (DataQuality alerts);
  elsewhere its values are NaN, named by a warning, and estimates have trust ``none``;
* a one-row chunk is computed, its estimate has trust ``low``;
* a chunk size larger than the analysis set makes one chunk of every row;
* a 0-row analysis and a reference smaller than one chunk are `InvalidData`;
* a tiny reference cut into chunks of 1-2 rows warns with the sizes, marks estimates trust ``low``
  and learns no zero-width band (which alerted on every chunk);
* default features missing from the analysis lower trust to ``low`` and are named (a shift
  hidden in them read as trust ``ok``);
* columns new in the analysis are named once by `Monitor.run`;
* rows older than those an incremental run already processed are counted, not dropped unsaid.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

import seismo
from seismo.chunks.accumulator import StreamState

BINARY = dict(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true")
FEATURES = ["x", "s"]
LIGHT = {"pca_drift": False, "domain_classifier_drift": False}


def _log(n: int, start: str, seed: int, freq: str = "2h") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = 1.0 / (1.0 + np.exp(-x))
    return pd.DataFrame({"x": x, "s": rng.choice(["a", "b"], n), "y_pred_proba": p, "y_pred": (p > 0.5).astype(int),
                         "y_true": (rng.random(n) < p).astype(int),
                         "timestamp": pd.date_range(start, periods=n, freq=freq)})


@pytest.fixture(scope="module")
def logs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """24 weeks of reference, then an analysis with no row from 2024-07-15 to 2024-08-04 (weeks 29-31)."""
    reference = _log(2000, "2024-01-01", 0)
    analysis = _log(1000, "2024-07-01", 1)
    gap = (analysis["timestamp"] >= "2024-07-15") & (analysis["timestamp"] < "2024-08-05")
    return reference, analysis[~gap].reset_index(drop=True)


EMPTY_WEEKS = ["2024-W29", "2024-W30", "2024-W31"]


def _quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args)


def _analysis(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["period"] == "analysis"]


# -- an empty period ------------------------------------------------------------------------------
def test_an_empty_week_is_a_chunk_with_row_count_zero_that_alerts(logs):
    reference, analysis = logs
    dq = seismo.DataQuality(columns=FEATURES, timestamp="timestamp", chunk_period="W").fit(reference)
    with pytest.warns(seismo.SeismoWarning, match=r"DataQuality: \d+ analysis values could not be computed.*"
                                                   r"2024-W29, 2024-W30, 2024-W31.*a chunk without rows"):
        df = dq.calculate(analysis).to_df()
    counts = _analysis(df)[_analysis(df)["metric"] == "row_count"].set_index("chunk_key")
    assert list(counts.index[:6]) == ["2024-W27", "2024-W28", *EMPTY_WEEKS, "2024-W32"]
    assert (counts.loc[EMPTY_WEEKS, "value"] == 0).all() and counts.loc[EMPTY_WEEKS, "alert"].all()
    assert counts["value"].sum() == len(analysis)
    # the empty chunk is dated by the calendar: Monday to Sunday of its ISO week
    assert counts.loc["2024-W29", "chunk_start_date"] == pd.Timestamp("2024-07-15")
    assert counts.loc["2024-W29", "chunk_end_date"].date() == pd.Timestamp("2024-07-21").date()


def test_an_empty_week_has_no_silent_nan_in_any_calculator(logs):
    reference, analysis = logs
    monitor = seismo.Monitor("binary", **BINARY, timestamp="timestamp", chunk_period="W", features=FEATURES,
                             calculators=LIGHT)
    _quiet(monitor.fit, reference)
    with pytest.warns(seismo.SeismoWarning) as caught:
        report = monitor.run(analysis)
    messages = [str(w.message) for w in caught]
    df = report.to_df()
    empty = _analysis(df)[_analysis(df)["chunk_key"].isin(EMPTY_WEEKS)]
    for name, calculator in (("estimated_performance", "CBPE"), ("realized_performance", "RealizedPerformance"),
                             ("univariate_drift", "UnivariateDrift")):
        rows = empty[empty["calculator"] == name]
        assert len(rows) and rows["value"].isna().all() and not rows["alert"].any(), name
        assert any(m.startswith(f"{calculator}: ") and "2024-W29" in m for m in messages), name
    estimate = empty[empty["calculator"] == "estimated_performance"]
    assert (estimate["trust"] == "none").all() and estimate["trust_reason"].str.contains("the chunk has no rows").all()
    summary = report.summary()
    assert "no rows at all in 3 chunk(s): 2024-W29, 2024-W30, 2024-W31" in summary
    assert "cannot judge performance here: 2024-07-15 to 2024-07-29" in summary


def test_a_gap_between_two_incremental_runs_leaves_its_empty_weeks(logs):
    reference, analysis = logs
    dq = seismo.DataQuality(columns=["x"], timestamp="timestamp", chunk_period="W", metrics=["row_count"])
    dq.fit(reference)
    run1 = dq.calculate(analysis[analysis["timestamp"] < "2024-07-15"], state=StreamState())
    run2 = dq.calculate(analysis, state=run1.state)  # the open week 28, then rows from week 32
    counts = _analysis(run2.to_df()).set_index("chunk_key")["value"]
    assert list(counts.index[:5]) == ["2024-W28", *EMPTY_WEEKS, "2024-W32"]
    assert (counts.loc[EMPTY_WEEKS] == 0).all()


# -- sizes ----------------------------------------------------------------------------------------
def test_a_one_row_chunk_is_computed_and_its_estimate_has_low_trust(logs):
    reference, analysis = logs
    cbpe = seismo.CBPE("binary", **BINARY, features=FEATURES, chunk_size=100, metrics=["roc_auc", "f1"])
    cbpe.fit(reference)
    df = _analysis(cbpe.estimate(analysis.iloc[:201]).to_df())
    last = df[df["chunk_key"] == "[200:200]"]
    assert len(last) == 2 and (last["trust"] == "low").all()
    assert last["trust_reason"].str.contains(r"the chunk has only 1 rows \(fewer than 30\)").all()
    assert (df[df["chunk_key"] != "[200:200]"]["trust"] == "ok").all()
    drift = seismo.UnivariateDrift(columns=["x"], chunk_size=100, methods=["kolmogorov_smirnov"]).fit(reference)
    one = _analysis(drift.calculate(analysis.iloc[:201]).to_df()).iloc[-1]
    value = analysis["x"].iloc[200]  # KS of one value: the larger side of the reference's CDF there
    below = np.mean(reference["x"] < value)
    assert one["chunk_key"] == "[200:200]" and one["value"] == pytest.approx(max(below, 1.0 - below), abs=2e-3)


def test_a_chunk_size_larger_than_the_analysis_makes_one_chunk_of_every_row(logs):
    reference, analysis = logs
    realized = seismo.RealizedPerformance("binary", **BINARY, chunk_size=500, metrics=["roc_auc", "f1"])
    df = _analysis(realized.fit(reference).calculate(analysis.iloc[:80]).to_df())
    assert list(df["chunk_key"].unique()) == ["[0:79]"]
    rows = analysis.iloc[:80]
    assert df.set_index("metric").loc["f1", "value"] == pytest.approx(skm.f1_score(rows.y_true, rows.y_pred), abs=1e-12)
    assert df.set_index("metric").loc["roc_auc", "value"] == pytest.approx(
        skm.roc_auc_score(rows.y_true, rows.y_pred_proba), abs=1e-3)


@pytest.mark.parametrize("make", [
    lambda: seismo.DataQuality(columns=FEATURES, chunk_size=100),
    lambda: seismo.UnivariateDrift(columns=FEATURES, chunk_size=100),
    lambda: seismo.RealizedPerformance("binary", **BINARY, chunk_size=100),
    lambda: seismo.CBPE("binary", **BINARY, features=FEATURES, chunk_size=100, metrics=["f1"]),
    lambda: seismo.Monitor("binary", **BINARY, features=FEATURES, chunk_size=100, calculators=LIGHT),
], ids=["quality", "drift", "realized", "cbpe", "monitor"])
def test_a_zero_row_analysis_and_a_reference_smaller_than_one_chunk_are_invalid_data(logs, make):
    reference, analysis = logs
    calc = make()
    calc.fit(reference)
    run = calc.estimate if isinstance(calc, seismo.CBPE) else (calc.run if isinstance(calc, seismo.Monitor)
                                                                 else calc.calculate)
    with pytest.raises(seismo.InvalidData, match="the analysis set is empty; there is nothing to monitor"):
        run(analysis.iloc[:0])
    with pytest.raises(seismo.InvalidData, match=r"the reference set has 60 rows, fewer than one chunk needs \(100\)"):
        make().fit(reference.iloc[:60])


# -- a tiny reference -----------------------------------------------------------------------------
def test_a_tiny_reference_cut_into_one_or_two_row_chunks_warns_and_lowers_trust(logs):
    reference, analysis = logs
    cbpe = seismo.CBPE("binary", **BINARY, features=FEATURES, metrics=["roc_auc", "f1"])  # chunk_number=10
    with pytest.warns(seismo.SeismoWarning, match=r"10 of the 10 reference chunks hold only 1-2 rows \(fewer than 30\)"):
        cbpe.fit(reference.iloc[:15])
    df = _analysis(cbpe.estimate(analysis).to_df())
    assert (df["trust"] == "low").all()
    assert df["trust_reason"].str.contains("reference chunks of as few as 1 rows").all()
    auc = df[df["metric"] == "roc_auc"]
    # ROC AUC is defined in too few reference chunks to learn a spread: no band, rather than a zero-width one
    assert auc["upper_threshold"].isna().all() and not auc["alert"].any()


# -- features and columns that the analysis lacks or adds ----------------------------------------
def test_default_features_missing_from_the_analysis_are_named_and_trust_is_not_ok(logs):
    reference, analysis = logs
    cbpe = seismo.CBPE("binary", **BINARY, timestamp="timestamp", chunk_size=250, metrics=["roc_auc"])
    _quiet(cbpe.fit, reference)
    shifted = analysis.assign(x=analysis["x"] + 5.0)
    assert (_analysis(cbpe.estimate(shifted).to_df())["trust"] == "none").all()  # the shift, seen
    with pytest.warns(seismo.SeismoWarning, match=r"CBPE: 1 of the default features are missing from the analysis "
                                                   r"data \('x'\).*marked trust 'low'"):
        df = _analysis(cbpe.estimate(shifted.drop(columns=["x"])).to_df())
    assert (df["trust"] == "low").all()
    assert df["trust_reason"].str.contains(r"1 feature\(s\) missing from the analysis data \('x'\)").all()


def test_columns_new_in_the_analysis_are_named_once(logs):
    reference, analysis = logs
    monitor = seismo.Monitor("binary", **BINARY, timestamp="timestamp", chunk_size=250, calculators=LIGHT)
    _quiet(monitor.fit, reference)
    with pytest.warns(seismo.SeismoWarning) as caught:
        monitor.run(analysis.assign(region="north", score_v2=0.5))
    new = [str(w.message) for w in caught if "not in the reference" in str(w.message)]
    assert new == ["2 column(s) of the analysis data are not in the reference and are not monitored: 'region', "
                   "'score_v2'; refit on a reference that has them to monitor them"]


# -- incremental runs -----------------------------------------------------------------------------
def test_rows_older_than_those_already_processed_are_counted(logs):
    reference, analysis = logs
    monitor = seismo.Monitor("binary", **BINARY, timestamp="timestamp", chunk_size=100, features=FEATURES,
                             calculators={**LIGHT, "estimated_performance": False})
    _quiet(monitor.fit, reference)
    first = analysis.iloc[:400]
    monitor.run(first, incremental=True)
    late = first.iloc[50:80]  # arrive after the first run, dated inside chunks it already closed
    with pytest.warns(seismo.SeismoWarning, match=r"^30 analysis rows are older than the last row processed"):
        report = monitor.run(pd.concat([first, late, analysis.iloc[400:600]]), incremental=True)
    assert report.late_rows == 30
    assert "30 late rows not processed" in report.summary()
    again = monitor.run(analysis.iloc[:600], incremental=True)  # nothing late: nothing said
    assert again.late_rows == 0


def test_late_labels_over_a_source_that_lost_its_first_rows_are_refused(logs):
    """With targets=, realized performance is recomputed over the whole analysis history and its
    chunks are numbered from the source's first row; a source holding only the newest rows would
    store them under the first chunks' keys. Refused, naming both counts; the state is kept."""
    reference, analysis = logs
    analysis = analysis.assign(id=np.arange(len(analysis)))
    targets, unlabelled = analysis[["id", "y_true"]], analysis.drop(columns=["y_true"])
    monitor = seismo.Monitor("binary", **BINARY, timestamp="timestamp", chunk_size=100, features=FEATURES, id="id",
                             calculators={**LIGHT, "estimated_performance": False})
    _quiet(monitor.fit, reference.assign(id=-1 - np.arange(len(reference))))
    _quiet(lambda: monitor.run(unlabelled.iloc[:200], targets=targets, incremental=True))
    _quiet(lambda: monitor.run(unlabelled.iloc[:300], targets=targets, incremental=True))  # the whole history: fine
    with pytest.raises(seismo.errors.InvalidData, match=r"^the analysis data holds 200 rows, but 400 rows have been "
                                                        r"monitored incrementally: with targets=\.\.\. realized"):
        _quiet(lambda: monitor.run(unlabelled.iloc[200:400], targets=targets, incremental=True))  # the last days only
    assert {s.rows_seen for s in monitor.stream_states_.values()} == {300}  # a refused run changes nothing
    report = _quiet(lambda: monitor.run(unlabelled.iloc[:400], targets=targets, incremental=True))
    realized = report.results["realized_performance"].to_df()
    assert realized["chunk_key"].iloc[-1] == "[300:399]"
