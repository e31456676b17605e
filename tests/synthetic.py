"""The synthetic model log the calculator tests share (imported by conftest.py and by tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_frame(n: int, seed: int = 0, shift: float = 0.0, start: str = "2024-01-01") -> pd.DataFrame:
    """A small binary-classification log with continuous, integer and string features."""
    rng = np.random.default_rng(seed)
    a = rng.normal(shift, 1.0, n)
    df = pd.DataFrame(
        {
            "a": a,
            "b": rng.lognormal(0.0, 1.0, n),
            "c": rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2]),
            "d": rng.integers(0, 5, n),
        }
    )
    p = 1.0 / (1.0 + np.exp(-(a - 0.5)))
    df["y_true"] = (rng.random(n) < p).astype(int)
    df["y_pred_proba"] = p
    df["y_pred"] = (p > 0.5).astype(int)
    df["timestamp"] = pd.date_range(start, periods=n, freq="10min")
    df["id"] = np.arange(n) + (0 if start == "2024-01-01" else 10_000_000)
    return df


def write_parts(df: pd.DataFrame, directory, sizes: list[int]) -> str:
    """``df`` as consecutive parquet files of ``sizes`` rows in ``directory`` (in name order = time order)."""
    directory.mkdir(exist_ok=True)
    start = 0
    for i, size in enumerate(sizes):
        df.iloc[start:start + size].to_parquet(directory / f"part-{i:03d}.parquet", index=False)
        start += size
    return str(directory)
