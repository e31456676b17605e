"""Turning a results frame into table rows and back, without losing a column or a dtype.

The `results` table has one SQL column per `Result.to_df()` column, plus `realized`. Any
further column (`p_value`, `targets_missing_rate`, `trust`, ...) goes into the row's JSON
`extras`, keeping only its non-null values. Each run records the pandas dtype of every
column it wrote, in order, so reading casts the rows back to exactly what was written.

`segment` (schema version 3) is a column of its own: the label of a declared segment's row
(``"region=north"``), None for the overall rows. A frame without it, as written before
segments existed, is stored with NULL there and read back without it; a segmented
result's `segment_rows` and `segment_thresholds` are extras like any other.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from seismo.engine.result import RESULT_COLUMNS
from seismo.errors import StoreError
from seismo.store.tables import NAME_LENGTH, SEGMENT_LENGTH, check_name, check_segment

# a re-written row replaces its match; rows of different segments (None = overall) are different rows
KEY_COLUMNS = ["calculator", "period", "chunk_key", "segment", "column", "metric"]
OPTIONAL_COLUMNS = ("segment", "realized")  # own SQL columns, NULL when a frame lacks them
REQUIRED_COLUMNS = ["calculator", *[c for c in RESULT_COLUMNS if c not in OPTIONAL_COLUMNS]]
TYPED_COLUMNS = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]  # each has its own SQL column
DATE_COLUMNS = ("chunk_start_date", "chunk_end_date")
RESERVED_COLUMNS = ("id", "model", "run_id", "extras")  # the store's own columns
NOT_NULL_COLUMNS = ("calculator", "chunk_index", "chunk_key", "period", "metric", "alert")
NAME_COLUMNS = ("calculator", "chunk_key", "column", "metric")  # each a String(NAME_LENGTH) column
PERIODS = ("reference", "analysis")
# The dtypes of a Report.to_df(): the columns of a model that has no rows yet.
REPORT_DTYPES = {
    "calculator": "str", "chunk_index": "int64", "chunk_key": "str", "chunk_start_index": "int64",
    "chunk_end_index": "int64", "chunk_start_date": "datetime64[ns]", "chunk_end_date": "datetime64[ns]",
    "period": "str", "column": "object", "segment": "object", "metric": "str", "value": "float64", "sampling_error": "float64",
    "lower_confidence": "float64", "upper_confidence": "float64", "lower_threshold": "float64",
    "upper_threshold": "float64", "alert": "bool",
}


def _plain(series: pd.Series) -> list[Any]:
    """Python values with None for missing, as the database drivers expect."""
    return series.astype(object).where(series.notna(), None).tolist()


def _utc_naive(series: pd.Series, name: str) -> list[Any]:
    if series.isna().all():
        return [None] * len(series)
    try:
        times = pd.to_datetime(series)
    except (ValueError, TypeError) as exc:
        raise StoreError(f"results column {name!r} holds values that are not dates: {exc}") from None
    if times.dt.tz is not None:
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    # datetime64[us] → object gives datetime.datetime, and None for NaT (databases keep microseconds).
    return times.to_numpy(dtype="datetime64[us]").astype(object).tolist()


def _json_value(value: Any, name: str) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else repr(value)  # "inf" / "-inf": valid JSON, cast back on read
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, (str, list, dict)):
        return value
    raise StoreError(f"results column {name!r} holds a {type(value).__name__}, which the store cannot keep; "
                     "use numbers, booleans, strings or dates")


def validate(results: pd.DataFrame) -> None:
    """Refuse a frame the table cannot hold faithfully, naming the column at fault."""
    if not isinstance(results, pd.DataFrame):
        raise StoreError(f"results must be a pandas DataFrame (Report.to_df()), not {type(results).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in results.columns]
    if missing:
        raise StoreError(f"results lacks the columns {missing}; pass Report.to_df(), or a Result.to_df() "
                         "with a 'calculator' column added")
    if results.columns.duplicated().any():
        raise StoreError(f"results has duplicate column names {sorted(set(results.columns[results.columns.duplicated()]))}")
    reserved = [c for c in RESERVED_COLUMNS if c in results.columns]
    if reserved:
        raise StoreError(f"results has columns {reserved}, which the store fills itself; drop them")
    for name in NOT_NULL_COLUMNS:
        if results[name].isna().any():
            raise StoreError(f"results column {name!r} has missing values in {int(results[name].isna().sum())} rows")
    for name in NAME_COLUMNS:
        values = results[name].dropna().astype(str)
        long = values[values.str.len() > NAME_LENGTH]
        if len(long):
            check_name(long.iloc[0], f"results column {name!r} holds {len(long):,} value(s) over the limit; the first")
    if "segment" in results.columns:
        _check_segments(results["segment"])
    bad = sorted(set(results["period"]) - set(PERIODS))
    if bad:
        raise StoreError(f"results column 'period' holds {bad}; only {list(PERIODS)} are valid")
    key = [c for c in KEY_COLUMNS if c in results.columns]
    duplicated = results.duplicated(subset=key)
    if duplicated.any():
        first = results.loc[duplicated, key].iloc[0].to_dict()
        raise StoreError(f"results has {int(duplicated.sum())} rows repeating a ({', '.join(key)}) key, "
                         f"e.g. {first}; each chunk × segment × column × metric must appear once")


def _check_segments(segments: pd.Series) -> None:
    """Segment labels are strings (None: an overall row) that fit the column."""
    labels = segments.dropna()
    odd = labels[[not isinstance(v, str) for v in labels]]
    if len(odd):
        raise StoreError(f"results column 'segment' holds {len(odd):,} value(s) that are not strings, e.g. "
                         f"{odd.iloc[0]!r}; use a label such as 'region=north', or None for the overall rows")
    long = labels[labels.str.len() > SEGMENT_LENGTH]
    if len(long):
        check_segment(long.iloc[0], f"results column 'segment' holds {len(long):,} label(s) over the limit; the first")


def to_rows(results: pd.DataFrame, model: str, run_id: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Table rows for `results`, and the {column: dtype} map that restores the frame."""
    validate(results)
    columns: dict[str, list[Any]] = {}
    for name in TYPED_COLUMNS:
        if name not in results.columns:
            columns[name] = [None] * len(results)
        elif name in DATE_COLUMNS:
            columns[name] = _utc_naive(results[name], name)
        elif name == "alert":
            columns[name] = [bool(v) for v in results[name].tolist()]
        else:
            columns[name] = _plain(results[name])
    extra_names = [c for c in results.columns if c not in TYPED_COLUMNS]
    extra_values = [
        [None if v is None else _json_value(v, name) for v in _plain(results[name])] for name in extra_names
    ]
    extras: list[str | None] = [None] * len(results)
    if extra_names:
        for i, row in enumerate(zip(*extra_values)):
            kept = {k: v for k, v in zip(extra_names, row) if v is not None}
            extras[i] = json.dumps(kept, separators=(",", ":")) if kept else None
    columns["extras"] = extras
    names = list(columns)
    rows = [dict(zip(names, values), model=model, run_id=run_id) for values in zip(*columns.values())]
    dtypes = {str(c): str(results[c].dtype) for c in results.columns}
    return rows, dtypes


def _cast(values: pd.Series, dtype: str) -> pd.Series:
    """`values` (object dtype, None for missing) as `dtype`; a looser dtype where nulls forbid it."""
    if dtype == "object":
        return values
    try:
        if dtype.startswith("datetime64"):
            times = pd.to_datetime(values)
            if "," in dtype:  # time-zone aware: stored as naive UTC
                times = times.dt.tz_localize("UTC")
            return times.astype(dtype)
        if dtype == "bool" and values.isna().any():
            return values
        if dtype.startswith(("int", "uint")) and values.isna().any():
            return values.astype("float64")
        return values.astype(dtype)
    except (ValueError, TypeError):
        return values


def from_rows(rows: Iterable[Any], names: list[str], dtypes: dict[str, str]) -> pd.DataFrame:
    """The frame `to_rows` was given: `rows` hold the table's columns `names`, `dtypes` the written map."""
    rows = list(rows)
    table = dict(zip(names, zip(*rows))) if rows else {name: () for name in names}
    extras = [json.loads(e) if e else {} for e in table.get("extras", ())]
    out = {}
    for name, dtype in dtypes.items():
        values = table[name] if name in table else [e.get(name) for e in extras]
        out[name] = _cast(pd.Series(values, dtype=object), dtype)
    return pd.DataFrame(out)
