"""A period's data after the edge: needed columns, sorted by time, read once."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import pyarrow as pa

from seismo._typing import DataLike
from seismo.data.io import dataset_for, datetime_values, float_values, read_table, record_batches, string_values

BATCH_ROWS = 1_000_000  # rows per streamed batch: memory is bounded by this times the columns read
STREAM_ABOVE_BYTES = 2 * 1024**3  # a path whose needed columns would take more than this in memory is streamed


@dataclass
class Frame:
    """The rows of one period (reference or analysis) in time order.

    Columns are converted to numpy on first use and cached, so each column is
    converted once however many statistics read it.
    """

    table: pa.Table
    timestamps: np.ndarray | None
    where: str
    offset: int = 0  # global position of the first row (batches of a stream, incremental runs)
    _floats: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _strings: dict[str, pa.ChunkedArray] = field(default_factory=dict, repr=False)

    @property
    def n_rows(self) -> int:
        return self.table.num_rows

    @property
    def columns(self) -> list[str]:
        return self.table.column_names

    def column(self, name: str) -> pa.ChunkedArray:
        return self.table.column(name)

    def floats(self, name: str) -> np.ndarray:
        if name not in self._floats:
            self._floats[name] = float_values(self.table.column(name), name, self.where)
        return self._floats[name]

    def strings(self, name: str) -> pa.ChunkedArray:
        if name not in self._strings:
            self._strings[name] = string_values(self.table.column(name))
        return self._strings[name]


def load_frame(
    data: DataLike, columns: list[str] | None, timestamp: str | None, where: str, *,
    timestamp_format: str | None = None,
) -> Frame:
    """Read ``columns`` of ``data`` and stable-sort the rows by ``timestamp``.

    Data already in time order keeps its row positions (no copy is made). Text timestamps
    are read with ``timestamp_format`` when given (`seismo.data.timestamps.parse_timestamps`).
    """
    if columns is not None and timestamp is not None and timestamp not in columns:
        columns = [*columns, timestamp]
    return _sorted_frame(read_table(data, columns, where), timestamp, where, timestamp_format)


def _sorted_frame(table: pa.Table, timestamp: str | None, where: str, timestamp_format: str | None) -> Frame:
    stamps = None
    if timestamp is not None:
        stamps = datetime_values(table.column(timestamp), timestamp, timestamp_format)
        if stamps.size > 1 and np.any(stamps[1:] < stamps[:-1]):
            order = np.argsort(stamps, kind="stable")
            table = table.take(pa.array(order))
            stamps = stamps[order]
    return Frame(table, stamps, where)


def is_path(data: DataLike) -> bool:
    return isinstance(data, (str, os.PathLike))


def should_stream(data: DataLike, columns: list[str], streaming: bool | None, where: str = "input") -> bool:
    """Stream a path when asked to, or (``streaming=None``) when its columns would not fit comfortably."""
    if streaming is not None:
        return bool(streaming) and is_path(data)
    if not is_path(data):
        return False
    dataset = dataset_for(data, where=where)
    return dataset.count_rows() * 8 * max(1, len(columns)) > STREAM_ABOVE_BYTES


def count_rows(data: DataLike) -> int:
    """Rows of a path from file metadata (parquet) without reading values."""
    return dataset_for(data).count_rows()


def iter_frames(data: DataLike, columns: list[str], timestamp: str | None, where: str,
                batch_rows: int | None = None, *, timestamp_format: str | None = None) -> Iterator[Frame]:
    """The rows of a parquet/CSV path as frames of at most ``batch_rows`` rows, in file order.

    Only ``columns`` are read. Each frame is sorted by time within itself; order across
    frames is the files' order (the accumulator checks that time does not go back).
    """
    batch_rows = batch_rows or BATCH_ROWS
    if timestamp is not None and timestamp not in columns:
        columns = [*columns, timestamp]
    pending: list[pa.RecordBatch] = []
    n_pending = 0
    for batch in record_batches(data, columns, where, batch_rows):
        pending.append(batch)
        n_pending += batch.num_rows
        if n_pending >= batch_rows:
            yield _sorted_frame(pa.Table.from_batches(pending), timestamp, where, timestamp_format)
            pending, n_pending = [], 0
    if n_pending:
        yield _sorted_frame(pa.Table.from_batches(pending), timestamp, where, timestamp_format)
