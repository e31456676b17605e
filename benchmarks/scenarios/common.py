"""What every scenario shares: the features and segments, the per-row ramps, the logistic
design, and the ``id``/``timestamp`` columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

N_TRAIN = 40_000
FEATURES = ["x1", "x2", "x3", "x4"]
SEGMENTS = ["s0", "s1", "s2"]
SEGMENT_P = [0.5, 0.3, 0.2]
SEGMENT_EFFECT = np.array([0.0, 0.4, -0.5])
CLASSES = ["a", "b", "c"]
START = pd.Timestamp("2024-01-01")


def _ramp(n: int, end: float) -> np.ndarray:
    """Per-row shift growing linearly from 0 at the first row to ``end`` at the last."""
    return np.linspace(0.0, end, n) if n > 1 else np.full(n, end)


def _covariates(rng: np.random.Generator, n: int, shift: dict[str, np.ndarray | float] | None = None) -> pd.DataFrame:
    """Four standard-normal features (plus per-row mean shifts) and a 3-level segment."""
    shift = shift or {}
    data = {name: rng.normal(size=n) + shift.get(name, 0.0) for name in FEATURES}
    data["segment"] = np.asarray(SEGMENTS, dtype=object)[rng.choice(len(SEGMENTS), size=n, p=SEGMENT_P)]
    return pd.DataFrame(data)


def _segment_index(frame: pd.DataFrame) -> np.ndarray:
    return pd.Index(SEGMENTS).get_indexer(frame["segment"].to_numpy(dtype=object))


def _design(frame: pd.DataFrame) -> np.ndarray:
    """The logistic model's inputs: the terms the true logit is built from."""
    seg = _segment_index(frame)
    x = frame[FEATURES].to_numpy(dtype=float)
    return np.column_stack([x, x[:, 0] * x[:, 1], seg == 1, seg == 2]).astype(float)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _with_meta(reference: pd.DataFrame, analysis: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Prepend ``id`` and a one-row-per-minute ``timestamp`` (analysis after reference)."""
    n_ref, n_ana = len(reference), len(analysis)
    times = pd.date_range(START, periods=n_ref + n_ana, freq="min")
    reference.insert(0, "timestamp", times[:n_ref])
    analysis.insert(0, "timestamp", times[n_ref:])
    reference.insert(0, "id", np.arange(n_ref, dtype=np.int64))
    analysis.insert(0, "id", np.arange(n_ref, n_ref + n_ana, dtype=np.int64))
    return reference.reset_index(drop=True), analysis.reset_index(drop=True)

