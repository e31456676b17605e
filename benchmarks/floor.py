"""UnivariateDrift and DataQuality against the numpy floor for their histogram and sum work.

Run: ``python benchmarks/floor.py [--rows 10e6] [--columns 10] [--chunks 100] [--repeat 3]
[--round-to 0.001]``. Results: docs/performance.md.

Both seismo calculators spend their analysis pass on the same raw material per
continuous column and chunk: the count and the value sum in every fine bin
(``seismo.stats.binning``: a bin per reference point and per open interval
between points), and for DataQuality also the moments (count, sum, sum of
squares). The *floor* does only that, in one pass of plain single-threaded
numpy with no seismo code in the timed part:

* bin every value against a precomputed edge array: ``np.searchsorted`` on the
  fine points plus the equality test that tells a point bin from the interval
  below it, which gives exactly seismo's bins;
* per chunk, ``np.bincount`` of the bins (counts) and of the bins weighted by
  the values (sums);
* per chunk, the sum of squares (``np.dot``, the one step BLAS may thread), for DataQuality.

The fine points are computed from the reference by seismo's own
``fine_points`` before the clock starts, as ``fit`` would. The data is
standard-normal float64 without missing values, so no NaN handling is needed
on either side; ``--round-to`` rounds it, so that many values sit exactly on a
reference point (prices, scores and ages are often stored rounded), which is
the hard case for a lookup-based binning.

seismo's time is ``calculate(analysis)`` on the same in-memory pandas frame
(``fit`` is timed apart): it also converts the input, finishes the statistics
of every chunk, compares with thresholds and builds the tidy result. The
ratio seismo / floor is the figure of merit (issue 6's target: within 2× for
UnivariateDrift); seismo may bin faster than binary search and use more than
one core, so it can go below 1. Two more lines give context: the same pass
with seismo's own binning kernel (``seismo.stats.binning.fine_bin_index``) in
place of the binary search, so seismo / kernel is the cost of everything but
the pass; and the time to sum every column once per chunk, a bound no binning
scheme can beat.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

import seismo
from seismo.stats.binning import coarse_edges, fine_bin_index, fine_points, n_fine_bins

REFERENCE_ROWS = 200_000
DRIFT_METHODS = ["jensen_shannon", "kolmogorov_smirnov"]


def fine_bins(values: np.ndarray, points: np.ndarray) -> np.ndarray:
    """seismo's fine bin of each (non-NaN) value: ``2k`` below point ``k``, ``2k + 1`` equal to it."""
    k = np.searchsorted(points, values, side="left")
    at = points.take(k, mode="clip")
    return 2 * k + (at == values)


def floor_pass(columns: list[np.ndarray], points: list[np.ndarray], chunk: int, squares: bool,
               binning=fine_bins) -> list:
    """One pass per column: bins, then per chunk the bin counts, bin sums and (optionally) sum of squares."""
    out = []
    for values, pts in zip(columns, points):
        bins = binning(values, pts)
        n_bins = n_fine_bins(pts)
        for start in range(0, len(values), chunk):
            b, v = bins[start : start + chunk], values[start : start + chunk]
            counts = np.bincount(b, minlength=n_bins)
            sums = np.bincount(b, weights=v, minlength=n_bins)
            out.append((counts, sums, np.dot(v, v) if squares else None))
    return out


def read_pass(columns: list[np.ndarray], chunk: int) -> float:
    """Sum every column per chunk: touching each value once, the memory-bandwidth bound."""
    return sum(float(values[start : start + chunk].sum())
               for values in columns for start in range(0, len(values), chunk))


def fastest(repeat: int, work) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, all threads) of the fastest of ``repeat`` runs."""
    runs = []
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        work()
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(runs)


def check_counts(reference: pd.DataFrame, analysis: pd.DataFrame, names: list[str], chunk: int) -> None:
    """The floor's bins are seismo's: the first chunk's bins match ``seismo.stats`` exactly."""
    pts = fine_points(reference[names[0]].to_numpy(), include=coarse_edges(reference[names[0]].to_numpy()))
    values = analysis[names[0]].to_numpy()[:chunk]
    if not np.array_equal(fine_bins(values, pts), fine_bin_index(values, pts)):
        raise AssertionError("the floor's bins differ from seismo's fine_bin_index")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=10e6, help="analysis rows (default 10M)")
    parser.add_argument("--columns", type=int, default=10, help="float columns (default 10)")
    parser.add_argument("--chunks", type=int, default=100, help="chunks (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the fastest counts")
    parser.add_argument("--round-to", type=float, default=0.0,
                        help="round the standard-normal values to multiples of this (e.g. 0.001: many values sit "
                             "exactly on a reference point, as with prices or scores stored rounded); default: none")
    args = parser.parse_args()
    n_rows, n_cols = int(args.rows), args.columns
    chunk = n_rows // args.chunks

    rng = np.random.default_rng(0)
    names = [f"x{i}" for i in range(n_cols)]
    reference = pd.DataFrame(rng.normal(size=(REFERENCE_ROWS, n_cols)), columns=names)
    analysis = pd.DataFrame(rng.normal(0.05, 1.0, size=(n_rows, n_cols)), columns=names)
    if args.round_to > 0:
        reference = (reference / args.round_to).round() * args.round_to
        analysis = (analysis / args.round_to).round() * args.round_to
    check_counts(reference, analysis, names, chunk)

    columns = [analysis[c].to_numpy() for c in names]
    # Drift's points include its coarse (Jensen-Shannon) edges; DataQuality's do not.
    drift_points = [fine_points(reference[c].to_numpy(), include=coarse_edges(reference[c].to_numpy())) for c in names]
    quality_points = [fine_points(reference[c].to_numpy()) for c in names]

    read = fastest(args.repeat, lambda: read_pass(columns, chunk))
    drift_floor = fastest(args.repeat, lambda: floor_pass(columns, drift_points, chunk, squares=False))
    kernel = fastest(args.repeat, lambda: floor_pass(columns, drift_points, chunk, False, fine_bin_index))
    quality_floor = fastest(args.repeat, lambda: floor_pass(columns, quality_points, chunk, squares=True))

    drift = seismo.UnivariateDrift(columns=names, chunk_size=chunk, methods=DRIFT_METHODS)
    drift_fit = fastest(1, lambda: drift.fit(reference))
    drift_run = fastest(args.repeat, lambda: drift.calculate(analysis))
    quality = seismo.DataQuality(columns=names, chunk_size=chunk)
    quality_fit = fastest(1, lambda: quality.fit(reference))
    quality_run = fastest(args.repeat, lambda: quality.calculate(analysis))

    n_values = n_rows * n_cols
    rounded = f", rounded to multiples of {args.round_to:g}" if args.round_to > 0 else ""
    print(f"{n_rows:,} rows × {n_cols} float columns{rounded}, {args.chunks} chunks; fastest of {args.repeat}; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    print("| work | wall s | CPU s | M values/s (wall) | × floor (wall) | × floor (CPU) |")
    print("|---|---:|---:|---:|---:|---:|")
    lines = [
        ("read each value once (sum per chunk)", read, None),
        ("**floor**: bin (searchsorted) + counts + sums", drift_floor, drift_floor),
        ("same pass with seismo's binning kernel", kernel, drift_floor),
        (f"seismo UnivariateDrift.calculate ({' + '.join(DRIFT_METHODS)})", drift_run, drift_floor),
        ("**floor**: bin (searchsorted) + counts + sums + sum of squares", quality_floor, quality_floor),
        ("seismo DataQuality.calculate", quality_run, quality_floor),
    ]
    for label, (wall, cpu), base in lines:
        ratios = f"{wall / base[0]:.2f} | {cpu / base[1]:.2f}" if base else " | "
        print(f"| {label} | {wall:.2f} | {cpu:.2f} | {n_values / wall / 1e6:.0f} | {ratios} |")
    print(f"\nseismo UnivariateDrift / the same pass with its kernel: {drift_run[0] / kernel[0]:.2f} (wall)")
    print(f"fit on {REFERENCE_ROWS:,} reference rows (not in the ratios): UnivariateDrift {drift_fit[0]:.2f} s, "
          f"DataQuality {quality_fit[0]:.2f} s")

if __name__ == "__main__":
    main()
