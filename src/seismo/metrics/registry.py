"""The registry of metrics: one :class:`MetricSpec` per name, no if-chains.

Callers look a metric up with :func:`get_metric` and call
``spec.finish(partial, **options)``. Bounds clip thresholds and confidence
bands to the metric's range; ``higher_is_better`` orients alerts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from seismo.errors import InvalidConfiguration
from seismo.metrics import classification as clf
from seismo.metrics import regression as reg
from seismo.metrics.partials import ClassificationPartial

PROBLEM_TYPES = ("binary", "multiclass", "regression")
_CLASSIFICATION = ("binary", "multiclass")
_REGRESSION = ("regression",)


@dataclass(frozen=True)
class MetricSpec:
    """What a metric is, its range and its direction.

    ``finish(partial, **options)`` returns a float, or for a ``multi_valued``
    metric a dict cell -> float (``higher_is_better`` is then not meaningful).
    ``lower_bound`` / ``upper_bound`` of None mean unbounded.
    """

    name: str
    problem_types: tuple[str, ...]
    finish: Callable[..., Any]
    lower_bound: float | None
    upper_bound: float | None
    higher_is_better: bool
    multi_valued: bool = False


def _confusion_cells(
    partial: ClassificationPartial,
    normalize: str = "none",
    labels: Sequence[object] | None = None,
) -> dict[str, float]:
    """Binary: the four named cells; multiclass: ``true_{a}_pred_{b}`` cells."""
    matrix = clf.confusion_matrix(partial, normalize=normalize)
    if partial.is_binary:
        return clf.binary_confusion_cells(matrix)
    names = list(range(partial.n_classes)) if labels is None else list(labels)
    return clf.multiclass_confusion_cells(matrix, names)


def _fraction(name: str, finish: Callable[..., float]) -> MetricSpec:
    return MetricSpec(name, _CLASSIFICATION, finish, 0.0, 1.0, True)


def _loss(name: str, finish: Callable[..., float]) -> MetricSpec:
    return MetricSpec(name, _REGRESSION, finish, 0.0, None, False)


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        _fraction("roc_auc", clf.roc_auc),
        _fraction("average_precision", clf.average_precision),
        _fraction("f1", clf.f1),
        _fraction("precision", clf.precision),
        _fraction("recall", clf.recall),
        _fraction("specificity", clf.specificity),
        _fraction("accuracy", clf.accuracy),
        MetricSpec("confusion_matrix", _CLASSIFICATION, _confusion_cells, 0.0, None, True, True),
        MetricSpec("business_value", _CLASSIFICATION, clf.business_value, None, None, True),
        _loss("mae", reg.mae),
        _loss("mape", reg.mape),
        _loss("mse", reg.mse),
        _loss("rmse", reg.rmse),
        _loss("msle", reg.msle),
        _loss("rmsle", reg.rmsle),
    )
}


def check_problem_type(problem_type: str) -> None:
    if problem_type not in PROBLEM_TYPES:
        raise InvalidConfiguration(f"problem_type is {problem_type!r}; use one of {list(PROBLEM_TYPES)}")


def metrics_for(problem_type: str) -> list[str]:
    """Names of the metrics defined for a problem type, in registry order."""
    check_problem_type(problem_type)
    return [name for name, spec in METRICS.items() if problem_type in spec.problem_types]


def get_metric(name: str, problem_type: str) -> MetricSpec:
    """The spec of ``name``; InvalidConfiguration listing the valid names otherwise."""
    valid = metrics_for(problem_type)
    if name not in valid:
        raise InvalidConfiguration(
            f"metric {name!r} is not available for {problem_type} problems; valid: {valid}"
        )
    return METRICS[name]
