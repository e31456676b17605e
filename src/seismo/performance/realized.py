"""`RealizedPerformance`: the model's metrics per chunk, from labels.

Labels may arrive late, in their own frame joined on an id column. Rows whose
label has not arrived are excluded from the metrics, and every chunk reports
that share as ``targets_missing_rate``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Literal, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from seismo._typing import SegmentCorrection, Segments, SmallSegments
from seismo.chunks.accumulator import StreamState
from seismo.chunks.chunkers import DEFAULT_INCOMPLETE, Chunker
from seismo.chunks.reference import ReferenceData
from seismo.data.frame import BATCH_ROWS, Frame, is_path, should_stream
from seismo.data.io import DataLike, read_schema, read_table, record_batches
from seismo.engine.calculator import BaseCalculator, is_spark
from seismo.engine.result import Result
from seismo.engine.sampling_error import Scaling
from seismo.engine.segments import DEFAULT_MIN_SEGMENT_ROWS
from seismo.engine.thresholds import PERFORMANCE_THRESHOLD, resolve_thresholds
from seismo.engine.trackers import DEFAULT_RANDOM_STATE, DEFAULT_RESAMPLES, ROWS, MetricInfo
from seismo.errors import InvalidConfiguration, InvalidData, SeismoWarning
from seismo.metrics.partials import ClassificationPartial, LossSums, bin_scores
from seismo.metrics.registry import (
    CLASS_LABELS,
    METRICS,
    check_problem_type,
    finish_options,
    get_metric,
    losses_of,
    metrics_for,
)
from seismo.performance.model import ClassSpec, check_predictions, class_index, probabilities, regression_values
from seismo.stats.binning import fine_points

SCORE_POINTS = 5_000


@dataclass
class LabelledPartial:
    """A metric partial over the labelled rows, plus the count of all rows."""

    inner: Any
    n_rows: int

    def merge(self, other: "LabelledPartial") -> "LabelledPartial":
        return LabelledPartial(self.inner + other.inner, self.n_rows + other.n_rows)

    __add__ = merge


def default_metrics(problem_type: str, value_of: Callable[[str], Any]) -> list[str]:
    """The problem type's metrics, less those missing a required option (business value without
    its matrix); ``value_of(source)`` gives each option's value (`RealizedPerformance._option_value`)."""
    return [name for name in metrics_for(problem_type) if finish_options(METRICS[name], value_of) is not None]


def expand_metric_infos(metrics: list[str], spec: ClassSpec | None, options: dict[str, dict]) -> list[MetricInfo]:
    """One MetricInfo per reported value; a multi-valued metric (the confusion matrix) one per cell.

    Each metric's noise scaling and upper bound come from its spec under its finish ``options``
    (`MetricSpec.scaling`): unnormalised confusion counts and business value are sums over rows,
    so they scale with the chunk size; every other metric is a rate.
    """
    infos = []
    for name in metrics:
        metric = METRICS[name]
        kind, upper = metric.scaling(options.get(name, {}))
        # a multi-valued metric (the confusion matrix) is a classification metric: spec is given
        cells = confusion_cell_names(spec) if metric.multi_valued and spec is not None else [name]
        for cell in cells:
            infos.append(MetricInfo(cell, PERFORMANCE_THRESHOLD, metric.lower_bound, upper, Scaling(kind)))
    return infos


def confusion_cell_names(spec: ClassSpec) -> list[str]:
    if spec.n_classes == 2 and spec.scored == (1,):
        return ["true_positive", "false_positive", "true_negative", "false_negative"]
    return [f"true_{a}_pred_{b}" for a in spec.labels for b in spec.labels]


class ClassificationTracker:
    """Confusion sums and score histograms from labels (one-hot soft labels)."""

    comparative = False
    column = None

    def __init__(self, calc: "RealizedPerformance", spec: ClassSpec, reference: Frame, metrics: list[str]):
        self.roles = calc._roles()
        self.spec = spec
        self.metrics = metrics
        self.options = calc._metric_options(spec)
        scores = probabilities(reference, spec)
        check_predictions(reference, spec, self.roles.pred_column)  # the analysis's are checked as it is read
        self.points = [fine_points(scores[:, j], SCORE_POINTS, grid_range=(0.0, 1.0)) for j in range(scores.shape[1])]

    def metric_infos(self) -> list[MetricInfo]:
        return expand_metric_infos(self.metrics, self.spec, self.options)

    def encode(self, frame: Frame) -> dict[str, np.ndarray | list[int]]:
        y_pred = class_index(frame, self.roles.pred_column, self.spec, "y_pred", allow_missing=False)
        y_true = class_index(frame, self.roles.true_column, self.spec, "y_true", allow_missing=True)
        score_bins, n_bins = bin_scores(probabilities(frame, self.spec), self.points)
        return {"y_pred": y_pred, "y_true": y_true, "score_bins": score_bins, "n_bins": n_bins}

    def partial(self, enc: dict, rows: slice | np.ndarray) -> LabelledPartial:
        y_true = enc["y_true"][rows]
        keep = y_true >= 0
        one_hot = np.zeros((int(keep.sum()), self.spec.n_classes))
        one_hot[np.arange(one_hot.shape[0]), y_true[keep]] = 1.0
        inner = ClassificationPartial.from_rows(
            one_hot, enc["y_pred"][rows][keep], enc["score_bins"][rows][keep], enc["n_bins"], self.spec.scored
        )
        return LabelledPartial(inner, len(y_true))

    def finish(self, part: LabelledPartial, reference: None = None) -> dict:
        out = finish_classification(part.inner, self.metrics, self.options)
        out[(None, "targets_missing_rate")] = 1.0 - part.inner.n / part.n_rows if part.n_rows else np.nan
        out[ROWS] = part.inner.n
        return out


def finish_classification(partial: ClassificationPartial, metrics: list[str], options: dict) -> dict:
    """Every requested metric from one merged partial (realized or estimated alike).

    A chunk without a single (labelled) row has no metric at all: NaN everywhere,
    rather than rates that read 0 because their denominators are empty.
    """
    out: dict = {}
    for name in metrics:
        value = METRICS[name].finish(partial, **options.get(name, {}))
        if isinstance(value, dict):
            out.update({k: (v if partial.n else np.nan) for k, v in value.items()})
        else:
            out[name] = value if partial.n else np.nan
    return out


class RegressionTracker:
    """Loss sums from labels."""

    comparative = False
    column = None

    def __init__(self, calc: "RealizedPerformance", metrics: list[str]):
        self.roles = calc._roles()
        self.metrics = metrics

    def metric_infos(self) -> list[MetricInfo]:
        return expand_metric_infos(self.metrics, None, {})

    def encode(self, frame: Frame) -> dict[str, np.ndarray]:
        return {
            "y_pred": regression_values(frame, self.roles.pred_column, "y_pred", allow_missing=False),
            "y_true": regression_values(frame, self.roles.true_column, "y_true", allow_missing=True),
        }

    def partial(self, enc: dict, rows: slice | np.ndarray) -> LabelledPartial:
        y_true, y_pred = enc["y_true"][rows], enc["y_pred"][rows]
        keep = np.isfinite(y_true)
        inner = LossSums.from_rows(y_true[keep], y_pred[keep], true_name=self.roles.true_column,
                                   pred_name=self.roles.pred_column, losses=losses_of(self.metrics))
        return LabelledPartial(inner, len(y_true))

    def finish(self, part: LabelledPartial, reference: None = None) -> dict:
        out: dict = {name: METRICS[name].finish(part.inner) for name in self.metrics}
        out[(None, "targets_missing_rate")] = 1.0 - part.inner.n / part.n_rows if part.n_rows else np.nan
        out[ROWS] = part.inner.n
        return out


def _comparable_ids(ids: np.ndarray) -> np.ndarray:
    """Integral float ids (an int column that met a NaN) compare as integers."""
    if ids.dtype.kind == "f":
        finite = ids[np.isfinite(ids)]
        if np.all(finite == np.round(finite)):
            return np.where(np.isfinite(ids), ids, -(2**62)).astype(np.int64)
    return ids


def _id_lookup(target_ids: np.ndarray, analysis_ids: np.ndarray) -> tuple[pd.Index, np.ndarray]:
    """The target ids as an index and the analysis ids in a form it can look up: numbers as numbers
    (an integral float id is the integer), as text when the two sides differ in type."""
    ids = _comparable_ids(analysis_ids)
    if ids.dtype.kind != target_ids.dtype.kind:
        return pd.Index(target_ids.astype(str)), ids.astype(str)
    return pd.Index(target_ids), ids


def warn_unknown_ids(labels: pa.Table, analysis: DataLike, id_column: str) -> None:
    """Say how many labels have an id that no analysis row carries; they are left out.

    Such labels are most often for another model, period or id column, and would otherwise vanish
    without a word. The analysis ids are read on their own (a path batch by batch), all of them,
    also in an incremental run, so labels of rows processed earlier are not counted as unknown.
    """
    if labels.num_rows == 0 or is_spark(analysis):
        return
    target_ids = _comparable_ids(labels.column(id_column).to_numpy(zero_copy_only=False))
    matched = np.zeros(len(target_ids), dtype=bool)
    batches: Iterator[pa.ChunkedArray | pa.Array]
    if is_path(analysis):
        batches = (b.column(0) for b in record_batches(analysis, [id_column], "analysis", BATCH_ROWS))
    else:
        batches = iter([read_table(analysis, [id_column], "analysis").column(0)])
    for batch in batches:
        index, ids = _id_lookup(target_ids, batch.to_numpy(zero_copy_only=False))
        found = index.get_indexer(ids)
        matched[found[found >= 0]] = True
    unknown = int((~matched).sum())
    if unknown:
        shown = target_ids[~matched][:5].tolist()
        warnings.warn(f"id column {id_column!r} in the targets data: {unknown:,} of {len(target_ids):,} labels have "
                      f"ids that no analysis row has (e.g. {shown}); those labels are left out", SeismoWarning,
                      stacklevel=4)


def check_unique_ids(table: pa.Table, id_column: str) -> None:
    """Each id labels one row. A label without an id matches no row: it is left out, with a warning
    that counts it (it was reported as a "duplicated" id)."""
    ids = table.column(id_column)
    if ids.null_count:
        warnings.warn(f"id column {id_column!r} in the targets data has {ids.null_count} missing ids; those "
                      "labels match no analysis row and are left out", SeismoWarning, stacklevel=4)
    index = pd.Index(ids.drop_null().to_numpy(zero_copy_only=False))
    if not index.is_unique:
        dup = index[index.duplicated()].unique()[:5].tolist()
        raise InvalidData(f"id column {id_column!r} in the targets data has duplicated ids, e.g. {dup}")


def join_targets(frame: Frame, targets: DataLike, id_column: str, y_true: str) -> Frame:
    """Attach late labels to the analysis rows by id; unmatched rows get a null label."""
    table = read_table(targets, [id_column, y_true], "targets")  # checked once by the caller (check_unique_ids)
    if table.column(id_column).null_count:  # labels without an id (counted in the warning) match nothing
        table = table.filter(pc.is_valid(table.column(id_column)))
    target_ids = _comparable_ids(table.column(id_column).to_numpy(zero_copy_only=False))
    index, ids = _id_lookup(target_ids, frame.column(id_column).to_numpy(zero_copy_only=False))
    positions = index.get_indexer(ids)
    if len(ids) and not (positions >= 0).any():
        warnings.warn(
            f"no analysis {id_column!r} matches an id of the targets data; every label is missing "
            f"(analysis ids look like {ids[:3].tolist()}, target ids like {target_ids[:3].tolist()})",
            SeismoWarning,
            stacklevel=3,
        )
    taken = table.column(y_true).take(pa.array(positions, mask=positions < 0))
    new_table = frame.table
    if y_true in new_table.column_names:
        new_table = new_table.drop_columns([y_true])
    new_table = new_table.append_column(y_true, taken)
    return Frame(new_table, frame.timestamps, frame.where)


class RealizedPerformance(BaseCalculator):
    """Model performance per chunk from the labels that have arrived."""

    _extra_columns = ("targets_missing_rate",)
    # learned at fit
    class_spec_: ClassSpec  # classification only
    metrics_: list[str]

    def __init__(
        self,
        problem_type: Literal["binary", "multiclass", "regression"],
        y_pred_proba: str | dict | None = None,
        y_pred: str | None = None,
        y_true: str | None = None,
        timestamp: str | None = None,
        id: str | None = None,
        metrics: list[str] | None = None,
        chunk_size: int | None = None,
        chunk_number: int | None = None,
        chunk_period: str | None = None,
        chunker: Chunker | None = None,
        thresholds: dict | None = None,
        *,
        incomplete: Literal["keep", "append", "drop"] = DEFAULT_INCOMPLETE,
        business_value_matrix: Any = None,
        normalize_business_value: bool = False,
        normalize_confusion_matrix: Literal["none", "all", "true", "pred"] = "none",
        n_resamples: int = DEFAULT_RESAMPLES,
        random_state: int = DEFAULT_RANDOM_STATE,
        timestamp_format: str | None = None,
        false_alarm_rate: float | None = None,
        segments: Segments | None = None,
        min_segment_rows: int = DEFAULT_MIN_SEGMENT_ROWS,
        small_segments: SmallSegments = "other",
        segment_correction: SegmentCorrection = "bonferroni",
    ):
        super().__init__(
            timestamp=timestamp, chunk_size=chunk_size, chunk_number=chunk_number, chunk_period=chunk_period,
            chunker=chunker, incomplete=incomplete, thresholds=thresholds, n_resamples=n_resamples,
            random_state=random_state,
            timestamp_format=timestamp_format, false_alarm_rate=false_alarm_rate,
            segments=segments, min_segment_rows=min_segment_rows, small_segments=small_segments,
            segment_correction=segment_correction,
        )
        self.problem_type = problem_type
        self.y_pred_proba = y_pred_proba
        self.y_pred = y_pred
        self.y_true = y_true
        self.id = id
        self.metrics = metrics
        self.business_value_matrix = business_value_matrix
        self.normalize_business_value = normalize_business_value
        self.normalize_confusion_matrix = normalize_confusion_matrix

    def _option_value(self, source: str, spec: ClassSpec | None = None) -> Any:
        """The value of a metric option's source (`MetricOption.source`): this calculator's argument of
        that name, or for `CLASS_LABELS` the labels of a multiclass problem (None for a binary one)."""
        if source == CLASS_LABELS:
            if spec is None or (spec.n_classes == 2 and spec.scored == (1,)):  # binary
                return None
            return list(spec.labels)
        return getattr(self, source, None)

    def _metric_options(self, spec: ClassSpec | None) -> dict[str, dict]:
        """The finish options of every metric of the problem type that has options (`MetricSpec.options`)."""
        options: dict[str, dict] = {}
        for name in metrics_for(self.problem_type):
            metric = METRICS[name]
            given = finish_options(metric, lambda source: self._option_value(source, spec)) if metric.options else None
            if given is not None:
                options[name] = given
        return options

    def _check_metric_options(self, names: list[str]) -> None:
        """Each option's allowed values (checked as given, also for a metric not asked for), then the
        options the asked-for metrics need, e.g. business value's matrix of the classes' shape."""
        for metric in METRICS.values():
            for option in metric.options:
                value = self._option_value(option.source)
                if option.choices is not None and value not in option.choices:
                    raise InvalidConfiguration(f"{option.source} is {value!r}; use one of {list(option.choices)}")
        for name in names:
            for option in METRICS[name].options:
                value = self._option_value(option.source)
                if option.check is not None and (value is not None or option.required):
                    n = 2 if self.problem_type == "binary" else len(self._roles().proba_columns())
                    problem = option.check(value, n)
                    if problem is not None:
                        raise InvalidConfiguration(f"{name} needs {option.source} {problem}")

    def checked_metrics(self) -> list[str]:
        """The metrics to compute (those asked for, or the problem type's defaults), once the configuration
        is checked; raises `InvalidConfiguration` naming what is wrong. Estimators check theirs with it."""
        check_problem_type(self.problem_type)
        if self.y_true is None:
            raise InvalidConfiguration("realized performance needs the label column: pass y_true=...")
        if self.y_pred is None:
            raise InvalidConfiguration("realized performance needs the prediction column: pass y_pred=...")
        names = list(self.metrics) if self.metrics else default_metrics(self.problem_type, self._option_value)
        for name in names:
            get_metric(name, self.problem_type)
        self._check_metric_options(names)
        return names

    def model_columns(self) -> list[str]:
        """The columns the metrics read: the model's outputs and the label (the estimators read these too)."""
        cols = self._roles().model_columns()
        return [c for c in cols if c not in (self.timestamp,)]

    def fit(self, reference: DataLike, *, streaming: bool | None = None) -> "RealizedPerformance":
        """Learn score bins, thresholds and sampling errors from the labelled reference.

        ``streaming`` works as in `UnivariateDrift.fit`: score bins then come from the
        reference sample, while every reference chunk's metrics are exact.
        """
        names = self.checked_metrics()
        columns = self.model_columns()
        if should_stream(reference, columns, streaming, "reference"):
            ranges = [self._true_column, self._pred_column] if self.problem_type == "regression" else []
            return self._fit_reference(self._scan_reference(reference, columns, ranges), names)
        frame = self._load(reference, columns, "reference")
        self._check_not_empty(frame)
        return self.fit_frame(frame, names)

    def fit_frame(self, frame: Frame, names: list[str]) -> "RealizedPerformance":
        """`fit` on a reference already loaded as a `Frame`, for the metrics ``names`` (`checked_metrics`):
        an estimator loads its reference once and fits its realized performance on the same frame."""
        chunks = self._reference_chunks(frame)
        return self._fit_reference(ReferenceData(frame, frame.n_rows, chunks=chunks), names)

    def _fit_reference(self, reference: ReferenceData, names: list[str]) -> "RealizedPerformance":
        """Fit on every reference row in memory, or on a streamed reference's sample and chunk partials."""
        if self.problem_type == "regression":
            names = self._drop_log_metrics_if_invalid(names, reference)
            tracker: Any = RegressionTracker(self, names)
        else:
            self.class_spec_ = ClassSpec.from_roles(self.problem_type, self._roles())
            self._check_every_class_labelled(reference.frame)
            tracker = ClassificationTracker(self, self.class_spec_, reference.frame, names)
        infos = [i.name for i in tracker.metric_infos()]
        overrides = resolve_thresholds(self.thresholds, infos + names)
        for name in [n for n in names if METRICS[n].multi_valued and n in overrides]:  # one threshold for every cell
            cells = [i for i in infos if i not in names]
            overrides.update({cell: overrides[name] for cell in cells if cell not in overrides})
        self.metrics_ = names
        self.fitted_trackers_ = self._fit_trackers([tracker], reference, overrides)
        self.reference_chunks_ = reference.known_chunks
        self.fitted_ = True
        return self

    def _check_every_class_labelled(self, frame: Frame) -> None:
        """A reference without some class's labels gives that class's metrics no value and every
        threshold a degenerate spread; stop before fitting instead of failing late in a run."""
        spec = self.class_spec_
        labels = class_index(frame, self._true_column, spec, "y_true", allow_missing=True)
        counts = np.bincount(labels[labels >= 0], minlength=spec.n_classes)
        absent = [spec.labels[i] for i in np.flatnonzero(counts == 0)]
        if absent:
            held = [spec.labels[i] for i in np.flatnonzero(counts)]
            raise InvalidData(f"y_true column {self.y_true!r} in the {frame.where} data has no row of class "
                              f"{', '.join(map(repr, absent))} (its {int(counts.sum())} labelled rows are all "
                              f"{', '.join(map(repr, held)) or 'missing'}); performance is learned from a reference "
                              "that holds every class")

    def _drop_log_metrics_if_invalid(self, names: list[str], reference: ReferenceData) -> list[str]:
        """Default metrics whose per-row loss is undefined for the reference's values (msle and rmsle
        at values <= -1) are skipped with a warning; metrics asked for fail later, naming the column."""
        limits = {m: loss.above for m in names if (loss := METRICS[m].loss) is not None and loss.above is not None}
        if not limits or self.metrics:
            return names
        ranges = [reference.value_range(c) for c in (self._true_column, self._pred_column)]
        low = min((r[0] for r in ranges if r is not None), default=None)
        skipped = [m for m, above in limits.items() if low is not None and low <= above]
        if skipped:
            warnings.warn(
                f"{skipped} are skipped: {self.y_true!r} or {self.y_pred!r} has values <= {limits[skipped[0]]:g}",
                SeismoWarning,
                stacklevel=3,
            )
            return [m for m in names if m not in skipped]
        return names

    def calculate(self, analysis: DataLike, targets: DataLike | None = None, id: str | None = None, *,
                  streaming: bool | None = None, state: StreamState | None = None) -> Result:
        """Realized metrics of every analysis chunk; labels may come in ``targets``, joined on ``id``.

        ``streaming`` and ``state`` work as in `UnivariateDrift.calculate`. Late labels
        change old chunks, so to pick them up run over the whole history without ``state``.
        """
        self._require_fitted()
        columns, prepare = self.labelled_input(analysis, targets, id, require_labels=True)
        return self._calculate_trackers(self.fitted_trackers_, analysis, columns, streaming=streaming, state=state,
                                        prepare=prepare)

    def labelled_input(
        self, analysis: DataLike, targets: DataLike | None, id: str | None, require_labels: bool,
        extra: Sequence[str] = (),
    ) -> tuple[list[str], Callable[[Frame], Frame] | None]:
        """The analysis columns to read, and how to attach labels from ``targets`` (joined on the id).

        Without targets, labels are read from the analysis data when it has them; estimators
        pass ``require_labels=False`` because they need no labels at all.
        """
        id_column = id or self.id
        columns = list(dict.fromkeys([*self.model_columns(), *extra]))
        if targets is None:
            if not require_labels and self.y_true not in read_schema(analysis, "analysis").names:
                columns = [c for c in columns if c != self.y_true]
            return columns, self._checked_predictions(analysis, None)
        if id_column is None:
            raise InvalidConfiguration("targets are joined on an id column: pass id=... ")
        columns = list(dict.fromkeys([c for c in columns if c != self.y_true] + [id_column]))
        labels = read_table(targets, [id_column, self._true_column], "targets")  # read once, joined per batch
        check_unique_ids(labels, id_column)
        warn_unknown_ids(labels.filter(pc.is_valid(labels.column(id_column))) if labels.column(id_column).null_count
                         else labels, analysis, id_column)
        return columns, self._checked_predictions(
            analysis, lambda frame: join_targets(frame, labels, id_column, self._true_column))

    def _checked_predictions(self, analysis: DataLike, join: Callable[[Frame], Frame] | None
                             ) -> Callable[[Frame], Frame] | None:
        """``join``, preceded by `check_predictions` on each frame read (the whole data in memory, each
        batch when streamed): one warning per frame, not one per chunk (estimators encode chunk by chunk)."""
        if self.problem_type == "regression" or is_spark(analysis):
            return join

        def prepare(frame: Frame) -> Frame:
            check_predictions(frame, self.class_spec_, self._pred_column)
            return join(frame) if join is not None else frame
        return prepare
