"""Mergeable per-chunk statistics (partials) that every metric is finished from.

A partial is a sum over rows, so partials of disjoint row sets merge by
addition: ``finish(a + b) == finish(rows of a and b together)``. Labels are
*soft*: ``y_true_prob`` has one row per observation summing to 1 (one-hot for
realized labels, calibrated probabilities for label-free estimation), so the
same sums serve both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seismo.errors import InvalidConfiguration, InvalidData
from seismo.metrics.losses import MAPE_EPS, MSLE_LOWER_LIMIT, RowLoss, default_losses
from seismo.stats.binning import fine_bin_index, n_fine_bins

__all__ = [
    "MAPE_EPS", "MSLE_LOWER_LIMIT", "ClassificationPartial", "ConfusionSums", "LossSums", "ScoreHistogram", "bin_scores",
]



def _check_same(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if a.shape != b.shape:
        raise InvalidConfiguration(
            f"cannot merge {what} of shapes {a.shape} and {b.shape}: "
            "partials must be built on the same classes and bins"
        )


@dataclass(frozen=True, eq=False)
class ConfusionSums:
    """Expected confusion matrix: ``matrix[i, j]`` sums ``P(true=i)`` over rows predicted ``j``."""

    matrix: np.ndarray

    @classmethod
    def from_rows(
        cls, y_true_prob: np.ndarray, y_pred_index: np.ndarray, n_classes: int
    ) -> ConfusionSums:
        y_true_prob = np.asarray(y_true_prob, dtype=np.float64)
        y_pred_index = np.asarray(y_pred_index, dtype=np.int64).ravel()
        if y_true_prob.shape != (y_pred_index.size, n_classes):
            raise InvalidData(
                f"y_true_prob has shape {y_true_prob.shape}; expected "
                f"({y_pred_index.size}, {n_classes}) for {y_pred_index.size} predictions"
            )
        if y_pred_index.size and (y_pred_index.min() < 0 or y_pred_index.max() >= n_classes):
            raise InvalidData(
                f"predicted class indices must lie in [0, {n_classes - 1}], found "
                f"[{y_pred_index.min()}, {y_pred_index.max()}]"
            )
        matrix = np.stack(
            [
                np.bincount(y_pred_index, weights=y_true_prob[:, i], minlength=n_classes)
                for i in range(n_classes)
            ]
        ).reshape(n_classes, n_classes)
        return cls(matrix)

    @classmethod
    def empty(cls, n_classes: int) -> ConfusionSums:
        return cls(np.zeros((n_classes, n_classes)))

    def merge(self, other: ConfusionSums) -> ConfusionSums:
        _check_same(self.matrix, other.matrix, "confusion matrices")
        return ConfusionSums(self.matrix + other.matrix)

    __add__ = merge


@dataclass(frozen=True, eq=False)
class ScoreHistogram:
    """Soft positive / negative mass per score bin, one row per scored class.

    ``pos[c, b]`` sums ``y_true_prob[:, class_c]`` over rows whose class-c score
    falls in fine bin ``b``; ``neg`` sums ``1 - y_true_prob[:, class_c]``.
    ``n_bins[c]`` is the number of fine bins of class c (classes may have
    different points; rows are zero-padded to the widest); its last bin,
    ``n_bins[c] - 1``, holds NaN scores, which the metrics leave out.
    """

    pos: np.ndarray
    neg: np.ndarray
    n_bins: np.ndarray

    @classmethod
    def from_rows(
        cls,
        y_true_prob_scored: np.ndarray,
        score_bins: np.ndarray,
        n_bins: int | Sequence[int],
    ) -> ScoreHistogram:
        score_bins = np.asarray(score_bins, dtype=np.int64)
        n_scored = score_bins.shape[1] if score_bins.ndim == 2 else 1
        score_bins = score_bins.reshape(-1, n_scored)
        y = np.asarray(y_true_prob_scored, dtype=np.float64)
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        if y.shape != score_bins.shape:
            raise InvalidData(f"{y.shape} soft labels for {score_bins.shape} score bins")
        per_class = np.broadcast_to(np.asarray(n_bins, dtype=np.int64), (n_scored,)).copy()
        width = int(per_class.max()) if n_scored else 0
        if score_bins.size and (score_bins.min() < 0 or (score_bins >= per_class).any()):
            raise InvalidData(f"score bin indices must lie in [0, n_bins) with n_bins={per_class}")
        flat = (score_bins + width * np.arange(n_scored)).ravel()
        size = n_scored * width
        pos = np.bincount(flat, weights=y.ravel(), minlength=size)
        neg = np.bincount(flat, weights=(1.0 - y).ravel(), minlength=size)
        return cls(pos.reshape(n_scored, width), neg.reshape(n_scored, width), per_class)

    @classmethod
    def empty(cls, n_bins: Sequence[int]) -> ScoreHistogram:
        per_class = np.asarray(n_bins, dtype=np.int64).ravel()
        shape = (per_class.size, int(per_class.max()) if per_class.size else 0)
        return cls(np.zeros(shape), np.zeros(shape), per_class)

    def merge(self, other: ScoreHistogram) -> ScoreHistogram:
        _check_same(self.pos, other.pos, "score histograms")
        if not np.array_equal(self.n_bins, other.n_bins):
            raise InvalidConfiguration(
                f"cannot merge score histograms with bins {self.n_bins} and {other.n_bins}"
            )
        return ScoreHistogram(self.pos + other.pos, self.neg + other.neg, self.n_bins)

    __add__ = merge

    def finite_mask(self) -> np.ndarray:
        """Boolean (S, width): bins that hold real scores (not NaN, not padding)."""
        width = self.pos.shape[1]
        return np.arange(width)[None, :] < (self.n_bins[:, None] - 1)


def bin_scores(
    scores: np.ndarray, points: Sequence[np.ndarray]
) -> tuple[np.ndarray, list[int]]:
    """Fine-bin each scored column on its class's fixed points.

    Returns ``(score_bins (n, S), n_bins per class)`` ready for
    :meth:`ScoreHistogram.from_rows`; ``points[c]`` comes from
    ``fine_points(reference_scores_c, max_points=5000, grid_range=(0, 1))``.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1, len(points))
    bins = np.empty(scores.shape, dtype=np.int64)
    for c, pts in enumerate(points):
        bins[:, c] = fine_bin_index(scores[:, c], pts)
    return bins, [n_fine_bins(pts) for pts in points]


@dataclass(frozen=True, eq=False)
class ClassificationPartial:
    """Everything a classification metric needs from one chunk.

    ``scored_classes`` are the class indices of the histogram rows: ``(1,)``
    for a binary problem, ``(0, ..., C-1)`` for a multiclass one.
    """

    confusion: ConfusionSums
    scores: ScoreHistogram
    n: int
    scored_classes: tuple[int, ...]

    @classmethod
    def from_rows(
        cls,
        y_true_prob: np.ndarray,
        y_pred_index: np.ndarray,
        score_bins: np.ndarray,
        n_bins: int | Sequence[int],
        scored_classes: Sequence[int],
    ) -> ClassificationPartial:
        y_true_prob = np.asarray(y_true_prob, dtype=np.float64)
        if y_true_prob.ndim != 2:
            raise InvalidData(
                f"y_true_prob must be 2-D (rows, classes), got shape {y_true_prob.shape}"
            )
        scored = tuple(int(c) for c in scored_classes)
        confusion = ConfusionSums.from_rows(y_true_prob, y_pred_index, y_true_prob.shape[1])
        hist = ScoreHistogram.from_rows(y_true_prob[:, list(scored)], score_bins, n_bins)
        return cls(confusion, hist, int(y_true_prob.shape[0]), scored)

    @property
    def n_classes(self) -> int:
        return self.confusion.matrix.shape[0]

    @property
    def is_binary(self) -> bool:
        """Binary problems score only class 1; metrics then report class 1 alone."""
        return self.n_classes == 2 and self.scored_classes == (1,)

    def merge(self, other: ClassificationPartial) -> ClassificationPartial:
        if self.scored_classes != other.scored_classes:
            raise InvalidConfiguration(
                "cannot merge partials scoring classes "
                f"{self.scored_classes} and {other.scored_classes}"
            )
        return ClassificationPartial(
            self.confusion + other.confusion,
            self.scores + other.scores,
            self.n + other.n,
            self.scored_classes,
        )

    __add__ = merge


@dataclass(frozen=True, eq=False)
class LossSums:
    """Regression loss sums: ``totals[name]`` sums the per-row loss ``name`` (`seismo.metrics.losses`)
    over ``n`` rows. A loss that was not built reads as NaN (`total`), as does its metric.

    A loss's sum is also an attribute (``sums.sq_error``). Sums saved by seismo 0.1, one field per
    loss, load and merge as they are.
    """

    n: float
    totals: Mapping[str, float]

    @classmethod
    def from_rows(
        cls,
        y_true: np.ndarray,
        y_pred: np.ndarray,
        with_log: bool = False,
        true_name: str = "y_true",
        pred_name: str = "y_pred",
        *,
        losses: Sequence[RowLoss] | None = None,
    ) -> LossSums:
        """Sum the ``losses`` of realized targets (None: `default_losses(with_log)`), each checked
        against its domain (log1p's for the squared log error)."""
        y_true = np.asarray(y_true, dtype=np.float64).ravel()
        y_pred = np.asarray(y_pred, dtype=np.float64).ravel()
        chosen = default_losses(with_log) if losses is None else losses
        totals = {loss.name: float(np.sum(loss.of(y_true, y_pred, true_name, pred_name))) for loss in chosen}
        return cls(float(y_true.size), totals)

    @classmethod
    def from_losses(cls, per_row: Mapping[str, np.ndarray]) -> LossSums:
        """Sum per-row losses predicted by a model (label-free estimation), keyed by loss name."""
        arrays = {name: np.asarray(values, dtype=np.float64).ravel() for name, values in per_row.items()}
        n = next(iter(arrays.values())).size if arrays else 0
        return cls(float(n), {name: float(values.sum()) for name, values in arrays.items()})

    def total(self, loss: str) -> float:
        """The sum of one loss; NaN when it was not built."""
        return float(self.totals.get(loss, np.nan))

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: a loss read as an attribute, or ``totals`` of sums
        # saved by seismo 0.1 (its fields were the loss sums themselves).
        if name.startswith("__"):
            raise AttributeError(name)
        fields = self.__dict__
        if name == "totals":
            if "abs_error" in fields:
                return {loss: fields[loss] for loss in _FORMAT_1_LOSSES if loss in fields}
            raise AttributeError(name)
        if name in self.totals:
            return self.totals[name]
        raise AttributeError(f"{type(self).__name__} has no loss {name!r}; it holds {sorted(self.totals)}")

    def merge(self, other: LossSums) -> LossSums:
        names = list(dict.fromkeys([*self.totals, *other.totals]))
        return LossSums(self.n + other.n, {name: self.total(name) + other.total(name) for name in names})

    __add__ = merge


# the fields of LossSums in seismo 0.1, one per built-in loss
_FORMAT_1_LOSSES = ("abs_error", "abs_pct_error", "sq_error", "sq_log_error")
