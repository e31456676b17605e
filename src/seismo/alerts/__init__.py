"""Alerts: which results alert (`rules`), their state in the store (`state`), and delivery.

Delivery is the notification's shapes (`payload`, `templates`) and where it goes
(`destinations`); those modules use the standard library and `seismo.errors` only, so sending
needs no extra install. The package sits above the store (alert state lives there) and below
the CLI, which sends. See docs/alerts.md, "Destinations and the payload".
"""

from seismo.alerts.destinations import DeliveryOutcome, Email, Slack, Webhook, expand_secrets
from seismo.alerts.payload import PAYLOAD_VERSION, AlertEvent, Notification, email_message, payload, slack_message

__all__ = ["PAYLOAD_VERSION", "AlertEvent", "DeliveryOutcome", "Email", "Notification", "Slack", "Webhook",
           "email_message", "expand_secrets", "payload", "slack_message"]
