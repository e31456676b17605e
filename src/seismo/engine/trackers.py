"""The orchestration every calculator shares: chunks → partials → finish → thresholds → Result.

A calculator builds *trackers* at fit. A tracker owns one column (or the model)
and knows three things: how to *encode* a frame once into per-row arrays, how to
build a mergeable *partial* from some rows of that encoding, and how to
*finish* a partial into metric values. Everything else (reference sampling,
thresholds, sampling errors, the tidy table) lives here, once.
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, Sequence, cast

import numpy as np
import pandas as pd

from seismo.chunks.accumulator import Partial
from seismo.chunks.chunkers import Chunk
from seismo.data.frame import Frame
from seismo.engine.result import RESULT_COLUMNS
from seismo.engine.sampling_error import LOCATION, FittedScaling, Scaling
from seismo.engine.thresholds import DEFAULT_FALSE_ALARM_RATE, Bounds, Threshold, clip_to_range, is_alert
from seismo.errors import InvalidConfiguration, NotFittedError, SeismoWarning

DEFAULT_RESAMPLES = 50
#: The seed of every random draw (resampled reference subsets, folds, LightGBM) unless one is given.
DEFAULT_RANDOM_STATE = 0


@dataclass(frozen=True)
class MetricInfo:
    """What the orchestration needs to know about one metric of a tracker."""

    name: str
    threshold: Threshold
    lower_bound: float | None = None
    upper_bound: float | None = None
    scaling: Scaling = LOCATION  # how its noise depends on chunk size (see seismo.engine.sampling_error)
    quadratic: bool = False  # chi-squared-like: thresholds are learned on the square root


class ComparativePartial(Partial, Protocol):
    """The partial of a comparative tracker: ``whole - part`` is the rest of the rows, so each
    reference chunk is compared with the reference without itself."""

    def __sub__(self, other: Self, /) -> Self: ...


class Tracker(Protocol):
    """One column's (or the model's) statistics; see the module docstring."""

    @property
    def column(self) -> str | None:
        """The column it summarises; None: the model (performance, row counts, PCA)."""

    @property
    def comparative(self) -> bool:
        """True: values compare a chunk with the reference (drift), and partials are `ComparativePartial`."""

    def metric_infos(self) -> list[MetricInfo]: ...

    def encode(self, frame: Frame, /) -> Any: ...

    def partial(self, encoded: Any, rows: slice | np.ndarray, /) -> Partial: ...

    def finish(self, part: Any, reference: Any | None, /) -> dict: ...


class EstimationTracker(Protocol):
    """The tracker of a label-free estimator (CBPE, PAPE, DLE; `seismo.performance.estimation`).

    Its partials hold estimated quantities and are finished by the realized metric's code; the
    metrics and thresholds are those of the estimator's `RealizedPerformance`, so it has no
    ``metric_infos``. The reference is encoded apart (``encode_reference``: out-of-fold
    estimates, so the reference's estimates are not flattered), and ``use_shifts`` hands it the
    per-chunk domain shifts the estimator computed (PAPE re-calibrates with them; the others
    ignore them).
    """

    @property
    def column(self) -> str | None:
        """Always None: an estimate is the model's."""

    @property
    def comparative(self) -> bool:
        """Always False: an estimate does not compare a chunk with the reference."""

    def encode(self, frame: Frame, /) -> Any: ...

    def encode_reference(self, frame: Frame, /) -> Any: ...

    def use_shifts(self, encoded: Any, chunks: list[Chunk], shifts: list[Any], /) -> None:
        """``shifts``: one `seismo.performance.trust.ChunkShift` per chunk (a higher layer's type)."""

    def partial(self, encoded: Any, rows: slice | np.ndarray, /) -> Partial: ...

    def finish(self, part: Any, reference: Any | None, /) -> dict: ...


#: What the orchestration below runs: a calculator's tracker, or an estimator's
AnyTracker = Tracker | EstimationTracker


def rest_of(whole: Partial, part: Partial) -> Partial:
    """The rest of the rows of ``whole`` without ``part``: what a comparative tracker compares
    ``part`` with. Only comparative trackers get here (``tracker.comparative``), and their
    partials subtract (`ComparativePartial`)."""
    return cast(ComparativePartial, whole) - cast(ComparativePartial, part)


@dataclass
class FittedMetric:
    info: MetricInfo
    bounds: Bounds
    scale: FittedScaling
    unit_std: float  # spread of the resampled reference values on the unit scale


@dataclass
class FittedTracker:
    tracker: AnyTracker
    metrics: dict[str, FittedMetric]
    total: Partial | None = None  # the whole reference's partial, for comparative trackers
    reference_rows: float = 0.0  # rows the statistics counted in the whole reference
    reference_table: list[dict] = field(default_factory=list)
    segments: Any = None  # declared segments: their thresholds (`seismo.engine.segment_fit.SegmentFit`)


ROWS = (None, "_rows")  # a finish may report the rows it counted (labelled, non-missing)
REFERENCE_ROWS = (None, "_reference_rows")  # ... and the reference rows it compared with


def chunk_values(tracker: AnyTracker, encoded: Any, chunks: list[Chunk], total: Partial | None,
                 leave_out: bool) -> list[dict]:
    """Each chunk's values; a comparative tracker compares it with ``total`` (without the chunk: ``leave_out``)."""
    out = []
    for chunk in chunks:
        part = tracker.partial(encoded, chunk.rows)
        reference = None
        if tracker.comparative and total is not None:
            reference = rest_of(total, part) if leave_out else total
        out.append(tracker.finish(part, reference))
    return out


def _resampled(tracker: Tracker, encoded: Any, n_rows: int, size: int, count: int, total: Partial | None,
               seed: int) -> list[dict]:
    """``count`` random subsets of ``size`` of the ``n_rows`` encoded rows, each compared with ``total`` minus itself."""
    # seeded by the column's name too, so a column's thresholds do not depend on which others are monitored
    rng = np.random.default_rng([seed, zlib.crc32(str(tracker.column).encode())])
    out = []
    for _ in range(count):
        rows = np.sort(rng.choice(n_rows, size=size, replace=False))
        part = tracker.partial(encoded, rows)
        out.append(tracker.finish(part, _rest(tracker, total, part)))
    return out


def _rest(tracker: Tracker, total: Partial | None, part: Partial) -> Partial | None:
    """What ``part`` is compared with: the rest of ``total``, for a comparative tracker; else None."""
    return rest_of(total, part) if tracker.comparative and total is not None else None


def _metric_array(values: list[dict], name: str) -> np.ndarray:
    return np.array([v.get(name, np.nan) for v in values], dtype=float)


def _sizes(values: list[dict], default_n: np.ndarray, reference_rows: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows counted in each sample and the reference rows it was compared with (or drawn from)."""
    n = np.array([v.get(ROWS, d) for v, d in zip(values, default_n)], dtype=float)
    m = np.array([v.get(REFERENCE_ROWS, reference_rows - k) for v, k in zip(values, n)], dtype=float)
    return n, m


def check_false_alarm_rate(rate: float | None) -> None:
    """``false_alarm_rate`` of a calculator or `Monitor`: None, or a number strictly between 0 and 1."""
    if rate is None:
        return
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0.0 < float(rate) < 1.0:
        raise InvalidConfiguration(f"false_alarm_rate must be None or a number strictly between 0 and 1 (e.g. "
                                   f"{DEFAULT_FALSE_ALARM_RATE}, one false alert per thousand chunk x metric cells), got {rate!r}")


def chosen_threshold(name: str, default: Threshold, overrides: dict[str, Threshold],
                     false_alarm_rate: float | None = None, rate_divisor: float = 1.0) -> Threshold:
    """The threshold a metric is learned with: the user's override, else its default.

    ``false_alarm_rate`` (a calculator's argument) restates the rate of a default that has one
    (`FalseAlarmThreshold`, keeping its sides; `MaterialThreshold`'s noise bound); a default
    without a rate (a constant) and every override are used as they are. ``rate_divisor``
    divides that rate: S segments tested together each get rate / S (Bonferroni), so the
    family keeps the stated rate (`seismo.engine.segment_fit`).
    """
    if name in overrides:
        return overrides[name]
    if (false_alarm_rate is None and rate_divisor == 1.0) or not dataclasses.is_dataclass(default):
        return default
    if "false_alarm_rate" not in {f.name for f in dataclasses.fields(default)}:
        return default
    rate = float(false_alarm_rate) if false_alarm_rate is not None else float(cast(Any, default).false_alarm_rate)
    # the field check above is what mypy cannot see: not every Threshold has the field
    return dataclasses.replace(cast(Any, default), false_alarm_rate=rate / rate_divisor)


def fit_tracker(
    tracker: Tracker,
    frame: Frame,
    chunks: list[Chunk],
    overrides: dict[str, Threshold],
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    encoded: Any = None,
    false_alarm_rate: float | None = None,
) -> FittedTracker:
    """Learn thresholds and sampling errors of one tracker from a reference held in memory.

    ``encoded``: the reference's encoding when it is not ``tracker.encode(frame)``
    (PCA adds its in-sample optimism to the reference rows it was fitted on).
    ``false_alarm_rate``: see `chosen_threshold`.
    """
    if encoded is None:
        encoded = tracker.encode(frame)
    n_rows = frame.n_rows
    parts = [tracker.partial(encoded, chunk.rows) for chunk in chunks]
    whole = tracker.partial(encoded, slice(0, n_rows))
    reference = ReferencePartials(chunks, parts, whole, n_rows, encoded, n_rows)
    return fit_from_partials(tracker, reference, overrides, n_resamples, seed, false_alarm_rate)


@dataclass
class ReferencePartials:
    """One tracker's view of the reference: what thresholds are learned from.

    ``parts`` are the partials of ``chunks``; ``whole`` is the partial of all
    ``n_rows`` reference rows (rows of a dropped incomplete chunk included). The
    random subsets are drawn from ``sample``, the tracker's encoding of
    ``sample_rows`` rows: every reference row in memory, a bounded uniform sample
    of them when the reference is streamed (`seismo.chunks.reference`).
    """

    chunks: list[Chunk]
    parts: list[Partial]
    whole: Partial
    n_rows: int
    sample: Any
    sample_rows: int
    chunk_rows: list[int] | None = None  # a segment's rows in each chunk (None: each chunk's size)


def fit_from_partials(
    tracker: Tracker,
    reference: ReferencePartials,
    overrides: dict[str, Threshold],
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    false_alarm_rate: float | None = None,
    rate_divisor: float = 1.0,
) -> FittedTracker:
    """Learn thresholds and sampling errors of one tracker from its reference partials.

    Each reference chunk is compared with the rest of the reference (``total -
    part``), and so is each of ``n_resamples`` random subsets of the median chunk
    size (at most half the rows they are drawn from). Every such value is put on
    the unit scale of its metric's `Scaling`, thresholds are learned there, and
    they are mapped back at each chunk's own size when rows are built. Each metric's
    threshold is `chosen_threshold` (``false_alarm_rate`` restates its default's rate, which
    ``rate_divisor`` divides).
    """
    chunks, whole, n_rows = reference.chunks, reference.whole, reference.n_rows
    sizes = np.array(reference.chunk_rows if reference.chunk_rows is not None else [c.size for c in chunks])
    total = whole if tracker.comparative else None
    reference_rows = float(tracker.finish(whole, whole if tracker.comparative else None).get(ROWS, n_rows))
    contiguous = [tracker.finish(part, _rest(tracker, total, part)) for part in reference.parts]
    drawn_from = reference.sample_rows
    size = max(1, min(int(np.median(sizes)), n_rows // 2, drawn_from // 2))
    resampled = (_resampled(tracker, reference.sample, drawn_from, size, n_resamples, total, seed)
                 if drawn_from > 1 else [])
    n_c, m_c = _sizes(contiguous, sizes, reference_rows)
    n_r, m_r = _sizes(resampled, np.full(len(resampled), size), reference_rows)
    fitted: dict[str, FittedMetric] = {}
    for info in tracker.metric_infos():
        cont, res = _metric_array(contiguous, info.name), _metric_array(resampled, info.name)
        if info.scaling.kind == "fixed":  # random subsets have a fixed size by construction
            res, n_r_m, m_r_m = res[:0], n_r[:0], m_r[:0]
        else:
            n_r_m, m_r_m = n_r, m_r
        scale = info.scaling.fit(np.r_[cont, res], np.r_[n_c, n_r_m], np.r_[m_c, m_r_m])
        z_cont, z_res = scale.to_unit(cont, n_c, m_c), scale.to_unit(res, n_r_m, m_r_m)
        threshold = chosen_threshold(info.name, info.threshold, overrides, false_alarm_rate, rate_divisor)
        finite = z_res[np.isfinite(z_res)]
        unit_std = float(np.std(finite, ddof=1)) if finite.size > 1 else float("nan")
        fitted[info.name] = FittedMetric(info, threshold.learn(z_cont, z_res, scale, info.quadratic), scale, unit_std)
    result = FittedTracker(tracker, fitted, total, reference_rows)
    result.reference_table = tidy_rows(result, chunks, contiguous, "reference", sizes=list(sizes))
    return result


def tidy_rows(fitted: FittedTracker, chunks: list[Chunk], values: list[dict], period: str,
              sizes: Sequence[float] | None = None) -> list[dict]:
    """One row per chunk × metric, with bounds and errors at the chunk's own size.

    ``sizes``: the rows each value summarises where that is not the chunk's size (a segment's
    rows in it); a value that reports the rows it counted (``ROWS``) overrides both.
    """
    rows = []
    for i, (chunk, chunk_values_) in enumerate(zip(chunks, values)):
        shared = {k[1]: v for k, v in chunk_values_.items()
                  if isinstance(k, tuple) and k[0] is None and not k[1].startswith("_")}
        n = float(chunk_values_.get(ROWS, chunk.size if sizes is None else sizes[i]))
        for name, metric in fitted.metrics.items():
            value = float(chunk_values_.get(name, np.nan))
            info = metric.info
            se = metric.scale.sampling_error(metric.unit_std, n, fitted.reference_rows)
            lo_conf: float | None = np.nan
            hi_conf: float | None = np.nan
            if np.isfinite(se) and np.isfinite(value):
                lo_conf, hi_conf = clip_to_range((value - 3 * se, value + 3 * se), info.lower_bound, info.upper_bound)
            lower, upper = clip_to_range(metric.bounds.at(n, fitted.reference_rows), info.lower_bound, info.upper_bound)
            row = {
                "chunk_index": chunk.index,
                "chunk_key": chunk.key,
                "chunk_start_index": chunk.start,
                "chunk_end_index": chunk.stop - 1,
                "chunk_start_date": chunk.start_date,
                "chunk_end_date": chunk.end_date,
                "period": period,
                "column": fitted.tracker.column,
                "segment": None,  # the overall rows; `seismo.engine.segment_fit` labels a segment's
                "metric": name,
                "value": value,
                "sampling_error": se,
                "lower_confidence": lo_conf,
                "upper_confidence": hi_conf,
                "lower_threshold": np.nan if lower is None or not np.isfinite(lower) else lower,
                "upper_threshold": np.nan if upper is None or not np.isfinite(upper) else upper,
            }
            row.update(shared)
            row.update({k[1]: v for k, v in chunk_values_.items() if isinstance(k, tuple) and k[0] == name})
            rows.append(row)
    return rows


def rows_to_frame(rows: list[dict], extra_columns: Sequence[str] = ()) -> pd.DataFrame:
    """The tidy frame in the API's column order, with proper dtypes."""
    columns = RESULT_COLUMNS[:-1] + list(extra_columns)
    df = pd.DataFrame(rows, columns=[c for c in columns if c != "alert"])
    for c in ("chunk_start_date", "chunk_end_date"):
        df[c] = pd.to_datetime(df[c])
    for c in ("value", "sampling_error", "lower_confidence", "upper_confidence", "lower_threshold", "upper_threshold"):
        df[c] = df[c].astype(float)
    for c in ("column", "segment"):
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    df["alert"] = is_alert(df["value"].to_numpy(), df["lower_threshold"].to_numpy(), df["upper_threshold"].to_numpy())
    return df[RESULT_COLUMNS + [c for c in extra_columns if c not in RESULT_COLUMNS]]


def require_fitted(obj: Any) -> None:
    if not getattr(obj, "fitted_", False):
        raise NotFittedError(f"{type(obj).__name__} is not fitted yet; call .fit(reference) first")


def warn_undefined(df: pd.DataFrame, calculator: str) -> None:
    """Say where an analysis value could not be computed, instead of a silent NaN.

    A chunk where a column holds no value at all, or a metric that is undefined there (ROC AUC
    of a chunk with one class), has no value and so no alert; the warning names the cells so
    the gap is not mistaken for "no drift". DataQuality's ``missing_rate`` alerts on the first.
    """
    undefined = df[(df["period"] == "analysis") & df["value"].isna()]
    if undefined.empty:
        return
    named = undefined["column"].fillna("(model)")
    parts = []
    for column, rows in undefined.groupby(named, sort=False):
        keys = list(dict.fromkeys(rows["chunk_key"].astype(str)))
        shown = ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
        parts.append(f"{column!s} in {len(keys)} chunk(s) ({shown}: {', '.join(dict.fromkeys(rows['metric']))})")
    more = f"; and {len(parts) - 5} more columns" if len(parts) > 5 else ""
    warnings.warn(f"{calculator}: {len(undefined)} analysis values could not be computed and cannot alert: "
                  f"{'; '.join(parts[:5])}{more}. The chunk has no usable value there (a chunk without rows, "
                  "a column entirely missing, or a metric undefined in it, such as ROC AUC without both classes)",
                  SeismoWarning, stacklevel=3)
