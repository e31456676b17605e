"""Declared segments through the command line: the config keys and their refusals, `seismo validate`
finding a missing segment column, `seismo run` storing each segment's rows (and counting their
alerts), `seismo rank --segment` ranking one segment's drift against its own performance drop, and
incremental runs that store per segment what one run stores.

The data: in region=east only, ``debt`` drifts and the labels degrade together, by EAST's pattern
over the six analysis chunks; the model scores ``income`` alone, so only east's debt drift tracks
east's drop.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_data import make_log, write_config
from typer.testing import CliRunner

from seismo.cli.app import app
from seismo.cli.config import load_config, read_config
from seismo.cli.jobs import run_job, stored_ranking
from seismo.cli.validate import validate
from seismo.store import ResultsStore

EAST = [0, 3, 1, 4, 0, 2]  # per analysis chunk: east's debt shift (x 0.5 in log) and label noise (x 0.12)
SIZE = 500
SEGMENTED = {"chunking.chunk_size": SIZE, "segments": ["region"], "min_segment_rows": 50,
             "calculators.estimated_performance": False, "calculators.realized_performance": {"metrics": ["roc_auc"]}}
KEYS = ["calculator", "period", "chunk_key", "segment", "column", "metric"]
LABELS = ["region=east", "region=north", "region=south"]


def _workspace(folder: Path) -> Path:
    """reference: 3,000 rows; analysis: six chunks of 500 where east drifts and degrades; its labels."""
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for k, level in enumerate(EAST):
        chunk = make_log(SIZE, seed=10 + k, start=str(pd.Timestamp("2024-03-01") + pd.Timedelta(hours=SIZE * k)),
                         first_id=10_000 + SIZE * k)
        east = (chunk["region"] == "east").to_numpy()
        chunk.loc[east, "debt"] *= np.exp(0.5 * level)
        flip = east & (np.random.default_rng(100 + k).random(SIZE) < 0.12 * level)
        chunk["repaid"] = np.where(flip, 1 - chunk["repaid"], chunk["repaid"])
        parts.append(chunk)
    analysis = pd.concat(parts, ignore_index=True)
    make_log(6 * SIZE, seed=1).to_parquet(folder / "reference.parquet", index=False)
    analysis.drop(columns=["repaid"]).to_parquet(folder / "analysis.parquet", index=False)
    analysis[["id", "repaid"]].to_parquet(folder / "targets.parquet", index=False)
    return folder


def _stored(folder: Path) -> pd.DataFrame:
    with ResultsStore(f"sqlite:///{folder / 'seismo.db'}") as store:
        df = store.results("loans")
    return df.sort_values(KEYS, na_position="first").reset_index(drop=True)


@pytest.fixture(scope="module")
def segmented(tmp_path_factory) -> tuple[Path, dict, str]:
    """One `seismo run --json` with segments: its folder, its JSON outcome, its printed line."""
    folder = _workspace(tmp_path_factory.mktemp("segmented"))
    config = write_config(folder, SEGMENTED)
    out = CliRunner().invoke(app, ["run", "-c", str(config), "--json"])
    assert out.exit_code == 1, out.output
    again = CliRunner().invoke(app, ["run", "-c", str(config)])  # no new rows: the standing alerts, printed
    assert again.exit_code == 1, again.output
    return folder, json.loads(out.output), again.output


def test_run_stores_every_segment_and_counts_its_alerts(segmented):
    folder, outcome, printed = segmented
    stored = _stored(folder)
    assert sorted(stored["segment"].dropna().unique()) == LABELS
    analysis = stored[stored["period"] == "analysis"]
    alerting = analysis[analysis["alert"].astype(bool)]
    assert (outcome["alerts"], outcome["segment_alerts"], outcome["performance_alerts"]) == (68, 40, 1)
    assert (len(alerting), int(alerting["segment"].notna().sum())) == (68, 40)
    assert "standing: 68 alerts (40 in segments), 1 on performance" in printed
    # east's debt alerts in the four chunks where it drifts; its share of the rows stays put
    east_debt = analysis[(analysis["segment"] == "region=east") & (analysis["column"] == "debt")
                         & (analysis["calculator"] == "univariate_drift")]
    assert sorted(east_debt.loc[east_debt["alert"].astype(bool), "chunk_index"].unique()) == [1, 2, 3, 5]
    shares = analysis[(analysis["metric"] == "segment_share") & (analysis["segment"] == "region=east")]
    assert len(shares) == 6 and shares["value"].between(0.15, 0.25).all()
    assert set(stored.loc[stored["segment"].notna(), "segment_thresholds"]) == {"own"}
    # the one performance alert: east's own roc_auc in chunk 1, below east's own threshold (none overall)
    auc = analysis[analysis["calculator"] == "realized_performance"].set_index(["segment", "chunk_index"])
    assert auc.index[auc["alert"].astype(bool)].tolist() == [("region=east", 1)]
    assert auc.loc[("region=east", 1), "value"] == pytest.approx(0.5286, abs=1e-4)
    assert auc.loc[("region=east", 1), "lower_threshold"] == pytest.approx(0.6105, abs=1e-4)


def test_the_overall_rows_are_those_of_the_same_run_without_segments(segmented, tmp_path):
    folder, _, _ = segmented
    plain = _workspace(tmp_path / "plain")
    run_job(write_config(plain, {k: v for k, v in SEGMENTED.items() if k not in ("segments", "min_segment_rows")}))
    overall = _stored(folder)
    overall = overall[overall["segment"].isna() & (overall["metric"] != "segment_share")].reset_index(drop=True)
    unsegmented = _stored(plain)
    assert len(overall) == len(unsegmented) == 372
    pd.testing.assert_frame_equal(overall[KEYS + ["alert"]], unsegmented[KEYS + ["alert"]])
    for column in ("value", "lower_threshold", "upper_threshold"):
        np.testing.assert_allclose(overall[column].astype(float), unsegmented[column].astype(float), rtol=1e-9,
                                   err_msg=column)
    # and so is the ranking: the segments' rows never leak into the overall one
    pd.testing.assert_frame_equal(stored_ranking(f"sqlite:///{folder / 'seismo.db'}", "loans").ranking,
                                  stored_ranking(f"sqlite:///{plain / 'seismo.db'}", "loans").ranking)


def test_rank_per_segment_puts_easts_own_drift_first(segmented):
    folder, _, _ = segmented
    store = f"sqlite:///{folder / 'seismo.db'}"
    out = CliRunner().invoke(app, ["rank", "--store", store, "--model", "loans", "--segment", "region=east", "--json"])
    assert out.exit_code == 0, out.output
    found = json.loads(out.output)
    assert (found["segment"], found["performance"], found["segments"]) == ("region=east", "realized_performance",
                                                                           LABELS)
    top = found["ranking"][0]
    assert (top["column"], top["drift_method"], top["alert_count"], top["n_chunks"]) == ("debt", "hellinger", 4, 12)
    assert top["correlation"] == pytest.approx(0.8601, abs=1e-4)
    assert [row["column"] for row in found["ranking"]] == ["debt", "income", "region"]
    assert found["ranking"][2]["note"] == "constant drift values"  # one region within the segment
    # printed: a table, and overall the hint naming the stored segments
    printed = CliRunner().invoke(app, ["rank", "-c", str(folder / "monitor.yaml")])
    assert printed.exit_code == 0, printed.output
    assert "loans, overall: drift ranked by how closely it tracks the drop in" in printed.output
    assert "segments stored: region=east, region=north, region=south; rank one with --segment LABEL" in printed.output


def test_rank_of_an_unknown_segment_lists_the_stored_ones(segmented):
    folder, _, _ = segmented
    out = CliRunner().invoke(app, ["rank", "-c", str(folder / "monitor.yaml"), "--segment", "region=west"])
    assert out.exit_code == 2
    assert "segment 'region=west' is not in the drift result; its segments: region=east, region=north, " \
           "region=south" in " ".join(out.output.split())


def test_segment_keys_become_monitor_arguments_and_change_the_fit_hash(tmp_path):
    base = load_config(write_config(tmp_path))
    assert "segments" not in base.monitor_kwargs()
    assert base.fit_hash() == "2d9673a267eaadbe"  # a config without segments keeps the hash it had before them
    config = load_config(write_config(tmp_path, {"segments": ["region", ["region", "channel"]], "min_segment_rows": 30,
                                                 "small_segments": "report", "segment_correction": "none"}))
    kwargs = config.monitor_kwargs()
    assert {k: kwargs[k] for k in ("segments", "min_segment_rows", "small_segments", "segment_correction")} == {
        "segments": ["region", ["region", "channel"]], "min_segment_rows": 30, "small_segments": "report",
        "segment_correction": "none"}
    hashes = {load_config(write_config(tmp_path, changes)).fit_hash() for changes in (
        {}, {"segments": ["region"]}, {"segments": [["region", "channel"]]},
        {"segments": ["region"], "min_segment_rows": 30}, {"segments": ["region"], "small_segments": "report"},
        {"segments": ["region"], "segment_correction": "none"})}
    assert len(hashes) == 6  # each of them changes what is fitted
    same = load_config(write_config(tmp_path, {"segments": "region"}))  # a bare name is a list of one
    assert same.segments == ["region"] and same.fit_hash() == load_config(
        write_config(tmp_path, {"segments": ["region"]})).fit_hash()


@pytest.mark.parametrize(("changes", "where", "message"), [
    ({"segments": 5}, "segments", "segments must be a list of column names or of lists of column names"),
    ({"segments": []}, "segments", "segments must be a list of column names"),
    ({"segments": ["region", "region"]}, "segments", "segments lists ['region'] twice"),
    ({"segments": [["region", "region"]]}, "segments", "segments entry ['region', 'region'] names a column twice"),
    ({"segments": [5]}, "segments", "each entry of segments must be a column name or a list of column names, got 5"),
    ({"segments": ["region"], "min_segment_rows": 0}, "min_segment_rows", "input should be greater than 0"),
    ({"segments": ["region"], "small_segments": "drop"}, "small_segments", "'drop' is not valid; use 'other' or 'report'"),
    ({"segments": ["region"], "segment_correction": "bonferoni"}, "segment_correction",
     "'bonferoni' is not valid; use 'bonferroni' or 'none'; did you mean 'bonferroni'?"),
    ({"min_segment_rows": 50}, "min_segment_rows", "needs segments: declare the segment columns, e.g. segments: [region]"),
])
def test_a_bad_segment_key_is_named_with_its_problem(tmp_path, changes, where, message):
    config, problems = read_config(write_config(tmp_path, changes))
    assert config is None and len(problems) == 1
    assert problems[0].where == where and message in problems[0].message


def test_validate_finds_a_segment_column_missing_from_the_data(workspace):
    analysis = pd.read_parquet(workspace / "analysis.parquet").drop(columns=["region"])
    analysis.to_parquet(workspace / "analysis.parquet", index=False)
    config = write_config(workspace, {"segments": ["region", ["region", "channel"]], "small_segments": "drop"})
    problems = [str(p) for p in validate(config)]
    assert problems == [
        "small_segments: 'drop' is not valid; use 'other' or 'report'",  # the config's mistake, and still the data's
        "data.reference: column 'channel' (segments[1]) is not in the reference data; it has: id, timestamp, income, "
        "debt, region, y_pred_proba, y_pred, repaid",
        "data.analysis: column 'region' (segments[0]) is not in the analysis data; it has: id, timestamp, income, "
        "debt, y_pred_proba, y_pred",
        "data.analysis: column 'channel' (segments[1]) is not in the analysis data; it has: id, timestamp, income, "
        "debt, y_pred_proba, y_pred",
    ]
    out = CliRunner().invoke(app, ["validate", "-c", str(write_config(workspace, {"segments": ["region"]})), "--json"])
    assert out.exit_code == 2 and json.loads(out.output)["problems"][0]["where"] == "data.analysis"


def test_adding_segments_refits_the_saved_monitor(workspace):
    assert run_job(write_config(workspace)).refitted
    assert not run_job(write_config(workspace)).refitted
    again = run_job(write_config(workspace, {"segments": ["region"]}))
    assert again.refitted and again.segment_alerts > 0


def _grow(folder: Path, growing: Path, first_rows: int) -> Path:
    """Two runs in ``growing``: over the first rows of ``folder``'s analysis, then over all of them."""
    analysis = pd.read_parquet(folder / "analysis.parquet")
    (growing / "analysis").mkdir(parents=True)
    for name in ("reference.parquet", "targets.parquet"):
        shutil.copy(folder / name, growing / name)
    analysis.iloc[:first_rows].to_parquet(growing / "analysis" / "part-000.parquet", index=False)
    config = write_config(growing, {**SEGMENTED, "data.analysis": "analysis"})
    run_job(config)
    analysis.iloc[first_rows:].to_parquet(growing / "analysis" / "part-001.parquet", index=False)
    assert not run_job(config).refitted
    return growing


def test_two_runs_over_growing_data_store_per_segment_what_one_run_stores(segmented, tmp_path):
    folder, _, _ = segmented
    # chunk 4 is open after the first run, with 400 rows: each region has its own rows there (east about 80)
    once, twice = _stored(folder), _stored(_grow(folder, tmp_path / "growing", 1900))
    assert len(once) == len(twice) == 1524
    pd.testing.assert_frame_equal(once[KEYS + ["chunk_start_index", "alert"]],
                                  twice[KEYS + ["chunk_start_index", "alert"]])
    for column in ("value", "lower_threshold", "upper_threshold"):
        np.testing.assert_allclose(once[column].astype(float), twice[column].astype(float), rtol=1e-7,
                                   err_msg=column)


def test_an_open_chunks_other_rows_go_when_the_chunk_grows(segmented, tmp_path):
    folder, _, _ = segmented
    # chunk 4 is open after the first run with 200 rows: east (about 40) is merged into region=(other) there
    twice = _stored(_grow(folder, tmp_path / "growing", 1700))
    assert twice["segment"].isin(["region=(other)"]).sum() == 0  # 31 rows of [1500:1699] remain


def test_late_labels_refresh_each_segments_stored_estimates(segmented, tmp_path):
    folder, _, _ = segmented
    late = _workspace(tmp_path / "late")
    targets = pd.read_parquet(late / "targets.parquet")
    targets.iloc[:1500].to_parquet(late / "targets.parquet", index=False)  # labels of chunks 0-2 only
    estimating = {**SEGMENTED, "calculators.estimated_performance": {"metrics": ["roc_auc"]}}
    config = write_config(late, estimating)
    run_job(config)
    targets.to_parquet(late / "targets.parquet", index=False)  # the rest arrive
    run_job(config)
    stored = _stored(late)
    rows = stored[stored["period"] == "analysis"].set_index(["calculator", "segment", "chunk_index"])
    estimated, realized = rows.loc["estimated_performance"], rows.loc["realized_performance"]
    assert len(estimated) == len(realized) == 24  # 6 chunks x (overall + 3 regions), once each
    # every stored estimate, of every segment, now shows its own segment's realized value
    np.testing.assert_allclose(estimated["realized"].astype(float),
                               realized.loc[estimated.index, "value"].astype(float), rtol=1e-12)
    assert estimated.loc[("region=east", 1), "realized"] == pytest.approx(0.5286, abs=1e-4)
