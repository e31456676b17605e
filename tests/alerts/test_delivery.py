"""Delivery against real receivers: a local HTTP server that records posts, a local SMTP server.

No mocks: every destination sends over a socket. The HTTP receiver can fail its first k
requests with 500, answer a fixed status, or hang past the client's time-out; the SMTP receiver
is aiosmtpd with STARTTLS on a throwaway certificate made by ``openssl`` for the test.
"""

from __future__ import annotations

import ast
import email
import json
import math
import shutil
import socket
import subprocess
import sys
import threading
import time
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from seismo.alerts import (
    PAYLOAD_VERSION,
    AlertEvent,
    Email,
    Notification,
    Slack,
    Webhook,
    expand_secrets,
    payload,
    slack_message,
)
from seismo.alerts.templates import dedup_key
from seismo.errors import InvalidConfiguration

SRC = Path(__file__).parents[2] / "src" / "seismo" / "alerts"


def event(kind: str = "opened", **changes: Any) -> AlertEvent:
    values: dict[str, Any] = dict(
        model="churn", kind=kind, severity="performance", calculator="cbpe", column=None, metric="roc_auc",
        segment=None, chunk_key="2024-03-04", chunk_start="2024-03-04", value=0.712, lower_threshold=0.75,
        upper_threshold=0.95, opened_at="2024-03-05T06:00:00Z", alert_id=7)
    values.update(changes)
    return AlertEvent(**values)


NOTE = Notification(
    model="churn", run_id=42,
    events=(
        event(),
        event(severity="drift", calculator="univariate_drift", column="income", metric="jensen_shannon",
              segment="region=east", chunk_key="2024-03-11", chunk_start="2024-03-11", value=float("nan"),
              lower_threshold=None, upper_threshold=float("inf"), alert_id=8),
        event("resolved", severity="quality", calculator="data_quality", column="age", metric="missing_rate",
              chunk_key="2024-03-18", chunk_start=None, value=0.01, lower_threshold=None, upper_threshold=0.05,
              alert_id=3),
    ),
    verdict="Estimated ROC AUC fell below its threshold <since> March 4 & income drifts.",
    top_drift=("income", "tenure"),
    report_url="https://reports.example.com/churn/42.html",
)


# ---------------------------------------------------------------- the HTTP receiver

class Receiver:
    """A ThreadingHTTPServer on a free port that records every POST and misbehaves on request."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.fail_first = 0  # answer 500 to this many requests first
        self.status = 200  # then answer this
        self.answer = b"ok"
        self.hang = 0.0  # seconds to sleep before answering
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                       "json": json.loads(body)})
                if receiver.hang:
                    time.sleep(receiver.hang)
                status = 500 if len(receiver.posts) <= receiver.fail_first else receiver.status
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", str(len(receiver.answer)))
                self.end_headers()
                try:
                    self.wfile.write(receiver.answer)
                except OSError:  # the client gave up (time-out): nothing to tell it
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _finite(tree: Any) -> bool:
    if isinstance(tree, float):
        return math.isfinite(tree)
    if isinstance(tree, dict):
        return all(_finite(v) for v in tree.values())
    if isinstance(tree, list):
        return all(_finite(v) for v in tree)
    return True


# ---------------------------------------------------------------- webhook and payload

def test_webhook_posts_the_versioned_payload(receiver: Receiver, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOOK_TOKEN", "s3cr3t-token")
    hook = Webhook("ops", receiver.url("/in/${HOOK_TOKEN}"), headers={"Authorization": "Bearer ${HOOK_TOKEN}"},
                   timeout=5, retries=0)
    outcome = hook.send(NOTE)
    assert (outcome.destination, outcome.ok, outcome.attempts, outcome.error) == ("ops", True, 1, None)
    assert 0 <= outcome.seconds < 5
    (post,) = receiver.posts
    assert (post["method"], post["path"]) == ("POST", "/in/s3cr3t-token")
    assert post["headers"]["Authorization"] == "Bearer s3cr3t-token"
    assert post["headers"]["Content-Type"] == "application/json; charset=utf-8"
    body = post["json"]
    assert _finite(body)
    assert list(body) == ["schema", "version", "model", "run_id", "sent_at", "verdict", "top_drift", "report_url",
                          "events"]
    assert (body["schema"], body["version"], PAYLOAD_VERSION) == ("seismo.alert", 1, 1)
    assert (body["model"], body["run_id"], body["top_drift"]) == ("churn", 42, ["income", "tenure"])
    assert body["verdict"] == NOTE.verdict and body["report_url"] == NOTE.report_url
    assert body["sent_at"].endswith("Z") and len(body["sent_at"]) == 20
    assert body["events"][0] == {
        "alert_id": 7, "kind": "opened", "severity": "performance", "calculator": "cbpe", "column": None,
        "metric": "roc_auc", "segment": None, "chunk_key": "2024-03-04", "chunk_start": "2024-03-04",
        "value": 0.712, "lower_threshold": 0.75, "upper_threshold": 0.95, "opened_at": "2024-03-05T06:00:00Z"}
    drift = body["events"][1]
    assert (drift["value"], drift["lower_threshold"], drift["upper_threshold"]) == (None, None, None)  # NaN, inf
    assert (drift["column"], drift["segment"]) == ("income", "region=east")
    assert [e["kind"] for e in body["events"]] == ["opened", "opened", "resolved"]
    assert payload(NOTE)["events"] == body["events"]


def test_slack_message_carries_verdict_chunks_columns_and_link(receiver: Receiver):
    outcome = Slack("slack", receiver.url("/services/T000/B000/XXXXXXXX"), timeout=5, retries=0).send(NOTE)
    assert outcome.ok and outcome.attempts == 1
    (post,) = receiver.posts
    message = post["json"]
    assert message == slack_message(NOTE)
    assert message["text"] == ("churn: 2 alerts opened, 1 alert resolved — report: "
                               "https://reports.example.com/churn/42.html")
    header, verdict, events, columns, actions = message["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "churn: 2 alerts opened, 1 alert resolved"}}
    # mrkdwn markup in user text is escaped
    assert verdict["text"]["text"] == ("Estimated ROC AUC fell below its threshold &lt;since&gt; March 4 &amp; "
                                       "income drifts.")
    assert events["text"]["text"].splitlines() == [
        ":rotating_light: [opened] performance: cbpe roc_auc, chunk 2024-03-04 (from 2024-03-04): 0.712 outside "
        "[0.75, 0.95]",
        ":rotating_light: [opened] drift: univariate_drift jensen_shannon · income · region=east, chunk 2024-03-11 "
        "(from 2024-03-11): n/a, alerting",
        ":white_check_mark: [resolved] quality: data_quality missing_rate · age, chunk 2024-03-18: 0.01, back "
        "below 0.05",
    ]
    assert columns["text"]["text"] == "*Top drifting columns:* `income`, `tenure`"
    assert actions["elements"][0]["url"] == "https://reports.example.com/churn/42.html"
    without_link = slack_message(Notification("m", None, (), "", (), None))
    assert [b["type"] for b in without_link["blocks"]] == ["header"]
    assert without_link["text"] == "m: no alert changes"


def test_each_event_line_says_which_threshold_it_crossed():
    from seismo.alerts.payload import event_line

    def standing(kind: str, low: float | None, high: float | None, value: float = 0.5) -> str:
        line = event_line(event(kind, value=value, lower_threshold=low, upper_threshold=high))
        return line.split(": ", 2)[2]

    assert standing("opened", 0.75, None) == "0.5 below 0.75"
    assert standing("reminder", None, 0.1) == "0.5 above 0.1"
    assert standing("opened", 0.6, 0.9) == "0.5 outside [0.6, 0.9]"
    assert standing("resolved", 0.1, 0.9) == "0.5, back within [0.1, 0.9]"
    assert standing("resolved", 0.1, None) == "0.5, back above 0.1"
    assert standing("resolved", None, None, value=float("nan")) == "n/a, no longer alerting"
    assert standing("opened", float("-inf"), 0.4, value=0.123456) == "0.1235 above 0.4"


# ---------------------------------------------------------------- retries, time-outs, refusals

def test_a_server_that_fails_twice_gets_the_third_attempt(receiver: Receiver):
    receiver.fail_first = 2
    outcome = Webhook("ops", receiver.url(), timeout=5, retries=3, backoff=0.05).send(NOTE)
    assert (outcome.ok, outcome.attempts, outcome.error) == (True, 3, None)
    assert len(receiver.posts) == 3
    assert receiver.posts[0]["json"]["events"] == receiver.posts[2]["json"]["events"]
    assert outcome.seconds >= 0.05 + 0.1  # the back-off slept 0.05 s then 0.1 s


def test_retries_are_bounded_and_the_last_error_is_reported(receiver: Receiver):
    receiver.fail_first = 100
    receiver.answer = b"upstream down"
    outcome = Webhook("ops", receiver.url(), timeout=5, retries=2, backoff=0.01).send(NOTE)
    assert (outcome.ok, outcome.attempts) == (False, 3)
    assert outcome.error == "http://127.0.0.1:%d/… answered HTTP 500: upstream down (gave up after 3 attempts)" % (
        receiver.server.server_address[1])


def test_a_hanging_server_times_out_within_the_bound_and_keeps_the_secret(receiver: Receiver):
    receiver.hang = 3.0
    secret = "/services/T0ABC/B0DEF/hunter2hunter2hunter2"
    slack = Slack("slack", receiver.url(secret), timeout=0.4, retries=1, backoff=0.1)
    assert slack.worst_case_seconds == pytest.approx(0.9)
    start = time.monotonic()
    outcome = slack.send(NOTE)
    elapsed = time.monotonic() - start
    assert (outcome.ok, outcome.attempts) == (False, 2)
    assert 0.8 <= elapsed < slack.worst_case_seconds + 0.5
    assert outcome.error is not None
    assert outcome.error.startswith(f"http://127.0.0.1:{receiver.server.server_address[1]}/…: ")
    assert "gave up after 2 attempts" in outcome.error
    for part in ("hunter2", "T0ABC", "B0DEF", "services"):
        assert part not in outcome.error
    assert "hunter2" not in repr(slack)


def test_a_client_error_is_not_retried(receiver: Receiver):
    receiver.status, receiver.answer = 400, b"invalid_payload"
    outcome = Webhook("ops", receiver.url("/token-abcdefgh"), retries=3, backoff=0.01).send(NOTE)
    assert (outcome.ok, outcome.attempts) == (False, 1)
    assert outcome.error == f"http://127.0.0.1:{receiver.server.server_address[1]}/… answered HTTP 400: invalid_payload"
    assert len(receiver.posts) == 1


def test_too_many_requests_is_retried_and_a_redirect_is_not_followed(receiver: Receiver):
    receiver.status = 429
    outcome = Webhook("ops", receiver.url(), retries=1, backoff=0.01).send(NOTE)
    assert (outcome.ok, outcome.attempts, len(receiver.posts)) == (False, 2, 2)
    receiver.posts.clear()
    receiver.status = 302
    outcome = Webhook("ops", receiver.url(), retries=2, backoff=0.01).send(NOTE)
    assert (outcome.ok, outcome.attempts, len(receiver.posts)) == (False, 1, 1)
    assert "answered HTTP 302" in (outcome.error or "")


def test_nobody_listening_is_retried_then_reported():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    outcome = Webhook("ops", f"http://127.0.0.1:{port}/x?key=abcdefgh123", timeout=1, retries=2, backoff=0.01).send(NOTE)
    assert (outcome.ok, outcome.attempts) == (False, 3)
    assert outcome.error is not None and "refused" in outcome.error.lower() and "abcdefgh123" not in outcome.error


def test_secrets_come_from_the_environment():
    env = {"SLACK_HOOK": "https://hooks.slack.com/services/T/B/x"}
    assert expand_secrets("${SLACK_HOOK}", env) == env["SLACK_HOOK"]
    assert expand_secrets("${PORT:-587}/${SLACK_HOOK}", env) == "587/" + env["SLACK_HOOK"]
    with pytest.raises(InvalidConfiguration, match=r"^environment variable SMTP_PASSWORD is not set$"):
        expand_secrets("${SMTP_PASSWORD}", env)
    with pytest.raises(InvalidConfiguration, match=r"^environment variables A, B are not set$"):
        expand_secrets("${A}:${B}:${A}", {})
    with pytest.raises(InvalidConfiguration, match="must be http or https"):
        Webhook("x", "ftp://example.com/hook")
    with pytest.raises(InvalidConfiguration, match="routing_key"):
        Webhook("pd", "https://events.pagerduty.com/v2/enqueue", template="pagerduty")


# ---------------------------------------------------------------- templates

def test_pagerduty_template_triggers_and_resolves_per_alert(receiver: Receiver, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PD_ROUTING_KEY", "R0UTINGKEY0123456789")
    pd = Webhook("pagerduty", receiver.url("/v2/enqueue"), template="pagerduty", routing_key="${PD_ROUTING_KEY}",
                 retries=0)
    outcome = pd.send(NOTE)
    assert (outcome.ok, outcome.attempts) == (True, 3)  # one request per event
    opened, drift, resolved = (p["json"] for p in receiver.posts)
    assert opened == {
        "routing_key": "R0UTINGKEY0123456789", "event_action": "trigger", "dedup_key": "seismo/churn/alert/7",
        "payload": {
            "summary": "churn: [opened] performance: cbpe roc_auc, chunk 2024-03-04 (from 2024-03-04): 0.712 outside "
                       "[0.75, 0.95]",
            "source": "seismo/churn", "severity": "error", "component": "cbpe", "group": "churn",
            "class": "performance",
            "custom_details": {"verdict": NOTE.verdict, "top_drift": ["income", "tenure"], "run_id": 42,
                               **payload(NOTE)["events"][0]}},
        "links": [{"href": "https://reports.example.com/churn/42.html", "text": "seismo report"}]}
    assert (drift["payload"]["severity"], drift["payload"]["component"]) == ("warning", "income")
    assert resolved == {"routing_key": "R0UTINGKEY0123456789", "event_action": "resolve",
                        "dedup_key": "seismo/churn/alert/3"}
    assert dedup_key(event(alert_id=None, column="age", segment="s=1")) == "seismo/churn/cbpe/roc_auc/age/s=1"


def test_teams_template_is_an_adaptive_card(receiver: Receiver):
    assert Webhook("teams", receiver.url(), template="teams", retries=0).send(NOTE).ok
    (post,) = receiver.posts
    (attachment,) = post["json"]["attachments"]
    assert post["json"]["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    texts = [b["text"] for b in card["body"]]
    assert texts[:2] == ["churn: 2 alerts opened, 1 alert resolved", NOTE.verdict]
    assert texts[-1] == "Top drifting columns: income, tenure"
    assert len(texts) == 2 + 3 + 1
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open the report", "url": NOTE.report_url}]


# ---------------------------------------------------------------- e-mail

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make the test's TLS certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message, bool]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.original_content), session.ssl is not None))
        return "250 OK"


@pytest.fixture
def smtp(certificate: tuple[str, str]) -> Iterator[tuple[Mailbox, int]]:
    import ssl

    controller_module = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.smtp import AuthResult

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        login, password = (v.decode() if isinstance(v, bytes) else v for v in (data.login, data.password))
        return AuthResult(success=(login, password) == ("alerts", "pa55-word-xyz"), handled=False)

    box, port = Mailbox(), _free_port()
    controller = controller_module.Controller(box, hostname="127.0.0.1", port=port, tls_context=context,
                                              require_starttls=True, authenticator=authenticate,
                                              auth_require_tls=True)
    controller.start()
    yield box, port
    controller.stop()


def test_email_over_starttls_carries_text_and_html(smtp: tuple[Mailbox, int], certificate: tuple[str, str],
                                                   monkeypatch: pytest.MonkeyPatch):
    box, port = smtp
    monkeypatch.setenv("SMTP_PASSWORD", "pa55-word-xyz")
    mail = Email("mail", "127.0.0.1", port, sender="seismo@example.com", to=["oncall@example.com", "ds@example.com"],
                 username="alerts", password="${SMTP_PASSWORD}", timeout=5, retries=0, cafile=certificate[0])
    outcome = mail.send(NOTE)
    assert (outcome.ok, outcome.attempts, outcome.error) == (True, 1, None)
    ((sender, recipients, message, encrypted),) = box.messages
    assert (sender, recipients, encrypted) == ("seismo@example.com", ["oncall@example.com", "ds@example.com"], True)
    assert message["Subject"] == "[seismo] churn: 2 alerts opened, 1 alert resolved"
    assert message.get_content_type() == "multipart/alternative"
    plain, rich = message.get_payload()  # type: ignore[misc]
    assert (plain.get_content_type(), rich.get_content_type()) == ("text/plain", "text/html")
    text = plain.get_payload(decode=True).decode()
    page = rich.get_payload(decode=True).decode()
    assert NOTE.verdict in text
    assert "Top drifting columns: income, tenure" in text
    assert "Report: https://reports.example.com/churn/42.html" in text
    assert "[resolved] quality: data_quality missing_rate · age, chunk 2024-03-18: 0.01, back below 0.05" in text
    assert "threshold &lt;since&gt; March 4 &amp; income" in page and "<since>" not in page
    assert '<a href="https://reports.example.com/churn/42.html">Open the report</a>' in page
    assert "<code>income</code>, <code>tenure</code>" in page


def test_email_refused_login_is_not_retried_and_hides_the_password(smtp: tuple[Mailbox, int],
                                                                   certificate: tuple[str, str]):
    box, port = smtp
    mail = Email("mail", "127.0.0.1", port, sender="s@example.com", to=["t@example.com"], username="alerts",
                 password="wrong-password-123", timeout=5, retries=2, backoff=0.01, cafile=certificate[0])
    outcome = mail.send(NOTE)
    assert (outcome.ok, outcome.attempts) == (False, 1)
    assert outcome.error == f"smtp://127.0.0.1:{port} refused the login (535)"
    assert box.messages == []


def test_email_without_trusting_the_certificate_fails(smtp: tuple[Mailbox, int]):
    box, port = smtp
    outcome = Email("mail", "127.0.0.1", port, sender="s@example.com", to=["t@example.com"], timeout=5,
                    retries=1, backoff=0.01).send(NOTE)
    assert (outcome.ok, outcome.attempts) == (False, 1)
    assert "TLS failed" in (outcome.error or "")
    assert box.messages == []


def test_email_needs_starttls_unless_told_otherwise():
    controller_module = pytest.importorskip("aiosmtpd.controller")
    box, port = Mailbox(), _free_port()
    controller = controller_module.Controller(box, hostname="127.0.0.1", port=port)  # no TLS offered
    controller.start()
    try:
        refused = Email("mail", "127.0.0.1", port, sender="s@example.com", to=["t@example.com"], timeout=5,
                        retries=2).send(NOTE)
        assert (refused.ok, refused.attempts) == (False, 1)
        assert refused.error == f"smtp://127.0.0.1:{port} does not offer STARTTLS (set starttls: false to send " \
                                "unencrypted)"
        plain = Email("mail", "127.0.0.1", port, sender="s@example.com", to=["t@example.com"], starttls=False,
                      timeout=5, retries=0).send(NOTE)
        assert plain.ok and len(box.messages) == 1 and box.messages[0][3] is False
    finally:
        controller.stop()


def test_the_documented_example_is_what_the_code_builds():
    """docs/alerts.md's payload and plain-text e-mail are real output, not hand-written."""
    import re
    from datetime import datetime, timezone

    from seismo.alerts.payload import email_text

    doc = (Path(__file__).parents[2] / "docs" / "alerts.md").read_text()
    section = doc[doc.index("## Destinations and the payload"):doc.index("## Metrics for Prometheus")]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, re.S)
    documented = json.loads(next(body for lang, body in blocks if lang == "json"))

    def at(kind: str, severity: str, calculator: str, column: str | None, metric: str, value: float,
           low: float | None, high: float | None, opened: str, alert_id: int, segment: str | None = None) -> AlertEvent:
        return AlertEvent("churn", kind, severity, calculator, column, metric, segment, "2024-03-04/2024-03-10",
                          "2024-03-04", value, low, high, opened, alert_id)

    note = Notification("churn", 311, (
        at("opened", "performance", "cbpe", None, "roc_auc", 0.712, 0.75, None, "2024-03-11T06:00:04Z", 17),
        at("opened", "drift", "univariate_drift", "income", "jensen_shannon", 0.231, None, 0.1,
           "2024-03-11T06:00:04Z", 18),
        at("resolved", "quality", "data_quality", "age", "missing_rate", 0.01, None, 0.05, "2024-03-04T06:00:03Z",
           12, segment="region=east"),
    ), "Estimated ROC AUC is below its threshold since 2024-03-04; income and tenure drift.", ("income", "tenure"),
        "https://monitoring.example.com/churn/report.html")
    assert documented == payload(note, datetime(2024, 3, 11, 6, 0, 5, tzinfo=timezone.utc))
    assert next(body for lang, body in blocks if lang == "text") == email_text(note)


# ---------------------------------------------------------------- no dependency

def test_delivery_uses_the_standard_library_only():
    """payload, destinations, templates and environment import nothing but the standard library,
    seismo.errors and each other: sending an alert needs no extra install."""
    allowed = {"seismo.errors", "seismo.alerts.payload", "seismo.alerts.destinations", "seismo.alerts.templates",
               "seismo.alerts.environment"}
    found = []
    for name in ("payload", "destinations", "templates", "environment"):
        for node in ast.walk(ast.parse((SRC / f"{name}.py").read_text())):
            modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for module in modules:
                if module not in allowed and module.split(".")[0] not in sys.stdlib_module_names:
                    found.append(f"{name}.py imports {module}")
    assert found == []
