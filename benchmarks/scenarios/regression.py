"""Regression scenarios: a LightGBM model with heteroscedastic noise, the setting DLE is built for."""

from __future__ import annotations

from collections.abc import Callable

import lightgbm as lgb
import numpy as np
import pandas as pd

from scenarios.common import (
    FEATURES,
    _ramp,
    _with_meta,
    sigmoid,
)

# -- regression ----------------------------------------------------------------------------------

REGRESSION_TRAIN = 30_000


def regression_mean(frame: pd.DataFrame) -> np.ndarray:
    """E[y | x]: a smooth, mildly non-linear function, kept well above 0 (MAPE stays tame)."""
    x1, x2, x3, x4 = (frame[c].to_numpy(dtype=float) for c in FEATURES)
    return 20.0 + 2.0 * x1 + np.sin(2.0 * x2) + 0.5 * x3**2 + 0.5 * x4


def regression_noise_sd(frame: pd.DataFrame) -> np.ndarray:
    """sd(y | x) = 0.5 + 2.5 * sigmoid(2 * x4): from 0.5 to 3, saturating (no extrapolation needed)."""
    return 0.5 + 2.5 * sigmoid(2.0 * frame["x4"].to_numpy(dtype=float))


def _regression_sample(rng: np.random.Generator, n: int, shift: dict | None = None) -> pd.DataFrame:
    shift = shift or {}
    frame = pd.DataFrame({name: rng.normal(size=n) + shift.get(name, 0.0) for name in FEATURES})
    frame["y"] = regression_mean(frame) + regression_noise_sd(frame) * rng.normal(size=n)
    return frame


def _regression_frames(
    seed: int, n_reference: int, n_analysis: int, analysis_shift: Callable[[int], dict] | None = None
):
    rng = np.random.default_rng(seed)
    train = _regression_sample(rng, REGRESSION_TRAIN)
    model = lgb.LGBMRegressor(n_estimators=300, learning_rate=0.05, num_leaves=31, min_child_samples=50,
                              random_state=seed, n_jobs=1, verbose=-1)  # 1 thread: same data on any machine
    model.fit(train[FEATURES].to_numpy(), train["y"].to_numpy())
    reference = _regression_sample(rng, n_reference)
    analysis = _regression_sample(rng, n_analysis, analysis_shift(n_analysis) if analysis_shift else None)
    for frame in (reference, analysis):
        frame["y_pred"] = model.predict(frame[FEATURES].to_numpy(), num_threads=1)
    return _with_meta(reference, analysis)


def regression_covariate_shift(seed: int = 0, n_reference: int = 40_000, n_analysis: int = 50_000):
    """Heteroscedastic noise; the analysis moves into the high-noise region (x4 up), so MAE rises."""
    return _regression_frames(seed, n_reference, n_analysis,
                              analysis_shift=lambda n: {"x4": _ramp(n, 1.2), "x1": _ramp(n, 0.5)})


def regression_stationary(seed: int = 0, n_reference: int = 40_000, n_analysis: int = 50_000):
    return _regression_frames(seed, n_reference, n_analysis)


