"""Alert state in the results store, and the messages it calls for: `evaluate_alerts`.

After a run has committed its results, `evaluate_alerts` reads them, applies the rules
(`seismo.alerts.rules.breaches`), and in one write transaction opens the alerts that breach, marks
those still breaching as seen, resolves those whose latest chunk is back inside its thresholds,
and claims each message it is to send (`seismo.store.alert_rows.claim`). Only after that
transaction commits does it send, so two runs evaluating the same store at once send each
message once: the one whose claim updated the row sends it, the other finds it claimed. Then it
records each destination's outcome (name, ok, attempts, error, time; never a URL or a secret)
on the alerts concerned. A message that failed at a destination is sent to it again by the next
run while its alert is still in the state the message was about, under a claim of its own. A destination that fails is reported, never raised: the results are
already stored, and each destination bounds its own time (retries, time-out).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from seismo.alerts.payload import AlertEvent, Notification
from seismo.alerts.rules import SEVERITIES, AlertKey, AlertPolicy, Breach, breaches
from seismo.store import ResultsStore, alert_rows
from seismo.store.tables import utcnow

TOP_DRIFT = 5  # columns listed in a message


class Destination(Protocol):
    """Anything with a name and a `send` that never raises (`seismo.alerts.destinations`)."""

    name: str

    def send(self, notification: Notification) -> Any: ...


@dataclass
class AlertRound:
    """What one evaluation did: the alerts it opened, reminded of and resolved (ids), the notification it
    sent (None when there was nothing to send, or ``quiet``) and each destination's outcome."""

    opened: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)  # alerts whose earlier failed message was sent again
    open_alerts: int = 0  # open after this round
    notification: Notification | None = None
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # {destination, ok, attempts, error, seconds}

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [d for d in self.deliveries if not d["ok"]]

    def to_dict(self) -> dict[str, Any]:
        return {"opened": self.opened, "reminded": self.reminded, "resolved": self.resolved,
                "retried": self.retried, "open_alerts": self.open_alerts, "sent_events": len(self.notification.events) if self.notification else 0,
                "deliveries": self.deliveries}


def _iso(value: Any) -> str:
    return pd.Timestamp(value).isoformat() + "Z"


def _event(model: str, kind: str, severity: str, breach: Breach, alert_id: int, opened_at: Any) -> AlertEvent:
    key = breach.key
    return AlertEvent(model=model, kind=kind, severity=severity, calculator=key.calculator, column=key.column,
                      metric=key.metric, segment=key.segment, chunk_key=breach.chunk_key, chunk_start=breach.chunk_start,
                      value=breach.value, lower_threshold=breach.lower_threshold,
                      upper_threshold=breach.upper_threshold, opened_at=_iso(opened_at), alert_id=alert_id)


def _key(row: Any) -> AlertKey:
    return AlertKey(row.calculator, row.column, row.metric, row.segment)


def _recently_resolved(history: pd.DataFrame, key: AlertKey, within: dt.timedelta | None, now: dt.datetime) -> bool:
    """Whether ``key`` had an alert resolved less than ``within`` ago (the cooldown of a flapping metric)."""
    if within is None or history.empty:
        return False
    same = history[(history["status"] == "resolved") & (history["calculator"] == key.calculator)
                   & (history["metric"] == key.metric)]
    same = same[[(_key(r) == key) for r in same.itertuples()]]
    return bool((same["resolved_at"].dropna() > now - within).any())


def _top_drift(found: list[Breach]) -> tuple[str, ...]:
    """The drifting columns, most alerting chunks first: those of univariate drift's breaching overall rows."""
    drifting: dict[str, int] = {}
    for b in found:
        if b.breaching and b.key.calculator == "univariate_drift" and b.key.column and b.key.segment is None:
            drifting[b.key.column] = max(drifting.get(b.key.column, 0), b.alerting_chunks)
    return tuple(sorted(drifting, key=lambda c: (-drifting[c], c))[:TOP_DRIFT])


def _verdict(events: list[AlertEvent]) -> str:
    opened = [e for e in events if e.kind != "resolved"]
    if not opened:
        return "every alert sent before is back inside its thresholds" if events else "no alert"
    first = min(opened, key=lambda e: SEVERITIES.index(e.severity))
    counts = ", ".join(f"{sum(e.severity == s for e in opened)} {s}" for s in SEVERITIES
                       if any(e.severity == s for e in opened))
    return f"{len(opened)} alert{'s' if len(opened) != 1 else ''} standing ({counts}); most urgent: {first.severity}"


def evaluate_alerts(store: ResultsStore, model: str, policy: AlertPolicy | None = None, *,
                    destinations: Iterable[Destination] = (), run_id: int | None = None,
                    now: dt.datetime | None = None, verdict: str | None = None,
                    results: pd.DataFrame | None = None,
                    send: Callable[[Destination, Notification], Any] | None = None) -> AlertRound:
    """Update ``model``'s alerts from its stored results and send what the rules call for.

    ``now`` (naive UTC) is the clock, for reminders and tests; ``results`` the model's stored analysis
    rows when the caller has them (else read). ``send`` replaces ``destination.send`` (a hook for
    callers that deliver themselves). Returns the `AlertRound`; never raises for a destination.
    """
    policy = policy or AlertPolicy()
    now = now or utcnow()
    if results is None:  # only the calculators the rules can cover, when every rule names its own
        named = [rule.calculators for rule in policy.rules]
        wanted = None if any(n is None for n in named) else sorted({c for n in named for c in n or ()})
        results = store.results(model, period="analysis", calculator=wanted)
    found = breaches(results, policy)
    by_key = {b.key: b for b in found}
    history = store.alerts(model)
    events: list[AlertEvent] = []
    done = AlertRound()
    with store.alert_writes() as conn:
        for b in found:
            if not b.breaching:
                continue
            alert_id, is_new = alert_rows.open_or_see(
                conn, model, b.key, severity=b.rule.severity_for(b.key), chunk_key=b.chunk_key, value=b.value,
                lower=b.lower_threshold, upper=b.upper_threshold, now=now)
            if is_new:
                done.opened.append(alert_id)
            if alert_rows.claim(conn, alert_id, "opened", now):  # once, by one run
                if not _recently_resolved(history, b.key, b.rule.cooldown, now):
                    events.append(_event(model, "opened", b.rule.severity_for(b.key), b, alert_id, now))
        standing = alert_rows.read(conn, model, "open")
        for row in standing.itertuples():
            seen = by_key.get(_key(row))
            if seen is None:  # no rule covers it any more, or its rows are gone: left as it is
                continue
            if not seen.latest_alerts:
                if alert_rows.resolve(conn, int(row.id), chunk_key=seen.chunk_key, value=seen.value, now=now):
                    done.resolved.append(int(row.id))
                    if seen.rule.resolve and alert_rows.claim(conn, int(row.id), "resolved", now):
                        events.append(_event(model, "resolved", str(row.severity), seen, int(row.id), row.opened_at))
            elif seen.rule.remind_every is not None and alert_rows.claim(
                    conn, int(row.id), "reminder", now, due_before=now - seen.rule.remind_every):
                done.reminded.append(int(row.id))
                events.append(_event(model, "reminder", str(row.severity), seen, int(row.id), row.opened_at))
        done.open_alerts = len(alert_rows.read(conn, model, "open"))
        destinations = list(destinations)
        retries = [] if policy.quiet else _claim_retries(conn, model, by_key, {e.alert_id for e in events},
                                                         [d.name for d in destinations], now)
    done.retried = sorted({event.alert_id or 0 for event, _ in retries})
    if policy.quiet or not (events or retries):
        return done
    top_drift = _top_drift(found)
    if events:
        done.notification = _notification(model, run_id, events, verdict, top_drift, policy.report_url)
    at = utcnow().isoformat() + "Z"
    outcomes: dict[tuple[int, str], dict[str, dict[str, Any]]] = {}  # (alert id, kind) -> destination -> outcome
    for destination in destinations:
        theirs = events + [event for event, names in retries if destination.name in names]
        if not theirs:
            continue
        notification = done.notification if len(theirs) == len(events) else _notification(
            model, run_id, theirs, verdict, top_drift, policy.report_url)
        assert notification is not None
        outcome = send(destination, notification) if send is not None else destination.send(notification)
        delivery = {"destination": getattr(outcome, "destination", destination.name), "ok": bool(outcome.ok),
                    "attempts": int(outcome.attempts), "error": outcome.error,
                    "seconds": round(float(outcome.seconds), 3)}
        done.deliveries.append(delivery)
        for event in theirs:
            outcomes.setdefault((int(event.alert_id or 0), event.kind), {})[delivery["destination"]] = {
                "ok": delivery["ok"], "attempts": delivery["attempts"], "error": delivery["error"], "at": at,
                "kind": event.kind}
    if outcomes:
        with store.alert_writes() as conn:
            for (alert_id, _), outcome_of in outcomes.items():
                alert_rows.record_deliveries(conn, alert_id, outcome_of)
    return done


def _notification(model: str, run_id: int | None, events: list[AlertEvent], verdict: str | None,
                  top_drift: tuple[str, ...], report_url: str | None) -> Notification:
    events = sorted(events, key=lambda e: (SEVERITIES.index(e.severity), e.kind != "opened", e.calculator, e.metric,
                                           e.column or "", e.segment or ""))
    return Notification(model=model, run_id=run_id, events=tuple(events), verdict=verdict or _verdict(events),
                        top_drift=top_drift, report_url=report_url)


def _claim_retries(conn: Any, model: str, by_key: dict[AlertKey, Breach], skip: set[int | None], names: list[str],
                   now: dt.datetime) -> list[tuple[AlertEvent, list[str]]]:
    """The messages of earlier runs that failed at some destination, to send again to those, claimed.

    Only while the alert is in the state the message was about: an open alert's notice or reminder,
    a resolved alert's resolution. An alert this run already has a message for (``skip``) gets that
    one instead. Each claim is `seismo.store.alert_rows.claim_retry`'s, so concurrent runs re-send once.
    """
    retries = []
    for row in alert_rows.read(conn, model).itertuples():
        if int(row.id) in skip or not row.deliveries:
            continue
        kinds = ("opened", "reminder") if row.status == "open" else ("resolved",)
        if row.status == "resolved" and row.resolution_notified_at is None:
            continue  # its resolution was never to be sent (resolve: false)
        claimed = alert_rows.claim_retry(conn, int(row.id), kinds, names, now)
        if claimed is None:
            continue
        kind, failed = claimed
        breach = by_key.get(_key(row))
        retries.append((AlertEvent(
            model=model, kind=kind, severity=str(row.severity), calculator=row.calculator, column=row.column,
            metric=row.metric, segment=row.segment, chunk_key=str(row.last_chunk_key),
            chunk_start=breach.chunk_start if breach is not None and breach.chunk_key == row.last_chunk_key else None,
            value=None if pd.isna(row.value) else float(row.value),
            lower_threshold=None if pd.isna(row.lower_threshold) else float(row.lower_threshold),
            upper_threshold=None if pd.isna(row.upper_threshold) else float(row.upper_threshold),
            opened_at=_iso(row.opened_at), alert_id=int(row.id)), failed))
    return retries
