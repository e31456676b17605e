"""The issue's "done when", as a user would see it: `seismo run --every` scheduled on
examples/monitor_alerts.yaml, in its own process, with its destinations from ${VAR}s pointing at a
local Slack-format receiver and a local STARTTLS SMTP server (aiosmtpd). While it runs, the test
adds weekly files to the example's analysis folder: stable, then income drifts, drifts on, and
comes back. One Slack message and one e-mail when the drift starts, none while it stands, one
resolution of each when it ends. The test waits on the store's run count, never on the clock:
a run counts as succeeded at its commit, before it sends, so it waits for the run after the one it checks."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pandas as pd
import pytest
from receiver import Receiver

import seismo
from seismo.cli.config import load_config
from seismo.store import ResultsStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CHUNK = 5000  # the example's chunk_size
MODEL = "credit_default"


class Week:
    """The example's analysis folder, a weekly file at a time: each a fresh sample of the (stable)
    reference period, with income scaled when it drifts. A file appears whole (written, then renamed),
    so a run reads either the folder before it or after it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0

    def add(self, income: float = 1.0) -> None:
        rows, _, _ = seismo.datasets.load_synthetic_credit(100 + self.count, n_reference=CHUNK, n_analysis=10)
        rows = rows.drop(columns=["defaulted"])
        rows["income"] = rows["income"] * income
        rows["id"] = 1_000_000 + self.count * CHUNK + pd.RangeIndex(CHUNK)
        rows["timestamp"] = pd.Timestamp("2025-01-06") + pd.Timedelta(weeks=self.count) + pd.to_timedelta(
            pd.RangeIndex(CHUNK) * 60, unit="s")
        part = self.folder / f".week-{self.count:02d}.parquet"
        rows.to_parquet(part, index=False)
        os.replace(part, self.folder / f"2025-W{self.count + 1:02d}.parquet")
        self.count += 1


def _smtp_with_starttls(folder: Path, mails: list[EmailMessage]):
    """A local aiosmtpd server that requires STARTTLS (a throwaway certificate) and a login."""
    controller_module = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.smtp import AuthResult

    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

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
    return smtp, port, cert


def _succeeded(store_url: str) -> int:
    try:
        with ResultsStore(store_url) as store:
            if MODEL not in store.models():
                return 0
            return int((store.runs(MODEL)["status"] == "succeeded").sum())
    except Exception:  # the scheduled process is creating the store right now
        return 0


def test_the_example_config_needs_its_variables_and_monitor_yaml_does_not(monkeypatch, tmp_path):
    for name in ("SLACK_WEBHOOK_URL", "SMTP_HOST", "SMTP_USER", "SMTP_PASSWORD", "ALERT_EMAIL"):
        monkeypatch.delenv(name, raising=False)
    assert load_config(EXAMPLES / "monitor.yaml").alerts is None
    with pytest.raises(Exception, match="SLACK_WEBHOOK_URL"):
        load_config(EXAMPLES / "monitor_alerts.yaml")


def test_scheduled_example_sends_once_when_drift_starts_and_once_when_it_ends(tmp_path):
    shutil.copy(EXAMPLES / "monitor_alerts.yaml", tmp_path / "monitor_alerts.yaml")
    reference, _, _ = seismo.datasets.load_synthetic_credit(0, n_reference=4 * CHUNK, n_analysis=10)
    (tmp_path / "data" / "analysis").mkdir(parents=True)
    reference.to_parquet(tmp_path / "data" / "reference.parquet", index=False)
    weeks = Week(tmp_path / "data" / "analysis")
    weeks.add()
    weeks.add()  # two stable weeks before the schedule starts
    store_url = f"sqlite:///{tmp_path / 'monitoring_alerts.db'}"  # the config's ${SEISMO_STORE:-...} default
    mails: list[EmailMessage] = []
    smtp, port, cert = _smtp_with_starttls(tmp_path, mails)
    smtp.start()
    seen: list[tuple[int, int]] = []
    try:
        with Receiver() as slack:
            env = {k: v for k, v in os.environ.items() if k != "SEISMO_STORE"}
            env.update(SLACK_WEBHOOK_URL=slack.url, SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_USER="alerts",
                       SMTP_PASSWORD="s3cret-pw", ALERT_EMAIL="oncall@example.com", SSL_CERT_FILE=cert,
                       OMP_NUM_THREADS="1")
            with open(tmp_path / "out.txt", "w") as out, open(tmp_path / "err.txt", "w") as err:
                process = subprocess.Popen([sys.executable, "-m", "seismo.cli.app", "run", "-c",
                                            str(tmp_path / "monitor_alerts.yaml"), "--every", "1s", "--json"],
                                           stdout=out, stderr=err, env=env, cwd=tmp_path)
            try:
                def runs_since_the_change() -> None:
                    """Wait until three runs have succeeded since now. The second began after the last change,
                    and finished sending (after its commit) before the third began: runs follow one another."""
                    target = _succeeded(store_url) + 3
                    deadline = time.monotonic() + 120
                    while _succeeded(store_url) < target:
                        assert process.poll() is None, (tmp_path / "err.txt").read_text()
                        assert time.monotonic() < deadline, (tmp_path / "err.txt").read_text()
                        time.sleep(0.2)
                    seen.append((len(slack.posts), len(mails)))

                runs_since_the_change()  # stable
                weeks.add(income=1.6)
                runs_since_the_change()  # the drift starts
                weeks.add(income=1.6)
                runs_since_the_change()  # it stands
                weeks.add()
                runs_since_the_change()  # it ends
                runs_since_the_change()  # nothing new
            finally:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                finally:
                    if process.poll() is None:
                        process.kill()
            posts = list(slack.posts)
    finally:
        smtp.stop()
    assert seen == [(0, 0), (1, 1), (1, 1), (2, 2), (2, 2)], (tmp_path / "err.txt").read_text()
    assert process.returncode == 0
    opened, resolved = (str(p) for p in posts)
    assert "income" in opened and "resolved" in resolved and "income" in resolved
    assert [m["To"] for m in mails] == ["oncall@example.com"] * 2
    assert "income" in str(mails[0].get_body(("plain",)).get_content())
    assert "resolved" in (mails[1]["Subject"] + mails[1].get_body(("plain",)).get_content()).lower()
    with ResultsStore(store_url) as store:
        alerts = store.alerts(MODEL)
        runs = store.runs(MODEL)
    assert alerts[["column", "status"]].values.tolist() == [["income", "resolved"]]
    assert set(runs["status"]) == {"succeeded"} and len(runs) >= 15
    deliveries = alerts.iloc[0]["deliveries"]
    assert {name: (d["ok"], d["kind"]) for name, d in deliveries.items()} == {
        "team-slack": (True, "resolved"), "oncall-mail": (True, "resolved")}
    assert slack.url not in str(runs["settings"].tolist()) + str(deliveries)  # the secrets stayed out of the store
