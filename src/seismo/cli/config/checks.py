"""Checks that need more than one key: custom metrics, metric and method names for the problem type,
threshold names, segment options without segments, and the store's URL."""

from __future__ import annotations

from typing import Any

from seismo.cli.config.fields import SEGMENT_OPTIONS, Config
from seismo.cli.config.problems import Problem, did_you_mean
from seismo.errors import InvalidConfiguration
from seismo.metrics.custom import CustomMetric, declare, import_function
from seismo.monitor.calculators import CALCULATORS


def _check_names(given: list[str] | None, valid: list[str], where: str, kind: str, what: str) -> list[Problem]:
    problems = []
    for i, name in enumerate(given or []):
        if name not in valid:
            problems.append(Problem(kind, f"{where}[{i}]", f"{name!r} is not a {what}; valid: {', '.join(valid)}"
                                    f"{did_you_mean(name, valid)}"))
    return problems


def _store_problems(url: str) -> list[Problem]:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return [Problem("store_url", "store", f"{url!r} is not a SQLAlchemy URL; write e.g. "
                                              "sqlite:///monitoring.db or postgresql+psycopg://user:pw@host/db")]
    try:
        parsed.get_dialect()
    except NoSuchModuleError:
        return [Problem("store_url", "store", f"no SQLAlchemy driver for {parsed.drivername!r}; use e.g. "
                                              "sqlite or postgresql+psycopg")]
    except ImportError as exc:
        return [Problem("store_url", "store", f"the driver for {parsed.drivername!r} is not installed: {exc}")]
    return []


def declared_custom_metrics(config: Config) -> tuple[list[CustomMetric], list[Problem]]:
    """The config's ``custom_metrics``, each function imported from its path and the metric checked as
    `seismo.metrics.register` checks it (not registered: `seismo.cli.jobs` registers them before it
    builds the monitor); a problem under the entry's key for each one that cannot be declared."""
    declared: list[CustomMetric] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, entry in enumerate(config.custom_metrics or []):
        where = f"custom_metrics[{i}]"
        if entry.name in seen:
            problems.append(Problem("custom_metric", f"{where}.name", f"{entry.name!r} is declared twice"))
            continue
        seen.add(entry.name)
        functions: dict[str, Any] = {}
        for role, path in entry.paths().items():
            try:
                functions[role] = import_function(path)
            except InvalidConfiguration as exc:
                problems.append(Problem("custom_metric", f"{where}.{role}", str(exc)))
        if len(functions) < len(entry.paths()):
            continue
        try:
            metric = declare(entry.name, **functions, **entry.options())
        except InvalidConfiguration as exc:
            problems.append(Problem("custom_metric", where, str(exc)))
            continue
        if config.model.problem_type not in metric.problem_types:
            problems.append(Problem("custom_metric", where, f"{entry.name!r} is a metric of "
                                    f"{' and '.join(metric.problem_types)} problems; this model is "
                                    f"{config.model.problem_type}"))
            continue
        declared.append(metric)
    return declared, problems


def _alert_rule_problems(config: Config) -> list[Problem]:
    """An alert rule naming a calculator that does not exist would silently never alert."""
    problems: list[Problem] = []
    for i, rule in enumerate((config.alerts.rules or []) if config.alerts else []):
        problems += _check_names(rule.calculators, list(CALCULATORS), f"alerts.rules[{i}].calculators",
                                 "unknown_calculator", "calculator")
    return problems


def semantic_problems(config: Config) -> list[Problem]:
    """Checks that need more than one key: custom metrics, metric and method names, threshold names,
    segment options without segments, the store URL."""
    calcs = config.calculators
    problem_type = config.model.problem_type
    custom, problems = declared_custom_metrics(config)
    valid = {name: spec.metrics(problem_type) for name, spec in CALCULATORS.items()}
    # a declared custom metric is a performance metric like the others; one that could not be declared is
    # reported under custom_metrics already, not again wherever it is named
    named = [*(metric.name for metric in custom), *(entry.name for entry in config.custom_metrics or [])]
    for name, spec in CALCULATORS.items():
        if spec.kind in ("performance", "concept"):
            valid[name] = list(dict.fromkeys([*valid[name], *named]))
    for name, spec in CALCULATORS.items():  # a section's ``metrics`` (or drift ``methods``) list
        section = getattr(calcs, name)
        for key, kind in (("metrics", "unknown_metric"), ("methods", "unknown_method")):
            if hasattr(section, key):
                problems += _check_names(getattr(section, key), valid[name], f"calculators.{name}.{key}", kind,
                                         spec.what.format(problem_type=problem_type))
    for name, section in calcs:
        chosen = getattr(section, "metrics", None) or getattr(section, "methods", None) or valid[name]
        for metric in section.thresholds:
            if metric not in chosen:
                problems.append(Problem("unknown_metric", f"calculators.{name}.thresholds.{metric}",
                                        f"{metric!r} is not computed by {name}; choose from {', '.join(chosen)}"
                                        f"{did_you_mean(metric, chosen)}"))
    if not config.segments:  # the segment options tune segments: alone they would silently do nothing
        problems += [Problem("segment_options", key, "needs segments: declare the segment columns, e.g. "
                                                     "segments: [region]")
                     for key in SEGMENT_OPTIONS if getattr(config, key) is not None]
    problems += _alert_rule_problems(config)
    problems += _store_problems(config.store_url())
    for period in ("reference", "analysis", "targets"):
        source = getattr(config.data, period)
        if source is not None and source.is_sql:
            found = _store_problems(source.url)
            problems += [Problem("sql_url", f"data.{period}.url", p.message.replace("SQLAlchemy URL",
                                                                                     "SQLAlchemy URL for data"))
                         for p in found]
    return problems
