"""Declared segments: every statistic per slice of the rows, in the same pass as the whole.

A model can look healthy on average while one region, one product line or the customers of
one campaign fail. ``segments=["region"]`` on any calculator (or `Monitor`) computes each
chunk's statistics once more per value of ``region``; ``[["region", "channel"]]`` crosses two
columns. The overall result is always kept; segment rows carry a ``segment`` label
(``"region=north"``, ``"region=north, channel=web"``) and overall rows ``None``.

How it stays one pass (docs/segments.md):

* Each batch's segment columns are dictionary-encoded once (Arrow), so every row has a small
  integer code per segmentation (`SegmentCoder`); every tracker shares those codes.
* `SegmentedSource` wraps a tracker for the accumulator. Its partial of a piece of rows is a
  `SegmentedPartial`: the tracker's ordinary partial of all the rows, plus one partial per
  segment present, keyed by label. The rows of a piece are grouped by code with one stable
  argsort, so each segment's partial reads its own rows through an index array (the same
  path the reference resampling uses); a tracker with ``partials_by`` (histograms, category
  counts, row counts) builds every segment's partial in one bincount over a combined index
  instead. Merging two `SegmentedPartial` merges per label, so
  streaming, incremental runs and Spark need nothing else.
* Labels, not codes, key the partials: a batch's codes are local to it, and a value first seen
  in a later batch (a new region) is simply a new label.

Thresholds per segment (`seismo.engine.segment_fit`) come from the segment's own reference
rows, or are borrowed from the overall reference when the segment has too few of them, and
are flagged so. Small segments of an analysis chunk are merged into ``"<column>=(other)"`` or
reported as ``"too few rows"`` (``small_segments``), never dropped.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seismo.chunks.accumulator import Partial
from seismo.data.frame import Frame
from seismo.errors import InvalidConfiguration

#: A chunk's segment with fewer rows than this gets no thresholds of its own (see `SmallSegments`).
DEFAULT_MIN_SEGMENT_ROWS = 100
MISSING = "(missing)"  # the label value of rows whose segment column is missing
OTHER = "(other)"  # small segments of one chunk, merged
SMALL_SEGMENTS: tuple[str, ...] = ("other", "report")
#: ``segment_correction``: "bonferroni" keeps the segment cells of one chunk x column x metric
#: together at the stated false-alarm rate (each at rate / S); "none" keeps the per-cell rate.
SEGMENT_CORRECTIONS: tuple[str, ...] = ("bonferroni", "none")
#: The extra result columns of a segmented calculator (the ``segment`` column itself is in every result).
SEGMENT_COLUMNS: tuple[str, ...] = ("segment_rows", "segment_thresholds")

Spec = tuple[str, ...]  # one segmentation: the columns crossed


def check_segments(segments: Any) -> list[Spec]:
    """``segments`` as a list of column tuples; a clear error for anything else.

    ``["region"]``: one segmentation by region; ``[["region", "channel"]]``: crossed;
    a bare string ``"region"`` is taken as ``["region"]``.
    """
    if segments is None:
        return []
    if isinstance(segments, str):
        segments = [segments]
    if not isinstance(segments, (list, tuple)) or not segments:
        raise InvalidConfiguration(f"segments must be a list of column names or of lists of column names "
                                   f"(e.g. ['region'] or [['region', 'channel']]), got {segments!r}")
    specs: list[Spec] = []
    for item in segments:
        spec: Spec = (item,) if isinstance(item, str) else tuple(item) if isinstance(item, (list, tuple)) else ()
        if not spec or not all(isinstance(c, str) and c for c in spec):
            raise InvalidConfiguration(f"each entry of segments must be a column name or a list of column names, "
                                       f"got {item!r}")
        if len(set(spec)) != len(spec):
            raise InvalidConfiguration(f"segments entry {list(spec)} names a column twice")
        if spec in specs:
            raise InvalidConfiguration(f"segments lists {list(spec)} twice")
        specs.append(spec)
    return specs


def check_segment_options(min_segment_rows: Any, small_segments: Any, correction: Any) -> None:
    if isinstance(min_segment_rows, bool) or not isinstance(min_segment_rows, (int, np.integer)) \
            or min_segment_rows < 1:
        raise InvalidConfiguration(f"min_segment_rows must be a positive integer (e.g. {DEFAULT_MIN_SEGMENT_ROWS}), "
                                   f"got {min_segment_rows!r}")
    if small_segments not in SMALL_SEGMENTS:
        raise InvalidConfiguration(f"small_segments must be one of {list(SMALL_SEGMENTS)}, got {small_segments!r}")
    if correction not in SEGMENT_CORRECTIONS:
        raise InvalidConfiguration(f"segment_correction must be one of {list(SEGMENT_CORRECTIONS)}, "
                                   f"got {correction!r}")


def spec_columns(specs: Sequence[Spec]) -> list[str]:
    """Every column the segmentations read, once, in order."""
    return list(dict.fromkeys(c for spec in specs for c in spec))


def other_label(spec: Spec) -> str:
    """The label of a chunk's small segments of ``spec``, merged."""
    return ", ".join(f"{c}={OTHER}" for c in spec)


def _value_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class SpecCodes:
    """One segmentation of one batch: each row's code, and each code's label."""

    codes: np.ndarray  # int64, one per row
    labels: list[str]


def _column_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """Dictionary codes of one column (missing values get the last code) and each code's value text."""
    encoded = pc.dictionary_encode(column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column)
    dictionary = encoded.dictionary.to_pylist()
    indices = encoded.indices
    codes = indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False) if indices.null_count == 0 else \
        pc.fill_null(indices, len(dictionary)).to_numpy(zero_copy_only=False).astype(np.int64)
    # a NaN float is a value to Arrow but missing to a user
    values = [MISSING if v is None or (isinstance(v, float) and np.isnan(v)) else _value_text(v) for v in dictionary]
    return codes, [*values, MISSING]


def spec_codes(frame: Frame, spec: Spec) -> SpecCodes:
    """Each row's segment of ``spec`` in ``frame`` (crossed columns combine their codes)."""
    combined = np.zeros(frame.n_rows, dtype=np.int64)
    parts: list[list[str]] = []
    for name in spec:
        if name not in frame.columns:
            raise InvalidConfiguration(f"segment column {name!r} is not in the {frame.where} data; "
                                       f"it has {frame.columns[:20]}")
        codes, values = _column_codes(frame.column(name))
        combined = combined * len(values) + codes
        parts.append(values)
    present, compact = np.unique(combined, return_inverse=True)
    labels = []
    for code in present:
        texts = []
        rest = int(code)
        for name, values in zip(reversed(spec), reversed(parts)):
            rest, k = divmod(rest, len(values))
            texts.append(f"{name}={values[k]}")
        labels.append(", ".join(reversed(texts)))
    # several dictionary values can print alike (1 and 1.0, or NaN and null): one label, one segment
    unique_labels = list(dict.fromkeys(labels))
    if len(unique_labels) != len(labels):
        remap = np.array([unique_labels.index(label) for label in labels], dtype=np.int64)
        return SpecCodes(remap[compact.reshape(-1)], unique_labels)
    return SpecCodes(compact.reshape(-1).astype(np.int64), labels)


class SegmentCoder:
    """The segment codes of a batch, computed once and shared by every tracker that reads it.

    Trackers encode a batch on threads (`seismo.chunks.accumulator`); the lock makes the first
    one compute the codes and the others wait for them.
    """

    def __init__(self, specs: Sequence[Spec]):
        self.specs = list(specs)
        self._lock = threading.Lock()
        self._frame: Frame | None = None
        self._codes: list[SpecCodes] = []

    def codes(self, frame: Frame) -> list[SpecCodes]:
        with self._lock:
            if self._frame is not frame:
                self._codes = [spec_codes(frame, spec) for spec in self.specs]
                self._frame = frame
            return self._codes

    def __getstate__(self) -> dict:  # Spark ships the coder to executors: without the lock or a batch
        return {"specs": self.specs}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["specs"])  # type: ignore[misc]


@dataclass
class SegmentedPartial:
    """A tracker's partial of some rows, and of each segment's rows among them (keyed by label)."""

    overall: Any
    parts: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    specs: dict[str, int] = field(default_factory=dict)  # each label's segmentation (its index in ``segments``)

    def __add__(self, other: SegmentedPartial) -> SegmentedPartial:
        parts = dict(self.parts)
        rows = dict(self.rows)
        for label, part in other.parts.items():
            if label in parts:
                parts[label] = parts[label] + part
                rows[label] += other.rows[label]
            else:
                parts[label] = part
                rows[label] = other.rows[label]
        return SegmentedPartial(self.overall + other.overall, parts, rows, {**self.specs, **other.specs})


def group_rows(codes: np.ndarray, rows: slice | np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(code, sorted global row indices) of each code present among ``rows``: one stable argsort."""
    positions = np.arange(rows.start or 0, rows.stop)[::rows.step or 1] if isinstance(rows, slice) else rows
    local = codes[positions]
    if local.size == 0:
        return []
    order = np.argsort(local, kind="stable")
    sorted_codes = local[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    stops = np.r_[starts[1:], sorted_codes.size]
    ordered = positions[order]
    return [(int(sorted_codes[a]), ordered[a:b]) for a, b in zip(starts, stops)]


class SegmentedSource:
    """A tracker as the accumulator sees it when segments are declared (see the module docstring)."""

    def __init__(self, tracker: Any, coder: SegmentCoder, encoder: Any = None):
        self.tracker = tracker
        self.coder = coder
        self.encoder = encoder if encoder is not None else tracker  # PCA encodes its reference apart

    @property
    def column(self) -> str | None:
        return self.tracker.column

    @property
    def comparative(self) -> bool:
        return self.tracker.comparative

    def encode(self, frame: Frame) -> tuple[Any, list[SpecCodes]]:
        return self.encoder.encode(frame), self.coder.codes(frame)

    def partial(self, encoded: tuple[Any, list[SpecCodes]], rows: slice | np.ndarray) -> SegmentedPartial:
        inner, all_codes = encoded
        parts: dict[str, Partial] = {}
        counts: dict[str, int] = {}
        specs: dict[str, int] = {}
        grouped = getattr(self.tracker, "partials_by", None)
        for i, codes in enumerate(all_codes):
            if grouped is not None:  # one pass over the rows for every segment: bincounts on a combined index
                local = codes.codes[rows]
                sizes = np.bincount(local, minlength=len(codes.labels))
                present = np.flatnonzero(sizes)
                by_code = grouped(inner, rows, local, len(codes.labels))
                for code in present.tolist():
                    label = codes.labels[code]
                    parts[label], counts[label], specs[label] = by_code[code], int(sizes[code]), i
                continue
            for code, members in group_rows(codes.codes, rows):  # the tracker's own partial of each segment's rows
                label = codes.labels[code]
                parts[label] = self.tracker.partial(inner, members)
                counts[label] = int(members.size)
                specs[label] = i
        return SegmentedPartial(self.tracker.partial(inner, rows), parts, counts, specs)


def segment_frame(frame: Frame, members: np.ndarray) -> Frame:
    """The rows ``members`` of ``frame`` (sorted positions), as a frame of their own."""
    stamps = frame.timestamps[members] if frame.timestamps is not None else None
    return Frame(frame.table.take(pa.array(members)), stamps, frame.where)
