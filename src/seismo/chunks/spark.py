"""The Spark engine: per-chunk partials built on the executors, merged on the driver.

A calculator's trackers (see `seismo.engine.trackers`) run unchanged inside
``DataFrame.mapInArrow``: Arrow record batches are gathered into `Frame`s, every tracker
encodes each frame once, and the rows of each chunk become one partial per tracker. Pieces of
the same chunk are merged within a partition on the executor, and the few remaining
pieces (partitions × chunks) are pickled, collected and merged on the driver with ``+``.
The rows themselves never leave the cluster; the driver then finishes the chunks with
the same code as in memory, so the numbers are the same.

Which chunk a row belongs to:

* **period chunking** (``chunk_period``) is decided by the row's timestamp alone, with the
  same pandas period arithmetic as `PeriodChunker`: one pass, no sort, no shuffle;
* **size and count chunking** need each row's position in time order. The needed columns
  are sorted by ``(timestamp, input order)`` (the input order breaks ties, as the stable
  sort does in memory), cached, and counted per partition; a second pass over the cache
  then knows each partition's first position. Without a timestamp, "row order" is the
  DataFrame's own order: partition by partition, rows in partition order (what
  ``monotonically_increasing_id`` numbers), pinned by the same cache.

pyspark is an optional extra; it is imported only inside the functions that need it.
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial as bind
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from seismo.chunks.accumulator import OpenChunk, apply_incomplete, count_edges
from seismo.chunks.chunkers import Chunker, CountChunker, PeriodChunker, SizeChunker, period_label
from seismo.data.frame import Frame
from seismo.data.io import datetime_values
from seismo.errors import ColumnNotFound, InvalidConfiguration, InvalidData, SeismoError

ORDER_COLUMN = "__seismo_input_order"  # tie-break column while sorting by time (dropped before the work)
# One record per (partition, chunk): its merged partials and where it lies. A seismo error raised on an
# executor comes back as a record with ``error`` set, and is raised again on the driver.
PIECES_SCHEMA = (
    "partition long, code long, rows long, first_row long, last_row long, "
    "first_time long, last_time long, partials binary, error string"
)
PIECES_ARROW = pa.schema([(name, pa.int64()) for name in
                          ("partition", "code", "rows", "first_row", "last_row", "first_time", "last_time")]
                         + [("partials", pa.binary()), ("error", pa.string())])
COUNTS_SCHEMA = "partition long, rows long"
WHERE = "analysis"
# Chunks a Python worker keeps open before it sends their pieces on: bounds its memory (a continuous
# column's partial is a fine histogram of up to ~20k bins) when a partition's rows span many chunks.
MAX_OPEN_PIECES = 64
FRAME_ROWS = 200_000  # rows a Python worker gathers before encoding: memory is this times the columns read


def spark_chunk_partials(trackers: list[Any], sdf: Any, columns: list[str], timestamp: str | None,
                         chunker: Chunker, *, timestamp_format: str | None = None) -> list[OpenChunk]:
    """Every analysis chunk of the Spark DataFrame ``sdf`` with each tracker's merged partial.

    Chunks come in time order with ``index`` 0..n-1, ``start``/``stop`` as global row
    positions in time order, their first and last timestamps, and the incomplete-chunk
    rule of size chunking applied. Columns and types are checked before any Spark job.
    Spark sorts and buckets rows by the timestamp column itself, so it must be a time type
    there: text is refused (``timestamp_format`` only changes what the error suggests).
    """
    needed = list(dict.fromkeys([*columns, *([timestamp] if timestamp else [])]))
    _check_columns(sdf, needed)
    if timestamp is not None:
        _check_timestamp_type(sdf, timestamp, timestamp_format)
    _check_types(trackers, sdf, needed, timestamp)
    data = sdf.select(*[_column(c) for c in needed])
    if isinstance(chunker, PeriodChunker):
        if timestamp is None:
            raise InvalidConfiguration("chunk_period needs a timestamp column; pass timestamp=...")
        return _period_chunks(trackers, data, timestamp, chunker.period)
    if isinstance(chunker, (SizeChunker, CountChunker)):
        return _positional_chunks(trackers, data, timestamp, chunker)
    raise InvalidConfiguration(
        f"a custom chunker ({type(chunker).__name__}) needs all rows at once and cannot run on Spark; "
        "use chunk_size, chunk_number or chunk_period")


# -- checks on the driver, before any job --------------------------------------------
def _check_columns(sdf: Any, needed: list[str]) -> None:
    available = list(sdf.columns)
    for name in needed:
        if name not in available:
            raise ColumnNotFound(name, WHERE, available)


def _check_timestamp_type(sdf: Any, timestamp: str, timestamp_format: str | None = None) -> None:
    from pyspark.sql import types as T

    kind = sdf.schema[timestamp].dataType
    if not isinstance(kind, (T.TimestampType, T.TimestampNTZType, T.DateType)):
        fmt = ("" if timestamp_format is None else
               f"; timestamp_format {timestamp_format!r} reads files and in-memory data, not Spark columns: pass "
               "F.to_timestamp the Spark pattern of that format")
        raise InvalidData(
            f"timestamp column {timestamp!r} holds {kind.simpleString()} values in Spark; give a timestamp or "
            f"date column (e.g. F.to_timestamp({timestamp!r})), so rows can be ordered and chunked by time{fmt}")


def _arrow_schema(sdf: Any, needed: list[str]) -> pa.Schema:
    """The Arrow schema Spark hands `mapInArrow` for ``needed``, computed without a job."""
    from pyspark.sql import types as T
    from pyspark.sql.pandas.types import to_arrow_schema

    schema = T.StructType([sdf.schema[name] for name in needed])
    try:
        return to_arrow_schema(schema, timezone="UTC")  # pyspark 4 asks for the session zone
    except TypeError:
        return to_arrow_schema(schema)  # pyspark 3.5: no zone argument, timestamps in UTC


def _check_types(trackers: list[Any], sdf: Any, needed: list[str], timestamp: str | None) -> None:
    """Encode zero rows of the Spark schema: every type check of the in-memory path runs, no data is read.

    A continuous column of a non-numeric type raises `InvalidData` naming it, exactly as in memory.
    """
    empty = _arrow_schema(sdf, needed).empty_table()
    stamps = np.empty(0, dtype="datetime64[ns]") if timestamp is not None else None
    frame = Frame(empty, stamps, WHERE)
    for tracker in trackers:
        tracker.encode(frame)


def _column(name: str) -> Any:
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")  # names with dots or spaces are plain names


# -- the two ways rows find their chunk --------------------------------------------------
def _period_chunks(trackers: list[Any], data: Any, timestamp: str, period: str) -> list[OpenChunk]:
    work = bind(_partition_pieces, trackers=trackers, timestamp=timestamp, assign=_ByPeriod(period))
    pieces = _merged_pieces(data.mapInArrow(work, PIECES_SCHEMA))
    chunks, position = [], 0
    for index, code in enumerate(sorted(pieces)):
        merged = pieces[code]
        key = period_label(pd.Period(ordinal=code, freq=period), period)
        chunks.append(OpenChunk(index, code, position, position + merged.rows, _time(merged.first_time),
                                _time(merged.last_time), merged.partials, key))
        position += merged.rows
    return chunks


def _positional_chunks(trackers: list[Any], data: Any, timestamp: str | None,
                       chunker: SizeChunker | CountChunker) -> list[OpenChunk]:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    if timestamp is not None:
        data = (data.withColumn(ORDER_COLUMN, F.monotonically_increasing_id())
                .orderBy(_column(timestamp), F.col(ORDER_COLUMN)).drop(ORDER_COLUMN))
    # The cache pins which rows each partition holds, so positions counted in the first pass hold in the second.
    # Data the user already cached is pinned by their cache, which must outlive this call.
    ours = data.storageLevel == StorageLevel.NONE
    if ours:
        data = data.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        counts = dict(data.mapInArrow(_partition_rows, COUNTS_SCHEMA).collect())
        offsets, total = {}, 0
        for partition in sorted(counts):
            offsets[partition] = total
            total += counts[partition]
        if total == 0:
            return []
        if isinstance(chunker, SizeChunker):
            assign = _ByPosition(offsets, chunk_size=chunker.chunk_size)
        else:
            assign = _ByPosition(offsets, edges=count_edges(chunker.chunk_number, total))
        work = bind(_partition_pieces, trackers=trackers, timestamp=timestamp, assign=assign)
        pieces = _merged_pieces(data.mapInArrow(work, PIECES_SCHEMA))
    finally:
        if ours:
            data.unpersist()
    chunks = []
    for index, code in enumerate(sorted(pieces)):
        merged = pieces[code]
        first, last = merged.first_row, merged.last_row  # set: positional pieces know their rows
        if first is None or last is None or last + 1 - first != merged.rows:  # pragma: no cover - would mean
            # Spark recomputed different partitions
            raise RuntimeError(f"chunk {index} spans rows {first}..{last} but holds {merged.rows} rows; "
                               "the Spark data changed between the counting and the partials pass")
        chunks.append(OpenChunk(index, code, first, last + 1, _time(merged.first_time), _time(merged.last_time),
                                merged.partials))
    return apply_incomplete(chunker, chunks)


@dataclass
class _ByPeriod:
    """Rows of a batch grouped by calendar period (codes as `PeriodChunker` computes them)."""

    period: str

    def start(self) -> int:
        return 0

    def groups(self, frame: Frame, position: int) -> Iterator[tuple[int, slice | np.ndarray, int | None]]:
        codes = pd.PeriodIndex(pd.DatetimeIndex(frame.timestamps), freq=self.period).asi8
        yield from _runs(codes, None)


@dataclass
class _ByPosition:
    """Rows of a batch grouped by global position: ``offsets[partition]`` + rows before in the partition."""

    offsets: dict[int, int]
    chunk_size: int | None = None
    edges: np.ndarray | None = None

    def start(self) -> int:
        return self.offsets[_partition_id()]

    def groups(self, frame: Frame, position: int) -> Iterator[tuple[int, slice | np.ndarray, int | None]]:
        positions = position + np.arange(frame.n_rows)
        if self.chunk_size is not None:
            codes = positions // self.chunk_size
        elif self.edges is not None:
            codes = np.searchsorted(self.edges, positions, side="right") - 1
        else:
            raise ValueError("_ByPosition needs chunk_size or edges")
        yield from _runs(codes, position)


def _runs(codes: np.ndarray, position: int | None) -> Iterator[tuple[int, slice | np.ndarray, int | None]]:
    """(code, rows, global position of the first row or None) for each code of a batch.

    Sorted codes give slices (no copy); otherwise rows are gathered by a stable argsort,
    so each group's index array is increasing.
    """
    if codes.size > 1 and np.any(codes[1:] < codes[:-1]):
        order = np.argsort(codes, kind="stable")
        ordered = codes[order]
        cuts = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
        for rows in np.split(order, cuts):
            yield int(codes[rows[0]]), rows, None
        return
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    stops = np.r_[starts[1:], codes.size]
    for a, b in zip(starts, stops):
        yield int(codes[a]), slice(int(a), int(b)), None if position is None else position + int(a)


# -- on the executors ------------------------------------------------------------------
@dataclass
class _Piece:
    """The merged partials of some rows of one chunk, and where those rows lie."""

    rows: int
    first_row: int | None
    last_row: int | None
    first_time: int | None  # nanoseconds since the epoch (UTC)
    last_time: int | None
    partials: list[Any]

    def __add__(self, other: _Piece) -> _Piece:
        return _Piece(self.rows + other.rows, _pick(min, self.first_row, other.first_row),
                      _pick(max, self.last_row, other.last_row), _pick(min, self.first_time, other.first_time),
                      _pick(max, self.last_time, other.last_time),
                      [a + b for a, b in zip(self.partials, other.partials)])


def _pick(best: Any, a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else best(a, b)


def _partition_id() -> int:
    """The Spark partition of the task this runs in (executors only: the driver has no task)."""
    from pyspark import TaskContext

    context = TaskContext.get()
    if context is None:
        raise RuntimeError("seismo's Spark partition functions run in Spark tasks only")
    return context.partitionId()


def _partition_rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """First pass of positional chunking: how many rows this partition holds."""
    rows = sum(batch.num_rows for batch in batches)
    yield pa.RecordBatch.from_pydict({"partition": [_partition_id()], "rows": [rows]},
                                     schema=pa.schema([("partition", pa.int64()), ("rows", pa.int64())]))


def _partition_pieces(batches: Iterator[pa.RecordBatch], trackers: list[Any], timestamp: str | None,
                      assign: _ByPeriod | _ByPosition) -> Iterator[pa.RecordBatch]:
    """One partition's pieces: each frame encoded once per tracker, pieces of a chunk merged across frames."""
    partition = _partition_id()
    try:
        pieces: dict[int, _Piece] = {}
        position = assign.start()
        for frame in _frames(batches, timestamp):
            stamps = frame.timestamps
            encoded = [t.encode(frame) for t in trackers]
            for code, rows, first in assign.groups(frame, position):
                times = stamps[rows].view("int64") if stamps is not None else None
                n = _count(rows)
                piece = _Piece(n, first, None if first is None else first + n - 1,
                               None if times is None else int(times.min()),
                               None if times is None else int(times.max()),
                               [t.partial(e, rows) for t, e in zip(trackers, encoded)])
                pieces[code] = pieces[code] + piece if code in pieces else piece
                if len(pieces) > MAX_OPEN_PIECES:
                    yield _pieces_batch(partition, pieces, None)
                    pieces = {}
            position += frame.n_rows
    except SeismoError as exc:
        yield _pieces_batch(partition, {}, f"{type(exc).__name__}: {exc}")
        return
    yield _pieces_batch(partition, pieces, None)


def _frames(batches: Iterator[pa.RecordBatch], timestamp: str | None) -> Iterator[Frame]:
    """Spark's Arrow batches (10k rows by default) gathered into frames of at least ``FRAME_ROWS`` rows:
    fewer, larger frames pay the per-frame costs less often, and large columns bin by table lookup."""
    pending: list[pa.RecordBatch] = []
    n_pending = 0
    for batch in batches:
        pending.append(batch)
        n_pending += batch.num_rows
        if n_pending >= FRAME_ROWS:
            yield _frame(pending, timestamp)
            pending, n_pending = [], 0
    if n_pending:
        yield _frame(pending, timestamp)


def _frame(batches: list[pa.RecordBatch], timestamp: str | None) -> Frame:
    table = pa.Table.from_batches(batches)
    stamps = datetime_values(table.column(timestamp), timestamp) if timestamp is not None else None
    return Frame(table, stamps, WHERE)


def _count(rows: slice | np.ndarray) -> int:
    return rows.stop - rows.start if isinstance(rows, slice) else len(rows)


def _pieces_batch(partition: int, pieces: dict[int, _Piece], error: str | None) -> pa.RecordBatch:
    if error is not None:
        return pa.RecordBatch.from_pylist([{"partition": partition, "error": error}], schema=PIECES_ARROW)
    codes = sorted(pieces)
    column = {name: [getattr(pieces[c], name) for c in codes]
              for name in ("rows", "first_row", "last_row", "first_time", "last_time")}
    return pa.RecordBatch.from_arrays(
        [pa.array([partition] * len(codes), pa.int64()), pa.array(codes, pa.int64()),
         *[pa.array(column[name], pa.int64()) for name in column],
         pa.array([_pack(pieces[c].partials) for c in codes], pa.binary()), pa.nulls(len(codes), pa.string())],
        schema=PIECES_ARROW)


def _pack(partials: list[Any]) -> bytes:
    """Pickled and LZ4-compressed (fast; the empty fine bins of a histogram are runs of zeros), size first."""
    raw = pickle.dumps(partials, pickle.HIGHEST_PROTOCOL)
    return struct.pack("<q", len(raw)) + pa.compress(raw, "lz4", asbytes=True)


def _unpack(packed: bytes) -> list[Any]:
    (size,) = struct.unpack_from("<q", packed)
    return pickle.loads(pa.decompress(memoryview(packed)[8:], size, "lz4", asbytes=True))


# -- back on the driver ------------------------------------------------------------------
def _merged_pieces(pieces_sdf: Any) -> dict[int, _Piece]:
    """Chunk code -> the merge of all its pieces; an executor's seismo error is raised here.

    Records stay compressed until their turn: memory holds the merged chunks, not every piece.
    They are merged in partition order (a stable sort keeps a partition's own order), so the
    floating-point sums do not depend on which task finished first.
    """
    records = pieces_sdf.collect()
    for record in records:
        if record.error is not None:
            name, _, message = record.error.partition(": ")
            raise {"InvalidConfiguration": InvalidConfiguration}.get(name, InvalidData)(message)
    records.sort(key=lambda r: (r.code, r.partition))
    merged: dict[int, _Piece] = {}
    for r in records:
        piece = _Piece(r.rows, r.first_row, r.last_row, r.first_time, r.last_time, _unpack(r.partials))
        merged[r.code] = merged[r.code] + piece if r.code in merged else piece
    return merged


def _time(nanoseconds: int | None) -> np.datetime64 | None:
    return None if nanoseconds is None else np.datetime64(int(nanoseconds), "ns")
