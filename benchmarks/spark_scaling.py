"""UnivariateDrift on Spark in local mode at 1, 2 and all cores, checked against the in-memory result.

Run: ``python benchmarks/spark_scaling.py [--rows 5M] [--columns 10] [--cores 1,2,16] [--chunking size,period]``

The analysis data is a parquet directory of float columns and a timestamp, written once and
cached under ``benchmarks/.data/`` (in pieces, so generation stays within memory). Each core
count runs in its own process, with its own JVM (``local[k]``), so one run cannot warm the
next. Every run fits the same pickled `UnivariateDrift`, reads the parquet with
``spark.read.parquet`` and times ``calculate(spark_df)``: the partials are built on the
executors and merged on the driver (see docs/spark.md). An untimed run on one file first
starts the Python workers and imports seismo in them, a cost paid once per cluster.

Two chunkings show the two paths: ``period`` (one chunk per day: one pass, no shuffle) and
``size`` (chunks of ``rows / 100``: a sort by time, a cache and two passes). Each result is
compared with the in-memory ``calculate`` on the same data, values to 1e-9 and keys/alerts
exactly; a mismatch stops the benchmark.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import seismo

DATA = Path(__file__).parent / ".data"
REFERENCE_ROWS = 200_000
FILE_ROWS = 250_000
ROWS_PER_DAY = 50_000  # so that period chunking by day makes rows / 50k chunks
NUMBERS = ["value", "sampling_error", "lower_threshold", "upper_threshold"]
EXACT = ["chunk_index", "chunk_key", "chunk_start_index", "chunk_end_index", "column", "metric", "alert"]


def frame(rows: int, columns: int, seed: int, first_row: int = 0, shift: float = 0.0,
          rows_per_day: int = ROWS_PER_DAY) -> pd.DataFrame:
    """Float features with a slow drift, and a timestamp ``rows_per_day`` rows a day from 2024-01-01."""
    rng = np.random.default_rng(seed)
    position = first_row + np.arange(rows)
    data = {f"x{i}": rng.normal(shift * position / 1e7 * (i % 3), 1.0 + 0.1 * i, rows) for i in range(columns)}
    seconds = position * (86_400 / rows_per_day)
    data["timestamp"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(seconds, unit="s")
    return pd.DataFrame(data)


def dataset(rows: int, columns: int) -> Path:
    """The analysis parquet directory, written once in files of ``FILE_ROWS`` rows in time order."""
    path = DATA / f"spark_scaling_{rows}x{columns}"
    if (path / "_done").exists():
        return path
    path.mkdir(parents=True, exist_ok=True)
    for i, start in enumerate(range(0, rows, FILE_ROWS)):
        piece = frame(min(FILE_ROWS, rows - start), columns, seed=1_000 + i, first_row=start, shift=1.0)
        pq.write_table(pa.Table.from_pandas(piece, preserve_index=False), path / f"part-{i:05d}.parquet",
                       coerce_timestamps="us")  # Spark reads micro-, not nanoseconds
    (path / "_done").touch()
    return path


def spark_session(cores: int):
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master(f"local[{cores}]").appName(f"seismo-scaling-{cores}")
            .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(2 * cores))
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.memory", "6g")
            .getOrCreate())


def worker(cores: int, data: Path, calc_file: Path, out: Path) -> None:
    """One core count in this process: warm up, then time ``calculate`` on the whole data set."""
    import warnings

    warnings.simplefilter("ignore", FutureWarning)  # pyspark's note on pandas 3
    spark = spark_session(cores)
    spark.sparkContext.setLogLevel("ERROR")
    drift = pickle.loads(calc_file.read_bytes())
    first = min(data.glob("*.parquet"))
    drift.calculate(spark.read.parquet(str(first)))  # starts the Python workers (untimed)
    sdf = spark.read.parquet(str(data))
    started = time.perf_counter()
    result = drift.calculate(sdf).to_df()
    seconds = time.perf_counter() - started
    result.to_parquet(out)
    print(f"{seconds:.6f} {sdf.rdd.getNumPartitions()}")
    spark.stop()


def check_same(memory: pd.DataFrame, from_spark: pd.DataFrame, label: str) -> None:
    same_keys = all(memory[c].tolist() == from_spark[c].tolist() for c in EXACT)  # dtypes may differ after parquet
    close = np.allclose(from_spark[NUMBERS].to_numpy(float), memory[NUMBERS].to_numpy(float),
                        rtol=1e-9, atol=1e-12, equal_nan=True)
    if not (same_keys and close and len(memory) == len(from_spark)):
        raise SystemExit(f"{label}: the Spark result differs from the in-memory one")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=lambda s: int(float(s.replace("M", "e6").replace("k", "e3"))),
                        default=5_000_000)
    parser.add_argument("--columns", type=int, default=10)
    cores = os.cpu_count() or 1
    parser.add_argument("--cores", default=",".join(str(c) for c in sorted({1, 2, cores})))
    parser.add_argument("--chunking", default="period,size")
    parser.add_argument("--worker", nargs=4, metavar=("CORES", "DATA", "CALC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        k, data, calc_file, out = args.worker
        worker(int(k), Path(data), Path(calc_file), Path(out))
        return

    data = dataset(args.rows, args.columns)
    features = [f"x{i}" for i in range(args.columns)]
    reference = frame(REFERENCE_ROWS, args.columns, seed=1, rows_per_day=REFERENCE_ROWS // 10)  # 10 days
    print(f"# UnivariateDrift (jensen_shannon, kolmogorov_smirnov) on {args.rows:,} rows x {args.columns} float "
          f"columns, {os.cpu_count()} cores on this machine; seismo in memory vs Spark local[k]")
    print(f"{'chunking':>9} {'engine':>12} {'partitions':>10} {'seconds':>9} {'Mvalues/s':>10} {'speed-up':>9}")
    for chunking in args.chunking.split(","):
        chunk = {"size": {"chunk_size": args.rows // 100}, "period": {"chunk_period": "D"}}[chunking]
        drift = seismo.UnivariateDrift(columns=features, timestamp="timestamp", methods=["jensen_shannon",
                                       "kolmogorov_smirnov"], **chunk).fit(reference)
        started = time.perf_counter()
        memory = drift.calculate(str(data), streaming=False).to_df()
        seconds = time.perf_counter() - started
        values = args.rows * args.columns / 1e6
        print(f"{chunking:>9} {'in memory':>12} {'':>10} {seconds:>9.2f} {values / seconds:>10.1f} {'':>9}", flush=True)
        one_core = None
        with tempfile.TemporaryDirectory() as tmp:
            calc_file = Path(tmp) / "drift.pkl"
            calc_file.write_bytes(pickle.dumps(drift))
            for k in [int(c) for c in args.cores.split(",")]:
                out = Path(tmp) / f"result-{k}.parquet"
                run = subprocess.run([sys.executable, __file__, "--worker", str(k), str(data), str(calc_file),
                                      str(out)], capture_output=True, text=True, check=False)
                if run.returncode:
                    raise SystemExit(f"local[{k}] failed:\n{run.stderr[-3000:]}")
                seconds, partitions = run.stdout.split()[-2:]
                seconds = float(seconds)
                check_same(memory, pd.read_parquet(out), f"{chunking}, local[{k}]")
                one_core = one_core or seconds
                print(f"{chunking:>9} {f'local[{k}]':>12} {partitions:>10} {seconds:>9.2f} "
                      f"{values / seconds:>10.1f} {one_core / seconds:>8.2f}x", flush=True)
    print("# every Spark result equals the in-memory one (values to 1e-9, keys and alerts exactly)")


if __name__ == "__main__":
    main()
