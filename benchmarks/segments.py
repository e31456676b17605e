"""Segments: false alarms under multiple testing, detection in one segment of many, and speed.

Run: ``python benchmarks/segments.py alarms [--segments 20] [--rate 0.05] [--chunks 200]``,
``python benchmarks/segments.py speed [--rows 10000000] [--segments 100] [--columns 5]``.
The tables it prints are recorded in docs/segments.md and docs/performance.md.

*alarms*: ``--segments`` segments of equal size, every row drawn from one distribution (no
drift anywhere), a continuous and a categorical column. UnivariateDrift (Kolmogorov-Smirnov and
Jensen-Shannon on the continuous column, chi2 and Jensen-Shannon on the categorical one) and
DataQuality (the continuous column's mean) run with ``segments=["segment"]``, once with
``segment_correction="bonferroni"`` (the default) and once with ``"none"``. A *family* is one
chunk x column x metric; it has a false alarm when any of its segment cells alerts. The
stated rate is ``--rate``. Then the continuous column of one segment moves by 0.2, 0.3 and 0.5
standard deviations in the last chunks, and the detection rate is the share of those chunks
where that segment's Kolmogorov-Smirnov alerts (the other segments' alerts are counted too).

*speed*: ``--rows`` rows in ``--chunks`` chunks, ``--columns`` continuous columns and one
categorical column, written as parquet files; UnivariateDrift (default methods) and DataQuality
fit on an in-memory reference (a tenth of the rows, at most 500,000) and calculate over the
files streamed in batches of 1M rows, without segments and with ``--segments`` segments. Each
configuration runs in its own process, so its peak resident memory is its own. The fit and the
calculation are timed apart.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

import seismo


def _rows(n: int, n_segments: int, seed: int, start: str = "2024-01-01") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "timestamp": pd.date_range(start, periods=n, freq="s"),
        "segment": np.char.add("s", (np.arange(n) % n_segments).astype(str)),
        "x": rng.normal(size=n),
        "c": rng.choice(list("abcdef"), n, p=[0.3, 0.25, 0.2, 0.12, 0.08, 0.05]),
    })


def alarm_rates(n_segments: int = 20, rows_per_segment: int = 250, reference_chunks: int = 40,
                chunks: int = 200, rate: float = 0.05, seed: int = 0) -> dict:
    """Family-wise false-alarm rates with and without the correction, and detection in one segment."""
    chunk = n_segments * rows_per_segment
    reference = _rows(reference_chunks * chunk, n_segments, seed)
    analysis = _rows(chunks * chunk, n_segments, seed + 1, start="2030-01-01")
    shifts = (0.2, 0.3, 0.5)
    shifted_chunks = 20
    moved = analysis.copy()
    target = moved["segment"] == "s7"
    for i, delta in enumerate(shifts):  # the last chunks, shifted_chunks per size
        lo = (chunks - shifted_chunks * (len(shifts) - i)) * chunk
        rows = target & (moved.index >= lo) & (moved.index < lo + shifted_chunks * chunk)
        moved.loc[rows, "x"] += delta
    out: dict = {"segments": n_segments, "rows_per_segment": rows_per_segment, "rate": rate,
                 "null_chunks": chunks}
    for correction in ("bonferroni", "none"):
        args = dict(timestamp="timestamp", chunk_size=chunk, segments=["segment"], false_alarm_rate=rate,
                    segment_correction=correction)
        drift = seismo.UnivariateDrift(columns=["x", "c"], methods=["kolmogorov_smirnov", "jensen_shannon", "chi2"],
                                       **args).fit(reference)
        quality = seismo.DataQuality(columns=["x"], metrics=["mean"], **args).fit(reference)
        null = pd.concat([drift.calculate(analysis).to_df(), quality.calculate(analysis).to_df()])
        cells = null[(null.period == "analysis") & null.segment.notna() & (null.metric != "segment_share")]
        families = cells.groupby(["chunk_index", "column", "metric"])["alert"].any()
        per_metric = families.groupby(level=["column", "metric"]).mean().round(4)
        out[correction] = {"family_rate": float(families.mean()), "families": int(families.size),
                           "cell_rate": float(cells["alert"].mean()),
                           "per_metric": {f"{c} {m}": v for (c, m), v in per_metric.items()}}
        shifted = drift.calculate(moved).to_df()
        ks = shifted[(shifted.period == "analysis") & (shifted.metric == "kolmogorov_smirnov")
                     & (shifted.column == "x") & shifted.segment.notna()]
        detection = {}
        for i, delta in enumerate(shifts):
            first = chunks - shifted_chunks * (len(shifts) - i)
            window = ks[(ks.chunk_index >= first) & (ks.chunk_index < first + shifted_chunks)]
            hit = window[window.segment == "segment=s7"]["alert"].mean()
            others = window[window.segment != "segment=s7"].groupby("chunk_index")["alert"].any().mean()
            detection[delta] = {"detected": float(hit), "other_segment_alerts": float(others)}
        out[correction]["detection"] = detection
    return out


def _write_data(folder: str, rows: int, columns: int, n_segments: int) -> None:
    """The analysis (``rows`` rows, parquet files of 1M rows) and a reference of a tenth of it, at most 500,000."""
    import pathlib

    out = pathlib.Path(folder)
    (out / "analysis").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    step = 1_000_000
    for i, lo in enumerate(range(0, rows, step)):
        n = min(step, rows - lo)
        part = pd.DataFrame({f"x{j}": rng.normal(size=n) for j in range(columns)})
        part["c"] = rng.choice(list("abcdefgh"), n)
        part["segment"] = rng.integers(0, n_segments, n).astype(str)
        part.to_parquet(out / "analysis" / f"part-{i:04d}.parquet", index=False)
        if i == 0:
            part.iloc[: min(rows // 10, 500_000)].to_parquet(out / "reference.parquet", index=False)


def _one_speed(folder: str, chunks: int, columns: int, n_segments: int) -> dict:
    """Fit on the in-memory reference, then calculate over the analysis files streamed in batches."""
    reference = pd.read_parquet(f"{folder}/reference.parquet")
    names = [*(f"x{i}" for i in range(columns)), "c"]
    segments = ["segment"] if n_segments else None
    times = {}
    rows = 0
    for cls in (seismo.UnivariateDrift, seismo.DataQuality):
        started = time.perf_counter()
        calc = cls(columns=names, chunk_number=chunks, segments=segments, min_segment_rows=1).fit(reference)
        fitted = time.perf_counter()
        result = calc.calculate(f"{folder}/analysis", streaming=True)
        times[cls.__name__] = {"fit_s": fitted - started, "calculate_s": time.perf_counter() - fitted,
                               "result_rows": len(result)}
        rows = int(result.to_df()["chunk_end_index"].max()) + 1
    return {"rows": rows, "segments": n_segments, "times": times,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def speed(rows: int, chunks: int, columns: int, n_segments: int) -> list[dict]:
    import tempfile

    out = []
    with tempfile.TemporaryDirectory() as folder:
        _write_data(folder, rows, columns, n_segments)
        for segments in (0, n_segments):
            code = (f"import json, sys; sys.path.insert(0, 'benchmarks'); from segments import _one_speed; "
                    f"print(json.dumps(_one_speed({folder!r}, {chunks}, {columns}, {segments})))")
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["alarms", "speed"])
    parser.add_argument("--segments", type=int, default=None)
    parser.add_argument("--rate", type=float, default=0.05)
    parser.add_argument("--chunks", type=int, default=None)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--columns", type=int, default=5)
    args = parser.parse_args()
    if args.what == "alarms":
        print(json.dumps(alarm_rates(args.segments or 20, chunks=args.chunks or 200, rate=args.rate), indent=1))
        return
    results = speed(args.rows, args.chunks or 100, args.columns, args.segments or 100)
    base = results[0]
    print(f"{args.rows:,} rows, {args.columns} continuous + 1 categorical columns, {args.chunks or 100} chunks")
    print("| calculator | segments | fit s | calculate s | x without | result rows | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        for name, t in r["times"].items():
            ratio = t["calculate_s"] / base["times"][name]["calculate_s"]
            print(f"| {name} | {r['segments']} | {t['fit_s']:.1f} | {t['calculate_s']:.1f} | {ratio:.2f} | "
                  f"{t['result_rows']:,} | {r['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
