"""`seismo validate` finds each kind of config or data mistake, names the key, file or column, and
reports every problem of a file in one go (exit code 2), without computing statistics."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest
from cli_data import make_log, write_config
from typer.testing import CliRunner

from seismo.cli.app import app
from seismo.cli.validate import validate


def only(problems, kind):
    found = [p for p in problems if p.kind == kind]
    assert found, f"no {kind} problem in {problems}"
    return found


def test_a_good_config_has_no_problem(workspace):
    assert validate(write_config(workspace)) == []


def test_yaml_syntax_error_names_the_line(workspace):
    path = workspace / "monitor.yaml"
    path.write_text("model:\n  name: loans\n  problem_type: [binary\ndata: {}\n")
    (problem,) = validate(path)
    assert problem.kind == "yaml_syntax" and "line 4" in problem.where


def test_unknown_key_suggests_the_right_one(workspace):
    (problem,) = validate(write_config(workspace, {"chunking.chunk_sise": 250}, drop=("chunking.chunk_size",)))
    assert (problem.kind, problem.where) == ("unknown_key", "chunking.chunk_sise")
    assert "did you mean 'chunk_size'?" in problem.message


def test_unknown_key_in_a_threshold_suggests_too(workspace):
    path = write_config(workspace, {"calculators.univariate_drift": {"thresholds": {"psi": {"uper": 0.2}}}})
    (problem,) = validate(path)
    assert problem.where == "calculators.univariate_drift.thresholds.psi.uper" and "'upper'" in problem.message


def test_wrong_type(workspace):
    (problem,) = validate(write_config(workspace, {"chunking.chunk_size": "many"}))
    assert (problem.kind, problem.where) == ("wrong_type", "chunking.chunk_size") and "'many'" in problem.message


def test_missing_required_key(workspace):
    (problem,) = validate(write_config(workspace, drop=("model.problem_type",)))
    assert (problem.kind, problem.where) == ("missing_key", "model.problem_type")


def test_bad_problem_type_suggests(workspace):
    (problem,) = validate(write_config(workspace, {"model.problem_type": "binay"}))
    assert (problem.kind, problem.where) == ("bad_value", "model.problem_type")
    assert "did you mean 'binary'?" in problem.message


def test_more_than_one_chunking_option(workspace):
    (problem,) = validate(write_config(workspace, {"chunking.chunk_number": 5}))
    assert (problem.kind, problem.where) == ("chunking_conflict", "chunking")
    assert "chunk_size, chunk_number" in problem.message


def test_invalid_chunk_period(workspace):
    path = write_config(workspace, {"chunking.chunk_period": "fortnight"}, drop=("chunking.chunk_size",))
    (problem,) = validate(path)
    assert (problem.kind, problem.where) == ("chunk_period", "chunking.chunk_period") and "W" in problem.message


def test_unset_environment_variable(workspace, monkeypatch):
    monkeypatch.delenv("SEISMO_TEST_UNSET", raising=False)
    (problem,) = validate(write_config(workspace, {"store": "postgresql://me:${SEISMO_TEST_UNSET}@db/x"}))
    assert (problem.kind, problem.where) == ("env_unset", "store") and "SEISMO_TEST_UNSET" in problem.message


def test_malformed_store_url(workspace):
    (problem,) = validate(write_config(workspace, {"store": "postgres//db"}))
    assert (problem.kind, problem.where) == ("store_url", "store") and "not a SQLAlchemy URL" in problem.message


def test_unknown_store_driver(workspace):
    (problem,) = validate(write_config(workspace, {"store": "oracel://db/x"}))
    assert problem.kind == "store_url" and "'oracel'" in problem.message


def test_unknown_metric_for_the_problem_type(workspace):
    (problem,) = validate(write_config(workspace, {"calculators.realized_performance": {"metrics": ["roc_auc", "mae"]}}))
    assert (problem.kind, problem.where) == ("unknown_metric", "calculators.realized_performance.metrics[1]")
    assert "binary" in problem.message


def test_threshold_for_a_metric_not_computed(workspace):
    path = write_config(workspace, {"calculators.estimated_performance": {
        "metrics": ["roc_auc"], "thresholds": {"f1": {"lower": 0.5}}}})
    (problem,) = validate(path)
    assert (problem.kind, problem.where) == ("unknown_metric", "calculators.estimated_performance.thresholds.f1")


def test_unknown_drift_method(workspace):
    (problem,) = validate(write_config(workspace, {"calculators.univariate_drift": {"methods": ["jenson_shannon"]}}))
    assert (problem.kind, problem.where) == ("unknown_method", "calculators.univariate_drift.methods[0]")
    assert "did you mean 'jensen_shannon'?" in problem.message


def test_threshold_mixing_constant_and_multiplier(workspace):
    path = write_config(workspace, {"calculators.univariate_drift": {
        "thresholds": {"psi": {"upper": 0.2, "upper_multiplier": 3}}}})
    (problem,) = validate(path)
    assert (problem.kind, problem.where) == ("threshold_kind", "calculators.univariate_drift.thresholds.psi")


def test_threshold_mixing_a_rate_with_another_kind_or_sides_alone(workspace):
    path = write_config(workspace, {"calculators.univariate_drift": {"thresholds": {
        "psi": {"upper": 0.2, "false_alarm_rate": 0.01}, "hellinger": {"sides": "upper"}}}})
    problems = validate(path)
    assert {(p.kind, p.where) for p in problems} == {("threshold_kind", "calculators.univariate_drift.thresholds.psi"),
                                                      ("threshold_kind",
                                                       "calculators.univariate_drift.thresholds.hellinger")}
    assert "false_alarm_rate" in problems[0].message + problems[1].message


@pytest.mark.parametrize("key", ["false_alarm_rate", "calculators.data_quality.false_alarm_rate",
                                 "calculators.univariate_drift.thresholds.psi.false_alarm_rate"])
def test_a_false_alarm_rate_outside_0_1_names_its_key(workspace, key):
    (problem,) = validate(write_config(workspace, {key: 1.5}))
    assert (problem.kind, problem.where) == ("bad_value", key) and "between 0 and 1" in problem.message


def test_a_timestamp_format_without_a_directive_is_refused(workspace):
    (problem,) = validate(write_config(workspace, {"model.timestamp_format": "dd/mm/yyyy"}))
    assert (problem.kind, problem.where) == ("bad_value", "model.timestamp_format")


def test_day_first_timestamps_need_the_format_and_pass_with_it(workspace):
    hours = pd.date_range("2024-01-01", periods=24 * 366, freq="h")
    hours = hours[hours.day <= 12]  # day-first and month-first both read every value
    for period, first in (("reference", 0), ("analysis", 1500)):
        frame = pd.read_parquet(workspace / f"{period}.parquet")
        frame["timestamp"] = hours[first:first + len(frame)].strftime("%d/%m/%Y %H:%M")
        frame.to_parquet(workspace / f"{period}.parquet")
    problems = validate(write_config(workspace))
    assert {(p.kind, p.where) for p in problems} == {("timestamp_parse", "data.reference"),
                                                      ("timestamp_parse", "data.analysis")}
    assert all("ambiguous" in p.message and "timestamp_format" in p.message for p in problems)
    path = write_config(workspace, {"model.timestamp_format": "%d/%m/%Y %H:%M"})
    assert validate(path) == []
    out = CliRunner().invoke(app, ["run", "-c", str(path), "--json"])
    assert out.exit_code in (0, 1), out.output  # 2 would be a config or data error
    assert json.loads(out.output)["status"] in ("ok", "alerts")


def test_glob_matching_nothing(workspace):
    (problem,) = validate(write_config(workspace, {"data.analysis": "weeks/*.parquet"}))
    assert (problem.kind, problem.where) == ("no_files", "data.analysis") and "weeks/*.parquet" in problem.message


def test_column_missing_in_reference(workspace):
    make_log(300, seed=1).drop(columns=["y_pred"]).to_parquet(workspace / "reference.parquet")
    (problem,) = validate(write_config(workspace))
    assert (problem.kind, problem.where) == ("missing_column", "data.reference")
    assert "'y_pred' (model.y_pred)" in problem.message


def test_feature_missing_in_analysis(workspace):
    pd.read_parquet(workspace / "analysis.parquet").drop(columns=["debt"]).to_parquet(workspace / "analysis.parquet")
    (problem,) = validate(write_config(workspace, {"model.features": ["income", "debt"]}))
    assert (problem.kind, problem.where) == ("missing_column", "data.analysis")
    assert "'debt' (model.features)" in problem.message


def test_probabilities_outside_0_1_or_nan(workspace):
    frame = pd.read_parquet(workspace / "analysis.parquet")
    frame.loc[:2, "y_pred_proba"] = [1.7, -0.1, float("nan")]
    frame.to_parquet(workspace / "analysis.parquet")
    (problem,) = validate(write_config(workspace))
    assert (problem.kind, problem.where) == ("proba_range", "data.analysis")
    assert "2 outside [0, 1] and 1 missing or NaN" in problem.message


def test_predicted_class_not_among_the_classes(workspace):
    frame = pd.read_parquet(workspace / "analysis.parquet")
    frame.loc[5, "y_pred"] = 7
    frame.to_parquet(workspace / "analysis.parquet")
    (problem,) = validate(write_config(workspace))
    assert (problem.kind, problem.where) == ("y_pred_classes", "data.analysis") and "['7']" in problem.message


def test_unparseable_timestamp(workspace):
    frame = pd.read_parquet(workspace / "analysis.parquet")
    frame["timestamp"] = frame["timestamp"].astype(str)
    frame.loc[3, "timestamp"] = "yesterday-ish"
    frame.to_parquet(workspace / "analysis.parquet")
    (problem,) = validate(write_config(workspace))
    assert (problem.kind, problem.where) == ("timestamp_parse", "data.analysis") and "yesterday-ish" in problem.message


def test_reference_smaller_than_one_chunk(workspace):
    (problem,) = validate(write_config(workspace, {"chunking.chunk_size": 5000}))
    assert (problem.kind, problem.where) == ("reference_too_small", "chunking.chunk_size")
    assert "1,500 rows" in problem.message


def test_column_type_differs_between_reference_and_analysis(workspace):
    frame = pd.read_parquet(workspace / "analysis.parquet")
    frame["debt"] = frame["debt"].map(lambda v: f"{v:.2f} EUR")
    frame.to_parquet(workspace / "analysis.parquet")
    (problem,) = validate(write_config(workspace))
    assert problem.kind == "type_mismatch" and "'debt' is text" in problem.message and "numeric" in problem.message


def test_targets_without_the_label_column(workspace):
    pd.read_parquet(workspace / "targets.parquet").rename(columns={"repaid": "label"}).to_parquet(
        workspace / "targets.parquet")
    (problem,) = validate(write_config(workspace))
    assert (problem.kind, problem.where) == ("targets_columns", "data.targets") and "'repaid'" in problem.message


def test_duplicated_ids_in_targets(workspace):
    targets = pd.read_parquet(workspace / "targets.parquet")
    pd.concat([targets, targets.head(3)]).to_parquet(workspace / "targets.parquet")
    (problem,) = validate(write_config(workspace))
    assert (problem.kind, problem.where) == ("duplicate_ids", "data.targets") and problem.message.startswith("3 ids")


def test_failing_sql_query(workspace):
    db = workspace / "scores.db"
    with sqlite3.connect(db) as conn:
        pd.read_parquet(workspace / "analysis.parquet").to_sql("scores", conn, index=False)
    (problem,) = validate(write_config(workspace, {"data.analysis": {"url": f"sqlite:///{db}",
                                                                     "query": "SELECT * FROM scroes"}}))
    assert (problem.kind, problem.where) == ("sql_error", "data.analysis.query") and "scroes" in problem.message


def test_sql_source_is_checked_like_a_file(workspace):
    db = workspace / "scores.db"
    with sqlite3.connect(db) as conn:
        pd.read_parquet(workspace / "analysis.parquet").to_sql("scores", conn, index=False)
    path = write_config(workspace, {"data.analysis": {"url": f"sqlite:///{db}", "query": "SELECT * FROM scores"}})
    assert validate(path) == []


def test_every_problem_is_reported_at_once(workspace, monkeypatch):
    monkeypatch.delenv("SEISMO_TEST_UNSET", raising=False)
    path = write_config(workspace, {"chunking.chunk_number": 3, "model.problem_type": "binay",
                                    "store": "${SEISMO_TEST_UNSET}", "extra": 1})
    kinds = sorted(p.kind for p in validate(path))
    assert kinds == ["bad_value", "chunking_conflict", "env_unset", "unknown_key"]


def test_cli_exit_codes_and_messages(workspace):
    runner = CliRunner()
    good = runner.invoke(app, ["validate", "-c", str(write_config(workspace))])
    assert good.exit_code == 0 and "look good" in good.output
    bad = runner.invoke(app, ["validate", "-c", str(write_config(workspace, {"chunking.chunk_sise": 3}))])
    assert bad.exit_code == 2 and "chunking.chunk_sise: unknown key; did you mean 'chunk_size'?" in bad.output
    assert "Traceback" not in bad.output
    as_json = runner.invoke(app, ["validate", "--json", "-c", str(workspace / "monitor.yaml")])
    assert as_json.exit_code == 2 and '"where": "chunking.chunk_sise"' in as_json.output


def test_config_file_missing(tmp_path):
    (problem,) = validate(tmp_path / "nope.yaml")
    assert problem.kind == "file_unreadable" and "nope.yaml" in problem.where


@pytest.mark.parametrize("period", ["reference", "analysis"])
def test_a_csv_directory_is_read_like_parquet(workspace, period):
    folder = workspace / f"{period}_csv"
    folder.mkdir()
    pd.read_parquet(workspace / f"{period}.parquet").to_csv(folder / "part-0.csv", index=False)
    assert validate(write_config(workspace, {f"data.{period}": f"{period}_csv"})) == []


def test_multiclass_prediction_outside_the_mapping(workspace):
    frame = pd.read_parquet(workspace / "analysis.parquet")
    frame["p_other"] = 1 - frame["y_pred_proba"]
    frame.to_parquet(workspace / "analysis.parquet")
    reference = pd.read_parquet(workspace / "reference.parquet")
    reference["p_other"] = 1 - reference["y_pred_proba"]
    reference.to_parquet(workspace / "reference.parquet")
    path = write_config(workspace, {"model.problem_type": "multiclass",
                                    "model.y_pred_proba": {1: "y_pred_proba", 2: "p_other"}})
    problems = validate(path)
    predicted = only(problems, "y_pred_classes")
    assert {p.where for p in predicted} == {"data.reference", "data.analysis"}
    assert "['0']" in predicted[0].message and "['1', '2']" in predicted[0].message
    (labels,) = only(problems, "y_true_classes")  # and the mapping's class 2 has no label in the reference
    assert "no row of class ['2']" in labels.message


def test_a_single_class_reference_is_blamed_on_the_labels(workspace):
    frame = pd.read_parquet(workspace / "reference.parquet")
    frame["repaid"] = 1
    frame.to_parquet(workspace / "reference.parquet")
    problems = validate(write_config(workspace))
    assert [p.kind for p in problems] == ["y_true_classes"]
    assert "'repaid' (model.y_true) has no row of class ['0']" in problems[0].message


def test_missing_target_ids_are_not_called_duplicated(workspace):
    targets = pd.read_parquet(workspace / "targets.parquet")
    targets["id"] = targets["id"].astype("Int64")
    targets.loc[[3, 9], "id"] = None
    targets.to_parquet(workspace / "targets.parquet")
    assert validate(write_config(workspace)) == []  # the run leaves those labels out, with a warning
