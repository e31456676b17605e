"""Soak: many small incremental `seismo run`s in one process. Do RSS or time per run grow?

    python benchmarks/soak.py --runs 10000 [--rows-per-run 24] [--window 2] [--saved-monitor store|DIR] [--full-monitor]

Each run is `seismo.cli.jobs.run_job`, the function `seismo run` calls, in this process: the CLI's
start-up (imports, about 3 s) would dwarf a small run, and a leak only shows in a process that
lives across runs (`seismo run --every`). Before each run the analysis file is rewritten to hold the
rows of the last `--window` runs: `--rows-per-run` new rows (a day of hourly predictions) and the
rows earlier runs already processed, which an incremental run skips by timestamp. That is how a
scheduled job usually reads a partitioned source (the last few days), and it keeps the file a
constant size, so any growth in time per run is seismo's. `--window 0` keeps every row instead,
the growing-file variant. With a window the labels come in the rows; with `--window 0` they come
late from a targets source, and realized performance is then recomputed over the whole history
each run (so that late labels reach old chunks), which grows with the history by design.
Chunks are 250 rows, so a chunk closes every ~10 runs.
The monitor is light by default (no CBPE, one drift method), as in the fault tests; `--full-monitor`
uses the default calculators.

Prints, per block of runs: median, mean and 95th percentile time per run, RSS at the block's end, the
process's open files, and the store's row counts; then first-vs-last block and the least-squares
slope of time and RSS per 1,000 runs. The result and runs tables grow by design (one runs row
per run, one set of result rows per chunk).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "cli"))
from cli_data import make_log, write_config  # noqa: E402

from seismo.cli.jobs import run_job  # noqa: E402

LIGHT = {"calculators.estimated_performance": False, "calculators.univariate_drift.methods": ["jensen_shannon"],
         "calculators.data_quality.metrics": ["missing_rate", "row_count"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rows-per-run", type=int, default=24)
    parser.add_argument("--window", type=int, default=2,
                        help="runs whose rows the analysis file holds (0: all rows so far)")
    parser.add_argument("--block", type=int, default=0, help="runs per printed block (default: runs / 10)")
    parser.add_argument("--saved-monitor", default="store")
    parser.add_argument("--full-monitor", action="store_true")
    args = parser.parse_args()
    block = args.block or max(1, args.runs // 10)
    process = psutil.Process()

    with tempfile.TemporaryDirectory(prefix="seismo-soak-") as tmp:
        folder = Path(tmp)
        make_log(1500, seed=1).to_parquet(folder / "reference.parquet", index=False)
        rows = args.runs * args.rows_per_run
        analysis = make_log(rows, seed=2, start="2024-03-01", first_id=10_000)
        changes = {} if args.full_monitor else dict(LIGHT)
        if args.window:  # labels in the rows: late labels (a targets source) need the whole history
            config = write_config(folder, {**changes, "saved_monitor": args.saved_monitor}, drop=("data.targets",))
        else:
            analysis[["id", "repaid"]].to_parquet(folder / "targets.parquet", index=False)
            analysis = analysis.drop(columns=["repaid"])
            config = write_config(folder, {**changes, "saved_monitor": args.saved_monitor})
        # Arrow slices, not pandas ones: slicing one pandas frame again and again keeps a list of
        # dead weak references per block (copy-on-write bookkeeping), which grew ~100 objects a run.
        table = pa.Table.from_pandas(analysis, preserve_index=False)
        engine = sa.create_engine(f"sqlite:///{folder / 'seismo.db'}")

        seconds = np.empty(args.runs)
        rss = np.empty(args.runs)
        print(f"{args.runs:,} runs of {args.rows_per_run} new rows each (file: last {args.window or 'all'} runs), monitor "
              f"{'default' if args.full_monitor else 'light'}, saved monitor in {args.saved_monitor}", flush=True)
        print(f"{'runs':>13} {'med ms':>7} {'mean ms':>8} {'p95 ms':>7} {'RSS MB':>7} {'files':>5} {'result rows':>11} "
              f"{'runs rows':>9}", flush=True)
        for i in range(args.runs):
            first_run = 0 if args.window == 0 else max(0, i + 1 - args.window)
            pq.write_table(table.slice(first_run * args.rows_per_run, (i + 1 - first_run) * args.rows_per_run),
                           folder / "analysis.parquet")
            started = time.perf_counter()
            run_job(config)
            seconds[i] = time.perf_counter() - started
            rss[i] = process.memory_info().rss / 2**20
            if (i + 1) % block == 0:
                with engine.connect() as conn:
                    results = conn.execute(sa.text("SELECT count(*) FROM results")).scalar()
                    runs = conn.execute(sa.text("SELECT count(*) FROM runs")).scalar()
                done = seconds[i + 1 - block:i + 1] * 1000
                print(f"{i + 2 - block:>6}-{i + 1:<6} {np.median(done):7.1f} {done.mean():8.1f} {np.percentile(done, 95):7.1f} "
                      f"{rss[i]:7.1f} {process.num_fds():5d} {results:11,d} {runs:9,d}", flush=True)
        engine.dispose()

    first, last = slice(1, block + 1), slice(args.runs - block, args.runs)  # the first run fits: left out
    x = np.arange(1, args.runs) / 1000
    time_slope = np.polyfit(x, seconds[1:] * 1000, 1)[0]
    rss_slope = np.polyfit(x, rss[1:], 1)[0]
    print(f"\nfirst {block} runs (after the fit): median {np.median(seconds[first]) * 1000:.1f} ms/run, "
          f"mean {seconds[first].mean() * 1000:.1f}, RSS {rss[block]:.1f} MB")
    print(f"last {block} runs: median {np.median(seconds[last]) * 1000:.1f} ms/run, "
          f"mean {seconds[last].mean() * 1000:.1f}, RSS {rss[-1]:.1f} MB")
    print(f"slope: {time_slope:+.2f} ms per run per 1,000 runs; RSS {rss_slope:+.2f} MB per 1,000 runs")
    print(f"first run (fit): {seconds[0] * 1000:.0f} ms; total {seconds.sum():.0f} s")


if __name__ == "__main__":
    warnings.simplefilter("ignore")  # the same data warnings every run: the figures are what matters here
    main()
