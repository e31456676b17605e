"""The monitored model's columns: classes, scores, predictions and labels as arrays.

Shared by realized performance and the label-free estimators, so that both read
and validate the model's outputs the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidConfiguration, InvalidData
from ..frame import Frame
from ..io import string_values
from ..schema import Roles


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
    """Scores of the scored classes, (n, S); NaN or values outside [0, 1] are errors."""
    out = np.empty((frame.n_rows, len(spec.proba_columns)))
    for j, col in enumerate(spec.proba_columns):
        values = frame.floats(col)
        bad = ~((values >= 0.0) & (values <= 1.0))
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise InvalidData(
                f"y_pred_proba column {col!r} in the {frame.where} data has {int(bad.sum())} values "
                f"that are NaN or outside [0, 1] (first at row {first}: {float(values[first])})"
            )
        out[:, j] = values
    return out


def class_index(frame: Frame, column: str, spec: ClassSpec, role: str, allow_missing: bool) -> np.ndarray:
    """Index of each row's class in ``spec.labels``; -1 where missing (if allowed)."""
    array = frame.column(column)
    if pa.types.is_boolean(array.type):
        array = pc.cast(array, pa.int64())
    strings = string_values(array)
    index = pc.fill_null(pc.index_in(strings, value_set=pa.array(spec.labels)), -1)
    index = index.to_numpy(zero_copy_only=False).astype(np.int64)
    missing = pc.is_null(strings).to_numpy(zero_copy_only=False)
    unknown = (index < 0) & ~missing
    if unknown.any():
        found = pc.unique(pc.filter(strings, pa.array(unknown))).to_pylist()[:10]
        raise InvalidData(
            f"{role} column {column!r} in the {frame.where} data has values {found} that are not "
            f"among the known classes {list(spec.labels)}"
        )
    if missing.any() and not allow_missing:
        raise InvalidData(
            f"{role} column {column!r} in the {frame.where} data has {int(missing.sum())} missing values"
        )
    return index


def regression_values(frame: Frame, column: str, role: str, allow_missing: bool) -> np.ndarray:
    values = frame.floats(column)
    if not allow_missing and np.isnan(values).any():
        raise InvalidData(
            f"{role} column {column!r} in the {frame.where} data has {int(np.isnan(values).sum())} missing values"
        )
    return values
