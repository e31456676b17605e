"""Alert table: how often CBPE, DLE and realized performance alert without a change, and how often
they catch a drop of 1, 2, 3 and 5 sampling errors; seismo and NannyML 0.13.1 on the same chunks.

Run: ``python benchmarks/alerts.py [--seeds N]`` (or ``python benchmarks/estimation.py --alerts``).

Construction, per seed, on stationary scenarios of ``benchmarks/scenarios/`` (the reference
and a large pool of analysis rows from the same distribution, labels drawn from the known
truth):

* ``STATIONARY`` analysis chunks of ``CHUNK`` rows drawn at random from the pool: any alert
  there (either side) is a false alarm;
* ``PER_DROP`` chunks for each drop size ``k`` in ``DROPS``, in sampling errors (SE) of the
  realized metric at the chunk's size (seismo's, learned on the reference): a share ``f`` of
  the chunk's rows is drawn from a *harder* region of the inputs instead, with ``f`` set so
  that the chunk's **expected** metric, computed from the known truth, is worse than a
  stationary chunk's by ``k`` SE. The labels stay draws from the same ``P(y | x)``, so this is
  a covariate change that lowers performance: the realized metric drops by ``k`` SE on
  average, and an estimator whose assumption holds (CBPE with a calibrated model, DLE with a
  loss that depends on the inputs) sees the drop in the inputs.

  - ``roc_auc`` (CBPE, binary): the harder region is where the true probability is between
    0.3 and 0.7. The expected ROC AUC of a mixture is the soft-label AUC (each row counts as
    ``p`` of a positive and ``1 - p`` of a negative at its score) of the pool with weights
    ``(1 - f)/N`` and ``f/N_hard``, computed on a grid of ``f`` and interpolated.
  - ``mae`` (DLE, regression): the harder region is ``x4 > 1`` (noise sd above 2.7). A row's
    expected absolute error is that of a folded normal, ``E|d + s Z| = s sqrt(2/pi)
    exp(-d^2 / 2 s^2) + d (1 - 2 Phi(-d / s))`` with ``d`` the model's miss of the true mean
    and ``s`` the noise sd, so the expected MAE is linear in ``f``.

Every library runs with its defaults on the same frames: seismo's ``CBPE`` / ``DLE``
(estimated alerts, any trust level; the trust column is reported) and ``RealizedPerformance``;
NannyML's ``CBPE`` / ``DLE`` and ``PerformanceCalculator``. A chunk alerts when its value is
outside the thresholds (either side). The table reports the share of stationary chunks that
alert and, per ``k``, the share of drop chunks that alert, and the realized drop actually
achieved (mean realized of the drop chunks minus mean realized of the stationary ones, in SE).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nannyml_runner  # noqa: E402
import scenarios  # noqa: E402

import seismo  # noqa: E402

CHUNK = 5_000
STATIONARY = 10
PER_DROP = 5
DROPS = (1, 2, 3, 5)
POOL_ROWS = 400_000
FAMILIES = {  # metric, problem type, scenario generator, reference rows
    "cbpe": ("roc_auc", "binary", scenarios.binary_stationary, 50_000),
    "dle": ("mae", "regression", scenarios.regression_stationary, 40_000),
}


def _soft_auc(score: np.ndarray, p: np.ndarray, weight: np.ndarray) -> float:
    """Expected ROC AUC of weighted rows with true probabilities ``p`` (ties count one half)."""
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.ones(len(score)), np.zeros(len(score))]
    return float(roc_auc_score(y, np.r_[score, score], sample_weight=np.r_[weight * p, weight * (1 - p)]))


def _expected_abs_error(frame: pd.DataFrame) -> np.ndarray:
    """E|y_pred - y| per row under the scenario's true mean and noise (folded normal mean)."""
    from scipy.stats import norm

    d = scenarios.regression_mean(frame) - frame["y_pred"].to_numpy(float)
    s = scenarios.regression_noise_sd(frame)
    return s * np.sqrt(2 / np.pi) * np.exp(-d**2 / (2 * s**2)) + d * (1 - 2 * norm.cdf(-d / s))


def _hard_share(family: str, pool: pd.DataFrame, hard: np.ndarray, drop: float) -> float:
    """The share of hard rows that makes the expected metric worse by ``drop`` (metric units)."""
    if family == "dle":
        loss = _expected_abs_error(pool)
        return float(drop / (loss[hard].mean() - loss.mean()))
    p = scenarios.sigmoid(scenarios.binary_logit(pool))
    score = pool["y_pred_proba"].to_numpy(float)
    grid = np.linspace(0.0, 1.0, 41)
    auc = []
    for f in grid:
        weight = np.where(hard, f / hard.sum(), 0.0) + (1 - f) / len(pool)
        auc.append(_soft_auc(score, p, weight))
    auc = np.asarray(auc)
    if drop > auc[0] - auc[-1]:
        raise ValueError(f"a drop of {drop:.4g} is beyond what the hard region gives ({auc[0] - auc[-1]:.4g})")
    return float(np.interp(drop, auc[0] - auc, grid))  # the drop grows with f


def _hard_rows(family: str, pool: pd.DataFrame) -> np.ndarray:
    if family == "dle":
        return pool["x4"].to_numpy(float) > 1.0
    p = scenarios.sigmoid(scenarios.binary_logit(pool))
    return (p > 0.3) & (p < 0.7)


def _seismo_calculators(family: str) -> tuple[object, object]:
    metric, problem, _, _ = FAMILIES[family]
    features = [*scenarios.FEATURES, "segment"] if family == "cbpe" else list(scenarios.FEATURES)
    if family == "cbpe":
        estimator = seismo.CBPE("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y",
                                chunk_size=CHUNK, metrics=[metric], features=features)
        realized = seismo.RealizedPerformance("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y",
                                              chunk_size=CHUNK, metrics=[metric])
    else:
        estimator = seismo.DLE(y_pred="y_pred", y_true="y", features=features, chunk_size=CHUNK, metrics=[metric])
        realized = seismo.RealizedPerformance("regression", y_pred="y_pred", y_true="y", chunk_size=CHUNK,
                                              metrics=[metric])
    return estimator, realized


def build_chunks(family: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(reference, analysis, plan)``: the analysis' chunks in order, and per chunk its planned drop
    in SE (0: stationary), the hard share and the SE it was sized with."""
    metric, problem, generate, n_reference = FAMILIES[family]
    reference, pool = generate(seed, n_reference, POOL_ROWS)
    realized = _seismo_calculators(family)[1].fit(reference)
    se = float(realized.calculate(reference.iloc[:CHUNK]).to_df()["sampling_error"].iloc[-1])
    hard = _hard_rows(family, pool)
    rng = np.random.default_rng([seed, 7])
    normal_order, hard_order = rng.permutation(np.flatnonzero(~hard)), rng.permutation(np.flatnonzero(hard))
    used = {"normal": 0, "hard": 0}  # rows taken so far from each order: no pool row is used twice

    def take(kind: str, order: np.ndarray, n: int) -> np.ndarray:
        start = used[kind]
        if start + n > len(order):
            raise ValueError(f"the pool of {len(pool):,} rows has too few {kind} rows; raise POOL_ROWS")
        used[kind] = start + n
        return order[start:start + n]

    # a chunk holds hard rows with probability f per row: a stationary chunk (f = the pool's share) is
    # then a uniform random draw from the pool, a drop chunk a draw from the mixture
    share_hard = hard.mean()
    parts, plan = [], []
    extra = {k: _hard_share(family, pool, hard, k * se) for k in DROPS}  # the mixture weight of hard rows
    for k in [0] * STATIONARY + [k for k in DROPS for _ in range(PER_DROP)]:
        f = share_hard if k == 0 else share_hard + (1 - share_hard) * extra[k]
        n_hard = int(rng.binomial(CHUNK, f))
        rows = np.r_[take("hard", hard_order, n_hard), take("normal", normal_order, CHUNK - n_hard)]
        parts.append(pool.iloc[rng.permutation(rows)])
        plan.append({"drop_se": k, "hard_share": n_hard / CHUNK, "se": se})
    analysis = pd.concat(parts, ignore_index=True)
    analysis["timestamp"] = pd.date_range(reference["timestamp"].iloc[-1] + pd.Timedelta(minutes=1),
                                          periods=len(analysis), freq="min")
    analysis["id"] = np.arange(len(reference), len(reference) + len(analysis))
    return reference, analysis, pd.DataFrame(plan)


def _alerts(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    rows = df[(df["period"] == "analysis") & (df["metric"] == metric)].sort_values("chunk_index")
    out = pd.DataFrame({"alert": rows["alert"].astype(bool).to_numpy(), "value": rows["value"].to_numpy(),
                        "realized": rows["realized"].to_numpy() if "realized" in rows else rows["value"].to_numpy()})
    out["trust"] = rows["trust"].to_numpy() if "trust" in rows else ""
    return out


def run_family(family: str, seed: int, nannyml: bool = True) -> pd.DataFrame:
    """One row per analysis chunk × (library, quantity): its planned drop and whether it alerted."""
    metric, problem, _, _ = FAMILIES[family]
    reference, analysis, plan = build_chunks(family, seed)
    estimator, realized = _seismo_calculators(family)
    results = {
        ("seismo", "estimated"): _alerts(estimator.fit(reference).estimate(analysis).to_df(), metric),
        ("seismo", "realized"): _alerts(realized.fit(reference).calculate(analysis).to_df(), metric),
    }
    if nannyml:
        roles = {"problem_type": problem, "y_true": "y", "y_pred": "y_pred", "metrics": [metric],
                 "chunk_size": CHUNK}
        if family == "cbpe":
            roles["y_pred_proba"] = "y_pred_proba"
        else:
            roles["features"] = list(scenarios.FEATURES)
        results[("NannyML", "estimated")] = _alerts(
            nannyml_runner.run_nannyml(family, reference, analysis, **roles), metric)
        results[("NannyML", "realized")] = _alerts(
            nannyml_runner.run_nannyml("realized", reference, analysis, **roles), metric)
    frames = []
    for (library, quantity), alerts in results.items():
        if len(alerts) != len(plan):
            raise RuntimeError(f"{library} {quantity}: {len(alerts)} chunks for {len(plan)} planned")
        frames.append(pd.concat([plan, alerts], axis=1).assign(
            family=family, metric=metric, library=library, quantity=quantity, seed=seed,
            chunk=np.arange(len(plan))))
    return pd.concat(frames, ignore_index=True)


def table(chunks: pd.DataFrame) -> pd.DataFrame:
    """False-alarm rate and detection rate per drop size, per family × quantity × library."""
    rows = []
    for (family, metric, quantity, library), g in chunks.groupby(["family", "metric", "quantity", "library"],
                                                                 sort=False):
        stationary = g[g["drop_se"] == 0]
        row = {"estimator": {"cbpe": "CBPE", "dle": "DLE"}[family] if quantity == "estimated" else "realized",
               "metric": metric, "library": library, "stationary chunks": len(stationary),
               "false alarms": stationary["alert"].mean(),
               "none trust": (g["trust"] == "none").mean()}
        base = stationary["realized"].mean()
        for k in DROPS:
            drop = g[g["drop_se"] == k]
            row[f"detect {k} SE"] = drop["alert"].mean()
            worse = base - drop["realized"].mean() if metric == "roc_auc" else drop["realized"].mean() - base
            row[f"achieved {k}"] = worse / drop["se"].mean()
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(summary: pd.DataFrame) -> str:
    head = ("| estimator | metric | library | false alarms | " + " | ".join(f"detect {k} SE" for k in DROPS)
            + " | realized drop achieved (SE) |\n|---|---|---|---:|" + "---:|" * len(DROPS) + "---|")
    lines = [head]
    for r in summary.to_dict("records"):
        achieved = ", ".join(f"{r[f'achieved {k}']:.1f}" for k in DROPS)
        lines.append(f"| {r['estimator']} | {r['metric']} | {r['library']} | "
                     f"{r['false alarms']:.0%} ({r['stationary chunks']}) | "
                     + " | ".join(f"{r[f'detect {k} SE']:.0%}" for k in DROPS) + f" | {achieved} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per family, pooled (default 3)")
    parser.add_argument("--families", default="cbpe,dle", help="comma-separated: cbpe, dle")
    parser.add_argument("--no-nannyml", action="store_true", help="seismo only")
    parser.add_argument("--save", default=None, help="write the per-chunk alerts to this CSV file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    chunks = []
    for family in [f.strip() for f in args.families.split(",") if f.strip()]:
        for seed in range(args.seeds):
            chunks.append(run_family(family, seed, nannyml=not args.no_nannyml))
            print(f"  {family} seed {seed}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    chunks = pd.concat(chunks, ignore_index=True)
    if args.save:
        chunks.to_csv(args.save, index=False)
    print(f"Alerts: {args.seeds} seeds; per seed {STATIONARY} stationary chunks and {PER_DROP} chunks per drop "
          f"size, {CHUNK:,} rows each; false alarms: share of stationary chunks alerting (their count); detect k SE: "
          "share of chunks whose expected metric is k SE worse that alert\n")
    print(markdown(table(chunks)))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
