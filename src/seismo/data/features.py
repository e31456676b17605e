"""Default features: every column without a role, less datetimes and identifiers.

When a calculator is given no ``features=`` (``columns=``), it monitors the columns
the user did not give a role. Two kinds of column must never be among them, because
they tell the reference from the analysis by construction rather than by any change
in the data: a domain classifier (trust diagnostics, `DomainClassifierDrift`, PAPE's
weights) separates the two periods perfectly on an increasing ``id`` alone, and
univariate drift alerts on every chunk. `infer_features` leaves them out and says so
in one `SeismoWarning` that names each column and the reason.

The rule (documented in docs/data.md), judged on the first `INFERENCE_ROWS` rows in
time order (the reference is read for the columns that need values only, so a huge
or streamed reference costs one bounded read):

* **datetimes**: Arrow date/time/timestamp/duration columns (a pandas object column of
  dates too, once its values are read), and text columns whose every value is an ISO
  date (``2024-01-31``, optionally with a time);
* **identifier-like integers**: an integer column (or a float column holding only
  whole numbers: pandas turns integer ids into floats once a value is missing) that
  is *monotonic in time order* with more than `MAX_INTEGER_CATEGORIES` distinct
  values (a row counter, a sequence id, "days since launch"), or that is *unique per
  row and dense*: all distinct although values drawn at random from their range
  would repeat (``n² / (2 · range) ≥ DENSE_REPEATS``; `0..n-1` shuffled is dense, a
  thousand amounts in cents spread over millions are not);
* **identifier-like text**: a text column unique per row (a category with a value
  per row is no category), or whose every value is a UUID or 16+ hexadecimal digits
  (a hash, a token), repeated or not;
* a name with an ``id``, ``uuid``, ``guid``, ``uid``, ``key``, ``hash`` or ``pk``
  token (``customer_id``, ``userId``) is *supporting evidence only*: with it, "unique
  per row" loosens to "at least `NAMED_DISTINCT_SHARE` of the rows distinct" and the
  density condition is dropped; a name alone never drops a column.

Float measurements are never dropped for being unique per row: a continuous income
with decimals is unique per row and stays a feature. Every rule on values needs at
least `MIN_ROWS` non-missing values; below that nothing but the datetime rule applies.
"""

from __future__ import annotations

import os
import re
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seismo._typing import DataLike
from seismo.data.columns import MAX_INTEGER_CATEGORIES, Roles, is_text
from seismo.data.frame import load_frame
from seismo.data.io import read_schema, read_table, record_batches, string_values
from seismo.errors import SeismoWarning

INFERENCE_ROWS = 100_000  # rows read to judge the candidates: bounded, whatever the reference's size
MIN_ROWS = 20  # fewer non-missing values say nothing about uniqueness or order
DENSE_REPEATS = 5.0  # expected repeats of random draws from the range; e^-5 < 1% chance of none
NAMED_DISTINCT_SHARE = 0.9
UUID = r"^\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?$"
HEX_HASH = r"^[0-9a-fA-F]{16,}$"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
ID_TOKENS = frozenset({"id", "ids", "uuid", "guid", "uid", "key", "hash", "pk"})


def infer_features(data: DataLike, roles: Roles, where: str = "reference", stacklevel: int = 1, *,
                   timestamp_format: str | None = None) -> list[str]:
    """Every column of ``data`` without a role in ``roles``, less datetimes and identifiers.

    Warns once (`SeismoWarning`) naming each column left out and why; ``stacklevel`` counts
    from the caller (1: the warning points at the line that called this function). The first rows
    are read in time order, text timestamps with ``timestamp_format`` when given.
    """
    schema = read_schema(data, where)
    taken = set(roles.model_columns())
    candidates = [f for f in schema if f.name not in taken]
    left_out: dict[str, str] = {}
    for f in candidates:
        if pa.types.is_temporal(f.type):
            left_out[f.name] = f"holds {f.type} values (dates and times are never features)"
    judged = [f.name for f in candidates if f.name not in left_out and _needs_values(f.type)]
    n_read = 0
    if judged:
        head = _head(data, judged, roles.timestamp, where, timestamp_format)
        n_read = head.num_rows
        for name in judged:
            reason = identifier_reason(name, head.column(name), "time" if roles.timestamp else "row")
            if reason is not None:
                left_out[name] = reason
    if left_out:
        listed = "; ".join(f"{name!r} {why}" for name, why in left_out.items())
        judged_on = f" (judged on the first {n_read:,} rows)" if n_read else ""
        warnings.warn(
            f"{len(left_out)} column{'s' if len(left_out) > 1 else ''} left out of the default features"
            f"{judged_on}: {listed}; to monitor any of them, pass the features yourself (features= or columns=)",
            SeismoWarning,
            stacklevel=stacklevel + 1,
        )
    return [f.name for f in candidates if f.name not in left_out]


def identifier_reason(name: str, values: pa.ChunkedArray, order: str = "row") -> str | None:
    """Why ``values`` look like an identifier or a date, or None for a feature.

    ``values`` are in time order (``order="time"``) or in the data's row order (``"row"``).
    """
    t = values.type
    if pa.types.is_dictionary(t) and not is_text(t.value_type):
        return None  # a categorical of numbers (pandas category): declared a category, a feature
    if pa.types.is_dictionary(t) or is_text(t):  # string_view, large_string, dictionary: plain strings
        values, t = string_values(values), pa.string()
    if pa.types.is_temporal(t):  # seen only in the values: a pandas object column of dates
        return f"holds {t} values (dates and times are never features)"
    valid = values.drop_null()
    n = len(valid)
    if n < MIN_ROWS:
        return None
    named = _id_like_name(name)
    if is_text(t):
        return _text_reason(valid, n, named)
    if pa.types.is_integer(t):
        return _number_reason(valid.to_numpy(), pc.count_distinct(valid).as_py(), "integer", named, order)
    if pa.types.is_floating(t):
        x = valid.to_numpy()
        x = x[np.isfinite(x)]
        if len(x) < MIN_ROWS or not np.all(x == np.floor(x)):
            return None  # a float measurement: unique per row or not, it is a feature
        return _number_reason(x, int(np.unique(x).size), "whole-number float", named, order)
    return None


def _text_reason(valid: pa.ChunkedArray, n: int, named: bool) -> str | None:
    if _all_match(valid, UUID):
        return "holds UUIDs (an identifier)"
    if _all_match(valid, HEX_HASH):
        return "holds hexadecimal strings of 16+ digits (a hash or identifier)"
    if _all_match(valid, ISO_DATE):
        return "holds dates as text (dates and times are never features)"
    distinct = pc.count_distinct(valid).as_py()
    if distinct == n:
        return "is text unique per row (an identifier)"
    if named and distinct >= NAMED_DISTINCT_SHARE * n:
        return f"is named like an identifier and {distinct / n:.0%} of its values are distinct"
    return None


def _number_reason(x: np.ndarray, distinct: int, kind: str, named: bool, order: str) -> str | None:
    """Monotonic, or unique per row and dense (or named like an identifier). Comparisons, not
    differences, so that 64-bit identifiers never overflow."""
    rising, falling = np.all(x[1:] >= x[:-1]), np.all(x[1:] <= x[:-1])
    if distinct > MAX_INTEGER_CATEGORIES and (rising or falling):
        return f"is {kind} and monotonic in {order} order (an identifier or a counter)"
    n = len(x)
    if distinct == n:
        span = float(x.max()) - float(x.min()) + 1.0
        if n * n / (2.0 * span) >= DENSE_REPEATS:
            return f"is {kind}, unique per row and dense in its range (an identifier)"
        if named:
            return f"is {kind}, unique per row and named like an identifier"
    elif named and distinct >= NAMED_DISTINCT_SHARE * n:
        return f"is {kind}, named like an identifier and {distinct / n:.0%} of its values are distinct"
    return None


def _id_like_name(name: str) -> bool:
    """``customer_id``, ``userId``, ``UUID``, ``row-key``: a token of the name is an identifier word."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return any(token.lower() in ID_TOKENS for token in re.split(r"[^0-9A-Za-z]+", spaced))


def _all_match(valid: pa.ChunkedArray, pattern: str) -> bool:
    return bool(pc.all(pc.match_substring_regex(valid, pattern)).as_py())


def _needs_values(t: pa.DataType) -> bool:
    """Integer, float and text columns, and those whose type shows only in their values (a pandas
    object column has no Arrow type until its values are read)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_integer(t) or pa.types.is_floating(t) or is_text(t) or pa.types.is_null(t)


def _head(data: DataLike, columns: list[str], timestamp: str | None, where: str,
          timestamp_format: str | None = None) -> pa.Table:
    """The first `INFERENCE_ROWS` rows of ``columns``, stable-sorted by ``timestamp`` (one bounded read)."""
    wanted = list(dict.fromkeys([*columns, *([timestamp] if timestamp else [])]))
    if isinstance(data, (str, os.PathLike)):
        batches, n = [], 0
        for batch in record_batches(data, wanted, where, INFERENCE_ROWS):
            batches.append(batch)
            n += batch.num_rows
            if n >= INFERENCE_ROWS:
                break
        table = pa.Table.from_batches(batches, schema=batches[0].schema if batches else None) if batches \
            else read_schema(data, where).empty_table().select(wanted)
    elif isinstance(data, pa.Table):
        table = data.slice(0, INFERENCE_ROWS)
    elif hasattr(data, "head"):  # pandas, polars: slice before converting
        table = read_table(data.head(INFERENCE_ROWS), wanted, where)
    else:
        table = read_table(data, wanted, where)
    head = table.slice(0, INFERENCE_ROWS)
    return load_frame(head, wanted, timestamp, where, timestamp_format=timestamp_format).table
