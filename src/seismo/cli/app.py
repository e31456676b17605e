"""The `seismo` command line: `run`, `validate`, `report`, `rank`, `export prometheus`, `serve-metrics`
and `demo`.

Exit codes, for schedulers: 0 no alerts, 1 alerts (per ``--fail-on``; a chunk where performance
cannot be judged, its estimate having trust "none" and no labels, counts as a performance
alert), 2 a config or data error, reported as a message that names the key, file or column
(no traceback), 3 results stored but an alert message could not be delivered (``alerts:``).
Progress bars are drawn here, on stderr, and never by the library.
"""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from seismo.monitor.report import Report

app = typer.Typer(help="seismo: make the silent failures of deployed models loud.", no_args_is_help=True)

EXIT_OK, EXIT_ALERTS, EXIT_ERROR = 0, 1, 2
EXIT_UNDELIVERED = 3  # results stored, but an alert message could not be delivered (docs/cli.md)
EXIT_INTERRUPTED = 130  # the shell's code for a process stopped by SIGINT
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class FailOn(str, Enum):
    none = "none"
    performance = "performance"
    any = "any"


@app.callback()
def main() -> None:
    """Monitor deployed models: drift, data quality and performance."""


def _fmt_date(value: object) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _alerting(df: pd.DataFrame, chunk_index: int) -> pd.DataFrame:
    return df[(df["period"] == "analysis") & (df["chunk_index"] == chunk_index) & df["alert"]]


def _chunk_table(title: str, frames: dict[str, pd.DataFrame], perf: pd.DataFrame, metric: str) -> Table:
    """One row per analysis chunk: the performance value and what alerted."""
    table = Table(title=title, title_justify="left")
    table.add_column("chunk")
    table.add_column("dates", no_wrap=True)
    table.add_column(f"{metric} (estimate ± 3 SE)", justify="right", no_wrap=True)
    table.add_column("realized", justify="right")
    table.add_column("drifting columns")
    table.add_column("data-quality alerts")
    perf_rows = perf[(perf["period"] == "analysis") & (perf["metric"] == metric)].set_index("chunk_index")
    for idx, row in perf_rows.iterrows():
        value = f"{row['value']:.3f} ± {3 * row['sampling_error']:.3f}" + ("  [red]ALERT[/red]" if row["alert"] else "")
        realized = "-" if pd.isna(row["realized"]) else f"{row['realized']:.3f}"
        if row.get("trust") == "none" and pd.isna(row["realized"]):
            value += "  [red]cannot judge[/red]"
        drift_hits = _alerting(frames["drift"], idx)
        drifted = drift_hits.groupby("column")["metric"].count().sort_values(ascending=False)
        quality_hits = _alerting(frames["quality"], idx)
        rates = quality_hits[quality_hits["metric"].str.endswith("_rate")]
        problems = [f"{c}: {m.removesuffix('_rate')}" for c, m in zip(rates["column"], rates["metric"])]
        if len(quality_hits) > len(rates):
            problems.append(f"+{len(quality_hits) - len(rates)} summary statistics")
        cells = [", ".join(drifted.index) or "-", ", ".join(problems) or "-"]
        dates = f"{_fmt_date(row['chunk_start_date'])} .. {_fmt_date(row['chunk_end_date'])}"
        table.add_row(str(row["chunk_key"]), dates, value, realized, *cells)
    return table


@app.command()
def demo(
    chunk_size: int = typer.Option(5_000, help="rows per chunk"),
    output: Path = typer.Option(Path("seismo_demo_report.html"), "--output", "-o", help="where to write the HTML report"),
) -> None:
    """Run seismo on the synthetic credit data, print what it finds and write the HTML report; then the campaign
    data per region (segments) and the house-market data, where the late labels show a concept shift."""
    import seismo

    console = Console(width=max(Console().width, 160))
    started = time.perf_counter()
    reference, analysis, targets = seismo.datasets.load_synthetic_credit()
    console.print(
        f"[bold]Synthetic credit data[/bold]: {len(reference):,} reference rows, {len(analysis):,} analysis rows; "
        "labels for the analysis arrive later, in their own frame."
    )
    monitor = seismo.Monitor(
        "binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="defaulted", timestamp="timestamp", id="id",
        chunk_size=chunk_size,
    )
    report = monitor.fit(reference).run(analysis, targets=targets)
    elapsed = time.perf_counter() - started
    drift, quality = report.results["univariate_drift"], report.results["data_quality"]
    performance = report.results["estimated_performance"]

    perf_df = performance.to_df()
    console.print(_chunk_table(
        "Analysis chunks", {"drift": drift.to_df(), "quality": quality.to_df()}, perf_df, "roc_auc"
    ))
    ref_auc = perf_df[(perf_df["period"] == "reference") & (perf_df["metric"] == "roc_auc")]
    console.print(
        f"Reference ROC AUC (mean realized over chunks): {ref_auc['realized'].mean():.3f}; alert below "
        f"{ref_auc['lower_threshold'].iloc[0]:.3f}. Estimates use no labels (CBPE); realized values "
        "come from the late labels."
    )

    alerts = drift.alerts()
    if len(alerts):
        summary = Table(title="Drift alerts by column and method (analysis chunks alerting)", title_justify="left")
        summary.add_column("column")
        for method in sorted(alerts["metric"].unique()):
            summary.add_column(method, justify="right")
        pivot = alerts.pivot_table(index="column", columns="metric", values="alert", aggfunc="sum", fill_value=0)
        for column, counts in pivot.iterrows():
            summary.add_row(column, *[str(int(counts.get(m, 0))) for m in sorted(alerts["metric"].unique())])
        console.print(summary)
    n_cells = int((drift.to_df()["period"] == "analysis").sum())
    console.print("[bold]Verdict[/bold]\n" + report.summary())
    console.print("[bold]Drift ranked by how closely it tracks the performance drop[/bold]")
    console.print(report.ranking[["rank", "column", "drift_method", "correlation", "sensitivity", "alert_count"]]
                  .head(6).to_string(index=False))
    path = report.save_html(output)
    console.print(f"HTML report: {path.resolve()}")
    console.print(
        f"{len(alerts)} of {n_cells} analysis drift cells alert; "
        f"{len(quality.alerts())} data-quality alerts; {len(performance.alerts())} estimated-performance alerts. "
        f"Done in {elapsed:.1f} s."
    )
    _demo_segments(console, chunk_size, output)
    _demo_concept(console, chunk_size, output)


def _demo_segments(console: Console, chunk_size: int, output: Path) -> None:
    """The demo's second story: a campaign in one region brings customers the model is poor on; segments
    and segment discovery find them before any label arrives (docs/segments.md)."""
    import seismo
    from seismo.monitor.calculators import DOMAIN_CLASSIFIER_DRIFT, PCA_DRIFT, UNIVARIATE_DRIFT

    started = time.perf_counter()
    reference, analysis, _ = seismo.datasets.load_synthetic_campaign()
    console.print(
        "\n[bold]Segments[/bold]: the synthetic campaign data (the same lender; from 2024-10-01 a web campaign in "
        "region east brings young, thin-file customers). Monitored per region, without labels:")
    monitor = seismo.Monitor(
        "binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="defaulted", timestamp="timestamp", id="id",
        chunk_size=chunk_size, segments=["region"],
        calculators={spec.name: False for spec in (UNIVARIATE_DRIFT, PCA_DRIFT, DOMAIN_CLASSIFIER_DRIFT)})
    report = monitor.fit(reference).run(analysis)
    summary = report.summary()
    starts = [summary.index(mark) for mark in ("Where performance fell", "Segments (") if mark in summary]
    console.print(summary[min(starts):] if starts else summary, markup=False)
    path = report.save_html(output.with_name(f"{output.stem}_segments{output.suffix}"))
    console.print(f"HTML report with the segments: {path.resolve()}. Done in {time.perf_counter() - started:.1f} s.")


# the concept story's ConceptShift: half its default random reference subsets (each one concept model per fold)
# keep the demo quick; its thresholds and sampling errors rest on the rest
DEMO_CONCEPT_SHIFT = {"n_resamples": 10}


def _decomposition_table(table: pd.DataFrame, metric: str) -> Table:
    """The decomposition of ``metric`` per labelled analysis chunk: realized change = covariate + concept +
    remainder, each ± 3 SE, and the main cause in words."""
    from seismo.monitor.decomposition import cause_text

    out = Table(title=f"Why realized {metric} changed, per chunk (each part ± 3 SE)", title_justify="left")
    for name in ("chunk", "from", "realized change", "covariate (estimate)", "concept (ConceptShift)",
                 "remainder", "main cause"):
        out.add_column(name, justify="left" if name in ("chunk", "from", "main cause") else "right", no_wrap=True)
    for _, row in table[table["metric"] == metric].iterrows():
        parts = [f"{row[part]:+,.0f} ± {3 * row[f'{se}_se']:,.0f}"
                 for part, se in (("realized_change", "realized"), ("covariate", "covariate"),
                                  ("concept", "concept"), ("remainder", "remainder"))]
        out.add_row(str(row["chunk_key"]), _fmt_date(row["chunk_start_date"]), *parts, cause_text(row["main_cause"]))
    return out


def _concept_verdict(table: pd.DataFrame, metric: str) -> str:
    """One sentence over the chunks whose realized ``metric`` got worse beyond 2 SE: which share of the change
    each part explains, and the main cause the decomposition names most often there."""
    from seismo.metrics.registry import METRICS
    from seismo.monitor.decomposition import CLEAR, cause_text

    rows = table[table["metric"] == metric]
    worse = -1.0 if METRICS[metric].higher_is_better else 1.0
    rows = rows[worse * rows["realized_change"] > CLEAR * rows["realized_se"]]
    if rows.empty:
        return f"Realized {metric} did not get worse beyond noise in any chunk."
    total = rows["realized_change"].sum()
    shares = ", ".join(f"{part} {rows[part].sum() / total:.0%}" for part in ("covariate", "concept", "remainder"))
    cause = cause_text(rows["main_cause"].mode().iloc[0])
    return (f"[bold]Verdict[/bold]: realized {metric} got worse in {len(rows)} chunk(s) from "
            f"{_fmt_date(rows['chunk_start_date'].min())} on, by {rows['realized_change'].mean():+,.0f} on average; "
            f"shares of the change: {shares}. The drop is {cause}.")


def _demo_concept(console: Console, chunk_size: int, output: Path) -> Report:
    """The demo's third story: the housing market changes while the homes on sale do not; no drift and no
    label-free estimate sees it, the late labels do, and the decomposition blames concept shift (docs/concept.md)."""
    import seismo
    from seismo.monitor.calculators import CONCEPT_SHIFT, DATA_QUALITY, DOMAIN_CLASSIFIER_DRIFT, PCA_DRIFT

    started = time.perf_counter()
    reference, analysis, targets = seismo.datasets.load_synthetic_house_market()
    console.print(
        "\n[bold]Concept shift[/bold]: synthetic house prices (a price model; from 2024-10-01 interest rates rise and "
        "homes of 120 m2 or more, or 10 km or more from the centre, sell for 10 to 15% less, while the homes on sale "
        "look as before). Sale prices arrive later and are joined on id:")
    off = {spec.name: False for spec in (PCA_DRIFT, DOMAIN_CLASSIFIER_DRIFT, DATA_QUALITY)}
    monitor = seismo.Monitor(
        "regression", y_pred="y_pred", y_true="price", timestamp="timestamp", id="id", chunk_size=chunk_size,
        metrics=["mae"], calculators={**off, CONCEPT_SHIFT.name: DEMO_CONCEPT_SHIFT})
    report = monitor.fit(reference).run(analysis, targets=targets)
    drift = report.results["univariate_drift"].filter(period="analysis").to_df()
    console.print(f"Univariate drift: {int(drift['alert'].sum())} of {len(drift)} analysis cells alert "
                  "(the inputs did not move).")
    console.print(report.summary(), markup=False)
    table = report.decomposition()
    if len(table):
        console.print(_decomposition_table(table, "mae"))
        console.print(_concept_verdict(table, "mae"))
    path = report.save_html(output.with_name(f"{output.stem}_concept{output.suffix}"))
    console.print(f"HTML report with the concept shift: {path.resolve()}. Done in {time.perf_counter() - started:.1f} s.")
    return report


def parse_interval(text: str) -> float:
    """``30m``, ``6h``, ``1d`` (or ``45s``) in seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text or "")
    if not match or float(match.group(1)) <= 0:
        raise typer.BadParameter(f"{text!r} is not an interval; write e.g. 30m, 6h or 1d", param_hint="--every")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _print_problems(problems: list, as_json: bool, console: Console) -> None:
    if as_json:
        print(json.dumps({"status": "error", "problems": [
            {"kind": p.kind, "where": p.where, "message": p.message} for p in problems]}))
        return
    for problem in problems:
        console.print(f"[red]error[/red] {problem}", markup=True, highlight=False, soft_wrap=True)


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Any]:
    """A rich progress bar on stderr fed by `run_job`'s progress callback (a no-op when disabled)."""
    if not enabled:
        yield None
        return
    columns = (TextColumn("{task.description:<32}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("starting", total=1)

        def update(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        yield update


def _exit_code(outcome: Any, fail_on: FailOn) -> int:
    """A chunk whose performance cannot be judged (estimate trust none, no labels) alerts as a
    performance alert does: an estimate that cannot be believed never passes for "all is well"."""
    blind = bool(getattr(outcome, "cannot_judge", None))
    if getattr(outcome, "undelivered", None):  # whatever --fail-on says: someone was to be told, and was not
        return EXIT_UNDELIVERED
    if fail_on is FailOn.any and (outcome.alerts or blind):
        return EXIT_ALERTS
    if fail_on is FailOn.performance and (outcome.performance_alerts or blind):
        return EXIT_ALERTS
    return EXIT_OK


def _print_notifications(done: dict[str, Any] | None, console: Console, errors: Console) -> None:
    """What the alert rules did this run, and each failed delivery (on stderr, without URLs or secrets)."""
    if not done:
        return
    counts = ", ".join(f"{len(done[k])} {k}" for k in ("opened", "reminded", "resolved", "retried") if done.get(k))
    sent = [d["destination"] for d in done["deliveries"] if d["ok"]]
    console.print(f"  alerts: {counts or 'no change'}; {done['open_alerts']} open"
                  + (f"; sent to {', '.join(sent)}" if sent else ""), soft_wrap=True, highlight=False)
    for d in done["deliveries"]:
        if not d["ok"]:
            errors.print(f"[red]alert not delivered[/red] to {d['destination']} after {d['attempts']} attempts: "
                         f"{d['error']}", soft_wrap=True, highlight=False)


def _run_once(config_path: Path, *, fail_on: FailOn, quiet: bool, as_json: bool, full: bool,
              console: Console, errors: Console) -> tuple[int, bool]:
    """One run: its exit code and whether the config itself is wrong, after printing what it found."""
    from seismo.cli.config import ConfigError, Problem
    from seismo.cli.jobs import run_job
    from seismo.errors import SeismoError, SeismoWarning

    try:
        with _progress_bar(not (quiet or as_json)) as progress, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SeismoWarning)
            outcome = run_job(config_path, full=full, progress=progress)
    except ConfigError as exc:
        _print_problems(exc.problems, as_json, errors)
        return EXIT_ERROR, True
    except SeismoError as exc:  # data, store or saved-monitor errors name their key, file or column
        where = getattr(exc, "where", "")
        message = str(exc).removeprefix(f"{where}: ") if where else str(exc)
        _print_problems([Problem(type(exc).__name__, where, message)], as_json, errors)
        return EXIT_ERROR, False
    except OSError as exc:  # a disk or network error: the message says which file or host
        _print_problems([Problem("OSError", getattr(exc, "filename", None) or "", str(exc))], as_json, errors)
        return EXIT_ERROR, False
    except Exception as exc:  # noqa: BLE001 - a bug: keep the traceback, but never exit 1 ("alerts")
        errors.print_exception()
        _print_problems([Problem(type(exc).__name__, "", f"unexpected error: {exc}")], as_json, errors)
        return EXIT_ERROR, False
    code = _exit_code(outcome, fail_on)
    notes = list(dict.fromkeys(str(w.message) for w in caught))  # each once, not once per calculator
    if as_json:
        alerted = outcome.alerts or outcome.cannot_judge
        print(json.dumps({"status": "alerts" if alerted else "ok", "exit_code": code, **outcome.to_dict(),
                          "warnings": notes}))
        return code, False
    for note in [] if quiet else notes:
        errors.print(f"[yellow]warning[/yellow] {note}", highlight=False, soft_wrap=True)
    if not quiet:
        refit = " (monitor refitted)" if outcome.refitted else " (saved monitor reused)"
        news = (f"{outcome.rows:,} result rows stored ({outcome.new_chunks} analysis chunks)" if outcome.new_chunks
                else f"no new rows since {outcome.data_until or 'the last run'}")
        if outcome.late_rows:
            news += f"; {outcome.late_rows:,} late rows older than those already processed were not added"
        in_segments = f" ({outcome.segment_alerts} in segments)" if outcome.segment_alerts else ""
        console.print(f"run {outcome.run_id} of [bold]{outcome.model}[/bold]: {news}{refit}; standing: "
                      f"{outcome.alerts} alerts{in_segments}, {outcome.performance_alerts} on performance",
                      soft_wrap=True)
        for name, count in outcome.alerting_calculators.items():
            console.print(f"  {name}: {count} alerting rows")
        if outcome.cannot_judge:
            chunks = list(outcome.cannot_judge)
            span = chunks[0] + (f" to {chunks[-1]}" if len(chunks) > 1 else "")
            console.print(f"  [red]cannot judge performance here[/red]: {span} ({len(chunks)} chunks, estimate trust none, "
                          f"no labels; {chunks[0]}: {outcome.cannot_judge[chunks[0]]})", soft_wrap=True,
                          highlight=False)
        _print_notifications(outcome.notifications, console, errors)
    return code, False


@app.command()
def run(
    config: Path = typer.Option(..., "--config", "-c", help="the monitor's YAML config"),
    every: str | None = typer.Option(None, help="run again on this interval (30m, 6h, 1d) until stopped"),
    fail_on: FailOn = typer.Option(FailOn.any, "--fail-on", help="which alerts make the exit code 1"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="print nothing but errors"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object per run"),
    full: bool = typer.Option(False, "--full", help="refit the monitor and recompute every chunk"),
) -> None:
    """Run the configured monitor and store its results. Exit 0: no alerts, 1: alerts, 2: config or data error,
    3: an alert could not be delivered."""
    console, errors = Console(quiet=quiet), Console(stderr=True)
    interval = parse_interval(every) if every is not None else None
    try:
        if interval is None:
            code, _ = _run_once(config, fail_on=fail_on, quiet=quiet, as_json=as_json, full=full,
                                console=console, errors=errors)
            raise typer.Exit(code)
        _run_every(interval, config, fail_on=fail_on, quiet=quiet, as_json=as_json, full=full,
                   console=console, errors=errors)
    except KeyboardInterrupt:  # the run in progress was marked failed in the store
        errors.print("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _run_every(interval: float, config: Path, *, full: bool, console: Console, errors: Console, **options: Any) -> None:
    """Run, wait, repeat until SIGINT or SIGTERM: the first lets the current run finish, a second stops it."""
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    quiet, as_json = options["quiet"], options["as_json"]
    try:
        while not stop.is_set():
            started = time.monotonic()
            code, config_broken = _run_once(config, full=full, console=console, errors=errors, **options)
            full = False  # a refit is asked for once, not on every iteration
            if config_broken:  # a data or store error may pass by the next run; a config error will not
                raise typer.Exit(code)
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not (quiet or as_json):
        console.print("stopped")
    raise typer.Exit(EXIT_OK)


@app.command()
def validate(
    config: Path = typer.Option(..., "--config", "-c", help="the monitor's YAML config"),
    as_json: bool = typer.Option(False, "--json", help="print the problems as one JSON object"),
) -> None:
    """Check the config and its data without computing anything; list every problem. Exit 0 or 2."""
    from seismo.cli.validate import validate as find_problems

    problems = find_problems(config)
    if problems:
        _print_problems(problems, as_json, Console(stderr=not as_json))
        if not as_json:
            Console(stderr=True).print(f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in {config}")
        raise typer.Exit(EXIT_ERROR)
    if as_json:
        print(json.dumps({"status": "ok", "problems": []}))
    else:
        Console().print(f"{config}: config and data look good")


@app.command()
def report(
    output: Path = typer.Option(Path("report.html"), "--output", "-o", help="where to write the HTML report"),
    store: str | None = typer.Option(None, "--store", help="the results store's SQLAlchemy URL"),
    model: str | None = typer.Option(None, "--model", help="the model's name in the store"),
    config: Path | None = typer.Option(None, "--config", "-c", help="take the store and model from this config"),
) -> None:
    """Rebuild the HTML report of a model from the results stored by `seismo run`."""
    from seismo.cli.config import ConfigError
    from seismo.cli.jobs import stored_report
    from seismo.errors import SeismoError

    errors = Console(stderr=True)
    try:
        store, model = _store_and_model(store, model, config)
        path = stored_report(store, model).save_html(output)
    except ConfigError as exc:
        _print_problems(exc.problems, False, errors)
        raise typer.Exit(EXIT_ERROR) from None
    except SeismoError as exc:
        errors.print(f"[red]error[/red] {exc}", highlight=False)
        raise typer.Exit(EXIT_ERROR) from None
    Console().print(f"HTML report: {path.resolve()}")


def _store_and_model(store: str | None, model: str | None, config: Path | None) -> tuple[str, str]:
    """``--store`` and ``--model``, each taken from ``--config`` when not given."""
    from seismo.cli.config import load_config

    if config is not None:
        loaded = load_config(config)
        store, model = store or loaded.store_url(), model or loaded.model.name
    if not store or not model:
        raise typer.BadParameter("give --store and --model, or --config")
    return store, model


RANK_COLUMNS = ["rank", "column", "drift_method", "correlation", "alert_count", "n_chunks", "note"]


@app.command(name="rank")
def rank_command(
    store: str | None = typer.Option(None, "--store", help="the results store's SQLAlchemy URL"),
    model: str | None = typer.Option(None, "--model", help="the model's name in the store"),
    config: Path | None = typer.Option(None, "--config", "-c", help="take the store and model from this config"),
    segment: str | None = typer.Option(None, "--segment", help="a declared segment's label, e.g. region=east; "
                                                                "default: the overall rows"),
    metric: str | None = typer.Option(None, "--metric", help="the performance metric whose drop is tracked"),
    as_json: bool = typer.Option(False, "--json", help="print the ranking as one JSON object"),
) -> None:
    """Rank the stored drift by how closely it tracks the performance drop, overall or in one segment."""
    from seismo.cli.config import ConfigError
    from seismo.cli.jobs import stored_ranking
    from seismo.errors import SeismoError

    errors = Console(stderr=True)
    try:
        store, model = _store_and_model(store, model, config)
        found = stored_ranking(store, model, segment=segment, metric=metric)
    except ConfigError as exc:
        _print_problems(exc.problems, as_json, errors)
        raise typer.Exit(EXIT_ERROR) from None
    except SeismoError as exc:
        if as_json:
            print(json.dumps({"status": "error", "problems": [{"kind": type(exc).__name__, "where": "",
                                                              "message": str(exc)}]}))
        else:
            errors.print(f"[red]error[/red] {exc}", highlight=False)
        raise typer.Exit(EXIT_ERROR) from None
    ranking = found.ranking
    if as_json:
        records = json.loads(ranking.to_json(orient="records"))
        print(json.dumps({"status": "ok", "model": model, "segment": segment, "performance": found.performance,
                          "segments": found.segments, "ranking": records}))
        return
    console = Console(width=max(Console().width, 120))
    where = f"segment {segment}" if segment else "overall"
    if "performance_metric" in ranking.columns and len(ranking):
        title = (f"{model}, {where}: drift ranked by how closely it tracks the drop in "
                 f"{ranking['performance_metric'].iloc[0]} ({found.performance})")
    else:
        title = f"{model}, {where}: drift ranked by alerting chunks (no performance stored)"
    table = Table(title=title, title_justify="left")
    shown = [c for c in RANK_COLUMNS if c in ranking.columns]
    for name in shown:
        table.add_column(name, justify="left" if name in ("column", "drift_method", "note") else "right")
    for _, row in ranking.iterrows():
        table.add_row(*[_cell(row[name]) for name in shown])
    console.print(table)
    if segment is None and found.segments:
        console.print(f"segments stored: {', '.join(found.segments)}; rank one with --segment LABEL",
                      highlight=False, soft_wrap=True)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


export_app = typer.Typer(help="Export the stored results to the tools a platform team already watches.",
                         no_args_is_help=True)
app.add_typer(export_app, name="export")


def _metrics_reader(store: str, model: str | None, max_series: int) -> Any:
    """A `MetricsReader` of the store opened read-only, after one read that finds a bad URL,
    a missing store or an unknown model (each a `StoreError`, so exit 2) before anything is served."""
    from seismo.store import ResultsStore
    from seismo.store.metrics_text import MetricsReader

    if max_series < 0:
        raise typer.BadParameter(f"{max_series} is negative; give 0 or more", param_hint="--max-series")
    opened = ResultsStore(store, read_only=True)
    try:
        if model is not None:
            opened.runs(model)  # names the model's near misses when it is not in the store
        return MetricsReader(opened, None if model is None else [model], max_series)
    except BaseException:
        opened.close()
        raise


@export_app.command(name="prometheus")
def export_prometheus(
    store: str = typer.Option(..., "--store", help="the results store's SQLAlchemy URL"),
    model: str | None = typer.Option(None, "--model", help="one model's name in the store; default: every model"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write the text to this file, atomically "
                                       "(e.g. /var/lib/node_exporter/textfile/seismo.prom); default: stdout"),
    max_series: int = typer.Option(10_000, "--max-series", help="result rows (label sets) exported per model at most; "
                                   "the rest are counted in seismo_series_dropped"),
) -> None:
    """Write the latest chunk's values, thresholds, alerts and trust, and run health, as OpenMetrics text."""
    from seismo.cli.metrics_export import write_atomically
    from seismo.errors import SeismoError

    errors = Console(stderr=True)
    try:
        reader = _metrics_reader(store, model, max_series)
        try:
            text = reader.text()
        finally:
            reader.store.close()
        if output is None:
            sys.stdout.write(text)
            return
        write_atomically(text, output)
    except SeismoError as exc:
        errors.print(f"[red]error[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from None
    except OSError as exc:
        errors.print(f"[red]error[/red] cannot write {output}: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from None


@app.command(name="serve-metrics")
def serve_metrics(
    store: str = typer.Option(..., "--store", help="the results store's SQLAlchemy URL"),
    model: str | None = typer.Option(None, "--model", help="one model's name in the store; default: every model"),
    host: str = typer.Option("127.0.0.1", "--host", help="the address to bind; 0.0.0.0 exposes it to the network"),
    port: int = typer.Option(9108, "--port", help="the port to listen on (0: any free port)"),
    max_series: int = typer.Option(10_000, "--max-series", help="result rows (label sets) served per model at most"),
) -> None:
    """Serve the same text as `export prometheus` at http://HOST:PORT/metrics, re-reading the store on each scrape."""
    from seismo.cli.metrics_export import metrics_server
    from seismo.errors import SeismoError

    errors = Console(stderr=True)
    try:
        reader = _metrics_reader(store, model, max_series)
    except SeismoError as exc:
        errors.print(f"[red]error[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from None
    try:
        server = metrics_server(reader, host, port)
    except OSError as exc:
        reader.store.close()
        errors.print(f"[red]error[/red] cannot listen on {host}:{port}: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from None

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    print(f"serving the metrics of {reader.store.where} at http://{host}:{server.server_port}/metrics", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
        reader.store.close()


if __name__ == "__main__":  # pragma: no cover
    app()
