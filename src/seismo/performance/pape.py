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
estimates use CBPE-style out-of-fold isotonic calibration (no reweighting);
their ``effective_sample_size`` is the size of the stored reference sample,
the value an analysis chunk without shift would approach. Thresholds, sampling
errors and the ``realized`` column come from the shared `Estimator` plumbing
(the realized metric on the reference), as for CBPE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..calculator import ROWS
from ..chunking import Chunker
from ..encoding import category_bins, reference_categories
from ..errors import InvalidConfiguration
from ..frame import Frame
from ..metrics.partials import ClassificationPartial, bin_scores
from ..schema import build_schema
from .calibration import Calibrator
from .cbpe import CBPE, calibration_input
from .estimation import REALIZED
from .model import ClassSpec, class_index, probabilities
from .realized import finish_classification

ESS = "effective_sample_size"
ESS_KEY = (None, ESS)
DEFAULT_HYPERPARAMETERS = {
    "n_estimators": 100,
    "num_leaves": 15,
    "learning_rate": 0.05,
    "min_child_samples": 50,  # smooth probabilities: the weights are odds of them
    "n_jobs": 1,  # several threads spin-wait on small machines; samples are small anyway
    "verbose": -1,
}
DEFAULT_WEIGHT_CLIP = (0.05, 20.0)
MAX_CATEGORIES = 50
_P_EPS = 1e-6


@dataclass(frozen=True, eq=False)
class PAPEPartial:
    """A chunk's classification partial plus the effective sample size of its reweighted reference."""

    part: ClassificationPartial
    effective_sample_size: float


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size ``(Σw)² / Σw²``; NaN for no or all-zero weights."""
    w = np.asarray(weights, dtype=float)
    denominator = float(np.sum(w * w))
    return float(np.sum(w) ** 2 / denominator) if denominator > 0 else float("nan")


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


class FeatureEncoder:
    """Features as a float matrix for LightGBM; categorical columns as codes fixed by the reference."""

    def __init__(self, frame: Frame, names: list[str], column_types: dict | None = None):
        self.schema = build_schema(frame.table, names, column_types)
        self.categories: dict[str, tuple[Any, int]] = {}
        self.categorical_indices: list[int] = []
        for j, spec in enumerate(self.schema.columns):
            if spec.kind == "categorical":
                categories = reference_categories(frame.strings(spec.name), spec.name)
                self.categories[spec.name] = (categories, min(MAX_CATEGORIES, len(categories)))
                self.categorical_indices.append(j)

    def encode(self, frame: Frame) -> np.ndarray:
        out = np.empty((frame.n_rows, len(self.schema.columns)), dtype=np.float64)
        for j, spec in enumerate(self.schema.columns):
            if spec.kind == "categorical":
                categories, top_k = self.categories[spec.name]
                out[:, j] = category_bins(frame.strings(spec.name), categories, top_k)
            else:
                out[:, j] = frame.floats(spec.name)
        return out


class PAPETracker:
    """Per analysis chunk: domain-classifier weights, weighted calibration, CBPE partial.

    ``partial`` is not mergeable across chunks (see the module docstring);
    reference encodings (``encode_reference``) carry CBPE-style out-of-fold
    calibrated probabilities and are not reweighted.
    """

    comparative = False
    column = None

    def __init__(self, spec: ClassSpec, points: list[np.ndarray], y_pred: str, metrics: list[str], options: dict,
                 encoder: FeatureEncoder, reference_x: np.ndarray, reference_scores: np.ndarray,
                 reference_labels: np.ndarray, reference_calibrated: np.ndarray, params: dict, n_splits: int,
                 weight_clip: tuple[float, float], max_rows: int, random_state: int):
        self.spec = spec
        self.points = points
        self.y_pred = y_pred
        self.metrics = metrics
        self.options = options
        self.encoder = encoder
        self.reference_x = reference_x
        self.reference_scores = reference_scores
        self.reference_labels = reference_labels
        self.reference_calibrated = reference_calibrated
        self.params = params
        self.n_splits = n_splits
        self.weight_clip = weight_clip
        self.max_rows = max_rows
        self.random_state = random_state

    # -- encoding --------------------------------------------------------------
    def _common(self, frame: Frame) -> tuple[dict, np.ndarray]:
        raw = probabilities(frame, self.spec)
        score_bins, n_bins = bin_scores(raw, self.points)
        y_pred = class_index(frame, self.y_pred, self.spec, "y_pred", allow_missing=False)
        return {"y_pred": y_pred, "score_bins": score_bins, "n_bins": n_bins}, raw

    def encode(self, frame: Frame) -> dict:
        enc, raw = self._common(frame)
        enc.update(kind="analysis", scores=calibration_input(raw, self.spec), x=self.encoder.encode(frame))
        return enc

    def encode_reference(self, frame: Frame) -> dict:
        enc, _ = self._common(frame)
        enc.update(kind="reference", soft=_soft(self.reference_calibrated))
        return enc

    # -- per chunk -------------------------------------------------------------
    def reference_weights(self, chunk_x: np.ndarray, seed: int = 0) -> np.ndarray:
        """Clipped density-ratio weights of the stored reference rows for a chunk's feature rows."""
        from lightgbm import LGBMClassifier
        from sklearn.model_selection import StratifiedKFold

        n_ref = len(self.reference_x)
        if len(chunk_x) > self.max_rows:
            rng = np.random.default_rng([self.random_state, seed])
            chunk_x = chunk_x[np.sort(rng.choice(len(chunk_x), size=self.max_rows, replace=False))]
        n_chunk = len(chunk_x)
        if n_chunk < 2 * self.n_splits or chunk_x.shape[1] == 0:
            return np.ones(n_ref)  # too little to learn a shift from: no reweighting
        x = np.vstack([self.reference_x, chunk_x])
        y = np.r_[np.zeros(n_ref, dtype=np.int8), np.ones(n_chunk, dtype=np.int8)]
        p = np.empty(n_ref)
        folds = StratifiedKFold(n_splits=self.n_splits, shuffle=True, random_state=self.random_state)
        categorical = self.encoder.categorical_indices or "auto"
        for train, test in folds.split(x, y):
            model = LGBMClassifier(**self.params)
            model.fit(x[train], y[train], categorical_feature=categorical)
            test_ref = test[test < n_ref]
            if len(test_ref):
                p[test_ref] = model.predict_proba(x[test_ref])[:, 1]
        p = np.clip(p, _P_EPS, 1.0 - _P_EPS)
        w = (n_ref / n_chunk) * p / (1.0 - p)
        return np.clip(w, *self.weight_clip)

    def partial(self, enc: dict, rows: slice | np.ndarray) -> PAPEPartial:
        if enc["kind"] == "reference":
            soft = enc["soft"][rows]
            ess = float(len(self.reference_x))
        else:
            seed = rows.start if isinstance(rows, slice) else int(np.asarray(rows)[0]) if len(rows) else 0
            weights = self.reference_weights(enc["x"][rows], seed=seed or 0)
            calibrated = weighted_calibration(self.reference_scores, self.reference_labels, weights,
                                              enc["scores"][rows])
            soft = _soft(calibrated)
            ess = effective_sample_size(weights)
        part = ClassificationPartial.from_rows(soft, enc["y_pred"][rows], enc["score_bins"][rows], enc["n_bins"],
                                               self.spec.scored)
        return PAPEPartial(part, ess)

    def finish(self, part: PAPEPartial, reference: Any = None) -> dict:
        inner = part.part
        return {**finish_classification(inner, self.metrics, self.options), ROWS: inner.n,
                ESS_KEY: part.effective_sample_size}


def _soft(calibrated: np.ndarray) -> np.ndarray:
    if calibrated.ndim == 1:  # binary: probability of class 1
        return np.column_stack([1.0 - calibrated, calibrated])
    return calibrated


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
    ``calibration`` must be ``"auto"`` or ``"isotonic"``: PAPE always calibrates
    with (weighted) isotonic maps. Each analysis chunk also reports
    ``effective_sample_size``.
    """

    _extra_columns = (REALIZED, ESS)

    def __init__(
        self,
        problem_type: Literal["binary", "multiclass"] = "binary",
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
        max_reference_rows: int = 10_000,
        weight_clip: tuple[float, float] = DEFAULT_WEIGHT_CLIP,
        hyperparameters: dict | None = None,
        n_splits: int = 3,
        incomplete: Literal["keep", "append", "drop"] = "keep",
        calibration: Any = "auto",
        business_value_matrix: Any = None,
        normalize_business_value: bool = False,
        normalize_confusion_matrix: Literal["none", "all", "true", "pred"] = "none",
        n_resamples: int = 50,
        random_state: int = 0,
    ):
        super().__init__(
            problem_type, y_pred_proba, y_pred, y_true, timestamp, id, metrics, chunk_size, chunk_number,
            chunk_period, chunker, thresholds, incomplete=incomplete, calibration=calibration,
            business_value_matrix=business_value_matrix, normalize_business_value=normalize_business_value,
            normalize_confusion_matrix=normalize_confusion_matrix, n_resamples=n_resamples,
            random_state=random_state,
        )
        self.features = features
        self.column_types = column_types
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

    def _params(self) -> dict:
        params = {**DEFAULT_HYPERPARAMETERS, "random_state": self.random_state}
        params.update(self.hyperparameters or {})
        return params

    def fit(self, reference: Any) -> "PAPE":
        """Learn thresholds from the realized reference metric and keep the labelled reference sample."""
        self._check_pape_config()
        self.feature_names_ = self._feature_names(reference, self.features, "reference")
        return super().fit(reference)

    def _feature_columns(self) -> list[str]:
        return list(getattr(self, "feature_names_", []))

    def _estimation_tracker(self, frame: Frame) -> PAPETracker:
        realized = self.realized_
        spec = realized.class_spec_
        scores = calibration_input(probabilities(frame, spec), spec)
        labels = class_index(frame, self.y_true, spec, "y_true", allow_missing=True)
        labelled = np.flatnonzero(labels >= 0)
        # reference chunks: CBPE-style out-of-fold isotonic calibration, no reweighting
        calibrator = Calibrator("isotonic", random_state=self.random_state).fit(scores[labelled], labels[labelled])
        reference_calibrated = calibrator.predict(scores)
        reference_calibrated[labelled] = calibrator.oof_proba_
        self.calibrator_ = calibrator
        # the bounded, labelled reference sample each analysis chunk reweights
        rng = np.random.default_rng([self.random_state, 7])
        sample = labelled
        if len(sample) > self.max_reference_rows:
            sample = np.sort(rng.choice(labelled, size=self.max_reference_rows, replace=False))
        encoder = FeatureEncoder(frame, self.feature_names_, self.column_types)
        self.schema_ = encoder.schema
        x = encoder.encode(frame)
        real_tracker = realized.fitted_trackers_[0].tracker
        return PAPETracker(
            spec, real_tracker.points, self.y_pred, realized.metrics_, real_tracker.options, encoder,
            x[sample], scores[sample], labels[sample], reference_calibrated, self._params(), self.n_splits,
            (float(self.weight_clip[0]), float(self.weight_clip[1])), int(self.max_reference_rows),
            self.random_state,
        )
