"""Incremental production runs: successive runs over growing data store exactly what one run over
all of it stores, late labels update old chunks, and a run killed while writing leaves the store
consistent for the next run to complete."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from cli_data import write_config
from closeness import assert_close_by_metric

from seismo.cli.jobs import run_job
from seismo.store import ResultsStore

KEYS = ["calculator", "period", "chunk_key", "column", "metric"]
NUMBERS = ["value", "sampling_error", "lower_confidence", "upper_confidence", "lower_threshold", "upper_threshold",
           "realized"]
EVERYTHING = {"calculators.pca_drift": {}, "calculators.domain_classifier_drift": {}}


def stored(folder: Path) -> pd.DataFrame:
    with ResultsStore(f"sqlite:///{folder / 'seismo.db'}") as store:
        df = store.results("loans")
    return df.sort_values(KEYS, na_position="first").reset_index(drop=True)


def assert_same_results(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert len(a) == len(b)
    pd.testing.assert_frame_equal(a[KEYS + ["chunk_start_index", "chunk_end_index", "alert"]],
                                  b[KEYS + ["chunk_start_index", "chunk_end_index", "alert"]])
    for column in NUMBERS:
        assert_close_by_metric(a[column], b[column], a["metric"], err_msg=column)


def _copy_inputs(source: Path, target: Path) -> None:
    target.mkdir(exist_ok=True)
    for name in ("reference.parquet", "targets.parquet"):
        shutil.copy(source / name, target / name)


@pytest.mark.parametrize("estimator", ["cbpe", "pape"])
def test_two_runs_over_growing_data_store_what_one_run_stores(workspace, tmp_path, estimator):
    analysis = pd.read_parquet(workspace / "analysis.parquet")
    changes = {**EVERYTHING, "data.analysis": "analysis", "calculators.estimated_performance": {"estimator": estimator}}
    # growing: the first run sees 1,100 rows (the fifth 250-row chunk is half full), the second all 1,500
    growing = tmp_path / "growing"
    _copy_inputs(workspace, growing)
    (growing / "analysis").mkdir()
    analysis.iloc[:1100].to_parquet(growing / "analysis" / "part-000.parquet", index=False)
    config = write_config(growing, changes)
    first = run_job(config)
    assert not first.refitted or first.rows > 0
    analysis.iloc[1100:].to_parquet(growing / "analysis" / "part-001.parquet", index=False)
    second = run_job(config)
    assert not second.refitted  # the saved monitor, with its open chunk, was reused
    # at once: one run over all of the data
    once = tmp_path / "once"
    _copy_inputs(workspace, once)
    (once / "analysis").mkdir()
    analysis.to_parquet(once / "analysis" / "part-000.parquet", index=False)
    run_job(write_config(once, changes))
    assert_same_results(stored(growing), stored(once))
    keys = stored(growing).query("period == 'analysis'")["chunk_key"].unique().tolist()
    assert "[1000:1099]" not in keys and "[1000:1249]" in keys  # the open chunk was completed, not duplicated


def test_a_run_with_nothing_new_changes_nothing(workspace):
    path = write_config(workspace)
    first = run_job(path)
    before = stored(workspace)
    again = run_job(path)
    # nothing new was written, and the answer is the model's state: the same alerts still stand
    assert again.new_chunks == 0 and first.new_chunks > 0
    assert (again.alerts, again.performance_alerts, again.alerting_calculators) == (
        first.alerts, first.performance_alerts, first.alerting_calculators) and first.alerts > 0
    assert_same_results(before, stored(workspace))


def test_late_labels_update_old_chunks(workspace, tmp_path):
    targets = pd.read_parquet(workspace / "targets.parquet")
    early = targets.iloc[:600]  # labels of the first 600 rows only
    early.to_parquet(workspace / "targets.parquet", index=False)
    path = write_config(workspace)
    run_job(path)
    realized = stored(workspace).query("calculator == 'realized_performance' and metric == 'roc_auc' "
                                       "and period == 'analysis'").sort_values("chunk_index")
    assert realized["value"].iloc[:2].notna().all() and realized["value"].iloc[3:].isna().all()
    targets.to_parquet(workspace / "targets.parquet", index=False)  # the rest of the labels arrive
    run_job(path)
    # the same as one run that had every label from the start
    once = tmp_path / "once"
    _copy_inputs(workspace, once)
    shutil.copy(workspace / "analysis.parquet", once / "analysis.parquet")
    run_job(write_config(once))
    assert_same_results(stored(workspace), stored(once))
    realized = stored(workspace).query("calculator == 'realized_performance' and metric == 'roc_auc' "
                                       "and period == 'analysis'")
    assert realized["value"].notna().all()


def test_a_run_killed_while_writing_leaves_a_consistent_store_and_a_rerun_completes(workspace, tmp_path):
    path = write_config(workspace)
    launcher = Path(__file__).parents[1] / "pause_hook.py"  # `seismo run`, paused after its first rows
    proc = subprocess.Popen([sys.executable, str(launcher), "commit_run:rows", "run", "-c", str(path), "-q"],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    for line in proc.stderr:  # wait until the run is inside its write transaction
        if "seismo-store: paused" in line or time.time() > deadline:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with ResultsStore(f"sqlite:///{workspace / 'seismo.db'}") as store:
        assert store.results("loans").empty  # no partial rows
        assert store.load_state("loans") == {}  # and no saved monitor of a run that did not finish
        assert store.runs("loans")["status"].tolist() == ["running"]
    rerun = run_job(path)
    with ResultsStore(f"sqlite:///{workspace / 'seismo.db'}") as store:
        assert store.runs("loans")["status"].tolist() == ["failed", "succeeded"]  # the killed run, marked
    assert rerun.refitted
    clean = tmp_path / "clean"
    _copy_inputs(workspace, clean)
    shutil.copy(workspace / "analysis.parquet", clean / "analysis.parquet")
    run_job(write_config(clean))
    assert_same_results(stored(workspace), stored(clean))
