"""`DomainClassifierDrift`: can a classifier tell a chunk from the reference?

Per chunk, up to ``max_reference_rows`` reference rows (label 0) and up to
``max_chunk_rows`` chunk rows (label 1) are sampled, a small LightGBM
classifier is trained with stratified K-fold cross-validation, and the ROC AUC
of its *out-of-fold* probabilities is reported as ``domain_classifier_auroc``
(column null: it is a model-level, multivariate statistic). Near 0.5 the two
samples are indistinguishable; towards 1 the chunk differs from the reference,
in any single feature or only in how features combine (a flipped correlation,
an interaction), which univariate drift cannot see.

Not a mergeable partial
-----------------------
Unlike the histogram-based calculators, this statistic cannot be assembled
from per-chunk summaries: the classifier needs raw rows. What it keeps is a
*bounded sample*: ``fit`` stores at most ``max_reference_rows`` encoded
reference rows, and each chunk uses at most ``max_chunk_rows`` of its rows, so
the memory and work per chunk do not grow with the data.

Reference chunks
----------------
Each reference chunk is compared with a sample of the *rest* of the reference
(the chunk's own rows left out), so its value is out of sample and shows what
values look like without drift. Analysis chunks are compared with the stored
sample of the whole reference.

Thresholds and sampling error
-----------------------------
The default threshold is ``MaterialThreshold(lower=0.45, upper=0.65)``: under
no drift the cross-validated AUROC sits at 0.5 (slightly below, a known bias of
out-of-fold AUC), with a standard error of roughly ``sqrt((1/n + 1/m) / 12)``,
under 0.01 for chunks of a thousand rows; 0.65 flags a classifier that ranks a
random chunk row above a random reference row 65% of the time, a material
shift. In small chunks chance alone crosses 0.65 (with 12-50 rows, a quarter to a
third of stationary chunks did on public data sets), so each bound is widened to
the stated-false-alarm-rate bound learned from the reference chunks' values at
the chunk's own size wherever that is wider. Pass ``thresholds={"domain_classifier_auroc": ...}`` to override it; a
`StandardDeviationThreshold` is learned from the reference chunks' values.

Under no drift the AUROC varies like ``sqrt(1/n + 1/m)`` (``n`` chunk rows,
``m`` reference rows used; Hanley-McNeil). Reference values are put on that
unit scale, ``z = (v - 0.5) / sqrt(1/n + 1/m)``; ``sampling_error`` of a chunk
is the standard deviation of ``z`` over the reference chunks times its own
``sqrt(1/n + 1/m)``, and NaN with fewer than two finite reference values.

What changed?
-------------
After ``calculate``, ``feature_importance_`` (also returned by
``top_features()``) lists, for every *alerting* chunk, the five features the
classifier relied on most: LightGBM gain importances summed over the folds and
normalised to sum to 1. It answers "what changed?" for a multivariate alert.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from seismo._typing import DataLike, Incomplete, SegmentCorrection, Segments, SmallSegments
from seismo.chunks.accumulator import ChunkTable, OpenChunk, StreamState, TableRows, local_chunk
from seismo.chunks.chunkers import DEFAULT_INCOMPLETE, Chunk, Chunker
from seismo.chunks.reference import row_positions
from seismo.data.categories import category_bins
from seismo.data.frame import Frame
from seismo.engine.calculator import FeatureCalculator, is_spark
from seismo.engine.domain_fit import DEFAULT_MAX_ROWS, DEFAULT_N_SPLITS, MAX_CATEGORIES, DomainFitCache, cross_fit
from seismo.engine.result import Result
from seismo.engine.segments import DEFAULT_MIN_SEGMENT_ROWS
from seismo.engine.thresholds import (
    Bounds,
    MaterialThreshold,
    Threshold,
    clip_to_range,
    resolve_thresholds,
)
from seismo.engine.trackers import DEFAULT_RANDOM_STATE, chosen_threshold, rows_to_frame
from seismo.errors import InvalidConfiguration

METRIC = "domain_classifier_auroc"
DEFAULT_THRESHOLD = MaterialThreshold(lower=0.45, upper=0.65)
DEFAULT_HYPERPARAMETERS = {
    "n_estimators": 100,
    "num_leaves": 15,
    "learning_rate": 0.1,
    "n_jobs": 1,  # several threads spin-wait on small machines; chunks are small anyway
    "verbose": -1,
}
TOP_FEATURES = 5
IMPORTANCE_COLUMNS = ["chunk_index", "chunk_key", "period", "column", "importance"]
_PERIOD_ORDER = {"reference": 0, "analysis": 1}


@dataclass(frozen=True)
class _AurocScaling:
    """AUROC noise model: ``v = 0.5 + z * sqrt(1/n + 1/m)`` (a `seismo.engine.thresholds.UnitScale`)."""

    center: float = 0.5

    @staticmethod
    def width(n: float, m: float) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sqrt(1.0 / np.float64(n) + 1.0 / np.float64(m)))

    def to_unit(self, value: float, n: float, m: float) -> float:
        return (value - self.center) / self.width(n, m)

    def from_unit(self, z: float, n: float, reference_rows: float, tail: float | None = None) -> float:
        return float(self.center + z * self.width(n, reference_rows))


@dataclass
class _ChunkValue:
    chunk: Chunk
    period: str
    value: float
    n: int  # chunk rows used
    m: int  # reference rows used
    importance: dict[str, float]


class DomainClassifierDrift(FeatureCalculator):
    """Multivariate drift: cross-validated AUROC of a classifier separating each chunk from the reference.

    See the module docstring for the method, the default thresholds (constant
    0.45 / 0.65), the sampling error and ``top_features()``.
    """

    def __init__(
        self,
        columns: list[str] | None = None,
        timestamp: str | None = None,
        chunk_size: int | None = None,
        chunk_number: int | None = None,
        chunk_period: str | None = None,
        chunker: Chunker | None = None,
        thresholds: dict | None = None,
        column_types: dict[str, str] | None = None,
        *,
        incomplete: Incomplete = DEFAULT_INCOMPLETE,
        y_pred_proba: str | dict | None = None,
        y_pred: str | None = None,
        y_true: str | None = None,
        id: str | None = None,
        max_reference_rows: int = DEFAULT_MAX_ROWS,
        max_chunk_rows: int = DEFAULT_MAX_ROWS,
        n_splits: int = DEFAULT_N_SPLITS,
        hyperparameters: dict | None = None,
        max_categories: int = MAX_CATEGORIES,
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
            chunker=chunker, incomplete=incomplete, thresholds=thresholds, random_state=random_state,
            timestamp_format=timestamp_format, false_alarm_rate=false_alarm_rate,
            segments=segments, min_segment_rows=min_segment_rows, small_segments=small_segments,
            segment_correction=segment_correction,
        )
        self.max_reference_rows = max_reference_rows
        self.max_chunk_rows = max_chunk_rows
        self.n_splits = n_splits
        self.hyperparameters = hyperparameters
        self.max_categories = max_categories

    # -- configuration ---------------------------------------------------------
    def _check_config(self) -> None:
        for name in ("max_reference_rows", "max_chunk_rows", "max_categories"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise InvalidConfiguration(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.n_splits, (int, np.integer)) or self.n_splits < 2:
            raise InvalidConfiguration(f"n_splits must be an integer of at least 2, got {self.n_splits!r}")
        if self.hyperparameters is not None and not isinstance(self.hyperparameters, dict):
            raise InvalidConfiguration("hyperparameters must be a dict of LightGBM parameters")

    def lightgbm_params(self) -> dict:
        """The LightGBM parameters of the domain classifier: the defaults, ``random_state``, then ``hyperparameters``
        (a `Monitor` hands PAPE's to its `DomainClassifierDrift`, so the two fit one classifier per chunk)."""
        params = {**DEFAULT_HYPERPARAMETERS, "random_state": self.random_state}
        params.update(self.hyperparameters or {})
        return params

    # -- encoding --------------------------------------------------------------
    def _encode(self, frame: Frame) -> np.ndarray:
        """Features as a float matrix; categorical columns as codes fixed by the reference."""
        out = np.empty((frame.n_rows, len(self.schema_.columns)), dtype=np.float64)
        for j, spec in enumerate(self.schema_.columns):
            if spec.kind == "continuous":
                out[:, j] = frame.floats(spec.name)
            else:
                categories, top_k = self.categories_[spec.name]
                out[:, j] = category_bins(frame.strings(spec.name), categories, top_k)
        return out

    # -- the statistic ---------------------------------------------------------
    def _auroc(self, reference: np.ndarray, current: np.ndarray, shared: bool = False) -> tuple[float, dict[str, float]]:
        """Out-of-fold AUROC of a classifier separating ``current`` (1) from ``reference`` (0); ``shared``:
        through the cache of `share_domain_fits` (analysis chunks, which an estimator may fit too)."""
        names = self.schema_.names
        args = (reference, current, self.lightgbm_params(), self.n_splits, self.categorical_indices_ or None,
                self.random_state)
        cache = getattr(self, "domain_cache_", None) if shared else None
        fit = cache.fit(*args) if cache is not None else cross_fit(*args)
        if fit is None:
            return float("nan"), {}
        total = fit.gain.sum()
        importance = {n: (float(g / total) if total > 0 else 0.0) for n, g in zip(names, fit.gain)}
        return fit.auroc, importance

    def share_domain_fits(self, cache: DomainFitCache) -> None:
        """Reuse fits with calculators given the same ``cache`` (`PAPE` in a `Monitor`): a fit on the same
        reference sample, chunk rows and parameters is computed once; results do not change."""
        self.domain_cache_ = cache

    def _sample(self, rng: np.random.Generator, rows: np.ndarray, limit: int) -> np.ndarray:
        if len(rows) <= limit:
            return rows
        return np.sort(rng.choice(rows, size=limit, replace=False))

    def _chunk_value(self, chunk: Chunk, period: str, encoded: np.ndarray, reference: np.ndarray) -> _ChunkValue:
        rng = np.random.default_rng([self.random_state, _PERIOD_ORDER[period], chunk.index])
        rows = self._sample(rng, np.arange(chunk.start, chunk.stop), self.max_chunk_rows)
        current = encoded[rows]
        value, importance = self._auroc(reference, current, shared=period == "analysis")
        return _ChunkValue(chunk, period, value, len(current), len(reference), importance)

    # -- public API ------------------------------------------------------------
    def fit(self, reference: DataLike, *, streaming: bool | None = None) -> DomainClassifierDrift:
        """Encode the reference, keep a bounded sample of it, and compute every reference chunk's value.

        ``streaming`` works as in `UnivariateDrift.fit`: the classifier then learns from the
        uniform sample of the reference (`seismo.chunks.reference.REFERENCE_SAMPLE_ROWS` rows at most),
        each reference chunk being represented by its sampled rows; categories are exact.
        """
        if self.segments:
            raise InvalidConfiguration("DomainClassifierDrift does not monitor segments yet (one classifier per chunk "
                                       "and segment); use PCADrift or UnivariateDrift with segments=, and this "
                                       "calculator for the whole (docs/segments.md)")
        self._check_config()
        ref = self._reference_features(reference, streaming)
        frame = ref.frame
        if ref.streamed:  # chunk edges from a second pass; each chunk's sampled rows are contiguous
            chunks, _, _ = self._stream_reference_partials([], ref)
            positions = row_positions(frame)
            local = [Chunk(c.index, c.key, int(np.searchsorted(positions, c.start)),
                           int(np.searchsorted(positions, c.stop)), c.start_date, c.end_date) for c in chunks]
        else:
            chunks = local = ref.known_chunks
        self.threshold_: Threshold = chosen_threshold(METRIC, DEFAULT_THRESHOLD,
                                                      resolve_thresholds(self.thresholds, [METRIC]),
                                                      self.false_alarm_rate)
        self.categories_ = {}
        self.categorical_indices_ = []
        for j, spec in enumerate(self.schema_.columns):
            if spec.kind == "categorical":
                categories = ref.categories(spec.name)
                self.categories_[spec.name] = (categories, min(self.max_categories, len(categories)))
                self.categorical_indices_.append(j)
        encoded = self._encode(frame)
        n_rows = frame.n_rows

        values = []
        for chunk, whole in zip(local, chunks):  # each reference chunk against a sample of the rest of the reference
            rng = np.random.default_rng([self.random_state, 2, chunk.index])
            rest = np.r_[np.arange(0, chunk.start), np.arange(chunk.stop, n_rows)]
            sample = encoded[self._sample(rng, rest, self.max_reference_rows)]
            values.append(replace(self._chunk_value(chunk, "reference", encoded, sample), chunk=whole))
        rng = np.random.default_rng([self.random_state, 3])
        self.reference_sample_ = encoded[self._sample(rng, np.arange(n_rows), self.max_reference_rows)]

        self.scaling_ = _AurocScaling()
        z = np.array([self.scaling_.to_unit(v.value, v.n, v.m) for v in values], dtype=float)
        finite = z[np.isfinite(z)]
        self.unit_std_ = float(np.std(finite, ddof=1)) if finite.size > 1 else float("nan")
        self.bounds_: Bounds = self.threshold_.learn(z, np.empty(0), self.scaling_)
        self.reference_values_ = values
        self._chunk_values_ = values
        self.fitted_ = True
        self.feature_importance_ = self._importances(values, self._rows(values))
        return self

    def calculate(self, analysis: DataLike, *, streaming: bool | None = None,
                  state: StreamState | None = None) -> Result:
        """AUROC of every analysis chunk against the reference sample; reference chunks included.

        ``streaming`` and ``state`` work as in `UnivariateDrift.calculate`; each complete
        chunk is classified on its own rows, as in memory.
        """
        self._require_fitted()
        if is_spark(analysis):
            raise InvalidConfiguration("DomainClassifierDrift does not run on Spark yet: it fits a classifier on "
                                       "each chunk's rows; pass a parquet path to stream it")
        def settle(chunk: OpenChunk) -> _ChunkValue:  # a complete chunk, classified on its own rows
            rows = chunk.merged[0]
            assert isinstance(rows, ChunkTable), "the one tracker is TableRows"
            frame = rows.frame()
            self._check_frame_types(frame)
            whole = chunk.to_chunk()
            value = self._chunk_value(local_chunk(whole), "analysis", self._encode(frame), self.reference_sample_)
            return replace(value, chunk=whole)

        built, new_state, skipped = self._accumulate([TableRows()], analysis, list(self.schema_.names),
                                                     streaming=streaming, state=state, settle=settle)
        values = [chunk.settled for chunk in built]
        all_values = [*self.reference_values_, *values]
        rows = self._rows(all_values)
        df = rows_to_frame(rows)
        df = df.sort_values(
            by=["period", "chunk_index"], key=lambda s: s.map(_PERIOD_ORDER) if s.name == "period" else s,
            kind="stable",
        ).reset_index(drop=True)
        self._chunk_values_ = all_values
        self.feature_importance_ = self._importances(all_values, rows)
        result = Result(df, type(self).__name__)
        result.state = new_state
        result.rows_skipped = skipped
        return result

    def top_features(self, result: Result | None = None, n: int = TOP_FEATURES) -> pd.DataFrame:
        """The features that separate each alerting chunk from the reference most: "what changed?".

        Without ``result``: ``feature_importance_`` of the last ``calculate`` (or of
        ``fit``: reference chunks only). With a ``Result`` of the last ``calculate``
        (e.g. filtered): the chunks alerting in it. Columns: chunk_index, chunk_key,
        period, column, importance (gain share, summing to 1 over all features).
        """
        self._require_fitted()
        if result is None:
            if n == TOP_FEATURES:
                return self.feature_importance_.copy()
            return self._importances(self._last_values(), self._rows(self._last_values()), n)
        df = result.to_df()
        df = df[(df["metric"] == METRIC) & df["alert"]]
        keys = set(zip(df["period"], df["chunk_index"]))
        values = [v for v in self._last_values() if (v.period, v.chunk.index) in keys]
        return self._top(values, n)

    # -- rows and importances --------------------------------------------------
    def _last_values(self) -> list[_ChunkValue]:
        return getattr(self, "_chunk_values_", self.reference_values_)

    def _rows(self, values: list[_ChunkValue]) -> list[dict]:
        rows = []
        for v in values:
            c = v.chunk
            se = float("nan")
            if np.isfinite(self.unit_std_) and v.n and v.m:
                se = self.unit_std_ * self.scaling_.width(v.n, v.m)
            lo_conf: float | None = float("nan")
            hi_conf: float | None = float("nan")
            if np.isfinite(se) and np.isfinite(v.value):
                lo_conf, hi_conf = clip_to_range((v.value - 3 * se, v.value + 3 * se), 0.0, 1.0)
            lower, upper = clip_to_range(self.bounds_.at(v.n, v.m), 0.0, 1.0)
            rows.append({
                "chunk_index": c.index,
                "chunk_key": c.key,
                "chunk_start_index": c.start,
                "chunk_end_index": c.stop - 1,
                "chunk_start_date": c.start_date,
                "chunk_end_date": c.end_date,
                "period": v.period,
                "column": None,
                "metric": METRIC,
                "value": v.value,
                "sampling_error": se,
                "lower_confidence": lo_conf,
                "upper_confidence": hi_conf,
                "lower_threshold": np.nan if lower is None or not np.isfinite(lower) else lower,
                "upper_threshold": np.nan if upper is None or not np.isfinite(upper) else upper,
            })
        return rows

    def _importances(self, values: list[_ChunkValue], rows: list[dict], n: int = TOP_FEATURES) -> pd.DataFrame:
        frame = rows_to_frame(rows) if rows else pd.DataFrame({"alert": []})
        alerting = [v for v, a in zip(values, frame["alert"]) if a]
        return self._top(alerting, n)

    @staticmethod
    def _top(values: list[_ChunkValue], n: int) -> pd.DataFrame:
        records: list[dict] = []
        for v in sorted(values, key=lambda v: (_PERIOD_ORDER[v.period], v.chunk.index)):
            ranked = sorted(v.importance.items(), key=lambda kv: -kv[1])[:n]
            records.extend(
                {"chunk_index": v.chunk.index, "chunk_key": v.chunk.key, "period": v.period,
                 "column": name, "importance": share}
                for name, share in ranked
            )
        table = pd.DataFrame(records, columns=IMPORTANCE_COLUMNS)
        table["importance"] = table["importance"].astype(float)
        table["chunk_index"] = table["chunk_index"].astype(int)
        return table
