"""Timestamps from strings: one format for the whole column, never a guess per value.

Parsing value by value (pandas' ``format="mixed"``) reads ``01/08/2024`` as January 8th in
one row and ``13/08/2024`` as August 13th in the next, silently misdating rows, and is slow.
Here a column is parsed in three steps, all vectorised in Arrow:

1. ISO 8601 by Arrow's own cast: zone-free strings as they are, or strings that all carry a
   zone offset, converted to UTC. A column that mixes the two is an error.
2. Otherwise, each format of `CANDIDATE_FORMATS` that parses every value. Exactly one must:
   when several do (every day of the month is 12 or less, so day-first and month-first both
   read), the column is ambiguous and the error says so.
3. An explicit ``timestamp_format`` skips the search and is used as given.

Every error names the column, shows example values and suggests ``timestamp_format``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seismo.data.io import string_values
from seismo.errors import InvalidData

_DATES = ["%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y", "%Y%m%d",
          "%d/%m/%y", "%m/%d/%y", "%d %b %Y", "%b %d %Y", "%d %B %Y", "%B %d %Y"]
_TIMES = ["", " %H:%M", " %H:%M:%S", "T%H:%M", "T%H:%M:%S"]
CANDIDATE_FORMATS = [d + t for d in _DATES for t in _TIMES]


def _examples(strings: pa.ChunkedArray, mask: pa.ChunkedArray | None = None) -> list[str]:
    chosen = strings if mask is None else strings.filter(mask)
    return chosen.drop_null().slice(0, 3).to_pylist()


def _fail(column: str, problem: str, strings: pa.ChunkedArray, mask: pa.ChunkedArray | None = None) -> InvalidData:
    return InvalidData(f"timestamp column {column!r} {problem}, e.g. {_examples(strings, mask)}; give ISO 8601 "
                       "strings (2024-01-31 or 2024-01-31T12:00:00+00:00) or set timestamp_format "
                       "(e.g. '%d/%m/%Y')")


def _iso(strings: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """Arrow's ISO 8601 cast: zone-free, or all zoned (to UTC); None when neither reads every value."""
    for target in (pa.timestamp("ns"), pa.timestamp("ns", tz="UTC")):
        try:
            return pc.cast(strings, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return None


def _with_format(strings: pa.ChunkedArray, fmt: str) -> pa.ChunkedArray:
    """``strings`` parsed with ``fmt``; a value it does not fit becomes null."""
    return pc.strptime(strings, format=fmt, unit="ns", error_is_null=True)


def _single_format(strings: pa.ChunkedArray, column: str) -> pa.ChunkedArray:
    """The column parsed with the one candidate format that reads every value."""
    present = strings.drop_null()
    probe = present.slice(0, 1_000)  # cheap first pass on a prefix, then the whole column
    fitting = [f for f in CANDIDATE_FORMATS if _with_format(probe, f).null_count == 0]
    fitting = [f for f in fitting if _with_format(present, f).null_count == 0]
    if len(fitting) > 1:
        readings: dict[bytes, str] = {}
        for fmt in fitting:  # formats that read every value the same way are one reading
            key = _with_format(present.slice(0, 10_000), fmt).to_numpy().tobytes()
            readings.setdefault(key, fmt)
        if len(readings) > 1:
            shown = ", ".join(repr(f) for f in readings.values())
            raise _fail(column, f"is ambiguous: the formats {shown} all read every value, with different "
                                "dates", strings)
        fitting = fitting[:1]
    if not fitting:
        best = max(CANDIDATE_FORMATS, key=lambda f: -_with_format(probe, f).null_count)
        unread = pc.and_(pc.is_null(_with_format(strings, best)), pc.is_valid(strings))
        count = pc.sum(unread).as_py()
        raise _fail(column, f"mixes formats or holds values that are not dates: no single format reads every "
                            f"value ({count} of {len(present)} are not {best!r})", strings, unread)
    return _with_format(strings, fitting[0])


def parse_timestamps(array: pa.ChunkedArray | pa.Array, column: str, fmt: str | None = None) -> np.ndarray:
    """A timestamp column as datetime64[ns], zone-aware values in UTC.

    Raises `InvalidData` naming the column for numbers, unparseable or ambiguous strings, a mix
    of zoned and zone-free values, and missing values (every row needs a time to be chunked).
    """
    if isinstance(array, pa.Array):
        array = pa.chunked_array([array])
    kind = array.type.value_type if pa.types.is_dictionary(array.type) else array.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        parsed = pc.cast(array, kind) if pa.types.is_dictionary(array.type) else array
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        strings = pc.utf8_trim_whitespace(string_values(array))
        if fmt is not None:
            parsed = _with_format(strings, fmt)
            unread = pc.and_(pc.is_null(parsed), pc.is_valid(strings))
            if pc.any(unread).as_py():
                raise _fail(column, f"has {pc.sum(unread).as_py()} values that timestamp_format {fmt!r} does "
                                    "not read", strings, unread)
        else:
            parsed = _iso(strings)
            if parsed is None:
                parsed = _single_format(strings, column)
    elif pa.types.is_null(kind):
        parsed = pa.chunked_array([pa.nulls(len(array), pa.timestamp("ns"))])
    else:
        what = "numbers" if pa.types.is_integer(kind) or pa.types.is_floating(kind) else "values"
        raise InvalidData(f"timestamp column {column!r} holds {what} ({kind}); give datetimes or date strings "
                          "such as '2024-01-31'")
    n_null = parsed.null_count
    if n_null:
        first = int(np.flatnonzero(pc.is_null(parsed).to_numpy(zero_copy_only=False))[0])
        raise InvalidData(f"timestamp column {column!r} has {n_null} missing or unparseable values (first at row "
                          f"{first}); every row needs a time to be chunked")
    if pa.types.is_date(parsed.type):
        parsed = pc.cast(parsed, pa.timestamp("s"))
    if parsed.type.tz is not None:  # Arrow keeps zoned times as UTC instants: drop the zone, keep the instant
        parsed = parsed.cast(pa.timestamp(parsed.type.unit))
    return parsed.to_numpy().astype("datetime64[ns]")
