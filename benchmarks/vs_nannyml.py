"""seismo against NannyML 0.13.1: the same data and the same work, on the same machine, in one run.

Run: ``python benchmarks/vs_nannyml.py [--sizes 100k,1M,10M] [--repeat N]
[--reference-rows 100k] [--components cbpe,drift,pca,realized]
[--libraries nannyml,seismo,seismo-stream] [--json FILE]``. Results and the
machine they were measured on: docs/performance.md.

NannyML lives in its own virtual environment, ``benchmarks/.venv-nannyml``,
created on first use with ``nannyml==0.13.1`` and ``pandas<3`` (NannyML's DLE
breaks on pandas 3; statsmodels is imported by NannyML but not declared).
seismo runs in the interpreter that runs this script.

The data is a car-loan-like binary problem: 7 continuous and 5 categorical
features, ``y_pred_proba``, ``y_pred``, ``y_true`` and ``timestamp``. The
reference is ``--reference-rows`` rows (default 100,000); the analysis has each
size's rows, the second half drifted (covariates and the label relation), and
is written once to parquet under ``benchmarks/.data``. Chunks hold
``rows / 100`` rows, so every analysis has 100 chunks; the reference is cut
into chunks of the same size (one chunk at 10M rows).

Every (library, component, size) runs in a fresh process, so its peak RSS
(``ru_maxrss``, which includes the interpreter, the imports and the loaded
frames) is its own. Both libraries read the parquet files with
``pandas.read_parquet`` (categoricals arrive as pandas categoricals) and only
the columns the component needs; that load is timed apart from the timed part,
``fit(reference)`` plus ``calculate``/``estimate(analysis)``. CBPE's analysis
is read without ``y_true``, so neither library computes realized values there.
A third variant, ``seismo-stream``, gives seismo the parquet paths: it reads
them itself (only the needed columns) and streams the analysis, so its time
includes the reading and its peak RSS never holds the whole frame; it is
compared with NannyML's load + fit + calculate in a second table.

Components and settings (defaults otherwise, on both sides):

* ``cbpe``: CBPE fit + estimate of roc_auc, f1, accuracy (seismo with
  ``trust=False``: its per-chunk trust diagnostics fit domain classifiers on the
  features, work NannyML's CBPE does not do);
* ``drift``: univariate drift of all 12 features, jensen_shannon and
  kolmogorov_smirnov on continuous, jensen_shannon and chi2 on categorical;
* ``pca``: PCA reconstruction drift (NannyML's DataReconstructionDriftCalculator,
  seismo's PCADrift) of all 12 features;
* ``realized``: realized roc_auc, f1, accuracy.

The tables report the fastest of ``--repeat`` runs and the largest peak RSS,
the ratios NannyML/seismo (above 1: seismo is faster / smaller), and the CPU
time (user + system, all threads) of the timed part, which other processes on
a shared machine disturb less than the wall time. A spot check per component
prints the number of analysis chunks and a value or two from each library:
realized metrics, chi2, KS and the PCA error match; Jensen-Shannon differs a
little (the libraries bin differently) and CBPE by calibration details.
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

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-nannyml"
DATA_DIR = HERE / ".data"
NANNYML_REQUIREMENTS = ["nannyml==0.13.1", "pandas<3", "pyarrow", "statsmodels"]
COMPONENTS = ("cbpe", "drift", "pca", "realized")
LIBRARIES = ("nannyml", "seismo", "seismo-stream")
N_CHUNKS = 100
DATA_VERSION = 1  # bump when the generator changes, so cached files are rewritten
BLOCK_ROWS = 1_000_000  # generation block: memory stays bounded at any size

CONTINUOUS = ["car_value", "annual_income", "debt_to_income_ratio", "driver_tenure", "age", "credit_score",
              "interest_rate"]
CATEGORIES = {
    "salary_range": ["0-20K", "20-40K", "40-60K", "60K+"],
    "size_of_downpayment": ["0%", "10%", "20%", "30%", "40%", "50%"],
    "region": ["north", "south", "east", "west", "centre", "coast", "mountain", "island"],
    "employment_type": ["salaried", "self_employed", "contract", "retired"],
    "repaid_loan_on_time": ["no", "yes"],
}
FEATURES = CONTINUOUS + list(CATEGORIES)
MODEL_COLUMNS = ["y_pred_proba", "y_pred", "y_true"]
METRICS = ["roc_auc", "f1", "accuracy"]
SPEED_TARGET = {"cbpe": 5, "drift": 10, "pca": 10, "realized": 5}  # issue 6, at 10M rows
MEMORY_TARGET = 3


# ---------------------------------------------------------------- data


def parse_size(text: str) -> int:
    """``"100k"`` -> 100_000, ``"1M"`` -> 1_000_000, ``"2500"`` -> 2_500."""
    text = text.strip()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    number = text[:-1] if scale > 1 else text
    try:
        return int(float(number) * scale)
    except ValueError:
        raise SystemExit(f"--sizes: cannot read {text!r} as a row count (e.g. 100k, 1M, 10M)") from None


def _label(rows: int) -> str:
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}M"
    return f"{rows // 1_000}k" if rows % 1_000 == 0 else str(rows)


def _block(rng, n: int, drifted):
    """``n`` loan applications; ``drifted`` (bool per row) shifts covariates and the label relation."""
    import numpy as np
    import pandas as pd

    income = rng.lognormal(10.6, 0.45, n) * np.where(drifted, 0.9, 1.0)
    car_value = income * rng.uniform(0.3, 0.9, n) * np.where(drifted, 1.2, 1.0)
    debt = np.where(drifted, rng.beta(3, 5, n), rng.beta(2, 5, n))
    tenure = rng.gamma(2.0, 2.5, n)
    age = np.clip(rng.normal(42, 12, n), 18, 80)
    credit = np.clip(rng.normal(680, 60, n), 300, 850)
    rate = 3.0 + (850 - credit) / 100 + rng.normal(0, 0.5, n)
    salary = np.digitize(income, [20_000, 40_000, 60_000])
    downpayment = rng.choice(6, n, p=[0.25, 0.25, 0.2, 0.15, 0.1, 0.05])
    region = rng.integers(0, 8, n)
    employment = np.where(drifted, rng.choice(4, n, p=[0.45, 0.3, 0.2, 0.05]),
                          rng.choice(4, n, p=[0.6, 0.2, 0.15, 0.05]))
    repaid_before = (rng.random(n) < 0.85).astype(np.int8)
    # The model's score, and the truth it was trained on; after the drift the
    # truth moves away from the score, so the performance drops.
    logit = (1.2 - 4.0 * debt + 0.6 * repaid_before + 0.3 * downpayment + 0.004 * (credit - 680)
             - 0.15 * (employment == 2) + 0.5 * np.log(income / car_value))
    proba = 1 / (1 + np.exp(-logit))
    true_logit = logit + np.where(drifted, -0.8 + 2.0 * (debt - 0.35), 0.0)
    y_true = (rng.random(n) < 1 / (1 + np.exp(-true_logit))).astype(np.int64)
    frame = {
        "car_value": car_value.round(0), "annual_income": income.round(0), "debt_to_income_ratio": debt,
        "driver_tenure": tenure, "age": age.round(1), "credit_score": credit.round(0), "interest_rate": rate,
    }
    codes = {"salary_range": salary, "size_of_downpayment": downpayment, "region": region,
             "employment_type": employment, "repaid_loan_on_time": repaid_before}
    for name, values in codes.items():
        frame[name] = pd.Categorical.from_codes(values, categories=CATEGORIES[name])
    frame.update({"y_pred_proba": proba, "y_pred": (proba >= 0.5).astype(np.int64), "y_true": y_true})
    return pd.DataFrame(frame)


def write_dataset(path: Path, rows: int, seed: int, start: str, drift_from: int | None) -> None:
    """Write ``rows`` rows to ``path`` in blocks, one second apart from ``start``; rows at and
    after ``drift_from`` are drifted (``None``: none are)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    writer = None
    try:
        for first in range(0, rows, BLOCK_ROWS):
            n = min(BLOCK_ROWS, rows - first)
            position = np.arange(first, first + n)
            drifted = np.zeros(n, bool) if drift_from is None else position >= drift_from
            block = _block(rng, n, drifted)
            block["timestamp"] = pd.Timestamp(start) + pd.to_timedelta(position, unit="s")
            table = pa.Table.from_pandas(block, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    tmp.rename(path)


def dataset(rows: int, reference_rows: int) -> tuple[Path, Path]:
    """Paths of the reference and analysis parquet files, written if absent."""
    DATA_DIR.mkdir(exist_ok=True)
    reference = DATA_DIR / f"reference_{reference_rows}_v{DATA_VERSION}.parquet"
    analysis = DATA_DIR / f"analysis_{rows}_v{DATA_VERSION}.parquet"
    if not reference.exists():
        print(f"writing {reference.name}", file=sys.stderr)
        write_dataset(reference, reference_rows, seed=0, start="2023-01-01", drift_from=None)
    if not analysis.exists():
        print(f"writing {analysis.name}", file=sys.stderr)
        write_dataset(analysis, rows, seed=1, start="2024-01-01", drift_from=rows // 2)
    return reference, analysis


def nannyml_python() -> Path:
    """The NannyML environment's interpreter, created and installed on first use."""
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV} with {' '.join(NANNYML_REQUIREMENTS)}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *NANNYML_REQUIREMENTS], check=True)
    return python


# ---------------------------------------------------------------- workers (one component per process)


def _columns(component: str, side: str) -> list[str]:
    if component in ("drift", "pca"):
        return FEATURES + ["timestamp"]
    if component == "cbpe" and side == "analysis":
        return ["y_pred_proba", "y_pred", "timestamp"]
    return MODEL_COLUMNS + ["timestamp"]


def _nannyml(component: str, reference, analysis, chunk_size: int):
    """Fit and calculate with NannyML; returns (fit_s, run_s, spot-check values)."""
    import nannyml as nml

    common = {"timestamp_column_name": "timestamp", "chunk_size": chunk_size}
    model = {"y_pred_proba": "y_pred_proba", "y_pred": "y_pred", "y_true": "y_true", "metrics": METRICS,
             "problem_type": "classification_binary"}
    if component == "cbpe":
        calc = nml.CBPE(**model, **common)
    elif component == "realized":
        calc = nml.PerformanceCalculator(**model, **common)
    elif component == "drift":
        calc = nml.UnivariateDriftCalculator(
            column_names=FEATURES, continuous_methods=["jensen_shannon", "kolmogorov_smirnov"],
            categorical_methods=["jensen_shannon", "chi2"], **common)
    else:
        calc = nml.DataReconstructionDriftCalculator(column_names=FEATURES, **common)
    start = time.perf_counter()
    calc.fit(reference)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    result = calc.estimate(analysis) if component == "cbpe" else calc.calculate(analysis)
    run_s = time.perf_counter() - start

    df = result.filter(period="analysis").to_df()
    if component in ("cbpe", "realized"):
        spot = {"roc_auc first": df[("roc_auc", "value")].iloc[0], "roc_auc last": df[("roc_auc", "value")].iloc[-1]}
    elif component == "drift":
        spot = {"car_value JS last": df[("car_value", "jensen_shannon", "value")].iloc[-1],
                "car_value KS last": df[("car_value", "kolmogorov_smirnov", "value")].iloc[-1],
                "employment_type chi2 last": df[("employment_type", "chi2", "value")].iloc[-1]}
    else:
        values = df[("reconstruction_error", "value")]
        spot = {"error first": values.iloc[0], "error last": values.iloc[-1]}
    return fit_s, run_s, len(df), spot


def _seismo(component: str, reference, analysis, chunk_size: int, stream: bool = False):
    """Fit and calculate with seismo; returns (fit_s, run_s, spot-check values).

    ``stream``: ``reference`` and ``analysis`` are the parquet paths, and the analysis is
    streamed.
    """
    # seismo imports scikit-learn and LightGBM where it first uses them; NannyML imports them
    # with itself. Import them here too, so that neither library's timed part pays for imports.
    import lightgbm  # noqa: F401
    import sklearn.isotonic  # noqa: F401
    import sklearn.model_selection  # noqa: F401

    import seismo

    common = {"timestamp": "timestamp", "chunk_size": chunk_size}
    model = {"y_pred_proba": "y_pred_proba", "y_pred": "y_pred", "y_true": "y_true", "metrics": METRICS}
    if component == "cbpe":  # trust=False: NannyML has no per-chunk trust diagnostics (domain classifiers)
        calc = seismo.CBPE("binary", **model, **common, trust=False)
    elif component == "realized":
        calc = seismo.RealizedPerformance("binary", **model, **common)
    elif component == "drift":
        calc = seismo.UnivariateDrift(columns=FEATURES, methods=["jensen_shannon", "kolmogorov_smirnov", "chi2"],
                                      **common)
    else:
        calc = seismo.PCADrift(columns=FEATURES, **common)
    start = time.perf_counter()
    calc.fit(reference)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    if component == "cbpe":
        result = calc.estimate(analysis, streaming=True) if stream else calc.estimate(analysis)
    else:
        result = calc.calculate(analysis, streaming=True) if stream else calc.calculate(analysis)
    run_s = time.perf_counter() - start

    df = result.to_df()
    df = df[df["period"] == "analysis"]

    def value(metric: str, column: str | None = None, at: int = -1) -> float:
        rows = df[df["metric"] == metric]
        if column is not None:
            rows = rows[rows["column"] == column]
        return float(rows.sort_values("chunk_index")["value"].iloc[at])

    if component in ("cbpe", "realized"):
        spot = {"roc_auc first": value("roc_auc", at=0), "roc_auc last": value("roc_auc")}
    elif component == "drift":
        spot = {"car_value JS last": value("jensen_shannon", "car_value"),
                "car_value KS last": value("kolmogorov_smirnov", "car_value"),
                "employment_type chi2 last": value("chi2", "employment_type")}
    else:
        spot = {"error first": value("pca_reconstruction_error", at=0),
                "error last": value("pca_reconstruction_error")}
    return fit_s, run_s, int(df["chunk_index"].nunique()), spot


def worker(library: str, component: str, reference_path: str, analysis_path: str, chunk_size: int) -> None:
    """Load, fit and calculate one component; print one JSON line of timings, peak RSS and spot values."""
    import pandas as pd

    cpu_before = _cpu_seconds()
    if library == "seismo-stream":  # seismo reads the files itself: the reading is in fit/calculate
        load_s = 0.0
        fit_s, run_s, n_chunks, spot = _seismo(component, reference_path, analysis_path, chunk_size, stream=True)
    else:
        start = time.perf_counter()
        reference = pd.read_parquet(reference_path, columns=_columns(component, "reference"))
        analysis = pd.read_parquet(analysis_path, columns=_columns(component, "analysis"))
        load_s = time.perf_counter() - start
        cpu_before = _cpu_seconds()
        run = _nannyml if library == "nannyml" else _seismo
        fit_s, run_s, n_chunks, spot = run(component, reference, analysis, chunk_size)
    cpu_s = _cpu_seconds() - cpu_before  # includes the few spot-check reads of the result
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    print(json.dumps({"load_s": load_s, "fit_s": fit_s, "run_s": run_s, "seconds": fit_s + run_s, "cpu_s": cpu_s,
                      "peak_rss": peak, "chunks": n_chunks, "spot": {k: float(v) for k, v in spot.items()}}))


def _cpu_seconds() -> float:
    """User + system CPU time of this process, all threads: robust to other processes on the machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- driver


def measure(library: str, component: str, reference: Path, analysis: Path, rows: int) -> dict:
    """Run one component in a fresh process of the library's interpreter."""
    python = nannyml_python() if library == "nannyml" else Path(sys.executable)
    env = {**os.environ, "NML_DISABLE_USAGE_LOGGING": "1", "PYTHONWARNINGS": "ignore"}
    command = [str(python), str(Path(__file__).resolve()), "--worker", library, component, str(reference),
               str(analysis), str(rows // N_CHUNKS)]
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{library} {component} at {rows:,} rows failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best(runs: list[dict]) -> dict:
    """Fastest run's timings; the largest peak RSS of all runs."""
    fastest = min(runs, key=lambda r: r["seconds"])
    return {**fastest, "peak_rss": max(r["peak_rss"] for r in runs)}


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.2f}"


def revision() -> str:
    """The seismo checkout measured: commit, and whether the working tree had changes."""
    git = ["git", "-C", str(HERE)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], check=False, capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "src"], check=False, capture_output=True, text=True)
    commit, dirty = commit.stdout.strip(), dirty.stdout.strip()
    return f"{commit or 'unknown'}{' + uncommitted src changes' if dirty else ''}"


def print_table(rows: list[dict]) -> None:
    """Markdown tables: time and peak RSS per component and size, with the NannyML/seismo ratios."""
    print(f"\nseismo {revision()}, NannyML 0.13.1; {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("\n| component | rows | NannyML s | seismo s | speed-up | target | CPU s (NML / seismo) | CPU ratio | "
          "NannyML GiB | seismo GiB | memory ratio | load s (NML / seismo) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        n, s = r["nannyml"], r["seismo"]
        print(f"| {r['component']} | {_label(r['rows'])} | {n['seconds']:.2f} | {s['seconds']:.2f} | "
              f"{n['seconds'] / s['seconds']:.1f}× | {SPEED_TARGET[r['component']]}× | "
              f"{n['cpu_s']:.1f} / {s['cpu_s']:.1f} | {n['cpu_s'] / s['cpu_s']:.1f}× | {_gib(n['peak_rss'])} | "
              f"{_gib(s['peak_rss'])} | {n['peak_rss'] / s['peak_rss']:.1f}× | "
              f"{n['load_s']:.2f} / {s['load_s']:.2f} |")
    print("\nTimes are wall seconds of fit + calculate/estimate (the fastest run), the frames already loaded; CPU s "
          "is that run's user + system time over all threads. Ratios are NannyML / seismo (above 1: seismo is "
          f"faster / smaller); targets at 10M rows: the speed-up shown, memory ratio ≥ {MEMORY_TARGET}×.")
    if any("seismo-stream" in r for r in rows):
        print("\nseismo reading the parquet files itself (analysis streamed), against NannyML's load + fit + "
              "calculate:\n")
        print("| component | rows | NannyML s (with load) | seismo s | speed-up | CPU s (NML / seismo) | NannyML GiB | "
              "seismo GiB | memory ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in (r for r in rows if "seismo-stream" in r):
            n, s = r["nannyml"], r["seismo-stream"]
            total = n["load_s"] + n["seconds"]
            print(f"| {r['component']} | {_label(r['rows'])} | {total:.2f} | {s['seconds']:.2f} | "
                  f"{total / s['seconds']:.1f}× | {n['cpu_s']:.1f} / {s['cpu_s']:.1f} | {_gib(n['peak_rss'])} | "
                  f"{_gib(s['peak_rss'])} | {n['peak_rss'] / s['peak_rss']:.1f}× |")
    print("\nSpot check (analysis chunks; NannyML / seismo):")
    for r in rows:
        n, s = r["nannyml"], r["seismo"]
        values = ", ".join(f"{k} {n['spot'][k]:.4g} / {s['spot'][k]:.4g}" for k in n["spot"])
        print(f"  {r['component']:8s} {_label(r['rows']):>4s}: chunks {n['chunks']} / {s['chunks']}; {values}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1M", help="analysis rows, comma-separated (default 100k,1M)")
    parser.add_argument("--reference-rows", default="100k", help="reference rows (default 100k)")
    parser.add_argument("--components", default=",".join(COMPONENTS), help=f"subset of {','.join(COMPONENTS)}")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest is reported")
    parser.add_argument("--libraries", default=",".join(LIBRARIES),
                        help="subset of nannyml,seismo,seismo-stream (seismo-stream: seismo reads the files itself)")
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    args = parser.parse_args(argv)
    components = [c.strip() for c in args.components.split(",")]
    unknown = [c for c in components if c not in COMPONENTS]
    if unknown:
        raise SystemExit(f"--components: unknown {unknown}; choose from {list(COMPONENTS)}")
    libraries = [lib.strip() for lib in args.libraries.split(",")]
    if any(lib not in LIBRARIES for lib in libraries):
        raise SystemExit(f"--libraries: choose from {', '.join(LIBRARIES)}; got {args.libraries!r}")
    reference_rows = parse_size(args.reference_rows)

    results = []
    for rows in (parse_size(s) for s in args.sizes.split(",")):
        reference, analysis = dataset(rows, reference_rows)
        for component in components:
            entry = {"component": component, "rows": rows, "reference_rows": reference_rows}
            for library in libraries:
                entry[library] = best([measure(library, component, reference, analysis, rows)
                                       for _ in range(args.repeat)])
                print(f"{component:8s} {_label(rows):>4s} {library:13s} {entry[library]['seconds']:7.2f} s "
                      f"(load {entry[library]['load_s']:.2f} s)  peak {_gib(entry[library]['peak_rss'])} GiB",
                      file=sys.stderr, flush=True)
            results.append(entry)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if {"nannyml", "seismo"} <= set(libraries):
        print_table(results)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        library, component, reference_path, analysis_path, chunk_size = sys.argv[2:7]
        worker(library, component, reference_path, analysis_path, int(chunk_size))
    else:
        main()
