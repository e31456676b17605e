"""Small data on disk and configs that point at it, for the CLI tests."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import yaml


def make_log(n: int, seed: int, shift: float = 0.0, start: str = "2024-01-01", first_id: int = 0) -> pd.DataFrame:
    """A binary model's log: two numeric features, one categorical, scores, labels, ids."""
    rng = np.random.default_rng(seed)
    income = rng.normal(shift, 1.0, n)
    df = pd.DataFrame({
        "id": np.arange(first_id, first_id + n),
        "timestamp": pd.date_range(start, periods=n, freq="h"),
        "income": income,
        "debt": rng.lognormal(0.0, 0.5, n),
        "region": rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2]),
    })
    p = 1.0 / (1.0 + np.exp(-(income - 0.2)))
    df["y_pred_proba"] = p
    df["y_pred"] = (p > 0.5).astype(int)
    df["repaid"] = (rng.random(n) < p).astype(int)
    return df


BASE = {
    "model": {"name": "loans", "problem_type": "binary", "y_pred_proba": "y_pred_proba", "y_pred": "y_pred",
              "y_true": "repaid", "timestamp": "timestamp", "id": "id"},
    "data": {"reference": "reference.parquet", "analysis": "analysis.parquet", "targets": "targets.parquet"},
    "chunking": {"chunk_size": 250},
    # the two multivariate calculators fit models; the tests that need them switch them on
    "calculators": {"pca_drift": False, "domain_classifier_drift": False},
}


def write_config(folder: Path, changes: dict | None = None, drop: tuple[str, ...] = (), name: str = "monitor.yaml",
                 base: dict | None = None) -> Path:
    """BASE with ``changes`` merged in (dotted keys) and ``drop`` (dotted keys) removed, as YAML."""
    config = copy.deepcopy(BASE if base is None else base)
    for dotted, value in (changes or {}).items():
        *parents, last = dotted.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    for dotted in drop:
        *parents, last = dotted.split(".")
        node = config
        for part in parents:
            node = node[part]
        del node[last]
    path = folder / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
