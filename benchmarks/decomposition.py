"""Does `Report.decomposition()` put a performance change where it was planted?

Run: ``python benchmarks/decomposition.py [--seeds N] [--reference-rows N] [--chunk-size N] [--chunks N]``
(or ``python benchmarks/estimation.py --decomposition``).

The scenarios of ``benchmarks/scenarios/decomposition.py`` plant a pure covariate shift, a pure
concept shift, or both, for a binary classifier (CBPE) and a regressor (DLE), and know each
part's truth from the data-generating process. Per seed, one `seismo.Monitor` per problem type
(estimated performance and concept shift on, the data calculators off) is fitted on the shared
reference and run on each scenario's labelled analysis; every analysis chunk's decomposition row
is set against the truth. Per scenario × metric the table pools the chunks of all seeds:

* ``realized Δ``: mean realized change from the reference (true: its expectation);
* ``covariate``, ``concept``: mean estimated part ± mean reported SE (true: the planted part);
* ``remainder``: mean remainder ± mean SE; its truth is the shifts' interaction (0 unless both);
* ``|err|/SE``: mean |part - truth| / the chunk's SE; ``in 2SE``: share of chunks whose part lies
  within 2 of its SEs of the truth;
* ``main_cause``: how often each cause was named;
* ``concept alerts``: chunks where `ConceptShift` alerted on an impact metric (``magnitude`` aside);
* ``pass``: per part (covariate, concept, remainder), ``ok`` when the mean part lies within 2 mean SEs
  of the truth *and* at least 80% of the chunks lie within 2 of their SEs; else ``MISS``.

``run_decomposition(name, seed, ...)`` returns one scenario's per-chunk rows with the truths
beside them; ``tests/test_concept_decomposition.py`` reuses it. LightGBM runs with one thread
(`ONE_THREAD`), and with ``OMP_WAIT_POLICY=PASSIVE`` when run as a script (see benchmarks/estimation.py).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import functools
import os
import platform
import sys
import time
from pathlib import Path

import pandas as pd

if __name__ == "__main__":  # a script run only; before lightgbm loads
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scenarios.common import FEATURES  # noqa: E402
from scenarios.decomposition import DECOMPOSITION_SCENARIOS, analysis, reference, truth  # noqa: E402

import seismo  # noqa: E402

PARTS = ("covariate", "concept", "remainder")
BAND = 2.0  # a part within this many SEs of its truth lands where it was planted
COVER_NEEDED = 0.8  # share of chunks within the band for a pass
OFF = ("univariate_drift", "pca_drift", "domain_classifier_drift", "data_quality", "realized_performance")
#: DLE's loss models on one thread: two spin-waiting OpenMP threads slow down many times over when another
#: process competes for a 2-core machine (benchmarks/estimation.py); the estimates do not depend on it
ONE_THREAD = {"binary": {}, "regression": {"estimated_performance": {"hyperparameters": {"n_jobs": 1}}}}
DEFAULTS = {"n_reference": 20_000, "chunk_size": 2_000, "n_chunks": 4}


@functools.lru_cache(maxsize=2)
def fitted_monitor(problem_type: str, seed: int, n_reference: int, chunk_size: int) -> seismo.Monitor:
    """The monitor of one problem type and seed, fitted on the reference its three scenarios share."""
    metrics = next(s.metrics for s in DECOMPOSITION_SCENARIOS.values() if s.problem_type == problem_type)
    monitor = seismo.Monitor(
        problem_type, y_pred_proba="y_pred_proba" if problem_type == "binary" else None, y_pred="y_pred",
        y_true="y", timestamp="timestamp", features=list(FEATURES), chunk_size=chunk_size, metrics=metrics,
        calculators={"concept_shift": True, **{name: False for name in OFF}, **ONE_THREAD[problem_type]},
        random_state=seed)
    return monitor.fit(reference(problem_type, seed, n_reference))


def run_decomposition(name: str, seed: int = 0, n_reference: int = DEFAULTS["n_reference"],
                      chunk_size: int = DEFAULTS["chunk_size"], n_chunks: int = DEFAULTS["n_chunks"]) -> pd.DataFrame:
    """One scenario and seed: `Report.decomposition()` per analysis chunk × metric, with ``true_covariate``,
    ``true_concept``, ``true_interaction``, ``true_realized``, ``concept_alert`` (ConceptShift alerted on
    that metric in that chunk) and ``concept_trust`` (its trust there) beside it."""
    scenario = DECOMPOSITION_SCENARIOS[name]
    monitor = fitted_monitor(scenario.problem_type, seed, n_reference, chunk_size)
    report = monitor.run(analysis(name, seed, chunk_size * n_chunks))
    table = report.decomposition()
    concept = report.results["concept_shift"].to_df()
    concept = concept[concept["period"] == "analysis"].set_index(["chunk_index", "metric"])
    table["concept_alert"] = [bool(concept["alert"].get((i, m), False))
                              for i, m in zip(table["chunk_index"], table["metric"])]
    table["concept_trust"] = [concept["trust"].get((i, m)) for i, m in zip(table["chunk_index"], table["metric"])]
    truths = truth(name)
    for key in ("covariate", "concept", "interaction", "realized"):
        table[f"true_{key}"] = table["metric"].map({m: t[key] for m, t in truths.items()})
    table.insert(0, "seed", seed)
    table.insert(0, "scenario", name)
    return table


def part_errors(table: pd.DataFrame) -> pd.DataFrame:
    """Per row and part: (estimate - truth) / SE; the remainder's truth is the interaction."""
    out = pd.DataFrame(index=table.index)
    for part in PARTS:
        true = table["true_interaction"] if part == "remainder" else table[f"true_{part}"]
        out[part] = (table[part] - true) / table[f"{part}_se"]
    return out


def pool(rows: pd.DataFrame) -> pd.DataFrame:
    """Per scenario × metric over every chunk and seed: mean parts, SEs, truths, |err|/SE, coverage, verdicts."""
    out = []
    for (name, metric), g in rows.groupby(["scenario", "metric"], sort=False):
        z = part_errors(g)
        row = {"scenario": name, "problem_type": DECOMPOSITION_SCENARIOS[name].problem_type, "metric": metric,
               "seeds": g["seed"].nunique(), "chunks": len(g), "realized": g["realized_change"].mean(),
               "true_realized": g["true_realized"].iloc[0],
               "causes": g["main_cause"].value_counts().to_dict(), "concept_alerts": int(g["concept_alert"].sum())}
        for part in PARTS:
            true = g["true_interaction" if part == "remainder" else f"true_{part}"].iloc[0]
            est, se = g[part].mean(), g[f"{part}_se"].mean()
            cover = float((z[part].abs() <= BAND).mean())
            row.update({part: est, f"{part}_se": se, f"true_{part}": true, f"{part}_abs_z": float(z[part].abs().mean()),
                        f"{part}_bias_se": (est - true) / se, f"{part}_cover": cover,
                        f"{part}_pass": bool(abs(est - true) <= BAND * se and cover >= COVER_NEEDED)})
        out.append(row)
    return pd.DataFrame(out)


def _causes(causes: dict) -> str:
    return ", ".join(f"{cause} {count}" for cause, count in causes.items())


def markdown(pooled: pd.DataFrame) -> str:
    head = ("| scenario | metric | chunks | realized Δ (true) | covariate ± SE (true) | cov \\|err\\|/SE, in 2SE "
            "| concept ± SE (true) | con \\|err\\|/SE, in 2SE | remainder ± SE (true) | rem \\|err\\|/SE, in 2SE "
            "| main_cause | concept alerts | pass cov/con/rem |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|")
    lines = [head]
    for r in pooled.to_dict("records"):
        cells = [r["scenario"], r["metric"], str(r["chunks"]), f"{r['realized']:+.4f} ({r['true_realized']:+.4f})"]
        for part in PARTS:
            cells.append(f"{r[part]:+.4f} ± {r[f'{part}_se']:.4f} ({r[f'true_{part}']:+.4f})")
            cells.append(f"{r[f'{part}_abs_z']:.2f}, {r[f'{part}_cover']:.0%}")
        cells += [_causes(r["causes"]), f"{r['concept_alerts']}/{r['chunks']}",
                  "/".join("ok" if r[f"{part}_pass"] else "MISS" for part in PARTS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds, pooled (default 5)")
    parser.add_argument("--reference-rows", type=int, default=DEFAULTS["n_reference"])
    parser.add_argument("--chunk-size", type=int, default=DEFAULTS["chunk_size"])
    parser.add_argument("--chunks", type=int, default=DEFAULTS["n_chunks"], help="analysis chunks per scenario")
    parser.add_argument("--only", nargs="*", default=None, help="scenario names (default: all)")
    args = parser.parse_args(argv)
    names = args.only or list(DECOMPOSITION_SCENARIOS)
    unknown = [n for n in names if n not in DECOMPOSITION_SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {list(DECOMPOSITION_SCENARIOS)}")
    print(f"# Decomposition of realized performance changes: covariate / concept / remainder "
          f"({_dt.date.today().isoformat()})\n")
    print(f"command: python benchmarks/decomposition.py {' '.join(sys.argv[1:] if argv is None else argv)}".rstrip())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"seismo {seismo.__version__}")
    print(f"seeds: {args.seeds} (0..{args.seeds - 1}), pooled; reference {args.reference_rows:,} rows, "
          f"chunks of {args.chunk_size:,}, {args.chunks} analysis chunks per scenario and seed\n")
    started, rows = time.perf_counter(), []
    for seed in range(args.seeds):  # seed-major: each problem type's fitted monitor serves its three scenarios
        for name in sorted(names, key=lambda n: DECOMPOSITION_SCENARIOS[n].problem_type):
            rows.append(run_decomposition(name, seed, args.reference_rows, args.chunk_size, args.chunks))
            print(f"  seed {seed} {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    pooled = pool(pd.concat(rows, ignore_index=True))
    pooled = pooled.set_index("scenario").loc[[n for n in DECOMPOSITION_SCENARIOS if n in names]].reset_index()
    print(markdown(pooled))
    print(f"\npass: the mean part within {BAND:g} mean SEs of its truth and at least {COVER_NEEDED:.0%} of the chunks "
          f"within {BAND:g} of their SEs. Truths from the data-generating process on 1,000,000 rows; the remainder's "
          "truth is the shifts' interaction.\n")
    print("scenarios:")
    for name in names:
        s = DECOMPOSITION_SCENARIOS[name]
        print(f"- {name}: {s.problem_type}, planted {s.planted}; {s.description}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
