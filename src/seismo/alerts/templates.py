"""Webhook templates: the seismo payload reshaped for receivers that want their own JSON.

``Webhook(..., template="teams")`` and ``Webhook(..., template="pagerduty", routing_key=...)``
post these bodies instead of the generic payload; everything else (retries, time-outs, secret
redaction) is the webhook's. A template returns a list of bodies because PagerDuty's Events API
takes one event per request; the others return one.
"""

from __future__ import annotations

from typing import Any, Callable

from seismo.alerts.payload import (
    AlertEvent,
    Notification,
    event_dict,
    event_line,
    headline,
    ordered_events,
    payload,
    slack_message,
)
from seismo.errors import InvalidConfiguration

# seismo's severity -> PagerDuty's (critical, error, warning, info)
PAGERDUTY_SEVERITY = {"performance": "error", "drift": "warning", "quality": "warning"}


def dedup_key(event: AlertEvent) -> str:
    """One key per alert, so a reminder updates the open incident and a resolution closes it.

    The store's alert id when there is one; else the alert's identity (model, calculator,
    metric, column, segment), which is the same from one run to the next.
    """
    if event.alert_id is not None:
        return f"seismo/{event.model}/alert/{event.alert_id}"
    parts = (event.model, event.calculator, event.metric, event.column or "", event.segment or "")
    return "seismo/" + "/".join(parts)


def pagerduty_events(notification: Notification, routing_key: str) -> list[dict[str, Any]]:
    """PagerDuty Events API v2 bodies: ``trigger`` for opened and reminder events, ``resolve`` for resolved."""
    bodies: list[dict[str, Any]] = []
    for event in notification.events:
        body: dict[str, Any] = {
            "routing_key": routing_key,
            "event_action": "resolve" if event.kind == "resolved" else "trigger",
            "dedup_key": dedup_key(event),
        }
        if event.kind != "resolved":
            body["payload"] = {
                "summary": f"{notification.model}: {event_line(event)}"[:1024],
                "source": f"seismo/{notification.model}",
                "severity": PAGERDUTY_SEVERITY.get(event.severity, "warning"),
                "component": event.column or event.calculator,
                "group": notification.model,
                "class": event.severity,
                "custom_details": {"verdict": notification.verdict, "top_drift": list(notification.top_drift),
                                   "run_id": notification.run_id, **event_dict(event)},
            }
            if notification.report_url:
                body["links"] = [{"href": notification.report_url, "text": "seismo report"}]
        bodies.append(body)
    return bodies


def teams_message(notification: Notification) -> dict[str, Any]:
    """A Microsoft Teams message with an Adaptive Card, as a Teams Workflows webhook takes it.

    Teams renders the card's TextBlocks as plain text with a little Markdown; the verdict and
    event lines are the same as the e-mail's.
    """
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "size": "Large", "weight": "Bolder", "wrap": True, "text": headline(notification)},
    ]
    if notification.verdict:
        body.append({"type": "TextBlock", "wrap": True, "text": notification.verdict})
    for event in ordered_events(notification):
        body.append({"type": "TextBlock", "wrap": True, "spacing": "Small", "text": "- " + event_line(event)})
    if notification.top_drift:
        body.append({"type": "TextBlock", "wrap": True,
                     "text": "Top drifting columns: " + ", ".join(notification.top_drift)})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard", "version": "1.4", "body": body,
    }
    if notification.report_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the report", "url": notification.report_url}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


Template = Callable[[Notification], list[dict[str, Any]]]


def template_bodies(name: str | None, routing_key: str | None = None) -> Template:
    """The function that turns a notification into the bodies to post, for a template name.

    ``None`` (or ``"seismo"``) is the generic payload, ``"slack"`` the Slack message, ``"teams"``
    an Adaptive Card, ``"pagerduty"`` Events API v2 events (needs `routing_key`).
    """
    if name in (None, "seismo"):
        return lambda n: [payload(n)]
    if name == "slack":
        return lambda n: [slack_message(n)]
    if name == "teams":
        return lambda n: [teams_message(n)]
    if name == "pagerduty":
        if not routing_key:
            raise InvalidConfiguration("the pagerduty template needs a routing_key (an integration key)")
        key = routing_key
        return lambda n: pagerduty_events(n, key)
    raise InvalidConfiguration(f"unknown webhook template {name!r}: use seismo, slack, teams or pagerduty")
