"""Checks that need more than one key: metric and method names for the problem type,
threshold names, and the store's URL."""

from __future__ import annotations

from seismo.drift.domain_classifier import METRIC as DOMAIN_CLASSIFIER_METRIC
from seismo.drift.methods import DRIFT_METHODS
from seismo.drift.pca import METRIC as PCA_METRIC
from seismo.metrics.registry import metrics_for
from seismo.quality.data_quality import QUALITY_METRICS
from seismo.cli.config.problems import Problem, did_you_mean
from seismo.cli.config.fields import Config


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
    """Checks that need more than one key: metric and method names, threshold names, the store URL."""
    problems: list[Problem] = []
    calcs = config.calculators
    performance = metrics_for(config.model.problem_type)
    valid = {
        "estimated_performance": performance, "realized_performance": performance,
        "univariate_drift": list(DRIFT_METHODS), "pca_drift": [PCA_METRIC],
        "domain_classifier_drift": [DOMAIN_CLASSIFIER_METRIC], "data_quality": QUALITY_METRICS,
    }
    for name in ("estimated_performance", "realized_performance"):
        problems += _check_names(getattr(calcs, name).metrics, performance, f"calculators.{name}.metrics",
                                 "unknown_metric", f"metric of {config.model.problem_type} problems")
    problems += _check_names(calcs.univariate_drift.methods, list(DRIFT_METHODS), "calculators.univariate_drift.methods",
                             "unknown_method", "drift method")
    problems += _check_names(calcs.data_quality.metrics, QUALITY_METRICS, "calculators.data_quality.metrics",
                             "unknown_metric", "data-quality metric")
    for name, section in calcs:
        chosen = getattr(section, "metrics", None) or getattr(section, "methods", None) or valid[name]
        for metric in section.thresholds:
            if metric not in chosen:
                problems.append(Problem("unknown_metric", f"calculators.{name}.thresholds.{metric}",
                                        f"{metric!r} is not computed by {name}; choose from {', '.join(chosen)}"
                                        f"{did_you_mean(metric, chosen)}"))
    problems += _store_problems(config.store_url())
    for period in ("reference", "analysis", "targets"):
        source = getattr(config.data, period)
        if source is not None and source.is_sql:
            found = _store_problems(source.url)
            problems += [Problem("sql_url", f"data.{period}.url", p.message.replace("SQLAlchemy URL",
                                                                                     "SQLAlchemy URL for data"))
                         for p in found]
    return problems
