"""A categorical column with a million distinct values: time and peak memory of fit and calculate.

Run: ``python benchmarks/many_categories.py [--rows 1e6] [--distinct 1e6] [--chunk-size 100000]``.
Figures: docs/reliability.md (issue 12, bad-input matrix).

An identifier that slips into the features as text (or a free-text field) gives a categorical
column with as many values as rows. seismo remembers only the `MAX_TRACKED_CATEGORIES` most
frequent reference values (a warning says so) and compares the rest as one "other" bin, so the
memory of a fitted calculator is bounded whatever the column holds. The analysis pass still hashes
every value once per lookup. Each case runs in a fresh process, so its peak resident memory
(``ru_maxrss``) is its own; the baseline line is the same process building the frames only, so
the difference is what seismo adds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CASE = r"""
import json, resource, sys, time, warnings
import numpy as np, pandas as pd
rows, distinct, chunk_size, which = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(0)
def frame(seed):
    r = np.random.default_rng(seed)
    codes = np.resize(r.permutation(distinct), rows)  # every value once (rows == distinct), in random order
    return pd.DataFrame({"user": pd.Series(codes).map("u{:07d}".format).astype(str), "x": r.normal(size=rows)})
reference, analysis = frame(0), frame(1)
out = {"case": which, "rows": rows, "distinct_reference": int(reference["user"].nunique())}
if which != "baseline":
    import seismo
    from seismo.data.categories import MAX_TRACKED_CATEGORIES
    cls = {"UnivariateDrift": seismo.UnivariateDrift, "DataQuality": seismo.DataQuality}[which]
    calc = cls(columns=["user", "x"], chunk_size=chunk_size)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        calc.fit(reference)
        out["fit_s"] = time.perf_counter() - start
        start = time.perf_counter()
        calc.calculate(analysis)
        out["calculate_s"] = time.perf_counter() - start
    out["warnings"] = sorted({str(w.message)[:160] for w in caught})
    out["max_tracked_categories"] = MAX_TRACKED_CATEGORIES
out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def run_case(which: str, rows: int, distinct: int, chunk_size: int) -> dict:
    done = subprocess.run([sys.executable, "-c", CASE, str(rows), str(distinct), str(chunk_size), which],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=1e6)
    parser.add_argument("--distinct", type=float, default=1e6)
    parser.add_argument("--chunk-size", type=int, default=100_000)
    args = parser.parse_args()
    rows, distinct = int(args.rows), int(args.distinct)
    start = time.perf_counter()
    base = run_case("baseline", rows, distinct, args.chunk_size)
    print(f"{rows:,} reference + {rows:,} analysis rows, {base['distinct_reference']:,} distinct reference values "
          f"in 'user' (text), plus one float column; chunks of {args.chunk_size:,}")
    print(f"baseline (frames only): peak RSS {base['peak_rss_mib']:.0f} MiB")
    for which in ("UnivariateDrift", "DataQuality"):
        got = run_case(which, rows, distinct, args.chunk_size)
        print(f"{which:16s} fit {got['fit_s']:.2f} s, calculate {got['calculate_s']:.2f} s, peak RSS "
              f"{got['peak_rss_mib']:.0f} MiB (+{got['peak_rss_mib'] - base['peak_rss_mib']:.0f} MiB over the "
              f"baseline); categories remembered: at most {got['max_tracked_categories']:,}")
        for w in got["warnings"]:
            print(f"    warning: {w}")
    print(f"(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
