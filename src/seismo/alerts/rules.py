"""Alert rules: which stored results alert whom, after how many breaching chunks, how often again.

One alert is one model × calculator × column × metric × segment (`AlertKey`) that breaches its
rule. A rule picks keys (calculators, metrics, columns, segments: by default every calculator's
overall rows) and says how they alert: `Persistence` (k of the last n analysis chunks must
alert, so one noisy chunk pages nobody), `remind_every` (an open alert is re-sent as a reminder
only after this interval; otherwise never), `cooldown` (an alert that re-opens this soon after
its key resolved is recorded but not sent: a flapping metric pages once) and `resolve` (a
message when the latest chunk is back inside the thresholds). `breaches` applies rules to the
stored rows; `seismo.alerts.state` turns its answer into alert state and messages.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import pandas as pd

from seismo.errors import InvalidConfiguration

SEVERITIES = ("performance", "drift", "quality")  # most urgent first: the order of a message's events
ALL_SEGMENTS = "*"
_KIND_SEVERITY = {"performance": "performance", "concept": "performance", "drift": "drift", "quality": "quality"}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str | dt.timedelta | None) -> dt.timedelta | None:
    """``"24h"``, ``"30m"``, ``"7d"``, ``"1w"``, ``"90s"`` (or a timedelta) as a timedelta; None stays None."""
    if text is None or isinstance(text, dt.timedelta):
        return text
    match = _DURATION.fullmatch(str(text))
    if match is None or float(match.group(1)) <= 0:
        raise InvalidConfiguration(f"{text!r} is not a duration; write a positive number and a unit: 90s, 30m, "
                                   "24h, 7d or 1w")
    return dt.timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def severity_of(calculator: str) -> str:
    """The default severity of a calculator's alerts: performance (and concept), drift or quality."""
    from seismo.monitor.calculators import CALCULATORS

    spec = CALCULATORS.get(calculator)
    return _KIND_SEVERITY.get(spec.kind, "drift") if spec is not None else "drift"


class AlertKey(NamedTuple):
    """What counts as one alert (column and segment None for model-level metrics and the overall rows)."""

    calculator: str
    column: str | None
    metric: str
    segment: str | None


@dataclass(frozen=True)
class Persistence:
    """Alert when at least ``k`` of the last ``n`` analysis chunks alert (default 1 of 1: the latest)."""

    k: int = 1
    n: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.k <= self.n:
            raise InvalidConfiguration(f"persistence needs 1 <= k <= n, not k={self.k}, n={self.n}")


def _names(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class AlertRule:
    """Which keys a rule covers (None: any) and how they alert; ``segments`` None: the overall rows only,
    ``"*"``: every segment's rows and the overall ones, or the labels named (``"region=north"``)."""

    calculators: tuple[str, ...] | None = None
    metrics: tuple[str, ...] | None = None
    columns: tuple[str, ...] | None = None
    segments: tuple[str, ...] | None = None
    severity: str | None = None  # None: the calculator's kind (severity_of)
    persistence: Persistence = field(default_factory=Persistence)
    remind_every: dt.timedelta | None = None
    cooldown: dt.timedelta | None = None
    resolve: bool = True

    def __post_init__(self) -> None:
        for name in ("calculators", "metrics", "columns", "segments"):
            object.__setattr__(self, name, _names(getattr(self, name)))
        object.__setattr__(self, "remind_every", parse_duration(self.remind_every))
        object.__setattr__(self, "cooldown", parse_duration(self.cooldown))
        if self.severity is not None and self.severity not in SEVERITIES:
            raise InvalidConfiguration(f"severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")

    def covers(self, key: AlertKey) -> bool:
        if self.segments is None:
            in_segments = key.segment is None
        else:
            in_segments = ALL_SEGMENTS in self.segments or key.segment in self.segments
        return (in_segments and (self.calculators is None or key.calculator in self.calculators)
                and (self.metrics is None or key.metric in self.metrics)
                and (self.columns is None or key.column in self.columns))

    def severity_for(self, key: AlertKey) -> str:
        return self.severity or severity_of(key.calculator)


@dataclass(frozen=True)
class AlertPolicy:
    """Everything alerting needs besides the destinations: the rules (the first that covers a key decides
    it; none: one default rule), ``quiet`` (record the state, send nothing: backfills) and the report's
    base URL that messages link to."""

    rules: tuple[AlertRule, ...] = (AlertRule(),)
    quiet: bool = False
    report_url: str | None = None

    def rule_for(self, key: AlertKey) -> AlertRule | None:
        return next((rule for rule in self.rules if rule.covers(key)), None)


@dataclass(frozen=True)
class Breach:
    """A covered key's standing in the stored results: whether its rule's k of n chunks alert, and its latest chunk."""

    key: AlertKey
    rule: AlertRule
    breaching: bool  # k of the last n chunks alert
    latest_alerts: bool  # the latest chunk alerts (False: back inside its thresholds)
    chunk_key: str
    chunk_start: str | None
    value: float | None
    lower_threshold: float | None
    upper_threshold: float | None
    alerting_chunks: int  # of the last n


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def breaches(results: pd.DataFrame, policy: AlertPolicy) -> list[Breach]:
    """Each covered key of the stored ``results`` (`ResultsStore.results`' frame) with its standing.

    Only analysis rows count, in chunk order (start date, then start row); a key's latest chunk is
    the newest stored for it, so an incremental run's still-growing chunk is judged as it stands.
    """
    rows = results[results["period"] == "analysis"]
    if rows.empty:
        return []
    if "segment" not in rows.columns:
        rows = rows.assign(segment=None)
    rows = rows.assign(column=rows["column"].astype(object).where(rows["column"].notna(), None),
                       segment=rows["segment"].astype(object).where(rows["segment"].notna(), None))
    found = []
    for (calculator, column, metric, segment), group in rows.groupby(
            ["calculator", "column", "metric", "segment"], dropna=False, sort=True):
        key = AlertKey(str(calculator), None if pd.isna(column) else str(column), str(metric),
                       None if pd.isna(segment) else str(segment))
        rule = policy.rule_for(key)
        if rule is None:
            continue
        ordered = group.sort_values(["chunk_start_date", "chunk_start_index", "chunk_index"], na_position="first")
        window = ordered.tail(rule.persistence.n)
        alerting = int(window["alert"].astype(bool).sum())
        latest = ordered.iloc[-1]
        start = latest["chunk_start_date"]
        found.append(Breach(key, rule, alerting >= rule.persistence.k, bool(latest["alert"]), str(latest["chunk_key"]),
                            None if pd.isna(start) else pd.Timestamp(start).isoformat(), _number(latest["value"]),
                            _number(latest["lower_threshold"]), _number(latest["upper_threshold"]), alerting))
    return found
