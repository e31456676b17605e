"""The `seismo` command line."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="seismo: make the silent failures of deployed models loud.", no_args_is_help=True)


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
    """Run seismo on the synthetic credit data, print what it finds and write the HTML report."""
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


if __name__ == "__main__":  # pragma: no cover
    app()
