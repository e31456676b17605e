"""Alert rules: k-of-n persistence on real stored runs, which rows a rule covers (overall rows by
default), severities, cooldown of a flapping metric, durations, and the ``alerts:`` config."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from cli_data import write_config

from seismo.alerts.rules import AlertKey, AlertPolicy, AlertRule, Persistence, breaches, parse_duration, severity_of
from seismo.alerts.state import evaluate_alerts
from seismo.cli.config import ConfigError, load_config
from seismo.cli.jobs import run_job
from seismo.errors import InvalidConfiguration
from seismo.store import ResultsStore

T0 = dt.datetime(2026, 1, 5, 9, 0)


def _rows(alerts: list[bool], calculator: str = "univariate_drift", column: str | None = "income",
          segment: str | None = None) -> pd.DataFrame:
    n = len(alerts)
    return pd.DataFrame({
        "calculator": calculator, "period": "analysis", "chunk_index": range(n),
        "chunk_key": [f"[{i * 10}:{i * 10 + 9}]" for i in range(n)], "chunk_start_index": [i * 10 for i in range(n)],
        "chunk_start_date": pd.date_range("2024-01-01", periods=n, freq="D"), "column": column,
        "metric": "jensen_shannon", "segment": segment, "value": [0.5 if a else 0.05 for a in alerts],
        "lower_threshold": None, "upper_threshold": 0.2, "alert": alerts})


@pytest.mark.parametrize(("alerts", "k", "n", "breaching"), [
    ([False, False, True], 1, 1, True), ([False, False, True], 2, 3, False), ([True, False, True], 2, 3, True),
    ([True, True, False], 2, 3, True), ([True, True, False, False], 2, 3, False), ([True], 2, 3, False)])
def test_k_of_the_last_n_chunks(alerts, k, n, breaching):
    (found,) = breaches(_rows(alerts), AlertPolicy((AlertRule(persistence=Persistence(k, n)),)))
    assert found.breaching is breaching and found.latest_alerts is alerts[-1]
    assert found.chunk_key == f"[{(len(alerts) - 1) * 10}:{(len(alerts) - 1) * 10 + 9}]"


def test_a_rule_covers_the_overall_rows_unless_it_names_segments():
    rows = pd.concat([_rows([True]), _rows([True], segment="region=north"), _rows([True], segment="region=south")])
    keys = lambda rule: sorted((b.key.segment for b in breaches(rows, AlertPolicy((rule,)))), key=str)  # noqa: E731
    assert keys(AlertRule()) == [None]
    assert keys(AlertRule(segments="*")) == [None, "region=north", "region=south"]
    assert keys(AlertRule(segments=["region=north"])) == ["region=north"]
    assert keys(AlertRule(calculators="data_quality")) == []


def test_the_first_rule_that_covers_a_key_decides_it_and_severity_follows_the_calculator():
    rows = pd.concat([_rows([True]), _rows([True], column="debt"),
                      _rows([True], calculator="estimated_performance", column=None)])
    policy = AlertPolicy((AlertRule(columns="income", severity="quality", persistence=Persistence(1, 2)),
                          AlertRule()))
    found = {b.key: b for b in breaches(rows, policy)}
    income = AlertKey("univariate_drift", "income", "jensen_shannon", None)
    assert found[income].rule.severity_for(income) == "quality" and found[income].rule.persistence.n == 2
    assert [severity_of(c) for c in ("estimated_performance", "realized_performance", "univariate_drift",
                                     "data_quality")] == ["performance", "performance", "drift", "quality"]


def test_persistence_on_stored_runs_waits_for_the_second_drifted_chunk(log):
    policy = AlertPolicy((AlertRule(calculators="univariate_drift", columns="income", persistence=Persistence(2, 3)),))
    opened = []
    for shift in (0.0, 1.5, 1.5):  # one chunk per run: stable, then drifted twice
        log.add(1, shift=shift) if log.parts else log.add(2)
        run_job(log.config)
        with ResultsStore(log.store_url) as store:
            opened.append(evaluate_alerts(store, "loans", policy, now=T0).opened)
    assert opened == [[], [], [1]]


def test_cooldown_keeps_a_flapping_metric_from_paging_twice(log):
    policy = AlertPolicy((AlertRule(calculators="univariate_drift", columns="income", cooldown="6h"),))
    kinds = []
    for hours, shift in ((0, 1.5), (1, 0.0), (2, 1.5), (3, 0.0), (10, 1.5)):
        log.add(1, shift=shift) if log.parts else log.add(2, shift=shift)
        run_job(log.config)
        with ResultsStore(log.store_url) as store:
            done = evaluate_alerts(store, "loans", policy, now=T0 + dt.timedelta(hours=hours))
        kinds.append([e.kind for e in done.notification.events] if done.notification else [])
    # re-opened 1 h after resolving: recorded, not sent (its resolution then is); 7 h after: sent
    assert kinds == [["opened"], ["resolved"], [], ["resolved"], ["opened"]]


def test_durations():
    assert parse_duration("24h") == dt.timedelta(hours=24) and parse_duration("90s") == dt.timedelta(seconds=90)
    assert parse_duration("1.5d") == dt.timedelta(hours=36) and parse_duration(None) is None
    with pytest.raises(InvalidConfiguration, match="'soon' is not a duration"):
        parse_duration("soon")
    with pytest.raises(InvalidConfiguration, match="k <= n"):
        Persistence(3, 2)


def test_the_alerts_section_of_the_config(tmp_path, monkeypatch):
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2")
    alerts = {"report_url": "https://reports.example.com/loans", "quiet": True,
              "destinations": [{"name": "mail", "type": "email", "host": "smtp.example.com", "sender": "s@example.com",
                                "to": "oncall@example.com", "password": "${SMTP_PASSWORD}"},
                               {"name": "pd", "type": "webhook", "url": "https://events.example.com",
                                "template": "pagerduty", "routing_key": "abc"}],
              "rules": [{"calculators": "estimated_performance", "persistence": {"k": 2, "n": 3},
                         "remind_every": "24h"}, {"calculators": ["univariate_drift"], "segments": ["*"]}]}
    config = load_config(write_config(tmp_path, {"alerts": alerts}))
    policy = config.alerts.policy()
    assert policy.quiet and policy.report_url == "https://reports.example.com/loans"
    assert policy.rules[0].persistence == Persistence(2, 3) and policy.rules[0].remind_every == dt.timedelta(days=1)
    assert policy.rules[1].segments == ("*",) and policy.rules[1].calculators == ("univariate_drift",)
    mail, pagerduty = config.alerts.build_destinations()
    assert mail.name == "mail" and pagerduty.name == "pd"
    assert config.alerts.destinations[0].password == "hunter2"  # expanded for sending ...
    assert config.unexpanded["alerts"]["destinations"][0]["password"] == "${SMTP_PASSWORD}"  # ... not for storing
    assert config.fit_hash() == load_config(write_config(tmp_path, name="plain.yaml")).fit_hash()  # no refit


@pytest.mark.parametrize(("alerts", "where", "message"), [
    ({"rules": [{"calculators": ["univariate_drfit"]}]}, "alerts.rules[0].calculators[0]", "did you mean"),
    ({"rules": [{"persistence": {"k": 3, "n": 2}}]}, "alerts.rules[0].persistence", "k (3) cannot exceed n (2)"),
    ({"rules": [{"remind_every": "daily"}]}, "alerts.rules[0].remind_every", "'daily' is not a duration"),
    ({"destinations": [{"name": "a", "type": "slack", "url": "u"}, {"name": "a", "type": "slack", "url": "v"}]},
     "alerts", "a given twice"),
    ({"destinations": [{"name": "a", "type": "teams", "url": "u"}]}, "alerts.destinations[0]",
     "'teams' found using 'type' does not match any of the expected tags: 'webhook', 'slack', 'email'"),
])
def test_config_mistakes_are_named(tmp_path, alerts, where, message):
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, {"alerts": alerts}))
    found = [(p.where, p.message) for p in caught.value.problems]
    assert any(w.startswith(where) and message in m for w, m in found), found
