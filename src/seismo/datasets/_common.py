"""Pieces shared by the synthetic data generators: timestamps, ids, model fitting.

Nothing here draws feature values; each generator module owns its story.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # LightGBM is imported when a model is trained, not with seismo
    import lightgbm as lgb
import numpy as np
import pandas as pd

from seismo.errors import InvalidConfiguration

# The periods every generator uses: the reference covers the first half of 2024,
# the analysis the second half, and the drift story starts on DRIFT_START.
REFERENCE_START = pd.Timestamp("2024-01-01")
ANALYSIS_START = pd.Timestamp("2024-07-01")
DRIFT_START = pd.Timestamp("2024-10-01")
ANALYSIS_END = pd.Timestamp("2025-01-01")

# Probabilities handed out are clipped into [PROBA_EPS, 1 - PROBA_EPS].
PROBA_EPS = 1e-6


def check_sizes(n_reference: int, n_analysis: int) -> None:
    """Refuse sizes that leave a period or a half of the analysis empty."""
    for name, value in (("n_reference", n_reference), ("n_analysis", n_analysis)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise InvalidConfiguration(f"{name} must be an int, got {value!r}")
    if n_reference < 1:
        raise InvalidConfiguration(f"n_reference must be at least 1, got {n_reference}")
    if n_analysis < 2:
        raise InvalidConfiguration(
            f"n_analysis must be at least 2 (one row per half), got {n_analysis}"
        )


def timestamps(
    rng: np.random.Generator, n: int, start: pd.Timestamp, end: pd.Timestamp
) -> np.ndarray:
    """``n`` strictly increasing whole-second times in ``[start, end)``.

    The period is cut into ``n`` slots with whole-second edges and one time is
    drawn uniformly inside each slot, so arrivals look irregular but stay ordered.
    """
    seconds = int((end - start) / pd.Timedelta(seconds=1))
    if n > seconds:
        raise InvalidConfiguration(f"{n} rows do not fit in {seconds} seconds of {start}..{end}")
    edges = np.floor(np.arange(n + 1) * (seconds / n)).astype(np.int64)
    widths = np.diff(edges)
    offsets = edges[:-1] + np.floor(rng.random(n) * widths).astype(np.int64)
    return (np.datetime64(start.to_datetime64(), "s") + offsets.astype("timedelta64[s]")).astype(
        "datetime64[ns]"
    )


def analysis_timestamps(rng: np.random.Generator, n_analysis: int) -> np.ndarray:
    """Timestamps of the analysis: its first ``n_analysis // 2`` rows fall before
    DRIFT_START, the rest on or after it."""
    n_first = n_analysis // 2
    return np.concatenate(
        [
            timestamps(rng, n_first, ANALYSIS_START, DRIFT_START),
            timestamps(rng, n_analysis - n_first, DRIFT_START, ANALYSIS_END),
        ]
    )


def model_frame(
    features: pd.DataFrame, columns: Sequence[str], categories: dict[str, list[str]]
) -> pd.DataFrame:
    """The model's input: ``columns`` of ``features`` with each categorical column
    cast to the categories seen in training; an unseen value becomes missing."""
    frame = pd.DataFrame(
        {c: features[c].to_numpy(dtype=np.float64) for c in columns if c not in categories}
    )
    for column, cats in categories.items():
        codes = pd.Index(cats).get_indexer(features[column].to_numpy(dtype=object))
        frame[column] = pd.Categorical.from_codes(codes, categories=cats)  # -1: unseen
    return frame[list(columns)]


def lgbm_params(seed: int, objective: str, **overrides) -> dict:
    """Small, fast, deterministic LightGBM settings.

    One thread: on a busy two-core machine (for example tests run with
    pytest-xdist) two OpenMP threads fighting other processes made fitting
    over ten times slower, while on an idle machine one thread costs only
    about a third more time.
    """
    params = dict(
        objective=objective,
        n_estimators=150,
        learning_rate=0.08,
        num_leaves=31,
        min_child_samples=50,
        subsample=1.0,
        colsample_bytree=1.0,
        reg_lambda=1.0,
        random_state=seed,
        n_jobs=1,
        deterministic=True,
        force_col_wise=True,
        verbose=-1,
    )
    params.update(overrides)
    return params


def fit_classifier(
    X: pd.DataFrame, y: np.ndarray, seed: int, **overrides
) -> lgb.LGBMClassifier:
    objective = "binary" if len(np.unique(y)) == 2 else "multiclass"
    import lightgbm as lgb

    model = lgb.LGBMClassifier(**lgbm_params(seed, objective, **overrides))
    model.fit(X, y)
    return model


def fit_binary(
    train: pd.DataFrame,
    y_train: np.ndarray,
    columns: Sequence[str],
    categories: dict[str, list[str]],
    seed: int,
) -> tuple[lgb.LGBMClassifier, float]:
    """A binary model of ``columns`` and its decision threshold.

    The threshold flags, on the training sample, as many rows as are positive
    there (the training positive-rate quantile of the predicted probabilities),
    so ``y_pred`` flags about as many rows as the target holds.
    """
    X = model_frame(train, columns, categories)
    model = fit_classifier(X, y_train, seed)
    # np.asarray: LightGBM's annotation also allows the list of sparse matrices of pred_contrib
    train_proba = np.asarray(model.predict_proba(X))[:, 1]
    return model, float(np.quantile(train_proba, 1.0 - y_train.mean()))


def binary_outputs(
    model: lgb.LGBMClassifier,
    threshold: float,
    features: pd.DataFrame,
    columns: Sequence[str],
    categories: dict[str, list[str]],
) -> dict[str, np.ndarray]:
    """``y_pred_proba`` (clipped) and ``y_pred`` (1 from ``threshold`` on) of ``features``."""
    proba = clip_proba(np.asarray(model.predict_proba(model_frame(features, columns, categories)))[:, 1])
    return {"y_pred_proba": proba, "y_pred": (proba >= threshold).astype(np.int64)}


def fit_regressor(X: pd.DataFrame, y: np.ndarray, seed: int, **overrides) -> lgb.LGBMRegressor:
    import lightgbm as lgb

    model = lgb.LGBMRegressor(**lgbm_params(seed, "regression", **overrides))
    model.fit(X, y)
    return model


def clip_proba(proba: np.ndarray) -> np.ndarray:
    """Probabilities clipped strictly inside (0, 1); rows of a 2-D array re-summed to 1."""
    proba = np.clip(np.asarray(proba, dtype=np.float64), PROBA_EPS, 1.0 - PROBA_EPS)
    if proba.ndim == 2:
        proba = proba / proba.sum(axis=1, keepdims=True)
    return proba


def assemble(
    ids: np.ndarray, ts: np.ndarray, features: pd.DataFrame, extra: dict[str, np.ndarray]
) -> pd.DataFrame:
    """``id``, ``timestamp``, the features, then ``extra`` columns, in that order."""
    frame = pd.DataFrame({"id": ids.astype(np.int64), "timestamp": ts})
    for column in features.columns:
        frame[column] = features[column].to_numpy()
    for column, values in extra.items():
        frame[column] = values
    return frame


def labelled_frames(
    reference: pd.DataFrame,
    analysis: pd.DataFrame,
    target: str,
    y: tuple[np.ndarray, np.ndarray],
    ts: tuple[np.ndarray, np.ndarray],
    outputs: Callable[[pd.DataFrame], dict[str, np.ndarray]],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The loaders' ``(reference, analysis, analysis_targets)`` from features, labels and times.

    Ids count up from 0 through the reference and on through the analysis;
    ``y`` and ``ts`` hold the reference's then the analysis' labels and times,
    and ``outputs`` scores a frame of features.
    """
    n_reference, n_analysis = len(reference), len(analysis)
    ids_reference = np.arange(n_reference, dtype=np.int64)
    ids_analysis = np.arange(n_reference, n_reference + n_analysis, dtype=np.int64)
    reference_frame = assemble(ids_reference, ts[0], reference, {target: y[0], **outputs(reference)})
    analysis_frame = assemble(ids_analysis, ts[1], analysis, outputs(analysis))
    targets = pd.DataFrame({"id": ids_analysis, target: y[1]})
    return reference_frame, analysis_frame, targets


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def choice(
    rng: np.random.Generator, values: Sequence[str], p: Sequence[float], n: int
) -> np.ndarray:
    """``n`` draws of ``values`` with probabilities ``p`` as an object array of str."""
    weights = np.asarray(p, dtype=np.float64)
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=weights / weights.sum())]


def draw_periods(rng: np.random.Generator, draw_features, n_reference: int, n_analysis: int):
    """Reference and analysis features: the analysis' first half like the reference, the second drifted.

    ``draw_features(rng, n, drifted=...)`` is each dataset's own generator.
    """
    n_first = n_analysis // 2
    reference = draw_features(rng, n_reference, drifted=False)
    analysis = pd.concat(
        [draw_features(rng, n_first, drifted=False), draw_features(rng, n_analysis - n_first, drifted=True)],
        ignore_index=True,
    )
    return reference, analysis


def period_timestamps(rng: np.random.Generator, n_reference: int, n_analysis: int) -> tuple[np.ndarray, np.ndarray]:
    """Increasing timestamps for the reference period and the analysis period after it."""
    return timestamps(rng, n_reference, REFERENCE_START, ANALYSIS_START), analysis_timestamps(rng, n_analysis)
