"""The ``alerts:`` section of a `seismo run` config: destinations, rules, quiet mode, the report's URL.

The config is read with its ``${VAR}`` references expanded (a webhook URL or an SMTP password comes
from the environment), while the store keeps the YAML as written (`Config.unexpanded`), so a secret
never reaches the store. Rules become `seismo.alerts.rules.AlertRule`s, destinations the
`seismo.alerts.destinations` objects; docs/alerts.md ("Config") shows a whole section.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PositiveInt, model_validator
from pydantic_core import PydanticCustomError

from seismo.alerts.rules import AlertPolicy, AlertRule, Persistence, parse_duration
from seismo.errors import InvalidConfiguration


def _duration(value: Any) -> dt.timedelta | None:
    try:
        return parse_duration(value)
    except InvalidConfiguration as exc:
        raise PydanticCustomError("bad_value", "{message}", {"message": str(exc)}) from None


def _names(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class Section(BaseModel):
    """A part of the config: unknown keys are errors (as `seismo.cli.config.fields.Section`, which imports this)."""

    model_config = ConfigDict(extra="forbid")


Duration = Annotated[dt.timedelta, BeforeValidator(_duration)]  # "24h", "30m", "7d"
Names = Annotated[list[str], BeforeValidator(_names)]  # a bare name is a list of one


class PersistenceConfig(Section):
    """``{k: 2, n: 3}``: alert when 2 of the last 3 analysis chunks breach."""

    k: PositiveInt = 1
    n: PositiveInt = 1

    @model_validator(mode="after")
    def _k_of_n(self) -> PersistenceConfig:
        if self.k > self.n:
            raise PydanticCustomError("bad_value", "k ({k}) cannot exceed n ({n}): k of the last n chunks",
                                      {"k": self.k, "n": self.n})
        return self


class RuleConfig(Section):
    """One rule; every filter left out matches anything, but ``segments`` left out is the overall rows only."""

    calculators: Names | None = None
    metrics: Names | None = None
    columns: Names | None = None
    segments: Names | None = None  # ["*"]: every segment too
    severity: Literal["performance", "drift", "quality"] | None = None
    persistence: PersistenceConfig = Field(default_factory=PersistenceConfig)
    remind_every: Duration | None = None
    cooldown: Duration | None = None
    resolve: bool = True

    def to_rule(self) -> AlertRule:
        return AlertRule(calculators=self.calculators, metrics=self.metrics, columns=self.columns,  # type: ignore[arg-type]
                         segments=self.segments, severity=self.severity,  # type: ignore[arg-type]
                         persistence=Persistence(self.persistence.k, self.persistence.n),
                         remind_every=self.remind_every, cooldown=self.cooldown, resolve=self.resolve)


class _Delivery(Section):
    name: str = Field(min_length=1)
    timeout: float = Field(default=10.0, gt=0)  # seconds per attempt
    retries: int = Field(default=3, ge=0)
    backoff: float = Field(default=0.5, ge=0)  # seconds before the first retry, doubled for each next one


class WebhookConfig(_Delivery):
    type: Literal["webhook"]
    url: str = Field(min_length=1)
    headers: dict[str, str] | None = None
    template: Literal["slack", "teams", "pagerduty"] | None = None  # None: seismo's versioned JSON payload
    routing_key: str | None = None  # PagerDuty's integration key (template: pagerduty)


class SlackConfig(_Delivery):
    type: Literal["slack"]
    url: str = Field(min_length=1)


class EmailConfig(_Delivery):
    type: Literal["email"]
    host: str = Field(min_length=1)
    port: PositiveInt = 587
    sender: str = Field(min_length=1)
    to: Names = Field(min_length=1)
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    cafile: str | None = None  # a private CA's certificate for the server's (relative: to the config's folder)


DestinationConfig = Annotated[WebhookConfig | SlackConfig | EmailConfig, Field(discriminator="type")]


class AlertsConfig(Section):
    """``alerts:``: where messages go, which breaches send them, and whether to send at all (``quiet``)."""

    destinations: list[DestinationConfig] = Field(default_factory=list)
    rules: list[RuleConfig] | None = None  # None: one rule with every default
    quiet: bool = False  # record alert state, send nothing: backfills
    report_url: str | None = None  # the base URL of the report, linked from each message

    @model_validator(mode="after")
    def _unique_names(self) -> AlertsConfig:
        names = [d.name for d in self.destinations]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise PydanticCustomError("bad_value", "destination names must differ: {names} given twice",
                                      {"names": ", ".join(twice)})
        return self

    def policy(self) -> AlertPolicy:
        rules = tuple(r.to_rule() for r in self.rules) if self.rules else (AlertRule(),)
        return AlertPolicy(rules=rules, quiet=self.quiet, report_url=self.report_url)

    def build_destinations(self, base_dir: Path | None = None) -> list[Any]:
        """The `seismo.alerts.destinations` objects, secrets already expanded by the config's reading;
        ``base_dir`` resolves a relative ``cafile``."""
        from seismo.alerts import destinations

        built: list[Any] = []
        for d in self.destinations:
            timing: dict[str, Any] = dict(timeout=d.timeout, retries=d.retries, backoff=d.backoff)
            if isinstance(d, WebhookConfig):
                built.append(destinations.Webhook(d.name, d.url, headers=d.headers, template=d.template,
                                                  routing_key=d.routing_key, **timing))
            elif isinstance(d, SlackConfig):
                built.append(destinations.Slack(d.name, d.url, **timing))
            else:
                built.append(destinations.Email(d.name, d.host, port=d.port, sender=d.sender, to=list(d.to),
                                                username=d.username, password=d.password, starttls=d.starttls,
                                                cafile=None if d.cafile is None else str((base_dir or Path(".")) / d.cafile),
                                                **timing))
        return built
