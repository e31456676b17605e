"""What `ConceptShift` costs, beside CBPE on the same data in the same run.

Run: ``python benchmarks/concept_speed.py [--reference-rows N] [--chunk-size N] [--chunks N]``

A binary model on 10 standard-normal features (the score is the true probability of a logistic
concept), a reference of ``--reference-rows`` rows and an analysis of ``--chunks`` chunks. Both
calculators use their defaults; the table gives fit and run seconds and ConceptShift's ratio to
CBPE (trust diagnostics on), the label-free estimator it is decomposed against.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

if __name__ == "__main__":  # a script run only; before lightgbm loads
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd

import seismo


def model_log(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10))
    p = 1 / (1 + np.exp(-(x[:, 0] + 0.5 * x[:, 1] - 0.5 * x[:, 2])))
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(10)])
    return frame.assign(p=p, pred=(p > 0.5).astype(int), y=(rng.random(n) < p).astype(int))


def timed(calculator: object, reference: pd.DataFrame, analysis: pd.DataFrame) -> tuple[float, float]:
    start = time.perf_counter()
    calculator.fit(reference)  # type: ignore[attr-defined]
    fitted = time.perf_counter()
    run = getattr(calculator, "calculate", None) or getattr(calculator, "estimate")
    run(analysis)
    return fitted - start, time.perf_counter() - fitted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-rows", type=int, default=50_000)
    parser.add_argument("--chunk-size", type=int, default=5_000)
    parser.add_argument("--chunks", type=int, default=20)
    args = parser.parse_args(argv)
    reference, analysis = model_log(args.reference_rows, 1), model_log(args.chunk_size * args.chunks, 2)
    roles = dict(y_pred_proba="p", y_pred="pred", y_true="y", chunk_size=args.chunk_size)
    warnings.simplefilter("ignore", seismo.SeismoWarning)
    concept = timed(seismo.ConceptShift("binary", **roles), reference, analysis)
    cbpe = timed(seismo.CBPE("binary", **roles), reference, analysis)
    print(f"reference {args.reference_rows:,} rows x 10 features; {args.chunks} analysis chunks of {args.chunk_size:,}")
    print("| calculator | fit s | run s | per analysis chunk s |\n|---|---|---|---|")
    for name, (fit, run) in (("ConceptShift", concept), ("CBPE (trust diagnostics on)", cbpe)):
        print(f"| {name} | {fit:.1f} | {run:.1f} | {run / args.chunks:.2f} |")
    print(f"ConceptShift / CBPE: fit {concept[0] / cbpe[0]:.0f}x, run {concept[1] / cbpe[1]:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
