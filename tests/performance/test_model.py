"""Reading the model's columns: class labels matched by number or by text, score checks."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pytest

from seismo.data.frame import Frame
from seismo.errors import InvalidData
from seismo.performance.model import ClassSpec, class_index, probabilities

BINARY = ClassSpec(("0", "1"), ("p",), (1,))
THREE = ClassSpec(("2", "0", "-1"), ("a", "b", "c"), (0, 1, 2))


def frame(**columns) -> Frame:
    return Frame(pa.table(columns), None, "analysis")


@pytest.mark.parametrize(
    "column, spec, want",
    [
        (pa.array([0, 1, None, 1]), BINARY, [0, 1, -1, 1]),
        (pa.array([True, False, None]), BINARY, [1, 0, -1]),
        (pa.array([1.0, 0.0, float("nan"), -0.0, None]), BINARY, [1, 0, -1, 0, -1]),
        (pa.array([2, 0, -1, 2], pa.int8()), THREE, [0, 1, 2, 0]),
        (pa.array(["0", "1", None]), BINARY, [0, 1, -1]),
        (pa.array([0, 1, 1]).dictionary_encode(), BINARY, [0, 1, 1]),
        (pa.array([10**12, 0, None], pa.int64()), ClassSpec(("0", str(10**12)), ("a", "b"), (0, 1)), [1, 0, -1]),
    ],
)
def test_class_index_by_number_and_by_text(column, spec, want) -> None:
    got = class_index(frame(y=column), "y", spec, "y_true", allow_missing=True)
    assert got.dtype == np.int64 and got.tolist() == want


@pytest.mark.parametrize(
    "column, found",
    [
        (pa.array([0, 1, 5, 7, 5]), "['5', '7']"),
        (pa.array([0.0, 1.5, 2.0]), "['1.5', '2']"),
        (pa.array([2**53 + 1, 1]), f"['{2**53 + 1}']"),
        (pa.array([-(2**63), 2**63 - 1, 0]), f"['{-(2**63)}', '{2**63 - 1}']"),
        (pa.array([2**64 - 1, 1], pa.uint64()), f"['{2**64 - 1}']"),
        (pa.array(["0", "01"]), "['01']"),
    ],
)
def test_unknown_classes_are_named_as_text(column, found) -> None:
    with pytest.raises(InvalidData, match=rf"y_pred column 'y' in the analysis data has values {re.escape(found)}"):
        class_index(frame(y=column), "y", BINARY, "y_pred", allow_missing=True)


def test_labels_that_are_not_canonical_integers_match_as_text() -> None:
    spec = ClassSpec(("01", "1"), ("a", "b"), (0, 1))
    with pytest.raises(InvalidData, match=r"values \['0'\]"):
        class_index(frame(y=pa.array([1, 0])), "y", spec, "y_true", allow_missing=True)
    assert class_index(frame(y=pa.array(["01", "1"])), "y", spec, "y_true", True).tolist() == [0, 1]


def test_missing_labels_are_an_error_where_not_allowed() -> None:
    with pytest.raises(InvalidData, match="y_pred column 'y' in the analysis data has 1 missing values"):
        class_index(frame(y=pa.array([1.0, None])), "y", BINARY, "y_pred", allow_missing=False)


def test_probabilities_keep_values_and_are_read_only() -> None:
    data = frame(a=[0.1, 0.5, 1.0], b=[0.9, 0.5, 0.0])
    one = probabilities(data, ClassSpec(("0", "1"), ("a",), (1,)))
    both = probabilities(data, ClassSpec(("x", "y"), ("a", "b"), (0, 1)))
    assert one.tolist() == [[0.1], [0.5], [1.0]]
    assert both.tolist() == [[0.1, 0.9], [0.5, 0.5], [1.0, 0.0]]
    with pytest.raises(ValueError):
        both[0, 0] = 0.3


def test_scores_outside_zero_one_name_the_column() -> None:
    with pytest.raises(InvalidData, match=r"column 'a' in the analysis data has 2 values .* \(first at row 1: nan\)"):
        probabilities(frame(a=[0.2, float("nan"), 1.5]), ClassSpec(("0", "1"), ("a",), (1,)))
