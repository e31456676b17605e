"""False alarms and detection of univariate drift thresholds, seismo against NannyML 0.13.1.

Run: ``python benchmarks/alarms.py [--quick] [--replicates R] [--nannyml-replicates R]
[--rate 0.001] [--no-nannyml] [--json FILE]``. The table it prints is recorded in
docs/thresholds.md.

Each of ten column *shapes* is drawn ``--replicates`` times as independent columns of one
frame (a column is a replicate: its thresholds are learned from its own reference). Per
column: a reference of ``REF_CHUNKS`` chunks of ``CHUNK`` rows, then analysis chunks of the
same size: ``NULL_CHUNKS`` drawn from the reference's distribution (every alert there is a
false alarm), then ``SHIFT_CHUNKS`` per fixed shift:

* numeric shapes: the mean moves by 0.1 σ and by 0.25 σ, the spread grows ×1.15 about the mean;
* categorical shapes: 5 percentage points of probability move from the ten most frequent
  categories to the next ten (binary: from one value to the other).

Shapes with values on a lattice (counts, zero-inflated counts, heavily tied values) are
shifted on the lattice: the shifted value is rounded stochastically to a neighbouring
lattice point, which keeps the shifted mean and the lattice. Numeric shapes are stored as
float64, so both libraries treat them as continuous.

Three rule sets see the same cells: seismo's default (``FalseAlarmThreshold`` at
``--rate``), seismo's previous default (``StandardDeviationThreshold``: mean + 3 SD of the
reference values, larger of the contiguous and resampled spreads), and NannyML's
``UnivariateDriftCalculator`` defaults (mean + 3 SD of its in-sample reference chunks;
chi2 alerts on p < 0.05), run in ``benchmarks/.venv-nannyml`` on the first
``--nannyml-replicates`` columns, read from the same parquet files.

Per method × shape it prints the false-alarm rate per cell (with its count), the
detection rate per shift, and, for seismo's default, the detection rate at NannyML's
measured false-alarm rate: each tool's alert is ``value > threshold``; rescaling the
thresholds of every cell by one factor, chosen so that seismo's null cells alert at
NannyML's rate, compares the two at equal false-alarm rates (``matched``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CHUNK = 1_000
REF_CHUNKS = 10
NULL_CHUNKS = 60
SHIFT_CHUNKS = 10
NUMERIC_SHIFTS = {"mean+0.1σ": ("mean", 0.1), "mean+0.25σ": ("mean", 0.25), "scale×1.15": ("scale", 1.15)}
CATEGORICAL_SHIFTS = {"mix 5pp": ("mix", 0.05)}
SEISMO_CONTINUOUS = ["kolmogorov_smirnov", "wasserstein", "jensen_shannon", "hellinger", "psi"]
SEISMO_CATEGORICAL = ["jensen_shannon", "hellinger", "psi", "chi2", "l_infinity"]
NANNYML_CONTINUOUS = ["kolmogorov_smirnov", "wasserstein", "jensen_shannon", "hellinger"]
NANNYML_CATEGORICAL = ["chi2", "jensen_shannon", "hellinger", "l_infinity"]


# ---------------------------------------------------------------- shapes


def _zipf(k: int) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1) ** 1.1
    return p / p.sum()


CATEGORY_PROBS = {"binary": np.array([0.7, 0.3]), "categorical_200": _zipf(200)}


def _lattice(values: np.ndarray, step: float, rng: np.random.Generator) -> np.ndarray:
    """Stochastic rounding to multiples of ``step``: the mean is kept, the lattice too."""
    scaled = values / step
    low = np.floor(scaled)
    return (low + (rng.random(values.shape) < scaled - low)) * step


def draw_numeric(shape: str, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    if shape == "normal":
        return rng.normal(10.0, 2.0, size)
    if shape == "lognormal":
        return rng.lognormal(0.0, 1.0, size)
    if shape == "student_t3":
        return rng.standard_t(3, size)
    if shape == "uniform":
        return rng.uniform(0.0, 1.0, size)
    if shape == "bimodal":
        return np.where(rng.random(size) < 0.4, rng.normal(-2.0, 0.7, size), rng.normal(2.0, 1.0, size))
    if shape == "counts":
        return rng.poisson(3.0, size).astype(float)
    if shape == "zero_inflated":
        return np.where(rng.random(size) < 0.6, 0.0, rng.poisson(4.0, size)).astype(float)
    if shape == "heavily_tied":
        return np.round(rng.normal(50.0, 12.0, size), -1)  # about seven distinct values
    raise ValueError(shape)


LATTICE = {"counts": 1.0, "zero_inflated": 1.0, "heavily_tied": 10.0}
NUMERIC = ["normal", "lognormal", "student_t3", "uniform", "bimodal", "counts", "zero_inflated", "heavily_tied"]
SHAPES = NUMERIC + list(CATEGORY_PROBS)


def population_moments(shape: str) -> tuple[float, float]:
    """Mean and σ of a numeric shape, from one large draw (fixed seed)."""
    big = draw_numeric(shape, (2_000_000, 1), np.random.default_rng(12345)).ravel()
    return float(big.mean()), float(big.std())


def shift_numeric(shape: str, values: np.ndarray, kind: str, amount: float, rng: np.random.Generator) -> np.ndarray:
    mu, sigma = population_moments(shape)
    shifted = values + amount * sigma if kind == "mean" else mu + amount * (values - mu)
    return _lattice(shifted, LATTICE[shape], rng) if shape in LATTICE else shifted


def draw_categories(shape: str, size: tuple[int, int], rng: np.random.Generator, move: float = 0.0) -> np.ndarray:
    p = CATEGORY_PROBS[shape].copy()
    if move:
        if len(p) == 2:
            p = p + np.array([-move, move])
        else:
            top, nxt = slice(0, 10), slice(10, 20)
            p[top] -= move * p[top] / p[top].sum()
            p[nxt] += move * p[nxt] / p[nxt].sum()
    codes = rng.choice(len(p), size=size, p=p)
    return codes


def build_shape(shape: str, replicates: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Reference and analysis frames of one shape, one column per replicate, and the block of each analysis chunk."""
    rng = np.random.default_rng([seed, SHAPES.index(shape)])
    columns = [f"{shape}_{r}" for r in range(replicates)]
    ref_rows, null_rows = REF_CHUNKS * CHUNK, NULL_CHUNKS * CHUNK
    shift_rows = SHIFT_CHUNKS * CHUNK
    blocks = ["null"] * NULL_CHUNKS
    if shape in CATEGORY_PROBS:
        shifts = CATEGORICAL_SHIFTS
        base = draw_categories(shape, (ref_rows + null_rows, replicates), rng)
        parts = [base]
        for name, (_, amount) in shifts.items():
            parts.append(draw_categories(shape, (shift_rows, replicates), rng, move=amount))
            blocks += [name] * SHIFT_CHUNKS
        values = np.char.add("c", np.concatenate(parts).astype(str)).astype(object)
    else:
        shifts = NUMERIC_SHIFTS
        parts = [draw_numeric(shape, (ref_rows + null_rows, replicates), rng)]
        for name, (kind, amount) in shifts.items():
            fresh = draw_numeric(shape, (shift_rows, replicates), rng)
            parts.append(shift_numeric(shape, fresh, kind, amount, rng))
            blocks += [name] * SHIFT_CHUNKS
        values = np.concatenate(parts)
    frame = pd.DataFrame(values, columns=columns)
    frame["timestamp"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(len(frame)), unit="min")
    return frame.iloc[:ref_rows].reset_index(drop=True), frame.iloc[ref_rows:].reset_index(drop=True), blocks


# ---------------------------------------------------------------- runs


def run_seismo(reference: pd.DataFrame, analysis: pd.DataFrame, columns: list[str], categorical: bool,
               thresholds: dict | None) -> pd.DataFrame:
    import seismo

    kind = "categorical" if categorical else "continuous"
    methods = SEISMO_CATEGORICAL if categorical else SEISMO_CONTINUOUS
    calc = seismo.UnivariateDrift(columns=columns, chunk_size=CHUNK, methods=methods, thresholds=thresholds,
                                  column_types={c: kind for c in columns}).fit(reference)
    df = calc.calculate(analysis).filter(period="analysis").to_df()
    return pd.DataFrame({"column": df["column"], "method": df["metric"], "chunk": df["chunk_index"],
                         "value": df["value"], "upper": df["upper_threshold"], "alert": df["alert"]})


def seismo_shape(job: tuple) -> tuple[str, dict, list[str], dict | None]:
    """One shape: its data, seismo's default and previous rule, and NannyML's input files."""
    import seismo

    shape, replicates, nml_replicates, seed, rate, directory = job
    reference, analysis, blocks = build_shape(shape, replicates, seed)
    columns = [c for c in reference.columns if c != "timestamp"]
    categorical = shape in CATEGORY_PROBS
    methods = set(SEISMO_CONTINUOUS + SEISMO_CATEGORICAL)
    new = {m: seismo.FalseAlarmThreshold(rate, sides="upper") for m in methods}
    old = {m: seismo.StandardDeviationThreshold(None, 3.0) for m in methods}
    few = columns[:nml_replicates]
    cells = {"seismo": run_seismo(reference, analysis, columns, categorical, new),
             "seismo_sd": run_seismo(reference[few], analysis[few], few, categorical, old)}
    meta = None
    if directory is not None:
        reference[few + ["timestamp"]].to_parquet(Path(directory) / f"{shape}_reference.parquet")
        analysis[few + ["timestamp"]].to_parquet(Path(directory) / f"{shape}_analysis.parquet")
        meta = {"columns": few, "categorical": categorical}
    return shape, cells, blocks, meta


def nannyml_worker(directory: str) -> None:
    """In NannyML's interpreter: every shape's parquet pair in ``directory`` → alerts.parquet per shape."""
    import warnings

    import nannyml as nml

    warnings.filterwarnings("ignore")
    meta = json.loads((Path(directory) / "meta.json").read_text())
    for shape, info in meta.items():
        reference = pd.read_parquet(Path(directory) / f"{shape}_reference.parquet")
        analysis = pd.read_parquet(Path(directory) / f"{shape}_analysis.parquet")
        columns = info["columns"]
        calc = nml.UnivariateDriftCalculator(
            column_names=columns, timestamp_column_name="timestamp", chunk_size=CHUNK,
            continuous_methods=NANNYML_CONTINUOUS, categorical_methods=NANNYML_CATEGORICAL,
            treat_as_categorical=columns if info["categorical"] else None)
        calc.fit(reference)
        df = calc.calculate(analysis).filter(period="analysis").to_df()
        rows = []
        for column in columns:
            for method in NANNYML_CATEGORICAL if info["categorical"] else NANNYML_CONTINUOUS:
                part = df[column][method]
                rows.append(pd.DataFrame({
                    "column": column, "method": method, "chunk": np.arange(len(part)),
                    "value": part["value"].to_numpy(dtype=float),
                    "upper": part["upper_threshold"].to_numpy(dtype=float) if "upper_threshold" in part else np.nan,
                    "alert": part["alert"].to_numpy(dtype=bool)}))
        pd.concat(rows).to_parquet(Path(directory) / f"{shape}_nannyml.parquet")
        print(f"nannyml {shape} done", file=sys.stderr, flush=True)


def run_nannyml(directory: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from vs_nannyml import nannyml_python

    env = {**os.environ, "NML_DISABLE_USAGE_LOGGING": "1", "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([str(nannyml_python()), str(Path(__file__).resolve()), "--nannyml-worker", str(directory)],
                          check=False, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"NannyML failed:\n{done.stderr[-3000:]}")


# ---------------------------------------------------------------- scoring


def rates(cells: pd.DataFrame, blocks: list[str]) -> pd.DataFrame:
    """Alert rate per method × block, with the cell count."""
    cells = cells.assign(block=np.asarray(blocks)[cells["chunk"].to_numpy()])
    return cells.groupby(["method", "block"])["alert"].agg(["mean", "size", "sum"])


def matched_detection(cells: pd.DataFrame, blocks: list[str], target_fa: float) -> dict[str, float]:
    """Detection per shift when every cell's threshold is scaled by one factor so that the
    null cells alert at ``target_fa`` (ties broken towards fewer alerts)."""
    block = np.asarray(blocks)[cells["chunk"].to_numpy()]
    ratio = cells["value"].to_numpy() / np.maximum(cells["upper"].to_numpy(), 1e-300)
    null = np.sort(ratio[block == "null"])
    k = int(np.floor(target_fa * null.size))  # at most k null alerts
    cut = null[-k - 1] if k < null.size else -np.inf
    return {b: float(np.mean(ratio[block == b] > cut)) for b in dict.fromkeys(blocks) if b != "null"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 replicates (5 for NannyML and the old rule)")
    parser.add_argument("--replicates", type=int, default=50)
    parser.add_argument("--nannyml-replicates", type=int, default=20,
                        help="replicates NannyML and seismo's previous rule run on (their rates are larger)")
    parser.add_argument("--rate", type=float, default=None, help="seismo's false_alarm_rate (default: seismo's)")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--no-nannyml", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--nannyml-worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.nannyml_worker:
        nannyml_worker(args.nannyml_worker)
        return

    from seismo.engine.thresholds import DEFAULT_FALSE_ALARM_RATE

    replicates = 10 if args.quick else args.replicates
    nml_replicates = min(5 if args.quick else args.nannyml_replicates, replicates)
    rate = DEFAULT_FALSE_ALARM_RATE if args.rate is None else args.rate
    shapes = args.shapes.split(",")
    started = time.perf_counter()
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        meta, blocks_of = {}, {}
        seismo_cells: dict[str, dict[str, pd.DataFrame]] = {}
        jobs = [(shape, replicates, nml_replicates, args.seed, rate, None if args.no_nannyml else str(directory))
                for shape in shapes]
        with multiprocessing.get_context("spawn").Pool(2) as pool:  # two cores: one shape each
            for shape, cells, blocks, nml_meta in pool.imap(seismo_shape, jobs):
                seismo_cells[shape], blocks_of[shape] = cells, blocks
                if nml_meta is not None:
                    meta[shape] = nml_meta
                print(f"seismo {shape} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
        if meta:
            (directory / "meta.json").write_text(json.dumps(meta))
            run_nannyml(directory)
            for shape in meta:
                seismo_cells[shape]["nannyml"] = pd.read_parquet(directory / f"{shape}_nannyml.parquet")

    print(f"\nseismo FalseAlarmThreshold(false_alarm_rate={rate}) vs StandardDeviationThreshold (old default, "
          f"mean + 3 SD) vs NannyML defaults; chunks of {CHUNK} rows, {REF_CHUNKS} reference chunks; "
          f"{replicates} replicates ({nml_replicates} for NannyML and the old rule) × {NULL_CHUNKS} null chunks per method × shape")
    header = (f"{'shape':<16}{'method':<19}{'tool':<10}{'FA':>8}{'cells':>7}  "
              + "".join(f"{s:>12}" for s in list(NUMERIC_SHIFTS) + list(CATEGORICAL_SHIFTS)))
    print(header)
    for shape in shapes:
        blocks = blocks_of[shape]
        shifts = list(CATEGORICAL_SHIFTS if shape in CATEGORY_PROBS else NUMERIC_SHIFTS)
        tables = {tool: rates(cells, blocks) for tool, cells in seismo_cells[shape].items()}
        methods = sorted(set(SEISMO_CATEGORICAL if shape in CATEGORY_PROBS else SEISMO_CONTINUOUS)
                         | set(NANNYML_CATEGORICAL if shape in CATEGORY_PROBS else NANNYML_CONTINUOUS))
        for method in methods:
            for tool, table in tables.items():
                if method not in table.index.get_level_values(0):
                    continue
                row = table.loc[method]
                fa, cells = row.loc["null", "mean"], int(row.loc["null", "size"])
                detection = {s: float(row.loc[s, "mean"]) for s in shifts}
                entry = {"fa": float(fa), "null_cells": cells, "detection": detection}
                if tool == "seismo" and "nannyml" in tables and method in tables["nannyml"].index.get_level_values(0):
                    target = float(tables["nannyml"].loc[(method, "null"), "mean"])
                    cells_df = seismo_cells[shape]["seismo"]
                    entry["matched"] = matched_detection(cells_df[cells_df["method"] == method], blocks, target)
                    entry["matched_fa"] = target
                results.setdefault(shape, {}).setdefault(method, {})[tool] = entry
                line = f"{shape:<16}{method:<19}{tool:<10}{fa:>8.4f}{cells:>7}  " + "".join(
                    f"{detection.get(s, np.nan):>12.3f}" if s in shifts else f"{'':>12}"
                    for s in list(NUMERIC_SHIFTS) + list(CATEGORICAL_SHIFTS))
                print(line)
                if "matched" in entry:
                    print(f"{'':<16}{'':<19}{'matched':<10}{entry['matched_fa']:>8.4f}{'':>7}  " + "".join(
                        f"{entry['matched'][s]:>12.3f}" if s in shifts else f"{'':>12}"
                        for s in list(NUMERIC_SHIFTS) + list(CATEGORICAL_SHIFTS)))
    print(f"\n{time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
