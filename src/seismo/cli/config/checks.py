"""Checks that need more than one key: metric and method names for the problem type,
threshold names, segment options without segments, and the store's URL."""

from __future__ import annotations

from seismo.cli.config.fields import SEGMENT_OPTIONS, Config
from seismo.cli.config.problems import Problem, did_you_mean
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


def semantic_problems(config: Config) -> list[Problem]:
    """Checks that need more than one key: metric and method names, threshold names, segment options
    without segments, the store URL."""
    problems: list[Problem] = []
    calcs = config.calculators
    problem_type = config.model.problem_type
    valid = {name: spec.metrics(problem_type) for name, spec in CALCULATORS.items()}
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
    problems += _store_problems(config.store_url())
    for period in ("reference", "analysis", "targets"):
        source = getattr(config.data, period)
        if source is not None and source.is_sql:
            found = _store_problems(source.url)
            problems += [Problem("sql_url", f"data.{period}.url", p.message.replace("SQLAlchemy URL",
                                                                                     "SQLAlchemy URL for data"))
                         for p in found]
    return problems
