"""Sending a notification: a JSON webhook, a Slack incoming webhook, or e-mail over SMTP.

A destination that is down must neither lose the run's results nor hold the run up, so `send`
never raises: every failure becomes a `DeliveryOutcome` the caller records. Each attempt has a
time-out; connection errors, time-outs, HTTP 5xx and 429 (and SMTP 4xx) are retried with
exponential back-off; anything else (a 400, a 404, a refused login) is a mistake that a retry
will not fix, and is reported at once. The worst case is bounded and documented by
`worst_case_seconds`.

Secrets stay out of every message: a webhook URL's path and query (a Slack webhook URL *is*
the secret), header values, passwords and routing keys are cut out of error texts, which show
only ``scheme://host/…``.
"""

from __future__ import annotations

import http.client
import json
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable

from seismo.alerts.environment import ENV_REFERENCE, expand_secrets
from seismo.alerts.payload import Notification, email_message
from seismo.alerts.templates import template_bodies
from seismo.errors import InvalidConfiguration

USER_AGENT = "seismo-alerts/1"
ERROR_BODY_CHARS = 200  # how much of a refusing server's answer an error quotes


@dataclass
class DeliveryOutcome:
    """How one destination fared: what the store's alert row and `seismo run` report."""

    destination: str
    ok: bool
    attempts: int
    error: str | None
    seconds: float


def redact_url(url: str) -> str:
    """``https://hooks.slack.com/services/T0/B0/xyz?a=1`` -> ``https://hooks.slack.com/…``.

    User and password, path, query and fragment are dropped: only where it goes stays.
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme or '?'}://{host}/…"


def scrub(text: str, secrets: list[str]) -> str:
    """`text` with every secret (and its URL-quoted form) replaced by ``…``; longest first."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        for form in {secret, urllib.parse.quote(secret, safe="")}:
            text = text.replace(form, "…")
    return text


class _Transient(Exception):
    """A failure worth another attempt (connection, time-out, 5xx, 429, SMTP 4xx)."""


class _Permanent(Exception):
    """A failure a retry will not fix (4xx other than 429, a refused login, a bad recipient)."""


def _sleep_budget(backoff: float, retries: int) -> float:
    return sum(backoff * 2 ** i for i in range(retries))


class _Destination:
    """Retries, back-off and the never-raising `send` shared by every destination."""

    name: str
    timeout: float
    retries: int
    backoff: float

    def _configure(self, name: str, timeout: float, retries: int, backoff: float) -> None:
        if timeout <= 0 or retries < 0 or backoff < 0:
            raise InvalidConfiguration(f"destination {name!r}: timeout must be > 0, retries and backoff >= 0")
        self.name, self.timeout, self.retries, self.backoff = name, float(timeout), int(retries), float(backoff)

    @property
    def worst_case_seconds(self) -> float:
        """The longest `send` can take for one request: every attempt timing out, plus the back-off sleeps.

        ``(retries + 1) × timeout + backoff × (2^retries − 1)``; with the defaults (10 s, 3
        retries, 0.5 s) 43.5 s. The time-out applies to each blocking network operation (connect,
        each read), which is what bounds an attempt against a server that hangs.
        """
        return (self.retries + 1) * self.timeout + _sleep_budget(self.backoff, self.retries)

    def _secrets(self) -> list[str]:
        return []

    def _once(self, body: Any) -> None:  # pragma: no cover - each destination defines it
        raise NotImplementedError

    def _attempts(self, body: Any) -> tuple[int, str | None]:
        """(attempts made, error or None) for one body, retrying transient failures."""
        for attempt in range(1, self.retries + 2):
            try:
                self._once(body)
                return attempt, None
            except _Permanent as exc:
                return attempt, str(exc)
            except _Transient as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - a destination must never break the run
                return attempt, f"{type(exc).__name__}: {exc}"
            if attempt <= self.retries:
                time.sleep(self.backoff * 2 ** (attempt - 1))
        return self.retries + 1, f"{error} (gave up after {self.retries + 1} attempts)"

    def _bodies(self, notification: Notification) -> list[Any]:  # pragma: no cover
        raise NotImplementedError

    def send(self, notification: Notification) -> DeliveryOutcome:
        """Deliver the notification; never raises: a failure is the outcome's `error`."""
        start = time.monotonic()
        attempts, errors = 0, []
        try:
            for body in self._bodies(notification):
                made, error = self._attempts(body)
                attempts += made
                if error:
                    errors.append(error)
        except Exception as exc:  # noqa: BLE001 - building the body failed: still an outcome
            errors.append(f"{type(exc).__name__}: {exc}")
        error = scrub("; ".join(errors), self._secrets()) if errors else None
        return DeliveryOutcome(self.name, not errors, attempts, error, round(time.monotonic() - start, 3))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook that answers with a redirect is refused, not followed: the body (and any
    secret header) would go somewhere nobody configured."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class Webhook(_Destination):
    """POST JSON to a URL: the versioned seismo payload, or a template's shape.

    `template` is None (the seismo payload), ``"slack"``, ``"teams"`` (an Adaptive Card for a
    Teams Workflows webhook) or ``"pagerduty"`` (Events API v2, one request per event; needs
    `routing_key`). A ``${VAR}`` in `url`, `headers` or `routing_key` is taken from the
    environment when the destination is made.
    """

    def __init__(self, name: str, url: str, headers: dict[str, str] | None = None, timeout: float = 10,
                 retries: int = 3, backoff: float = 0.5, template: str | None = None,
                 routing_key: str | None = None) -> None:
        self._configure(name, timeout, retries, backoff)
        self.url = expand_secrets(url)
        scheme = urllib.parse.urlsplit(self.url).scheme
        if scheme not in ("http", "https"):
            raise InvalidConfiguration(f"destination {name!r}: the URL must be http or https, not {redact_url(self.url)}")
        self.headers = {k: expand_secrets(v) for k, v in (headers or {}).items()}
        self.routing_key = expand_secrets(routing_key) if routing_key is not None else None
        self.template = template
        self._shape: Callable[[Notification], list[dict[str, Any]]] = template_bodies(template, self.routing_key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, url={redact_url(self.url)!r})"

    def _secrets(self) -> list[str]:
        parts = urllib.parse.urlsplit(self.url)
        found = [self.url, parts.path, parts.query, parts.fragment, parts.password or "", parts.username or ""]
        found += [p for p in parts.path.split("/") if len(p) >= 8]  # tokens inside the path
        found += list(self.headers.values())
        return found + ([self.routing_key] if self.routing_key else [])

    def _bodies(self, notification: Notification) -> list[Any]:
        return list(self._shape(notification))

    def _once(self, body: Any) -> None:
        data = json.dumps(body, allow_nan=False, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.url, data=data, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, **self.headers})
        where = redact_url(self.url)
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                response.read(65536)
        except urllib.error.HTTPError as exc:
            answer = _answer(exc)
            message = f"{where} answered HTTP {exc.code}" + (f": {answer}" if answer else "")
            if exc.code >= 500 or exc.code == 429:
                raise _Transient(message) from None
            raise _Permanent(message) from None
        except urllib.error.URLError as exc:
            raise _Transient(f"{where}: {_reason(exc.reason)}") from None
        except (TimeoutError, socket.timeout):
            raise _Transient(f"{where}: no answer within {self.timeout:g} s") from None
        except (OSError, http.client.HTTPException) as exc:  # a connection reset or a garbled answer
            raise _Transient(f"{where}: {_reason(exc)}") from None


def _reason(reason: object) -> str:
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "no answer within the time-out"
    return str(reason) or type(reason).__name__


def _answer(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(ERROR_BODY_CHARS * 4).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - the answer is only decoration
        return ""
    return " ".join(text.split())[:ERROR_BODY_CHARS]


class Slack(Webhook):
    """A Slack incoming webhook (or anything that takes Slack's message format, e.g. Mattermost)."""

    def __init__(self, name: str, url: str, timeout: float = 10, retries: int = 3, backoff: float = 0.5) -> None:
        super().__init__(name, url, timeout=timeout, retries=retries, backoff=backoff, template="slack")


class Email(_Destination):
    """E-mail over SMTP: text/plain and text/html alternatives with the same content.

    STARTTLS is on by default and required: a server that does not offer it is an error, never a
    fall-back to plain text. `cafile` trusts an extra certificate authority (a company CA, or a
    test's own certificate); the server's name is always checked. ``${VAR}`` in `username` and
    `password` come from the environment.
    """

    def __init__(self, name: str, host: str, port: int = 587, sender: str = "", to: list[str] | None = None,
                 username: str | None = None, password: str | None = None, starttls: bool = True,
                 timeout: float = 10, retries: int = 3, backoff: float = 0.5, cafile: str | None = None) -> None:
        self._configure(name, timeout, retries, backoff)
        if not sender or not to:
            raise InvalidConfiguration(f"destination {name!r}: e-mail needs a sender and at least one recipient")
        self.host, self.port, self.sender, self.to = expand_secrets(host), int(port), sender, list(to)
        self.username = expand_secrets(username) if username is not None else None
        self.password = expand_secrets(password) if password is not None else None
        self.starttls, self.cafile = starttls, cafile

    def __repr__(self) -> str:
        return f"Email(name={self.name!r}, host={self.host!r}, port={self.port}, to={self.to!r})"

    def _secrets(self) -> list[str]:
        return [self.password or ""]

    def _bodies(self, notification: Notification) -> list[Any]:
        return [email_message(notification, self.sender, self.to)]

    def _once(self, body: Any) -> None:
        where = f"smtp://{self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if self.starttls:
                    if not smtp.has_extn("starttls"):
                        raise _Permanent(f"{where} does not offer STARTTLS (set starttls: false to send unencrypted)")
                    smtp.starttls(context=ssl.create_default_context(cafile=self.cafile))
                    smtp.ehlo()
                if self.username is not None:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(body)
        except (_Permanent, _Transient):
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            raise _Permanent(f"{where} refused every recipient: {', '.join(sorted(exc.recipients))}") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise _Permanent(f"{where} refused the login ({exc.smtp_code})") from None
        except smtplib.SMTPResponseException as exc:
            message = f"{where} answered {exc.smtp_code}: {_smtp_text(exc.smtp_error)}"
            if 400 <= exc.smtp_code < 500:
                raise _Transient(message) from None
            raise _Permanent(message) from None
        except ssl.SSLError as exc:
            raise _Permanent(f"{where}: TLS failed: {exc.reason or exc}") from None
        except (TimeoutError, socket.timeout):
            raise _Transient(f"{where}: no answer within {self.timeout:g} s") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise _Transient(f"{where}: {type(exc).__name__}: {exc}") from None
        if refused:
            raise _Permanent(f"{where} refused some recipients: {', '.join(sorted(refused))}")


def _smtp_text(error: bytes | str) -> str:
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return " ".join(text.split())[:ERROR_BODY_CHARS]


__all__ = ["ENV_REFERENCE", "DeliveryOutcome", "Email", "Slack", "Webhook", "expand_secrets", "redact_url", "scrub"]
