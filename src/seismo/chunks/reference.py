"""The reference as `fit` reads it: every row in memory, or a bounded sample plus exact extras.

In memory, `fit` sees every reference row. A reference larger than memory is read
twice, batch by batch (see docs/streaming.md, "Fitting on a reference larger than
memory"):

1. `scan_reference` counts the rows, keeps a uniform sample of at most
   `REFERENCE_SAMPLE_ROWS` rows, and computes the few statistics that must not be
   sampled: each continuous column's finite minimum and maximum (the range that
   out-of-range values are judged against, and the outer fine points), and each
   categorical column's value counts (the category vocabulary, so no reference
   category later reads as unseen).
2. The calculator builds its trackers from the sample and the extras, then the
   reference is read again through `ChunkAccumulator`, which gives every
   reference chunk's exact partial (`BaseCalculator._fit_trackers`).

The sample is "bottom-k" on a hash of each row's global position (`seismo.stats.sample`),
so it is the same whatever the batch size, and it is every row when the reference
has no more rows than the sample holds; the streamed fit then equals the in-memory one.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seismo._typing import DataLike
from seismo.chunks.chunkers import Chunk
from seismo.data.categories import MAX_TRACKED_CATEGORIES, categories_by_count, reference_categories
from seismo.data.columns import MAX_INTEGER_CATEGORIES, infer_kind
from seismo.data.frame import Frame, iter_frames
from seismo.data.io import datetime_values
from seismo.errors import InvalidData, SeismoWarning
from seismo.stats.sample import row_keys

REFERENCE_SAMPLE_ROWS = 1_000_000  # rows a streamed reference keeps for what needs raw rows
MAX_COUNTED_VALUES = 10 * MAX_TRACKED_CATEGORIES  # distinct values counted per categorical column while streaming
SAMPLE_SALT = 0x5A3F_1E00_0000_0001  # mixed into the seed: the sample's hash differs from other uses of row_keys


@dataclass
class SampleFrame(Frame):
    """A frame of sampled rows, in time order, that knows each row's position in the whole reference."""

    positions: np.ndarray | None = None


def row_positions(frame: Frame) -> np.ndarray:
    """Global position of each row of ``frame``: a sample's own, or the batch's offset onwards."""
    positions = getattr(frame, "positions", None)
    if positions is not None:
        return positions
    return frame.offset + np.arange(frame.n_rows)


class ValueRange:
    """Finite minimum and maximum of a numeric column, merged batch by batch."""

    def __init__(self) -> None:
        self.lo, self.hi = np.inf, -np.inf

    def add(self, values: np.ndarray) -> None:
        finite = values[np.isfinite(values)]
        if finite.size:
            self.lo, self.hi = min(self.lo, float(finite.min())), max(self.hi, float(finite.max()))

    def bounds(self) -> tuple[float, float] | None:
        return (self.lo, self.hi) if self.lo <= self.hi else None


class ValueCounts:
    """Counts of a column's values (as text) in first-seen order, merged batch by batch.

    ``limit``: stop counting once more distinct values than this are seen (an integer
    column with many values is continuous). Without a limit, counting stays exact up to
    `MAX_COUNTED_VALUES` distinct values; past that the rarest half is forgotten each
    time, so the most frequent categories remain but their counts may be low.
    """

    def __init__(self, limit: int | None = None):
        self.limit = limit
        self.values: pa.Array | None = None
        self.counts = np.zeros(0, dtype=np.int64)
        self.exceeded = False  # more than ``limit`` distinct values
        self.pruned = False  # past MAX_COUNTED_VALUES: approximate from here on
        self.missing = 0  # null values seen

    def add(self, strings: pa.ChunkedArray) -> None:
        self.missing += strings.null_count
        if self.exceeded:
            return
        batch = pc.value_counts(pc.drop_null(strings))
        values, counts = batch.field("values"), batch.field("counts").to_numpy().astype(np.int64)
        if self.values is None:
            self.values, self.counts = values, counts
        else:
            index = pc.fill_null(pc.index_in(values, value_set=self.values), -1).to_numpy(zero_copy_only=False)
            seen = index >= 0
            np.add.at(self.counts, index[seen], counts[seen])
            self.values = pa.concat_arrays([self.values, values.filter(pa.array(~seen))])
            self.counts = np.r_[self.counts, counts[~seen]]
        if self.limit is not None and len(self.counts) > self.limit:
            self.exceeded, self.values, self.counts = True, None, np.zeros(0, dtype=np.int64)
        elif len(self.counts) > MAX_COUNTED_VALUES:
            keep = np.sort(np.argsort(-self.counts, kind="stable")[: MAX_COUNTED_VALUES // 2])
            self.values, self.counts = self.values.take(pa.array(keep)), self.counts[keep]
            self.pruned = True

    def categories(self, column: str) -> pa.Array:
        """The vocabulary `reference_categories` would give on all the rows."""
        if self.pruned:
            warnings.warn(
                f"column {column!r} has more than {MAX_COUNTED_VALUES:,} distinct reference values; its "
                f"{MAX_TRACKED_CATEGORIES:,} most frequent categories were found approximately while streaming",
                SeismoWarning,
                stacklevel=4,
            )
        values = self.values if self.values is not None else pa.array([], type=pa.string())
        return categories_by_count(values, self.counts, column)


class BottomKRows:
    """The rows with the ``k`` smallest position hashes seen so far (a uniform sample).

    Bottom-k sampling on `seismo.stats.sample.row_keys`, kept on Arrow rows of any
    column type: the sample must be taken while the rows go by, in one pass.
    """

    def __init__(self, k: int, seed: int):
        self.k, self.seed = k, seed
        self.table: pa.Table | None = None
        self.keys = np.zeros(0, dtype=np.uint64)
        self.positions = np.zeros(0, dtype=np.int64)

    def add(self, frame: Frame, positions: np.ndarray) -> None:
        keys = row_keys(positions, self.seed)
        if len(self.keys) >= self.k:  # only rows that beat the current k-th key can enter
            candidates = np.flatnonzero(keys < self.keys.max())
        else:
            candidates = np.arange(frame.n_rows)
        if candidates.size > self.k:
            candidates = candidates[np.argpartition(keys[candidates], self.k - 1)[: self.k]]
        if candidates.size == 0:
            return
        taken = frame.table.take(pa.array(candidates))
        table = taken if self.table is None else pa.concat_tables([self.table, taken])
        keys, positions = np.r_[self.keys, keys[candidates]], np.r_[self.positions, positions[candidates]]
        if len(keys) > self.k:
            keep = np.argpartition(keys, self.k - 1)[: self.k]
            table, keys, positions = table.take(pa.array(keep)), keys[keep], positions[keep]
        self.table, self.keys, self.positions = table, keys, positions

    def frame(self, timestamp: str | None, timestamp_format: str | None = None) -> SampleFrame:
        if self.table is None:  # no row was added (the caller refuses an empty reference first)
            raise InvalidData("the reference set is empty; there is nothing to monitor")
        order = np.argsort(self.positions, kind="stable")
        table = self.table.take(pa.array(order)).combine_chunks()
        stamps = (datetime_values(table.column(timestamp), timestamp, timestamp_format)
                  if timestamp is not None else None)
        return SampleFrame(table, stamps, "reference", positions=self.positions[order])


@dataclass
class ReferenceData:
    """What `fit` reads of the reference.

    ``frame`` holds every row (in memory) or the sample (streamed), in time order.
    ``ranges`` and ``counts`` are the exact extras of a streamed reference; in memory
    they are computed from ``frame`` on demand. ``chunks`` are known at once in
    memory and after the second pass when streamed.
    """

    frame: Frame
    n_rows: int
    streamed: bool = False
    source: DataLike = None
    columns: list[str] = field(default_factory=list)
    chunks: list[Chunk] | None = None
    ranges: dict[str, ValueRange] = field(default_factory=dict)
    counts: dict[str, ValueCounts] = field(default_factory=dict)

    @property
    def sample_rows(self) -> int:
        return self.frame.n_rows

    @property
    def known_chunks(self) -> list[Chunk]:
        """``chunks``, once known: at once in memory, after the second pass when streamed."""
        assert self.chunks is not None, "a streamed reference's chunks come with its second pass"
        return self.chunks

    def value_range(self, column: str) -> tuple[float, float] | None:
        """Finite minimum and maximum of a numeric column over every reference row."""
        if column in self.ranges:
            return self.ranges[column].bounds()
        exact = ValueRange()
        exact.add(self.frame.floats(column))
        return exact.bounds()

    def categories(self, column: str) -> pa.Array:
        """Reference categories of a column by descending frequency, over every reference row."""
        if column in self.counts:
            return self.counts[column].categories(column)
        return reference_categories(self.frame.strings(column), column)

    def integer_kinds(self) -> dict[str, str]:
        """Kinds of integer (and whole-number float) columns decided by their exact count of distinct
        values over every row (`seismo.data.columns`)."""
        kinds = {}
        for name, c in self.counts.items():
            if c.limit is None:
                continue
            if pa.types.is_integer(self.frame.table.column(name).type):
                kinds[name] = "continuous" if c.exceeded else "categorical"
                continue
            # a float column: string_values writes a whole number as an integer, so "1.5" or "inf" mean a real
            # float; only an integer column that pandas made float (it has missing values) follows the integer rule
            whole = c.values is not None and len(c.values) > 0 and bool(
                pc.all(pc.match_substring_regex(c.values, r"^-?\d+$")).as_py())
            kinds[name] = "categorical" if not c.exceeded and whole and c.missing else "continuous"
        return kinds

    def batches(self, timestamp: str | None, timestamp_format: str | None = None) -> Iterator[Frame]:
        """The reference again, batch by batch (the second pass)."""
        return iter_frames(self.source, self.columns, timestamp, "reference", timestamp_format=timestamp_format)


def feature_extras(schema: pa.Schema, names: list[str],
                   column_types: dict[str, str] | None) -> tuple[list[str], dict[str, int | None]]:
    """Which features need an exact range and which need value counts (with a distinct limit).

    An integer column's kind depends on its count of distinct values, so it gets both
    until the count passes `MAX_INTEGER_CATEGORIES`; so does a float column, read as integers when
    it has missing values and every other value is a whole number (`seismo.data.columns`).
    """
    ranges: list[str] = []
    counts: dict[str, int | None] = {}
    overrides = column_types or {}
    for name in names:
        kind = overrides.get(name)
        arrow_type = schema.field(name).type
        if kind is None and (pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type)):
            ranges.append(name)
            counts[name] = MAX_INTEGER_CATEGORIES
            continue
        if kind is None:  # by type; raises for a type that cannot be a feature, before any value is read
            kind = infer_kind(name, pa.chunked_array([], type=arrow_type))
        if kind == "continuous":
            ranges.append(name)
        else:
            counts[name] = None
    return ranges, counts


def scan_reference(data: DataLike, columns: list[str], timestamp: str | None, *, ranges: Sequence[str] = (),
                   counts: dict[str, int | None] | None = None, sample_rows: int | None = None,
                   seed: int = 0, timestamp_format: str | None = None) -> ReferenceData:
    """First pass over a streamed reference: row count, uniform sample and exact extras.

    ``timestamp_format`` reads text timestamps (`seismo.data.timestamps`), in every batch and in the sample.
    """
    k = REFERENCE_SAMPLE_ROWS if sample_rows is None else sample_rows
    sample = BottomKRows(k, seed ^ SAMPLE_SALT)
    exact_ranges = {name: ValueRange() for name in ranges}
    exact_counts = {name: ValueCounts(limit) for name, limit in (counts or {}).items()}
    n_rows = 0
    last = None
    for frame in iter_frames(data, columns, timestamp, "reference", timestamp_format=timestamp_format):
        stamps = frame.timestamps
        if stamps is not None and stamps.size:
            if last is not None and stamps[0] < last:
                raise InvalidData(
                    f"the reference rows are not in time order across batches: a row at {stamps[0]} follows one "
                    f"at {last}. Streaming reads files in name order; sort the files by time, or load the data "
                    "in memory (streaming=False), which sorts it")
            last = stamps[-1]
        sample.add(frame, n_rows + np.arange(frame.n_rows))
        for name, exact in exact_ranges.items():
            exact.add(frame.floats(name))
        for name, counted in exact_counts.items():
            if not counted.exceeded:  # past its limit a column is continuous: its values need no more text
                counted.add(frame.strings(name))
        n_rows += frame.n_rows
    if n_rows == 0:
        raise InvalidData("the reference set is empty; there is nothing to monitor")
    return ReferenceData(sample.frame(timestamp, timestamp_format), n_rows, streamed=True, source=data,
                         columns=list(columns), ranges=exact_ranges, counts=exact_counts)
