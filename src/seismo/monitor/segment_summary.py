"""What a run's declared segments say: the "Segments" part of `Report.summary` and of the HTML page.

Every other part of the report reads the overall rows only (``segment`` None), so a run with
``segments=`` reports its overall findings exactly as the same run without them; this module is
the one place that reads the segment rows, and it says three things:

* which segments' performance (estimated, then measured) dropped beyond their own thresholds,
  worst first: the largest gap beyond the threshold, in the metric's units;
* which segments grew beyond their share of the reference's rows (DataQuality's
  ``segment_share`` alerting on its upper side), with the segment's estimated performance
  against the overall one in the same chunk: a growing segment matters when it performs worse;
* how many drift and data-quality alerts each segment raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from seismo.engine.result import Result
from seismo.metrics.registry import METRICS, ranking_preference
from seismo.monitor.calculators import DATA_QUALITY, ESTIMATED_PERFORMANCE, MULTIVARIATE, UNIVARIATE_DRIFT, of_kind

SHARE = "segment_share"  # DataQuality's model-level metric of a segment's share of the chunk's rows
WITHHELD = "none"  # an estimate with this trust is no judgment (as in `seismo.monitor.report`)
UNRELIABLE = ("low", "none")
MAX_LISTED = 8  # segments named on one line; more are counted
MERGED = ("=(other)", "=(missing)")  # labels of merged or missing values, listed after the real segments


def labels(results: Mapping[str, Result]) -> list[str]:
    """Every segment label of the results, real segments first (sorted), then (missing)/(other)."""
    found: set[str] = set()
    for result in results.values():
        df = result.to_df()
        if "segment" in df.columns:
            found.update(str(s) for s in df["segment"].dropna().unique())
    return sorted(found, key=lambda label: (any(m in label for m in MERGED), label))


def _chunk(row: pd.Series) -> str:
    if pd.notna(row.get("chunk_start_date")):
        return pd.Timestamp(row["chunk_start_date"]).strftime("%Y-%m-%d")
    return str(row["chunk_key"])


def beyond(df: pd.DataFrame, worse: bool) -> pd.Series:
    """Rows whose value is beyond a threshold on the worse (or the better) side of its metric.

    Metrics without a direction (confusion-matrix cells) are never either."""
    better_high = df["metric"].map(lambda m: METRICS[m].higher_is_better if m in METRICS else None)
    low = df["value"] < df["lower_threshold"]
    high = df["value"] > df["upper_threshold"]
    if worse:
        return (better_high == True) & low | (better_high == False) & high  # noqa: E712 (None excluded)
    return (better_high == True) & high | (better_high == False) & low  # noqa: E712


def _gap(df: pd.DataFrame) -> pd.Series:
    """How far each worse-side row lies beyond its threshold, in the metric's units."""
    better_high = df["metric"].map(lambda m: bool(METRICS[m].higher_is_better) if m in METRICS else True)
    return (df["lower_threshold"] - df["value"]).where(better_high, df["value"] - df["upper_threshold"])


def headline(metrics: pd.Series) -> str | None:
    """The metric a summary quotes: the ranking's preferred one among ``metrics``."""
    present = set(metrics)
    return next((m for m in ranking_preference() if m in present), next(iter(dict.fromkeys(metrics)), None))


def _rows(value: Any) -> str:
    return f"{float(value):,.0f} rows" if pd.notna(value) else "rows unknown"


def performance_drops(result: Result) -> pd.DataFrame:
    """Per segment whose performance drops beyond its threshold: the worst chunk of the headline metric.

    Columns: segment, metric, chunk, value, lower_threshold, upper_threshold, gap, rows,
    alerting (chunks of that metric beyond its threshold), chunks (analysis chunks the
    segment has), overall (the overall value in the worst chunk), trust, thresholds; worst
    (largest gap) first. Estimates withheld (trust none) judge nothing and are left out.
    """
    columns = ["segment", "metric", "chunk", "value", "lower_threshold", "upper_threshold", "gap", "rows",
               "alerting", "chunks", "overall", "trust", "thresholds"]
    df = result.filter(period="analysis").to_df()
    if "segment" not in df.columns:
        return pd.DataFrame(columns=columns)
    if "trust" in df.columns:
        df = df[df["trust"] != WITHHELD]
    segs = df[df["segment"].notna()]
    hits = segs[beyond(segs, worse=True)]
    metric = headline(hits["metric"]) if len(hits) else None
    if metric is None:
        return pd.DataFrame(columns=columns)
    hits = hits[hits["metric"] == metric].assign(gap=lambda d: _gap(d))
    overall = df[df["segment"].isna() & (df["metric"] == metric)].set_index("chunk_index")["value"]
    out = []
    for label, group in hits.groupby("segment", sort=False):
        worst = group.sort_values(["gap", "chunk_index"], ascending=[False, True]).iloc[0]
        out.append({
            "segment": label, "metric": metric, "chunk": _chunk(worst), "value": float(worst["value"]),
            "lower_threshold": worst["lower_threshold"], "upper_threshold": worst["upper_threshold"],
            "gap": float(worst["gap"]), "rows": worst.get("segment_rows"),
            "alerting": int(group["chunk_index"].nunique()),
            "chunks": int(segs.loc[segs["segment"] == label, "chunk_index"].nunique()),
            "overall": float(overall.get(worst["chunk_index"], float("nan"))),
            "trust": worst.get("trust"), "thresholds": worst.get("segment_thresholds"),
        })
    return pd.DataFrame(out, columns=columns).sort_values(["gap", "segment"], ascending=[False, True],
                                                          kind="stable").reset_index(drop=True)


def _bound(value: Any) -> str:
    return f"{float(value):.4g}" if pd.notna(value) else "none"


def _drop_line(row: pd.Series) -> str:
    notes = [_rows(row["rows"]), f"overall {row['overall']:.4g}" if pd.notna(row["overall"]) else None,
             "borrowed thresholds" if row["thresholds"] == "borrowed" else None,
             "low trust" if row["trust"] in UNRELIABLE else None]
    return (f"- {row['segment']}: {row['value']:.4g} against [{_bound(row['lower_threshold'])}, "
            f"{_bound(row['upper_threshold'])}] on {row['chunk']} ({'; '.join(n for n in notes if n)}); "
            f"{row['alerting']} of {row['chunks']} chunks alert")


def share_growth(results: Mapping[str, Result]) -> pd.DataFrame:
    """Segments whose share of the chunk's rows rose above its upper threshold, at the latest such chunk.

    Columns: segment, chunk, share, reference_share (the mean over the reference chunks),
    upper_threshold, alerting (chunks above), chunks, metric, segment_value and overall_value
    (the headline metric of estimated performance, else of realized, in that chunk; NaN where
    the segment has no row there)."""
    columns = ["segment", "chunk", "share", "reference_share", "upper_threshold", "alerting", "chunks",
               "metric", "segment_value", "overall_value", "performance"]
    quality = results.get(DATA_QUALITY.name)
    if quality is None:
        return pd.DataFrame(columns=columns)
    df = quality.to_df()
    if "segment" not in df.columns or SHARE not in set(df["metric"]):
        return pd.DataFrame(columns=columns)
    shares = df[(df["metric"] == SHARE) & df["segment"].notna()]
    ana = shares[shares["period"] == "analysis"]
    grew = ana[ana["alert"].astype(bool) & (ana["value"] > ana["upper_threshold"])]
    perf_name = next((spec.name for spec in sorted(of_kind("performance"), key=lambda s: not s.estimated)
                      if spec.name in results), None)
    perf = results[perf_name].filter(period="analysis").to_df() if perf_name else pd.DataFrame()
    metric = headline(perf["metric"]) if len(perf) else None
    values = perf[perf["metric"] == metric] if metric else perf
    out = []
    for label, group in grew.groupby("segment", sort=False):
        last = group.sort_values("chunk_index").iloc[-1]
        reference = shares[(shares["period"] == "reference") & (shares["segment"] == label)]["value"]
        at = values[values["chunk_index"] == last["chunk_index"]] if metric else values
        seg = at[at["segment"] == label]["value"] if metric else pd.Series(dtype=float)
        whole = at[at["segment"].isna()]["value"] if metric else pd.Series(dtype=float)
        out.append({
            "segment": label, "chunk": _chunk(last), "share": float(last["value"]),
            "reference_share": float(reference.mean()) if len(reference) else 0.0,
            "upper_threshold": float(last["upper_threshold"]), "alerting": int(group["chunk_index"].nunique()),
            "chunks": int(ana["chunk_index"].nunique()), "metric": metric,
            "segment_value": float(seg.iloc[0]) if len(seg) else float("nan"),
            "overall_value": float(whole.iloc[0]) if len(whole) else float("nan"),
            "performance": "estimated" if perf_name == ESTIMATED_PERFORMANCE.name else "realized",
        })
    return pd.DataFrame(out, columns=columns).sort_values(["share", "segment"], ascending=[False, True],
                                                          kind="stable").reset_index(drop=True)


def _share_line(row: pd.Series) -> str:
    line = (f"- {row['segment']} grew from {row['reference_share']:.0%} of rows to {row['share']:.0%} on "
            f"{row['chunk']} (alert above {row['upper_threshold']:.0%}; {row['alerting']} of {row['chunks']} chunks)")
    if pd.notna(row["segment_value"]) and pd.notna(row["overall_value"]):
        line += (f"; its {row['performance']} {row['metric']} is {row['segment_value']:.2f} against "
                 f"{row['overall_value']:.2f} overall")
    return line


def alert_counts(results: Mapping[str, Result]) -> pd.DataFrame:
    """Drift and data-quality alerts per segment (overall first, as the yardstick).

    Columns: segment ("overall" for the overall rows), drift (alerting column × chunk cells of
    univariate drift), top_drift (its most alerting columns), multivariate (alerting chunks of
    the multivariate drift calculators), quality (alerting data-quality rows, segment shares
    left out: `share_growth` reports them)."""
    frames = {}
    for name in (UNIVARIATE_DRIFT.name, *MULTIVARIATE, DATA_QUALITY.name):
        if name in results:
            a = results[name].alerts()
            frames[name] = a[a["metric"] != SHARE] if name == DATA_QUALITY.name else a
    names = ["overall", *labels(results)]
    out = []
    for label in names:
        def of(name: str) -> pd.DataFrame:
            a = frames.get(name)
            if a is None or a.empty:
                return pd.DataFrame(columns=["column", "chunk_index", "segment"])
            seg = a["segment"] if "segment" in a.columns else pd.Series(None, index=a.index, dtype=object)
            return a[seg.isna()] if label == "overall" else a[seg == label]

        drift = of(UNIVARIATE_DRIFT.name).drop_duplicates(["column", "chunk_index"])
        top = (drift.groupby("column").size().reset_index(name="n")
               .sort_values(["n", "column"], ascending=[False, True]).head(3).set_index("column")["n"])
        out.append({"segment": label, "drift": len(drift),
                    "top_drift": ", ".join(f"{c} {n}" for c, n in top.items()),
                    "multivariate": sum(of(n)["chunk_index"].nunique() for n in MULTIVARIATE),
                    "quality": len(of(DATA_QUALITY.name))})
    return pd.DataFrame(out, columns=["segment", "drift", "top_drift", "multivariate", "quality"])


def _count_line(row: pd.Series) -> str:
    drift = f"{row['drift']} drift" + (f" ({row['top_drift']})" if row["top_drift"] else "")
    return f"- {row['segment']}: {drift}, {row['multivariate']} multivariate, {row['quality']} data quality"


def summary_lines(results: Mapping[str, Result]) -> list[str]:
    """The "Segments" part of `Report.summary`; empty when no result has segment rows."""
    names = labels(results)
    if not names:
        return []
    shown = ", ".join(names) if len(names) <= MAX_LISTED else ", ".join(names[:MAX_LISTED]) + ", ..."
    lines = [f"Segments ({len(names)}: {shown})"]
    for spec in of_kind("performance"):
        if spec.name not in results:
            continue
        drops = performance_drops(results[spec.name])
        if len(drops):
            how = "estimated" if spec.estimated else "measured"
            lines.append(f"{how} {drops['metric'].iloc[0]} drops beyond its threshold in {len(drops)} of "
                         f"{len(names)} segments, worst first:")
            lines.extend(_drop_line(row) for _, row in drops.iterrows())
    grew = share_growth(results)
    if len(grew):
        lines.append(f"{len(grew)} segment{'s' if len(grew) > 1 else ''} grew beyond {'their' if len(grew) > 1 else 'its'}"
                     " share of the reference's rows:")
        lines.extend(_share_line(row) for _, row in grew.iterrows())
    counts = alert_counts(results)
    alerting = counts[(counts["segment"] != "overall")
                      & (counts[["drift", "multivariate", "quality"]].sum(axis=1) > 0)]
    if len(alerting):
        order = alerting.assign(_total=alerting[["drift", "multivariate", "quality"]].sum(axis=1))
        order = order.sort_values(["_total", "segment"], ascending=[False, True], kind="stable")
        lines.append("alerts per segment, overall first for comparison (drift: column × chunk cells; multivariate: "
                     "chunks; data quality: column × statistic × chunk cells):")
        lines.extend(_count_line(row) for _, row in pd.concat([counts.head(1), order]).iterrows())
    elif len(counts) > 1 and any(name in results for name in (UNIVARIATE_DRIFT.name, *MULTIVARIATE, DATA_QUALITY.name)):
        lines.append("no drift or data-quality alert in any segment")
    return lines
