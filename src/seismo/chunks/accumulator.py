"""Per-chunk partials fed batch by batch: the one engine behind in-memory, streaming and
incremental runs.

A calculator's trackers turn rows into mergeable partials (see `seismo.engine.trackers`).
`ChunkAccumulator` decides which chunk each row of a batch belongs to, builds the
partial of every (chunk, tracker) piece and merges pieces of the same chunk that
arrive in different batches. In memory the whole frame is one batch; a file larger
than memory arrives as many batches; an incremental run starts from the `StreamState`
the previous run left behind (the rows already seen and the still-open last chunk's
partials). All three give the same partials, so the same values.

Rows must arrive in time order across batches: a chunk is a contiguous range of rows.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Callable, Protocol, Self

import numpy as np
import pandas as pd
import pyarrow as pa

from seismo.chunks.chunkers import Chunk, Chunker, CountChunker, PeriodChunker, SizeChunker, period_label
from seismo.data.frame import Frame
from seismo.errors import InvalidConfiguration, InvalidData, SeismoWarning


class Partial(Protocol):
    """A tracker's mergeable summary of some rows: ``a + b`` summarises the rows of both.

    Chunks are built batch by batch by adding the partials of their pieces, so a partial holds
    sums, counts or sketches of its rows (`seismo.engine.trackers` finishes it into metric values).
    """

    def __add__(self, other: Self, /) -> Self: ...


class PartialSource(Protocol):
    """What the accumulator reads of a tracker (`seismo.engine.trackers.Tracker`): each batch is
    encoded once, then each piece of it (a slice of rows) becomes a partial."""

    def encode(self, frame: Frame) -> Any: ...

    def partial(self, encoded: Any, rows: slice, /) -> Partial: ...


WORKERS = max(1, min(4, os.cpu_count() or 1))  # threads over trackers within a batch
PARALLEL_MIN_VALUES = 2_000_000  # smaller batches are not worth a thread pool


@dataclass
class OpenChunk:
    """A chunk being built: where it starts, what it has seen, and each tracker's partial."""

    index: int
    code: int  # size/count chunking: the chunk's number; period chunking: the period's ordinal
    start: int  # global position of its first row
    stop: int  # one past its last row so far
    start_date: np.datetime64 | None
    end_date: np.datetime64 | None
    partials: list[Partial] | None
    key: str | None = None  # period label; positional keys are made when the chunk is closed
    settled: Any = None  # what ``settle`` made of a complete chunk (its partials are then dropped)

    @property
    def merged(self) -> list[Partial]:
        """``partials``, of a chunk that was not settled (settling drops them)."""
        assert self.partials is not None, "a settled chunk keeps what settle made of it, not its partials"
        return self.partials

    def to_chunk(self) -> Chunk:
        key = self.key if self.key is not None else f"[{self.start}:{self.stop - 1}]"
        return Chunk(self.index, key, self.start, self.stop, self.start_date, self.end_date)


@dataclass
class StreamState:
    """What an incremental run needs from the previous one.

    ``rows_seen`` counts the analysis rows processed so far; ``watermark`` is the last
    timestamp processed (rows at or before it are taken as already seen); ``open`` is
    the last chunk when later rows may still complete it.
    """

    rows_seen: int = 0
    next_index: int = 0
    watermark: np.datetime64 | None = None
    open: OpenChunk | None = None


def _merge(a: Partial | None, b: Partial) -> Partial:
    return b if a is None else a + b


class ChunkAccumulator:
    """Chunk membership and merged partials of ``trackers`` over batches of rows.

    ``total_rows`` is needed by count chunking only (chunk edges depend on it). A
    custom `Chunker` is supported for a single batch (in memory), where it can see
    all the rows at once.
    """

    def __init__(self, trackers: list[PartialSource], chunker: Chunker, *, total_rows: int | None = None,
                 state: StreamState | None = None, settle: Callable[[OpenChunk], Any] | None = None):
        self.trackers = trackers
        self.settle = settle
        self.chunker = chunker
        self.total_rows = total_rows
        self.closed: list[OpenChunk] = []
        self.batches = 0
        state = state or StreamState()
        self.rows_seen = state.rows_seen
        self.next_index = state.next_index
        self.watermark = state.watermark
        # a copy: merging into it must not change the caller's state (a retried run starts from it again)
        self.open = replace(state.open) if state.open is not None else None
        if isinstance(chunker, CountChunker) and total_rows is None:
            raise InvalidConfiguration("chunk_number needs the total row count; give chunk_size or chunk_period "
                                       "for incremental runs")

    # -- which rows go where -----------------------------------------------------
    def _segments(self, frame: Frame) -> list[tuple[int, int, int, str | None]]:
        """(code, lo, hi, key) for each run of rows of the batch that share a chunk."""
        n, offset = frame.n_rows, self.rows_seen
        if n == 0:  # an empty batch belongs to no chunk (period codes of no rows cannot be read)
            return []
        chunker = self.chunker
        if isinstance(chunker, PeriodChunker):
            if frame.timestamps is None:
                raise InvalidConfiguration("chunk_period needs a timestamp column; pass timestamp=...")
            periods = pd.PeriodIndex(pd.DatetimeIndex(frame.timestamps), freq=chunker.period)
            codes = periods.asi8
            starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
            stops = np.r_[starts[1:], n]
            segments: list[tuple[int, int, int, str | None]] = [
                (int(codes[a]), int(a), int(b), period_label(periods[a], chunker.period)) for a, b in zip(starts, stops)]
            return with_empty_periods(segments, self.open.code if self.open is not None else None, chunker.period)
        if isinstance(chunker, SizeChunker):
            codes = (offset + np.arange(n)) // chunker.chunk_size
        elif isinstance(chunker, CountChunker):
            edges = count_edges(chunker.chunk_number, self.total_rows)
            codes = np.searchsorted(edges, offset + np.arange(n), side="right") - 1
        else:
            if self.batches or self.rows_seen:
                raise InvalidConfiguration(
                    f"a custom chunker ({type(chunker).__name__}) needs all rows at once; it cannot be used "
                    "for streaming or incremental runs")
            return [(c.index, c.start, c.stop, c.key) for c in chunker.split(n, frame.timestamps)]
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        stops = np.r_[starts[1:], n]
        return [(int(codes[a]), int(a), int(b), None) for a, b in zip(starts, stops)]

    def _check_order(self, frame: Frame) -> None:
        stamps = frame.timestamps
        if stamps is None or stamps.size == 0 or self.watermark is None:
            return
        if stamps[0] < self.watermark:
            raise InvalidData(
                f"the {frame.where} rows are not in time order across batches: a row at {stamps[0]} follows one at "
                f"{self.watermark}. Streaming reads files in name order; sort the files by time, or load the data "
                "in memory (streaming=False), which sorts it")

    # -- feeding -------------------------------------------------------------------
    def feed(self, frame: Frame) -> None:
        """Add a batch of rows that follows every row fed before."""
        self._check_order(frame)
        frame.offset = self.rows_seen
        segments = self._segments(frame)
        by_tracker = self._partials(frame, [slice(lo, hi) for _, lo, hi, _ in segments])
        stamps = frame.timestamps
        for j, (code, lo, hi, key) in enumerate(segments):
            parts = [tracker_parts[j] for tracker_parts in by_tracker]
            first = stamps[lo] if stamps is not None and hi > lo else None
            last = stamps[hi - 1] if stamps is not None and hi > lo else None
            if hi == lo and isinstance(self.chunker, PeriodChunker):  # an empty period: dated by the calendar,
                first, last = period_bounds(code, self.chunker.period)  # since no row dates it
            if self.open is not None and self.open.code == code:
                chunk = self.open
                chunk.partials = [_merge(a, b) for a, b in zip(chunk.merged, parts)]
                chunk.stop = self.rows_seen + hi
                chunk.end_date = last
            else:
                if self.open is not None:
                    self.closed.append(self.open)
                    self._settle_closed()
                self.open = OpenChunk(self.next_index, code, self.rows_seen + lo, self.rows_seen + hi, first, last,
                                      parts, key)
                self.next_index += 1
        self.rows_seen += frame.n_rows
        if stamps is not None and stamps.size:
            self.watermark = stamps[-1]
        self.batches += 1

    def _partials(self, frame: Frame, pieces: list[slice]) -> list[list[Partial]]:
        """Each tracker's partial of each piece; trackers run on threads when the batch is large enough
        (numpy releases the GIL in binning and counting, so a second core pays)."""
        def one(tracker: PartialSource) -> list[Partial]:
            encoded = tracker.encode(frame)
            return [tracker.partial(encoded, rows) for rows in pieces]

        workers = min(WORKERS, len(self.trackers))
        if workers > 1 and frame.n_rows * len(self.trackers) >= PARALLEL_MIN_VALUES:
            with ThreadPoolExecutor(workers) as pool:
                return list(pool.map(one, self.trackers))
        return [one(t) for t in self.trackers]

    # -- results -------------------------------------------------------------------
    def finish(self, keep_open: bool = False) -> tuple[list[OpenChunk], StreamState]:
        """Every chunk built in this run, and the state the next incremental run starts from.

        ``keep_open``: the last chunk is reported as it stands and stays open for later
        rows (incremental runs). Otherwise the chunker's rule for an incomplete last
        chunk (keep, append or drop) applies.
        """
        chunks = list(self.closed)
        last = self.open
        still_open = None
        if last is not None:
            chunks.append(last)
            if keep_open and self._may_grow(last):
                still_open = last
        if not keep_open:
            chunks = apply_incomplete(self.chunker, chunks)
        if self.settle is not None:
            chunks = [self._settled(c, keep_partials=c is still_open) for c in chunks]
        state = StreamState(self.rows_seen, self.next_index, self.watermark, still_open)
        return chunks, state

    def _settle_closed(self) -> None:
        """Settle complete chunks as soon as they close, so that what they hold (raw rows for a
        per-chunk model) does not pile up; the newest stays as it is, because the incomplete
        rule may still append the last chunk to it."""
        if self.settle is None:
            return
        for chunk in self.closed[:-1]:
            if chunk.partials is not None:
                self._settled(chunk, keep_partials=False)

    def _settled(self, chunk: OpenChunk, keep_partials: bool) -> OpenChunk:
        if chunk.partials is None or self.settle is None:
            return chunk
        if keep_partials:  # an open chunk: report it as it stands, keep its rows for later ones
            return replace(chunk, settled=self.settle(chunk))
        chunk.settled = self.settle(chunk)
        chunk.partials = None
        return chunk

    def _may_grow(self, chunk: OpenChunk) -> bool:
        if isinstance(self.chunker, SizeChunker):
            return chunk.stop - chunk.start < self.chunker.chunk_size
        return isinstance(self.chunker, PeriodChunker)

def with_empty_periods(segments: list[tuple[int, int, int, str | None]], previous: int | None,
                       period: str) -> list[tuple[int, int, int, str | None]]:
    """Period segments with an empty one (``lo == hi``) for every period without rows between them.

    A week without a single row is news (a feed that stopped), not a week to skip: its chunk
    has ``row_count`` 0, which DataQuality's thresholds alert on, and values that need rows
    are undefined there (NaN, named by `calculator.warn_undefined`). ``previous`` is the code of
    the chunk the batch continues (an earlier batch's or run's), so gaps across batches count too.
    Period codes are pandas ordinals, consecutive for consecutive periods.
    """
    out: list[tuple[int, int, int, str | None]] = []
    for code, lo, hi, key in segments:
        if previous is not None and code > previous + 1:
            for missing in range(previous + 1, code):
                out.append((missing, lo, lo, period_label(_period(missing, period), period)))
        out.append((code, lo, hi, key))
        previous = code
    return out


def _period(code: int, period: str) -> pd.Period:
    return pd.PeriodIndex.from_ordinals([code], freq=period)[0]


def period_bounds(code: int, period: str) -> tuple[np.datetime64, np.datetime64]:
    """First and last instant of the calendar period with ordinal ``code``."""
    p = _period(code, period)
    return np.datetime64(p.start_time, "ns"), np.datetime64(p.end_time, "ns")


def apply_incomplete(chunker: Chunker, chunks: list[OpenChunk]) -> list[OpenChunk]:
    """Size chunking's rule for a short last chunk: keep it, append it to the one before, or drop it."""
    if not isinstance(chunker, SizeChunker) or not chunks:
        return chunks
    last = chunks[-1]
    size = chunker.chunk_size
    if last.stop - last.start >= size:
        return chunks
    if chunker.incomplete == "drop":
        warnings.warn(f"{last.stop - last.start} rows after the last complete chunk of {size} were dropped "
                      "(incomplete='drop')", SeismoWarning, stacklevel=4)
        return chunks[:-1]
    if chunker.incomplete == "append" and len(chunks) > 1:
        prev = chunks[-2]
        merged = OpenChunk(prev.index, prev.code, prev.start, last.stop, prev.start_date, last.end_date,
                           [_merge(a, b) for a, b in zip(prev.merged, last.merged)], prev.key)
        return [*chunks[:-2], merged]
    return chunks


def count_edges(chunk_number: int, total_rows: int | None) -> np.ndarray:
    """Row positions where count chunking's chunks start (and the end), as `CountChunker.split` cuts them."""
    total = total_rows or 0
    n = min(chunk_number, total)
    if not n:
        return np.array([0])
    edges = np.linspace(0, total, n + 1).round().astype(int)
    return np.unique(edges)


@dataclass
class ChunkTable:
    """The raw rows of (part of) a chunk: for calculators that fit a model per chunk.

    Merging concatenates in row order; memory is bounded by the chunk. Those calculators
    finish each complete chunk with the same code as in memory, on the chunk's own frame.
    """

    start: int
    table: pa.Table
    timestamps: np.ndarray | None

    def merge(self, other: "ChunkTable") -> "ChunkTable":
        first, second = (self, other) if self.start <= other.start else (other, self)
        stamps = None if first.timestamps is None else np.concatenate([first.timestamps, second.timestamps])
        return ChunkTable(first.start, pa.concat_tables([first.table, second.table]), stamps)

    __add__ = merge

    def frame(self, where: str = "analysis") -> Frame:
        return Frame(self.table.combine_chunks(), self.timestamps, where)


class TableRows:
    """A tracker whose partial is the rows themselves (`ChunkTable`); it has no metrics of its own."""

    column = None
    comparative = False

    def encode(self, frame: Frame) -> Frame:
        return frame

    def partial(self, frame: Frame, rows: slice) -> ChunkTable:
        stamps = frame.timestamps[rows] if frame.timestamps is not None else None
        return ChunkTable(frame.offset + rows.start, frame.table.slice(rows.start, rows.stop - rows.start), stamps)


def local_chunk(chunk: Chunk) -> Chunk:
    """The same chunk with row positions counted within its own frame (`ChunkTable.frame`)."""
    return Chunk(chunk.index, chunk.key, 0, chunk.size, chunk.start_date, chunk.end_date)
