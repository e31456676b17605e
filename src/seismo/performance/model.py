"""The monitored model's columns: classes, scores, predictions and labels as arrays.

Shared by realized performance and the label-free estimators, so that both read
and validate the model's outputs the same way.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seismo.data.columns import Roles
from seismo.data.frame import Frame
from seismo.data.io import string_values
from seismo.errors import InvalidConfiguration, InvalidData, SeismoWarning


@dataclass(frozen=True)
class ClassSpec:
    """Class labels (as text) in a fixed order, and which of them carry a score histogram."""

    labels: tuple[str, ...]
    proba_columns: tuple[str, ...]  # one per scored class
    scored: tuple[int, ...]  # class indices with a score column

    @classmethod
    def from_roles(cls, problem_type: str, roles: Roles) -> "ClassSpec":
        if roles.y_pred_proba is None:
            raise InvalidConfiguration(f"{problem_type} performance needs y_pred_proba")
        if roles.y_pred is None:
            raise InvalidConfiguration(f"{problem_type} performance needs y_pred")
        probas = roles.proba_columns()
        if problem_type == "binary":
            if len(probas) != 1:
                raise InvalidConfiguration(
                    "binary y_pred_proba is one column name (the positive-class probability); "
                    f"got a mapping of {len(probas)} classes — use problem_type='multiclass'"
                )
            return cls(("0", "1"), tuple(probas.values()), (1,))
        if not isinstance(roles.y_pred_proba, Mapping) or len(probas) < 2:
            raise InvalidConfiguration(
                "multiclass y_pred_proba is a {class_label: column} mapping with at least two classes"
            )
        labels = tuple(probas)
        return cls(labels, tuple(probas[label] for label in labels), tuple(range(len(labels))))

    @property
    def n_classes(self) -> int:
        return len(self.labels)


def probabilities(frame: Frame, spec: ClassSpec) -> np.ndarray:
    """Scores of the scored classes, (n, S), read-only; NaN or values outside [0, 1] are errors.

    One scored column is a view of the frame's cached values; several are stored
    column by column (Fortran order), so neither filling nor reading a class copies strided.
    """
    columns = [_checked_scores(frame, col) for col in spec.proba_columns]
    if len(columns) == 1:
        out = columns[0].reshape(-1, 1)
    else:
        out = np.empty((frame.n_rows, len(columns)), order="F")
        for j, values in enumerate(columns):
            out[:, j] = values
        if len(columns) == spec.n_classes:
            _warn_unnormalised(out, spec, frame.where)
    out.flags.writeable = False
    return out


SUM_TOLERANCE = 0.02  # rounding in a model's export stays far below this


def _warn_unnormalised(scores: np.ndarray, spec: ClassSpec, where: str) -> None:
    """Multiclass scores should sum to 1 per row; say how many rows do not, and by how much.

    Scores are used class by class as given (each class is calibrated on its own), so rows
    that do not sum to 1 are not an error, but they usually mean columns of different models
    or a missing class, which the user should hear about.
    """
    sums = scores.sum(axis=1)
    off = np.abs(sums - 1.0) > SUM_TOLERANCE
    if off.any():
        warnings.warn(f"y_pred_proba columns {list(spec.proba_columns)} in the {where} data: {int(off.sum())} of "
                      f"{len(sums)} rows sum to between {sums[off].min():.3g} and {sums[off].max():.3g}, not 1 "
                      f"(±{SUM_TOLERANCE}); each class's score is used as given: check that the columns are one "
                      "model's probabilities for every class", SeismoWarning, stacklevel=4)


def _checked_scores(frame: Frame, column: str) -> np.ndarray:
    values = frame.floats(column)
    if values.size and 0.0 <= values.min() and values.max() <= 1.0:  # NaN fails both
        return values
    bad = ~((values >= 0.0) & (values <= 1.0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InvalidData(
            f"y_pred_proba column {column!r} in the {frame.where} data has {int(bad.sum())} values "
            f"that are NaN or outside [0, 1] (first at row {first}: {float(values[first])})"
        )
    return values


def check_predictions(frame: Frame, spec: ClassSpec, column: str) -> None:
    """Warn, counting them, about rows whose ``y_pred`` the scores cannot explain.

    A binary model predicts 1 above one threshold on its score; a multiclass model predicts its
    highest-scored class. Rows that break this usually mean columns of two models or a shifted
    join, so the user hears how many. They are not an error: the estimators' confusion matrices
    hold for any ``y_pred`` (each row's predicted class is used as given), and a model may apply
    a rule of its own.
    """
    n = frame.n_rows
    if n == 0:
        return
    y_pred = class_index(frame, column, spec, "y_pred", allow_missing=False)
    scores = np.column_stack([_checked_scores(frame, c) for c in spec.proba_columns])
    if spec.n_classes == 2 and scores.shape[1] == 1:
        bad = _rows_off_every_threshold(scores[:, 0], y_pred == 1)
        rule = (f"disagree with any single threshold on y_pred_proba column {spec.proba_columns[0]!r} (that many "
                "predictions at least would have to change for one threshold to give them all)")
    else:
        top = scores.max(axis=1)
        bad = int(np.count_nonzero(scores[np.arange(n), y_pred] < top))
        rule = "predict a class other than their highest-scored one"
    if bad:
        warnings.warn(f"y_pred column {column!r} in the {frame.where} data: {bad:,} of {n:,} rows {rule}; y_pred is "
                      "used as given: check that y_pred and y_pred_proba come from one model", SeismoWarning,
                      stacklevel=4)


def _rows_off_every_threshold(score: np.ndarray, positive: np.ndarray) -> int:
    """The fewest predictions that must change for ``positive == (score >= t)`` to hold for one ``t``.

    Rows of equal score fall on one side of any threshold. The count is the minimum, over every
    threshold between distinct scores, of positives below it plus negatives at or above it.
    """
    if not positive.any() or positive.all() or score[~positive].max() < score[positive].min():
        return 0  # the common case, in linear time
    order = np.argsort(score, kind="stable")
    s, pos = score[order], positive[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])  # where each run of equal scores begins
    pos_before = np.r_[0, np.cumsum(pos)][starts]  # positives strictly below each candidate threshold
    neg_from = (len(s) - starts) - (int(pos.sum()) - pos_before)  # negatives at or above it
    return int(min((pos_before + neg_from).min(), int(pos.sum())))  # or a threshold above every score


def class_index(frame: Frame, column: str, spec: ClassSpec, role: str, allow_missing: bool) -> np.ndarray:
    """Index of each row's class in ``spec.labels``; -1 where missing (if allowed).

    Numbers are compared with integer class labels numerically, which is the same
    match as comparing their text (`string_values`) without making a string per row.
    """
    array = frame.column(column)
    if pa.types.is_boolean(array.type):
        array = pc.cast(array, pa.int64())
    numeric = _numeric_class_index(array, spec.labels)
    if numeric is not None:
        index, missing = numeric
    else:
        strings = string_values(array)
        index = pc.fill_null(pc.index_in(strings, value_set=pa.array(spec.labels)), -1)
        index = index.to_numpy(zero_copy_only=False).astype(np.int64)
        missing = pc.is_null(strings).to_numpy(zero_copy_only=False)
    unknown = (index < 0) & ~missing
    if unknown.any():
        found = pc.unique(pc.filter(string_values(array), pa.array(unknown))).to_pylist()[:10]
        raise InvalidData(
            f"{role} column {column!r} in the {frame.where} data has values {found} that are not "
            f"among the known classes {list(spec.labels)}"
        )
    if missing.any() and not allow_missing:
        raise InvalidData(
            f"{role} column {column!r} in the {frame.where} data has {int(missing.sum())} missing values"
        )
    return index


_EXACT_FLOAT_INTEGERS = 2**53  # below this every integer is a float64 exactly


def _integer_labels(labels: tuple[str, ...]) -> np.ndarray | None:
    """The labels as integers when each is an integer's canonical text ("3", not "03" or "3.0")."""
    try:
        keys = [int(label) for label in labels]
    except ValueError:
        return None
    if any(str(key) != label or abs(key) >= _EXACT_FLOAT_INTEGERS for key, label in zip(keys, labels)):
        return None
    return np.array(keys, dtype=np.int64)


def _numeric_class_index(
    array: pa.ChunkedArray, labels: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray] | None:
    """(class index or -1, missing) of an integer or float column, or None to match as text.

    `string_values` writes an integral float as the integer ("1.0" -> "1") and NaN as
    missing, so an integral float equals an integer label exactly when its text does.
    """
    kind = array.type
    numeric = (pa.types.is_integer(kind) and kind != pa.uint64()) or pa.types.is_floating(kind)
    keys = _integer_labels(labels) if numeric else None
    if keys is None:
        return None
    if pa.types.is_floating(kind):
        values = pc.fill_null(pc.cast(array, pa.float64()), np.nan).to_numpy(zero_copy_only=False)
        return _searched_positions(values, keys), np.isnan(values)  # NaN equals no key
    ints = pc.cast(array, pa.int64())
    index = _integer_positions(pc.fill_null(ints, 0).to_numpy(zero_copy_only=False), keys)
    missing = pc.is_null(ints).to_numpy(zero_copy_only=False)
    index[missing] = -1
    return index, missing


def _integer_positions(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Position of each value in ``keys`` (distinct int64), -1 if absent, by one table lookup."""
    lo = int(keys.min())
    span = int(keys.max()) - lo + 1
    if span > 1 << 20:  # sparse keys: binary search instead of a huge table
        return _searched_positions(values, keys)
    table = np.full(span + 1, -1, dtype=np.int64)  # the last slot answers every value out of range
    table[keys - lo] = np.arange(len(keys))
    # Read as unsigned, a value below ``lo`` wraps far above ``span``, so one minimum clips both sides.
    offset = (values - lo).view(np.uint64)
    return table.take(np.minimum(offset, np.uint64(span)))


def _searched_positions(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Position of each value (integer or float) in ``keys``, -1 if absent, by binary search."""
    order = np.argsort(keys)
    ordered = keys[order]
    at = np.minimum(np.searchsorted(ordered, values), len(keys) - 1)
    return np.where(ordered[at] == values, order[at], -1)


def regression_values(frame: Frame, column: str, role: str, allow_missing: bool) -> np.ndarray:
    """A regression target or prediction; missing values are an error unless allowed, ±inf always
    (one infinite prediction makes every loss of its chunk infinite, and an estimate finite but wrong)."""
    values = frame.floats(column)
    infinite = np.isinf(values)
    if infinite.any():
        raise InvalidData(f"{role} column {column!r} in the {frame.where} data has {int(infinite.sum())} infinite "
                          f"values (first at row {int(np.flatnonzero(infinite)[0])})")
    if not allow_missing and np.isnan(values).any():
        raise InvalidData(
            f"{role} column {column!r} in the {frame.where} data has {int(np.isnan(values).sum())} missing values"
        )
    return values
