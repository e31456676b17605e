"""Alert state through real `seismo run`s on a real SQLite store, sent to a real local HTTP receiver:
one message when the drift starts, none while it stands, one when it ends; delivery failures exit 3
without losing results; reminders on an injected clock; quiet mode; two concurrent evaluations send
once; a version-3 store migrates."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import socket
import threading
import time
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from alert_data import DRIFT_ONLY
from cli_data import write_config
from receiver import Receiver
from typer.testing import CliRunner

from seismo.alerts.rules import AlertPolicy, AlertRule
from seismo.alerts.state import evaluate_alerts
from seismo.cli.app import app
from seismo.cli.jobs import run_job
from seismo.store import ResultsStore
from seismo.store.tables import MIGRATIONS, migrate

INCOME = {"calculators": ["univariate_drift"], "columns": ["income"]}
T0 = dt.datetime(2026, 1, 5, 9, 0)


def alerts_config(log, url: str, **extra) -> None:
    hook = {"name": "hook", "type": "webhook", "url": url, "retries": extra.pop("retries", 0), "backoff": 0,
            "timeout": extra.pop("timeout", 5)}
    write_config(log.folder, {**DRIFT_ONLY, "alerts": {"destinations": [hook], "rules": [INCOME], **extra}},
                 drop=("data.targets",))


def run(log) -> tuple[int, dict]:
    out = CliRunner().invoke(app, ["run", "-c", str(log.config), "--json"])
    return out.exit_code, json.loads(out.stdout.strip().splitlines()[-1])


def test_one_message_when_drift_starts_none_while_it_stands_one_when_it_ends(log, monkeypatch):
    with Receiver() as hook:
        monkeypatch.setenv("HOOK_URL", hook.url)
        alerts_config(log, "${HOOK_URL}")
        log.add(3)
        code, first = run(log)
        assert code == 0 and first["notifications"]["opened"] == [] and hook.posts == []
        log.add(2, shift=1.5)
        code, second = run(log)
        assert code == 1, second
        assert hook.events() == [("opened", "income")]
        post = hook.posts[0]
        assert post["schema"] == "seismo.alert" and post["model"] == "loans" and post["run_id"] == second["run_id"]
        assert post["events"][0]["chunk_key"] == "[1000:1249]" and post["top_drift"] == ["income"]
        assert second["notifications"]["deliveries"] == [
            {"destination": "hook", "ok": True, "attempts": 1, "error": None,
             "seconds": second["notifications"]["deliveries"][0]["seconds"]}]
        code, third = run(log)  # no new data, the alert stands: nothing sent
        assert code == 1 and third["notifications"]["open_alerts"] == 1 and len(hook.posts) == 1
        log.add(1, shift=1.5)
        assert run(log)[0] == 1 and len(hook.posts) == 1  # still drifting: still nothing
        log.add(2)
        code, ended = run(log)
        assert ended["notifications"]["resolved"] == [1]
        assert hook.events() == [("opened", "income"), ("resolved", "income")]
        assert run(log)[1]["notifications"]["resolved"] == [] and len(hook.posts) == 2  # resolved once
    with ResultsStore(log.store_url) as store:
        alert = store.alerts("loans").iloc[0]
        runs = store.runs("loans")
    assert (alert["status"], alert["first_chunk_key"], alert["last_chunk_key"]) == ("resolved", "[1000:1249]",
                                                                                   "[1750:1999]")
    assert alert["notified_at"] is not None and alert["resolution_notified_at"] is not None
    assert alert["deliveries"]["hook"]["ok"] is True and alert["deliveries"]["hook"]["kind"] == "resolved"
    # the secret URL reached neither the store's run settings nor the alert's deliveries
    assert hook.url not in json.dumps(list(runs["settings"])) + json.dumps(alert["deliveries"])
    assert runs["settings"].iloc[0]["alerts"]["destinations"][0]["url"] == "${HOOK_URL}"


def test_a_failing_destination_exits_3_and_keeps_the_results(log):
    with Receiver(fail=100) as hook:
        alerts_config(log, hook.url, retries=2)
        log.add(2)
        log.add(2, shift=1.5)
        code, out = run(log)
    assert code == 3, out
    assert hook.requests == 3 and hook.posts == []  # the first try and 2 retries
    (delivery,) = out["notifications"]["deliveries"]
    assert delivery["ok"] is False and delivery["attempts"] == 3 and "500" in delivery["error"]
    with ResultsStore(log.store_url) as store:
        assert len(store.results("loans")) == out["rows"] and store.runs("loans")["status"].tolist() == ["succeeded"]
        assert store.alerts("loans").iloc[0]["deliveries"]["hook"]["ok"] is False


def test_a_failed_message_is_sent_again_by_the_next_run_once(log):
    with Receiver(fail=1) as hook:
        alerts_config(log, hook.url, retries=0)
        log.add(2)
        log.add(2, shift=1.5)
        code, failed = run(log)
        assert code == 3 and hook.requests == 1 and hook.posts == [], failed
        with ResultsStore(log.store_url) as store:
            assert len(store.results("loans")) == failed["rows"]  # the results are stored all the same
            assert store.alerts("loans").iloc[0]["deliveries"]["hook"]["ok"] is False
        code, retried = run(log)  # no new data: the alert still stands, its notice goes out now
        assert code == 1, retried
        assert retried["notifications"]["retried"] == [1] and retried["notifications"]["opened"] == []
        assert hook.events() == [("opened", "income")] and hook.posts[0]["events"][0]["chunk_key"] == "[750:999]"
        code, third = run(log)
        assert code == 1 and third["notifications"]["retried"] == [] and hook.requests == 2 and len(hook.posts) == 1
    with ResultsStore(log.store_url) as store:
        delivered = store.alerts("loans").iloc[0]["deliveries"]["hook"]
    assert (delivered["ok"], delivered["attempts"], delivered["kind"]) == (True, 1, "opened")


def test_concurrent_retries_send_a_failed_message_once(log):
    _drifted_store(log)
    from seismo.alerts.destinations import Webhook

    policy = AlertPolicy((AlertRule(calculators="univariate_drift", columns="income"),))
    with Receiver(fail=1) as hook:
        with ResultsStore(log.store_url) as store:
            first = evaluate_alerts(store, "loans", policy, destinations=[Webhook("hook", hook.url, retries=0)])
        assert first.failed and hook.posts == []
        rounds = []
        barrier = threading.Barrier(4)

        def evaluate() -> None:
            with ResultsStore(log.store_url) as store:
                barrier.wait()
                rounds.append(evaluate_alerts(store, "loans", policy, destinations=[Webhook("hook", hook.url)]))

        threads = [threading.Thread(target=evaluate) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert len(rounds) == 4 and sorted(len(r.retried) for r in rounds) == [0, 0, 0, 1]
    assert hook.events() == [("opened", "income")] and hook.requests == 2


def test_a_hanging_destination_blocks_no_longer_than_its_time_out(log):
    with Receiver(hang=5) as hook:
        alerts_config(log, hook.url, timeout=0.5)
        log.add(2)
        log.add(2, shift=1.5)
        started = time.monotonic()
        code, out = run(log)
        took = time.monotonic() - started
    assert code == 3 and out["notifications"]["deliveries"][0]["attempts"] == 1
    assert out["notifications"]["deliveries"][0]["seconds"] < 2 and took < 30


def _drifted_store(log) -> None:
    log.add(2)
    log.add(2, shift=1.5)
    run_job(log.config)


def test_reminders_after_the_interval_on_an_injected_clock(log):
    _drifted_store(log)
    policy = AlertPolicy((AlertRule(calculators="univariate_drift", columns="income", remind_every="24h"),))
    with Receiver() as hook, ResultsStore(log.store_url) as store:
        from seismo.alerts.destinations import Webhook

        sent = [Webhook("hook", hook.url, retries=0)]
        kinds = []
        for hours in (0, 1, 23, 24, 30, 47, 48):
            done = evaluate_alerts(store, "loans", policy, destinations=sent, now=T0 + dt.timedelta(hours=hours))
            kinds.append([e.kind for e in done.notification.events] if done.notification else [])
        alert = store.alerts("loans").iloc[0]
    assert kinds == [["opened"], [], [], ["reminder"], [], [], ["reminder"]]
    assert alert["reminders_sent"] == 2 and alert["reminded_at"] == T0 + dt.timedelta(hours=48)
    assert hook.events() == [("opened", "income"), ("reminder", "income"), ("reminder", "income")]


def test_quiet_mode_records_state_and_sends_nothing_later_either(log):
    _drifted_store(log)
    income = AlertRule(calculators="univariate_drift", columns="income")
    with Receiver() as hook, ResultsStore(log.store_url) as store:
        from seismo.alerts.destinations import Webhook

        sent = [Webhook("hook", hook.url, retries=0)]
        quiet = evaluate_alerts(store, "loans", AlertPolicy((income,), quiet=True), destinations=sent, now=T0)
        loud = evaluate_alerts(store, "loans", AlertPolicy((income,)), destinations=sent, now=T0)
        alerts = store.alerts("loans")
    assert quiet.opened == [1] and quiet.notification is None and quiet.deliveries == []
    assert loud.opened == [] and loud.notification is None and hook.posts == []
    assert alerts["status"].tolist() == ["open"] and alerts["notified_at"].tolist() == [T0]


def test_two_concurrent_evaluations_send_once(log):
    _drifted_store(log)
    policy = AlertPolicy((AlertRule(calculators="univariate_drift"),))  # income and debt? income only drifts
    rounds = []
    with Receiver() as hook:
        from seismo.alerts.destinations import Webhook

        barrier = threading.Barrier(4)

        def evaluate() -> None:
            with ResultsStore(log.store_url) as store:
                barrier.wait()
                rounds.append(evaluate_alerts(store, "loans", policy, destinations=[Webhook("hook", hook.url)]))

        threads = [threading.Thread(target=evaluate) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        with ResultsStore(log.store_url) as store:
            alerts = store.alerts("loans")
    opened = sorted(i for r in rounds for i in r.opened)
    assert len(rounds) == 4 and opened == sorted(alerts["id"].tolist())  # each alert opened by one evaluation
    assert len(hook.posts) == 1 and sorted(c for _, c in hook.events()) == sorted(alerts["column"].tolist())
    assert alerts["status"].eq("open").all() and alerts["notified_at"].notna().all()


def test_a_version_3_store_migrates_and_keeps_its_runs(log):
    log.add(2)
    url = log.store_url
    engine = sa.create_engine(url)
    assert migrate(engine, "test", MIGRATIONS[:3]) == 3
    engine.dispose()
    run_job(log.config)  # the old store, opened by this seismo: migrated, then written
    with ResultsStore(url) as store:
        assert store.schema_version == 4 and store.runs("loans")["status"].tolist() == ["succeeded"]
        assert store.alerts("loans").empty
        assert "alerts" in sa.inspect(store.engine).get_table_names()


def test_slack_and_email_once_when_drift_starts_none_while_it_stands_one_resolution(log, tmp_path_factory,
                                                                                     monkeypatch):
    """The issue's "done when" on the CLI tests' log: a Slack-format message and an e-mail (STARTTLS,
    login from ${VAR}) when the drift starts, nothing on the runs while it stands, one of each when it ends."""
    import ssl
    import subprocess

    controller_module = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.smtp import AuthResult

    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mails: list[EmailMessage] = []

    class Box:
        async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
            mails.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
            return "250 OK"

    def login(server, session, envelope, mechanism, data) -> AuthResult:
        return AuthResult(success=(data.login, data.password) in ((b"alerts", b"s3cret-pw"), ("alerts", "s3cret-pw")),
                          handled=False)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = controller_module.Controller(Box(), hostname="127.0.0.1", port=port, tls_context=context,
                                        require_starttls=True, authenticator=login, auth_require_tls=True)
    smtp.start()
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret-pw")
    try:
        with Receiver() as slack:
            mail = {"name": "mail", "type": "email", "host": "127.0.0.1", "port": port, "sender": "seismo@example.com",
                    "to": ["oncall@example.com"], "username": "alerts", "password": "${SMTP_PASSWORD}",
                    "cafile": cert, "timeout": 5, "retries": 0}
            write_config(log.folder, {**DRIFT_ONLY, "alerts": {
                "report_url": "https://reports.example.com/loans",
                "destinations": [{"name": "slack", "type": "slack", "url": slack.url, "retries": 0}, mail],
                "rules": [INCOME]}}, drop=("data.targets",))
            sent = []
            for chunks, shift in ((3, 0.0), (2, 1.5), (0, 0.0), (1, 1.5), (2, 0.0), (0, 0.0)):
                if chunks:
                    log.add(chunks, shift=shift)
                code, out = run(log)
                assert code in (0, 1), out
                sent.append((len(slack.posts), len(mails)))
            texts = [json.dumps(post) for post in slack.posts]
    finally:
        smtp.stop()
    assert sent == [(0, 0), (1, 1), (1, 1), (1, 1), (2, 2), (2, 2)]
    assert "income" in texts[0] and "https://reports.example.com/loans" in texts[0] and "resolved" in texts[1]
    assert mails[0]["To"] == "oncall@example.com" and "income" in mails[0]["Subject"] + str(mails[0].get_body())
    assert {part.get_content_type() for part in mails[0].walk()} >= {"text/plain", "text/html"}
