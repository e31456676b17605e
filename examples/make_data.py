"""Write the data `examples/monitor.yaml` reads: seismo's synthetic credit data as parquet.

    python examples/make_data.py                 # 50,000 reference and 50,000 analysis rows
    python examples/make_data.py --rows 5000     # smaller, for a quick try

The analysis is split into weekly files under ``data/analysis/`` (the config reads the
directory), and the labels, which arrive later, go to ``data/targets.parquet``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import seismo


def write_example_data(folder: Path, rows: int = 50_000, seed: int = 0) -> Path:
    """Write reference, weekly analysis files and targets under ``folder``; return it."""
    reference, analysis, targets = seismo.datasets.load_synthetic_credit(seed, n_reference=rows, n_analysis=rows)
    (folder / "analysis").mkdir(parents=True, exist_ok=True)
    for old in (folder / "analysis").glob("*.parquet"):
        old.unlink()
    reference.to_parquet(folder / "reference.parquet", index=False)
    week = analysis["timestamp"].dt.strftime("%G-W%V")
    for key, rows_of_week in analysis.drop(columns=["defaulted"], errors="ignore").groupby(week):
        rows_of_week.to_parquet(folder / "analysis" / f"{key}.parquet", index=False)
    targets.to_parquet(folder / "targets.parquet", index=False)
    return folder


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows in the reference and in the analysis")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data", help="where to write")
    args = parser.parse_args()
    print(f"wrote {write_example_data(args.out, args.rows)}")
