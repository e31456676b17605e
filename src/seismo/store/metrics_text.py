"""The results store as Prometheus / OpenMetrics text: the latest chunk's numbers and run health.

A platform team watches Prometheus and Grafana, not seismo's store; this module turns what the
store holds into the text exposition format those tools scrape (`seismo export prometheus`
writes it to a file for node-exporter's textfile collector, `seismo serve-metrics` serves it
over HTTP). It is written by hand, a few dozen lines, so the core keeps no client library as a
dependency. docs/alerts.md ("Metrics for Prometheus and Grafana") is the user's description.

What is exported, per model:

* per calculator × column × metric × segment of the **latest analysis chunk** of each
  calculator: ``seismo_value``, ``seismo_lower_threshold``, ``seismo_upper_threshold``,
  ``seismo_alert`` (0/1) and, for rows that carry one (the label-free estimates),
  ``seismo_trust`` (0 ok, 1 low, 2 none: larger is worse, so ``seismo_trust > 0`` selects the
  doubtful estimates). The chunk itself is not a label (its key changes every chunk, and a
  label that changes makes a new series each time): ``seismo_chunk_end_timestamp_seconds``
  says per calculator which chunk the numbers are of.
* run health: ``seismo_last_success_timestamp_seconds`` (when the last successful run
  finished), ``seismo_last_success_duration_seconds``, ``seismo_last_success_rows`` (result
  rows it wrote) and ``seismo_last_run_status`` (one series per status, 1 for the last run's).
* ``seismo_series_dropped``: the rows left out by the series cap below.

A number the store holds as missing (NaN, None) is left out, so the series is absent for that
scrape rather than NaN (Grafana draws a gap either way; an absent series keeps PromQL
comparisons such as ``seismo_alert == 1`` free of NaN). An infinite threshold is written
``+Inf``/``-Inf``, as the format allows.

Bounds, so that a hostile or huge store cannot flood a Prometheus server: every label value
is at most `MAX_LABEL_LENGTH` characters (a longer one keeps its start and ends in ``~`` and 8
hex digits of its SHA-1, so two long values that share a start stay two series), and at most
`max_series` rows (label sets) per model are exported. The rows kept are the overall ones
before the segments', then in calculator order (performance first, as a report shows them),
column, metric and segment: the same rows on every scrape, never a different sample of them.
Label values are escaped as the format says: backslash, double quote and newline.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from seismo.monitor.calculators import CALCULATORS
from seismo.store.results_store import ResultsStore

MAX_LABEL_LENGTH = 200
MAX_SERIES = 10_000  # rows (label sets) per model; each row gives up to five samples
TRUST_LEVELS = {"ok": 0, "low": 1, "none": 2}
RUN_STATUSES = ("succeeded", "failed", "running")
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: every metric family written, in the order written: name -> help text
FAMILIES: dict[str, str] = {
    "seismo_value": "The latest analysis chunk's value of a calculator's metric (per column and segment).",
    "seismo_lower_threshold": "The lower alert threshold of that value; absent when there is none.",
    "seismo_upper_threshold": "The upper alert threshold of that value; absent when there is none.",
    "seismo_alert": "1 when that value alerts (outside its thresholds), else 0.",
    "seismo_trust": "Trust in a label-free estimate: 0 ok, 1 low, 2 none (cannot be believed).",
    "seismo_chunk_end_timestamp_seconds": "End of the latest analysis chunk a calculator's numbers are of.",
    "seismo_last_success_timestamp_seconds": "When the last successful run of the model finished.",
    "seismo_last_success_duration_seconds": "How long the last successful run of the model took.",
    "seismo_last_success_rows": "Result rows the last successful run of the model wrote.",
    "seismo_last_run_status": "1 for the status of the model's last run (succeeded, failed or running), else 0.",
    "seismo_series_dropped": "Result rows of the model's latest chunks left out by the series cap.",
}
ROW_LABELS = ("model", "calculator", "column", "metric", "segment")


def escape(value: str) -> str:
    """A label value as the exposition format writes it between double quotes."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def bounded(value: str, limit: int = MAX_LABEL_LENGTH) -> str:
    """``value`` cut to ``limit`` characters; a cut one ends in ``~`` and a hash of the whole, so
    that two long values that share their start are still two label values."""
    if len(value) <= limit:
        return value
    digest = hashlib.sha1(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{value[: limit - 9]}~{digest}"


def number(value: float) -> str:
    """A sample value as the format writes it (``+Inf``, ``-Inf``, ``NaN``, else Python's repr)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _seconds(value: Any) -> float | None:
    """A naive-UTC store time (or a pandas one) as unix seconds; None when missing."""
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.timestamp()


def _number_or_none(value: Any) -> float | None:
    """The value as a float, None when missing (it is then not exported)."""
    if value is None or pd.isna(value):
        return None
    return float(value)


@dataclass
class Samples:
    """The samples of every family, kept apart so that each family is written in one block."""

    families: dict[str, list[tuple[dict[str, str], float]]] = field(
        default_factory=lambda: {name: [] for name in FAMILIES})

    def add(self, family: str, labels: dict[str, str], value: float | None) -> None:
        if value is not None:
            self.families[family].append(({k: bounded(v) for k, v in labels.items()}, value))

    def text(self) -> str:
        """OpenMetrics text (``# EOF`` at the end), also read by Prometheus' own text parser."""
        lines: list[str] = []
        for name, help_text in FAMILIES.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            for labels, value in self.families[name]:
                inner = ",".join(f'{key}="{escape(text)}"' for key, text in labels.items())
                lines.append(f"{name}{{{inner}}} {number(value)}")
        lines.append("# EOF")
        return "\n".join(lines) + "\n"


def latest_rows(results: pd.DataFrame) -> pd.DataFrame:
    """The analysis rows of each calculator's latest chunk (largest chunk_index)."""
    analysis = results[results["period"] == "analysis"]
    if analysis.empty:
        return analysis
    last = analysis.groupby("calculator")["chunk_index"].transform("max")
    return analysis[analysis["chunk_index"] == last]


def _kept(rows: pd.DataFrame, max_series: int) -> tuple[pd.DataFrame, int]:
    """At most ``max_series`` rows, the same ones on every call, and how many were left out."""
    if len(rows) <= max_series:
        return rows, 0
    order = {name: i for i, name in enumerate(CALCULATORS)}
    keys = pd.DataFrame({
        "segmented": rows["segment"].notna() if "segment" in rows.columns else False,
        "calculator": [order.get(c, len(order)) for c in rows["calculator"]],
        "name": rows["calculator"].astype(str),
        "column": rows["column"].fillna("").astype(str),
        "metric": rows["metric"].astype(str),
        "segment": rows["segment"].fillna("").astype(str) if "segment" in rows.columns else "",
    }, index=rows.index)
    ordered = keys.sort_values(list(keys.columns), kind="stable").index
    return rows.loc[ordered[:max_series]], len(rows) - max_series


def _add_results(samples: Samples, model: str, results: pd.DataFrame, max_series: int) -> None:
    rows = latest_rows(results)
    rows, dropped = _kept(rows, max_series)
    samples.add("seismo_series_dropped", {"model": model}, float(dropped))
    has_trust = "trust" in rows.columns
    has_segment = "segment" in rows.columns
    for row in rows.itertuples(index=False):
        column = getattr(row, "column")
        segment = getattr(row, "segment") if has_segment else None
        labels = {"model": model, "calculator": str(row.calculator),
                  "column": "" if column is None or pd.isna(column) else str(column),
                  "metric": str(row.metric), "segment": "" if segment is None or pd.isna(segment) else str(segment)}
        samples.add("seismo_value", labels, _number_or_none(row.value))
        samples.add("seismo_lower_threshold", labels, _number_or_none(row.lower_threshold))
        samples.add("seismo_upper_threshold", labels, _number_or_none(row.upper_threshold))
        samples.add("seismo_alert", labels, 1.0 if bool(row.alert) else 0.0)
        trust = getattr(row, "trust") if has_trust else None
        if isinstance(trust, str) and trust in TRUST_LEVELS:
            samples.add("seismo_trust", labels, float(TRUST_LEVELS[trust]))
    ends = results[results["period"] == "analysis"].groupby("calculator")["chunk_end_date"].max()
    for calculator, end in ends.items():
        samples.add("seismo_chunk_end_timestamp_seconds", {"model": model, "calculator": str(calculator)},
                    _seconds(end))


def _add_runs(samples: Samples, model: str, runs: pd.DataFrame) -> None:
    if runs.empty:
        return
    last = runs.iloc[-1]
    for status in RUN_STATUSES:
        samples.add("seismo_last_run_status", {"model": model, "status": status},
                    1.0 if last["status"] == status else 0.0)
    succeeded = runs[runs["status"] == "succeeded"]
    if succeeded.empty:
        return
    done = succeeded.iloc[-1]
    finished, started = _seconds(done["finished_at"]), _seconds(done["started_at"])
    samples.add("seismo_last_success_timestamp_seconds", {"model": model}, finished)
    if finished is not None and started is not None:
        samples.add("seismo_last_success_duration_seconds", {"model": model}, finished - started)
    rows = done["row_count"]
    samples.add("seismo_last_success_rows", {"model": model}, None if pd.isna(rows) else float(rows))


@dataclass
class MetricsReader:
    """Reads a store into metrics text, re-reading it on every `text()` call.

    The runs are read every time (one row per run). A model's results are read again only
    when its last successful run changed: results are written by a successful run's commit
    alone, so the rows read for that run are still exactly what the store holds, and a
    scrape every 15 s does not read every stored row of a long history each time.
    """

    store: ResultsStore
    models: Iterable[str] | None = None
    max_series: int = MAX_SERIES
    _cache: dict[str, tuple[tuple[int, Any], pd.DataFrame]] = field(default_factory=dict, repr=False)

    def text(self) -> str:
        samples = Samples()
        models = list(self.models) if self.models is not None else self.store.models()
        for model in models:
            runs = self.store.runs(model)
            _add_runs(samples, model, runs)
            succeeded = runs[runs["status"] == "succeeded"]
            if succeeded.empty:
                continue
            # the finish time too: a store deleted and begun anew numbers its runs from 1 again
            last = (int(succeeded["run_id"].iloc[-1]), succeeded["finished_at"].iloc[-1])
            cached = self._cache.get(model)
            if cached is None or cached[0] != last:
                cached = (last, self.store.results(model, period="analysis"))
                self._cache[model] = cached
            _add_results(samples, model, cached[1], self.max_series)
        return samples.text()


def metrics_text(store: ResultsStore, models: str | Iterable[str] | None = None, *,
                 max_series: int = MAX_SERIES) -> str:
    """The OpenMetrics text of ``models`` (one name, several, or None: every model in the store)."""
    chosen = [models] if isinstance(models, str) else models
    return MetricsReader(store, chosen, max_series).text()
