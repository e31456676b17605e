"""Rank drifted columns: "which drift is hurting us?".

``rank(drift_result)`` orders the columns of a drift result by how often they
alerted. ``rank(drift_result, performance_result)`` orders them by how strongly
their drift co-moves with the drop in a performance metric across chunks.

Methodology (with a performance result)
---------------------------------------
* The drop per chunk is ``mean(reference chunks) - value``; for a metric where
  lower is better (the losses: ``higher_is_better`` false in the metric registry)
  the sign is flipped, so a positive drop always means worse performance.
* Reference chunks are used as well as analysis chunks. They give the
  correlation variation to work with (an analysis period that drifts once is a
  single step), and their sampling noise carries real signal: a chunk whose
  important features happen to deviate more also tends to score differently.
* Drift and performance chunks are joined on ``(period, chunk_index)``; the
  chunkings must match (same chunk keys), otherwise InvalidConfiguration.
* NaN pairs are dropped pairwise; ``n_chunks`` reports the pairs used. Fewer
  than 3 pairs, or a constant series, give a NaN correlation and a ``note``.
* ``correlation`` is the Spearman rank correlation (robust to the scale of each
  drift method and to outliers); ``pearson`` is reported too. When a column has
  several methods, the method with the highest absolute Spearman correlation is
  kept (``drift_method``).

Segments
--------
A result of a segmented calculator (``segments=`` on the calculator or `Monitor`)
holds the overall rows (``segment`` None) and one set of rows per segment label.
``rank(..., segment=None)`` ranks the overall rows only, so a segmented run ranks
exactly as the same run without segments: a segment's rows never enter it.
``rank(..., segment="region=east")`` ranks that segment on its own: its drift rows
against its own performance drop, measured from its own reference chunks. A
segment is missing from the chunks where it was merged into ``(other)``; those
chunks are left out of its pairs rather than failing the chunking check.

Limitation, and ``sensitivity``
-------------------------------
Chunk statistics cannot tell apart drifts that start at the same time: every
column shifted by the same event follows the same step, so their correlations
with the drop are (nearly) tied and the order among them is decided by
sampling noise. On the synthetic credit data, the harmless ``age`` shift ranks
below ``debt_ratio`` and ``income`` for some seeds and above them for others.
To separate them one needs to know what the model looks at. Pass
``sensitivity`` (a mapping column -> weight in [0, 1]), e.g. from
``prediction_sensitivity(reference, "y_pred_proba")``, which measures how much
the model's output moves with each column in the reference data. The ranking
score then becomes ``impact = correlation * sensitivity``: a drift hurts when
it co-moves with the drop *and* touches a column the model relies on.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from seismo.engine.result import Result
from seismo.errors import InvalidConfiguration
from seismo.metrics.registry import METRICS, ranking_preference
from seismo.monitor.calculators import class_names, of_kind

__all__ = ["prediction_sensitivity", "rank"]

# the class names a ranked result may carry (`Result.calculator`): per-column drift, and performance
DRIFT_CALCULATORS = class_names(of_kind("drift", per_column=True))
PERFORMANCE_CALCULATORS = class_names(of_kind("performance"))
MIN_PAIRS = 3
KEY = ["period", "chunk_index"]


def _check_result(result: object, allowed: tuple[str, ...], role: str) -> pd.DataFrame:
    if not isinstance(result, Result):
        raise InvalidConfiguration(
            f"{role} must be a seismo Result (from .calculate() or .estimate()); got {type(result).__name__}"
        )
    if result.calculator not in allowed:
        raise InvalidConfiguration(
            f"{role} comes from {result.calculator}; rank() expects a result from one of {list(allowed)}"
        )
    return result.to_df()


def _segment_labels(df: pd.DataFrame) -> list[str]:
    """The segment labels present in a result frame (none for an unsegmented result)."""
    if "segment" not in df.columns:
        return []
    return sorted(str(label) for label in df["segment"].dropna().unique())


def _of_segment(df: pd.DataFrame, segment: str | None, role: str) -> pd.DataFrame:
    """The rows of one segment (``None``: the overall rows, which is every row of an unsegmented result)."""
    if "segment" not in df.columns:
        if segment is None:
            return df
        raise InvalidConfiguration(f"{role} has no segments; segment={segment!r} needs a result of a "
                                   "calculator given segments=")
    if segment is None:
        return df[df["segment"].isna()]
    rows = df[df["segment"] == segment]
    if rows.empty:
        labels = _segment_labels(df)
        shown = ", ".join(labels[:20]) + (", ..." if len(labels) > 20 else "") if labels else "none"
        raise InvalidConfiguration(f"segment {segment!r} is not in {role}; its segments: {shown}")
    return rows


def _drift_frame(drift_result: Result, method: str | None, segment: str | None = None) -> pd.DataFrame:
    df = _check_result(drift_result, DRIFT_CALCULATORS, "drift_result")
    df = _of_segment(df, segment, "the drift result")
    df = df[df["column"].notna()]
    if method is not None:
        available = sorted(df["metric"].unique())
        if method not in available:
            raise InvalidConfiguration(f"method {method!r} is not in the drift result; it has {available}")
        df = df[df["metric"] == method]
    if df.empty:
        raise InvalidConfiguration("the drift result has no per-column rows to rank")
    return df


def _alert_stats(df: pd.DataFrame) -> pd.DataFrame:
    """Per column: analysis chunks where any method alerted, number of chunks, mean value/upper."""
    ana = df[df["period"] == "analysis"].copy()
    upper = pd.to_numeric(ana["upper_threshold"], errors="coerce").astype(float)
    value = pd.to_numeric(ana["value"], errors="coerce").astype(float)
    ana["ratio"] = (value / upper.where(upper != 0)).astype(float)
    ana["alert"] = ana["alert"].fillna(False).astype(bool)
    per_chunk = ana.groupby(["column", "chunk_index"]).agg(alert=("alert", "any"), ratio=("ratio", "mean"))
    out = per_chunk.groupby("column").agg(
        alert_count=("alert", "sum"), n_chunks=("alert", "size"), magnitude=("ratio", "mean")
    )
    out["alert_count"] = out["alert_count"].astype(int)
    out["n_chunks"] = out["n_chunks"].astype(int)
    return out


def _choose_metric(perf: pd.DataFrame, metric: str | None) -> str:
    available = list(dict.fromkeys(perf["metric"]))
    if metric is not None:
        if metric not in available:
            raise InvalidConfiguration(f"metric {metric!r} is not in the performance result; it has {available}")
        return metric
    preference = ranking_preference()
    for m in preference:
        if m in available:
            return m
    raise InvalidConfiguration(
        f"none of the performance result's metrics {available} is a known performance metric; "
        f"pass metric= (known: {preference})"
    )


def _performance_drop(performance_result: Result, metric: str | None,
                      segment: str | None = None) -> tuple[pd.Series, str]:
    perf = _check_result(performance_result, PERFORMANCE_CALCULATORS, "performance_result")
    perf = _of_segment(perf, segment, "the performance result")
    perf = perf[perf["column"].isna()] if perf["column"].notna().any() else perf
    name = _choose_metric(perf, metric)
    rows = perf[perf["metric"] == name]
    values = pd.to_numeric(rows["value"], errors="coerce").astype(float)
    values.index = pd.MultiIndex.from_frame(rows[KEY])
    baseline = values[rows["period"].to_numpy() == "reference"].mean()
    if np.isnan(baseline):
        where = f" for segment {segment!r}" if segment is not None else ""
        raise InvalidConfiguration(
            f"the performance result has no reference value of {name!r}{where} to measure the drop from"
        )
    drop = baseline - values
    if name in METRICS and not METRICS[name].higher_is_better:
        drop = -drop
    keys = rows.set_index(KEY)["chunk_key"]
    drop.attrs["chunk_keys"] = keys
    return drop, name


def _check_chunking(drift: pd.DataFrame, perf_keys: pd.Series, partial: bool = False) -> None:
    """The drift and performance rows must share their chunks. ``partial`` (a segment's rows):
    a chunk either side lacks (the segment was merged into ``(other)`` there) is allowed, but a
    chunk both have must carry the same key."""
    d = drift.drop_duplicates(KEY).set_index(KEY)["chunk_key"].astype(str)
    p = perf_keys[~perf_keys.index.duplicated()].astype(str)
    shared = d.index.intersection(p.index)
    if partial and len(shared):  # no chunk in common at all is a chunking mismatch, said below
        d, p = d.reindex(shared), p.reindex(shared)
    if set(d.index) != set(p.index) or not (d.sort_index() == p.reindex(d.index).sort_index()).all():
        diff = sorted(set(d.items()) ^ set(p.items()))[:5]
        raise InvalidConfiguration(
            "the drift and performance results use different chunkings (chunk keys differ, e.g. "
            f"{diff}); calculate both with the same chunking"
        )


def _correlate(x: pd.Series, y: pd.Series) -> tuple[float, float, int, str | None]:
    both = pd.concat([x.rename("x"), y.rename("y")], axis=1).dropna()
    n = len(both)
    if n < MIN_PAIRS:
        return np.nan, np.nan, n, f"fewer than {MIN_PAIRS} chunks with both drift and performance values"
    if both["x"].nunique() < 2:
        return np.nan, np.nan, n, "constant drift values"
    if both["y"].nunique() < 2:
        return np.nan, np.nan, n, "constant performance values"
    from scipy import stats

    rho = float(stats.spearmanr(both["x"], both["y"])[0])
    r = float(stats.pearsonr(both["x"], both["y"])[0])
    return rho, r, n, None


def rank(
    drift_result: Result,
    performance_result: Result | None = None,
    *,
    metric: str | None = None,
    method: str | None = None,
    sensitivity: Mapping[str, float] | pd.Series | None = None,
    segment: str | None = None,
) -> pd.DataFrame:
    """Rank the columns of a drift result by how much their drift seems to hurt.

    ``segment``: None ranks the overall rows only (a segmented result ranks exactly as
    the same result without segments); a label such as ``"region=east"`` ranks that
    segment's drift rows against that segment's own performance rows. A label that
    neither result holds is an `InvalidConfiguration` listing the labels they do.

    Without ``performance_result``: by ``alert_count`` (analysis chunks where any
    of the column's methods alerted; ``method=`` restricts to one), ties broken
    by the mean of ``value / upper_threshold`` over analysis chunks, then by
    column name. Columns: rank, column, alert_count, n_chunks (and drift_method
    when a single method is used).

    With ``performance_result`` (RealizedPerformance, CBPE, DLE or PAPE): by the
    Spearman correlation across reference and analysis chunks between the
    column's drift value and the performance drop (see the module docstring),
    NaN correlations last, ties broken by alert_count then column name.
    Columns: rank, column, drift_method, correlation, pearson, alert_count,
    n_chunks (pairs used), performance_metric, note. With ``sensitivity``
    (column -> weight, e.g. from :func:`prediction_sensitivity`) two columns
    are added, ``sensitivity`` and ``impact = correlation * sensitivity``, and
    ``impact`` orders the rows (columns missing from the mapping get weight 0).
    """
    drift = _drift_frame(drift_result, method, segment)
    alerts = _alert_stats(drift)
    columns = sorted(drift["column"].unique())
    methods = sorted(drift["metric"].unique())
    single = methods[0] if len(methods) == 1 else None

    if performance_result is None:
        if sensitivity is not None:
            raise InvalidConfiguration("sensitivity= needs a performance_result to weight correlations")
        out = alerts.reindex(columns).reset_index()
        out["alert_count"] = out["alert_count"].fillna(0).astype(int)
        out["n_chunks"] = out["n_chunks"].fillna(0).astype(int)
        out["_mag"] = out["magnitude"].fillna(-np.inf)
        out = out.sort_values(["alert_count", "_mag", "column"], ascending=[False, False, True], kind="stable")
        out.insert(0, "rank", np.arange(1, len(out) + 1))
        cols = ["rank", "column", "alert_count", "n_chunks"]
        if single is not None:
            out["drift_method"] = single
            cols.append("drift_method")
        return out[cols].reset_index(drop=True)

    drop, metric_name = _performance_drop(performance_result, metric, segment)
    _check_chunking(drift, drop.attrs["chunk_keys"], partial=segment is not None)

    rows = []
    for col in columns:
        best = None
        for m, g in drift[drift["column"] == col].groupby("metric", sort=True):
            x = pd.to_numeric(g["value"], errors="coerce").astype(float)
            x.index = pd.MultiIndex.from_frame(g[KEY])
            rho, r, n, note = _correlate(x, drop.reindex(x.index))
            cand = (m, rho, r, n, note)
            if best is None or (np.isnan(best[1]) and not np.isnan(rho)) or not np.isnan(rho) and abs(rho) > abs(best[1]):
                best = cand
        assert best is not None, "every column is one of the drift rows', so it has a metric"
        m, rho, r, n, note = best
        a = alerts.loc[col] if col in alerts.index else None
        rows.append(
            {
                "column": col,
                "drift_method": m,
                "correlation": rho,
                "pearson": r,
                "alert_count": int(a["alert_count"]) if a is not None else 0,
                "n_chunks": n,
                "performance_metric": metric_name,
                "note": note,
            }
        )
    out = pd.DataFrame(rows)
    out["note"] = out["note"].astype(object)
    key = "correlation"
    if sensitivity is not None:
        weights = pd.Series(sensitivity, dtype=float)
        out["sensitivity"] = out["column"].map(weights).fillna(0.0).astype(float)
        out["impact"] = out["correlation"] * out["sensitivity"]
        key = "impact"
    out["_nan"] = out[key].isna()
    out = out.sort_values(
        ["_nan", key, "alert_count", "column"], ascending=[True, False, False, True], kind="stable"
    )
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    cols = ["rank", "column", "drift_method", "correlation", "pearson", "alert_count", "n_chunks",
            "performance_metric"]
    if sensitivity is not None:
        cols += ["sensitivity", "impact"]
    return out[cols + ["note"]].reset_index(drop=True)


def prediction_sensitivity(
    reference: pd.DataFrame, y_pred_proba: str, columns: list[str] | None = None
) -> pd.Series:
    """How much the model's output moves with each column, in [0, 1].

    Numeric columns: absolute Spearman correlation with ``y_pred_proba``.
    Other columns: the correlation ratio (eta) of the ranked predictions over
    the categories. NaN values are dropped pairwise; a column with fewer than
    3 usable rows or no variation gets 0. A pandas DataFrame is expected.
    """
    if not isinstance(reference, pd.DataFrame):
        raise InvalidConfiguration(f"reference must be a pandas DataFrame; got {type(reference).__name__}")
    if y_pred_proba not in reference.columns:
        raise InvalidConfiguration(f"{y_pred_proba!r} is not in the reference data; it has {list(reference.columns)}")
    if columns is None:
        columns = [c for c in reference.columns if c != y_pred_proba]
    out = {}
    for c in columns:
        if c not in reference.columns:
            raise InvalidConfiguration(f"{c!r} is not in the reference data; it has {list(reference.columns)}")
        both = reference[[c, y_pred_proba]].dropna()
        x, p = both[c], both[y_pred_proba].astype(float)
        if len(both) < MIN_PAIRS or x.nunique() < 2 or p.nunique() < 2:
            out[c] = 0.0
        elif pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            out[c] = float(abs(_spearman(x.astype(float), p)))
        else:
            ranks = p.rank()
            groups = ranks.groupby(x.astype(str))
            between = float((groups.size() * (groups.mean() - ranks.mean()) ** 2).sum())
            total = float(((ranks - ranks.mean()) ** 2).sum())
            out[c] = float(np.sqrt(between / total)) if total > 0 else 0.0
    return pd.Series(out, dtype=float, name="sensitivity")


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy import stats

    return float(stats.spearmanr(x, y)[0])
