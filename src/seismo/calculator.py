"""The orchestration every calculator shares: chunks → partials → finish → thresholds → Result.

A calculator builds *trackers* at fit. A tracker owns one column (or the model)
and knows three things: how to *encode* a frame once into per-row arrays, how to
build a mergeable *partial* from some rows of that encoding, and how to
*finish* a partial into metric values. Everything else (reference sampling,
thresholds, sampling errors, the tidy table) lives here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from .chunking import Chunk
from .errors import NotFittedError
from .frame import Frame
from .result import RESULT_COLUMNS
from .thresholds import Threshold, clip_to_range, is_alert, reference_spread_factor, sampling_error_at

DEFAULT_RESAMPLES = 50


@dataclass(frozen=True)
class MetricInfo:
    """What the orchestration needs to know about one metric of a tracker."""

    name: str
    threshold: Threshold
    lower_bound: float | None = None
    upper_bound: float | None = None
    se_exponent: float | None = -0.5  # SE ∝ n^exponent; None: no sampling error
    versus_reference: bool = False  # the value compares the chunk with the reference (a distance)
    quadratic: bool = False  # chi-squared-like: thresholds are learned on the square root


class Tracker(Protocol):
    """One column's (or the model's) statistics; see the module docstring."""

    column: str | None
    comparative: bool  # True: values compare a chunk with the reference (drift)

    def metric_infos(self) -> list[MetricInfo]: ...

    def encode(self, frame: Frame) -> Any: ...

    def partial(self, encoded: Any, rows: slice | np.ndarray) -> Any: ...

    def finish(self, part: Any, reference: Any | None) -> dict: ...


@dataclass
class FittedMetric:
    info: MetricInfo
    lower_threshold: float | None
    upper_threshold: float | None
    se_ref: float  # standard error at `n_ref` rows
    n_ref: float


@dataclass
class FittedTracker:
    tracker: Any
    metrics: dict[str, FittedMetric]
    total: Any = None  # the whole reference's partial, for comparative trackers
    reference_rows: list[dict] = field(default_factory=list)


def chunk_values(tracker: Any, encoded: Any, chunks: list[Chunk], total: Any, leave_out: bool) -> list[dict]:
    out = []
    for chunk in chunks:
        part = tracker.partial(encoded, chunk.rows)
        reference = None
        if tracker.comparative:
            reference = total - part if leave_out else total
        out.append(tracker.finish(part, reference))
    return out


def _resampled(tracker: Any, encoded: Any, n_rows: int, size: int, count: int, total: Any, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        rows = np.sort(rng.choice(n_rows, size=size, replace=False))
        part = tracker.partial(encoded, rows)
        out.append(tracker.finish(part, total - part if tracker.comparative else None))
    return out


def _metric_array(values: list[dict], name: str) -> np.ndarray:
    return np.array([v.get(name, np.nan) for v in values], dtype=float)


def fit_tracker(
    tracker: Any,
    frame: Frame,
    chunks: list[Chunk],
    overrides: dict[str, Threshold],
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> FittedTracker:
    """Learn thresholds and sampling errors of one tracker from the reference."""
    encoded = tracker.encode(frame)
    n_rows = frame.n_rows
    total = tracker.partial(encoded, slice(0, n_rows)) if tracker.comparative else None
    contiguous = chunk_values(tracker, encoded, chunks, total, leave_out=True)
    size = int(np.median([c.size for c in chunks]))
    size = max(1, min(size, n_rows // 2))
    resampled = _resampled(tracker, encoded, n_rows, size, n_resamples, total, seed) if n_rows > 1 else []
    factor = reference_spread_factor(size, n_rows)
    fitted: dict[str, FittedMetric] = {}
    for info in tracker.metric_infos():
        cont = _metric_array(contiguous, info.name)
        res = _metric_array(resampled, info.name)
        threshold = overrides.get(info.name, info.threshold)
        bounds = clip_to_range(threshold.bounds(cont, res, 1.0 if info.versus_reference else factor, info.quadratic), info.lower_bound, info.upper_bound)
        finite = res[np.isfinite(res)]
        se_ref = float(np.std(finite, ddof=1)) if finite.size > 1 else float("nan")
        # random subsets of a finite reference vary less than fresh samples would
        se_ref /= np.sqrt(max(1.0 - size / n_rows, 1e-12))
        fitted[info.name] = FittedMetric(info, bounds[0], bounds[1], se_ref, float(size))
    result = FittedTracker(tracker, fitted, total)
    result.reference_rows = tidy_rows(result, chunks, contiguous, "reference")
    return result


def evaluate_tracker(fitted: FittedTracker, frame: Frame, chunks: list[Chunk]) -> list[dict]:
    """Tidy rows of one tracker on the analysis chunks."""
    encoded = fitted.tracker.encode(frame)
    values = chunk_values(fitted.tracker, encoded, chunks, fitted.total, leave_out=False)
    return tidy_rows(fitted, chunks, values, "analysis")


def tidy_rows(fitted: FittedTracker, chunks: list[Chunk], values: list[dict], period: str) -> list[dict]:
    rows = []
    for chunk, chunk_values in zip(chunks, values):
        shared = {k[1]: v for k, v in chunk_values.items() if isinstance(k, tuple) and k[0] is None}
        for name, metric in fitted.metrics.items():
            value = float(chunk_values.get(name, np.nan))
            info = metric.info
            se = np.nan
            if info.se_exponent is not None:
                se = float(sampling_error_at(metric.se_ref, metric.n_ref, chunk.size, info.se_exponent))
            lo_conf, hi_conf = (np.nan, np.nan)
            if np.isfinite(se) and np.isfinite(value):
                lo_conf, hi_conf = clip_to_range((value - 3 * se, value + 3 * se), info.lower_bound, info.upper_bound)
            row = {
                "chunk_index": chunk.index,
                "chunk_key": chunk.key,
                "chunk_start_index": chunk.start,
                "chunk_end_index": chunk.stop - 1,
                "chunk_start_date": chunk.start_date,
                "chunk_end_date": chunk.end_date,
                "period": period,
                "column": fitted.tracker.column,
                "metric": name,
                "value": value,
                "sampling_error": se,
                "lower_confidence": lo_conf,
                "upper_confidence": hi_conf,
                "lower_threshold": np.nan if metric.lower_threshold is None else metric.lower_threshold,
                "upper_threshold": np.nan if metric.upper_threshold is None else metric.upper_threshold,
            }
            row.update(shared)
            row.update({k[1]: v for k, v in chunk_values.items() if isinstance(k, tuple) and k[0] == name})
            rows.append(row)
    return rows


def rows_to_frame(rows: list[dict], extra_columns: list[str] = ()) -> pd.DataFrame:
    """The tidy frame in the API's column order, with proper dtypes."""
    columns = RESULT_COLUMNS[:-1] + list(extra_columns)
    df = pd.DataFrame(rows, columns=[c for c in columns if c != "alert"])
    for c in ("chunk_start_date", "chunk_end_date"):
        df[c] = pd.to_datetime(df[c])
    for c in ("value", "sampling_error", "lower_confidence", "upper_confidence", "lower_threshold", "upper_threshold"):
        df[c] = df[c].astype(float)
    df["column"] = df["column"].astype(object).where(df["column"].notna(), None)
    df["alert"] = is_alert(df["value"].to_numpy(), df["lower_threshold"].to_numpy(), df["upper_threshold"].to_numpy())
    return df[RESULT_COLUMNS + [c for c in extra_columns if c not in RESULT_COLUMNS]]


def require_fitted(obj: Any) -> None:
    if not getattr(obj, "fitted_", False):
        raise NotFittedError(f"{type(obj).__name__} is not fitted yet; call .fit(reference) first")
