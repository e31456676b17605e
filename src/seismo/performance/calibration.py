"""Probability calibration for confidence-based performance estimation (CBPE).

CBPE reads expected metrics off the model's probabilities, so those must be
calibrated. Whether to calibrate is decided on the reference by cross-validation:
isotonic maps fitted on K-1 folds calibrate the held-out fold, and calibration is
kept only if it lowers the expected calibration error of those out-of-fold
probabilities. The out-of-fold probabilities are kept too, so reference-period
estimates are not flattered by maps that saw the rows they score.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np

from seismo.engine.trackers import DEFAULT_RANDOM_STATE
from seismo.errors import InvalidConfiguration, InvalidData, NotFittedError

METHODS = ("auto", "isotonic", "none")


def expected_calibration_error(y_onehot: np.ndarray, proba: np.ndarray, n_bins: int = 10) -> float:
    """Expected calibration error, ECE = sum_b (n_b / n) |mean(y_b) - mean(p_b)|.

    Definition: Naeini, Cooper & Hauskrecht (2015), "Obtaining well calibrated
    probabilities using Bayesian binning", AAAI; Guo et al. (2017), "On calibration
    of modern neural networks", ICML. Bins are equal-frequency: edges are the
    quantiles of ``proba`` and a bin holds edges[b] <= p < edges[b+1] (the last bin
    is closed), so tied probabilities always share a bin. (n, C) input is scored one
    class against the rest and averaged over classes; (n,) input is the binary case.
    """
    y, p = np.asarray(y_onehot, dtype=float), np.asarray(proba, dtype=float)
    if y.shape != p.shape or y.ndim not in (1, 2) or y.shape[0] == 0:
        raise InvalidConfiguration(f"y_onehot has shape {y.shape}, proba {p.shape}; use equal non-empty (n,) or (n, C)")
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise InvalidConfiguration(f"n_bins is {n_bins!r}; use a positive integer")
    y2, p2 = (y[:, None], p[:, None]) if y.ndim == 1 else (y, p)
    eces = []
    for c in range(p2.shape[1]):
        edges = np.quantile(p2[:, c], np.linspace(0.0, 1.0, n_bins + 1))
        idx = np.searchsorted(edges[1:-1], p2[:, c], side="right")
        gap = np.bincount(idx, weights=y2[:, c] - p2[:, c], minlength=n_bins)
        eces.append(np.abs(gap).sum() / len(p2))  # (n_b/n)|mean gap| = |sum gap|/n
    return float(np.mean(eces))


def _is_custom(method: Any) -> bool:
    return callable(getattr(method, "fit", None)) and callable(getattr(method, "predict", None))


class Calibrator:
    """One-vs-rest calibration of binary (n,) or multiclass (n, C) scores.

    ``method``: "auto" (isotonic only if it lowers out-of-fold ECE), "isotonic",
    None / "none" (identity), or an object with ``fit(x, y)`` / ``predict(x)`` on 1-D
    input, cloned per class and fold. Fitted isotonic maps are kept as threshold
    arrays evaluated with ``np.interp``, which clamps at the ends exactly as
    ``IsotonicRegression(out_of_bounds="clip")`` does, so they serialise to JSON.
    """

    def __init__(self, method: Any = "auto", n_splits: int = 5, random_state: int = DEFAULT_RANDOM_STATE):
        self.method = method
        self.n_splits = n_splits
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------------

    def _kind(self) -> str:
        m = self.method
        if m is None or (isinstance(m, str) and m.lower() == "none"):
            return "none"
        if isinstance(m, str) and m.lower() in METHODS:
            return m.lower()
        if not isinstance(m, str) and _is_custom(m):
            return "custom"
        raise InvalidConfiguration(
            f"method is {m!r}; use one of {list(METHODS)}, None, or an object with fit(x, y) and predict(x)"
        )

    def _fit_map(self, x: np.ndarray, t: np.ndarray, kind: str) -> Any:
        """One 1-D map (x -> P(t)); None (identity) when t is constant, as nothing can be learned."""
        if t.all() or not t.any():
            return None
        if kind == "custom":
            model = copy.deepcopy(self.method)
            model.fit(x, t.astype(int))
            return model
        from sklearn.isotonic import IsotonicRegression  # scikit-learn is imported when a map is fitted

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(x, t.astype(float))
        return (np.asarray(iso.X_thresholds_, dtype=float), np.asarray(iso.y_thresholds_, dtype=float))

    def _fit_maps(self, s: np.ndarray, t: np.ndarray, kind: str) -> list[Any]:
        if kind == "none":
            return [None] * s.shape[1]
        return [self._fit_map(s[:, j], t[:, j], kind) for j in range(s.shape[1])]

    def _apply(self, maps: list[Any], s: np.ndarray) -> np.ndarray:
        """Calibrate columns of ``s`` (n, m); renormalise multiclass rows (all-zero rows use the raw row)."""
        out = s.copy()
        for j, m in enumerate(maps):
            if isinstance(m, tuple):
                out[:, j] = np.interp(s[:, j], m[0], m[1])
            elif m is not None:
                out[:, j] = np.clip(np.asarray(m.predict(s[:, j]), dtype=float).reshape(-1), 0.0, 1.0)
        if self.binary_:
            return out[:, 0]
        dead = out.sum(axis=1) <= 0
        out[dead] = s[dead]  # every map said 0: keep the raw row
        total = out.sum(axis=1, keepdims=True)
        return np.divide(out, total, out=out, where=total > 0)  # rows still at 0 are left as they are

    def _score_columns(self, scores: np.ndarray) -> np.ndarray:
        """Scores as (n, m) float columns (binary: m = 1, class 1)."""
        s = np.asarray(scores, dtype=float)
        if s.ndim == 2 and s.shape[1] < 2 or s.ndim not in (1, 2):
            raise InvalidConfiguration(f"scores have shape {s.shape}; use (n,) for binary or (n, C>=2) for multiclass")
        if not np.isfinite(s).all():
            raise InvalidData(f"scores contain {int((~np.isfinite(s)).sum())} non-finite values; all must be finite")
        return s[:, None] if s.ndim == 1 else s

    def _columns(self, scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores as `_score_columns` and targets as (n, m) booleans (binary: m = 1, class 1)."""
        s = self._score_columns(scores)
        binary = s.shape[1] == 1  # multiclass scores have at least two columns
        n_classes = 2 if binary else s.shape[1]
        if y.shape != (len(s),) or y.dtype.kind not in "biuf":
            raise InvalidConfiguration(
                f"y_true_index has shape {y.shape}, dtype {y.dtype}; expected ({len(s)},) class indices to match scores"
            )
        if len(y) and (not np.array_equal(y, np.round(y)) or y.min() < 0 or y.max() >= n_classes):
            raise InvalidData(f"y_true_index must hold class indices 0..{n_classes - 1}; found {np.unique(y)[:10]}")
        yi = y.astype(int)
        t = (yi == 1)[:, None] if binary else yi[:, None] == np.arange(n_classes)
        return s, t

    def _folds(self, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Stratified shuffled K folds; none when no class has two rows (nothing to hold out)."""
        k = min(int(self.n_splits), int(np.bincount(y).max()))
        if k < 2:
            return []
        from sklearn.model_selection import StratifiedKFold

        cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=self.random_state)
        with warnings.catch_warnings():  # rare classes get fewer members than folds; handled as degenerate
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            return list(cv.split(np.zeros((len(y), 1)), y))

    def _fold_ece(self, onehot: np.ndarray, proba: np.ndarray, folds: list) -> float:
        """Mean ECE over held-out folds (whole sample when there are no folds).

        Pooling out-of-fold predictions before binning would flatter them: averaged
        over a bin, cross-fitted maps reproduce the pooled labels of that bin (each
        row trains K-1 of the K maps), so a calibrated model would look improved by
        isotonic noise. Within one held-out fold the maps never saw its labels.
        """
        if not folds:
            return expected_calibration_error(onehot, proba)
        return float(np.mean([expected_calibration_error(onehot[te], proba[te]) for _, te in folds]))

    def _out_of_fold(self, s: np.ndarray, t: np.ndarray, folds: list, kind: str) -> np.ndarray:
        """Calibrated probabilities for every row from maps fitted on the other folds."""
        if not folds:  # too few rows to cross-validate: report raw probabilities
            return self._apply([None] * s.shape[1], s)
        oof = np.empty((len(s), s.shape[1]))
        for train, test in folds:
            calibrated = self._apply(self._fit_maps(s[train], t[train], kind), s[test])
            oof[test] = calibrated[:, None] if self.binary_ else calibrated
        return oof[:, 0] if self.binary_ else oof

    def fit(self, scores: np.ndarray, y_true_index: np.ndarray) -> "Calibrator":
        """Decide and fit the calibration on reference scores and class indices.

        ``ece_raw_`` / ``ece_calibrated_`` are means over the held-out folds of the
        raw and out-of-fold calibrated probabilities (same rows, same bin count).
        """
        kind = self._kind()
        if not isinstance(self.n_splits, (int, np.integer)) or self.n_splits < 2:
            raise InvalidConfiguration(f"n_splits is {self.n_splits!r}; use an integer >= 2")
        y = np.asarray(y_true_index)
        s, t = self._columns(scores, y)
        if len(s) == 0:
            raise InvalidData("cannot fit a calibrator on 0 reference rows")
        self.binary_ = np.asarray(scores).ndim == 1
        self.n_classes_ = 2 if self.binary_ else s.shape[1]
        folds = self._folds(y.astype(int))
        onehot = t[:, 0] if self.binary_ else t
        raw = self._apply([None] * s.shape[1], s)
        self.ece_raw_ = self._fold_ece(onehot, np.asarray(scores, dtype=float), folds)
        if kind == "none":
            self.maps_, self.oof_proba_, self.ece_calibrated_ = [None] * s.shape[1], raw, self.ece_raw_
            self.applied_, self.method_ = False, "identity"
            return self
        oof = self._out_of_fold(s, t, folds, "isotonic" if kind == "auto" else kind)
        self.ece_calibrated_ = self._fold_ece(onehot, oof, folds)
        self.applied_ = kind != "auto" or self.ece_calibrated_ < self.ece_raw_
        self.method_ = ("custom" if kind == "custom" else "isotonic") if self.applied_ else "identity"
        self.oof_proba_ = oof if self.applied_ else raw
        self.maps_ = self._fit_maps(s, t, kind if self.applied_ else "none")
        return self

    def predict(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities: (n,) for binary, (n, C) rows summing to 1 for multiclass."""
        if not hasattr(self, "maps_"):
            raise NotFittedError("Calibrator is not fitted yet; call .fit(scores, y_true_index) first")
        s = np.asarray(scores)
        expected = "(n,)" if self.binary_ else f"(n, {self.n_classes_})"
        if (s.ndim != 1) if self.binary_ else (s.ndim != 2 or s.shape[1] != self.n_classes_):
            raise InvalidConfiguration(f"scores have shape {s.shape}; this calibrator was fitted on {expected}")
        return self._apply(self.maps_, self._score_columns(s))
