"""`ConceptShift`: did the relation between inputs and target change, and what did it cost?

When labels arrive, a drop in realized performance has two possible causes: the inputs moved to
where the model is weaker (covariate shift, which CBPE, PAPE and DLE estimate without labels), or
the target's relation to the inputs changed (concept shift: the model itself is out of date).
This calculator measures the second one alone, per chunk of labelled rows:

1. a concept model learns ``P(target | features)`` from the chunk's labelled rows
   (`seismo.performance.concept_model`, LightGBM, cross-fitted within the chunk);
2. it labels a fixed sample of *reference inputs* with the chunk's concept: soft labels for a
   classifier, a predicted target distribution for a regressor;
3. the monitored model's performance on those reference inputs is finished from them by the same
   metric code as realized performance (`MetricSpec.finish`), custom metrics included.

The **impact** reported per metric is that estimate minus the realized performance on the same
reference inputs with their real labels, less the method's own offset (the mean impact of the
reference chunks, where the concept did not change: a concept model fitted on a few thousand rows
is smoother than the truth, and that bias is the same in every chunk of that size). Inputs are held
at the reference's, so covariate shift does not enter it. ``magnitude`` says how far the concept
moved whatever it cost: the mean total-variation distance between the chunk's and the reference's
class probabilities on reference inputs (regression: the mean absolute difference of the
conditional means, in standard deviations of the reference target).

Thresholds and sampling errors are learned as for every calculator, from reference chunks and
random reference subsets, each of whose concept model is evaluated on the reference sample rows
it did not learn from (out of sample). Trust: the chunk's labelled rows and label coverage.
Method and limits: docs/concept.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from seismo._typing import ConfusionNormalization, DataLike, Incomplete
from seismo.chunks.accumulator import ChunkTable, OpenChunk, StreamState, TableRows, local_chunk
from seismo.chunks.chunkers import DEFAULT_INCOMPLETE, MIN_RELIABLE_CHUNK_ROWS, Chunk, Chunker
from seismo.data.frame import Frame
from seismo.engine.calculator import BaseCalculator, is_spark
from seismo.engine.domain_fit import FeatureEncoder
from seismo.engine.result import Result
from seismo.engine.sampling_error import Scaling
from seismo.engine.thresholds import PERFORMANCE_THRESHOLD, MaterialThreshold, resolve_thresholds
from seismo.engine.trackers import (
    DEFAULT_RANDOM_STATE,
    ROWS,
    FittedTracker,
    MetricInfo,
    ReferencePartials,
    chunk_values,
    fit_from_partials,
    require_fitted,
    rows_to_frame,
    tidy_rows,
    warn_undefined,
)
from seismo.errors import InvalidConfiguration, InvalidData
from seismo.metrics.partials import ClassificationPartial, LossSums
from seismo.metrics.registry import METRICS, losses_of
from seismo.performance.concept_model import (
    CONCEPT_HYPERPARAMETERS,
    DEFAULT_CONCEPT_SPLITS,
    ConceptFit,
    expected_losses,
    fit_classification,
    fit_regression,
)
from seismo.performance.realized import (
    ClassificationTracker,
    LabelledPartial,
    RealizedPerformance,
    RegressionTracker,
    finish_classification,
)
from seismo.performance.trust import REASON, TRUST

MAGNITUDE = "magnitude"
REALIZED = "realized"  # the chunk's realized value of the metric, beside its concept impact
LABELLED = "labelled_rows"
COVERAGE = "label_coverage"
EXPLAINED = "concept_explained"  # the chunk's out-of-fold skill of its concept model
#: the impact's own sampling error from its fold models (a jackknife); an analysis chunk's error is the larger
#: of this and the one learned on the reference (`with_fold_errors`)
FOLD_ERROR = "_fold_error"
#: the share of the evaluation rows inside the chunk's range (`ConceptTracker._supported`): beyond it the impact
#: reads an extrapolated concept
SUPPORT = "reference_support"
CONCEPT_COLUMNS = (REALIZED, LABELLED, COVERAGE, EXPLAINED, SUPPORT, TRUST, REASON)
#: a chunk whose reference support is this far below the reference chunks' is "low" trust
SUPPORT_DROP = 0.05
#: reference rows the concept models are evaluated on (and the reference concept model learns from)
DEFAULT_EVALUATION_ROWS = 5_000
#: random reference subsets behind the thresholds: each costs one concept model (n_splits fits)
DEFAULT_CONCEPT_RESAMPLES = 20
#: labels for fewer than this share of a chunk's rows make its concept model "low" trust
LOW_COVERAGE = 0.5
#: the magnitude alerts above this (mean total-variation distance, or standard deviations of the target) and
#: above its noise: under strong covariate shift a chunk's concept model extrapolates on reference inputs
#: it has few rows near, which alone lifted the magnitude past its noise bound (0.089 against 0.083 on the
#: benchmark's 1-SD shift, where a planted concept shift gave 0.21); the impacts are not affected alike
MAGNITUDE_MATERIAL = 0.10
#: the magnitude is measured where the chunk has data: within these percentiles of each feature
SUPPORT_QUANTILE = 0.01
MAGNITUDE_THRESHOLD = MaterialThreshold(upper=MAGNITUDE_MATERIAL)


@dataclass(eq=False)
class ConceptRows:
    """The partial: a chunk's labelled rows (features, target) and the realized partial of all its rows.

    ``positions`` are the rows' places in the reference evaluation sample (-1: not in it), so a
    reference chunk's concept model is evaluated on the sample rows it did not learn from.
    Merging concatenates (a chunk assembled from batches); ``whole`` marks the whole reference,
    whose concept is the reference's own (it is never fitted as a chunk).
    """

    x: np.ndarray
    y: np.ndarray
    positions: np.ndarray
    realized: LabelledPartial
    whole: bool = False

    def merge(self, other: ConceptRows) -> ConceptRows:
        return ConceptRows(np.vstack([self.x, other.x]), np.concatenate([self.y, other.y]),
                           np.concatenate([self.positions, other.positions]), self.realized + other.realized,
                           self.whole and other.whole)

    __add__ = merge


@dataclass(eq=False)
class EvaluationSample:
    """The reference inputs every concept model is evaluated on, with what the monitored model did there.

    ``model``: the realized tracker's encoding of these rows (predictions, score bins, labels);
    ``baseline``: the reference concept on them, out of fold (class probabilities, or the
    conditional mean); ``target_scale``: the reference target's standard deviation (regression).
    """

    x: np.ndarray
    model: dict
    baseline: np.ndarray
    target_scale: float = 1.0


@dataclass(eq=False)
class ConceptTracker:
    """Fits a chunk's concept model and finishes its impact on every metric (see the module docstring)."""

    realized: ClassificationTracker | RegressionTracker
    metrics: list[str]
    encoder: FeatureEncoder
    sample: EvaluationSample
    n_classes: int  # 0: regression
    params: dict
    n_splits: int
    seed: int
    offsets: dict[str, float] = field(default_factory=dict)
    smallest_labelled: float = 0.0  # labelled rows of the smallest reference chunk
    reference_support: float = 1.0  # the reference chunks' mean share of evaluation rows within their range
    _memo: dict[int, dict] = field(default_factory=dict)  # raw values of the reference chunks during fit

    column = None
    comparative = False

    def _options(self, name: str) -> dict:
        """The metric's finish options (classification: business value's matrix, ...; regression: none)."""
        tracker = self.realized
        return tracker.options.get(name, {}) if isinstance(tracker, ClassificationTracker) else {}

    def metric_infos(self) -> list[MetricInfo]:
        infos = []
        for name in self.metrics:
            spec = METRICS[name]
            kind, _ = spec.scaling(self._options(name))
            span = None if spec.lower_bound is None or spec.upper_bound is None else spec.upper_bound - spec.lower_bound
            infos.append(MetricInfo(name, PERFORMANCE_THRESHOLD, None if span is None else -span, span, Scaling(kind)))
        infos.append(MetricInfo(MAGNITUDE, MAGNITUDE_THRESHOLD, 0.0, None, Scaling("distance")))
        return infos

    def encode(self, frame: Frame) -> dict:
        return {"x": self.encoder.encode(frame), "model": self.realized.encode(frame),
                "positions": np.full(frame.n_rows, -1, dtype=np.int64)}

    def _target(self, model: dict) -> tuple[np.ndarray, np.ndarray]:
        """The label of each row and which rows have one."""
        y = model["y_true"]
        labelled = y >= 0 if self.n_classes else np.isfinite(y)
        return y, labelled

    def partial(self, enc: dict, rows: slice | np.ndarray) -> ConceptRows:
        y, labelled = self._target(enc["model"])
        keep = labelled[rows]
        return ConceptRows(enc["x"][rows][keep], y[rows][keep], enc["positions"][rows][keep],
                           self.realized.partial(enc["model"], rows))

    def finish(self, part: ConceptRows, reference: Any = None) -> dict:
        n = int(part.y.size)
        if part.whole:
            return {ROWS: n}
        raw = self._memo.get(id(part))
        if raw is None:
            raw = self.raw_values(part)
        values = {k: (v - self.offsets.get(k, 0.0) if isinstance(k, str) and k != MAGNITUDE else v)
                  for k, v in raw.items()}
        return {**values, **self._trust(n, part.realized.n_rows, raw.get((None, SUPPORT), np.nan))}

    def learn_offsets(self, parts: list[ConceptRows]) -> None:
        """The offset of each metric: the mean impact of the reference chunks ``parts``, where the concept
        is the reference's. Their values are kept until `forget_reference`, so finishing the same parts
        again (the thresholds' fit) costs no second concept model."""
        raw = [self.raw_values(part, self.baseline_without(part) if (part.positions >= 0).any() else None)
               for part in parts]
        self.offsets = {name: float(np.nanmean(values)) if np.isfinite(values := [r[name] for r in raw]).any()
                        else 0.0 for name in self.metrics}
        self.smallest_labelled = float(min((part.y.size for part in parts), default=0))
        support = [r.get((None, SUPPORT), np.nan) for r in raw]
        self.reference_support = float(np.nanmean(support)) if np.isfinite(support).any() else 1.0
        self._memo = {id(part): values for part, values in zip(parts, raw)}

    def forget_reference(self) -> None:
        self._memo = {}

    def raw_values(self, part: ConceptRows, baseline: np.ndarray | None = None) -> dict:
        """Impact before the offset, magnitude, the chunk's realized values and its concept model's skill.
        ``baseline``: the reference concept on the evaluation rows to measure the magnitude from (default: the
        sample's, out of fold)."""
        n = int(part.y.size)
        real = self.realized.finish(part.realized)
        out: dict = {(name, REALIZED): real.get(name, np.nan) for name in self.metrics}
        out.update({ROWS: n, (None, LABELLED): n,
                    (None, COVERAGE): n / part.realized.n_rows if part.realized.n_rows else np.nan})
        rest = np.ones(len(self.sample.x), dtype=bool)
        rest[part.positions[part.positions >= 0]] = False
        if n < 2 * self.n_splits or not rest.any():
            return {**out, **{name: np.nan for name in self.metrics}, MAGNITUDE: np.nan, (None, EXPLAINED): np.nan}
        fit = self._fit(part, self.sample.x[rest])
        out[(None, EXPLAINED)] = fit.explained
        estimated, realized = self._estimated(fit, rest), self._baseline(rest)
        by_fold = [self._estimated(fit.fold(k), rest) for k in range(self.n_splits)]
        for name in self.metrics:
            kind, _ = METRICS[name].scaling(self._options(name))
            # a sum over rows: the change on a chunk of this chunk's size
            scale = n / rest.sum() if kind in ("extensive", "count") else 1.0
            out[name] = (estimated[name] - realized[name]) * scale
            folds = np.array([values[name] for values in by_fold], dtype=float)
            # delete-a-group jackknife over the fold models, each fitted without one fold of the chunk
            out[(name, FOLD_ERROR)] = scale * float(np.sqrt((self.n_splits - 1) / self.n_splits
                                                            * np.sum((folds - folds.mean()) ** 2)))
        reference = (self.sample.baseline if baseline is None else baseline)[rest]
        supported = self._supported(part.x, self.sample.x[rest])
        out[MAGNITUDE] = self._magnitude(fit, reference, supported)
        out[(None, SUPPORT)] = float(supported.mean())
        return out

    def baseline_without(self, part: ConceptRows) -> np.ndarray:
        """The reference concept on the evaluation rows, cross-fitted on those not in ``part`` (its own rows
        get NaN). A reference chunk's magnitude is measured from it: the sample's baseline learned from the
        chunk's own rows too, and two models sharing training rows look closer than a new chunk's would."""
        model = self.sample.model
        keep = np.ones(len(self.sample.x), dtype=bool)
        keep[part.positions[part.positions >= 0]] = False
        x, y, none = self.sample.x[keep], np.asarray(model["y_true"])[keep], self.sample.x[:0]
        seed = self.seed + 1
        if self.n_classes:
            oof = fit_classification(x, y.astype(np.int64), none, self.n_classes, self.params, self.n_splits, seed,
                                     self.encoder.categorical_indices).oof
        else:
            oof = fit_regression(x, y, none, self.params, self.n_splits, seed, self.encoder.categorical_indices).oof
        out = np.full(self.sample.baseline.shape, np.nan)
        out[keep] = oof
        return out

    def _supported(self, x: np.ndarray, x_eval: np.ndarray) -> np.ndarray:
        """Evaluation rows inside the chunk's own range: each numeric feature within the chunk's 1st-99th
        percentiles, each category one the chunk has. Beyond them a tree model extrapolates a constant,
        and a pure covariate shift alone would read as a moved concept there."""
        inside = np.ones(len(x_eval), dtype=bool)
        categorical = set(self.encoder.categorical_indices)
        for j in range(x.shape[1]):
            values = x[:, j][np.isfinite(x[:, j])]
            column = x_eval[:, j]
            if values.size == 0:
                continue
            if j in categorical:
                inside &= np.isin(column, values) | ~np.isfinite(column)
            else:
                low, high = np.quantile(values, [SUPPORT_QUANTILE, 1.0 - SUPPORT_QUANTILE])
                inside &= ((column >= low) & (column <= high)) | ~np.isfinite(column)
        return inside

    def _fit(self, part: ConceptRows, x_eval: np.ndarray) -> ConceptFit:
        categorical = self.encoder.categorical_indices
        if self.n_classes:
            return fit_classification(part.x, part.y.astype(np.int64), x_eval, self.n_classes, self.params,
                                      self.n_splits, self.seed, categorical)
        return fit_regression(part.x, part.y, x_eval, self.params, self.n_splits, self.seed, categorical)

    def _metric_values(self, rest: np.ndarray, soft: np.ndarray | None = None,
                       losses: dict[str, np.ndarray] | None = None) -> dict:
        """Every metric on the evaluation rows ``rest``: from soft labels or expected losses, else realized."""
        model = self.sample.model
        if self.n_classes:
            if soft is None:
                y = model["y_true"][rest]
                soft = np.zeros((len(y), self.n_classes))
                soft[np.arange(len(y)), y] = 1.0
            tracker = self.realized
            assert isinstance(tracker, ClassificationTracker)
            partial = ClassificationPartial.from_rows(soft, model["y_pred"][rest], model["score_bins"][rest],
                                                      model["n_bins"], tracker.spec.scored)
            return finish_classification(partial, self.metrics, tracker.options)
        if losses is None:
            sums = LossSums.from_rows(model["y_true"][rest], model["y_pred"][rest], losses=losses_of(self.metrics))
        else:
            sums = LossSums.from_losses(losses)
        return {name: METRICS[name].finish(sums) for name in self.metrics}

    def _estimated(self, fit: ConceptFit, rest: np.ndarray) -> dict:
        if self.n_classes:
            return self._metric_values(rest, soft=fit.proba)
        return self._metric_values(rest, losses=expected_losses(fit, self.sample.model["y_pred"][rest],
                                                                losses_of(self.metrics)))

    def _baseline(self, rest: np.ndarray) -> dict:
        return self._metric_values(rest)

    def _magnitude(self, fit: ConceptFit, reference: np.ndarray, supported: np.ndarray) -> float:
        """How far the concept moved from the ``reference`` concept on the ``supported`` evaluation rows (all
        of them when none is)."""
        keep = supported if supported.any() else np.ones_like(supported)
        baseline = reference[keep]
        if self.n_classes:
            assert fit.proba is not None
            return float(0.5 * np.abs(fit.proba[keep] - baseline).sum(axis=1).mean())
        assert fit.mean is not None
        return float(np.abs(fit.mean[keep] - baseline).mean() / self.sample.target_scale)

    def _trust(self, labelled: int, rows: int, support: float) -> dict:
        """``ok`` / ``low`` / ``none`` from the chunk's labelled rows, its label coverage and its reference support."""
        level, reasons = 0, []
        if labelled < 2 * self.n_splits:
            level = 2
            reasons.append(f"only {labelled} labelled rows: no concept model can be fitted")
        elif labelled < MIN_RELIABLE_CHUNK_ROWS or labelled < 0.5 * self.smallest_labelled:
            level = 1
            reasons.append(f"only {labelled} labelled rows (reference chunks had at least "
                           f"{self.smallest_labelled:,.0f}): the chunk's concept is known roughly")
        if rows and labelled / rows < LOW_COVERAGE and level < 2:
            level = max(level, 1)
            reasons.append(f"labels have arrived for {labelled / rows:.0%} of the chunk's rows; if which rows "
                           "are labelled depends on the outcome, the concept learned from them is biased")
        if support < self.reference_support - SUPPORT_DROP and level < 2:
            level = max(level, 1)
            reasons.append(f"only {support:.0%} of the reference inputs lie within the chunk's range (reference "
                           f"chunks: {self.reference_support:.0%}): the impact reads an extrapolated concept there, "
                           "and covariate shift alone can move it")
        return {(None, TRUST): ("ok", "low", "none")[level], (None, REASON): "; ".join(reasons)}


def with_fold_errors(rows: list[dict], values: dict) -> list[dict]:
    """An analysis chunk's rows with each impact's sampling error raised to its fold models' jackknife
    error where that is larger, and the ±3 SE band widened with it.

    The error learned on the reference describes concept models of the reference's concept. A chunk
    whose concept changed can be harder to learn (a sharp boundary, a rare region), and its models then
    disagree more: on the tests' reversed region the impacts of three chunks spread three times as
    widely as the reference's error. Thresholds are unchanged: alerts stay at the stated rate.
    """
    for row in rows:
        fold_error = values.get((row["metric"], FOLD_ERROR))
        if fold_error is None or not np.isfinite(fold_error) or not fold_error > row["sampling_error"]:
            continue
        value, span = row["value"], METRICS[row["metric"]]
        width = None if span.lower_bound is None or span.upper_bound is None else span.upper_bound - span.lower_bound
        low, high = value - 3 * fold_error, value + 3 * fold_error
        if width is not None:
            low, high = max(low, -width), min(high, width)
        row.update(sampling_error=fold_error, lower_confidence=low, upper_confidence=high)
    return rows


class ConceptShift(BaseCalculator):
    """The part of a performance change caused by a change of concept, per chunk of labelled rows.

    Needs the model's outputs, the labels (in the analysis data or late through ``targets=`` and
    ``id``) and the features (default: every column without a role). Reports, per performance
    metric, the concept impact (estimated performance on the reference inputs under the chunk's
    concept, minus the realized one, in the metric's units), plus ``magnitude``; each row carries
    the chunk's ``realized`` value, ``labelled_rows``, ``label_coverage``, ``concept_explained``
    and a ``trust`` verdict. See the module docstring and docs/concept.md.

    ``evaluation_rows``: reference rows every concept model is evaluated on (a seeded sample);
    ``hyperparameters`` extend `CONCEPT_HYPERPARAMETERS`; ``n_splits``: folds within each chunk.
    Multi-valued metrics (the confusion matrix's cells) are left out: a cell is not a performance.
    """

    _extra_columns = CONCEPT_COLUMNS

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
        features: list[str] | None = None,
        column_types: dict[str, str] | None = None,
        incomplete: Incomplete = DEFAULT_INCOMPLETE,
        business_value_matrix: Any = None,
        normalize_business_value: bool = False,
        normalize_confusion_matrix: ConfusionNormalization = "none",
        hyperparameters: dict | None = None,
        n_splits: int = DEFAULT_CONCEPT_SPLITS,
        evaluation_rows: int = DEFAULT_EVALUATION_ROWS,
        n_resamples: int = DEFAULT_CONCEPT_RESAMPLES,
        random_state: int = DEFAULT_RANDOM_STATE,
        timestamp_format: str | None = None,
        false_alarm_rate: float | None = None,
        segments: Any = None,
    ):
        if segments:
            raise InvalidConfiguration("ConceptShift does not take segments yet: one concept model per chunk and "
                                       "segment needs more labelled rows than most segments have (docs/concept.md)")
        super().__init__(timestamp=timestamp, chunk_size=chunk_size, chunk_number=chunk_number,
                         chunk_period=chunk_period, chunker=chunker, incomplete=incomplete, thresholds=thresholds,
                         n_resamples=n_resamples, random_state=random_state, timestamp_format=timestamp_format,
                         false_alarm_rate=false_alarm_rate)
        if isinstance(n_splits, bool) or not isinstance(n_splits, int) or n_splits < 2:
            raise InvalidConfiguration(f"n_splits is {n_splits!r}; give an integer >= 2 (folds within each chunk)")
        if isinstance(evaluation_rows, bool) or not isinstance(evaluation_rows, int) or evaluation_rows < 100:
            raise InvalidConfiguration(f"evaluation_rows is {evaluation_rows!r}; give an integer >= 100")
        self.problem_type = problem_type
        self.y_pred_proba = y_pred_proba
        self.y_pred = y_pred
        self.y_true = y_true
        self.id = id
        self.metrics = metrics
        self.features = features
        self.column_types = column_types
        self.business_value_matrix = business_value_matrix
        self.normalize_business_value = normalize_business_value
        self.normalize_confusion_matrix = normalize_confusion_matrix
        self.hyperparameters = hyperparameters
        self.n_splits = n_splits
        self.evaluation_rows = evaluation_rows

    def _realized_calculator(self) -> RealizedPerformance:
        return RealizedPerformance(
            self.problem_type, y_pred_proba=self.y_pred_proba, y_pred=self.y_pred, y_true=self.y_true,
            timestamp=self.timestamp, id=self.id, metrics=self.metrics, chunk_size=self.chunk_size,
            chunk_number=self.chunk_number, chunk_period=self.chunk_period, chunker=self.chunker,
            incomplete=self.incomplete, business_value_matrix=self.business_value_matrix,
            normalize_business_value=self.normalize_business_value,
            normalize_confusion_matrix=self.normalize_confusion_matrix, random_state=self.random_state,
            timestamp_format=self.timestamp_format)

    def params(self) -> dict:
        """The LightGBM arguments of every concept model: defaults, the seed, then ``hyperparameters``."""
        return {**CONCEPT_HYPERPARAMETERS, "random_state": self.random_state, **(self.hyperparameters or {})}

    def fit(self, reference: DataLike) -> ConceptShift:
        """Learn the evaluation sample, the reference concept, the offset, thresholds and sampling errors.

        The reference is read into memory (its model columns and features); a reference larger
        than memory can be given as a sample of its rows, since only ``evaluation_rows`` of them
        are evaluated on and each chunk's concept model reads that chunk alone.
        """
        realized = self._realized_calculator()
        names = [n for n in realized.checked_metrics() if not METRICS[n].multi_valued]
        if not names:
            raise InvalidConfiguration("ConceptShift reports single-valued metrics; the confusion matrix's cells "
                                       "are not among them: name others in metrics=...")
        features = self._feature_names(reference, self.features, "reference")
        if not features:
            raise InvalidConfiguration("ConceptShift learns the concept from features; the reference has none: "
                                       "pass features=[...]")
        frame = self._load(reference, list(dict.fromkeys([*realized.model_columns(), *features])), "reference")
        self._check_not_empty(frame)
        realized.fit_frame(frame, names)
        self.realized_ = realized
        self.chunker_ = realized.chunker_
        self.feature_names_ = features
        self.metrics_ = names
        chunks = realized.reference_chunks_
        tracker = self._tracker(frame, realized, names)
        encoded = tracker.encode(frame)
        encoded["positions"][self.evaluation_sample_rows_] = np.arange(len(self.evaluation_sample_rows_))
        parts: list[Any] = [tracker.partial(encoded, chunk.rows) for chunk in chunks]
        tracker.learn_offsets(parts)
        whole = tracker.partial(encoded, slice(0, frame.n_rows))
        whole.whole = True
        overrides = resolve_thresholds(self.thresholds, [*names, MAGNITUDE])
        self.fitted_tracker_ = self._fit_thresholds(tracker, encoded, chunks, parts, whole, overrides)
        tracker.forget_reference()
        self.tracker_ = tracker
        self.reference_chunks_ = chunks
        self.fitted_ = True
        return self

    def _fit_thresholds(self, tracker: ConceptTracker, encoded: dict, chunks: list[Chunk], parts: list[Any],
                        whole: ConceptRows, overrides: dict) -> FittedTracker:
        """Thresholds and sampling errors from the reference chunks and random reference subsets.

        The impacts' subsets are drawn from every reference row (each is evaluated on the evaluation rows
        it does not hold). The magnitude's are drawn from the rows outside the evaluation sample: the
        baseline concept learned from the evaluation rows, and a subset sharing training rows with it
        looks closer to it than a new chunk would (drawn from every row, 4 in 200 stationary chunks of
        1,000 rows alerted at a stated 0.1%). Drawing the impacts' subsets from those rows too left their
        spread short (14 alerts in 600 cells at a stated 1%, against 7 drawn from every row).
        """
        n_rows = len(encoded["positions"])
        everywhere = fit_from_partials(tracker, ReferencePartials(chunks, parts, whole, n_rows, encoded, n_rows),
                                       overrides, self.n_resamples, self.random_state, self.false_alarm_rate)
        others = np.flatnonzero(encoded["positions"] < 0)
        outside = {"x": encoded["x"][others], "positions": encoded["positions"][others],
                   "model": {k: v[others] if isinstance(v, np.ndarray) else v for k, v in encoded["model"].items()}}
        apart = fit_from_partials(tracker, ReferencePartials(chunks, parts, whole, n_rows, outside, len(others)),
                                  overrides, self.n_resamples, self.random_state, self.false_alarm_rate)
        fitted = FittedTracker(tracker, {**everywhere.metrics, MAGNITUDE: apart.metrics[MAGNITUDE]},
                               reference_rows=everywhere.reference_rows)
        fitted.reference_table = tidy_rows(fitted, chunks, [tracker.finish(part) for part in parts], "reference")
        return fitted

    def _tracker(self, frame: Frame, realized: RealizedPerformance, names: list[str]) -> ConceptTracker:
        """The evaluation sample (seeded, at most ``evaluation_rows`` labelled reference rows), the
        reference concept on it (out of fold) and the tracker that evaluates every chunk there."""
        real_tracker = realized.fitted_trackers_[0].tracker
        assert isinstance(real_tracker, (ClassificationTracker, RegressionTracker))
        encoder = FeatureEncoder(frame, self.feature_names_, self.column_types)
        x = encoder.encode(frame)
        model = real_tracker.encode(frame)
        y = np.asarray(model["y_true"])
        labelled = np.flatnonzero(y >= 0 if self.problem_type != "regression" else np.isfinite(y))
        if labelled.size < 2 * self.n_splits:
            raise InvalidData(f"y_true column {self.y_true!r} in the reference data has {labelled.size} labelled "
                              "rows; ConceptShift learns the reference's concept from them")
        rng = np.random.default_rng(self.random_state)
        # at most half the labelled rows: the thresholds' random subsets are drawn from the others (`fit`)
        rows = np.sort(rng.choice(labelled, min(self.evaluation_rows, labelled.size // 2), replace=False))
        self.evaluation_sample_rows_ = rows
        n_classes = 0 if self.problem_type == "regression" else realized.class_spec_.n_classes
        sample_model = {k: (v[rows] if isinstance(v, np.ndarray) else v) for k, v in model.items()}
        categorical = encoder.categorical_indices
        none = x[:0]
        if n_classes:  # the reference concept at each sample row, out of fold: the magnitude's baseline
            fit = fit_classification(x[rows], y[rows], none, n_classes, self.params(), self.n_splits,
                                     self.random_state + 1, categorical)
            scale = 1.0
        else:
            fit = fit_regression(x[rows], y[rows], none, self.params(), self.n_splits, self.random_state + 1,
                                 categorical)
            scale = float(np.std(y[rows])) or 1.0
        baseline = fit.oof
        self.reference_explained_ = fit.explained
        sample = EvaluationSample(x[rows], sample_model, baseline, scale)
        return ConceptTracker(real_tracker, names, encoder, sample, n_classes, self.params(), self.n_splits,
                              self.random_state)

    def calculate(self, analysis: DataLike, targets: DataLike | None = None, id: str | None = None, *,
                  streaming: bool | None = None, state: StreamState | None = None) -> Result:
        """Concept impact and magnitude of every analysis chunk, from its labelled rows.

        Labels come in the analysis data or late in ``targets`` joined on ``id``, as for
        `RealizedPerformance`. ``streaming`` and ``state`` work as in `UnivariateDrift.calculate`:
        each complete chunk is assembled from batches and evaluated on its own rows. Late labels
        change old chunks: run over the whole history without ``state`` to pick them up.
        """
        require_fitted(self)
        if is_spark(analysis):
            raise InvalidConfiguration("ConceptShift does not run on Spark yet: each chunk's concept model needs the "
                                       "chunk's rows; pass a parquet path to stream it")
        columns, prepare = self.realized_.labelled_input(analysis, targets, id, require_labels=True,
                                                         extra=self.feature_names_)
        tracker = self.tracker_

        def settle(chunk: OpenChunk) -> list[dict]:
            whole = chunk.to_chunk()
            table = chunk.merged[0]
            assert isinstance(table, ChunkTable)
            frame = table.frame()
            values = chunk_values(tracker, tracker.encode(frame), [local_chunk(whole)], None, leave_out=False)
            return with_fold_errors(tidy_rows(self.fitted_tracker_, [whole], values, "analysis"), values[0])

        built, new_state, skipped = self._accumulate([TableRows()], analysis, columns, streaming=streaming,
                                                     state=state, prepare=prepare, settle=settle)
        rows = list(self.fitted_tracker_.reference_table)
        for chunk in built:
            rows += chunk.settled
        df = rows_to_frame(rows, list(self._extra_columns))
        warn_undefined(df, type(self).__name__)
        result = Result(df, type(self).__name__)
        result.state = new_state
        result.rows_skipped = skipped
        return result

    def reference_chunks(self) -> list[Chunk]:
        """The reference chunks the thresholds were learned from."""
        require_fitted(self)
        return list(self.reference_chunks_)
