"""`UnivariateDrift`: per column and method, how far each chunk is from the reference."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from seismo._typing import DataLike, Incomplete, SegmentCorrection, Segments, SmallSegments
from seismo.chunks.chunkers import DEFAULT_INCOMPLETE, Chunker
from seismo.data.categories import category_bins
from seismo.data.frame import Frame
from seismo.drift.methods import DRIFT_METHODS, Comparison, methods_for
from seismo.engine.calculator import FeatureCalculator
from seismo.engine.sampling_error import distance
from seismo.engine.segments import DEFAULT_MIN_SEGMENT_ROWS
from seismo.engine.thresholds import DISTANCE_THRESHOLD, resolve_thresholds
from seismo.engine.trackers import DEFAULT_RANDOM_STATE, DEFAULT_RESAMPLES, REFERENCE_ROWS, ROWS, MetricInfo
from seismo.errors import InvalidConfiguration
from seismo.stats.binning import (
    DEFAULT_COARSE_BINS,
    coarse_atoms,
    coarse_edges,
    fine_bin_index,
    fine_points,
    fine_to_coarse,
    n_coarse_bins,
    n_fine_bins,
)
from seismo.stats.categorical import CategoryCounts
from seismo.stats.histogram import Histogram, SparseHistogram, dense

DEFAULT_MAX_CATEGORIES = 50


def _metric_infos(methods: list[str]) -> list[MetricInfo]:
    return [
        MetricInfo(m, DISTANCE_THRESHOLD, lower_bound=0.0, upper_bound=DRIFT_METHODS[m].upper_bound,
                   scaling=distance(DRIFT_METHODS[m].noise_exponent), quadratic=DRIFT_METHODS[m].quadratic)
        for m in methods
    ]


def _finish(methods: list[str], comparison: Comparison) -> dict:
    out: dict = {ROWS: comparison.current.n, REFERENCE_ROWS: comparison.reference.n}
    for m in methods:
        value = DRIFT_METHODS[m].compute(comparison)
        if isinstance(value, tuple):  # chi2: statistic and p-value
            value, p_value = value
            out[(m, "p_value")] = p_value
        out[m] = value
    return out


class ContinuousDriftTracker:
    """Fine histogram of one continuous column on points fixed from the reference."""

    comparative = True

    def __init__(self, column: str, reference_values: np.ndarray, methods: list[str], n_bins: int,
                 value_range: tuple[float, float] | None = None):
        """``reference_values``: all reference values, or a sample of them with the exact
        ``value_range`` (finite minimum, maximum), which then bounds the fine points."""
        self.column = column
        self.methods = methods
        self.edges = coarse_edges(reference_values, n_bins)
        self.points = fine_points(reference_values, include=_with_range(self.edges, value_range),
                                  grid_range=value_range)
        self.atoms = coarse_atoms(reference_values, self.edges, n_bins)
        self.coarse_map = fine_to_coarse(self.points, self.edges, self.atoms)
        self.n_coarse = n_coarse_bins(self.edges, self.atoms)
        self.n_bins = n_fine_bins(self.points)

    def metric_infos(self) -> list[MetricInfo]:
        return _metric_infos(self.methods)

    def encode(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        values = frame.floats(self.column)
        return fine_bin_index(values, self.points), values

    def partial(self, encoded: tuple[np.ndarray, np.ndarray], rows: slice | np.ndarray) -> Histogram:
        bins, values = encoded
        return Histogram.from_bins(bins[rows], values[rows], self.n_bins)

    def partials_by(self, encoded: tuple[np.ndarray, np.ndarray], rows: slice | np.ndarray, groups: np.ndarray,
                    n_groups: int) -> list[SparseHistogram]:
        """The partial of each segment's rows among ``rows`` in one pass (`seismo.engine.segments`)."""
        bins, values = encoded
        return Histogram.grouped(bins[rows], values[rows], self.n_bins, groups, n_groups)

    def finish(self, part: Histogram | SparseHistogram, reference: Histogram | SparseHistogram) -> dict:
        comparison = Comparison(dense(reference), dense(part), self.points, self.coarse_map, self.n_coarse)
        return _finish(self.methods, comparison)


def _with_range(points: np.ndarray, value_range: tuple[float, float] | None) -> np.ndarray:
    """Points plus the reference's exact minimum and maximum (a sample may miss them)."""
    return points if value_range is None else np.r_[points, value_range]


class CategoricalDriftTracker:
    """Counts of one categorical column over the reference's top categories."""

    comparative = True

    def __init__(self, column: str, categories: pa.Array, methods: list[str], max_categories: int):
        """``categories``: the reference's values by descending frequency (`reference_categories`)."""
        self.column = column
        self.methods = methods
        self.categories = categories
        self.top_k = min(max_categories, len(self.categories))
        self.n_bins = self.top_k + 3  # categories, other, unseen, missing

    def metric_infos(self) -> list[MetricInfo]:
        return _metric_infos(self.methods)

    def encode(self, frame: Frame) -> np.ndarray:
        return category_bins(frame.strings(self.column), self.categories, self.top_k)

    def partial(self, encoded: np.ndarray, rows: slice | np.ndarray) -> CategoryCounts:
        return CategoryCounts.from_codes(encoded[rows], self.n_bins)

    def partials_by(self, encoded: np.ndarray, rows: slice | np.ndarray, groups: np.ndarray,
                    n_groups: int) -> list[CategoryCounts]:
        """The partial of each segment's rows among ``rows`` in one pass (`seismo.engine.segments`)."""
        return CategoryCounts.grouped(encoded[rows], self.n_bins, groups, n_groups)

    def finish(self, part: CategoryCounts, reference: CategoryCounts) -> dict:
        return _finish(self.methods, Comparison(reference, part))


class UnivariateDrift(FeatureCalculator):
    """Drift of each column's distribution, chunk by chunk, against the reference.

    ``methods`` defaults to every registered method; each is applied to the
    columns whose kind it fits. Thresholds default to the mean + 3 standard
    deviations of out-of-sample reference values (see `seismo.engine.thresholds`).
    """

    _extra_columns = ("p_value",)

    def __init__(
        self,
        columns: list[str] | None = None,
        timestamp: str | None = None,
        chunk_size: int | None = None,
        chunk_number: int | None = None,
        chunk_period: str | None = None,
        chunker: Chunker | None = None,
        methods: list[str] | None = None,
        thresholds: dict | None = None,
        column_types: dict[str, str] | None = None,
        *,
        incomplete: Incomplete = DEFAULT_INCOMPLETE,
        y_pred_proba: str | dict | None = None,
        y_pred: str | None = None,
        y_true: str | None = None,
        id: str | None = None,
        n_bins: int = DEFAULT_COARSE_BINS,
        max_categories: int = DEFAULT_MAX_CATEGORIES,
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
        self.methods = methods
        self.n_bins = n_bins
        self.max_categories = max_categories

    def _check_methods(self) -> None:
        if self.methods is None:
            return
        unknown = [m for m in self.methods if m not in DRIFT_METHODS]
        if unknown:
            raise InvalidConfiguration(f"unknown drift methods {unknown}; choose from {list(DRIFT_METHODS)}")

    def fit(self, reference: DataLike, *, streaming: bool | None = None) -> "UnivariateDrift":
        """Learn bins, categories, thresholds and sampling errors from the reference.

        ``streaming``: read a parquet/CSV path in two passes of batches, so memory is
        bounded by the batch and a sample of rows (see docs/streaming.md); ``None``
        streams paths too large to hold comfortably.
        """
        self._check_methods()
        ref = self._reference_features(reference, streaming)
        overrides = resolve_thresholds(self.thresholds, list(DRIFT_METHODS))
        trackers: list[ContinuousDriftTracker | CategoricalDriftTracker] = []
        for spec in self.schema_.columns:
            methods = methods_for(spec.kind, self.methods)
            if not methods:
                continue
            if spec.kind == "continuous":
                trackers.append(ContinuousDriftTracker(spec.name, ref.frame.floats(spec.name), methods, self.n_bins,
                                                       ref.value_range(spec.name)))
            else:
                trackers.append(CategoricalDriftTracker(spec.name, ref.categories(spec.name), methods,
                                                        self.max_categories))
        self.fitted_trackers_ = self._fit_trackers(trackers, ref, overrides)
        self.fitted_ = True
        return self
