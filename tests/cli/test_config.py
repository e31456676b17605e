"""A config becomes the right Monitor arguments: thresholds as Threshold objects, switched-off
calculators left out, ${VAR} expanded, relative paths and SQLite stores placed next to the config,
and a fit hash that changes exactly when the fitted monitor would."""

from __future__ import annotations

from cli_data import BASE, write_config

from seismo import ConstantThreshold, StandardDeviationThreshold
from seismo.cli.config import build_config, load_config


def test_monitor_arguments(tmp_path):
    path = write_config(tmp_path, {"calculators.univariate_drift": {
        "methods": ["psi"], "thresholds": {"psi": {"upper_multiplier": 4}}},
        "calculators.estimated_performance": {"estimator": "pape", "thresholds": {"roc_auc": {"lower": 0.7}}},
        "model.y_pred_proba": {"0": "p0", "1": "p1"}, "model.problem_type": "multiclass"})
    kwargs = load_config(path).monitor_kwargs()
    assert kwargs["estimator"] == "pape" and kwargs["chunk_size"] == 250 and kwargs["y_pred_proba"] == {"0": "p0", "1": "p1"}
    assert kwargs["calculators"] == {
        "estimated_performance": {"thresholds": {"roc_auc": ConstantThreshold(0.7, None)}},
        "univariate_drift": {"methods": ["psi"], "thresholds": {"psi": StandardDeviationThreshold(None, 4.0)}},
        "pca_drift": False, "domain_classifier_drift": False,
    }


def test_env_expansion_with_default_and_key_paths(tmp_path):
    tree = {**BASE, "store": "${DB_URL:-sqlite:///x.db}", "model": {**BASE["model"], "name": "m_${TEAM}"}}
    config, problems = build_config(tree, tmp_path, env={"TEAM": "risk"})
    assert problems == [] and config.model.name == "m_risk" and config.store_url() == f"sqlite:///{tmp_path / 'x.db'}"
    assert config.unexpanded["model"]["name"] == "m_${TEAM}"  # what the store keeps


def test_relative_paths_follow_the_config(tmp_path):
    config = load_config(write_config(tmp_path, {"store": "postgresql+psycopg://u@h/db"}))
    assert config.path_of("reference.parquet") == str(tmp_path / "reference.parquet")
    assert config.store_url() == "postgresql+psycopg://u@h/db"
    default = load_config(write_config(tmp_path, name="other.yaml"))
    assert default.store_url() == f"sqlite:///{tmp_path / 'seismo.db'}"


def test_fit_hash_changes_with_what_the_fit_uses_only(tmp_path):
    base = load_config(write_config(tmp_path)).fit_hash()
    assert load_config(write_config(tmp_path, {"data.analysis": "other.parquet"})).fit_hash() == base
    assert load_config(write_config(tmp_path, {"store": "sqlite:///y.db"})).fit_hash() == base
    assert load_config(write_config(tmp_path, {"chunking.chunk_size": 300})).fit_hash() != base
    assert load_config(write_config(tmp_path, {"data.reference": "r2.parquet"})).fit_hash() != base


def test_monitor_calculators_switch_off_and_reject_unknown_names(tmp_path):
    import pytest
    from cli_data import make_log

    import seismo

    reference = make_log(1200, seed=1)
    monitor = seismo.Monitor("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="repaid", chunk_size=200,
                             calculators={"pca_drift": False, "domain_classifier_drift": False,
                                          "estimated_performance": False, "univariate_drift": {"methods": ["psi"]}})
    report = monitor.fit(reference).run(make_log(600, seed=2))
    assert list(report.results) == ["realized_performance", "univariate_drift", "data_quality"]
    assert set(report.results["univariate_drift"].to_df()["metric"]) == {"psi"}
    with pytest.raises(seismo.InvalidConfiguration, match="pca_drfit"):
        seismo.Monitor("binary", y_pred="y_pred", y_true="repaid", calculators={"pca_drfit": False}).fit(reference)


def test_false_alarm_rate_keys_become_monitor_arguments(tmp_path):
    from seismo import FalseAlarmThreshold

    path = write_config(tmp_path, {"false_alarm_rate": 0.01, "model.timestamp_format": "%d/%m/%Y",
                                   "calculators.data_quality": {"false_alarm_rate": 0.05},
                                   "calculators.univariate_drift": {"thresholds": {"psi": {"false_alarm_rate": 0.02}}},
                                   "calculators.realized_performance": {"thresholds": {
                                       "roc_auc": {"false_alarm_rate": 0.02, "sides": "lower"}}}})
    kwargs = load_config(path).monitor_kwargs()
    assert (kwargs["false_alarm_rate"], kwargs["timestamp_format"]) == (0.01, "%d/%m/%Y")
    calculators = kwargs["calculators"]
    assert calculators["data_quality"] == {"false_alarm_rate": 0.05}
    # sides left out are the calculator's default: a drift distance is bounded above only
    assert calculators["univariate_drift"]["thresholds"]["psi"] == FalseAlarmThreshold(0.02, "upper")
    assert calculators["realized_performance"]["thresholds"]["roc_auc"] == FalseAlarmThreshold(0.02, "lower")


def test_the_new_keys_change_the_fit_hash_only_when_set(tmp_path):
    base = load_config(write_config(tmp_path)).fit_hash()
    assert load_config(write_config(tmp_path, {"false_alarm_rate": 0.01})).fit_hash() != base
    assert load_config(write_config(tmp_path, {"model.timestamp_format": "%d/%m/%Y"})).fit_hash() != base
    # unset, they are not in the digest: a config written before they existed keeps its saved monitor
    tree = load_config(write_config(tmp_path)).model_dump(mode="json", include={"model", "calculators"})
    assert "timestamp_format" in tree["model"]
    from seismo.cli.config.fields import _KEYS_ADDED_LATER, _drop_unset

    _drop_unset(tree, _KEYS_ADDED_LATER)
    assert "timestamp_format" not in tree["model"] and "false_alarm_rate" not in tree["calculators"]["data_quality"]
