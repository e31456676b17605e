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

from typing import Any, Literal

import numpy as np

from seismo._typing import ConfusionNormalization, DataLike, Incomplete
from seismo.chunks.accumulator import ChunkTable, OpenChunk, StreamState, TableRows, local_chunk
from seismo.chunks.chunkers import DEFAULT_INCOMPLETE, Chunk, Chunker
from seismo.data.frame import Frame
from seismo.engine.calculator import BaseCalculator, is_spark
from seismo.engine.domain_fit import FeatureEncoder
from seismo.engine.result import Result
from seismo.engine.thresholds import resolve_thresholds
from seismo.engine.trackers import (
    DEFAULT_RANDOM_STATE,
    FittedTracker,
    ReferencePartials,
    chunk_values,
    fit_from_partials,
    require_fitted,
    rows_to_frame,
    tidy_rows,
    warn_undefined,
)
from seismo.errors import InvalidConfiguration, InvalidData
from seismo.metrics.registry import METRICS
from seismo.performance.concept_model import (
    CONCEPT_HYPERPARAMETERS,
    DEFAULT_CONCEPT_SPLITS,
    fit_classification,
    fit_regression,
)
from seismo.performance.concept_tracker import (
    CONCEPT_COLUMNS,
    MAGNITUDE,
    ConceptRows,
    ConceptTracker,
    EvaluationSample,
    with_fold_errors,
)
from seismo.performance.realized import (
    ClassificationTracker,
    RealizedPerformance,
    RegressionTracker,
)

#: reference rows the concept models are evaluated on (and the reference concept model learns from)
DEFAULT_EVALUATION_ROWS = 5_000
#: random reference subsets behind the thresholds: each costs one concept model (n_splits fits)
DEFAULT_CONCEPT_RESAMPLES = 20


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
