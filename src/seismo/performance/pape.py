"""`PAPE`: classification performance without labels, under covariate shift.

Probabilistic Adaptive Performance Estimation (Białek, Kivimäki, Kuberski,
Perrakis, "Estimating Model Performance Under Covariate Shift Without Labels",
arXiv 2401.08348), implemented from the paper's description; no code is shared
with other projects.

CBPE assumes the model's calibration, P(y | score), is the same in production
as on the reference. Under covariate shift that fails whenever the model is
calibrated on the reference *mixture* but not within the regions that the
shift moves towards. PAPE re-calibrates for every analysis chunk, on the
reference reweighted to look like the chunk:

1. **Density ratio.** A LightGBM domain classifier separates a sample of the
   labelled reference (label 0, at most ``max_reference_rows`` rows) from the
   chunk's rows (label 1, at most ``max_reference_rows`` of them) on the model's
   input ``features``. It is *cross-fitted* (``n_splits`` stratified folds), so
   every reference row gets an out-of-fold probability ``p`` from a classifier
   that did not see it. Its weight is the estimated density ratio
   ``w = (n_ref / n_chunk) · p / (1 − p)``, clipped to ``weight_clip``.
   The default clip ``(0.05, 20.0)``: the floor keeps every reference region in
   the calibration with a little weight (a region the chunk seems to lack is
   more often classifier noise than a true zero density), the cap stops a
   handful of reference rows from carrying a whole chunk (the variance of
   importance weighting grows with the largest weights). The reported
   ``effective_sample_size`` is Kish's ``(Σw)² / Σw²``: how many unweighted
   reference rows the reweighted sample is worth. A small value says the chunk
   lies where the reference has few rows, and the estimate is uncertain beyond
   what ``sampling_error`` (learned on unshifted reference chunks) shows.
2. **Weighted calibration.** An isotonic map from the model's score to the
   label is fitted on the reference sample with those weights (multiclass: one
   map per class, one-vs-rest, and rows renormalised to sum to 1).
3. **Estimation.** The map calibrates the chunk's scores, and every metric is
   finished from those soft labels by the very same code as CBPE (expected
   confusion matrix and score histograms in a `ClassificationPartial`), so
   PAPE and CBPE values are directly comparable.

No shift, no reweighting
------------------------
Under no shift the weights are pure classifier noise, and a calibration
refitted on the 10,000-row sample with noisy weights is worse than CBPE's,
fitted on the whole reference (the harness measured up to 1.7× CBPE's error).
So when the domain classifier's out-of-fold AUROC is within 3 null standard
errors of 0.5 (``sqrt((1/n + 1/m) / 12)`` each, `trust.shift_within_noise`),
the chunk keeps CBPE's calibration (``calibration``, default ``"auto"``), and
PAPE equals CBPE there.

One classifier for the estimate, the diagnostics and the drift
--------------------------------------------------------------
The same per-chunk fit gives the weights and the trust diagnostics
(`seismo.performance.trust`). Its reference sample and chunk rows are drawn like
`DomainClassifierDrift`'s, so a `Monitor` that runs both hands them one
`DomainFitCache` and each chunk's classifier is fitted once.

Not a mergeable partial
-----------------------
A PAPE partial depends on the chunk's own feature distribution (it fits a
domain classifier and a calibration map for exactly those rows), so partials
of two chunks cannot be merged into the partial of their union. What bounds the
work and memory is sampling: ``fit`` keeps at most ``max_reference_rows``
encoded, labelled reference rows, and each chunk's classifier uses at most as
many of the chunk's rows (the calibrated map is then applied to all of them).

Reference period, thresholds, sampling errors
---------------------------------------------
Reference chunks have no shift with respect to the reference, so their
estimates use CBPE's out-of-fold calibration (no reweighting);
their ``effective_sample_size`` is the size of the stored reference sample,
the value an analysis chunk without shift would approach. Thresholds, sampling
errors and the ``realized`` column come from the shared `Estimator` plumbing
(the realized metric on the reference), as for CBPE.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seismo._typing import (
    ClassificationProblemType,
    ConfusionNormalization,
    Incomplete,
    SegmentCorrection,
    Segments,
    SmallSegments,
)
from seismo.chunks.chunkers import DEFAULT_INCOMPLETE, Chunk, Chunker
from seismo.data.frame import Frame
from seismo.engine.domain_fit import DEFAULT_MAX_ROWS, DEFAULT_N_SPLITS, FeatureEncoder
from seismo.engine.segments import DEFAULT_MIN_SEGMENT_ROWS
from seismo.engine.trackers import DEFAULT_RANDOM_STATE, DEFAULT_RESAMPLES
from seismo.errors import InvalidConfiguration
from seismo.metrics.partials import ClassificationPartial, bin_scores
from seismo.performance.calibration import Calibrator
from seismo.performance.cbpe import CBPE, CBPETracker, calibration_input, soft_labels
from seismo.performance.model import ClassSpec, class_index, probabilities
from seismo.performance.trust import DEFAULT_WEIGHT_CLIP, ChunkShift, DomainProbe, effective_sample_size

__all__ = ["PAPE", "FeatureEncoder", "effective_sample_size", "weighted_calibration"]

DEFAULT_HYPERPARAMETERS = {
    "n_estimators": 100,
    "num_leaves": 15,
    "learning_rate": 0.05,
    "min_child_samples": 50,  # smooth probabilities: the weights are odds of them
    "n_jobs": 1,  # several threads spin-wait on small machines; samples are small anyway
    "verbose": -1,
}
GAP_FOLDS = 2  # out-of-fold weighted calibration of the reference sample, for the calibration gap


def _weighted_isotonic(x: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Weighted isotonic map x -> P(t) as an interpolation table; None (identity) when t is constant."""
    from sklearn.isotonic import IsotonicRegression

    if t.all() or not t.any():
        return None
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(x, t.astype(float), sample_weight=w)
    return np.asarray(iso.X_thresholds_, dtype=float), np.asarray(iso.y_thresholds_, dtype=float)


def weighted_calibration(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray,
                         new_scores: np.ndarray) -> np.ndarray:
    """Calibrate ``new_scores`` with isotonic maps fitted on weighted (``scores``, ``labels``).

    Binary: ``scores`` is (n,) (positive class), labels 0/1, result (m,).
    Multiclass: ``scores`` is (n, C), labels class indices, one map per class
    (one-vs-rest), rows renormalised; rows every map sends to 0 keep their raw scores.
    """
    if scores.ndim == 1:
        table = _weighted_isotonic(scores, labels == 1, weights)
        return new_scores.copy() if table is None else np.interp(new_scores, table[0], table[1])
    out = new_scores.astype(float).copy()
    for j in range(scores.shape[1]):
        table = _weighted_isotonic(scores[:, j], labels == j, weights)
        if table is not None:
            out[:, j] = np.interp(new_scores[:, j], table[0], table[1])
    dead = out.sum(axis=1) <= 0
    out[dead] = new_scores[dead]
    total = out.sum(axis=1, keepdims=True)
    return np.divide(out, total, out=out, where=total > 0)


class PAPETracker(CBPETracker):
    """CBPE's tracker, re-calibrated per analysis chunk on the reweighted reference sample.

    ``use_shifts`` hands it each chunk's `ChunkShift` (domain classifier and
    weights, computed once by the estimator for the estimate and the trust
    diagnostics); rows it was not handed get their own fit. A chunk whose shift
    is within noise keeps CBPE's calibration. Partials are not mergeable
    across chunks (see the module docstring).
    """

    def __init__(self, spec: ClassSpec, points: list[np.ndarray], calibrator: Calibrator, y_pred: str,
                 metrics: list[str], options: dict, reference_calibrated: np.ndarray, probe: DomainProbe,
                 sample_scores: np.ndarray, sample_labels: np.ndarray, sample_pred: np.ndarray,
                 random_state: int):
        super().__init__(spec, points, calibrator, y_pred, metrics, options, reference_calibrated)
        self.probe = probe
        self.sample_scores = sample_scores
        self.sample_labels = sample_labels
        self.sample_pred = sample_pred
        self.random_state = random_state

    def encode(self, frame: Frame) -> dict:
        raw = probabilities(frame, self.spec)
        score_bins, n_bins = bin_scores(raw, self.points)
        y_pred = class_index(frame, self.y_pred, self.spec, "y_pred", allow_missing=False)
        return {"kind": "analysis", "y_pred": y_pred, "score_bins": score_bins, "n_bins": n_bins,
                "scores": calibration_input(raw, self.spec), "x": self.probe.encoder.encode(frame), "shifts": {}}

    def use_shifts(self, enc: dict, chunks: list[Chunk], shifts: list[ChunkShift]) -> None:
        enc["shifts"].update({(c.start, c.stop): s for c, s in zip(chunks, shifts)})

    def calibrate(self, scores: np.ndarray, shift: ChunkShift) -> np.ndarray:
        """The chunk's calibrated probabilities: weighted isotonic maps, or CBPE's map without a learned shift."""
        if not shift.reweighted:
            return self.calibrator.predict(scores)
        return weighted_calibration(self.sample_scores, self.sample_labels, shift.weights, scores)

    def sample_expected(self, shift: ChunkShift) -> np.ndarray:
        """Out-of-fold calibrated probabilities (n, C) of the reference sample under this chunk's
        weighted calibration: the estimates its calibration gaps compare with the labels."""
        n = len(self.sample_scores)
        folds = np.random.default_rng([self.random_state, 11]).permutation(n) % GAP_FOLDS
        calibrated = np.empty_like(self.sample_scores, dtype=float)
        for k in range(GAP_FOLDS):
            fit, held = folds != k, folds == k
            calibrated[held] = weighted_calibration(self.sample_scores[fit], self.sample_labels[fit],
                                                    shift.weights[fit], self.sample_scores[held])
        return soft_labels(calibrated)

    def partial(self, enc: dict, rows: slice | np.ndarray) -> ClassificationPartial:
        if "kind" not in enc:  # reference: CBPE's out-of-fold calibration, no reweighting
            return super().partial(enc, rows)
        key = (rows.start, rows.stop) if isinstance(rows, slice) else None
        shift = enc["shifts"].get(key)
        if shift is None:  # rows the estimator did not prepare: fit their own classifier
            start = rows.start if isinstance(rows, slice) else int(np.asarray(rows)[0]) if len(rows) else 0
            shift = self._own_shift(enc["x"][rows], start)
        soft = soft_labels(self.calibrate(enc["scores"][rows], shift))
        return ClassificationPartial.from_rows(soft, enc["y_pred"][rows], enc["score_bins"][rows], enc["n_bins"],
                                               self.spec.scored)

    def _own_shift(self, x_rows: np.ndarray, seed: int) -> ChunkShift:
        chunk = Chunk(index=seed, key=str(seed), start=0, stop=len(x_rows))
        return self.probe.shift(x_rows, chunk, reweight_noise=False)


class PAPE(CBPE):
    """Estimate classification metrics per chunk without labels, adapting calibration to covariate shift.

    Arguments are CBPE's plus:

    ``features``: the model's input columns the domain classifier reads
    (default: every column without a role). ``max_reference_rows``: size of the
    labelled reference sample kept for reweighting (and the most chunk rows a
    chunk's classifier uses); work and memory per chunk are bounded by it.
    ``weight_clip``: (floor, cap) of the density-ratio weights, default
    ``(0.05, 20.0)`` (see the module docstring). ``hyperparameters``: LightGBM
    parameters of the domain classifier, over `DEFAULT_HYPERPARAMETERS`.
    ``n_splits``: cross-fitting folds of the domain classifier (default 3).
    ``calibration`` (``"auto"`` or ``"isotonic"``) is CBPE's, used for the
    reference chunks and for analysis chunks whose shift is within noise; a
    shifted chunk is always calibrated with weighted isotonic maps. Every chunk
    reports the trust diagnostics (`seismo.performance.trust`), computed from
    the same domain classifier as the weights; ``trust=False`` leaves them
    empty but still reweights.
    """

    _reweight_noise = False

    _tracker_: PAPETracker

    def __init__(
        self,
        problem_type: ClassificationProblemType = "binary",
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
        max_reference_rows: int = DEFAULT_MAX_ROWS,
        weight_clip: tuple[float, float] = DEFAULT_WEIGHT_CLIP,
        hyperparameters: dict | None = None,
        n_splits: int = DEFAULT_N_SPLITS,
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
        super().__init__(
            problem_type, y_pred_proba, y_pred, y_true, timestamp, id, metrics, chunk_size, chunk_number,
            chunk_period, chunker, thresholds, features=features, column_types=column_types, trust=trust,
            incomplete=incomplete, calibration=calibration,
            business_value_matrix=business_value_matrix, normalize_business_value=normalize_business_value,
            normalize_confusion_matrix=normalize_confusion_matrix, n_resamples=n_resamples,
            random_state=random_state,
            timestamp_format=timestamp_format, false_alarm_rate=false_alarm_rate,
            segments=segments, min_segment_rows=min_segment_rows, small_segments=small_segments,
            segment_correction=segment_correction,
        )
        self.max_reference_rows = max_reference_rows
        self.weight_clip = weight_clip
        self.hyperparameters = hyperparameters
        self.n_splits = n_splits

    def _check_pape_config(self) -> None:
        if self.problem_type not in ("binary", "multiclass"):
            raise InvalidConfiguration(f"PAPE supports binary and multiclass problems, got {self.problem_type!r}")
        if not isinstance(self.max_reference_rows, (int, np.integer)) or self.max_reference_rows < 2:
            raise InvalidConfiguration(f"max_reference_rows must be an integer of at least 2, got "
                                       f"{self.max_reference_rows!r}")
        if not isinstance(self.n_splits, (int, np.integer)) or self.n_splits < 2:
            raise InvalidConfiguration(f"n_splits must be an integer of at least 2, got {self.n_splits!r}")
        try:
            lo, hi = (float(v) for v in self.weight_clip)
        except (TypeError, ValueError):
            raise InvalidConfiguration(f"weight_clip must be a (floor, cap) pair, got {self.weight_clip!r}") from None
        if not (0.0 <= lo < hi <= np.inf):
            raise InvalidConfiguration(f"weight_clip must satisfy 0 <= floor < cap, got {self.weight_clip!r}")
        if self.hyperparameters is not None and not isinstance(self.hyperparameters, dict):
            raise InvalidConfiguration("hyperparameters must be a dict of LightGBM parameters")
        method = self.calibration
        if not (isinstance(method, str) and method.lower() in ("auto", "isotonic")):
            raise InvalidConfiguration(f"PAPE calibrates with weighted isotonic maps; calibration must be "
                                       f"'auto' or 'isotonic', got {method!r}")

    def lightgbm_params(self) -> dict:
        """The LightGBM parameters of the domain classifier: the defaults, ``random_state``, then ``hyperparameters``
        (a `Monitor` hands PAPE's to its `DomainClassifierDrift`, so the two fit one classifier per chunk)."""
        params = {**DEFAULT_HYPERPARAMETERS, "random_state": self.random_state}
        params.update(self.hyperparameters or {})
        return params

    def _probe_settings(self) -> tuple[int, dict, int, tuple[float, float]]:
        return (int(self.max_reference_rows), self.lightgbm_params(), int(self.n_splits),
                (float(self.weight_clip[0]), float(self.weight_clip[1])))

    def fit(self, reference: Any, *, streaming: bool | None = None) -> "PAPE":
        """Learn thresholds from the realized reference metric and keep the labelled reference sample."""
        self._check_pape_config()
        self.feature_names_ = self._feature_names(reference, self.features, "reference")
        return super(CBPE, self).fit(reference, streaming=streaming)

    def _optional_features(self) -> bool:
        return False  # the estimate itself needs them

    def _shift_expected(self, shift: ChunkShift) -> np.ndarray | None:
        return self._tracker_.sample_expected(shift) if shift.reweighted else None

    def _estimation_tracker(self, frame: Frame) -> PAPETracker:
        realized = self.realized_
        spec = realized.class_spec_
        scores = calibration_input(probabilities(frame, spec), spec)
        labels = class_index(frame, self._true_column, spec, "y_true", allow_missing=True)
        labelled = np.flatnonzero(labels >= 0)
        # reference chunks and unshifted chunks: CBPE's out-of-fold calibration
        calibrator = Calibrator(self.calibration, random_state=self.random_state).fit(scores[labelled],
                                                                                       labels[labelled])
        reference_calibrated = calibrator.predict(scores)
        reference_calibrated[labelled] = calibrator.oof_proba_
        self.calibrator_ = calibrator
        # the bounded, labelled reference sample each shifted chunk reweights
        self.probe_ = self._domain_probe(frame, labelled)
        if self.probe_ is None:
            raise InvalidConfiguration("PAPE needs feature columns for its domain classifier; pass features=[...]")
        self.schema_ = self.probe_.encoder.schema
        sample = self.probe_.sample
        y_pred = class_index(frame, self._pred_column, spec, "y_pred", allow_missing=True)
        real_tracker = self._realized_tracker()
        self._tracker_ = PAPETracker(
            spec, real_tracker.points, calibrator, self._pred_column, realized.metrics_, real_tracker.options,
            reference_calibrated, self.probe_, scores[sample], labels[sample], y_pred[sample], self.random_state,
        )
        return self._tracker_
