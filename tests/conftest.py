"""Shared synthetic data for the calculator tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


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


@pytest.fixture(scope="session")
def reference() -> pd.DataFrame:
    return make_frame(20_000, seed=1)


@pytest.fixture(scope="session")
def analysis() -> pd.DataFrame:
    return make_frame(20_000, seed=3, start="2024-06-01")


# A real PostgreSQL server for the store tests (started on first use, one per xdist worker).
from pg_server import postgres_server, postgres_url  # noqa: E402, F401
