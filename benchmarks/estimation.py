"""How good are seismo's label-free performance estimates? CBPE and DLE against realized metrics.

Run: ``python benchmarks/estimation.py [--quick] [--seeds N] [--only NAME ...] [--halves]``

Every case (the three `seismo.datasets` and the synthetic scenarios of
``benchmarks/scenarios.py``) is fitted on its labelled reference and estimated on
its analysis *with the labels present*, so each chunk's estimate can be compared
with the realized metric. Per case and metric the table reports, over the
analysis chunks of all seeds pooled:

* ``chunks``: number of analysis chunks;
* ``MAE``: mean |estimate - realized|;
* ``SE``: mean sampling error the estimator reports;
* ``MAE/SE``: MAE in units of the reported sampling error. If the estimate were
  the realized metric's expectation and SE its standard deviation, the difference
  would be N(0, SE²) and MAE/SE = sqrt(2/pi) ~ 0.80. Labels drawn given the
  rows vary less than the whole metric does, so a perfect estimator can score
  below 0.8; clearly above 1 means an error the band does not account for;
* ``bias/SE``: mean (estimate - realized) / mean SE (sign: + = optimistic for
  metrics where higher is better, pessimistic for losses);
* ``cover``: share of analysis chunks whose realized value lies inside
  [lower_confidence, upper_confidence] (estimate +- 3 SE, clipped);
* ``ref cover``: the same on the reference chunks (out-of-fold estimates);
* ``Δreal/SE``: (mean realized on the analysis - mean realized on the reference)
  / SE, how far the realized metric moved (the size of the thing to detect).

``run_scenario(name, seed)`` returns the per-metric numbers of one case and seed
as a DataFrame; the tests in ``tests/performance/test_estimation_quality.py`` reuse it.

LightGBM (DLE's loss models use 2 OpenMP threads by default) slows down 5-100x when
another process competes for the 2 cores while its threads spin-wait; this script
sets ``OMP_WAIT_POLICY=PASSIVE`` when run as a script (unless already set) so its timings stay sane on a
shared machine. It does not change any estimate.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

if __name__ == "__main__":  # a script run only (importers keep their environment); before lightgbm loads
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import scenarios  # noqa: E402

import seismo  # noqa: E402
from seismo import datasets  # noqa: E402

CLASSIFICATION_METRICS = ["roc_auc", "f1", "accuracy", "precision", "recall", "average_precision"]
REGRESSION_METRICS = ["mae", "rmse", "mse", "mape"]
COLUMNS = ["case", "seed", "metric", "chunks", "mae", "se", "mae_se", "bias_se", "coverage",
           "ref_chunks", "ref_coverage", "shift_se", "estimator", "calibration", "seconds"]


@dataclass(frozen=True)
class Case:
    """One benchmark case: labelled (reference, analysis) per seed, and the column roles."""

    name: str
    problem_type: str
    chunk_size: int
    load: Callable[[int], tuple[pd.DataFrame, pd.DataFrame]]
    y_true: str
    y_pred: str = "y_pred"
    y_pred_proba: str | dict | None = "y_pred_proba"
    features: list[str] = field(default_factory=list)
    description: str = ""


def _with_labels(loader: Callable, target: str) -> Callable[[int], tuple[pd.DataFrame, pd.DataFrame]]:
    def load(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        reference, analysis, targets = loader(seed=seed)
        return reference, analysis.merge(targets[["id", target]], on="id", how="left", validate="one_to_one")
    return load


def _dataset_features(loader: Callable, skip: set[str]) -> list[str]:
    reference, _, _ = loader(seed=0, n_reference=10, n_analysis=10)
    return [c for c in reference.columns if c not in skip]


def _cases() -> dict[str, Case]:
    cases = [
        Case("credit", "binary", 5_000, _with_labels(datasets.load_synthetic_credit, "defaulted"), "defaulted",
             description="seismo.datasets.load_synthetic_credit (covariate shift in 2nd half)"),
        Case("churn", "multiclass", 3_000, _with_labels(datasets.load_synthetic_churn, "churn"), "churn",
             y_pred_proba={"stay": "y_pred_proba_stay", "downgrade": "y_pred_proba_downgrade",
                           "leave": "y_pred_proba_leave"},
             description="seismo.datasets.load_synthetic_churn"),
        Case("house_prices", "regression", 3_000, _with_labels(datasets.load_synthetic_house_prices, "price"),
             "price", y_pred_proba=None,
             features=_dataset_features(datasets.load_synthetic_house_prices, {"id", "timestamp", "price", "y_pred"}),
             description="seismo.datasets.load_synthetic_house_prices"),
    ]
    for s in scenarios.SCENARIOS.values():
        cases.append(Case(s.name, s.problem_type, s.chunk_size, s.generate, s.y_true, s.y_pred, s.y_pred_proba,
                          list(s.features), s.description))
    return {c.name: c for c in cases}


CASES = _cases()
DATASET_CASES = ("credit", "churn", "house_prices")


def estimator_for(case: Case, metrics: list[str] | None = None, **options) -> seismo.CBPE | seismo.DLE:
    """The estimator a case is benchmarked with (defaults of seismo otherwise)."""
    if case.problem_type == "regression":
        return seismo.DLE(y_pred=case.y_pred, y_true=case.y_true, features=case.features,
                          chunk_size=case.chunk_size, metrics=metrics or REGRESSION_METRICS, **options)
    return seismo.CBPE(case.problem_type, y_pred_proba=case.y_pred_proba, y_pred=case.y_pred, y_true=case.y_true,
                       chunk_size=case.chunk_size, metrics=metrics or CLASSIFICATION_METRICS, **options)


def estimate_case(
    name: str, seed: int = 0, metrics: list[str] | None = None, **options
) -> tuple[pd.DataFrame, object]:
    """Fit on the case's reference, estimate its labelled analysis: the tidy frame and the estimator."""
    case = CASES[name]
    reference, analysis = case.load(seed)
    estimator = estimator_for(case, metrics, **options).fit(reference)
    return estimator.estimate(analysis).to_df(), estimator


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """Per-metric quality numbers from a tidy estimate frame that carries ``realized``."""
    rows = []
    for metric, g in df.groupby("metric", sort=False):
        ana, ref = g[g["period"] == "analysis"], g[g["period"] == "reference"]
        ana = ana[np.isfinite(ana["realized"]) & np.isfinite(ana["value"])]
        err = ana["value"] - ana["realized"]
        se = float(ana["sampling_error"].mean())
        inside = (ana["realized"] >= ana["lower_confidence"]) & (ana["realized"] <= ana["upper_confidence"])
        ref_ok = ref[np.isfinite(ref["realized"])]
        ref_inside = ((ref_ok["realized"] >= ref_ok["lower_confidence"])
                      & (ref_ok["realized"] <= ref_ok["upper_confidence"]))
        rows.append({
            "metric": metric, "chunks": len(ana), "mae": float(err.abs().mean()), "se": se,
            "mae_se": float(err.abs().mean()) / se, "bias_se": float(err.mean()) / se,
            "coverage": float(inside.mean()), "ref_chunks": len(ref_ok), "ref_coverage": float(ref_inside.mean()),
            "shift_se": float(ana["realized"].mean() - ref_ok["realized"].mean()) / se,
        })
    return pd.DataFrame(rows)


def run_scenario(name: str, seed: int = 0, metrics: list[str] | None = None, **options) -> pd.DataFrame:
    """Per-metric numbers (columns `COLUMNS`) of one case and seed; ``options`` go to the estimator."""
    start = time.perf_counter()
    df, estimator = estimate_case(name, seed, metrics, **options)
    out = summarize(df)
    out.insert(0, "seed", seed)
    out.insert(0, "case", name)
    out["estimator"] = type(estimator).__name__
    calibrator = getattr(estimator, "calibrator_", None)
    out["calibration"] = calibrator.method_ if calibrator is not None else ""
    out["seconds"] = time.perf_counter() - start
    return out[COLUMNS]


def by_half(name: str, seed: int = 0, **options) -> pd.DataFrame:
    """Mean estimate, realized and (estimate - realized) / SE over the first and second half of the
    analysis chunks: the datasets and the drift scenarios change in their second half or along it."""
    df, _ = estimate_case(name, seed, **options)
    ana = df[df["period"] == "analysis"].copy()
    ana["half"] = np.where(ana["chunk_index"] < (ana["chunk_index"].max() + 1) // 2, "first", "second")
    ana["error"] = ana["value"] - ana["realized"]
    out = ana.groupby(["metric", "half"], sort=False).agg(
        estimate=("value", "mean"), realized=("realized", "mean"), se=("sampling_error", "mean"),
        error=("error", "mean")).reset_index()
    out["bias_se"] = out["error"] / out["se"]
    out.insert(0, "seed", seed)
    out.insert(0, "case", name)
    return out


def pool(results: pd.DataFrame) -> pd.DataFrame:
    """Pool seeds: chunk-weighted means (every seed of a case has the same chunk count)."""
    rows = []
    for (case, metric), g in results.groupby(["case", "metric"], sort=False):
        w, rw = g["chunks"].to_numpy(float), g["ref_chunks"].to_numpy(float)
        mae, se = np.average(g["mae"], weights=w), np.average(g["se"], weights=w)
        rows.append({
            "case": case, "metric": metric, "seeds": len(g), "chunks": int(w.sum()), "mae": mae, "se": se,
            "mae_se": mae / se, "bias_se": np.average(g["bias_se"] * g["se"], weights=w) / se,
            "coverage": np.average(g["coverage"], weights=w),
            "ref_coverage": np.average(g["ref_coverage"], weights=rw),
            "shift_se": np.average(g["shift_se"] * g["se"], weights=w) / se,
            "calibration": ",".join(sorted(set(g["calibration"]))) or "-", "seconds": g["seconds"].sum(),
        })
    return pd.DataFrame(rows)


def markdown(pooled: pd.DataFrame) -> str:
    head = ("| case | metric | seeds | chunks | MAE | SE | MAE/SE | bias/SE | cover | ref cover | Δreal/SE "
            "| calibration |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    lines = [head]
    for r in pooled.itertuples():
        lines.append(
            f"| {r.case} | {r.metric} | {r.seeds} | {r.chunks} | {r.mae:.4g} | {r.se:.4g} | {r.mae_se:.2f} | "
            f"{r.bias_se:+.2f} | {r.coverage:.0%} | {r.ref_coverage:.0%} | {r.shift_se:+.1f} | {r.calibration} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed only")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per case, pooled (default 3)")
    parser.add_argument("--only", nargs="*", default=None, help="case names to run (default: all)")
    parser.add_argument("--halves", action="store_true",
                        help="also print first- vs second-half bias of the dataset cases (seed 0)")
    args = parser.parse_args(argv)
    n_seeds = 1 if args.quick else args.seeds
    names = args.only or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {list(CASES)}")
    print(f"# CBPE / DLE estimation quality ({_dt.date.today().isoformat()})\n")
    print(f"command: python benchmarks/estimation.py {' '.join(sys.argv[1:] if argv is None else argv)}".rstrip())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}, pandas {pd.__version__}, seismo {seismo.__version__}")
    print(f"seeds: {n_seeds} per case (0..{n_seeds - 1}), pooled\n")
    results, started = [], time.perf_counter()
    for name in names:
        for seed in range(n_seeds):
            results.append(run_scenario(name, seed))
        print(f"  {name}: {sum(r['seconds'].iloc[0] for r in results[-n_seeds:]):.1f} s", file=sys.stderr)
    pooled = pool(pd.concat(results, ignore_index=True))
    print(markdown(pooled))
    if args.halves:
        print("\nFirst vs second half of the analysis (seed 0): mean estimate, mean realized, bias/SE\n")
        print("| case | metric | estimate 1st | realized 1st | bias/SE 1st "
              "| estimate 2nd | realized 2nd | bias/SE 2nd |")
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for name in [n for n in names if n in DATASET_CASES]:
            h = by_half(name, 0).set_index(["metric", "half"])
            for metric in h.index.get_level_values(0).unique():
                a, b = h.loc[(metric, "first")], h.loc[(metric, "second")]
                print(f"| {name} | {metric} | {a.estimate:.4g} | {a.realized:.4g} | {a.bias_se:+.1f} | "
                      f"{b.estimate:.4g} | {b.realized:.4g} | {b.bias_se:+.1f} |")
    print("\ncases:")
    for name in names:
        case = CASES[name]
        print(f"- {name}: {case.problem_type}, chunks of {case.chunk_size:,}; {case.description}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
