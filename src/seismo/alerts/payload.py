"""What one notification says, in each destination's shape (docs/alerts.md, "Destinations and the payload").

A run that opens, reminds of or resolves alerts sends one `Notification` per model: the events,
the report's verdict, the top-ranked drifting columns and a link to the report. This module only
shapes it (a versioned JSON payload for webhooks, a Slack message, an e-mail); sending is
`destinations.py`'s business, and deciding what to send is the alert rules'. Everything here is
plain data and the standard library, so a payload can be built and checked without a network.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

PAYLOAD_SCHEMA = "seismo.alert"
PAYLOAD_VERSION = 1  # raised only when a key is removed or changes meaning; new keys may appear

KINDS = ("opened", "reminder", "resolved")
SEVERITIES = ("performance", "drift", "quality")  # most urgent first
MAX_LISTED_EVENTS = 20  # Slack allows 50 blocks per message; the rest is counted, not listed


@dataclass(frozen=True)
class AlertEvent:
    """One alert's change: opened, still open (a reminder), or resolved, at one chunk."""

    model: str
    kind: str  # "opened" | "reminder" | "resolved"
    severity: str  # "performance" | "drift" | "quality"
    calculator: str
    column: str | None
    metric: str
    segment: str | None
    chunk_key: str
    chunk_start: str | None  # ISO date
    value: float | None
    lower_threshold: float | None
    upper_threshold: float | None
    opened_at: str  # ISO UTC
    alert_id: int | None = None


@dataclass(frozen=True)
class Notification:
    """Everything one message says about one model's run."""

    model: str
    run_id: int | None
    events: tuple[AlertEvent, ...]
    verdict: str  # the report's summary text
    top_drift: tuple[str, ...]  # the top-ranked drifting columns
    report_url: str | None


def _number(value: float | None) -> float | None:
    """JSON has no NaN or infinity: a missing or infinite number is null."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def event_dict(event: AlertEvent) -> dict[str, Any]:
    """One event as the payload holds it (keys in a fixed order)."""
    return {
        "alert_id": event.alert_id,
        "kind": event.kind,
        "severity": event.severity,
        "calculator": event.calculator,
        "column": event.column,
        "metric": event.metric,
        "segment": event.segment,
        "chunk_key": event.chunk_key,
        "chunk_start": event.chunk_start,
        "value": _number(event.value),
        "lower_threshold": _number(event.lower_threshold),
        "upper_threshold": _number(event.upper_threshold),
        "opened_at": event.opened_at,
    }


def payload(notification: Notification, sent_at: datetime | None = None) -> dict[str, Any]:
    """The generic webhook's JSON body, schema ``seismo.alert`` version `PAYLOAD_VERSION`.

    Every key is always present (None is null), numbers are finite or null, so a receiver can
    validate it strictly; `sent_at` is the time of building, in UTC.
    """
    sent = (sent_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return {
        "schema": PAYLOAD_SCHEMA,
        "version": PAYLOAD_VERSION,
        "model": notification.model,
        "run_id": notification.run_id,
        "sent_at": sent.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "verdict": notification.verdict,
        "top_drift": list(notification.top_drift),
        "report_url": notification.report_url,
        "events": [event_dict(e) for e in notification.events],
    }


# ---- the words, shared by Slack, e-mail and the Teams/PagerDuty templates ----

def _count(notification: Notification, kind: str) -> int:
    return sum(1 for e in notification.events if e.kind == kind)


def headline(notification: Notification) -> str:
    """``churn-model: 2 alerts opened, 1 resolved`` (counts that are zero are left out)."""
    parts = []
    for kind, word in (("opened", "opened"), ("reminder", "still open"), ("resolved", "resolved")):
        n = _count(notification, kind)
        if n:
            parts.append(f"{n} alert{'s' if n != 1 else ''} {word}")
    return f"{notification.model}: {', '.join(parts) or 'no alert changes'}"


def _format(value: float | None) -> str:
    number = _number(value)
    return "n/a" if number is None else f"{number:.4g}"


def _standing(event: AlertEvent) -> str:
    """``0.712 below 0.75``, ``0.23 outside [0.1, 0.2]``; for a resolved event ``0.01, back below 0.05``."""
    value, low, high = _format(event.value), _number(event.lower_threshold), _number(event.upper_threshold)
    back = ", back" if event.kind == "resolved" else ""
    if low is not None and high is not None:
        return f"{value}{back} {'within' if back else 'outside'} [{_format(low)}, {_format(high)}]"
    if low is not None:
        return f"{value}{back} {'above' if back else 'below'} {_format(low)}"
    if high is not None:
        return f"{value}{back} {'below' if back else 'above'} {_format(high)}"
    return f"{value}, no longer alerting" if back else f"{value}, alerting"


def subject_of(event: AlertEvent) -> str:
    """``cbpe roc_auc`` with `` · column`` and `` · segment`` when the event has them."""
    where = " · ".join(p for p in (event.column, event.segment) if p)
    return f"{event.calculator} {event.metric}" + (f" · {where}" if where else "")


def event_line(event: AlertEvent) -> str:
    """One readable line per event: what, where, which chunk, the value against its thresholds."""
    chunk = event.chunk_key + (f" (from {event.chunk_start})" if event.chunk_start else "")
    return f"[{event.kind}] {event.severity}: {subject_of(event)}, chunk {chunk}: {_standing(event)}"


def ordered_events(notification: Notification) -> list[AlertEvent]:
    """Opened first, then reminders, then resolved; within each, performance before drift before quality."""
    def rank(e: AlertEvent) -> tuple[int, int]:
        return (KINDS.index(e.kind) if e.kind in KINDS else len(KINDS),
                SEVERITIES.index(e.severity) if e.severity in SEVERITIES else len(SEVERITIES))
    return sorted(notification.events, key=rank)


def _listed(notification: Notification) -> tuple[list[AlertEvent], int]:
    events = ordered_events(notification)
    return events[:MAX_LISTED_EVENTS], max(0, len(events) - MAX_LISTED_EVENTS)


# ---- Slack ----

def _slack_escape(text: str) -> str:
    """Slack's mrkdwn reads ``&``, ``<`` and ``>`` as markup (links, mentions): escape them."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_message(notification: Notification) -> dict[str, Any]:
    """A Slack incoming-webhook body: a `text` fallback (notifications, old clients) and `blocks`.

    Blocks: a header (model and counts), the verdict, one line per event (resolved ones marked
    with a check), the top drifting columns, and a button to the report when there is a URL.
    Every user string is escaped for mrkdwn and clipped to Slack's block limits.
    """
    title = headline(notification)
    listed, more = _listed(notification)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, 150)}},
    ]
    if notification.verdict:
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": _clip(_slack_escape(notification.verdict), 3000)}})
    lines = []
    for event in listed:
        mark = ":white_check_mark:" if event.kind == "resolved" else (
            ":bell:" if event.kind == "reminder" else ":rotating_light:")
        lines.append(f"{mark} {_slack_escape(event_line(event))}")
    if more:
        lines.append(f"… and {more} more")
    for start in range(0, len(lines), 10):  # a section's text holds at most 3000 characters
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": _clip("\n".join(lines[start:start + 10]), 3000)}})
    if notification.top_drift:
        columns = ", ".join(f"`{_slack_escape(c)}`" for c in notification.top_drift)
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": _clip(f"*Top drifting columns:* {columns}", 3000)}})
    text = title
    if notification.report_url:
        url = notification.report_url
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open the report"}, "url": url[:3000]}]})
        text += f" — report: {url}"
    return {"text": text, "blocks": blocks}


# ---- e-mail ----

def email_text(notification: Notification) -> str:
    """The plain-text body: the same content as the Slack message, one line per event."""
    listed, more = _listed(notification)
    out = [headline(notification), ""]
    if notification.verdict:
        out += [notification.verdict, ""]
    out += [event_line(e) for e in listed]
    if more:
        out.append(f"... and {more} more")
    if notification.top_drift:
        out += ["", "Top drifting columns: " + ", ".join(notification.top_drift)]
    if notification.report_url:
        out += ["", f"Report: {notification.report_url}"]
    if notification.run_id is not None:
        out += ["", f"seismo run {notification.run_id}"]
    return "\n".join(out) + "\n"


def email_html(notification: Notification) -> str:
    """The HTML body: the plain text's content, every user string escaped."""
    esc = html.escape
    listed, more = _listed(notification)
    parts = [f"<h2>{esc(headline(notification))}</h2>"]
    if notification.verdict:
        parts.append(f"<p>{esc(notification.verdict)}</p>")
    items = "".join(f"<li>{esc(event_line(e))}</li>" for e in listed)
    if more:
        items += f"<li>… and {more} more</li>"
    if items:
        parts.append(f"<ul>{items}</ul>")
    if notification.top_drift:
        columns = ", ".join(f"<code>{esc(c)}</code>" for c in notification.top_drift)
        parts.append(f"<p><strong>Top drifting columns:</strong> {columns}</p>")
    if notification.report_url:
        parts.append(f'<p><a href="{esc(notification.report_url, quote=True)}">Open the report</a></p>')
    if notification.run_id is not None:
        parts.append(f"<p><small>seismo run {notification.run_id}</small></p>")
    return "<!DOCTYPE html>\n<html><body>\n" + "\n".join(parts) + "\n</body></html>\n"


def _one_line(text: str) -> str:
    """A header value never carries a line break (that would be header injection)."""
    return " ".join(text.split())


def email_message(notification: Notification, sender: str, to: list[str] | tuple[str, ...]) -> EmailMessage:
    """A multipart/alternative e-mail: text/plain first, text/html second (clients show the last they can)."""
    message = EmailMessage()
    message["Subject"] = _clip(_one_line(f"[seismo] {headline(notification)}"), 250)
    message["From"] = _one_line(sender)
    message["To"] = ", ".join(_one_line(t) for t in to)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain="seismo.alerts")
    message.set_content(email_text(notification))
    message.add_alternative(email_html(notification), subtype="html")
    return message
