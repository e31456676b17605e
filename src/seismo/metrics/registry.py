"""The registry of metrics: one :class:`MetricSpec` per name, the one home of every fact about a metric.

Callers look a metric up with :func:`get_metric` and call ``spec.finish(partial, **options)``.
Bounds clip thresholds and confidence bands to the metric's range; ``higher_is_better`` orients
alerts and the drift ranking's performance drop; a loss metric names its per-row loss
(`seismo.metrics.losses`), which realized performance sums and DLE learns; ``options`` say which
calculator argument sets each ``finish`` keyword; ``noise`` says how a sum-like value scales with
the chunk size. Realized performance, CBPE, PAPE, DLE, the ranking, the report and the CLI read
these, never a list of metric names of their own; adding a metric is its formula and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from seismo._typing import NoiseKind
from seismo.errors import InvalidConfiguration
from seismo.metrics import classification as clf
from seismo.metrics.losses import ABS_ERROR, ABS_PCT_ERROR, SQ_ERROR, SQ_LOG_ERROR, RowLoss
from seismo.metrics.partials import ClassificationPartial
from seismo.metrics.regression import mean_loss, root_mean_loss

PROBLEM_TYPES = ("binary", "multiclass", "regression")
_CLASSIFICATION = ("binary", "multiclass")
_REGRESSION = ("regression",)
#: the values a calculator provides to metric options beside its own arguments
CLASS_LABELS = "class_labels"  # the class labels of a multiclass problem (None for a binary one)
#: a sampling-noise kind of `seismo.engine.sampling_error.Scaling`; a rate (the default) is "location"
RATE: NoiseKind = "location"


@dataclass(frozen=True)
class MetricOption:
    """One keyword of a metric's ``finish``, and the calculator argument that sets it.

    ``source`` is an argument of the performance calculators (`RealizedPerformance`, whose
    estimators share it) or `CLASS_LABELS`; ``default`` is that argument's default. A value of
    None leaves the keyword to ``finish``'s own default, or, when ``required``, leaves the metric
    unavailable. ``choices``: the values allowed; ``check(value, n_classes)`` returns what is wrong
    with a given value (None: nothing); ``convert`` turns the argument into what ``finish`` takes.
    """

    keyword: str
    source: str
    default: Any = None
    required: bool = False
    choices: tuple[Any, ...] | None = None
    check: Callable[[Any, int], str | None] | None = None
    convert: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class MetricSpec:
    """What a metric is, its range and its direction.

    ``finish(partial, **options)`` returns a float, or for a ``multi_valued``
    metric a dict cell -> float (``higher_is_better`` is then not meaningful).
    ``lower_bound`` / ``upper_bound`` of None mean unbounded. ``loss``: the per-row loss a
    regression metric is the (root) mean of. ``noise(options)``: ``(scaling kind, upper bound)``
    of the values under the given finish options, for a metric whose values are sums over rows
    unless normalised; None: a rate (``RATE``, ``upper_bound``). ``rank_order``: the ranking's
    default choice among a result's metrics, lowest first (None: after those that have one).
    """

    name: str
    problem_types: tuple[str, ...]
    finish: Callable[..., Any]
    lower_bound: float | None
    upper_bound: float | None
    higher_is_better: bool
    multi_valued: bool = False
    loss: RowLoss | None = None
    options: tuple[MetricOption, ...] = ()
    noise: Callable[[Mapping[str, Any]], tuple[NoiseKind, float | None]] | None = None
    rank_order: int | None = None

    def scaling(self, options: Mapping[str, Any]) -> tuple[NoiseKind, float | None]:
        """``(scaling kind, upper bound)`` of the values under the finish ``options``."""
        return self.noise(options) if self.noise is not None else (RATE, self.upper_bound)


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


def _fraction(name: str, finish: Callable[..., float], rank_order: int) -> MetricSpec:
    return MetricSpec(name, _CLASSIFICATION, finish, 0.0, 1.0, True, rank_order=rank_order)


def loss_metric(name: str, loss: RowLoss, *, root: bool = False, rank_order: int | None = None) -> MetricSpec:
    """A regression metric that is the mean (``root``: the root of the mean) of a per-row loss."""
    finish = partial(root_mean_loss if root else mean_loss, loss=loss)
    return MetricSpec(name, _REGRESSION, finish, 0.0, None, False, loss=loss, rank_order=rank_order)


CONFUSION_NORMALIZATIONS = ("none", "all", "true", "pred")


def _confusion_noise(options: Mapping[str, Any]) -> tuple[NoiseKind, float | None]:
    """Unnormalised cells count rows (Poisson-floored counts); normalised ones are rates in [0, 1]."""
    return ("count", None) if options.get("normalize", "none") == "none" else (RATE, 1.0)


def _business_value_noise(options: Mapping[str, Any]) -> tuple[NoiseKind, float | None]:
    """The value is a sum over rows (it grows with the chunk) unless normalised per prediction."""
    return (RATE if options.get("normalize_per_prediction") else "extensive", None)


def _square_matrix(value: Any, n_classes: int) -> str | None:
    shape = None if value is None else np.asarray(value, dtype=float).shape
    if shape == (n_classes, n_classes):
        return None
    return f"of shape ({n_classes}, {n_classes}) indexed [true, predicted]; got {shape}"


def _float_matrix(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=float)


CONFUSION_OPTIONS = (
    MetricOption("normalize", "normalize_confusion_matrix", "none", choices=CONFUSION_NORMALIZATIONS),
    MetricOption("labels", CLASS_LABELS),
)
BUSINESS_VALUE_OPTIONS = (
    MetricOption("value_matrix", "business_value_matrix", required=True, check=_square_matrix,
                 convert=_float_matrix),
    MetricOption("normalize_per_prediction", "normalize_business_value", False),
)

METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        _fraction("roc_auc", clf.roc_auc, 0),
        _fraction("average_precision", clf.average_precision, 3),
        _fraction("f1", clf.f1, 2),
        _fraction("precision", clf.precision, 4),
        _fraction("recall", clf.recall, 5),
        _fraction("specificity", clf.specificity, 6),
        _fraction("accuracy", clf.accuracy, 1),
        MetricSpec("confusion_matrix", _CLASSIFICATION, _confusion_cells, 0.0, None, True, True,
                   options=CONFUSION_OPTIONS, noise=_confusion_noise),
        MetricSpec("business_value", _CLASSIFICATION, clf.business_value, None, None, True,
                   options=BUSINESS_VALUE_OPTIONS, noise=_business_value_noise, rank_order=7),
        loss_metric("mae", ABS_ERROR, rank_order=8),
        loss_metric("mape", ABS_PCT_ERROR, rank_order=11),
        loss_metric("mse", SQ_ERROR, rank_order=10),
        loss_metric("rmse", SQ_ERROR, root=True, rank_order=9),
        loss_metric("msle", SQ_LOG_ERROR, rank_order=12),
        loss_metric("rmsle", SQ_LOG_ERROR, root=True, rank_order=13),
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


def ranking_preference() -> list[str]:
    """Single-valued metrics in the order the drift ranking picks its default metric."""
    order = list(METRICS)
    single = [spec for spec in METRICS.values() if not spec.multi_valued]
    return [spec.name for spec in sorted(single, key=lambda s: (s.rank_order is None, s.rank_order or 0,
                                                                order.index(s.name)))]


def row_loss(name: str) -> RowLoss:
    """The per-row loss called ``name`` that some metric averages; InvalidConfiguration otherwise."""
    losses = row_losses_by_name()
    if name not in losses:
        raise InvalidConfiguration(f"loss {name!r} is not the loss of any metric; known: {sorted(losses)}")
    return losses[name]


def row_losses_by_name() -> dict[str, RowLoss]:
    """Every per-row loss a registered metric averages, by name, in registry order."""
    return {spec.loss.name: spec.loss for spec in METRICS.values() if spec.loss is not None}


def metric_loss(metric: str) -> RowLoss:
    """The per-row loss a regression metric averages; InvalidConfiguration for any other metric."""
    loss = METRICS[metric].loss if metric in METRICS else None
    if loss is None:
        raise InvalidConfiguration(f"{metric!r} is not a metric of a per-row loss; those are "
                                   f"{[name for name, spec in METRICS.items() if spec.loss is not None]}")
    return loss


def losses_of(metrics: Sequence[str]) -> list[RowLoss]:
    """The distinct per-row losses the given metrics average, in the order first needed."""
    found: dict[str, RowLoss] = {}
    for name in metrics:
        loss = METRICS[name].loss
        if loss is not None:
            found.setdefault(loss.name, loss)
    return list(found.values())


def finish_options(spec: MetricSpec, value_of: Callable[[str], Any]) -> dict[str, Any] | None:
    """The ``finish`` keywords of a metric from where its options come from (``value_of(source)``);
    None when a required one has no value. Options without a value are left out."""
    out: dict[str, Any] = {}
    for option in spec.options:
        value = value_of(option.source)
        if value is None:
            if option.required:
                return None
            continue
        out[option.keyword] = option.convert(value) if option.convert is not None else value
    return out
