"""Time each demo-data generator (the issue budget is 5 s each on a 2-core machine).

Run: python benchmarks/datasets.py
Prints wall and CPU seconds per generator, best of three runs.
"""

from __future__ import annotations

import time

from seismo import datasets

BUDGET_S = 5.0

for name in ("load_synthetic_credit", "load_synthetic_campaign", "load_synthetic_churn", "load_synthetic_house_prices"):
    loader = getattr(datasets, name)
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        loader()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    print(f"{name:32s} wall {best_wall:5.2f} s  cpu {best_cpu:5.2f} s  ({best_wall / BUDGET_S:.0%} of the budget)")
