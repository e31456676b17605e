"""`seismo run` stores a run's results, exits 0 / 1 / 2 as documented, reuses the saved monitor
(refitting when the config changes), is idempotent over the same data, and `seismo report`
rebuilds the report from the store."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
from cli_data import write_config
from typer.testing import CliRunner

from seismo.cli.app import app
from seismo.cli.jobs import run_job, stored_report
from seismo.store import ResultsStore

QUIET_PERFORMANCE = {"calculators.realized_performance": {"metrics": ["roc_auc"], "thresholds": {"roc_auc": {"lower": 0.0}}},
                     "calculators.estimated_performance": False}


def invoke(*args):
    return CliRunner().invoke(app, ["run", *map(str, args)])


def store_of(folder):
    return ResultsStore(f"sqlite:///{folder / 'seismo.db'}")


def test_alerts_exit_1_and_results_are_stored(workspace):
    out = invoke("-c", write_config(workspace), "--json")
    assert out.exit_code == 1, out.output
    outcome = json.loads(out.output)
    assert outcome["alerts"] > 0 and outcome["refitted"] and outcome["status"] == "alerts"
    with store_of(workspace) as store:  # default store: seismo.db next to the config
        stored = store.results("loans")
        runs = store.runs("loans")
    assert len(stored) == outcome["rows"]
    analysis = stored[stored["period"] == "analysis"]
    assert int(analysis["alert"].sum()) == outcome["alerts"]
    assert list(runs["status"]) == ["succeeded"]
    # the drift sits in the second half: chunks 3-5 of 250 rows each alert on income, 0-2 do not
    income = analysis[(analysis["calculator"] == "univariate_drift") & (analysis["column"] == "income")]
    alerting = sorted(income.loc[income["alert"].astype(bool), "chunk_index"].unique())
    assert alerting == [3, 4, 5]


def test_fail_on_decides_the_exit_code(workspace):
    path = write_config(workspace, QUIET_PERFORMANCE)
    assert invoke("-c", path, "--fail-on", "any", "-q").exit_code == 1  # drift alerts
    assert invoke("-c", path, "--fail-on", "performance", "-q").exit_code == 0  # but no performance alert
    assert invoke("-c", path, "--fail-on", "none", "-q").exit_code == 0


def test_no_alert_exits_0(workspace):
    only_performance = {**QUIET_PERFORMANCE, "calculators.univariate_drift": False,
                        "calculators.data_quality": False}
    out = invoke("-c", write_config(workspace, only_performance))
    assert out.exit_code == 0, out.output
    assert "0 alerts" in out.output


def test_quiet_prints_nothing(workspace):
    out = invoke("-c", write_config(workspace), "--quiet")
    assert out.exit_code == 1 and out.output == ""


def test_rerun_reuses_the_monitor_and_replaces_rows(workspace):
    path = write_config(workspace)
    first = run_job(path)
    with store_of(workspace) as store:
        before = store.results("loans")
    second = run_job(path)
    with store_of(workspace) as store:
        after = store.results("loans")
        runs = store.runs("loans")
    assert (first.refitted, second.refitted) == (True, False)
    assert len(after) == len(before) == first.rows
    # incremental: no new rows, but the alerts of the first run still stand (the same exit code)
    assert second.rows < first.rows and second.new_chunks == 0 and second.alerts == first.alerts > 0
    columns = ["calculator", "period", "chunk_key", "column", "metric", "value", "alert"]
    pd.testing.assert_frame_equal(before[columns], after[columns])  # the saved monitor gives the same numbers
    assert list(runs["status"]) == ["succeeded", "succeeded"] and list(runs["run_id"]) == [first.run_id, second.run_id]


def test_a_config_change_refits(workspace):
    assert run_job(write_config(workspace)).refitted
    changed = write_config(workspace, {"calculators.univariate_drift": {"methods": ["psi"]}})
    outcome = run_job(changed)
    assert outcome.refitted
    drift = stored_report(f"sqlite:///{workspace / 'seismo.db'}", "loans").results["univariate_drift"]
    with store_of(workspace) as store:
        runs = store.runs("loans")
    assert runs["config_hash"].nunique() == 2  # the run records which config it used
    assert "psi" in set(drift.to_df()["metric"])


def test_saved_monitor_in_a_directory(workspace):
    path = write_config(workspace, {"saved_monitor": "state"})
    assert run_job(path).refitted
    assert (workspace / "state" / "job.json").exists()
    with store_of(workspace) as store:
        assert store.load_state("loans") == {}
    assert not run_job(path).refitted


def test_data_error_exits_2_names_the_key_and_marks_the_run_failed(workspace):
    path = write_config(workspace)
    (workspace / "analysis.parquet").unlink()
    out = invoke("-c", path)
    assert out.exit_code == 2
    assert "data.analysis" in out.output and "analysis.parquet" in out.output and "Traceback" not in out.output
    with store_of(workspace) as store:
        runs = store.runs("loans")
    assert list(runs["status"]) == ["failed"] and "analysis.parquet" in runs["message"].iloc[0]


def test_config_error_exits_2_with_json(workspace):
    out = invoke("-c", write_config(workspace, {"chunking.chunk_number": 4}), "--json")
    assert out.exit_code == 2
    problem = json.loads(out.output)["problems"][0]
    assert problem["where"] == "chunking" and problem["kind"] == "chunking_conflict"


def test_every_rejects_a_bad_interval(workspace):
    out = invoke("-c", write_config(workspace), "--every", "soon")
    assert out.exit_code == 2 and "30m" in out.output


def test_report_rebuilds_html_from_the_store(workspace):
    path = write_config(workspace)
    run_job(path)
    output = workspace / "report.html"
    out = CliRunner().invoke(app, ["report", "--store", f"sqlite:///{workspace / 'seismo.db'}", "--model", "loans",
                                   "-o", str(output)])
    assert out.exit_code == 0, out.output
    text = output.read_text()
    assert output.stat().st_size > 100_000 and "income" in text
    report = stored_report(f"sqlite:///{workspace / 'seismo.db'}", "loans")
    assert list(report.results) == ["estimated_performance", "realized_performance", "univariate_drift", "data_quality"]
    assert set(report.ranking["column"]) == {"income", "debt", "region"}
    missing = CliRunner().invoke(app, ["report", "--store", f"sqlite:///{workspace / 'seismo.db'}",
                                       "--model", "lones", "-o", str(output)])
    assert missing.exit_code == 2 and "did you mean 'loans'?" in missing.output


def test_every_runs_until_sigterm(workspace):
    path = write_config(workspace, {"calculators.estimated_performance": False})
    process = subprocess.Popen([sys.executable, "-m", "seismo.cli.app", "run", "-c", str(path), "--every", "1s",
                                "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (workspace / "seismo.db").exists():
                with store_of(workspace) as store:
                    if "loans" in store.models() and (store.runs("loans")["status"] == "succeeded").sum() >= 2:
                        break
            time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    outcomes = [json.loads(line) for line in stdout.splitlines()]
    assert len(outcomes) >= 2 and len({o["run_id"] for o in outcomes}) == len(outcomes)
    assert outcomes[0]["refitted"] and not outcomes[1]["refitted"]
    with store_of(workspace) as store:
        assert set(store.runs("loans")["status"]) == {"succeeded"}  # the stop did not leave a run behind


def test_a_tampered_saved_monitor_stops_the_run_until_refit(workspace):
    path = write_config(workspace, {"saved_monitor": "state"})
    run_job(path)
    state = workspace / "state" / "monitor" / "state.json"
    state.write_text(state.read_text().replace('"seismo.monitor.monitor:Monitor"', '"os:system"', 1))
    out = invoke("-c", path)
    assert out.exit_code == 2 and "cannot be loaded" in out.output and "--full" in out.output
    with store_of(workspace) as store:
        assert list(store.runs("loans")["status"]) == ["succeeded", "failed"]
    assert invoke("-c", path, "--full", "-q").exit_code == 1  # refitted, with alerts


def test_analysis_from_a_sql_query(workspace, tmp_path):
    with sqlite3.connect(workspace / "scores.db") as conn:
        pd.read_parquet(workspace / "analysis.parquet").to_sql("scores", conn, index=False)
    source = {"url": f"sqlite:///{workspace / 'scores.db'}", "query": "SELECT * FROM scores ORDER BY timestamp"}
    from_sql = run_job(write_config(workspace, {"data.analysis": source}, drop=("data.targets",), name="sql.yaml"))
    files = tmp_path / "files"
    files.mkdir()
    for name in ("reference.parquet", "analysis.parquet"):
        (files / name).write_bytes((workspace / name).read_bytes())
    from_files = run_job(write_config(files, drop=("data.targets",)))
    columns = ["calculator", "period", "chunk_key", "column", "metric", "value", "alert"]
    with store_of(workspace) as store:
        via_sql = store.results("loans")[columns]
    with store_of(files) as store:
        via_files = store.results("loans")[columns]
    pd.testing.assert_frame_equal(via_sql, via_files)  # the same rows through SQL as through parquet
    assert from_sql.alerts == from_files.alerts > 0
    # a later run over a window of rows already processed adds nothing and changes nothing
    window = {**source, "query": "SELECT * FROM scores WHERE id >= 10750"}
    again = run_job(write_config(workspace, {"data.analysis": window}, drop=("data.targets",), name="sql.yaml"))
    assert not again.refitted and again.new_chunks == 0 and again.alerts == from_sql.alerts
    with store_of(workspace) as store:
        pd.testing.assert_frame_equal(store.results("loans")[columns], via_sql)


def test_progress_is_reported_per_calculator_and_never_printed_by_the_library(workspace, capsys):
    steps = []
    run_job(write_config(workspace), progress=lambda what, done, total: steps.append((what, done, total)))
    assert capsys.readouterr().out == ""
    names = [what for what, _, _ in steps]
    assert names.index("fitting estimated_performance") < names.index("running estimated_performance")
    assert ("running data_quality", 3, 4) in steps  # 4 calculators switched on, data quality the last
    assert names[-2:] == ["writing results", "done"]


def test_multiclass_and_regression_configs_run(tmp_path):
    import seismo

    reference, analysis, targets = seismo.datasets.load_synthetic_churn(n_reference=1200, n_analysis=1200)
    for name, frame in (("reference", reference), ("analysis", analysis), ("targets", targets)):
        frame.to_parquet(tmp_path / f"{name}.parquet")
    probas = {label: f"y_pred_proba_{label}" for label in ("stay", "downgrade", "leave")}
    churn = write_config(tmp_path, {"model.name": "churn", "model.problem_type": "multiclass",
                                    "model.y_pred_proba": probas, "model.y_true": "churn",
                                    "chunking.chunk_size": 200}, name="churn.yaml")
    outcome = run_job(churn)
    with store_of(tmp_path) as store:
        stored = store.results("churn", calculator="realized_performance", metric="roc_auc", period="analysis")
    assert outcome.rows > 0 and len(stored) == 6 and stored["value"].between(0.5, 1.0).all()

    reference, analysis, targets = seismo.datasets.load_synthetic_house_prices(n_reference=1200, n_analysis=1200)
    for name, frame in (("reference", reference), ("analysis", analysis), ("targets", targets)):
        frame.to_parquet(tmp_path / f"{name}.parquet")
    houses = write_config(tmp_path, {"model.name": "houses", "model.problem_type": "regression",
                                     "model.y_pred_proba": None, "model.y_true": "price", "chunking.chunk_size": 200,
                                     "calculators.estimated_performance": {"metrics": ["mae"]},
                                     "calculators.realized_performance": {
                                         "metrics": ["mae"], "thresholds": {"mae": {"upper": 1.0}}}},
                          name="houses.yaml")
    outcome = run_job(houses)
    with store_of(tmp_path) as store:
        mae = store.results("houses", calculator="realized_performance", period="analysis")
    assert set(mae["metric"]) == {"mae"} and mae["alert"].all()  # a 1.0 upper bound on a price error always alerts
    assert outcome.performance_alerts >= 6


def test_an_identical_rerun_gives_the_identical_answer(workspace):
    # the first run exited 1 on its alerts; a re-run over unchanged data used to exit 0
    path = write_config(workspace)
    first = invoke("-c", path)
    again = invoke("-c", path)
    assert first.exit_code == again.exit_code == 1, again.output
    assert "no new rows since 2024-" in again.output and "standing:" in again.output
    outcomes = [json.loads(invoke("-c", path, "--json").output) for _ in range(2)]
    assert outcomes[0]["alerts"] == outcomes[1]["alerts"] > 0 and outcomes[1]["new_chunks"] == 0
