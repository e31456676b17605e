"""The one-file HTML report: plotly.js embedded once, aggregated statistics only.

Sections follow the reader's questions: is the model in trouble (verdict,
performance), did the concept change (concept shift, when run), why did performance
change (its split into covariate shift, concept shift and a remainder, when labels and
concept shift allow it), why (ranked drift, multivariate drift), is the data broken
(data quality), where (segments, when declared), and how was this computed (settings).
Quiet columns are collapsed so a report on 50 features stays readable.

Every section but "Segments" draws the overall rows (``segment`` None): declaring
segments leaves them as they were. The segments section shows one segment's
performance figure at a time, picked in a ``<select>``; every figure is in the
page already (the file stays self-contained, nothing is fetched), and a few lines
of inline script show the chosen one and size it to the page.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING

import pandas as pd

from seismo.metrics.registry import METRICS
from seismo.monitor import segment_summary
from seismo.monitor.calculators import (
    CONCEPT_SHIFT,
    DATA_QUALITY,
    MULTIVARIATE,
    PERFORMANCE,
    REALIZED_PERFORMANCE,
    UNIVARIATE_DRIFT,
    of_kind,
)
from seismo.monitor.decomposition import headline_metric

if TYPE_CHECKING:  # pragma: no cover
    from seismo.engine.result import Result
    from seismo.monitor.report import Report

TOP_COLUMNS = 8
FEW_CHUNKS = 12  # up to this many labelled chunks the "why" table lists them all; past it, the drops only
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;color:#222}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
.verdict{background:#fff4f4;border-left:4px solid #d62728;padding:.8rem 1rem;white-space:pre-line}
.verdict.ok{background:#f3fbf3;border-left-color:#2ca02c}
.cannot-judge{background:#fff4f4;border-left:4px solid #d62728;padding:.5rem 1rem}
table{border-collapse:collapse;font-size:.9rem;margin:.6rem 0}td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left}
th{background:#f6f6f6}details{margin:.6rem 0}summary{cursor:pointer;color:#555}
.segment-pick{margin:.8rem 0}.segment-pick select{font-size:1rem;padding:.2rem .4rem}
"""
# shows the chosen segment's panel, hides the others, and sizes its figure to the now visible panel
SEGMENT_SCRIPT = """
(function(){var pick=document.getElementById('segment-select');if(!pick)return;
function show(){var panels=document.querySelectorAll('.segment-panel');for(var i=0;i<panels.length;i++){
var on=panels[i].getAttribute('data-index')===pick.value;panels[i].hidden=!on;
var gd=panels[i].querySelector('.js-plotly-plot');if(on&&gd&&window.Plotly){Plotly.Plots.resize(gd);}}}
pick.addEventListener('change',show);show();})();
"""


def escape(text: object) -> str:
    """``text`` as HTML text: every value a report shows (column names, categories, reasons) comes from data."""
    return html.escape(str(text))


def plotly_js() -> str:
    """plotly.js itself, embedded once so the file opens offline (plotly is imported only here)."""
    import plotly.offline

    return plotly.offline.get_plotlyjs()


def _table(df: pd.DataFrame) -> str:
    if df is None or df.empty:
        return "<p>nothing to show</p>"
    head = "".join(f"<th>{escape(c)}</th>" for c in df.columns)
    rows = []
    for values in df.itertuples(index=False):
        cells = "".join(f"<td>{escape(_fmt(v))}</td>" for v in values)
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.4g}"
    return "" if value is None else str(value)


def _figure(fig) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})


def _drift_section(report: "Report") -> str:
    drift = report.results.get(UNIVARIATE_DRIFT.name)
    ranking = report.ranking
    if drift is None:
        return ""
    shown = list(ranking["column"].head(TOP_COLUMNS)) if len(ranking) else []
    parts = ["<h2>Drift, ranked by how closely it tracks performance</h2>", _table(ranking)]
    if shown:
        methods = drift.filter(overall_only=True).to_df()
        chosen = []
        for column in shown:
            row = ranking[ranking["column"] == column].iloc[0]
            method = row.get("drift_method") if "drift_method" in ranking.columns else None
            if not isinstance(method, str):
                method = methods.loc[methods["column"] == column, "metric"].iloc[0]
            chosen.append((column, method))
        df = methods[pd.Series(list(zip(methods["column"], methods["metric"]))).isin(chosen).to_numpy()]
        from seismo.monitor.plotting import plot_result

        parts.append(_figure(plot_result(df, title=f"top {len(shown)} columns", max_panels=TOP_COLUMNS)))
    quiet = [c for c in ranking["column"] if c not in shown]
    if quiet:
        parts.append(f"<details><summary>{len(quiet)} more columns (quieter)</summary>"
                     f"<p>{escape(', '.join(quiet))}</p></details>")
    return "".join(parts)


def _quality_section(report: "Report") -> str:
    quality = report.results.get(DATA_QUALITY.name)
    if quality is None:
        return ""
    alerts = quality.filter(overall_only=True).alerts()
    parts = ["<h2>Data quality</h2>"]
    if alerts.empty:
        parts.append("<p>No data-quality alert.</p>")
        return "".join(parts)
    columns = list(dict.fromkeys(alerts["column"].dropna()))
    metrics = list(dict.fromkeys(alerts["metric"]))
    parts.append(_figure(quality.filter(columns=columns, metrics=metrics).plot(title="alerting data-quality statistics")))
    summary = alerts.groupby(["column", "metric"]).size().rename("alerting chunks").reset_index()
    parts.append(f"<details><summary>{len(summary)} alerting column × statistic pairs</summary>"
                 f"{_table(summary)}</details>")
    return "".join(parts)


def _unreliable_section(report: "Report") -> str:
    """The chunks whose estimate is not to be trusted (grey markers in the figure), with the reasons."""
    weak = report.unreliable()
    if weak.empty:
        return ""
    table = weak.rename(columns={"chunk_key": "chunk", "trust_reason": "why"}).drop(columns="chunk_index")
    blind = report.cannot_judge()
    alert = ("" if blind.empty else
             f"<p class='cannot-judge'><strong>Cannot judge performance here</strong> in {len(blind)} chunk"
             f"{'s' if len(blind) > 1 else ''} ({escape(', '.join(blind['chunk']))}): the estimate has trust "
             "none and no label gives a realized value. Counted as a performance alert.</p>")
    return (f"{alert}<details open class='unreliable'><summary>Estimate unreliable in {len(weak)} chunk"
            f"{'s' if len(weak) > 1 else ''} (grey markers)</summary>{_table(table)}</details>")


def _labels_of(result: "Result") -> set[str]:
    df = result.to_df()
    return set(df["segment"].dropna().astype(str)) if "segment" in df.columns else set()


def segment_table(report: "Report") -> pd.DataFrame:
    """One row per segment: its analysis rows, where its thresholds come from, its alerting chunks
    of each performance calculator, and its drift and data-quality alerts."""
    results = report.results
    performance = [(spec, results[spec.name]) for spec in of_kind("performance") if spec.name in results]
    counts = segment_summary.alert_counts(results).set_index("segment")
    rows = []
    for label in segment_summary.labels(results):
        row: dict[str, object] = {"segment": label}
        for spec, result in performance:
            df = (result.filter(period="analysis", segments=label).to_df() if label in _labels_of(result)
                  else pd.DataFrame(columns=["chunk_index", "alert"]))
            if "analysis rows" not in row and "segment_rows" in df.columns:
                row["analysis rows"] = int(df.drop_duplicates("chunk_index")["segment_rows"].sum())
                row["thresholds"] = ", ".join(sorted(df["segment_thresholds"].dropna().astype(str).unique()))
            how = "estimated" if spec.estimated else "realized"
            row[f"{how} alerting chunks"] = int(df.loc[df["alert"].astype(bool), "chunk_index"].nunique())
        row["drift alerts"] = int(counts.loc[label, "drift"])
        row["data-quality alerts"] = int(counts.loc[label, "quality"])
        rows.append(row)
    return pd.DataFrame(rows)


def _concept_section(report: "Report") -> str:
    """Concept shift (`seismo.ConceptShift`): its impact on each metric and its magnitude, per labelled chunk."""
    concept = report.results.get(CONCEPT_SHIFT.name)
    if concept is None:
        return ""
    return (f"<h2 id='concept-shift'>{escape(CONCEPT_SHIFT.title.capitalize())}</h2>"
            "<p>Did the relation between the features and the target change? Per labelled chunk, each metric's "
            "<em>impact</em>: the change the chunk's concept (learned from its labels) causes on the reference's "
            "inputs, 0 where the concept is the reference's; <em>magnitude</em>: how far the chunk's concept is from "
            "the reference's, whatever it costs. Grey markers: too few labelled rows to trust the chunk's concept "
            "model. Chunks without labels have no value.</p>"
            + _figure(concept.plot(title=f"{CONCEPT_SHIFT.title}: impact on each metric, and magnitude")))


def _realized_drops(report: "Report") -> set[int] | None:
    """The analysis chunks whose realized performance dropped beyond its threshold (any metric), as the
    summary's "why" lines count them; None without realized performance."""
    realized = report.results.get(REALIZED_PERFORMANCE.name)
    if realized is None:
        return None
    df = realized.filter(period="analysis", overall_only=True).to_df()
    return {int(i) for i in df.loc[segment_summary.beyond(df, worse=True), "chunk_index"]}


def _why_section(report: "Report") -> str:
    """Why performance changed: the headline metric's decomposition (`Report.decomposition`) as a figure over
    time and a table of the chunks where realized performance dropped (all labelled chunks when few)."""
    table = report.decomposition()
    metric = headline_metric(table) if len(table) else None
    if metric is None:
        return ""
    from seismo.monitor.decomposition_plot import cause_table, plot_decomposition

    rows = cause_table(table, metric, _realized_drops(report))
    labelled = len(rows)
    others = sorted(set(table["metric"]) - {metric})
    parts = ["<h2 id='why'>Why performance changed</h2>",
             f"<p>Each labelled chunk's change in realized {escape(metric)} from the reference, split into three "
             "parts that add up to it: <strong>covariate</strong> shift (the label-free estimate's change: the inputs "
             "moved to where the model is stronger or weaker), <strong>concept</strong> shift (the concept-shift "
             "impact: the relation between the features and the target changed, which retraining addresses) and a "
             "<strong>remainder</strong> (the two shifts' interaction, and noise). Error bars and ± are 3 sampling "
             "errors; a part is a cause only when clear of its noise."
             + (f" The other metrics ({escape(', '.join(others))}): <code>Report.decomposition()</code>." if others
                else "") + "</p>",
             _figure(plot_decomposition(table, metric))]
    if labelled > FEW_CHUNKS and "dropped" in rows.columns:
        shown = rows[rows["dropped"] == "yes"].drop(columns="dropped")
        if shown.empty:
            parts.append(f"<p>Realized performance dropped beyond its threshold in none of the {labelled} labelled "
                         "chunks.</p>")
            return "".join(parts)
        caption = (f"The {len(shown)} of {labelled} labelled chunks where realized performance dropped beyond its "
                   f"threshold ({escape(metric)}, each part ± 3 SE)")
    else:
        shown = rows
        caption = (f"All {labelled} labelled chunk{'s' if labelled > 1 else ''} ({escape(metric)}, each part ± 3 SE"
                   + ("; dropped: realized performance dropped beyond its threshold there" if "dropped" in rows.columns
                      else "") + ")")
    parts.append(f"<p>{caption}:</p>{_table(shown)}")
    return "".join(parts)


def _discovery_section(report: "Report") -> str:
    """Where performance fell: segment discovery of the latest alerting chunk (`Report.discovery`)."""
    found = getattr(report, "discovery", None)
    if found is None or found.empty:
        return ""
    return (f"<h2 id='discovery'>Where performance fell in chunk {escape(str(found['chunk_key'].iloc[0]))}</h2>"
            "<p>Segment discovery: the rules over the features that explain most of the chunk's drop, each "
            "against its own reference rows (performance: accuracy for a classifier, the mean loss for a "
            "regressor), without labels unless the run had them.</p>"
            + _table(found.drop(columns="chunk_key").round(4)))


def _segments_section(report: "Report") -> str:
    """Segments: a table, the overview of (estimated) performance per segment, and a picker of one
    segment's performance figure. Nothing at all when no segments were declared."""
    results = report.results
    labels = segment_summary.labels(results)
    if not labels:
        return ""
    from seismo.monitor.plotting import plot_segments

    parts = ["<h2 id='segments'>Segments</h2>",
             f"<p>{len(labels)} segments. Each is monitored on its own rows, against thresholds from its own "
             "reference rows (or the overall ones where marked borrowed); the sections above read the overall "
             "rows only.</p>", _table(segment_table(report))]
    spec = next((s for s in sorted(of_kind("performance"), key=lambda s: not s.estimated)
                 if s.name in results and _labels_of(results[s.name])), None)
    if spec is None:
        return "".join(parts)
    result = results[spec.name]
    metric = segment_summary.headline(result.filter(period="analysis").to_df()["metric"])
    if metric is not None:
        parts.append(_figure(plot_segments(result, metric, title=f"{spec.title}: {metric} by segment")))
    present = _labels_of(result)
    shown = [label for label in labels if label in present]
    drops = segment_summary.performance_drops(result).set_index("segment")["alerting"]
    options = "".join(
        f"<option value='{i}'>{escape(label)}"
        f"{f' ({drops[label]} alerting chunks)' if label in drops.index else ''}</option>"
        for i, label in enumerate(shown))
    parts.append(f"<div class='segment-pick'><label for='segment-select'>{escape(spec.title.capitalize())} of "
                 f"segment </label><select id='segment-select'>{options}</select></div>")
    directed = [m for m in dict.fromkeys(result.to_df()["metric"])
                if m in METRICS and METRICS[m].higher_is_better is not None]  # confusion cells: the overall figure
    for i, label in enumerate(shown):
        rows = result.filter(metrics=directed) if directed else result
        figure = _figure(rows.plot(segment=label, title=f"{spec.title}: {_plotly_label(label)}"))
        parts.append(f"<div class='segment-panel' data-index='{i}'{'' if i == 0 else ' hidden'}>{figure}</div>")
    parts.append(f"<script>{SEGMENT_SCRIPT}</script>")
    return "".join(parts)


def _plotly_label(label: str) -> str:
    from seismo.monitor.plotting import plotly_text

    return str(plotly_text(pd.Series([label])).iloc[0])


def render(report: "Report") -> str:
    """The whole page as a string."""
    verdict = report.summary()
    trouble = any(len(report.results[n].filter(overall_only=True).alerts()) for n in (*PERFORMANCE, CONCEPT_SHIFT.name)
                  if n in report.results) or not report.unreliable().empty
    body = [f"<h1>seismo monitoring report</h1><p>Generated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC</p>",
            f"<div class='verdict{'' if trouble else ' ok'}'>{escape(verdict)}</div>"]
    for spec in of_kind("performance"):
        if spec.name in report.results:
            body.append(f"<h2>{escape(spec.title.capitalize())}</h2>")
            body.append(_figure(report.results[spec.name].plot(title=spec.title)))
            if spec.estimated:
                body.append(_unreliable_section(report))
    body.append(_concept_section(report))  # did the concept change, right after performance
    body.append(_why_section(report))  # ... and why performance changed: covariate, concept, remainder
    body.append(_discovery_section(report))  # where performance fell, right after that it fell
    body.append(_drift_section(report))
    multivariate = [n for n in MULTIVARIATE if n in report.results]
    if multivariate:
        body.append("<h2>Multivariate drift</h2>")
        for name in multivariate:
            body.append(_figure(report.results[name].plot(title=name.replace("_", " "))))
        if report.top_features is not None and len(report.top_features):
            body.append("<details open><summary>What changed: features separating alerting chunks from the "
                        "reference</summary>" + _table(report.top_features) + "</details>")
    body.append(_quality_section(report))
    body.append(_segments_section(report))
    settings = pd.DataFrame({"setting": list(report.settings), "value": [repr(v) for v in report.settings.values()]})
    body.append("<h2>Settings</h2>" + _table(settings))
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>seismo report</title>"
            f"<style>{STYLE}</style><script type='text/javascript'>{plotly_js()}</script></head>"
            f"<body>{''.join(body)}</body></html>")
