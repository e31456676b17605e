"""Synthetic house-price data: a regression model that starts to overprice.

Story
-----
A listing platform suggests a sale price with a LightGBM regressor (target
``price``, in euros; model output ``y_pred``). The model was trained on a
separate sample drawn like the reference (not returned), where every home lies
within 20 km of the city centre.

* **Reference** (30,000 sales, 2024-01-01 to 2024-06-30).
* **Analysis, first half** (15,000 sales, 2024-07-01 to 2024-09-30): drawn
  exactly like the reference; only sampling noise differs. The model is
  unbiased there.
* **Analysis, second half** (15,000 sales, from 2024-10-01):

  - *Covariate shift in* ``distance_to_center_km``: a new commuter-belt
    development comes on the market; 35% of the sales now lie 20 to 40 km
    from the centre, beyond anything the model has seen. The price per m2
    keeps falling with distance out there (P(price | features) is the same
    function throughout), but a tree model extrapolates flat from its last
    split near 20 km, so it prices these homes as if they were at the edge of
    the city: over the second half it overprices by about 12% of the mean
    price on average (about +0.1% before) and its mean absolute error rises
    by about 60%.
  - *Virtual drift in* ``n_photos``: a redesigned upload form makes sellers
    post five more photos (about one and a half standard deviations). Prices
    do not depend on it, so the model does not suffer from it.
  - *Missing values in* ``energy_kwh_m2``: about 15% NaN (never missing
    before 2024-10-01).
  - *New category in* ``heating``: ``"heat_pump"`` appears on about 10% of
    rows (never seen in the reference or by the model, which treats it as
    missing).

  All other features (``area_m2``, ``rooms``, ``age_years``,
  ``neighbourhood``, ``condition``, the relative shares of the old
  ``heating`` values and the non-missing ``energy_kwh_m2``) keep their
  distribution throughout.

Columns
-------
``id`` (int, unique across reference and analysis), ``timestamp``
(datetime64, increasing), ``area_m2`` (float), ``rooms`` (int),
``age_years`` (int), ``distance_to_center_km`` (float),
``energy_kwh_m2`` (float), ``n_photos`` (int), ``neighbourhood`` (str: one of
six), ``condition`` (str: poor, fair, good, excellent), ``heating`` (str: gas,
district, electric, oil; later heat_pump), then ``price`` (float, positive,
reference only) and ``y_pred`` (float).

``analysis_targets`` holds ``id`` and ``price`` for the analysis rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seismo.datasets import _common

TARGET = "price"
FEATURES = [
    "area_m2",
    "rooms",
    "age_years",
    "distance_to_center_km",
    "energy_kwh_m2",
    "n_photos",
    "neighbourhood",
    "condition",
    "heating",
]
NEIGHBOURHOODS = ["old_town", "harbour", "university", "parkside", "industrial", "hillside"]
NEIGHBOURHOOD_P = [0.12, 0.16, 0.18, 0.20, 0.14, 0.20]
NEIGHBOURHOOD_EFFECT = {
    "old_town": 0.18,
    "harbour": 0.10,
    "university": 0.0,
    "parkside": 0.08,
    "industrial": -0.15,
    "hillside": 0.05,
}
CONDITIONS = ["poor", "fair", "good", "excellent"]
CONDITION_P = [0.10, 0.30, 0.45, 0.15]
CONDITION_EFFECT = {"poor": -0.25, "fair": -0.08, "good": 0.0, "excellent": 0.12}
HEATING = ["gas", "district", "electric", "oil"]
HEATING_P = [0.45, 0.25, 0.20, 0.10]
NEW_HEATING = "heat_pump"
HEATING_EFFECT = {"gas": 0.0, "district": 0.02, "electric": -0.03, "oil": -0.05, NEW_HEATING: 0.04}
CATEGORIES = {"neighbourhood": NEIGHBOURHOODS, "condition": CONDITIONS, "heating": HEATING}

N_TRAIN = 25_000
CITY_RADIUS_KM = 20.0
BELT_KM = (20.0, 40.0)
BELT_SHARE = 0.35
PHOTO_SHIFT = 5
NEW_CATEGORY_SHARE = 0.10
MISSING_SHARE = 0.15
ENERGY_MEAN = 150.0
PRICE_NOISE_SD = 0.12  # of log price, around expected_log_price


def draw_features(rng: np.random.Generator, n: int, drifted: bool) -> pd.DataFrame:
    """``n`` sales; ``drifted`` selects the second-half distribution (also used by
    :mod:`seismo.datasets.house_market`, whose homes never drift)."""
    area = np.clip(rng.lognormal(np.log(90.0), 0.35, n), 25.0, 400.0)
    rooms = np.clip(np.round(area / 28.0 + rng.normal(0.5, 0.6, n)), 1, 10)
    age = np.clip(np.round(rng.gamma(2.0, 18.0, n)), 0, 150)
    distance = CITY_RADIUS_KM * rng.beta(1.6, 3.5, n)
    if drifted:
        in_belt = rng.random(n) < BELT_SHARE
        distance = np.where(in_belt, rng.uniform(*BELT_KM, n), distance)
    energy = np.clip(rng.normal(ENERGY_MEAN, 45.0, n), 30.0, 400.0)
    n_photos = rng.poisson(12.0, n) + (PHOTO_SHIFT if drifted else 0)
    if drifted:
        p = [q * (1.0 - NEW_CATEGORY_SHARE) for q in HEATING_P] + [NEW_CATEGORY_SHARE]
        heating = _common.choice(rng, HEATING + [NEW_HEATING], p, n)
        energy[rng.random(n) < MISSING_SHARE] = np.nan
    else:
        heating = _common.choice(rng, HEATING, HEATING_P, n)
    neighbourhood = _common.choice(rng, NEIGHBOURHOODS, NEIGHBOURHOOD_P, n)
    condition = _common.choice(rng, CONDITIONS, CONDITION_P, n)
    return pd.DataFrame(
        {
            "area_m2": np.round(area, 1),
            "rooms": rooms.astype(np.int64),
            "age_years": age.astype(np.int64),
            "distance_to_center_km": np.round(distance, 2),
            "energy_kwh_m2": np.round(energy, 0),
            "n_photos": n_photos.astype(np.int64),
            "neighbourhood": neighbourhood,
            "condition": condition,
            "heating": heating,
        }
    )


def expected_log_price(features: pd.DataFrame) -> np.ndarray:
    """The true E[log price | features], the same function in every period.

    The price per m2 falls by 4.5% per km from the centre, at every distance.
    ``n_photos`` does not enter; a missing ``energy_kwh_m2`` counts as the
    average consumption.
    """
    area = features["area_m2"].to_numpy(dtype=np.float64)
    rooms = features["rooms"].to_numpy(dtype=np.float64)
    age = features["age_years"].to_numpy(dtype=np.float64)
    distance = features["distance_to_center_km"].to_numpy(dtype=np.float64)
    energy = np.nan_to_num(features["energy_kwh_m2"].to_numpy(dtype=np.float64), nan=ENERGY_MEAN)
    effects = sum(
        features[column].map(table).to_numpy(dtype=np.float64)
        for column, table in (
            ("neighbourhood", NEIGHBOURHOOD_EFFECT),
            ("condition", CONDITION_EFFECT),
            ("heating", HEATING_EFFECT),
        )
    )
    return (
        np.log(5_200.0)
        + 0.95 * np.log(area)
        + 0.03 * (rooms - area / 28.0 - 0.5)
        - 0.045 * distance
        - 0.004 * age
        + 0.005 * np.maximum(age - 80.0, 0.0)
        - 0.0008 * (energy - ENERGY_MEAN)
        + effects
    )


def _draw_prices(rng: np.random.Generator, features: pd.DataFrame) -> np.ndarray:
    noise = rng.normal(0.0, PRICE_NOISE_SD, len(features))
    return np.round(np.exp(expected_log_price(features) + noise), -2)


def _simulate(seed: int = 0, n_reference: int = 30_000, n_analysis: int = 30_000):
    """Everything the public loader returns plus the fitted model (for tests)."""
    _common.check_sizes(n_reference, n_analysis)
    rng = np.random.default_rng(seed)

    train = draw_features(rng, N_TRAIN, drifted=False)
    y_train = _draw_prices(rng, train)
    model = _common.fit_regressor(
        _common.model_frame(train, FEATURES, CATEGORIES), y_train, seed, n_estimators=200
    )

    reference, analysis = _common.draw_periods(rng, draw_features, n_reference, n_analysis)
    y_reference = _draw_prices(rng, reference)
    y_analysis = _draw_prices(rng, analysis)
    ts_reference, ts_analysis = _common.period_timestamps(rng, n_reference, n_analysis)

    def outputs(features: pd.DataFrame) -> dict[str, np.ndarray]:
        pred = model.predict(_common.model_frame(features, FEATURES, CATEGORIES))
        return {"y_pred": np.round(np.asarray(pred, dtype=np.float64), 0)}  # LightGBM's annotation allows a list

    ids_reference = np.arange(n_reference, dtype=np.int64)
    ids_analysis = np.arange(n_reference, n_reference + n_analysis, dtype=np.int64)
    reference_frame = _common.assemble(
        ids_reference, ts_reference, reference, {TARGET: y_reference, **outputs(reference)}
    )
    analysis_frame = _common.assemble(ids_analysis, ts_analysis, analysis, outputs(analysis))
    targets = pd.DataFrame({"id": ids_analysis, TARGET: y_analysis})
    return reference_frame, analysis_frame, targets, model


def load_synthetic_house_prices(
    seed: int = 0, n_reference: int = 30_000, n_analysis: int = 30_000
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Seeded synthetic house-price data; see the module docstring for the story.

    Returns ``(reference, analysis, analysis_targets)``. The analysis drifts from
    row ``n_analysis // 2`` on (timestamps from 2024-10-01). Deterministic for a
    given ``seed`` and sizes; the model depends on ``seed`` only.
    """
    reference, analysis, targets, _ = _simulate(seed, n_reference, n_analysis)
    return reference, analysis, targets
