"""Synthetic subscription-churn data: a 3-class classifier whose macro AUC drops.

Story
-----
A telecom scores each subscriber once a month with a LightGBM model that
predicts whether, over the next month, the subscriber will ``stay``,
``downgrade`` to a cheaper plan or ``leave`` (target ``churn``; roughly 76% /
12% / 12% in the reference). The model was trained on a separate sample drawn
like the reference (not returned).

* **Reference** (30,000 rows, 2024-01-01 to 2024-06-30).
* **Analysis, first half** (15,000 rows, 2024-07-01 to 2024-09-30): drawn
  exactly like the reference; only sampling noise differs.
* **Analysis, second half** (15,000 rows, from 2024-10-01):

  - *Covariate shift in* ``monthly_charges`` *and* ``support_calls``: a price
    harmonisation puts almost everyone on about the same bill
    (``monthly_charges`` around 72 with sd 5 instead of 65 with sd 22) and a
    proactive-care programme gives every customer one or two logged support
    contacts a month (1 or 2, instead of Poisson with mean 1.6). How churn
    depends on the features does not change (P(churn | features) is the same
    function throughout), but the model's two strongest signals now barely
    vary, so its macro one-vs-rest ROC AUC falls from about 0.79 to about
    0.70 (about 0.09 lower; the class shares hardly move).
  - *Virtual drift in* ``app_minutes_per_week``: a redesigned app adds about
    35 minutes a week (one standard deviation; mean 60 becomes 95). Churn does not
    depend on it, so the model's AUC does not suffer from it.
  - *Missing values in* ``usage_gb``: about 15% NaN (never missing before
    2024-10-01).
  - *New category in* ``plan``: ``"family"`` appears on about 10% of rows
    (never seen in the reference or by the model, which treats it as missing).

  All other features (``tenure_months``, ``contract``, ``payment_method``,
  ``n_devices``, the relative shares of the old ``plan`` values and the
  non-missing ``usage_gb``) keep their distribution.

Columns
-------
``id`` (int, unique across reference and analysis), ``timestamp``
(datetime64, increasing), ``tenure_months`` (int), ``monthly_charges``
(float), ``support_calls`` (int), ``usage_gb`` (float), ``n_devices`` (int),
``app_minutes_per_week`` (float), ``plan`` (str: basic, standard, premium;
later family), ``contract`` (str: month_to_month, one_year, two_year),
``payment_method`` (str: card, bank_transfer, invoice), then ``churn`` (str,
reference only), ``y_pred_proba_stay``, ``y_pred_proba_downgrade``,
``y_pred_proba_leave`` (floats strictly inside (0, 1), each row sums to 1)
and ``y_pred`` (str, the class with the highest probability).

``analysis_targets`` holds ``id`` and ``churn`` for the analysis rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seismo.datasets import _common

TARGET = "churn"
CLASSES = ["stay", "downgrade", "leave"]
PROBA_COLUMNS = [f"y_pred_proba_{c}" for c in CLASSES]
FEATURES = [
    "tenure_months",
    "monthly_charges",
    "support_calls",
    "usage_gb",
    "n_devices",
    "app_minutes_per_week",
    "plan",
    "contract",
    "payment_method",
]
PLANS = ["basic", "standard", "premium"]
PLAN_P = [0.40, 0.40, 0.20]
NEW_PLAN = "family"
CONTRACTS = ["month_to_month", "one_year", "two_year"]
CONTRACT_P = [0.50, 0.30, 0.20]
PAYMENTS = ["card", "bank_transfer", "invoice"]
PAYMENT_P = [0.50, 0.30, 0.20]
CATEGORIES = {"plan": PLANS, "contract": CONTRACTS, "payment_method": PAYMENTS}

# Effect of each categorical value on the (downgrade, leave) log-odds against stay.
PLAN_EFFECT = {
    "basic": (-1.0, 0.2),
    "standard": (0.3, 0.0),
    "premium": (0.9, -0.2),
    NEW_PLAN: (0.5, -0.3),
}
CONTRACT_EFFECT = {
    "month_to_month": (0.2, 0.8),
    "one_year": (0.0, -0.3),
    "two_year": (-0.3, -1.2),
}
PAYMENT_EFFECT = {"card": (0.0, 0.0), "bank_transfer": (-0.1, -0.2), "invoice": (0.1, 0.3)}

N_TRAIN = 25_000
APP_SHIFT = 35.0
NEW_CATEGORY_SHARE = 0.10
MISSING_SHARE = 0.15
USAGE_MEAN = 30.0


def _draw_features(rng: np.random.Generator, n: int, drifted: bool) -> pd.DataFrame:
    """``n`` subscriber-months; ``drifted`` selects the second-half distribution."""
    tenure = np.clip(np.ceil(rng.gamma(1.3, 22.0, n)), 1, 120)
    if drifted:
        charges = rng.normal(72.0, 5.0, n)
        support_calls = 1 + rng.binomial(1, 0.4, n)
    else:
        charges = rng.normal(65.0, 22.0, n)
        support_calls = rng.poisson(1.6, n)
    charges = np.clip(charges, 15.0, 150.0)
    usage_gb = np.round(rng.gamma(2.0, USAGE_MEAN / 2.0, n), 2)
    n_devices = 1 + rng.poisson(1.2, n)
    app_minutes = np.round(
        rng.gamma(3.0, 20.0, n) + (APP_SHIFT if drifted else 0.0), 1
    )
    if drifted:
        p = [q * (1.0 - NEW_CATEGORY_SHARE) for q in PLAN_P] + [NEW_CATEGORY_SHARE]
        plan = _common.choice(rng, PLANS + [NEW_PLAN], p, n)
        usage_gb[rng.random(n) < MISSING_SHARE] = np.nan
    else:
        plan = _common.choice(rng, PLANS, PLAN_P, n)
    contract = _common.choice(rng, CONTRACTS, CONTRACT_P, n)
    payment = _common.choice(rng, PAYMENTS, PAYMENT_P, n)
    return pd.DataFrame(
        {
            "tenure_months": tenure.astype(np.int64),
            "monthly_charges": np.round(charges, 2),
            "support_calls": np.minimum(support_calls, 15).astype(np.int64),
            "usage_gb": usage_gb,
            "n_devices": np.minimum(n_devices, 8).astype(np.int64),
            "app_minutes_per_week": app_minutes,
            "plan": plan,
            "contract": contract,
            "payment_method": payment,
        }
    )


def _effect(values: pd.Series, table: dict[str, tuple[float, float]]) -> np.ndarray:
    """(n, 2) array of the (downgrade, leave) effects of a categorical column."""
    return np.column_stack(
        [values.map({k: v[i] for k, v in table.items()}).to_numpy(dtype=np.float64) for i in (0, 1)]
    )


def class_probabilities(features: pd.DataFrame) -> np.ndarray:
    """The true P(churn = stay, downgrade, leave | features), columns in CLASSES
    order; the same function in every period. ``app_minutes_per_week`` does not
    enter; a missing ``usage_gb`` counts as the average usage."""
    charges = (features["monthly_charges"].to_numpy(dtype=np.float64) - 65.0) / 22.0
    calls = features["support_calls"].to_numpy(dtype=np.float64) - 1.6
    tenure = (np.log(features["tenure_months"].to_numpy(dtype=np.float64)) - 3.0) / 1.0
    usage = np.nan_to_num(features["usage_gb"].to_numpy(dtype=np.float64), nan=USAGE_MEAN)
    low_usage = (np.log1p(usage) - 3.2) / 0.8
    devices = features["n_devices"].to_numpy(dtype=np.float64) - 2.2
    cats = (
        _effect(features["plan"], PLAN_EFFECT)
        + _effect(features["contract"], CONTRACT_EFFECT)
        + _effect(features["payment_method"], PAYMENT_EFFECT)
    )
    z_down = -2.3 + 1.1 * charges + 0.35 * calls - 0.2 * tenure - 0.3 * low_usage + cats[:, 0]
    z_leave = (
        -2.6 + 0.55 * charges + 0.7 * calls - 0.6 * tenure - 0.15 * devices + cats[:, 1]
    )
    logits = np.column_stack([np.zeros_like(z_down), z_down, z_leave])
    logits -= logits.max(axis=1, keepdims=True)
    expd = np.exp(logits)
    return expd / expd.sum(axis=1, keepdims=True)


def _draw_labels(rng: np.random.Generator, features: pd.DataFrame) -> np.ndarray:
    """Class indices drawn from class_probabilities (inverse CDF, vectorised)."""
    cumulative = np.cumsum(class_probabilities(features), axis=1)
    u = rng.random(len(features))[:, None]
    return np.minimum((u > cumulative).sum(axis=1), len(CLASSES) - 1)


def _simulate(seed: int = 0, n_reference: int = 30_000, n_analysis: int = 30_000):
    """Everything the public loader returns plus the fitted model (for tests)."""
    _common.check_sizes(n_reference, n_analysis)
    rng = np.random.default_rng(seed)
    labels = np.asarray(CLASSES, dtype=object)

    train = _draw_features(rng, N_TRAIN, drifted=False)
    y_train = _draw_labels(rng, train)
    model = _common.fit_classifier(
        _common.model_frame(train, FEATURES, CATEGORIES), y_train, seed, n_estimators=120
    )

    reference, analysis = _common.draw_periods(rng, _draw_features, n_reference, n_analysis)
    y_reference = labels[_draw_labels(rng, reference)]
    y_analysis = labels[_draw_labels(rng, analysis)]
    ts_reference, ts_analysis = _common.period_timestamps(rng, n_reference, n_analysis)

    def outputs(features: pd.DataFrame) -> dict[str, np.ndarray]:
        proba = _common.clip_proba(  # np.asarray: LightGBM's annotation also allows a list (pred_contrib)
            np.asarray(model.predict_proba(_common.model_frame(features, FEATURES, CATEGORIES)))
        )
        out = {column: proba[:, k] for k, column in enumerate(PROBA_COLUMNS)}
        out["y_pred"] = labels[proba.argmax(axis=1)]
        return out

    ids_reference = np.arange(n_reference, dtype=np.int64)
    ids_analysis = np.arange(n_reference, n_reference + n_analysis, dtype=np.int64)
    reference_frame = _common.assemble(
        ids_reference, ts_reference, reference, {TARGET: y_reference, **outputs(reference)}
    )
    analysis_frame = _common.assemble(ids_analysis, ts_analysis, analysis, outputs(analysis))
    targets = pd.DataFrame({"id": ids_analysis, TARGET: y_analysis})
    targets[TARGET] = targets[TARGET].astype(reference_frame[TARGET].dtype)
    return reference_frame, analysis_frame, targets, model


def load_synthetic_churn(
    seed: int = 0, n_reference: int = 30_000, n_analysis: int = 30_000
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Seeded synthetic 3-class churn data; see the module docstring for the story.

    Returns ``(reference, analysis, analysis_targets)``. The analysis drifts from
    row ``n_analysis // 2`` on (timestamps from 2024-10-01). Deterministic for a
    given ``seed`` and sizes; the model depends on ``seed`` only.
    """
    reference, analysis, targets, _ = _simulate(seed, n_reference, n_analysis)
    return reference, analysis, targets
