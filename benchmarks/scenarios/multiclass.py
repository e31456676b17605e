"""Multiclass scenarios: a multinomial logistic model under covariate shift, and a shift into a
region where one class's calibration breaks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from scenarios.common import (
    CLASSES,
    FEATURES,
    N_TRAIN,
    _covariates,
    _ramp,
    _segment_index,
    _with_meta,
)

# -- multiclass ----------------------------------------------------------------------------------

#: true logits of classes a, b, c: rows = class, columns = intercept, x1..x4, segment s1, s2
MULTICLASS_COEF = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.3, 1.0, -0.6, 0.0, 0.3, 0.4, 0.0],
    [-0.5, -0.7, 1.2, 0.8, 0.0, 0.0, -0.4],
])
PROBA_COLUMNS = {label: f"y_pred_proba_{label}" for label in CLASSES}


def _multiclass_design(frame: pd.DataFrame) -> np.ndarray:
    seg = _segment_index(frame)
    return np.column_stack([frame[FEATURES].to_numpy(dtype=float), seg == 1, seg == 2]).astype(float)


def multiclass_proba(frame: pd.DataFrame) -> np.ndarray:
    """The true P(y = class | features), (n, 3) in `CLASSES` order."""
    z = MULTICLASS_COEF[:, 0][None, :] + _multiclass_design(frame) @ MULTICLASS_COEF[:, 1:].T
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _draw_class(rng: np.random.Generator, proba: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(proba, axis=1)
    idx = (rng.random(len(proba))[:, None] > cdf[:, :-1]).sum(axis=1)
    return np.asarray(CLASSES, dtype=object)[idx]


def _multiclass_frames(
    seed: int, n_reference: int, n_analysis: int, analysis_shift: Callable[[int], dict] | None = None,
    truth: Callable[[pd.DataFrame], np.ndarray] = multiclass_proba,
):
    rng = np.random.default_rng(seed)
    train = _covariates(rng, N_TRAIN)
    y_train = _draw_class(rng, truth(train))
    model = LogisticRegression(C=1e6, max_iter=1_000).fit(_multiclass_design(train), y_train)  # multinomial
    order = [list(model.classes_).index(label) for label in CLASSES]
    reference = _covariates(rng, n_reference)
    analysis = _covariates(rng, n_analysis, analysis_shift(n_analysis) if analysis_shift else None)
    for frame in (reference, analysis):
        frame["y"] = _draw_class(rng, truth(frame))
        proba = model.predict_proba(_multiclass_design(frame))[:, order]
        for j, label in enumerate(CLASSES):
            frame[PROBA_COLUMNS[label]] = proba[:, j]
        frame["y_pred"] = np.asarray(CLASSES, dtype=object)[proba.argmax(axis=1)]
    return _with_meta(reference, analysis)


def multiclass_covariate_shift(seed: int = 0, n_reference: int = 50_000, n_analysis: int = 50_000):
    """P(y | x) fixed; the means of x2 and x3 drift over the analysis."""
    return _multiclass_frames(seed, n_reference, n_analysis,
                              analysis_shift=lambda n: {"x2": _ramp(n, 1.0), "x3": _ramp(n, -0.6)})


def multiclass_stationary(seed: int = 0, n_reference: int = 50_000, n_analysis: int = 50_000):
    return _multiclass_frames(seed, n_reference, n_analysis)


# -- multiclass: covariate shift into a region where one class's calibration breaks -----------------

#: multiclass_sparse_region_shift: above x1 = 1 class "c"'s true logit gains this slope (a hinge the
#: multinomial logistic model does not have); the reference has 16% of its rows above 1, so the
#: model is calibrated on the reference mixture and overconfident in "b" (which x1 favours) there
MULTICLASS_HINGE_AT = 1.0
MULTICLASS_HINGE_SLOPE = 2.5
#: the analysis' x1 mean ramps 0 -> +1.5 (last chunks: about 70% of rows above 1, 11% where the
#: chunk is more than 20 times denser than the reference)
MULTICLASS_SPARSE_SHIFT = 1.5


def multiclass_hinged_proba(frame: pd.DataFrame) -> np.ndarray:
    """The true P(y = class | features) of `multiclass_sparse_region_shift`, (n, 3) in `CLASSES` order."""
    z = MULTICLASS_COEF[:, 0][None, :] + _multiclass_design(frame) @ MULTICLASS_COEF[:, 1:].T
    x1 = frame["x1"].to_numpy(dtype=float)
    z[:, 2] += MULTICLASS_HINGE_SLOPE * np.maximum(x1 - MULTICLASS_HINGE_AT, 0.0)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def multiclass_sparse_region_shift(seed: int = 0, n_reference: int = 50_000, n_analysis: int = 50_000):
    """Class "c"'s logit bends up above x1 = 1 (`MULTICLASS_HINGE_SLOPE`), which the linear multinomial model
    cannot represent; the analysis moves there (x1 mean 0 -> +1.5), so P(y | score) changes: CBPE is
    optimistic, PAPE can re-learn the calibration where the reference still has rows."""
    return _multiclass_frames(seed, n_reference, n_analysis,
                              analysis_shift=lambda n: {"x1": _ramp(n, MULTICLASS_SPARSE_SHIFT)},
                              truth=multiclass_hinged_proba)


