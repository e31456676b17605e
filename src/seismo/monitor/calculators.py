"""The registry of calculators: one :class:`CalculatorSpec` per calculator a `Monitor` runs.

A calculator's ``name`` is its one name everywhere: the key of `Report.results`, the store's
``calculator`` column, the key of ``Monitor(calculators=...)`` and of ``Monitor.calculators_``,
and the section of the CLI config's ``calculators:``. `Monitor`, `Report`, the HTML report, the
ranking, the CLI jobs and the config checks read this registry instead of lists of their own.

Monitors saved by seismo 0.1 keyed the two performance calculators "estimated" and "realized"
(``calculators_``, ``stream_states_``); `current_name` reads those keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from seismo.drift.domain_classifier import METRIC as DOMAIN_CLASSIFIER_METRIC
from seismo.drift.domain_classifier import DomainClassifierDrift
from seismo.drift.methods import DRIFT_METHODS
from seismo.drift.pca import METRIC as PCA_METRIC
from seismo.drift.pca import PCADrift
from seismo.drift.univariate import UnivariateDrift
from seismo.errors import InvalidConfiguration
from seismo.metrics.registry import metrics_for
from seismo.performance.cbpe import CBPE
from seismo.performance.concept import MAGNITUDE, ConceptShift
from seismo.performance.dle import DLE
from seismo.performance.pape import PAPE
from seismo.performance.realized import RealizedPerformance
from seismo.quality.data_quality import QUALITY_METRICS, DataQuality

Kind = Literal["performance", "concept", "drift", "quality"]
T = TypeVar("T")


@dataclass(frozen=True)
class CalculatorSpec:
    """Everything the monitor, the report, the store and the config know about one calculator.

    ``classes``: the classes whose results it holds (the first is the one a monitor builds, but
    for estimated performance, whose class depends on the problem type and ``estimator``).
    ``estimated``: performance estimated without labels (run with ``estimate``) rather than
    measured from them. ``per_column``: drift reported per column, the input of the drift ranking;
    other drift calculators are multivariate (one value per chunk). ``metrics(problem_type)``:
    the metric names it can report, which the config checks ``metrics``/``methods``/``thresholds``
    against; ``what`` names one of them in a message (``{problem_type}`` is filled in).
    ``saved_as``: the key seismo 0.1 saved it under in a monitor's ``calculators_``.
    ``default``: whether a `Monitor` runs it unless told otherwise (``calculators={name: False}``);
    one that is off by default runs when its entry is True or a dict of its arguments.
    """

    name: str
    classes: tuple[type, ...]
    kind: Kind
    metrics: Callable[[str], list[str]] = field(repr=False)
    what: str
    estimated: bool = False
    per_column: bool = False
    saved_as: str | None = None
    default: bool = True

    @property
    def class_names(self) -> tuple[str, ...]:
        """The names `Result.calculator` carries for this calculator's results."""
        return tuple(cls.__name__ for cls in self.classes)

    @property
    def title(self) -> str:
        """The name as words, for figure titles and headings."""
        return self.name.replace("_", " ")


def _performance_metrics(problem_type: str) -> list[str]:
    return metrics_for(problem_type)


ESTIMATED_PERFORMANCE = CalculatorSpec(
    "estimated_performance", (CBPE, PAPE, DLE), "performance", _performance_metrics,
    "metric of {problem_type} problems", estimated=True, saved_as="estimated")
REALIZED_PERFORMANCE = CalculatorSpec(
    "realized_performance", (RealizedPerformance,), "performance", _performance_metrics,
    "metric of {problem_type} problems", saved_as="realized")
# off by default: it fits a LightGBM concept model per chunk of labelled rows (docs/concept.md)
CONCEPT_SHIFT = CalculatorSpec(
    "concept_shift", (ConceptShift,), "concept", lambda problem_type: [*metrics_for(problem_type), MAGNITUDE],
    "metric of {problem_type} problems (or magnitude)", default=False)
UNIVARIATE_DRIFT = CalculatorSpec(
    "univariate_drift", (UnivariateDrift,), "drift", lambda problem_type: list(DRIFT_METHODS), "drift method",
    per_column=True)
PCA_DRIFT = CalculatorSpec("pca_drift", (PCADrift,), "drift", lambda problem_type: [PCA_METRIC], "PCA drift metric")
DOMAIN_CLASSIFIER_DRIFT = CalculatorSpec(
    "domain_classifier_drift", (DomainClassifierDrift,), "drift", lambda problem_type: [DOMAIN_CLASSIFIER_METRIC],
    "domain-classifier drift metric")
DATA_QUALITY = CalculatorSpec(
    "data_quality", (DataQuality,), "quality", lambda problem_type: list(QUALITY_METRICS), "data-quality metric")

#: every calculator by name, in the order a monitor runs them and a report shows them (performance first)
CALCULATORS: dict[str, CalculatorSpec] = {
    spec.name: spec
    for spec in (ESTIMATED_PERFORMANCE, REALIZED_PERFORMANCE, CONCEPT_SHIFT, UNIVARIATE_DRIFT, PCA_DRIFT, DOMAIN_CLASSIFIER_DRIFT,
                 DATA_QUALITY)
}

#: label-free estimators of classification performance, by the name ``Monitor(estimator=...)`` takes
ESTIMATORS: dict[str, type] = {"cbpe": CBPE, "pape": PAPE}
#: the estimator of regression performance, whatever ``estimator`` says
REGRESSION_ESTIMATOR = DLE


def of_kind(kind: Kind, *, estimated: bool | None = None, per_column: bool | None = None) -> list[CalculatorSpec]:
    """The calculators of one kind, in registry order; ``estimated``/``per_column`` narrow them when given."""
    return [spec for spec in CALCULATORS.values() if spec.kind == kind
            and (estimated is None or spec.estimated == estimated)
            and (per_column is None or spec.per_column == per_column)]


def names(specs: Iterable[CalculatorSpec]) -> tuple[str, ...]:
    return tuple(spec.name for spec in specs)


def class_names(specs: Iterable[CalculatorSpec]) -> tuple[str, ...]:
    return tuple(name for spec in specs for name in spec.class_names)


#: the names of the performance calculators (estimated first), whose alerts are performance alerts
PERFORMANCE = names(of_kind("performance"))
#: the drift calculators that report one value per chunk for the whole row
MULTIVARIATE = names(of_kind("drift", per_column=False))


def estimator_class(problem_type: str, estimator: str) -> type:
    """The class estimating performance for a problem type: DLE for regression, else ``ESTIMATORS[estimator]``."""
    if problem_type == "regression":
        return REGRESSION_ESTIMATOR
    if estimator not in ESTIMATORS:
        raise InvalidConfiguration(f"estimator is {estimator!r}; available: {list(ESTIMATORS)}")
    return ESTIMATORS[estimator]


def estimated_class_name(is_regression: bool) -> str:
    """The class a stored estimate is labelled with: DLE for regression metrics, else CBPE (a store does
    not say whether PAPE estimated them; `rank` accepts either)."""
    return (REGRESSION_ESTIMATOR if is_regression else ESTIMATORS["cbpe"]).__name__


_SAVED_AS = {spec.saved_as: spec.name for spec in CALCULATORS.values() if spec.saved_as is not None}


def current_name(key: str) -> str:
    """A calculator's name from a key a monitor saved: the 0.1 keys "estimated"/"realized" become
    "estimated_performance"/"realized_performance"; any other key is the name itself."""
    return _SAVED_AS.get(key, key)


def with_current_names(by_key: Mapping[str, T]) -> dict[str, T]:
    """A mapping keyed by calculator (``calculators_``, ``stream_states_``) with every key as `current_name`."""
    return {current_name(key): value for key, value in by_key.items()}
