"""The segment side of every calculator: declared segments through fit and calculate.

`BaseCalculator` inherits these methods; they live here so that the calculator's own module
keeps the shared plumbing (roles, chunking, reference passes) and this one what segments add
to it (`seismo.engine.segments` builds the partials, `seismo.engine.segment_fit` the thresholds
and rows; docs/segments.md).
"""

from __future__ import annotations

from typing import cast

import numpy as np

from seismo._typing import SegmentCorrection, Segments, SmallSegments
from seismo.chunks.accumulator import OpenChunk
from seismo.chunks.chunkers import Chunk
from seismo.chunks.reference import ReferenceData, row_positions
from seismo.data.frame import Frame
from seismo.engine.segment_fit import fit_segments, fit_shares, segment_chunk_rows, share_rows
from seismo.engine.segments import (
    DEFAULT_MIN_SEGMENT_ROWS,
    SEGMENT_COLUMNS,
    SegmentCoder,
    SegmentedPartial,
    SegmentedSource,
    Spec,
    check_segments,
    other_label,
    spec_columns,
)
from seismo.engine.trackers import FittedTracker, ReferencePartials, fit_from_partials, tidy_rows


class SegmentedCalculation:
    """Declared segments' part of a calculator (mixed into `BaseCalculator`)."""

    # class-level defaults so that older saved monitors load (docs/persistence.md)
    segments: Segments | None = None
    min_segment_rows: int = DEFAULT_MIN_SEGMENT_ROWS
    small_segments: SmallSegments = "other"
    segment_correction: SegmentCorrection = "bonferroni"
    _segment_shares = False  # DataQuality reports each segment's share of the chunk's rows
    segment_specs_: dict[str, int] | None = None  # every reference segment's label -> its segmentation
    segment_shares_: dict[str, FittedTracker] | None = None
    # set by BaseCalculator.__init__
    n_resamples: int
    random_state: int
    false_alarm_rate: float | None

    def _stream_reference_partials(self, trackers: list, reference: ReferenceData
                                   ) -> tuple[list[Chunk], list[list], list]:
        raise NotImplementedError  # BaseCalculator's second pass over a streamed reference

    def _segment_specs(self) -> list[Spec]:
        return check_segments(self.segments)

    def _with_segment_columns(self, columns: list[str]) -> list[str]:
        """``columns`` and the segment columns, each once: the segments are read with the data."""
        return list(dict.fromkeys([*columns, *spec_columns(self._segment_specs())]))

    def _segment_extra_columns(self) -> list[str]:
        return list(SEGMENT_COLUMNS) if self._segment_specs() else []

    def _sources(self, trackers: list) -> list:
        """What the accumulator runs: the trackers, each wrapped to key its partials by segment when
        segments are declared (one coder, so a batch's segment codes are computed once)."""
        specs = self._segment_specs()
        if not specs:
            return trackers
        coder = SegmentCoder(specs)
        return [SegmentedSource(t, coder) for t in trackers]

    def _segment_divisor(self, labels: int) -> float:
        """Each segment threshold's share of the stated rate: 1 / S with Bonferroni (`segment_fit`)."""
        return float(max(1, labels)) if self.segment_correction == "bonferroni" else 1.0

    def _fit_segmented(self, trackers: list, encoders: list, reference: ReferenceData,
                       overrides: dict) -> list[FittedTracker]:
        """`_fit_trackers` with declared segments: one pass over the reference gives every chunk's
        partials overall and per segment; the overall thresholds are learned as without segments,
        each segment's by `fit_segments`."""
        coder = SegmentCoder(self._segment_specs())
        sources = [SegmentedSource(t, coder, encoder=e) for t, e in zip(trackers, encoders)]
        if not reference.streamed:
            frame = reference.frame
            chunks = reference.known_chunks
            n_rows = frame.n_rows
            parts, wholes = [], []
            for source in sources:
                encoded = source.encode(frame)
                parts.append([source.partial(encoded, c.rows) for c in chunks])
                wholes.append(source.partial(encoded, slice(0, n_rows)))
        else:
            chunks, by_chunk, wholes = self._stream_reference_partials(sources, reference)
            reference.chunks = chunks
            parts = [[p[i] for p in by_chunk] for i in range(len(sources))]
            frame, n_rows = reference.frame, reference.n_rows
        sample_codes = coder.codes(frame)
        self.segment_specs_ = dict(wholes[0].specs) if wholes else {}
        divisor = self._segment_divisor(len(self.segment_specs_))
        fitted = []
        for source, tracker_parts, whole in zip(sources, parts, wholes):
            overall = fit_from_partials(
                source.tracker, ReferencePartials(chunks, [p.overall for p in tracker_parts], whole.overall, n_rows,
                                                  source.encoder.encode(frame), frame.n_rows),
                overrides, self.n_resamples, self.random_state, self.false_alarm_rate)
            overall.segments = fit_segments(
                source, overall, chunks, tracker_parts, whole, frame, sample_codes, source.encoder, n_rows,
                overrides=overrides, n_resamples=self.n_resamples, seed=self.random_state,
                false_alarm_rate=self.false_alarm_rate, min_rows=self.min_segment_rows, divisor=divisor)
            fitted.append(overall)
        if self._segment_shares:  # shares are learned on the rows at hand: all of them, or the streamed sample's
            in_frame = _sample_chunks(frame, chunks) if reference.streamed else chunks
            self.segment_shares_ = fit_shares(
                in_frame, sample_codes, frame.n_rows, overrides=overrides, n_resamples=self.n_resamples,
                seed=self.random_state, false_alarm_rate=self.false_alarm_rate, divisor=divisor)
        return fitted

    def _segment_rows(self, fitted: list[FittedTracker], chunks: list[Chunk], merged: list[list]) -> list[dict]:
        """Every segment's rows of the analysis chunks (``merged[c][i]``: chunk c's partial of tracker i)."""
        specs = self._segment_specs()
        others = [other_label(spec) for spec in specs]
        rows: list[dict] = []
        for chunk, parts in zip(chunks, merged):
            for f, part in zip(fitted, parts):
                assert isinstance(part, SegmentedPartial) and f.segments is not None
                rows += segment_chunk_rows(f.segments, chunk, part, {**(self.segment_specs_ or {}), **part.specs},
                                           others, self.min_segment_rows, self.small_segments, "analysis")
            if self.segment_shares_ is not None and parts:
                first = parts[0]
                assert isinstance(first, SegmentedPartial)
                rows += share_rows(self.segment_shares_, chunk, first.rows,
                                   {**(self.segment_specs_ or {}), **first.specs}, len(specs), "analysis")
        return rows

    def _chunk_rows(self, fitted: list[FittedTracker], chunk: OpenChunk) -> list[dict]:
        """A segmented analysis chunk's tidy rows, overall then per segment. Run as each chunk closes
        (the accumulator's ``settle``), so a run holds the segment partials of its open chunks only:
        a hundred segments' partials of every chunk held to the end took gigabytes."""
        whole = chunk.to_chunk()
        rows: list[dict] = []
        for f, part in zip(fitted, chunk.merged):
            overall = cast(SegmentedPartial, part).overall
            rows += tidy_rows(f, [whole], [f.tracker.finish(overall, f.total if f.tracker.comparative else None)],
                              "analysis")
        return rows + self._segment_rows(fitted, [whole], [chunk.merged])

    def _segment_reference_rows(self, fitted: list[FittedTracker]) -> list[dict]:
        rows: list[dict] = []
        for f in fitted:
            if f.segments is not None:
                rows += f.segments.reference_table
        for share in (self.segment_shares_ or {}).values():
            rows += share.reference_table
        return rows


def _sample_chunks(sample: Frame, chunks: list[Chunk]) -> list[Chunk]:
    """A streamed reference's chunks as rows of its sample (the sample is in time order)."""
    positions = row_positions(sample)
    return [Chunk(c.index, c.key, int(np.searchsorted(positions, c.start)), int(np.searchsorted(positions, c.stop)),
                  c.start_date, c.end_date) for c in chunks]
