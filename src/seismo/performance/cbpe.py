"""`CBPE`: classification performance without labels, from calibrated probabilities.

Confidence-based performance estimation: if the model's calibrated probability
for a row is ``c``, that row is expected to be a positive with probability
``c``. The expected confusion matrix of a chunk is then a sum over rows
(TP = Σ c over predicted positives, FP = Σ (1 − c), FN and TN likewise over
predicted negatives), and every metric, ROC AUC and average precision included,
is finished from it by the same code that computes the realized metric from
0/1 labels. Reference: NannyML's CBPE documentation ("Estimation of
Performance of the Monitored Model", nannyml.readthedocs.io), which describes
the method; no code is shared.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from seismo._typing import (
    ClassificationProblemType,
    ConfusionNormalization,
    Incomplete,
    SegmentCorrection,
    Segments,
    SmallSegments,
    TrustKind,
)
from seismo.chunks.chunkers import DEFAULT_INCOMPLETE, Chunk, Chunker
from seismo.data.frame import Frame
from seismo.engine.segments import DEFAULT_MIN_SEGMENT_ROWS
from seismo.engine.trackers import DEFAULT_RANDOM_STATE, DEFAULT_RESAMPLES, ROWS
from seismo.errors import InvalidConfiguration
from seismo.metrics.partials import ClassificationPartial, bin_scores
from seismo.performance.calibration import Calibrator
from seismo.performance.dle import DLE
from seismo.performance.estimation import Estimator
from seismo.performance.model import ClassSpec, class_index, probabilities
from seismo.performance.realized import ClassificationTracker, finish_classification
from seismo.performance.trust import ChunkShift, MetricGaps


class CBPETracker:
    """Builds classification partials with calibrated probabilities as soft labels."""

    comparative = False
    column = None

    def __init__(self, spec: ClassSpec, points: list[np.ndarray], calibrator: Calibrator, y_pred: str,
                 metrics: list[str], options: dict, reference_calibrated: np.ndarray):
        self.spec = spec
        self.points = points
        self.calibrator = calibrator
        self.y_pred = y_pred
        self.metrics = metrics
        self.options = options
        self.reference_calibrated = reference_calibrated

    def _encode(self, frame: Frame, calibrated: np.ndarray, scores: np.ndarray) -> dict:
        score_bins, n_bins = bin_scores(scores, self.points)
        y_pred = class_index(frame, self.y_pred, self.spec, "y_pred", allow_missing=False)
        return {"soft": soft_labels(calibrated), "y_pred": y_pred, "score_bins": score_bins, "n_bins": n_bins}

    def encode(self, frame: Frame) -> dict:
        scores = probabilities(frame, self.spec)
        return self._encode(frame, self.calibrator.predict(calibration_input(scores, self.spec)), scores)

    def encode_reference(self, frame: Frame) -> dict:
        """Reference rows use out-of-fold calibration, so reference estimates are not flattered."""
        return self._encode(frame, self.reference_calibrated, probabilities(frame, self.spec))

    def partial(self, enc: dict, rows: slice | np.ndarray) -> ClassificationPartial:
        return ClassificationPartial.from_rows(
            enc["soft"][rows], enc["y_pred"][rows], enc["score_bins"][rows], enc["n_bins"], self.spec.scored
        )

    def finish(self, part: ClassificationPartial, reference: Any = None) -> dict:
        return {**finish_classification(part, self.metrics, self.options), ROWS: part.n}

    def use_shifts(self, enc: dict, chunks: list[Chunk], shifts: list[ChunkShift]) -> None:
        """CBPE's calibration does not depend on the chunk's shift (PAPE's does: `PAPETracker`)."""


def soft_labels(calibrated: np.ndarray) -> np.ndarray:
    """Calibrated probabilities as (n, C) soft labels; binary (n,) is the probability of class 1."""
    if calibrated.ndim == 1:
        return np.column_stack([1.0 - calibrated, calibrated])
    return calibrated


def expected_correct(calibrated: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Each row's calibrated probability that its predicted class is right (NaN where y_pred is missing)."""
    soft = soft_labels(calibrated)
    out = np.full(len(soft), np.nan)
    ok = y_pred >= 0
    out[ok] = soft[np.flatnonzero(ok), y_pred[ok]]
    return out


def calibration_input(scores: np.ndarray, spec: ClassSpec) -> np.ndarray:
    """Binary calibration reads the positive-class score alone; multiclass all columns."""
    return scores[:, 0] if spec.n_classes == 2 and spec.scored == (1,) else scores


class CBPE(Estimator):
    """Estimate classification metrics per chunk without labels.

    ``calibration``: ``"auto"`` (default) fits isotonic calibration only when
    cross-validation on the reference shows that it lowers the expected
    calibration error; ``None`` trusts the scores; ``"isotonic"`` always
    calibrates; any object with ``fit``/``predict`` is used per class.
    Regression is estimated by `seismo.DLE`. ``CBPE(problem_type="regression", ...)`` still
    returns a `DLE`, as the public contract promised, but warns (`FutureWarning`): a constructor
    that hands back another class hides which arguments apply, and a later release will raise
    `InvalidConfiguration` there. Subclasses (`PAPE`) refuse regression outright.

    Every chunk also carries the trust diagnostics of `seismo.performance.trust`
    (``unseen_share``, ``effective_sample_size``, ``calibration_gap``, ``trust``,
    ``trust_reason``). Their domain classifier reads ``features`` (default: every
    column without a role; an analysis lacking some of them then gets only the
    calibration gap) on a sample of at most 5,000 reference and chunk rows;
    ``trust=False`` skips them.
    """

    _tracker_: CBPETracker

    def __new__(cls, problem_type: str = "binary", *args: Any, **kwargs: Any) -> Any:
        """Deprecated path: ``CBPE(problem_type="regression", ...)`` builds a `DLE` and warns."""
        if problem_type == "regression" and cls is CBPE:
            warnings.warn("CBPE(problem_type='regression') is deprecated and returns a seismo.DLE: construct "
                          "seismo.DLE(y_pred=..., y_true=..., features=...) directly; a later release raises "
                          "InvalidConfiguration here", FutureWarning, stacklevel=2)
            kwargs.pop("y_pred_proba", None)
            kwargs.pop("calibration", None)
            return DLE(*args, **kwargs)
        return super().__new__(cls)

    def __init__(
        self,
        problem_type: ClassificationProblemType,
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
        trust: bool = True,
        incomplete: Incomplete = DEFAULT_INCOMPLETE,
        calibration: Any = "auto",
        business_value_matrix: Any = None,
        normalize_business_value: bool = False,
        normalize_confusion_matrix: ConfusionNormalization = "none",
        n_resamples: int = DEFAULT_RESAMPLES,
        random_state: int = DEFAULT_RANDOM_STATE,
        timestamp_format: str | None = None,
        false_alarm_rate: float | None = None,
        segments: Segments | None = None,
        min_segment_rows: int = DEFAULT_MIN_SEGMENT_ROWS,
        small_segments: SmallSegments = "other",
        segment_correction: SegmentCorrection = "bonferroni",
    ):
        if problem_type == "regression":
            raise InvalidConfiguration(
                f"{type(self).__name__} estimates classification metrics (problem_type 'binary' or 'multiclass'); "
                "for regression use seismo.DLE(y_pred=..., y_true=..., features=...)")
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
        self.calibration = calibration
        self.business_value_matrix = business_value_matrix
        self.normalize_business_value = normalize_business_value
        self.normalize_confusion_matrix = normalize_confusion_matrix
        self.features = features
        self.column_types = column_types
        self.trust = trust

    def fit(self, reference: Any, *, streaming: bool | None = None) -> "CBPE":
        """Learn the calibration, thresholds and sampling errors (and the trust diagnostics' reference)."""
        self.feature_names_ = []
        if self.trust:  # a column left out of the default features is named: an id here silenced alerts once
            self.feature_names_ = self._feature_names(reference, self.features, "reference")
        return super().fit(reference, streaming=streaming)

    def _optional_features(self) -> bool:
        return self.features is None

    def _trust_arrays(self, frame: Frame) -> tuple[np.ndarray, np.ndarray, TrustKind, str]:
        """Realized and out-of-fold estimated P(correct) of every reference row."""
        tracker = self._tracker_  # set by _estimation_tracker, which runs first
        spec = self.realized_.class_spec_
        labels = class_index(frame, self._true_column, spec, "y_true", allow_missing=True)
        y_pred = class_index(frame, self._pred_column, spec, "y_pred", allow_missing=True)
        observed = np.where((labels >= 0) & (y_pred >= 0), (labels == y_pred).astype(float), np.nan)
        expected = expected_correct(tracker.reference_calibrated, y_pred)
        return observed, expected, "rate", "accuracy"

    def _metric_gaps(self, frame: Frame) -> MetricGaps:
        """Every reported metric, realized against the out-of-fold estimate, on reference rows."""
        tracker = self._tracker_
        spec = self.realized_.class_spec_
        labels = class_index(frame, self._true_column, spec, "y_true", allow_missing=True)
        enc = tracker.encode_reference(frame)
        return MetricGaps(labels, enc["y_pred"], enc["soft"], enc["score_bins"], enc["n_bins"], spec.scored,
                          tracker, self.realized_.fitted_trackers_[0])

    def _realized_tracker(self) -> ClassificationTracker:
        """The realized performance's tracker: its score bins and metric options are the estimate's too."""
        tracker = self.realized_.fitted_trackers_[0].tracker
        assert isinstance(tracker, ClassificationTracker)  # CBPE's problem types are classification ones
        return tracker

    def _estimation_tracker(self, frame: Frame) -> CBPETracker:
        realized = self.realized_
        spec = realized.class_spec_
        scores = calibration_input(probabilities(frame, spec), spec)
        labels = class_index(frame, self._true_column, spec, "y_true", allow_missing=True)
        labelled = labels >= 0
        calibrator = Calibrator(self.calibration, random_state=self.random_state).fit(scores[labelled], labels[labelled])
        reference_calibrated = calibrator.predict(scores)
        reference_calibrated[labelled] = calibrator.oof_proba_
        self.calibrator_ = calibrator
        real_tracker = self._realized_tracker()
        self._tracker_ = CBPETracker(spec, real_tracker.points, calibrator, self._pred_column, realized.metrics_,
                                     real_tracker.options, reference_calibrated)
        return self._tracker_
