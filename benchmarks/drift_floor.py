"""UnivariateDrift against a plain-numpy floor, in one process.

The floor does only the unavoidable work for the same answer's raw material:
bin every value once (searchsorted on the fitted fine points) and count per
chunk (bincount). seismo additionally finishes seven statistics per chunk and
learns thresholds at fit; the ratio shows what that costs.

Run: python benchmarks/drift_floor.py [n_rows]   (default 2,000,000 rows × 8 float columns, 100 chunks)
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

import seismo
from seismo.stats.binning import fine_bin_index, fine_points, n_fine_bins

n_rows = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
n_cols, n_chunks = 8, 100
rng = np.random.default_rng(0)
columns = [f"x{i}" for i in range(n_cols)]
reference = pd.DataFrame(rng.normal(size=(200_000, n_cols)), columns=columns)
analysis = pd.DataFrame(rng.normal(size=(n_rows, n_cols)), columns=columns)
chunk = n_rows // n_chunks

calc = seismo.UnivariateDrift(columns=columns, chunk_size=chunk, methods=["jensen_shannon", "kolmogorov_smirnov"])
start = time.perf_counter()
calc.fit(reference)
fit_s = time.perf_counter() - start
start = time.perf_counter()
calc.calculate(analysis)
seismo_s = time.perf_counter() - start

points = [fine_points(reference[c].to_numpy()) for c in columns]
start = time.perf_counter()
for c, pts in zip(columns, points):
    values = analysis[c].to_numpy()
    bins = fine_bin_index(values, pts)
    chunk_ids = np.arange(n_rows) // chunk
    np.bincount(chunk_ids * n_fine_bins(pts) + bins, minlength=(chunk_ids[-1] + 1) * n_fine_bins(pts))
floor_s = time.perf_counter() - start

print(f"{n_rows:,} rows × {n_cols} columns, {n_chunks} chunks (JS + KS)")
print(f"  seismo fit (200k reference rows): {fit_s:6.2f} s")
print(f"  seismo calculate:                 {seismo_s:6.2f} s")
print(f"  numpy floor (bin + count):        {floor_s:6.2f} s")
print(f"  ratio seismo / floor:             {seismo_s / floor_s:6.2f}×")
