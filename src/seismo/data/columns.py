"""Column roles and column types.

Type rule (documented in docs/data.md):

* float and decimal columns are continuous;
* string, categorical (dictionary), and boolean columns are categorical, and so is a
  column that is entirely missing in the reference (Arrow type null);
* integer columns are categorical when the reference holds at most
  ``MAX_INTEGER_CATEGORIES`` (10) distinct values, continuous otherwise: a
  count such as "number of open loans" behaves like a category, an amount in
  cents does not;
* a float column with missing values whose every other value is a whole number follows
  the integer rule: pandas stores an integer column with one missing value as float64,
  and the same counts must not change kind with their container (``Int64`` with
  ``pd.NA``, float with NaN and object with None give one kind and one result). A float
  column without missing values was made float on purpose and stays continuous;
* ``column_types={"col": "continuous" | "categorical"}`` overrides the rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from seismo._typing import ColumnKind
from seismo.errors import InvalidConfiguration, InvalidData

KINDS: tuple[str, ...] = ("continuous", "categorical")
MAX_INTEGER_CATEGORIES = 10


def given_column(column: str | None, role: str, owner: str) -> str:
    """The column of a role that ``owner`` cannot work without; `InvalidConfiguration` when none was given."""
    if column is None:
        raise InvalidConfiguration(f"{owner} needs the {role} column: pass {role}=...")
    return column


def label_text(label: object) -> str:
    """A class label as text, the way label columns are compared: 1.0 is "1"."""
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label)


@dataclass(frozen=True)
class Roles:
    """Which column plays which part. Anything not named here may be a feature."""

    timestamp: str | None = None
    y_pred_proba: str | Mapping[object, str] | None = None
    y_pred: str | None = None
    y_true: str | None = None
    id: str | None = None

    def model_columns(self) -> list[str]:
        """Columns that describe the model or the row rather than its inputs."""
        named: list[str] = []
        if isinstance(self.y_pred_proba, Mapping):
            named.extend(self.y_pred_proba.values())
        elif self.y_pred_proba is not None:
            named.append(self.y_pred_proba)
        named.extend(c for c in (self.timestamp, self.y_pred, self.y_true, self.id) if c is not None)
        return named

    def proba_columns(self) -> dict[str, str]:
        """Class label (as text) -> probability column; binary uses class "1"."""
        if self.y_pred_proba is None:
            return {}
        if isinstance(self.y_pred_proba, Mapping):
            return {label_text(label): col for label, col in self.y_pred_proba.items()}
        return {"1": self.y_pred_proba}

    @property
    def pred_column(self) -> str:
        """``y_pred``, for the performance trackers, which are built only once it is given."""
        return given_column(self.y_pred, "y_pred", "a performance calculator")

    @property
    def true_column(self) -> str:
        """``y_true``, as `pred_column`."""
        return given_column(self.y_true, "y_true", "a performance calculator")


@dataclass
class ColumnSpec:
    name: str
    kind: ColumnKind


@dataclass
class Schema:
    """Features with their kinds, as learned at fit."""

    columns: list[ColumnSpec] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def kind(self, name: str) -> ColumnKind:
        return next(c.kind for c in self.columns if c.name == name)


def infer_kind(name: str, array: pa.ChunkedArray) -> ColumnKind:
    """Continuous or categorical, by the rule in the module docstring."""
    t = array.type
    if pa.types.is_dictionary(t):
        return "categorical"
    if pa.types.is_floating(t) and integers_made_float(array):
        t = pa.int64()
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "continuous"
    if pa.types.is_integer(t):
        distinct = pc.count_distinct(array, mode="only_valid").as_py()
        return "categorical" if distinct <= MAX_INTEGER_CATEGORIES else "continuous"
    if is_text(t) or pa.types.is_boolean(t):
        return "categorical"
    if pa.types.is_null(t):  # entirely missing in the reference: most often an empty text column
        return "categorical"
    raise InvalidData(
        f"column {name!r} in the reference data has type {t}, which seismo cannot monitor as a feature; "
        "exclude it from the features or convert it to a number or string"
    )


def integers_made_float(array: pa.ChunkedArray) -> bool:
    """A float column as pandas makes an integer column that meets a missing value: some values
    missing (null or NaN), at least one not, and every one that is not a finite whole number."""
    valid = pc.drop_null(pc.if_else(pc.is_nan(array), pa.scalar(None, array.type), array))
    if len(valid) == 0 or len(valid) == len(array):
        return False
    return bool(pc.all(pc.and_(pc.is_finite(valid), pc.equal(valid, pc.floor(valid)))).as_py())


def is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def build_schema(
    table: pa.Table,
    features: list[str],
    column_types: Mapping[str, str] | None,
) -> Schema:
    overrides = dict(column_types or {})
    for name, kind in overrides.items():
        if kind not in KINDS:
            raise InvalidConfiguration(
                f"column_types[{name!r}] is {kind!r}; use one of {list(KINDS)}"
            )
        if name not in features:
            raise InvalidConfiguration(
                f"column_types names {name!r}, which is not among the monitored columns {features}"
            )
    specs = []
    for name in features:
        kind = overrides.get(name) or infer_kind(name, table.column(name))
        specs.append(ColumnSpec(name, kind))  # type: ignore[arg-type]  # an override is checked against KINDS above
    return Schema(specs)
