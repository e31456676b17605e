"""`Report`: what a `Monitor` run found, as a table, a verdict, figures and one HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # plotly is imported when a figure is drawn
    import plotly.graph_objects as go

from seismo.engine.result import Result
from seismo.monitor.calculators import (
    CONCEPT_SHIFT,
    DATA_QUALITY,
    ESTIMATED_PERFORMANCE,
    MULTIVARIATE,
    REALIZED_PERFORMANCE,
    of_kind,
)
from seismo.monitor.decomposition import decompose
from seismo.monitor.decomposition import summary_lines as why_lines
from seismo.monitor.segment_summary import beyond, summary_lines

UNRELIABLE = ("low", "none")  # estimators' trust levels reported as "estimate unreliable here"
WITHHELD = "none"  # ... and the level whose estimate is no judgment at all: "cannot judge performance here"
CANNOT_JUDGE = "cannot judge performance here"
TOP_DRIFT = 3


def _chunk_label(row: pd.Series) -> str:
    if pd.notna(row.get("chunk_start_date")):
        return pd.Timestamp(row["chunk_start_date"]).strftime("%Y-%m-%d")
    return str(row["chunk_key"])


def cannot_judge(estimated: pd.DataFrame) -> pd.DataFrame:
    """Analysis chunks where nothing judges performance: the estimate has ``trust`` "none" and no
    label gives a realized value. One row each: chunk_index, chunk (its label), trust_reason, and
    ``estimate_alerts`` (whether the unbelievable estimate crosses a threshold there).

    ``estimated``: an estimator's tidy rows (``Result.to_df()``, or the stored rows). Such a chunk
    counts as a performance alert (`Report.summary`, ``seismo run --fail-on performance``): an
    estimate that cannot be believed must never quietly stand for "no alert".
    """
    columns = ["chunk_index", "chunk", "trust_reason", "estimate_alerts"]
    if "segment" in estimated.columns:  # the overall rows judge the model; a segment's are its own (docs/segments.md)
        estimated = estimated[estimated["segment"].isna()]
    if "trust" not in estimated.columns or estimated.empty:
        return pd.DataFrame(columns=columns)
    df = estimated[estimated["period"] == "analysis"]
    realized = df["realized"] if "realized" in df.columns else pd.Series(float("nan"), index=df.index)
    by_chunk = df.assign(_none=df["trust"] == WITHHELD, _labelled=realized.notna(),
                         _alert=df["alert"].astype(bool)).groupby("chunk_index", sort=True)
    flags = by_chunk[["_none", "_labelled", "_alert"]].any()
    chunks = flags.index[flags["_none"] & ~flags["_labelled"]]
    first = by_chunk.head(1).set_index("chunk_index").loc[chunks]
    return pd.DataFrame({"chunk_index": chunks,
                         "chunk": [_chunk_label(r) for _, r in first.iterrows()],
                         "trust_reason": first["trust_reason"].to_numpy(),
                         "estimate_alerts": flags.loc[chunks, "_alert"].to_numpy()}, columns=columns)


class Report:
    """The results of one run, in the order a reader needs them: performance first.

    Segments (``Monitor(segments=...)``): every verdict, count, ranking and figure reads the
    overall rows (``segment`` None), so declaring segments changes none of them; the segments
    have a part of their own (`seismo.monitor.segment_summary`), in `summary` and in the page.

    ``late_rows``: rows an incremental run skipped because they are older than the rows it had
    already processed (`Monitor.run`); the summary counts them.
    """

    late_rows: int = 0

    def __init__(self, results: dict[str, Result], ranking: pd.DataFrame, settings: dict[str, Any],
                 top_features: pd.DataFrame | None = None):
        self.results = results
        self.ranking = ranking
        self.settings = settings
        self.top_features = top_features
        # segment discovery of the latest alerting chunk (`Monitor.run`; `seismo.monitor.discovery`)
        self.discovery: pd.DataFrame = pd.DataFrame()

    def to_df(self) -> pd.DataFrame:
        """Every result's tidy rows, with the calculator that produced them."""
        frames = [r.to_df().assign(calculator=name) for name, r in self.results.items()]
        df = pd.concat(frames, ignore_index=True, sort=False)
        return df[["calculator", *[c for c in df.columns if c != "calculator"]]]

    def alerts(self, *, segments: bool = False) -> pd.DataFrame:
        """Alerting analysis rows, performance first, then drift, then data quality: the overall
        rows, and with ``segments=True`` every segment's rows too (their ``segment`` says whose)."""
        df = self.to_df()
        df = df[(df["period"] == "analysis") & df["alert"]]
        if not segments and "segment" in df.columns:
            df = df[df["segment"].isna()]
        order = {name: i for i, name in enumerate(self.results)}
        return df.sort_values(["calculator", "chunk_index"], key=lambda s: s.map(order) if s.name == "calculator" else s,
                              kind="stable").reset_index(drop=True)

    def _first_alert(self, name: str, worse: bool) -> tuple[str, str] | None:
        """First analysis chunk where a performance result alerts on the worse (or better) side,
        and the metrics alerting there. Confusion cells have no direction and are left out."""
        if name not in self.results:
            return None
        df = self.results[name].filter(period="analysis", overall_only=True).to_df()
        if "trust" in df.columns:  # an estimate without any support is reported as such, not as a drop
            df = df[df["trust"] != WITHHELD]
        hits = df[beyond(df, worse)]
        if hits.empty:
            return None
        first = hits.sort_values("chunk_index").iloc[0]
        metrics = list(dict.fromkeys(hits.loc[hits["chunk_index"] == first["chunk_index"], "metric"]))
        more = f" and {len(metrics) - 3} more" if len(metrics) > 3 else ""
        caveat = "; low trust there" if first.get("trust") in UNRELIABLE else ""
        return _chunk_label(first), ", ".join(metrics[:3]) + more + caveat

    def unreliable(self) -> pd.DataFrame:
        """Analysis chunks whose estimate has ``trust`` low or none: chunk, trust and reason, one row each."""
        columns = ["chunk_index", "chunk_key", "trust", "trust_reason"]
        result = self.results.get(ESTIMATED_PERFORMANCE.name)
        if result is None:
            return pd.DataFrame(columns=columns)
        df = result.filter(period="analysis", overall_only=True).to_df()
        if "trust" not in df.columns:
            return pd.DataFrame(columns=columns)
        weak = df[df["trust"].isin(UNRELIABLE)].drop_duplicates("chunk_index").sort_values("chunk_index")
        weak = weak.assign(chunk_key=[_chunk_label(r) for _, r in weak.iterrows()])
        return weak[columns].reset_index(drop=True)

    def cannot_judge(self) -> pd.DataFrame:
        """Analysis chunks where performance cannot be judged (see `cannot_judge`)."""
        result = self.results.get(ESTIMATED_PERFORMANCE.name)
        return cannot_judge(result.to_df() if result is not None else pd.DataFrame())

    def _analysis_chunks(self) -> int:
        estimated = self.results[ESTIMATED_PERFORMANCE.name]
        return int(estimated.filter(period="analysis", overall_only=True).to_df()["chunk_index"].nunique())

    def _cannot_judge_line(self) -> str | None:
        """The chunks no estimate or label judges, with the first one's reason: an alert, never silence."""
        blind = self.cannot_judge()
        if blind.empty:
            return None
        n = self._analysis_chunks()
        span = blind["chunk"].iloc[0] + (f" to {blind['chunk'].iloc[-1]}" if len(blind) > 1 else "")
        crossing = int(blind["estimate_alerts"].sum())
        also = (f"; the estimate, not to be believed there, crosses its threshold in {crossing}"
                if crossing else "")
        return (f"{CANNOT_JUDGE}: {span} ({len(blind)} of {n} analysis chunks, estimate trust none, no labels; "
                f"{blind['chunk'].iloc[0]}: {blind['trust_reason'].iloc[0]}{also})")

    def _unreliable_line(self) -> str | None:
        weak = self.unreliable()
        if weak.empty:
            return None
        n = self._analysis_chunks()
        worst = weak[weak["trust"] == "none"].iloc[0] if (weak["trust"] == "none").any() else weak.iloc[0]
        span = weak["chunk_key"].iloc[0] + (f" to {weak['chunk_key'].iloc[-1]}" if len(weak) > 1 else "")
        return (f"estimate unreliable here: {span} ({len(weak)} of {n} analysis chunks; "
                f"{worst['chunk_key']}: {worst['trust_reason']})")

    def summary(self) -> str:
        """A short plain-text verdict: when performance dropped, and the drift most likely behind it.

        A chunk whose estimate has ``trust`` "none" (and no realized value) is no judgment either
        way: it is reported as "cannot judge performance here", with the reason, and counts as a
        performance alert; its estimate's own crossing is not reported as a drop. "low" chunks
        alert as usual, marked "low trust there". Both are listed as "estimate unreliable here".

        Everything above reads the overall rows; with segments a "Segments" part follows, after
        a blank line (`seismo.monitor.segment_summary.summary_lines`).
        """
        lines = []
        top = [c for c in self.ranking["column"].head(TOP_DRIFT)] if len(self.ranking) else []
        drifted = self.ranking[self.ranking.get("alert_count", pd.Series(dtype=float)) > 0] if len(self.ranking) else self.ranking
        likely = [c for c in top if c in set(drifted["column"])] or top
        for name, how in ((spec.name, "estimated" if spec.estimated else "measured") for spec in of_kind("performance")):
            start = self._first_alert(name, worse=True)
            if start:
                lines.append(f"performance {how} to drop beyond its threshold from {start[0]} on ({start[1]})"
                             + (f"; most correlated drift: {', '.join(likely)}" if likely else ""))
            better = self._first_alert(name, worse=False)
            if better:
                lines.append(f"performance {how} to improve beyond its threshold from {better[0]} on ({better[1]})")
        unreliable = self._unreliable_line()
        blind = self._cannot_judge_line()
        if not lines and not blind:
            lines.append("no performance alert" + (" where the estimate is reliable" if unreliable else "")
                         + (f"; drifting columns: {', '.join(likely)}" if len(drifted) else ""))
        if blind:
            lines.append(blind + (f"; most correlated drift: {', '.join(likely)}" if likely else ""))
        if unreliable:
            lines.append(unreliable)
        lines += self._concept_lines()
        for name in MULTIVARIATE:
            if name not in self.results:
                continue
            alerts = self.results[name].filter(overall_only=True).alerts()
            if len(alerts):
                first = alerts.sort_values("chunk_index").iloc[0]
                lines.append(f"{name.replace('_', ' ')} alerts from {_chunk_label(first)} on")
        quality = self.results.get(DATA_QUALITY.name)
        if quality is not None:
            problems = quality.filter(overall_only=True).alerts()
            rates = problems[problems["metric"].str.endswith("_rate")]
            if len(rates):
                pairs = sorted({f"{c} ({m.removesuffix('_rate').replace('_', ' ')})" for c, m in zip(rates["column"], rates["metric"])})
                lines.append(f"data quality: {', '.join(pairs)}")
            empty = problems[(problems["metric"] == "row_count") & (problems["value"] == 0)]
            if len(empty):
                keys = list(dict.fromkeys(empty.sort_values("chunk_index")["chunk_key"].astype(str)))
                lines.append(f"no rows at all in {len(keys)} chunk(s): {', '.join(keys[:5])}"
                             + (" ..." if len(keys) > 5 else ""))
        if self.late_rows:
            lines.append(f"{self.late_rows:,} late rows not processed (older than the rows already processed)")
        lines += self._discovery_lines()
        segments = summary_lines(self.results)
        return "\n".join(lines + ([""] + segments if segments else []))

    def decomposition(self) -> pd.DataFrame:
        """Each labelled analysis chunk's change in realized performance from the reference, per metric, split
        into a covariate part, a concept part and a remainder, each with its sampling error
        (`seismo.monitor.decomposition`); empty unless the run has an estimate and `ConceptShift` results."""
        return decompose(self.results)

    def _concept_lines(self) -> list[str]:
        """Concept-shift alerts, then why realized performance dropped where it did (the decomposition)."""
        lines = []
        concept = self.results.get(CONCEPT_SHIFT.name)
        if concept is not None:
            alerts = concept.filter(period="analysis", overall_only=True).alerts()
            if len(alerts):
                first = alerts.sort_values("chunk_index").iloc[0]
                metrics = list(dict.fromkeys(alerts.loc[alerts["chunk_index"] == first["chunk_index"], "metric"]))
                weak = alerts["trust"].isin(UNRELIABLE) if "trust" in alerts.columns else pd.Series(False)
                caveat = ""
                if weak.any():
                    low = alerts[weak].sort_values("chunk_index")
                    caveat = (f"; low trust in {low['chunk_index'].nunique()} of {alerts['chunk_index'].nunique()} "
                              f"alerting chunk(s) ({_chunk_label(low.iloc[0])}: {low['trust_reason'].iloc[0]})")
                lines.append(f"concept shift from {_chunk_label(first)} on ({', '.join(metrics[:3])}"
                             f"{' and more' if len(metrics) > 3 else ''}): the relation between the features and "
                             f"the target changed, which retraining addresses{caveat}")
        drops = None
        realized = self.results.get(REALIZED_PERFORMANCE.name)
        if realized is not None:
            df = realized.filter(period="analysis", overall_only=True).to_df()
            drops = sorted(set(df.loc[beyond(df, worse=True), "chunk_index"]))
        return lines + why_lines(self.results, drops)

    def _discovery_lines(self) -> list[str]:
        """Where the latest alerting chunk's drop is, in a few readable rules (`seismo.discover_segments`)."""
        found = getattr(self, "discovery", None)
        if found is None or found.empty:
            return []
        lines = [f"Where performance fell in chunk {found['chunk_key'].iloc[0]} (segment discovery; rules over the "
                 "features, each with its share of the rows and its accuracy or loss, reference -> chunk):"]
        for _, row in found.iterrows():
            lines.append(f"- {row['rule']}: {row['share_reference']:.0%} -> {row['share_chunk']:.0%} of rows, "
                         f"{row['performance_reference']:.3g} -> {row['performance_chunk']:.3g}; "
                         f"explains {row['share_of_change']:.0%} of the change (z {row['z']:.1f})")
        return lines

    def plot(self, calculator: str | None = None) -> go.Figure | dict[str, go.Figure]:
        """One figure per calculator (or the one named)."""
        if calculator is not None:
            return self.results[calculator].plot(title=calculator.replace("_", " "))
        return {name: r.plot(title=name.replace("_", " ")) for name, r in self.results.items()}

    def save_html(self, path: str | Path) -> Path:
        """One self-contained HTML file (plotly.js embedded once) with aggregated statistics only."""
        from seismo.monitor.html import render

        path = Path(path)
        path.write_text(render(self), encoding="utf-8")
        return path
