"""`DataQuality`: missing values, unseen categories, out-of-range values, summary statistics.

Standard errors of the summary statistics come from the same reference
resampling as every other statistic (see `seismo.engine.thresholds`), scaled to each
chunk's size: ``se ∝ n^-1/2`` for rates, mean, std and median, ``∝ n^+1/2``
for the sum. ``row_count`` has no sampling error; it alerts only with period
chunking, where the volume per period is informative (fixed-size chunks have a
fixed count by construction).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pyarrow as pa

from seismo._typing import DataLike, Incomplete, SegmentCorrection, Segments, SmallSegments
from seismo.chunks.chunkers import DEFAULT_INCOMPLETE, Chunker, PeriodChunker
from seismo.data.categories import category_bins
from seismo.data.frame import Frame
from seismo.engine.calculator import FeatureCalculator
from seismo.engine.sampling_error import EXTENSIVE, FIXED, PROPORTION
from seismo.engine.segments import DEFAULT_MIN_SEGMENT_ROWS
from seismo.engine.thresholds import TWO_SIDED_THRESHOLD, ConstantThreshold, resolve_thresholds
from seismo.engine.trackers import DEFAULT_RANDOM_STATE, DEFAULT_RESAMPLES, MetricInfo
from seismo.errors import InvalidConfiguration
from seismo.stats.binning import fine_bin_index, fine_points, n_fine_bins
from seismo.stats.categorical import CategoryCounts
from seismo.stats.continuous import quantile
from seismo.stats.histogram import Histogram, SparseHistogram, dense
from seismo.stats.moments import Moments, grouped_moments
from seismo.stats.tails import Tails


def _rate(name: str) -> MetricInfo:
    """A share of rows: two-sided, within [0, 1], with a proportion's noise."""
    return MetricInfo(name, TWO_SIDED_THRESHOLD, lower_bound=0.0, upper_bound=1.0, scaling=PROPORTION)


QUALITY_METRICS = ["missing_rate", "unseen_rate", "out_of_range_rate", "mean", "std", "median", "sum", "row_count"]


@dataclass
class ContinuousQualityPartial:
    """Histogram (rates, median) and moments (mean, std, sum) of one column's chunk.

    Summary statistics describe the finite values: ±inf are counted apart
    (``infinite``: below, above) so the median can leave them out of the tails.
    """

    histogram: Histogram | SparseHistogram  # sparse: a segment's (`ContinuousQualityTracker.partials_by`)
    moments: Moments
    infinite: np.ndarray  # [count of -inf, count of +inf]
    tails: Tails | None = None  # values beyond the reference's range, for the median (None: not kept)

    def merge(self, other: "ContinuousQualityPartial") -> "ContinuousQualityPartial":
        tails = None if self.tails is None or other.tails is None else self.tails + other.tails
        # both dense (a column's) or both sparse (a segment's), which the union type cannot say
        histogram = cast(Any, self.histogram) + other.histogram
        return ContinuousQualityPartial(histogram, self.moments + other.moments, self.infinite + other.infinite, tails)

    __add__ = merge

    def __sub__(self, other: "ContinuousQualityPartial") -> "ContinuousQualityPartial":
        """The reference without some rows. Only the histogram survives subtraction,
        which is all the reference side of a comparison (the range) reads; tails do not."""
        return ContinuousQualityPartial(dense(self.histogram) - dense(other.histogram), Moments(),
                                        self.infinite - other.infinite)

    def finite_histogram(self) -> Histogram:
        histogram = dense(self.histogram)
        counts = histogram.counts.copy()
        counts[0] -= self.infinite[0]
        counts[-2] -= self.infinite[1]
        return Histogram(counts, histogram.sums)


class ContinuousQualityTracker:
    """Missing and out-of-range rates plus summary statistics of one continuous column.

    It is comparative because the range is the reference's: a reference chunk
    is checked against the range of the rest of the reference, so that its own
    extremes do not make every reference chunk look perfectly in range.
    """

    comparative = True

    def __init__(self, column: str, reference_values: np.ndarray, value_range: tuple[float, float] | None = None):
        """``reference_values``: all reference values, or a sample of them with the exact
        ``value_range`` (finite minimum, maximum), which must be points for the range check."""
        self.column = column
        extremes = None if value_range is None else np.asarray(value_range, dtype=float)
        self.points = fine_points(reference_values, include=extremes, grid_range=value_range)
        self.n_bins = n_fine_bins(self.points)

    def metric_infos(self) -> list[MetricInfo]:
        return [
            _rate("missing_rate"),
            _rate("out_of_range_rate"),
            MetricInfo("mean", TWO_SIDED_THRESHOLD),
            MetricInfo("std", TWO_SIDED_THRESHOLD, lower_bound=0.0),
            MetricInfo("median", TWO_SIDED_THRESHOLD),
            MetricInfo("sum", TWO_SIDED_THRESHOLD, scaling=EXTENSIVE),
        ]

    def encode(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        values = frame.floats(self.column)
        return fine_bin_index(values, self.points), values

    def partial(self, encoded: tuple[np.ndarray, np.ndarray], rows: slice | np.ndarray) -> ContinuousQualityPartial:
        bins, values = encoded
        chunk_values = values[rows]
        infinite = np.array([np.sum(chunk_values == -np.inf), np.sum(chunk_values == np.inf)], dtype=float)
        tails = Tails.from_values(chunk_values, self.points[0], self.points[-1]) if self.points.size else None
        return ContinuousQualityPartial(
            Histogram.from_bins(bins[rows], chunk_values, self.n_bins), Moments.from_values(chunk_values), infinite,
            tails,
        )

    def partials_by(self, encoded: tuple[np.ndarray, np.ndarray], rows: slice | np.ndarray, groups: np.ndarray,
                    n_groups: int) -> list[ContinuousQualityPartial]:
        """Each segment's partial among ``rows`` in one pass (`seismo.engine.segments`): sparse histograms
        and moments by bincount; only the few rows beyond the reference's range are grouped one by one."""
        bins, values = encoded
        chunk_values = values[rows]
        histograms = Histogram.grouped(bins[rows], chunk_values, self.n_bins, groups, n_groups)
        moments = grouped_moments(chunk_values, groups, n_groups)
        infinite = np.stack([np.bincount(groups, weights=chunk_values == -np.inf, minlength=n_groups),
                             np.bincount(groups, weights=chunk_values == np.inf, minlength=n_groups)], axis=1)
        tails: list[Tails | None] = [None] * n_groups
        if self.points.size:
            low, high = self.points[0], self.points[-1]
            with np.errstate(invalid="ignore"):
                beyond = np.flatnonzero((chunk_values < low) | (chunk_values > high))
            empty = Tails.from_values(np.empty(0), low, high)
            tails = [empty] * n_groups
            for code in np.unique(groups[beyond]).tolist():
                tails[code] = Tails.from_values(chunk_values[beyond[groups[beyond] == code]], low, high)
        return [ContinuousQualityPartial(h, m, inf, t) for h, m, inf, t in zip(histograms, moments, infinite, tails)]

    def finish(self, part: ContinuousQualityPartial, reference: ContinuousQualityPartial) -> dict:
        if isinstance(part.histogram, SparseHistogram):  # a segment's partial: dense to be finished
            part = dataclasses.replace(part, histogram=dense(part.histogram))
        return quality_of_continuous(part, dense(reference.histogram), self.points)


def _outside_range(hist: Histogram, reference: Histogram) -> float:
    """Count of values below the reference's lowest or above its highest occupied fine bin."""
    occupied = np.flatnonzero(reference.counts[:-1] > 0)
    if occupied.size == 0:
        return float(hist.n)
    finite = hist.counts[:-1]
    return float(finite[: occupied[0]].sum() + finite[occupied[-1] + 1 :].sum())


def quality_of_continuous(part: ContinuousQualityPartial, reference: Histogram, points: np.ndarray) -> dict:
    """Finish: the metrics of one continuous column from its merged partial.

    With exact fine points the reference's lowest and highest occupied bins are
    its minimum and maximum, so the out-of-range count is exact.
    """
    hist, moments = dense(part.histogram), part.moments
    total = hist.n + hist.n_missing
    tails = _outside_range(hist, reference)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "missing_rate": hist.n_missing / total if total else np.nan,
            "out_of_range_rate": tails / hist.n if hist.n else np.nan,
            "mean": moments.mean if moments.n else np.nan,
            "std": moments.std,
            "median": (quantile(part.finite_histogram(), points, 0.5, moments.lo, moments.hi, part.tails)
                       if moments.n else np.nan),
            "sum": moments.total,
        }


class CategoricalQualityTracker:
    """Missing and unseen-category rates of one categorical column.

    Comparative for the same reason as the continuous tracker: a reference
    chunk's categories are checked against the rest of the reference.
    """

    comparative = True

    def __init__(self, column: str, categories: pa.Array):
        """``categories``: every reference value, by descending frequency (`reference_categories`)."""
        self.column = column
        self.categories = categories
        self.top_k = len(self.categories)
        self.n_bins = self.top_k + 3

    def metric_infos(self) -> list[MetricInfo]:
        return [_rate("missing_rate"), _rate("unseen_rate")]

    def encode(self, frame: Frame) -> np.ndarray:
        return category_bins(frame.strings(self.column), self.categories, self.top_k)

    def partial(self, encoded: np.ndarray, rows: slice | np.ndarray) -> CategoryCounts:
        return CategoryCounts.from_codes(encoded[rows], self.n_bins)

    def partials_by(self, encoded: np.ndarray, rows: slice | np.ndarray, groups: np.ndarray,
                    n_groups: int) -> list[CategoryCounts]:
        """The partial of each segment's rows among ``rows`` in one pass (`seismo.engine.segments`)."""
        return CategoryCounts.grouped(encoded[rows], self.n_bins, groups, n_groups)

    def finish(self, part: CategoryCounts, reference: CategoryCounts) -> dict:
        total = part.n + part.n_missing
        known = reference.counts[: self.top_k] > 0
        unseen = part.n_unseen + part.counts[: self.top_k][~known].sum()
        return {
            "missing_rate": part.n_missing / total if total else np.nan,
            "unseen_rate": unseen / part.n if part.n else np.nan,
        }


class RowCountTracker:
    """Rows per chunk."""

    comparative = False
    column = None

    def __init__(self, alerts: bool):
        self.alerts = alerts

    def metric_infos(self) -> list[MetricInfo]:
        threshold = TWO_SIDED_THRESHOLD if self.alerts else ConstantThreshold()
        return [MetricInfo("row_count", threshold, lower_bound=0.0, scaling=FIXED)]

    def encode(self, frame: Frame) -> int:
        return frame.n_rows

    def partial(self, encoded: int, rows: slice | np.ndarray) -> int:
        return len(range(encoded)[rows]) if isinstance(rows, slice) else len(rows)

    def partials_by(self, encoded: int, rows: slice | np.ndarray, groups: np.ndarray, n_groups: int) -> list[int]:
        return [int(n) for n in np.bincount(groups, minlength=n_groups)]

    def finish(self, part: int, reference: None = None) -> dict:
        return {"row_count": float(part)}


class DataQuality(FeatureCalculator):
    """Data-quality statistics per column and chunk, with thresholds from the reference.

    With declared segments it also reports each segment's share of the chunk's rows
    (``segment_share``), so a segment that grows (or appears) alerts.
    """

    _segment_shares = True

    def __init__(
        self,
        columns: list[str] | None = None,
        timestamp: str | None = None,
        chunk_size: int | None = None,
        chunk_number: int | None = None,
        chunk_period: str | None = None,
        chunker: Chunker | None = None,
        metrics: list[str] | None = None,
        thresholds: dict | None = None,
        column_types: dict[str, str] | None = None,
        *,
        incomplete: Incomplete = DEFAULT_INCOMPLETE,
        y_pred_proba: str | dict | None = None,
        y_pred: str | None = None,
        y_true: str | None = None,
        id: str | None = None,
        n_resamples: int = DEFAULT_RESAMPLES,
        random_state: int = DEFAULT_RANDOM_STATE,
        timestamp_format: str | None = None,
        false_alarm_rate: float | None = None,
        segments: Segments | None = None,
        min_segment_rows: int = DEFAULT_MIN_SEGMENT_ROWS,
        small_segments: SmallSegments = "other",
        segment_correction: SegmentCorrection = "bonferroni",
    ):
        super().__init__(
            columns=columns, column_types=column_types, y_pred_proba=y_pred_proba, y_pred=y_pred,
            y_true=y_true, id=id, timestamp=timestamp, chunk_size=chunk_size, chunk_number=chunk_number,
            chunk_period=chunk_period,
            chunker=chunker, incomplete=incomplete, thresholds=thresholds, n_resamples=n_resamples,
            random_state=random_state,
            timestamp_format=timestamp_format, false_alarm_rate=false_alarm_rate,
            segments=segments, min_segment_rows=min_segment_rows, small_segments=small_segments,
            segment_correction=segment_correction,
        )
        self.metrics = metrics

    def fit(self, reference: DataLike, *, streaming: bool | None = None) -> "DataQuality":
        """Learn ranges, categories, thresholds and sampling errors from the reference.

        ``streaming`` works as in `UnivariateDrift.fit`; ranges and categories stay exact.
        """
        if self.metrics is not None:
            unknown = [m for m in self.metrics if m not in QUALITY_METRICS]
            if unknown:
                raise InvalidConfiguration(f"unknown data-quality metrics {unknown}; choose from {QUALITY_METRICS}")
        ref = self._reference_features(reference, streaming)
        overrides = resolve_thresholds(self.thresholds, QUALITY_METRICS)
        trackers: list = [RowCountTracker(alerts=isinstance(self.chunker_, PeriodChunker))]
        for spec in self.schema_.columns:
            if spec.kind == "continuous":
                trackers.append(ContinuousQualityTracker(spec.name, ref.frame.floats(spec.name),
                                                         ref.value_range(spec.name)))
            else:
                trackers.append(CategoricalQualityTracker(spec.name, ref.categories(spec.name)))
        self.fitted_trackers_ = []
        for fitted in self._fit_trackers(trackers, ref, overrides):
            if self.metrics is not None:
                fitted.metrics = {k: v for k, v in fitted.metrics.items() if k in self.metrics}
                fitted.reference_table = [r for r in fitted.reference_table if r["metric"] in self.metrics]
                if fitted.segments is not None:
                    fitted.segments.keep_metrics(self.metrics)
            if fitted.metrics:
                self.fitted_trackers_.append(fitted)
        self.fitted_ = True
        return self
