"""The `alerts` table's reads and writes, each one transaction: open, see, resolve, claim, record.

`seismo.alerts.state` decides what happens to an alert; this module only makes each change safe
when two runs evaluate the same model at once. Opening inserts under the unique (model,
open_key) constraint, so the second run finds the row the first inserted instead of adding one.
Every message is sent only after a claim: a conditional ``UPDATE ... WHERE <not yet claimed>``
whose row count says whether this run won it (1) or another run had (0).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from seismo.store.tables import TABLES

ALERTS = TABLES["alerts"]
Claim = Literal["opened", "reminder", "resolved"]
ALERT_FIELDS = [c.name for c in ALERTS.columns if c.name not in ("key_hash", "open_key")]


def key_hash(calculator: str, column: str | None, metric: str, segment: str | None) -> str:
    """A digest of an alert's key: column and segment may be None, which SQL's = cannot compare."""
    return hashlib.sha256(json.dumps([calculator, column, metric, segment]).encode()).hexdigest()


def read(conn: Connection, model: str, status: str | None = None) -> pd.DataFrame:
    """The model's alerts, oldest first; ``deliveries`` as a dict."""
    query = sa.select(*[ALERTS.c[f] for f in ALERT_FIELDS]).where(ALERTS.c.model == model).order_by(ALERTS.c.id)
    if status is not None:
        query = query.where(ALERTS.c.status == status)
    df = pd.DataFrame.from_records(conn.execute(query).all(), columns=ALERT_FIELDS)
    df["deliveries"] = [json.loads(d) if isinstance(d, str) else {} for d in df["deliveries"]]
    return df


def open_or_see(conn: Connection, model: str, key: tuple[str, str | None, str, str | None], *, severity: str,
                chunk_key: str, value: float | None, lower: float | None, upper: float | None,
                now: dt.datetime) -> tuple[int, bool]:
    """The open alert of ``key`` seen again in ``chunk_key``, or a new one; its id and whether this call opened it."""
    digest = key_hash(*key)
    seen = dict(last_seen_at=now, last_chunk_key=chunk_key, value=value, lower_threshold=lower, upper_threshold=upper)
    where = (ALERTS.c.model == model) & (ALERTS.c.open_key == digest)
    found = conn.execute(sa.select(ALERTS.c.id).where(where)).scalar()
    if found is not None:
        conn.execute(ALERTS.update().where(ALERTS.c.id == found).values(**seen))
        return int(found), False
    calculator, column, metric, segment = key
    try:
        with conn.begin_nested():  # a savepoint: losing the race must not roll back the caller's transaction
            new = conn.execute(ALERTS.insert().values(
                model=model, calculator=calculator, column=column, metric=metric, segment=segment,
                key_hash=digest, open_key=digest, severity=severity, status="open", opened_at=now,
                first_chunk_key=chunk_key, reminders_sent=0, **seen)).inserted_primary_key
        return int(new[0]), True  # type: ignore[index]
    except IntegrityError:  # another run opened it between the look-up and the insert
        found = conn.execute(sa.select(ALERTS.c.id).where(where)).scalar_one()
        conn.execute(ALERTS.update().where(ALERTS.c.id == found).values(**seen))
        return int(found), False


def resolve(conn: Connection, alert_id: int, *, chunk_key: str, value: float | None, now: dt.datetime) -> bool:
    """Resolve an open alert (its metric is back inside its thresholds in ``chunk_key``); False if already resolved."""
    done = conn.execute(ALERTS.update().where(ALERTS.c.id == alert_id, ALERTS.c.status == "open").values(
        status="resolved", open_key=None, resolved_at=now, last_seen_at=now, last_chunk_key=chunk_key, value=value))
    return done.rowcount == 1


def claim(conn: Connection, alert_id: int, what: Claim, now: dt.datetime, *, due_before: dt.datetime | None = None
          ) -> bool:
    """Claim the right to send one message about an alert; True only for the one run that gets it.

    ``opened``: the first message, once. ``resolved``: the resolution message, once, for a resolved
    alert. ``reminder``: for an open, already notified alert whose last message (notice or reminder)
    was sent at or before ``due_before``; the claim moves that time to ``now``, so a second run
    evaluating at once finds it not due.
    """
    a = ALERTS.c
    update = ALERTS.update().where(a.id == alert_id)
    if what == "opened":
        update = update.where(a.notified_at.is_(None)).values(notified_at=now)
    elif what == "resolved":
        update = update.where(a.status == "resolved", a.resolution_notified_at.is_(None)).values(
            resolution_notified_at=now)
    else:
        if due_before is None:
            raise ValueError("a reminder claim needs due_before")
        update = update.where(a.status == "open", a.notified_at.is_not(None),
                              sa.func.coalesce(a.reminded_at, a.notified_at) <= due_before).values(
            reminded_at=now, reminders_sent=a.reminders_sent + 1)
    return conn.execute(update).rowcount == 1


def claim_retry(conn: Connection, alert_id: int, kinds: tuple[str, ...], names: list[str], now: dt.datetime
                ) -> tuple[str, list[str]] | None:
    """Claim the re-sending of an alert's last message to the destinations (of ``names``) it failed at.

    Only a message of one of ``kinds`` is retried (the caller's: the notice or a reminder for an open
    alert, the resolution for a resolved one). The claim marks those destinations pending in
    ``deliveries`` with a compare-and-set on the column's text (``UPDATE ... WHERE deliveries =
    <as read>``): of two runs retrying at once, only the one whose update changed the row sends.
    Returns (the message's kind, the destinations claimed), or None when there is nothing to retry
    or another run claimed it first.
    """
    raw = conn.execute(sa.select(ALERTS.c.deliveries).where(ALERTS.c.id == alert_id)).scalar()
    if not raw:
        return None
    outcomes = json.loads(raw)
    failed = [n for n in names if n in outcomes and outcomes[n].get("ok") is False and outcomes[n].get("kind") in kinds]
    kind_of = {outcomes[n]["kind"] for n in failed}
    if not failed or len(kind_of) != 1:  # one kind per message: a mix (never written by seismo) is left alone
        return None
    pending = {n: {**outcomes[n], "ok": None, "pending": True, "at": now.isoformat() + "Z"} for n in failed}
    claimed = conn.execute(ALERTS.update().where(ALERTS.c.id == alert_id, ALERTS.c.deliveries == raw).values(
        deliveries=json.dumps({**outcomes, **pending}, sort_keys=True, default=str)))
    return (kind_of.pop(), failed) if claimed.rowcount == 1 else None


def record_deliveries(conn: Connection, alert_id: int, outcomes: dict[str, dict[str, Any]]) -> None:
    """Merge ``outcomes`` (destination name -> {ok, attempts, error, at, kind}) into the alert's deliveries.

    The caller passes names and results only: a destination's URL or password is never stored."""
    row = conn.execute(sa.select(ALERTS.c.deliveries).where(ALERTS.c.id == alert_id).with_for_update()).scalar()
    merged = {**(json.loads(row) if row else {}), **outcomes}
    conn.execute(ALERTS.update().where(ALERTS.c.id == alert_id).values(
        deliveries=json.dumps(merged, sort_keys=True, default=str)))
