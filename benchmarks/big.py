"""Streaming at scale: `Monitor` over a parquet dataset far larger than memory.

Writes (once, in pieces, so that generation itself stays within memory) a prediction log
of ``--rows`` rows × ``--features`` features (a quarter of them categorical) with a model
score, a prediction, a label and a timestamp; drift starts halfway. Then, each in its own
child process so that peak RSS is the run's own:

* ``drift+quality``: `UnivariateDrift` and `DataQuality` streamed over every feature;
  reported as feature values per second per core, the issue's target being >= 10M;
* ``monitor``: `Monitor.run(path, streaming=True)` with every calculator.

    python benchmarks/big.py                      # 100M rows x 20 features (~17 GB of parquet)
    python benchmarks/big.py --rows 10_000_000    # a quicker look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROWS_PER_FILE = 1_000_000
CHUNKS = 100


def _feature_names(n: int) -> tuple[list[str], list[str]]:
    n_cat = max(1, n // 4)
    return [f"x{i:02d}" for i in range(n - n_cat)], [f"c{i:02d}" for i in range(n_cat)]


def generate(directory: Path, rows: int, features: int, seed: int = 0) -> Path:
    """One parquet file per million rows, written one at a time; a marker file says it is complete."""
    import pandas as pd

    done = directory / f"_complete_{rows}_{features}"
    if done.exists():
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.parquet"):
        old.unlink()
    continuous, categorical = _feature_names(features)
    start = np.datetime64("2025-01-01T00:00:00")
    step = np.timedelta64(int(365 * 24 * 3600 * 1e6 / rows), "us")  # a year of data
    categories = np.array(["north", "south", "east", "west", "centre", "online"])
    for i, lo in enumerate(range(0, rows, ROWS_PER_FILE)):
        n = min(ROWS_PER_FILE, rows - lo)
        rng = np.random.default_rng([seed, i])
        shifted = lo >= rows // 2
        df = pd.DataFrame({c: rng.normal(0.3 if shifted and j < 3 else 0.0, 1.0, n)
                           for j, c in enumerate(continuous)})
        probs = np.array([0.3, 0.25, 0.2, 0.15, 0.07, 0.03] if not shifted else [0.2, 0.2, 0.2, 0.15, 0.1, 0.15])
        for c in categorical:
            df[c] = pd.Categorical(categories[rng.choice(len(categories), n, p=probs)], categories=categories)
        logit = df[continuous[:4]].sum(axis=1).to_numpy() * 0.8 - 1.0
        p = 1.0 / (1.0 + np.exp(-logit))
        df["y_pred_proba"] = p
        df["y_pred"] = (p > 0.5).astype(np.int8)
        flip = 1.2 if shifted else 1.0
        df["y_true"] = (rng.random(n) < np.clip(p * flip, 0, 1)).astype(np.int8)
        df["timestamp"] = start + (lo + np.arange(n)) * step
        df.to_parquet(directory / f"part-{i:05d}.parquet", index=False)
        if i % 10 == 0:
            print(f"  wrote {lo + n:,} rows", flush=True)
    done.touch()
    return directory


def _run_child(kind: str, directory: Path, rows: int, features: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--dir", str(directory), "--rows", str(rows),
                          "--features", str(features)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(kind: str, directory: Path, rows: int, features: int) -> None:
    import warnings

    import seismo

    warnings.simplefilter("ignore")
    continuous, categorical = _feature_names(features)
    columns = continuous + categorical
    files = sorted(directory.glob("part-*.parquet"))
    reference, analysis = str(files[0]), str(directory / "part-*.parquet")
    chunk_size = rows // CHUNKS
    common = dict(columns=columns, timestamp="timestamp", chunk_size=chunk_size)
    start = time.perf_counter()
    if kind == "drift+quality":
        calcs = [seismo.UnivariateDrift(**common, methods=["jensen_shannon", "kolmogorov_smirnov", "chi2"]),
                 seismo.DataQuality(**common)]
        for c in calcs:
            c.fit(reference)
        fitted = time.perf_counter()
        n_out = sum(len(c.calculate(analysis, streaming=True).to_df()) for c in calcs)
    else:
        monitor = seismo.Monitor("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                                 timestamp="timestamp", features=columns, chunk_size=chunk_size)
        monitor.fit(reference)
        fitted = time.perf_counter()
        n_out = len(monitor.run(analysis, streaming=True).to_df())
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB
    print(json.dumps({"fit_s": fitted - start, "run_s": done - fitted, "peak_gib": peak, "result_rows": n_out}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=lambda s: int(s.replace("_", "")), default=100_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("SEISMO_BIG_DIR", "/tmp/seismo-big")))
    parser.add_argument("--only", choices=["drift+quality", "monitor"], default=None)
    parser.add_argument("--generate-only", action="store_true", help="write the data set and stop")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    directory = args.dir / f"{args.rows}x{args.features}"
    if args.child:
        child(args.child, directory, args.rows, args.features)
        return
    t = time.perf_counter()
    generate(directory, args.rows, args.features)
    size = sum(f.stat().st_size for f in directory.glob("*.parquet")) / 1024**3
    print(f"data: {args.rows:,} rows x {args.features} features, {size:.1f} GiB of parquet in {directory} "
          f"(ready in {time.perf_counter() - t:.0f} s)")
    if args.generate_only:
        return
    cores = len(os.sched_getaffinity(0))
    print(f"machine: {cores} cores, load average {os.getloadavg()[0]:.1f} at start\n")
    print(f"{'work':<15} {'fit s':>7} {'run s':>8} {'rows/s':>12} {'values/s/core':>14} {'peak RSS':>9}")
    for kind in [args.only] if args.only else ["drift+quality", "monitor"]:
        r = _run_child(kind, args.dir, args.rows, args.features)
        rate = args.rows / r["run_s"]
        per_core = rate * args.features / cores
        print(f"{kind:<15} {r['fit_s']:>7.1f} {r['run_s']:>8.1f} {rate:>12,.0f} {per_core:>14,.0f} "
              f"{r['peak_gib']:>7.2f} GiB", flush=True)


if __name__ == "__main__":
    main()
