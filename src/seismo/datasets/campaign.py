"""Synthetic loan-default data with a segment story: one region's web campaign.

Story
-----
A lender scores loan applications with a LightGBM model that predicts the
probability that the loan defaults (target ``defaulted``, 1 = default, about
18% of loans in the reference). Applications come from five regions in about
equal shares (``region``) through three channels (``channel``: branch 45%, web
35%, broker 20%). The model was trained on a separate sample of applications
drawn like the reference (not returned).

* **Reference** (50,000 loans, 2024-01-01 to 2024-06-30): the period the model
  was validated on. About 5% of applicants, in every region and channel, are
  young *thin-file* applicants: about 23 years old, under a year of credit
  history on average, hardly any open loans, short employment, incomes around
  26,000 and small loans, all in narrow bands.
* **Analysis, first half** (25,000 loans, 2024-07-01 to 2024-09-30): drawn
  exactly like the reference; only sampling noise differs.
* **Analysis, second half** (25,000 loans, from 2024-10-01): a marketing
  campaign in region ``"east"`` through channel ``"web"`` brings in new
  thin-file customers. Their share of the east region's rows grows linearly
  in time from 0 on 2024-10-01 to 60% on the last day of the year (about 10%
  of east's rows in October, 31% in November, 51% in December); the campaign
  adds customers to east, so east's share of all rows grows from 20% to about
  34% in December (38% in the last days) and web's share of all rows from 35%
  to about 46% in December.

  - *Covariate shift only*: how default depends on the features does not
    change (P(defaulted | features) is the same function for every applicant
    in every period), and the model is calibrated on thin-file applicants
    because it saw some (about 2,000 of its training rows). But their features
    leave it little to tell them apart by: their predicted probabilities sit
    close to the decision threshold (mean about 0.35, realized default rate
    about 0.36), so a calibrated estimator such as CBPE sees the expected
    accuracy and ROC AUC of the segment fall without labels, and the realized
    ones fall too. On seed 0 the campaign's rows have accuracy 0.62 and ROC
    AUC 0.64 (reference: 0.86 and 0.88); segment ``region=east, channel=web``
    falls from 0.86 / 0.88 in the reference to 0.68 / 0.72 in December, and
    region ``east`` over the second half to 0.78 / 0.82.
  - Overall the damage is diluted: realized ROC AUC per 5,000 rows stays
    within 0.005 of the reference's 0.88 until the campaign starts, then is
    0.015 to 0.025 below it from November to the end of the year (accuracy
    0.04 below it in the last 5,000 rows).
  - *Everything else is stationary*: the rows the campaign did not bring are
    drawn exactly like the reference, so every other region keeps its realized
    accuracy and ROC AUC within noise (about 0.01), and no feature drifts for any
    other reason. A segment-wise search has one culprit.

Columns
-------
``id`` (int, unique across reference and analysis), ``timestamp``
(datetime64, increasing), ``age`` (int), ``income`` (float, yearly),
``debt_ratio`` (float in (0, 1)), ``loan_amount`` (float),
``credit_history_years`` (float), ``n_open_loans`` (int),
``employment_years`` (float), ``employment_type`` (str: salaried,
self_employed, contract, part_time), ``region`` (str: north, south, east,
west, central), ``channel`` (str: branch, web, broker), then ``defaulted``
(int 0/1, reference only), ``y_pred_proba`` (float strictly inside (0, 1)) and
``y_pred`` (int 0/1). No value is ever missing and no category is new.

``y_pred`` is 1 when ``y_pred_proba`` reaches the threshold that flags, on the
model's training sample, as many loans as actually defaulted there (about
0.37). ``age`` does not enter the default probability.

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
    "channel",
]
REGIONS = ["north", "south", "east", "west", "central"]
REGION_P = [0.21, 0.19, 0.20, 0.19, 0.21]
REGION_EFFECT = {"north": -0.10, "south": 0.15, "east": 0.05, "west": -0.05, "central": 0.0}
CHANNELS = ["branch", "web", "broker"]
CHANNEL_P = [0.45, 0.35, 0.20]
CHANNEL_EFFECT = {"branch": 0.0, "web": 0.10, "broker": 0.25}
EMPLOYMENT = ["salaried", "self_employed", "contract", "part_time"]
EMPLOYMENT_P = [0.62, 0.16, 0.14, 0.08]
THIN_FILE_EMPLOYMENT_P = [0.70, 0.0, 0.20, 0.10]
EMPLOYMENT_EFFECT = {"salaried": 0.0, "self_employed": 0.25, "contract": 0.45, "part_time": 0.55}
CATEGORIES = {"employment_type": EMPLOYMENT, "region": REGIONS, "channel": CHANNELS}

N_TRAIN = 40_000
# Thin-file applicants among the usual ones, in every period, region and channel:
# rare enough that the campaign changes the mix, common enough (about 2,000 of the
# training rows) that the model is calibrated on them.
THIN_FILE_SHARE = 0.05
CAMPAIGN_REGION = "east"
CAMPAIGN_CHANNEL = "web"
# The campaign's share of the campaign region's rows on the last day of the year;
# it grows linearly in time from 0 on DRIFT_START.
CAMPAIGN_SHARE_END = 0.60


def _frame(
    age: np.ndarray,
    income: np.ndarray,
    debt_ratio: np.ndarray,
    loan_amount: np.ndarray,
    credit_history_years: np.ndarray,
    n_open_loans: np.ndarray,
    employment_years: np.ndarray,
    employment_type: np.ndarray,
    region: np.ndarray,
    channel: np.ndarray,
) -> pd.DataFrame:
    """The features in FEATURES order, rounded and typed alike for every kind of applicant."""
    return pd.DataFrame(
        {
            "age": age.astype(np.int64),
            "income": np.round(income, -1),
            "debt_ratio": np.round(debt_ratio, 4),
            "loan_amount": np.round(loan_amount, -2),
            "credit_history_years": np.round(credit_history_years, 1),
            "n_open_loans": n_open_loans.astype(np.int64),
            "employment_years": np.round(employment_years, 1),
            "employment_type": employment_type,
            "region": region,
            "channel": channel,
        }
    )


def _draw_established(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """``n`` of the lender's usual applicants."""
    return _frame(
        age=np.clip(np.round(rng.normal(42.0, 12.0, n)), 18, 90),
        income=rng.lognormal(np.log(48_000.0), 0.5, n),
        debt_ratio=rng.beta(2.5, 5.5, n),
        loan_amount=rng.lognormal(np.log(12_000.0), 0.6, n),
        credit_history_years=rng.gamma(2.2, 3.5, n),
        n_open_loans=np.minimum(rng.poisson(1.4, n), 12),
        employment_years=rng.gamma(1.6, 3.5, n),
        employment_type=_common.choice(rng, EMPLOYMENT, EMPLOYMENT_P, n),
        region=_common.choice(rng, REGIONS, REGION_P, n),
        channel=_common.choice(rng, CHANNELS, CHANNEL_P, n),
    )


def _draw_thin_file(
    rng: np.random.Generator, n: int, region: np.ndarray, channel: np.ndarray
) -> pd.DataFrame:
    """``n`` young thin-file applicants of the given regions and channels.

    Every feature the default depends on sits in a narrow band whose default
    probability is close to the model's threshold: these applicants are hard
    to tell apart, and the model knows it.
    """
    return _frame(
        age=np.clip(np.round(rng.normal(23.0, 2.5, n)), 18, 30),
        income=rng.lognormal(np.log(26_000.0), 0.12, n),
        debt_ratio=rng.beta(40.0, 80.0, n),
        loan_amount=rng.lognormal(np.log(5_000.0), 0.2, n),
        credit_history_years=rng.gamma(2.0, 0.4, n),
        n_open_loans=np.minimum(rng.poisson(0.3, n), 12),
        employment_years=rng.gamma(1.5, 0.8, n),
        employment_type=_common.choice(rng, EMPLOYMENT, THIN_FILE_EMPLOYMENT_P, n),
        region=region,
        channel=channel,
    )


def _replace_rows(frame: pd.DataFrame, rows: np.ndarray, other: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the rows where ``rows`` is True taken, in order, from ``other``."""
    columns = {}
    for column in frame.columns:
        values = frame[column].to_numpy().copy()
        values[rows] = other[column].to_numpy()
        columns[column] = values
    return pd.DataFrame(columns)


def _draw_applicants(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """``n`` applicants as they arrive without the campaign: THIN_FILE_SHARE of
    them thin-file, in the same regions and channels as everyone else."""
    applicants = _draw_established(rng, n)
    thin = rng.random(n) < THIN_FILE_SHARE
    region = applicants["region"].to_numpy()[thin]
    channel = applicants["channel"].to_numpy()[thin]
    return _replace_rows(applicants, thin, _draw_thin_file(rng, int(thin.sum()), region, channel))


def campaign_share(ts: np.ndarray) -> np.ndarray:
    """The campaign's expected share of all rows at times ``ts``.

    Its share ``f`` of the campaign region's rows grows linearly from 0 on
    DRIFT_START to CAMPAIGN_SHARE_END at ANALYSIS_END; the campaign adds
    applicants to the region, so with ``e`` the region's share of the usual
    applicants its share of all rows is ``e f / (1 - f (1 - e))``.
    """
    elapsed = (pd.DatetimeIndex(ts) - _common.DRIFT_START) / (_common.ANALYSIS_END - _common.DRIFT_START)
    f = CAMPAIGN_SHARE_END * np.clip(np.asarray(elapsed, dtype=np.float64), 0.0, 1.0)
    e = REGION_P[REGIONS.index(CAMPAIGN_REGION)]
    return e * f / (1.0 - f * (1.0 - e))


def default_probability(features: pd.DataFrame) -> np.ndarray:
    """The true P(defaulted = 1 | features), the same function in every period
    and for every applicant, campaign or not. ``age`` does not enter."""
    log_income = np.log(features["income"].to_numpy(dtype=np.float64))
    debt = features["debt_ratio"].to_numpy(dtype=np.float64)
    loan_to_income = np.log(features["loan_amount"].to_numpy(dtype=np.float64)) - log_income
    history = features["credit_history_years"].to_numpy(dtype=np.float64)
    n_open = features["n_open_loans"].to_numpy(dtype=np.float64)
    tenure = np.log1p(features["employment_years"].to_numpy(dtype=np.float64))
    z = (
        -2.95
        + 1.35 * (debt - 0.31) / 0.154
        + 0.9 * np.maximum(debt - 0.5, 0.0) / 0.154
        - 1.15 * (log_income - np.log(48_000.0)) / 0.5
        + 0.35 * (loan_to_income + 1.39) / 0.78
        - 0.35 * (history - 7.7) / 5.2
        + 0.22 * (n_open - 1.4)
        - 0.25 * (tenure - 1.65) / 0.7
        + features["employment_type"].map(EMPLOYMENT_EFFECT).to_numpy(dtype=np.float64)
        + features["region"].map(REGION_EFFECT).to_numpy(dtype=np.float64)
        + features["channel"].map(CHANNEL_EFFECT).to_numpy(dtype=np.float64)
    )
    return _common.sigmoid(z)


def _defaults(rng: np.random.Generator, features: pd.DataFrame) -> np.ndarray:
    return (rng.random(len(features)) < default_probability(features)).astype(np.int64)


def _simulate(seed: int = 0, n_reference: int = 50_000, n_analysis: int = 50_000):
    """Everything the public loader returns plus the fitted model, its threshold
    and which analysis rows the campaign brought (for tests)."""
    _common.check_sizes(n_reference, n_analysis)
    rng = np.random.default_rng(seed)

    train = _draw_applicants(rng, N_TRAIN)
    model, threshold = _common.fit_binary(train, _defaults(rng, train), FEATURES, CATEGORIES, seed)

    ts = _common.period_timestamps(rng, n_reference, n_analysis)
    reference = _draw_applicants(rng, n_reference)
    campaign = rng.random(n_analysis) < campaign_share(ts[1])
    n_campaign = int(campaign.sum())
    analysis = _replace_rows(
        _draw_applicants(rng, n_analysis),
        campaign,
        _draw_thin_file(
            rng,
            n_campaign,
            np.full(n_campaign, CAMPAIGN_REGION, dtype=object),
            np.full(n_campaign, CAMPAIGN_CHANNEL, dtype=object),
        ),
    )
    frames = _common.labelled_frames(
        reference,
        analysis,
        TARGET,
        (_defaults(rng, reference), _defaults(rng, analysis)),
        ts,
        lambda features: _common.binary_outputs(model, threshold, features, FEATURES, CATEGORIES),
    )
    return (*frames, model, threshold, campaign)


def load_synthetic_campaign(
    seed: int = 0, n_reference: int = 50_000, n_analysis: int = 50_000
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Seeded synthetic loan-default data with one drifting segment; see the module
    docstring for the story.

    Returns ``(reference, analysis, analysis_targets)``. The campaign starts at
    row ``n_analysis // 2`` (timestamps from 2024-10-01). Deterministic for a
    given ``seed`` and sizes; the model depends on ``seed`` only.
    """
    reference, analysis, targets, *_ = _simulate(seed, n_reference, n_analysis)
    return reference, analysis, targets
