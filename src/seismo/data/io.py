"""The edge: whatever the user hands us becomes one Arrow table, once.

pandas, polars (through the Arrow PyCapsule stream interface), pyarrow tables,
and parquet or CSV paths (a file, a directory or a glob) are all read into a
``pyarrow.Table`` holding only the columns a calculator needs. Inside seismo
columns then become numpy arrays (`float_values`, `string_values`,
`datetime_values`).
"""

from __future__ import annotations

import glob
import os
import warnings
import weakref
from collections import Counter
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from seismo._typing import DataLike
from seismo.errors import ColumnNotFound, InvalidData, SeismoWarning


def expand_path(path: str | os.PathLike) -> list[str]:
    """The files a path names, sorted: a glob's matches, the parquet and CSV files under a directory, or the
    file itself; raises `InvalidData` when none matches or one does not exist (the CLI lists a source's files
    with it too)."""
    text = str(path)
    if any(ch in text for ch in "*?["):
        files = sorted(glob.glob(text))
    elif Path(text).is_dir():
        files = sorted(
            str(p) for p in Path(text).rglob("*") if p.suffix.lower() in {".parquet", ".pq", ".csv"}
        )
    else:
        files = [text]
    if not files:
        raise InvalidData(f"no parquet or CSV file matches {text!r}")
    for f in files:
        if not Path(f).exists():
            raise InvalidData(f"the file {f!r} does not exist")
    return files


def _dataset(files: list[str], where: str) -> pads.Dataset:
    suffixes = {Path(f).suffix.lower() for f in files}
    fmt = "csv" if suffixes == {".csv"} else "parquet"
    if fmt == "parquet" and ".csv" in suffixes:
        raise InvalidData(f"the {where} path mixes CSV and parquet files: {files[:5]}")
    if fmt == "csv":  # an empty cell of a text column is missing, as pandas reads it
        fmt = pads.CsvFileFormat(convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    try:
        return pads.dataset(files, format=fmt)
    except pa.ArrowInvalid as exc:  # e.g. a CSV header naming one column twice
        raise InvalidData(f"the {where} data in {files[:5]} cannot be read: {exc}") from exc


def check_unique_names(names: list[str], where: str) -> None:
    """One name, one column: with two columns of one name, which one a role means is a guess."""
    if len(set(names)) != len(names):
        repeated = sorted(name for name, count in Counter(names).items() if count > 1)
        raise InvalidData(f"the {where} data has more than one column named {repeated[:10]}; "
                          "rename or drop the copies")


def dataset_for(path: str | os.PathLike, columns: list[str] | None = None, where: str = "input") -> pads.Dataset:
    """A lazy Arrow dataset over a parquet/CSV file, directory or glob; checks ``columns`` exist."""
    return _checked(_dataset(expand_path(path), where), columns, where)


def record_batches(path: str | os.PathLike, columns: list[str], where: str,
                   batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The ``columns`` of a parquet/CSV path in file order, a batch at a time.

    Parquet files are read with `pyarrow.parquet.ParquetFile.iter_batches`, which decodes
    little ahead of the consumer (a dataset scanner's read-ahead held several batches).
    """
    files = expand_path(path)
    dataset = _checked(_dataset(files, where), columns, where)
    if Path(files[0]).suffix.lower() == ".csv":
        yield from dataset.to_batches(columns=columns, batch_size=batch_rows, batch_readahead=1,
                                      fragment_readahead=1)
        return
    target = pa.schema([dataset.schema.field(c) for c in columns])  # files may differ in type: unify as the dataset does
    for f in files:
        for batch in pq.ParquetFile(f).iter_batches(batch_size=batch_rows, columns=columns):
            if batch.schema != target:
                try:
                    batch = pa.Table.from_batches([batch]).select(columns).cast(target).combine_chunks().to_batches()[0]
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise InvalidData(f"the {where} file {f!r} holds columns of other types than the first file "
                                      f"({exc})") from exc
            yield batch


def _checked(dataset: pads.Dataset, columns: list[str] | None, where: str) -> pads.Dataset:
    names = dataset.schema.names
    check_unique_names(names, where)
    for c in columns or []:
        if c not in names:
            raise ColumnNotFound(c, where, names)
    return dataset


def _read_files(files: list[str], columns: list[str] | None, where: str) -> pa.Table:
    return _checked(_dataset(files, where), columns, where).to_table(columns=columns)


def _pandas_to_arrow(df: pd.DataFrame, columns: list[str], where: str) -> pa.Table:
    arrays = []
    for c in columns:
        try:
            arrays.append(pa.array(df[c], from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            arrays.append(_mixed_as_text(df[c], c, where, exc))
    return pa.table(arrays, names=columns)


def _mixed_as_text(values: pd.Series, column: str, where: str, exc: Exception) -> pa.Array:
    """An object column mixing text with numbers (``["a", 1, 2.5]``) as text, with a warning.

    Arrow has no type for such a column. Categories are compared as text anyway (docs/data.md),
    so each value is written as Python writes it, a whole-number float as the integer (``2.0`` is
    ``"2"``, as in a float column) and missing stays missing. Anything else is an error.
    """
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind not in ("mixed", "mixed-integer", "mixed-integer-float"):
        raise InvalidData(f"column {column!r} in the {where} data mixes types that cannot form one column "
                          f"({kind}): {exc}") from exc
    missing = values.isna().to_numpy()
    text = values.astype(str)  # element-wise in pandas' C code; missing stays missing
    same = values.to_numpy(dtype=object) == text.to_numpy(dtype=object)  # element-wise, in numpy's C loop
    not_text = ~same & ~missing  # cells that were not already this text
    strings = pa.array(text, type=pa.string(), from_pandas=True)
    whole = pc.replace_substring_regex(strings, r"^(-?\d+)\.0$", r"\1")  # 2.0 -> "2"
    strings = pc.if_else(pa.array(not_text), whole, strings)
    n_valid = int((~missing).sum())
    warnings.warn(f"column {column!r} in the {where} data mixes text with other values: {int(not_text.sum()):,} "
                  f"of its {n_valid:,} non-missing cells are numbers or other non-text values; every value is read "
                  "as text (a categorical column)", SeismoWarning, stacklevel=5)
    return strings


def _without_string_views(table: pa.Table) -> pa.Table:
    """Text columns as ``large_string``: polars hands its strings over as ``string_view``, for which
    pyarrow has no filter or take kernel (a null id in polars targets failed inside pyarrow)."""
    views = [i for i, f in enumerate(table.schema) if pa.types.is_string_view(f.type)]
    for i in views:
        table = table.set_column(i, table.field(i).name, table.column(i).cast(pa.large_string()))
    return table


def read_table(data: DataLike, columns: list[str] | None = None, where: str = "input") -> pa.Table:
    """Read ``data`` into an Arrow table with just ``columns`` (all when None).

    Raises `ColumnNotFound` naming the first missing column before reading values.
    """
    if isinstance(data, (str, os.PathLike)):
        table = _read_files(expand_path(data), columns, where)
    elif isinstance(data, pd.DataFrame):
        labels = [str(c) for c in data.columns]
        check_unique_names(labels, where)
        if not all(isinstance(c, str) for c in data.columns):
            data = data.set_axis(labels, axis=1)  # no copy of the values
        available = list(data.columns)
        cols = available if columns is None else columns
        for c in cols:
            if c not in available:
                raise ColumnNotFound(c, where, available)
        table = _pandas_to_arrow(data, cols, where)
    elif isinstance(data, pa.Table):
        check_unique_names(data.column_names, where)
        table = _without_string_views(data)
    elif hasattr(data, "__arrow_c_stream__"):  # polars, duckdb relations, ...
        if columns is not None and hasattr(data, "select") and hasattr(data, "columns"):
            missing = [c for c in columns if c not in list(data.columns)]
            if missing:
                raise ColumnNotFound(missing[0], where, list(data.columns))
            data = data.select(columns)
        table = _without_string_views(pa.table(data))
        check_unique_names(table.column_names, where)
    else:
        raise InvalidData(
            f"the {where} data is a {type(data).__name__}; expected a pandas or polars "
            "DataFrame, a pyarrow Table, or a parquet/CSV path"
        )
    if columns is not None:
        for c in columns:
            if c not in table.column_names:
                raise ColumnNotFound(c, where, table.column_names)
        table = table.select(columns)
    return table


def read_schema(data: DataLike, where: str = "input") -> pa.Schema:
    """Column names and Arrow types, without reading the values of a file."""
    if isinstance(data, (str, os.PathLike)):
        files = expand_path(data)
        fmt = "csv" if Path(files[0]).suffix.lower() == ".csv" else "parquet"
        return pads.dataset(files, format=fmt).schema
    if isinstance(data, pd.DataFrame):
        return read_table(data.head(0), None, where).schema
    if hasattr(data, "head") and hasattr(data, "__arrow_c_stream__"):
        return read_table(data.head(0), None, where).schema
    return read_table(data, None, where).schema


def _decode_dictionary(array: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """Plain values of a dictionary column (polars Categorical/Enum arrive as string_view ones)."""
    if isinstance(array, pa.Array):
        array = pa.chunked_array([array])
    value_type = array.type.value_type
    target = pa.string() if pa.types.is_string_view(value_type) or pa.types.is_large_string(value_type) else value_type
    return pa.chunked_array(
        [chunk.dictionary.cast(target).take(chunk.indices) for chunk in array.chunks], type=target
    )


def float_values(array: pa.ChunkedArray | pa.Array, column: str, where: str = "input") -> np.ndarray:
    """A numeric or boolean column as float64, nulls as NaN.

    Anything else is an error naming the column and the frame (``where``): numbers that arrive
    as text in one period only are a change in the data pipeline, not values to guess at.
    """
    if pa.types.is_dictionary(array.type):
        array = _decode_dictionary(array)
    kind = array.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
            or pa.types.is_decimal(kind) or pa.types.is_null(kind)):
        raise InvalidData(f"column {column!r} in the {where} data holds {kind} values; a numeric column was "
                          f"expected{_text_hint(array)}")
    return np.asarray(pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _text_hint(array: pa.ChunkedArray | pa.Array) -> str:
    """A few of the values, and whether the text is numbers written as text."""
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
            or pa.types.is_string_view(array.type)):
        return ""
    shown = pc.drop_null(array).slice(0, 3).to_pylist() if isinstance(array, pa.Array) else \
        pc.drop_null(array.slice(0, 1000)).slice(0, 3).to_pylist()
    if not shown:
        return ""
    try:
        pc.cast(pc.drop_null(array), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return f", got {shown}"
    return f", got {shown}: numbers stored as text; convert the column to numbers (e.g. pd.to_numeric)"


def _integral_floats_as_ints(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """1.0 and 1 should be the same category (pandas turns int + NaN into float).

    Decided value by value, so a batch of a stream reads the same as the whole column.
    """
    as_float = pc.cast(array, pa.float64())
    integral = pc.and_(pc.and_(pc.is_finite(as_float), pc.equal(as_float, pc.floor(as_float))),
                       pc.less(pc.abs(as_float), 2.0**53))  # beyond 2**53 a float is no exact integer
    as_int = pc.cast(pc.if_else(integral, as_float, pa.scalar(0.0)), pa.int64(), safe=False)
    return pc.if_else(integral, pc.cast(as_int, pa.string()), pc.cast(array, pa.string()))


def string_values(array: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """A categorical column as Arrow strings, nulls (and float NaN) kept as null.

    A dictionary column (pandas categorical, parquet dictionary pages) is converted
    on its dictionary, once per distinct value; its encoded form stays available
    through `dictionary_form` for lookups that need each distinct value only once.
    """
    if isinstance(array, pa.Array):
        array = pa.chunked_array([array])
    if pa.types.is_dictionary(array.type):
        encoded = _string_dictionaries(array)
        strings = pa.chunked_array(
            [chunk.dictionary.take(chunk.indices) for chunk in encoded.chunks], type=pa.string()
        )
        _DICTIONARY_FORMS[id(strings)] = (weakref.ref(strings), encoded)
        return strings
    return _plain_string_values(array)


_DICTIONARY_FORMS: dict[int, tuple[weakref.ref, pa.ChunkedArray]] = {}


def dictionary_form(strings: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """The dictionary-encoded form of a `string_values` result made from a dictionary column.

    None for any other array. The form lives as long as ``strings`` does.
    """
    entry = _DICTIONARY_FORMS.get(id(strings))
    if entry is not None and entry[0]() is strings:
        return entry[1]
    return None


def _string_dictionaries(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """The dictionary column with each chunk's dictionary turned into `string_values` text."""
    for key, (ref, _) in list(_DICTIONARY_FORMS.items()):  # a snapshot: trackers may run in threads
        if ref() is None:
            _DICTIONARY_FORMS.pop(key, None)
    chunks, last, text = [], None, None
    for chunk in array.chunks:
        if last is None or not chunk.dictionary.equals(last):  # chunks often share one dictionary
            last = chunk.dictionary
            text = _plain_string_values(pa.chunked_array([last])).combine_chunks()
        chunks.append(pa.DictionaryArray.from_arrays(chunk.indices, text))
    return pa.chunked_array(chunks, type=pa.dictionary(array.type.index_type, pa.string()))


def _plain_string_values(array: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_floating(array.type):
        nan = pc.is_nan(array)
        array = pc.if_else(nan, pa.scalar(None, array.type), array)
        array = _integral_floats_as_ints(array)
    if pa.types.is_boolean(array.type):
        array = pc.if_else(array, "True", "False")
    if not pa.types.is_string(array.type):
        array = pc.cast(array, pa.string())
    return array


def datetime_values(array: pa.ChunkedArray | pa.Array, column: str, fmt: str | None = None) -> np.ndarray:
    """A timestamp column as datetime64[ns] (UTC for zone-aware data); see `seismo.data.timestamps`."""
    from seismo.data.timestamps import parse_timestamps  # it reads strings with this module's string_values

    return parse_timestamps(array, column, fmt)
