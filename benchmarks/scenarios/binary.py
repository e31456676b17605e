"""Binary scenarios: a calibrated logistic model under covariate shift, prior shift and
concept drift, and two covariate shifts where the model is calibrated only on the reference mixture."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from scenarios.common import (
    FEATURES,
    N_TRAIN,
    SEGMENT_EFFECT,
    SEGMENT_P,
    SEGMENTS,
    _covariates,
    _design,
    _ramp,
    _segment_index,
    _with_meta,
    sigmoid,
)

# -- binary ------------------------------------------------------------------------------------------

#: the true logit: intercept, x1, x2, x3, x4 (no effect), x1*x2, segments s1, s2
BINARY_COEF = np.array([-1.0, 1.5, -1.0, 0.7, 0.0, 0.5, 0.4, -0.5])
#: after concept drift: x1 matters much less, x3 flips sign
DRIFTED_COEF = np.array([-1.0, 0.6, -1.0, -0.3, 0.0, 0.5, 0.4, -0.5])
BINARY_THRESHOLD = 0.5


def binary_logit(frame: pd.DataFrame, coef: np.ndarray = BINARY_COEF) -> np.ndarray:
    """The true log-odds of y = 1 given the features."""
    return coef[0] + _design(frame) @ coef[1:]


def _fit_logistic(x: np.ndarray, y: np.ndarray) -> LogisticRegression:
    # C large: essentially unpenalised maximum likelihood, which is what makes it calibrated
    return LogisticRegression(C=1e6, max_iter=1_000).fit(x, y)


def _binary_outputs(model: LogisticRegression, features: pd.DataFrame, design=_design) -> dict[str, np.ndarray]:
    proba = model.predict_proba(design(features))[:, 1]
    return {"y_pred_proba": proba, "y_pred": (proba >= BINARY_THRESHOLD).astype(np.int64)}


def _binary_frames(
    seed: int, n_reference: int, n_analysis: int,
    analysis_shift: Callable[[int], dict] | None = None,
    analysis_coef: np.ndarray = BINARY_COEF,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    train = _covariates(rng, N_TRAIN)
    y_train = (rng.random(N_TRAIN) < sigmoid(binary_logit(train))).astype(np.int64)
    model = _fit_logistic(_design(train), y_train)
    reference = _covariates(rng, n_reference)
    analysis = _covariates(rng, n_analysis, analysis_shift(n_analysis) if analysis_shift else None)
    frames = []
    for frame, coef in ((reference, BINARY_COEF), (analysis, analysis_coef)):
        frame["y"] = (rng.random(len(frame)) < sigmoid(binary_logit(frame, coef))).astype(np.int64)
        for key, value in _binary_outputs(model, frame).items():
            frame[key] = value
        frames.append(frame)
    return _with_meta(*frames)


def binary_covariate_shift(seed: int = 0, n_reference: int = 50_000, n_analysis: int = 50_000):
    """P(y | x) fixed; the means of x1 and x2 drift up linearly over the analysis."""
    return _binary_frames(seed, n_reference, n_analysis,
                          analysis_shift=lambda n: {"x1": _ramp(n, 1.2), "x2": _ramp(n, 0.8)})


def binary_concept_drift(seed: int = 0, n_reference: int = 50_000, n_analysis: int = 50_000):
    """Same covariates throughout; P(y | x) uses `DRIFTED_COEF` for every analysis row."""
    return _binary_frames(seed, n_reference, n_analysis, analysis_coef=DRIFTED_COEF)


def binary_stationary(seed: int = 0, n_reference: int = 50_000, n_analysis: int = 50_000):
    """Reference and analysis drawn from the same distribution."""
    return _binary_frames(seed, n_reference, n_analysis)


def binary_small_chunks(seed: int = 0, n_reference: int = 20_000, n_analysis: int = 10_000):
    """Stationary, sized for chunks of 500 rows (40 reference, 20 analysis chunks)."""
    return _binary_frames(seed, n_reference, n_analysis)


# -- binary: covariate shift that CBPE gets wrong (the model is not calibrated locally) ------------

#: binary_sparse_region_shift: above x1 = 1 the true logit's x1 slope drops by this much (a hinge
#: the logistic model does not have); the reference has few rows there, so the model (fitted on
#: data drawn like the reference) is calibrated on the reference mixture, not above the hinge
SPARSE_HINGE_AT = 1.0
SPARSE_HINGE_SLOPE = -2.0
#: the analysis' x1 mean ramps from +1.5 to +2.5 (reference: N(0, 1), 84% of rows below 1;
#: analysis: 69-93% of rows above 1.5)
SPARSE_SHIFT = (1.5, 2.5)


def _sparse_logit(frame: pd.DataFrame) -> np.ndarray:
    x1 = frame["x1"].to_numpy(dtype=float)
    return binary_logit(frame) + SPARSE_HINGE_SLOPE * np.maximum(x1 - SPARSE_HINGE_AT, 0.0)


def _local_frames(
    seed: int, n_reference: int, n_analysis: int, logit: Callable[[pd.DataFrame], np.ndarray],
    design: Callable[[pd.DataFrame], np.ndarray], analysis_shift: Callable[[int], dict],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Like `_binary_frames`, with a true ``logit`` the logistic model on ``design`` cannot represent."""
    rng = np.random.default_rng(seed)
    train = _covariates(rng, N_TRAIN)
    y_train = (rng.random(N_TRAIN) < sigmoid(logit(train))).astype(np.int64)
    model = _fit_logistic(design(train), y_train)
    reference = _covariates(rng, n_reference)
    analysis = _covariates(rng, n_analysis, analysis_shift(n_analysis))
    for frame in (reference, analysis):
        frame["y"] = (rng.random(len(frame)) < sigmoid(logit(frame))).astype(np.int64)
        for key, value in _binary_outputs(model, frame, design).items():
            frame[key] = value
    return _with_meta(reference, analysis)


def binary_sparse_region_shift(seed: int = 0, n_reference: int = 50_000, n_analysis: int = 50_000):
    """The analysis moves into a region the reference barely covers (x1 > 1.5), where the true logit
    bends (`SPARSE_HINGE_SLOPE`) and the model, calibrated on the reference mixture, is overconfident."""
    lo, hi = SPARSE_SHIFT
    return _local_frames(seed, n_reference, n_analysis, _sparse_logit, _design,
                         analysis_shift=lambda n: {"x1": lo + _ramp(n, hi - lo)})


#: binary_local_calibration: region A is x4 > 0; the true logit is
#: intercept + slope(region) * (1.5 x1 - x2 + 0.7 x3) + segment effect, slope 1.8 in A and 0.4 in B
LOCAL_SLOPES = (0.4, 1.8)
LOCAL_COEF = np.array([1.5, -1.0, 0.7])
LOCAL_INTERCEPT = -1.0
#: the analysis' x4 mean ramps 0 -> +1.5: the share of region A grows from 50% to 93%
LOCAL_SHIFT = 1.5


def _local_logit(frame: pd.DataFrame) -> np.ndarray:
    x = frame[["x1", "x2", "x3"]].to_numpy(dtype=float)
    slope = np.where(frame["x4"].to_numpy(dtype=float) > 0.0, LOCAL_SLOPES[1], LOCAL_SLOPES[0])
    return LOCAL_INTERCEPT + slope * (x @ LOCAL_COEF) + SEGMENT_EFFECT[_segment_index(frame)]


def _local_design(frame: pd.DataFrame) -> np.ndarray:
    """The model's inputs: x1, x2, x3 and the segment, not the region (x4)."""
    seg = _segment_index(frame)
    return np.column_stack([frame[["x1", "x2", "x3"]].to_numpy(dtype=float), seg == 1, seg == 2]).astype(float)


def binary_local_calibration(seed: int = 0, n_reference: int = 50_000, n_analysis: int = 50_000):
    """A model calibrated on the 50/50 mixture of two regions whose logit slopes differ (the score ignores
    the region); the analysis shifts towards the steep region, where the model is underconfident."""
    return _local_frames(seed, n_reference, n_analysis, _local_logit, _local_design,
                         analysis_shift=lambda n: {"x4": _ramp(n, LOCAL_SHIFT)})


#: class-conditional means of x1..x4 for y = 1 (y = 0 has mean 0); unit covariance
PRIOR_MEAN_POSITIVE = np.array([1.2, -0.8, 0.6, 0.0])
PRIOR_REFERENCE = 0.30
PRIOR_ANALYSIS_END = 0.60


def _prior_design(frame: pd.DataFrame) -> np.ndarray:
    return frame[FEATURES].to_numpy(dtype=float)


def _prior_sample(rng: np.random.Generator, prior: np.ndarray) -> pd.DataFrame:
    """y ~ Bernoulli(prior) row by row, then x | y ~ N(y * mean, I) and the segment (no effect)."""
    n = len(prior)
    y = (rng.random(n) < prior).astype(np.int64)
    x = rng.normal(size=(n, len(FEATURES))) + y[:, None] * PRIOR_MEAN_POSITIVE[None, :]
    frame = pd.DataFrame(x, columns=FEATURES)
    frame["segment"] = np.asarray(SEGMENTS, dtype=object)[rng.choice(len(SEGMENTS), size=n, p=SEGMENT_P)]
    frame["y"] = y
    return frame


def binary_prior_shift(seed: int = 0, n_reference: int = 50_000, n_analysis: int = 50_000):
    """Label shift: P(x | y) fixed, P(y = 1) ramps from 0.30 to 0.60 over the analysis.

    With Gaussian classes of equal covariance the true P(y | x) is logistic-linear
    in x, so a logistic regression on x is calibrated on the reference; under the
    new prior its log-odds are off by logit(prior) - logit(0.30), which CBPE cannot
    know.
    """
    rng = np.random.default_rng(seed)
    train = _prior_sample(rng, np.full(N_TRAIN, PRIOR_REFERENCE))
    model = _fit_logistic(_prior_design(train), train["y"].to_numpy())
    reference = _prior_sample(rng, np.full(n_reference, PRIOR_REFERENCE))
    analysis = _prior_sample(rng, PRIOR_REFERENCE + _ramp(n_analysis, PRIOR_ANALYSIS_END - PRIOR_REFERENCE))
    for frame in (reference, analysis):
        for key, value in _binary_outputs(model, frame, _prior_design).items():
            frame[key] = value
    return _with_meta(reference, analysis)


