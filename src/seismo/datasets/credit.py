"""Synthetic loan-default data: a binary classifier whose realized ROC AUC drops.

Story
-----
A lender scores loan applications with a LightGBM model that predicts the
probability that the loan defaults (target ``defaulted``, 1 = default, about 16%
of loans in the reference). The model was trained on a separate sample of
applications drawn like the reference (not returned).

* **Reference** (50,000 loans, 2024-01-01 to 2024-06-30): the period the model
  was validated on.
* **Analysis, first half** (25,000 loans, 2024-07-01 to 2024-09-30): drawn
  exactly like the reference; only sampling noise differs.
* **Analysis, second half** (25,000 loans, from 2024-10-01): a broker
  partnership brings in a homogeneous applicant pool.

  - *Covariate shift in* ``income`` *and* ``debt_ratio`` (the model's two most
    predictive features): income concentrates around 42,000 (log-sd 0.3
    instead of 0.5 around 48,000) and debt ratios around 0.36 (sd about 0.08
    instead of 0.15 around 0.31). How default depends on the features does
    not change (P(defaulted | features) is the same function throughout), but
    within this narrow band the model has little to tell applicants apart by,
    so its realized ROC AUC falls from about 0.89 to about 0.77 (the default
    rate rises a little, to about 18%). Because the model is well calibrated
    and the shift is covariate only, estimated performance (CBPE) should see
    the drop before the labels arrive.
  - *Virtual drift in* ``age``: applicants are about 12 years (one standard
    deviation) older. Default does not depend on age at all, so the model's
    AUC does not suffer from it (checked by re-scoring with reference ages).
  - *Missing values in* ``employment_years``: about 15% of rows are NaN
    (never missing before 2024-10-01).
  - *New category in* ``employment_type``: ``"gig"`` appears on about 10% of
    rows (never seen in the reference or by the model; the model treats it as
    missing).

  All other features (``region``, ``credit_history_years``, ``loan_amount``,
  ``n_open_loans``, the relative shares of the old ``employment_type`` values
  and the non-missing ``employment_years``) keep their distribution throughout.

Columns
-------
``id`` (int, unique across reference and analysis), ``timestamp``
(datetime64, increasing), ``age`` (int), ``income`` (float, yearly),
``debt_ratio`` (float in (0, 1)), ``loan_amount`` (float),
``credit_history_years`` (float), ``n_open_loans`` (int),
``employment_years`` (float), ``employment_type`` (str: salaried,
self_employed, contract, part_time; later gig), ``region`` (str: north, south,
east, west, central), then ``defaulted`` (int 0/1, reference only),
``y_pred_proba`` (float strictly inside (0, 1)) and ``y_pred`` (int 0/1).

``y_pred`` is 1 when ``y_pred_proba`` reaches the threshold that flags, on the
model's training sample, as many loans as actually defaulted there (the
training default-rate quantile of the predicted probabilities; about 0.35).

``analysis_targets`` holds ``id`` and ``defaulted`` for the analysis rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seismo.datasets import _common

TARGET = "defaulted"
FEATURES = [
    "age",
    "income",
    "debt_ratio",
    "loan_amount",
    "credit_history_years",
    "n_open_loans",
    "employment_years",
    "employment_type",
    "region",
]
REGIONS = ["north", "south", "east", "west", "central"]
REGION_P = [0.24, 0.18, 0.20, 0.16, 0.22]
REGION_EFFECT = {"north": -0.10, "south": 0.15, "east": 0.05, "west": -0.05, "central": 0.0}
EMPLOYMENT = ["salaried", "self_employed", "contract", "part_time"]
EMPLOYMENT_P = [0.62, 0.16, 0.14, 0.08]
NEW_EMPLOYMENT = "gig"
EMPLOYMENT_EFFECT = {
    "salaried": 0.0,
    "self_employed": 0.25,
    "contract": 0.45,
    "part_time": 0.55,
    NEW_EMPLOYMENT: 0.60,
}
CATEGORIES = {"employment_type": EMPLOYMENT, "region": REGIONS}

N_TRAIN = 40_000
AGE_SHIFT = 12.0
NEW_CATEGORY_SHARE = 0.10
MISSING_SHARE = 0.15


def _draw_features(rng: np.random.Generator, n: int, drifted: bool) -> pd.DataFrame:
    """``n`` applications; ``drifted`` selects the second-half distribution."""
    age = np.clip(np.round(rng.normal(42.0 + (AGE_SHIFT if drifted else 0.0), 12.0, n)), 18, 90)
    if drifted:
        income = rng.lognormal(np.log(42_000.0), 0.3, n)
        debt_ratio = rng.beta(12.0, 21.0, n)
    else:
        income = rng.lognormal(np.log(48_000.0), 0.5, n)
        debt_ratio = rng.beta(2.5, 5.5, n)
    loan_amount = np.round(rng.lognormal(np.log(12_000.0), 0.6, n), -2)
    credit_history_years = np.round(rng.gamma(2.2, 3.5, n), 1)
    n_open_loans = np.minimum(rng.poisson(1.4, n), 12)
    employment_years = np.round(rng.gamma(1.6, 3.5, n), 1)
    if drifted:
        p = [q * (1.0 - NEW_CATEGORY_SHARE) for q in EMPLOYMENT_P] + [NEW_CATEGORY_SHARE]
        employment_type = _common.choice(rng, EMPLOYMENT + [NEW_EMPLOYMENT], p, n)
        employment_years[rng.random(n) < MISSING_SHARE] = np.nan
    else:
        employment_type = _common.choice(rng, EMPLOYMENT, EMPLOYMENT_P, n)
    region = _common.choice(rng, REGIONS, REGION_P, n)
    return pd.DataFrame(
        {
            "age": age.astype(np.int64),
            "income": np.round(income, -1),
            "debt_ratio": np.round(debt_ratio, 4),
            "loan_amount": loan_amount,
            "credit_history_years": credit_history_years,
            "n_open_loans": n_open_loans.astype(np.int64),
            "employment_years": employment_years,
            "employment_type": employment_type,
            "region": region,
        }
    )


def default_probability(features: pd.DataFrame) -> np.ndarray:
    """The true P(defaulted = 1 | features), the same function in every period.

    ``age`` does not enter. A missing ``employment_years`` counts as the
    average tenure (the value is lost, not the job).
    """
    log_income = np.log(features["income"].to_numpy(dtype=np.float64))
    debt = features["debt_ratio"].to_numpy(dtype=np.float64)
    loan_to_income = np.log(features["loan_amount"].to_numpy(dtype=np.float64)) - log_income
    history = features["credit_history_years"].to_numpy(dtype=np.float64)
    n_open = features["n_open_loans"].to_numpy(dtype=np.float64)
    years = features["employment_years"].to_numpy(dtype=np.float64)
    tenure = np.log1p(np.nan_to_num(years, nan=5.6))
    employment = features["employment_type"].map(EMPLOYMENT_EFFECT).to_numpy(dtype=np.float64)
    region = features["region"].map(REGION_EFFECT).to_numpy(dtype=np.float64)
    z = (
        -2.95
        + 1.35 * (debt - 0.31) / 0.154
        + 0.9 * np.maximum(debt - 0.5, 0.0) / 0.154
        - 1.15 * (log_income - np.log(48_000.0)) / 0.5
        + 0.35 * (loan_to_income + 1.39) / 0.78
        - 0.35 * (history - 7.7) / 5.2
        + 0.22 * (n_open - 1.4)
        - 0.25 * (tenure - 1.65) / 0.7
        + employment
        + region
    )
    return _common.sigmoid(z)


def _simulate(seed: int = 0, n_reference: int = 50_000, n_analysis: int = 50_000):
    """Everything the public loader returns plus the fitted model (for tests)."""
    _common.check_sizes(n_reference, n_analysis)
    rng = np.random.default_rng(seed)

    train = _draw_features(rng, N_TRAIN, drifted=False)
    y_train = (rng.random(N_TRAIN) < default_probability(train)).astype(np.int64)
    model, threshold = _common.fit_binary(train, y_train, FEATURES, CATEGORIES, seed)

    reference, analysis = _common.draw_periods(rng, _draw_features, n_reference, n_analysis)
    y_reference = (rng.random(n_reference) < default_probability(reference)).astype(np.int64)
    y_analysis = (rng.random(n_analysis) < default_probability(analysis)).astype(np.int64)
    ts = _common.period_timestamps(rng, n_reference, n_analysis)
    frames = _common.labelled_frames(
        reference,
        analysis,
        TARGET,
        (y_reference, y_analysis),
        ts,
        lambda features: _common.binary_outputs(model, threshold, features, FEATURES, CATEGORIES),
    )
    return (*frames, model, threshold)


def load_synthetic_credit(
    seed: int = 0, n_reference: int = 50_000, n_analysis: int = 50_000
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Seeded synthetic loan-default data; see the module docstring for the story.

    Returns ``(reference, analysis, analysis_targets)``. The analysis drifts from
    row ``n_analysis // 2`` on (timestamps from 2024-10-01). Deterministic for a
    given ``seed`` and sizes; the model depends on ``seed`` only.
    """
    reference, analysis, targets, _, _ = _simulate(seed, n_reference, n_analysis)
    return reference, analysis, targets
