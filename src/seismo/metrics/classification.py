"""Classification metrics finished from a :class:`ClassificationPartial`.

Binary partials (``partial.is_binary``) report the positive class, index 1.
Multiclass partials report the unweighted (macro) mean over classes, as
scikit-learn's ``average="macro"``. Because labels may be soft, every count
below is an *expected* count; with one-hot labels they are the usual counts.

Zero division: a per-class precision, recall, F1 or specificity whose
denominator is 0 counts as 0.0 (scikit-learn's ``zero_division=0``), and the
macro mean still includes that class, as scikit-learn does with
``labels=range(C)``. Ranking metrics instead leave out classes they cannot be
defined on (see :func:`roc_auc`, :func:`average_precision`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seismo.errors import InvalidConfiguration
from seismo.metrics.partials import ClassificationPartial

NORMALIZATIONS = ("none", "all", "true", "pred")


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def _one_vs_rest(partial: ClassificationPartial) -> tuple[np.ndarray, ...]:
    """Per-class (tp, fp, fn, tn) arrays from the partial's confusion matrix."""
    return one_vs_rest_counts(partial.confusion.matrix)


def one_vs_rest_counts(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class (tp, fp, fn, tn) arrays of a C x C confusion matrix (rows = true, columns = predicted):
    class c against the rest. Custom per-class metrics (`seismo.metrics.custom`) receive these."""
    m = np.asarray(matrix, dtype=np.float64)
    tp = np.diag(m)
    fp = m.sum(axis=0) - tp
    fn = m.sum(axis=1) - tp
    tn = m.sum() - tp - fp - fn
    return tp, fp, fn, tn


def _report(partial: ClassificationPartial, per_class: np.ndarray) -> float:
    if partial.is_binary:
        return float(per_class[1])
    return float(np.mean(per_class)) if per_class.size else float("nan")


def precision(partial: ClassificationPartial) -> float:
    """TP / (TP + FP); 0.0 for a class never predicted."""
    tp, fp, _, _ = _one_vs_rest(partial)
    return _report(partial, _safe_div(tp, tp + fp))


def recall(partial: ClassificationPartial) -> float:
    """TP / (TP + FN); 0.0 for a class absent from the labels."""
    tp, _, fn, _ = _one_vs_rest(partial)
    return _report(partial, _safe_div(tp, tp + fn))


def specificity(partial: ClassificationPartial) -> float:
    """TN / (TN + FP); 0.0 when a class has no negatives."""
    _, fp, _, tn = _one_vs_rest(partial)
    return _report(partial, _safe_div(tn, tn + fp))


def f1(partial: ClassificationPartial) -> float:
    """Per-class 2TP / (2TP + FP + FN) (the harmonic mean of P and R), then macro."""
    tp, fp, fn, _ = _one_vs_rest(partial)
    return _report(partial, _safe_div(2 * tp, 2 * tp + fp + fn))


def accuracy(partial: ClassificationPartial) -> float:
    """Share of (expected) correct predictions; NaN for an empty chunk."""
    m = partial.confusion.matrix
    total = m.sum()
    return float(np.trace(m) / total) if total > 0 else float("nan")


def confusion_matrix(partial: ClassificationPartial, normalize: str = "none") -> np.ndarray:
    """C x C matrix, rows = true class, columns = predicted class.

    ``normalize`` as scikit-learn: "all" divides by the total, "true" each row by
    its sum, "pred" each column by its sum; an empty row/column stays 0.
    """
    m = partial.confusion.matrix.copy()
    if normalize == "none":
        return m
    if normalize == "all":
        return _safe_div(m, m.sum())
    if normalize == "true":
        return _safe_div(m, m.sum(axis=1, keepdims=True))
    if normalize == "pred":
        return _safe_div(m, m.sum(axis=0, keepdims=True))
    raise InvalidConfiguration(f"normalize={normalize!r} is not one of {NORMALIZATIONS}")


def business_value(
    partial: ClassificationPartial,
    value_matrix: np.ndarray | Sequence[Sequence[float]],
    normalize_per_prediction: bool = False,
) -> float:
    """Sum of confusion cells times their value (``value_matrix[true, pred]``).

    Binary: ``[[tn_value, fp_value], [fn_value, tp_value]]``. With
    ``normalize_per_prediction`` the total is divided by the row count.
    """
    m = partial.confusion.matrix
    values = np.asarray(value_matrix, dtype=np.float64)
    if values.shape != m.shape:
        raise InvalidConfiguration(
            f"value_matrix has shape {values.shape}; expected {m.shape} indexed [true, pred]"
        )
    total = float(np.sum(m * values))
    if normalize_per_prediction:
        return total / partial.n if partial.n > 0 else float("nan")
    return total


def _histogram_arrays(partial: ClassificationPartial) -> tuple[np.ndarray, np.ndarray]:
    """pos, neg (S, bins) in ascending score order, NaN and padding bins zeroed."""
    mask = partial.scores.finite_mask()
    return partial.scores.pos * mask, partial.scores.neg * mask


def per_class_roc_auc(partial: ClassificationPartial) -> np.ndarray:
    """ROC AUC of each scored class, NaN where a class lacks positive or negative mass.

    AUC = P(score+ > score-) + 0.5 P(tie) (Hanley & McNeil 1982, the trapezoidal
    area); scores in the same fine bin count as tied.
    """
    pos, neg = _histogram_arrays(partial)
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    wins = np.sum(pos * (neg_below + 0.5 * neg), axis=1)
    valid = (n_pos > 0) & (n_neg > 0)
    return np.where(valid, _safe_div(wins, np.where(valid, n_pos * n_neg, 1.0)), np.nan)


def roc_auc(partial: ClassificationPartial) -> float:
    """Binary: AUC of class 1. Multiclass: macro one-vs-rest over the classes with
    both positive and negative mass in the chunk; NaN if none qualifies."""
    return _nanmean(per_class_roc_auc(partial))


def per_class_average_precision(partial: ClassificationPartial) -> np.ndarray:
    """AP = sum_k (R_k - R_{k-1}) P_k over descending thresholds, one per bin
    (the step-wise definition of scikit-learn's average_precision_score);
    NaN for a class without positive mass."""
    pos, neg = _histogram_arrays(partial)
    tps = np.cumsum(pos[:, ::-1], axis=1)
    fps = np.cumsum(neg[:, ::-1], axis=1)
    n_pos = tps[:, -1:] if tps.shape[1] else np.zeros((tps.shape[0], 1))
    prec = _safe_div(tps, tps + fps)
    rec = _safe_div(tps, n_pos)
    d_rec = np.diff(rec, axis=1, prepend=0.0)
    ap = np.sum(d_rec * prec, axis=1)
    return np.where(n_pos[:, 0] > 0, ap, np.nan)


def average_precision(partial: ClassificationPartial) -> float:
    """Binary: AP of class 1. Multiclass: macro over classes with positive mass."""
    return _nanmean(per_class_average_precision(partial))


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else float("nan")


def binary_confusion_cells(matrix: np.ndarray) -> dict[str, float]:
    """Named cells of a 2 x 2 matrix (rows = true, columns = predicted, class 1 positive)."""
    m = np.asarray(matrix, dtype=np.float64)
    return {
        "true_positive": float(m[1, 1]),
        "false_positive": float(m[0, 1]),
        "true_negative": float(m[0, 0]),
        "false_negative": float(m[1, 0]),
    }


def multiclass_confusion_cells(matrix: np.ndarray, labels: Sequence[object]) -> dict[str, float]:
    """Cells named ``true_{a}_pred_{b}`` for every pair of class labels."""
    m = np.asarray(matrix, dtype=np.float64)
    if len(labels) != m.shape[0]:
        raise InvalidConfiguration(f"{len(labels)} labels given for a {m.shape[0]}-class matrix")
    return {
        f"true_{a}_pred_{b}": float(m[i, j])
        for i, a in enumerate(labels)
        for j, b in enumerate(labels)
    }
