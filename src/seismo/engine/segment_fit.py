"""Thresholds per segment, and each segment's tidy rows.

A segment's thresholds are learned exactly as the overall ones (`fit_from_partials`), from the
segment's own rows of each reference chunk and random subsets of its own reference rows, so a
segment that is always different from the average (a region with more defaults) does not alert
for being itself. A segment with fewer than ``2 × min_segment_rows`` reference rows cannot
teach a threshold: it borrows the overall reference's, mapped to the segment's own size (the
noise models of `seismo.engine.sampling_error` widen them for small segments), and its rows
say ``segment_thresholds="borrowed"``.

Multiple testing: S segments tested per chunk × column × metric raise S chances of a false
alert. With ``segment_correction="bonferroni"`` (the default) every segment threshold with a
stated rate (`FalseAlarmThreshold`, `MaterialThreshold`) is learned at rate / S, S being the
number of segments in the reference, so the probability that *any* segment of a cell alerts
without drift stays at the stated rate (thresholds given in ``thresholds=`` are used as given).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from seismo.chunks.chunkers import Chunk
from seismo.data.frame import Frame
from seismo.engine.sampling_error import PROPORTION
from seismo.engine.segments import SegmentedPartial, SegmentedSource, SpecCodes, segment_frame
from seismo.engine.thresholds import FalseAlarmThreshold, Threshold
from seismo.engine.trackers import (
    ROWS,
    FittedTracker,
    MetricInfo,
    ReferencePartials,
    fit_from_partials,
    rest_of,
    tidy_rows,
)

OWN, BORROWED, TOO_FEW = "own", "borrowed", "too few rows"
SHARE = "segment_share"


@dataclass
class SegmentFit:
    """One tracker's thresholds for every segment of the reference (see the module docstring)."""

    overall: FittedTracker
    borrowed: FittedTracker  # the overall reference at the segments' rate: for segments without their own
    own: dict[str, FittedTracker] = field(default_factory=dict)
    wholes: dict[str, Any] = field(default_factory=dict)  # each segment's partial of the whole reference
    counted: dict[str, float] = field(default_factory=dict)  # rows each segment's statistics counted there
    reference_table: list[dict] = field(default_factory=list)

    def keep_metrics(self, names: Sequence[str]) -> None:
        """Only ``names`` (a calculator's ``metrics=``), in every segment's thresholds and rows."""
        for fitted in [*self.own.values(), self.borrowed]:
            fitted.metrics = {k: v for k, v in fitted.metrics.items() if k in names}
        self.reference_table = [r for r in self.reference_table if r["metric"] in names]

    def for_segment(self, label: str) -> tuple[FittedTracker, str]:
        """The fitted tracker a segment's chunk is finished with, and where its thresholds come from."""
        if label in self.own:
            return self.own[label], OWN
        return self.lent(self.wholes.get(label), self.counted.get(label)), BORROWED

    def lent(self, whole: Any | None, counted: float | None) -> FittedTracker:
        """The borrowed thresholds, compared with (and sized by) ``whole``, a part of the reference;
        the whole reference when the segment has none of its rows."""
        if whole is None or not counted:
            return self.borrowed
        return dataclasses.replace(self.borrowed, total=whole if self.borrowed.tracker.comparative else None,
                                   reference_rows=float(counted))


def _counted(tracker: Any, whole: Any, default: float) -> float:
    return float(tracker.finish(whole, whole if tracker.comparative else None).get(ROWS, default))


def fit_segments(
    source: SegmentedSource,
    overall: FittedTracker,
    chunks: list[Chunk],
    parts: list[SegmentedPartial],
    whole: SegmentedPartial,
    sample: Frame,
    sample_codes: list[SpecCodes],
    encoder: Any,
    n_rows: int,
    *,
    overrides: dict[str, Threshold],
    n_resamples: int,
    seed: int,
    false_alarm_rate: float | None,
    min_rows: int,
    divisor: float,
) -> SegmentFit:
    """One tracker's `SegmentFit` from the reference chunks' segmented partials.

    ``sample`` is the frame the random subsets are drawn from (every reference row in memory,
    the bounded sample of a streamed reference), ``sample_codes`` its segment codes, and
    ``encoder`` encodes it for the tracker (PCA's differs from the tracker); ``n_rows`` counts
    every reference row (those of a dropped incomplete chunk too).
    """
    tracker = source.tracker
    borrowed = overall
    if divisor != 1.0:
        everyone = ReferencePartials(chunks, [p.overall for p in parts], whole.overall, n_rows,
                                     encoder.encode(sample), sample.n_rows)
        borrowed = fit_from_partials(tracker, everyone, overrides, n_resamples, seed, false_alarm_rate, divisor)
    fit = SegmentFit(overall, borrowed)
    members = _members(sample_codes)
    for label, rows in sorted(whole.rows.items()):
        seg_whole = whole.parts[label]
        fit.wholes[label] = seg_whole
        fit.counted[label] = _counted(tracker, seg_whole, rows)
        present = [(c, p.parts[label], p.rows[label]) for c, p in zip(chunks, parts) if label in p.parts]
        if rows >= 2 * min_rows and len(present) >= 2 and label in members:
            drawn = segment_frame(sample, members[label])
            reference = ReferencePartials([c for c, _, _ in present], [p for _, p, _ in present], seg_whole, rows,
                                          encoder.encode(drawn), drawn.n_rows, [n for _, _, n in present])
            own = fit_from_partials(tracker, reference, overrides, n_resamples, seed, false_alarm_rate, divisor)
            fit.own[label] = own
            fit.reference_table += labelled(own.reference_table, label, [n for _, _, n in present], OWN)
            continue
        lent = fit.lent(seg_whole, fit.counted[label])
        values = [tracker.finish(p, rest_of(seg_whole, p) if tracker.comparative else None) for _, p, _ in present]
        sizes = [n for _, _, n in present]
        fit.reference_table += labelled(tidy_rows(lent, [c for c, _, _ in present], values, "reference", sizes=sizes),
                                        label, sizes, BORROWED)
    return fit


def _members(sample_codes: list[SpecCodes]) -> dict[str, np.ndarray]:
    """Each segment label's row positions in the sample."""
    out: dict[str, np.ndarray] = {}
    for codes in sample_codes:
        order = np.argsort(codes.codes, kind="stable")
        sorted_codes = codes.codes[order]
        if not sorted_codes.size:
            continue
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        for a, b in zip(starts, [*starts[1:], sorted_codes.size]):
            out[codes.labels[int(sorted_codes[a])]] = order[a:b]
    return out


def labelled(rows: list[dict], label: str, sizes: Sequence[float], thresholds: str) -> list[dict]:
    """Tidy rows of one segment: its label, its rows in the chunk, where its thresholds come from."""
    by_chunk: dict[int, int] = {}
    for row in rows:
        by_chunk.setdefault(row["chunk_index"], len(by_chunk))
    sizes = list(sizes)
    for row in rows:
        row["segment"] = label
        row["segment_rows"] = float(sizes[by_chunk[row["chunk_index"]]])
        row["segment_thresholds"] = thresholds
        if thresholds == TOO_FEW:
            row["lower_threshold"] = row["upper_threshold"] = np.nan
    return rows


def segment_chunk_rows(fit: SegmentFit, chunk: Chunk, part: SegmentedPartial, specs_of: dict[str, int],
                       other_labels: list[str], min_rows: int, small: str, period: str) -> list[dict]:
    """One analysis chunk's rows for every segment in it, with the small-segment guard applied.

    ``specs_of`` maps each label to its segmentation's index (``other_labels[i]`` names that
    segmentation's merged small segments). A segment with fewer than ``min_rows`` rows is merged
    into "other" (``small="other"``; the merged rows get borrowed thresholds and are compared with
    the same segments' reference rows) or reported with its value and no thresholds (``"report"``).
    Either way it is never dropped.
    """
    rows: list[dict] = []
    small_parts: dict[int, list[str]] = {}
    for label, n in sorted(part.rows.items()):  # one order however batches and runs split the rows
        if n < min_rows:
            if small == "other":
                small_parts.setdefault(specs_of[label], []).append(label)
                continue
            fitted, _ = fit.for_segment(label)
            rows += _finish(fitted, chunk, part.parts[label], n, label, TOO_FEW, period)
            continue
        fitted, source = fit.for_segment(label)
        rows += _finish(fitted, chunk, part.parts[label], n, label, source, period)
    for spec, labels in small_parts.items():
        merged = part.parts[labels[0]]
        for label in labels[1:]:
            merged = merged + part.parts[label]
        n = sum(part.rows[label] for label in labels)
        known = [label for label in labels if label in fit.wholes]
        whole = None
        if known:
            whole = fit.wholes[known[0]]
            for label in known[1:]:
                whole = whole + fit.wholes[label]
        counted = sum(fit.counted[label] for label in known)
        fitted = fit.lent(whole, counted)
        rows += _finish(fitted, chunk, merged, n, other_labels[spec], BORROWED if n >= min_rows else TOO_FEW, period)
    return rows


def _finish(fitted: FittedTracker, chunk: Chunk, part: Any, n: int, label: str, source: str,
            period: str) -> list[dict]:
    tracker = fitted.tracker
    values = tracker.finish(part, fitted.total if tracker.comparative else None)
    return labelled(tidy_rows(fitted, [chunk], [values], period, sizes=[n]), label, [n], source)


# -- the segment mix -------------------------------------------------------------------
@dataclass(frozen=True)
class ShareCount:
    """Rows of one segment among some rows: the partial of a segment's share."""

    members: int
    rows: int

    def __add__(self, other: ShareCount) -> ShareCount:
        return ShareCount(self.members + other.members, self.rows + other.rows)


class ShareTracker:
    """A segment's share of each chunk's rows, as a tracker, so it gets thresholds like any
    statistic: a proportion whose noise shrinks with the chunk's size; a segment absent from the
    reference has share 0 there, so any row of it in a chunk is news."""

    column = None
    comparative = False

    def __init__(self, threshold: Threshold):
        self.threshold = threshold

    def metric_infos(self) -> list[MetricInfo]:
        return [MetricInfo(SHARE, self.threshold, lower_bound=0.0, upper_bound=1.0, scaling=PROPORTION)]

    def encode(self, frame: Frame) -> np.ndarray:  # pragma: no cover - shares are fitted from membership arrays
        raise NotImplementedError

    def partial(self, members: np.ndarray, rows: slice | np.ndarray) -> ShareCount:
        picked = members[rows]
        return ShareCount(int(np.count_nonzero(picked)), int(picked.size))

    def finish(self, part: ShareCount, reference: None = None) -> dict:
        return {SHARE: part.members / part.rows if part.rows else float("nan"), ROWS: float(part.rows)}


SHARE_THRESHOLD = FalseAlarmThreshold(sides="both")
NEW_SEGMENT = "(new)"  # the share fit used for a segment absent from the reference


def fit_shares(chunks: list[Chunk], codes: list[SpecCodes], n_rows: int, *, overrides: dict[str, Threshold],
               n_resamples: int, seed: int, false_alarm_rate: float | None,
               divisor: float) -> dict[str, FittedTracker]:
    """Each reference segment's share thresholds, and those of a segment the reference lacks."""
    tracker = ShareTracker(SHARE_THRESHOLD)
    fitted: dict[str, FittedTracker] = {}
    members = _members(codes)
    for label, rows in [*sorted(members.items()), (NEW_SEGMENT, np.empty(0, dtype=np.int64))]:
        is_member = np.zeros(n_rows, dtype=bool)
        is_member[rows] = True
        parts = [tracker.partial(is_member, c.rows) for c in chunks]
        reference = ReferencePartials(chunks, list(parts), tracker.partial(is_member, slice(0, n_rows)), n_rows,
                                      is_member, n_rows)
        fitted[label] = fit_from_partials(tracker, reference, overrides, n_resamples, seed, false_alarm_rate,
                                          divisor)
        fitted[label].reference_table = [] if label == NEW_SEGMENT else labelled(
            fitted[label].reference_table, label, [p.members for p in parts], OWN)
    return fitted


def share_rows(shares: dict[str, FittedTracker], chunk: Chunk, counts: dict[str, int], specs_of: dict[str, int],
               n_specs: int, period: str) -> list[dict]:
    """A chunk's share rows: every segment present in it, and every reference segment absent from it."""
    total = {spec: 0 for spec in range(n_specs)}
    for label, n in counts.items():
        total[specs_of[label]] += n
    rows: list[dict] = []
    labels = sorted({*counts, *[k for k in shares if k != NEW_SEGMENT]})
    for label in labels:
        spec = specs_of.get(label)
        n_chunk = total[spec] if spec is not None else chunk.size
        fitted = shares.get(label, shares[NEW_SEGMENT])
        values = fitted.tracker.finish(ShareCount(counts.get(label, 0), n_chunk), None)
        rows += labelled(tidy_rows(fitted, [chunk], [values], period), label, [counts.get(label, 0)],
                         OWN if label in shares else BORROWED)
    return rows
