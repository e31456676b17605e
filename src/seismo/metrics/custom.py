"""Custom metrics: declared once with `register`, then computed wherever a metric name is accepted.

A custom metric becomes one more `MetricSpec` in `seismo.metrics.registry.METRICS`, finished from
the same partials as the built-in metrics. That is why it is realized *and* estimated without
further code: realized performance fills the partials with labels, CBPE and PAPE with calibrated
probabilities (soft labels: every confusion count is an expected count), DLE with the predicted
per-row losses of its loss model. Three kinds:

* ``confusion=fn``: ``fn(matrix)`` of the C x C confusion matrix (rows = true class, columns =
  predicted class; expected counts when labels are soft) returns one number, e.g. a cost
  ``lambda m: 5 * m[1, 0] + m[0, 1]``.
* ``per_class=fn``: ``fn(tp, fp, fn, tn)`` of per-class (one class against the rest) count arrays
  returns one value per class; the metric is class 1's for a binary problem and the unweighted
  mean over classes for a multiclass one, as the built-in precision or recall
  (`seismo.metrics.classification`).
* ``loss=fn`` (regression): ``fn(y_true, y_pred)`` returns each row's loss (finite, >= 0); the
  metric is its mean over the chunk's rows, passed through ``finish`` when given (e.g.
  ``math.sqrt``: the root of the mean, as RMSE). The loss is a `RowLoss` named as the metric,
  so realized performance sums it (`LossSums`) and DLE trains a loss model on it.

A metric's value is a rate by default: its sampling error shrinks as 1/sqrt(rows). A metric that
is a sum over rows (a total cost) is declared ``extensive=True``: its values, thresholds and
sampling errors then scale with the chunk's size, as the built-in unnormalised business value.

A registered metric joins the default metrics of its problem types: declaring it says that it is
to be monitored. ``metrics=[...]`` still chooses exactly.

Saving: each function's import path (``"module:qualname"``) is recorded (`CustomMetric.paths`);
a saved monitor stores those paths, never code (`seismo.persist`). A lambda, a nested function or
one defined in ``__main__`` has no path: it works in the session, but a monitor that uses it
cannot be saved.
"""

from __future__ import annotations

import importlib
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seismo._typing import NoiseKind
from seismo.errors import InvalidConfiguration, InvalidData
from seismo.metrics.classification import one_vs_rest_counts
from seismo.metrics.losses import RowLoss
from seismo.metrics.partials import ClassificationPartial, LossSums
from seismo.metrics.registry import METRICS, PROBLEM_TYPES, MetricSpec, row_losses_by_name
from seismo.metrics.regression import mean_loss

#: the kinds of custom metric, by the keyword of `register` that declares each
KINDS = ("confusion", "per_class", "loss")
#: the function roles of each kind: the declaring function, and a loss metric's optional ``finish``
ROLES: dict[str, tuple[str, ...]] = {"confusion": ("confusion",), "per_class": ("per_class",),
                                     "loss": ("loss", "finish")}
CLASSIFICATION_TYPES = ("binary", "multiclass")
REGRESSION_TYPES = ("regression",)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# metric names realized performance already writes beside its metrics: a custom metric would overwrite them
_RESERVED = frozenset({"true_positive", "false_positive", "true_negative", "false_negative", "targets_missing_rate"})
_CELL = re.compile(r"^true_.*_pred_")  # a multiclass confusion cell, true_{a}_pred_{b}

# the custom metrics registered in this session, by name (each also in METRICS)
_CUSTOM: dict[str, CustomMetric] = {}


def import_path(function: Any) -> str | None:
    """``"module:qualname"`` under which ``function`` can be imported again; None when it cannot
    (a lambda, a nested function, one defined in ``__main__``, or one not found under its name)."""
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or module == "__main__" or "<" in qualname:
        return None
    found: Any = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return f"{module}:{qualname}" if found is function else None


def import_function(path: str) -> Callable[..., Any]:
    """The function an import path (``"package.module:function"``) names, importing its module;
    `InvalidConfiguration` saying what is missing otherwise."""
    module_name, colon, qualname = str(path).partition(":")
    if not colon or not module_name or not qualname:
        raise InvalidConfiguration(f"{path!r} is not an import path; write 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidConfiguration(f"{path!r}: module {module_name!r} cannot be imported ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - the user's module failed while importing: say so, with its error
        raise InvalidConfiguration(f"{path!r}: importing module {module_name!r} failed "
                                   f"({type(exc).__name__}: {exc})") from None
    found: Any = module
    for part in qualname.split("."):
        if not hasattr(found, part):
            raise InvalidConfiguration(f"{path!r}: module {module_name!r} has no {qualname!r}")
        found = getattr(found, part)
    if not callable(found):
        raise InvalidConfiguration(f"{path!r} is a {type(found).__name__}, not a function")
    return found


def _number(metric: str, role: str, value: Any) -> float:
    if np.ndim(value) != 0:
        raise InvalidConfiguration(f"custom metric {metric!r}: its {role} function returned an array of shape "
                                   f"{np.shape(value)}; return one number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidConfiguration(f"custom metric {metric!r}: its {role} function returned a "
                                   f"{type(value).__name__}; return one number") from None


@dataclass(frozen=True)
class ConfusionFinish:
    """``finish`` of a ``confusion`` metric: the function of a copy of the confusion matrix."""

    metric: str
    function: Callable[[np.ndarray], Any]

    def __call__(self, partial: ClassificationPartial) -> float:
        if partial.n == 0:  # no row: no value (realized performance reports NaN there anyway)
            return float("nan")
        return _number(self.metric, "confusion", self.function(partial.confusion.matrix.copy()))


@dataclass(frozen=True)
class PerClassFinish:
    """``finish`` of a ``per_class`` metric: class 1's value (binary) or the mean over classes."""

    metric: str
    function: Callable[..., Any]

    def __call__(self, partial: ClassificationPartial) -> float:
        if partial.n == 0:
            return float("nan")
        counts = one_vs_rest_counts(partial.confusion.matrix)
        values = np.asarray(self.function(*(c.copy() for c in counts)), dtype=np.float64)
        if values.shape != (partial.n_classes,):
            raise InvalidConfiguration(f"custom metric {self.metric!r}: its per_class function returned shape "
                                       f"{values.shape}; return one value per class ({partial.n_classes})")
        return float(values[1]) if partial.is_binary else float(values.mean())


@dataclass(frozen=True)
class CheckedLoss:
    """A user's per-row loss, checked: one finite value >= 0 per row. DLE's loss model predicts
    losses clipped at 0, so a negative loss would be estimated wrongly rather than fail."""

    metric: str
    function: Callable[[np.ndarray, np.ndarray], Any]

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        y_true, y_pred = y_true.view(), y_pred.view()
        y_true.flags.writeable = y_pred.flags.writeable = False  # the function sees the data, cannot change it
        values = np.asarray(self.function(y_true, y_pred), dtype=np.float64)
        if values.shape != y_true.shape:
            raise InvalidConfiguration(f"custom metric {self.metric!r}: its loss function returned shape "
                                       f"{values.shape} for {y_true.size} rows; return one loss per row")
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            raise InvalidData(f"custom metric {self.metric!r}: its loss function returned {int(bad.sum())} "
                              f"negative or non-finite losses (e.g. {values[bad][0]!r}); a per-row loss is a "
                              "finite number >= 0")
        return values


@dataclass(frozen=True)
class LossFinish:
    """``finish`` of a ``loss`` metric: the mean loss, then the user's ``finish`` of it when given."""

    metric: str
    loss: RowLoss
    function: Callable[[float], Any] | None = None

    def __call__(self, sums: LossSums) -> float:
        mean = mean_loss(sums, self.loss)
        if self.function is None or math.isnan(mean):
            return mean
        return _number(self.metric, "finish", self.function(mean))


def _extensive_noise(options: Mapping[str, Any]) -> tuple[NoiseKind, float | None]:
    """A sum over rows: it grows with the chunk, and so do its thresholds and sampling errors."""
    return ("extensive", None)


@dataclass(frozen=True, eq=False)
class CustomMetric:
    """One declared custom metric: its functions by role (`ROLES`) and its options.

    ``paths``: each function's import path (None: it has none, and a monitor using it cannot be saved).
    """

    name: str
    kind: str
    functions: Mapping[str, Callable[..., Any]]
    higher_is_better: bool
    lower_bound: float | None = None
    upper_bound: float | None = None
    problem_types: tuple[str, ...] = ()
    extensive: bool = False
    paths: Mapping[str, str | None] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", {role: import_path(fn) for role, fn in self.functions.items()})

    def options(self) -> dict[str, Any]:
        """Everything but the functions, as plain JSON values."""
        return {"higher_is_better": self.higher_is_better, "lower_bound": self.lower_bound,
                "upper_bound": self.upper_bound, "problem_types": list(self.problem_types),
                "extensive": self.extensive}

    def same_as(self, other: CustomMetric) -> bool:
        """The same declaration: kind, options, and per role the same function or the same import path."""
        if (self.name, self.kind, self.options()) != (other.name, other.kind, other.options()):
            return False
        if set(self.functions) != set(other.functions):
            return False
        return all(self.functions[r] is other.functions[r]
                   or (self.paths[r] is not None and self.paths[r] == other.paths[r]) for r in self.functions)

    def describe(self) -> str:
        """The functions as ``role=path`` (``role=<no import path>`` for one without), for messages."""
        return ", ".join(f"{role}={self.paths[role] or '<no import path: ' + _shown(fn) + '>'}"
                         for role, fn in self.functions.items())

    def spec(self) -> MetricSpec:
        """The registry entry: finished from the partials as the built-in metrics are."""
        finish: Callable[..., Any]
        loss = None
        if self.kind == "confusion":
            finish = ConfusionFinish(self.name, self.functions["confusion"])
        elif self.kind == "per_class":
            finish = PerClassFinish(self.name, self.functions["per_class"])
        else:
            loss = RowLoss(self.name, CheckedLoss(self.name, self.functions["loss"]))
            finish = LossFinish(self.name, loss, self.functions.get("finish"))
        noise = _extensive_noise if self.extensive else None
        return MetricSpec(self.name, self.problem_types, finish, self.lower_bound, self.upper_bound,
                          self.higher_is_better, loss=loss, noise=noise)


def _shown(function: Any) -> str:
    return str(getattr(function, "__qualname__", None) or repr(function))


def _bound(name: str, which: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise InvalidConfiguration(f"custom metric {name!r}: {which} is {value!r}; give a finite number or None")
    return float(value)


def _problem_types(name: str, kind: str, given: Sequence[str] | str | None) -> tuple[str, ...]:
    allowed = REGRESSION_TYPES if kind == "loss" else CLASSIFICATION_TYPES
    if given is None:
        return allowed
    types = (given,) if isinstance(given, str) else tuple(given)
    wrong = [t for t in types if t not in allowed]
    if not types or wrong or len(set(types)) != len(types):
        what = "a loss metric is for" if kind == "loss" else f"a {kind} metric is for"
        raise InvalidConfiguration(f"custom metric {name!r}: problem_types is {list(types)!r}; {what} "
                                   f"{' and/or '.join(allowed)} (of {list(PROBLEM_TYPES)}), each once")
    return types


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidConfiguration(f"a custom metric's name is {name!r}; use letters, digits and underscores, "
                                   "starting with a letter")
    built_in = [n for n in METRICS if n not in _CUSTOM]
    if name in built_in:
        raise InvalidConfiguration(f"{name!r} is a built-in metric; give the custom metric another name "
                                   f"(built-in: {', '.join(built_in)})")
    if name in _RESERVED or _CELL.match(name) or (name in row_losses_by_name() and name not in _CUSTOM):
        raise InvalidConfiguration(f"{name!r} names a value seismo already reports (a confusion-matrix cell, "
                                   "the missing-target rate or a built-in loss); give the custom metric another name")
    return name


def declare(
    name: str,
    confusion: Callable[..., Any] | None = None,
    *,
    per_class: Callable[..., Any] | None = None,
    loss: Callable[..., Any] | None = None,
    finish: Callable[..., Any] | None = None,
    higher_is_better: bool,
    lower_bound: float | None = None,
    upper_bound: float | None = None,
    problem_types: Sequence[str] | str | None = None,
    extensive: bool = False,
) -> CustomMetric:
    """A checked `CustomMetric`, not registered (`register` takes the same arguments);
    `InvalidConfiguration` naming what is wrong."""
    name = _check_name(name)
    given = {kind: fn for kind, fn in (("confusion", confusion), ("per_class", per_class), ("loss", loss))
             if fn is not None}
    if len(given) != 1:
        raise InvalidConfiguration(f"custom metric {name!r}: give exactly one of confusion=, per_class= (classification) "
                                   f"or loss= (regression); got {', '.join(given) or 'none'}")
    (kind, function), = given.items()
    functions = dict(given)
    if finish is not None:
        if kind != "loss":
            raise InvalidConfiguration(f"custom metric {name!r}: finish= applies to a loss= metric (the function of "
                                       "its mean loss); a confusion or per_class function returns the value itself")
        functions["finish"] = finish
    for role, fn in functions.items():
        if not callable(fn):
            raise InvalidConfiguration(f"custom metric {name!r}: {role}= is a {type(fn).__name__}, not a function")
    if not isinstance(higher_is_better, (bool, np.bool_)):
        raise InvalidConfiguration(f"custom metric {name!r}: higher_is_better is {higher_is_better!r}; "
                                   "give True or False")
    if not isinstance(extensive, (bool, np.bool_)):
        raise InvalidConfiguration(f"custom metric {name!r}: extensive is {extensive!r}; give True or False")
    low, high = _bound(name, "lower_bound", lower_bound), _bound(name, "upper_bound", upper_bound)
    if low is not None and high is not None and low >= high:
        raise InvalidConfiguration(f"custom metric {name!r}: lower_bound {low:g} is not below upper_bound {high:g}")
    return CustomMetric(name, kind, functions, bool(higher_is_better), low, high,
                        _problem_types(name, kind, problem_types), bool(extensive))


def register(
    name: str,
    confusion: Callable[..., Any] | None = None,
    *,
    per_class: Callable[..., Any] | None = None,
    loss: Callable[..., Any] | None = None,
    finish: Callable[..., Any] | None = None,
    higher_is_better: bool,
    lower_bound: float | None = None,
    upper_bound: float | None = None,
    problem_types: Sequence[str] | str | None = None,
    extensive: bool = False,
    replace: bool = False,
) -> MetricSpec:
    """Declare a custom metric (see the module docstring) and add it to the registry; returns its spec.

    Registering the same name again with the same functions (or functions of the same import paths)
    and options does nothing; with others it is an `InvalidConfiguration`, unless ``replace``.
    """
    metric = declare(name, confusion, per_class=per_class, loss=loss, finish=finish,
                     higher_is_better=higher_is_better, lower_bound=lower_bound, upper_bound=upper_bound,
                     problem_types=problem_types, extensive=extensive)
    return register_declared(metric, replace=replace)


def register_declared(metric: CustomMetric, *, replace: bool = False) -> MetricSpec:
    """Add a `declare`-d metric to the registry (as `register` does)."""
    existing = _CUSTOM.get(metric.name)
    if existing is not None and not replace and not existing.same_as(metric):
        raise InvalidConfiguration(
            f"custom metric {metric.name!r} is already registered ({existing.describe()}; {existing.options()}), "
            f"not as now ({metric.describe()}; {metric.options()}); pass replace=True to replace it, or "
            f"unregister({metric.name!r}) first")
    spec = metric.spec()
    _CUSTOM[metric.name] = metric
    METRICS[metric.name] = spec
    return spec


def unregister(name: str, *, missing_ok: bool = False) -> None:
    """Remove a custom metric from the registry. A built-in metric cannot be removed; an unknown name
    is an `InvalidConfiguration` unless ``missing_ok``."""
    if name not in _CUSTOM:
        if name in METRICS:
            raise InvalidConfiguration(f"{name!r} is a built-in metric; only custom metrics can be unregistered")
        if missing_ok:
            return
        raise InvalidConfiguration(f"{name!r} is not a registered custom metric; registered: {sorted(_CUSTOM)}")
    del _CUSTOM[name]
    del METRICS[name]


def custom_metrics() -> dict[str, CustomMetric]:
    """The custom metrics registered in this session, by name, in the order registered."""
    return dict(_CUSTOM)


def declare_from_paths(name: str, paths: Mapping[str, str], **options: Any) -> CustomMetric:
    """`declare` with each function given by its import path (``{"confusion": "pkg.mod:cost"}``):
    a config's entry or a saved monitor's declaration. Imports the modules; `InvalidConfiguration`
    naming the role and the path when one cannot be imported."""
    functions: dict[str, Any] = {}
    for role, path in paths.items():
        if role not in ("confusion", "per_class", "loss", "finish"):
            raise InvalidConfiguration(f"custom metric {name!r}: {role!r} is not a function role; "
                                       "use confusion, per_class, loss or finish")
        try:
            functions[role] = import_function(path)
        except InvalidConfiguration as exc:
            raise InvalidConfiguration(f"custom metric {name!r}, {role}: {exc}") from None
    return declare(name, **functions, **options)
