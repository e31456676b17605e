"""Synthetic house-price data where the market changes: a concept-shift story.

Story
-----
The same listing platform and price model as :mod:`seismo.datasets.house_prices`
(a LightGBM regressor, target ``price`` in euros, output ``y_pred``, trained on
a separate sample drawn like the reference and not returned), in a city with no
commuter belt: every home in every period is drawn like the reference there.

* **Reference** (30,000 sales, 2024-01-01 to 2024-06-30) and **analysis, first
  half** (15,000 sales, 2024-07-01 to 2024-09-30): the market the model was
  trained on; it is unbiased there.
* **Analysis, second half** (15,000 sales, from 2024-10-01): *interest rates
  rise*. Buyers borrow less, so the homes that need the largest loans lose
  value: homes of 120 m2 or more sell for 15% less, homes 10 km or more from
  the centre for 10% less (both: 23.5% less); every other home keeps its
  price (``LARGE_M2``, ``FAR_KM``, ``LARGE_LOSS``, ``FAR_LOSS``).

  - *Concept shift only*: the inputs keep the reference's distribution
    exactly (no feature drifts, nothing goes missing, no category is new);
    only P(price | features) changed. A label-free estimate such as DLE,
    which learned the model's errors under the old market, sees no change.
  - The model, still pricing the old market, now overprices large and
    far-away homes (about 35% of the sales). On seed 0 it overprices by
    about 6% of the mean price over the second half (under 0.1% before);
    its mean absolute error per 3,000 rows is within 5% of the reference's
    (about 26,800) before 2024-10-01 and 22 to 28% above it from then on,
    within the affected homes 55 to 70% above their reference error, while
    the other homes' error stays within 3% of theirs.
  - `seismo.ConceptShift`, which learns each chunk's P(price | features) from
    its labelled rows, measures that rise; `Report.decomposition` attributes
    it to concept shift, the covariate part (the estimate's change) staying
    near 0. `seismo demo` tells this story.

Columns
-------
As :mod:`seismo.datasets.house_prices`: ``id``, ``timestamp``, ``area_m2``,
``rooms``, ``age_years``, ``distance_to_center_km``, ``energy_kwh_m2``,
``n_photos``, ``neighbourhood``, ``condition``, ``heating`` (never
``heat_pump`` here, and ``energy_kwh_m2`` is never missing), then ``price``
(reference only) and ``y_pred``. ``analysis_targets`` holds ``id`` and
``price`` for the analysis rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seismo.datasets import _common, house_prices

TARGET = house_prices.TARGET
FEATURES = house_prices.FEATURES
CATEGORIES = house_prices.CATEGORIES

LARGE_M2 = 120.0  # homes this large or larger lose LARGE_LOSS of their value
FAR_KM = 10.0  # homes this far from the centre or farther lose FAR_LOSS of their value
LARGE_LOSS = 0.15
FAR_LOSS = 0.10


def _draw_features(rng: np.random.Generator, n: int, drifted: bool) -> pd.DataFrame:
    """``n`` sales drawn like the reference in every period: the market moves, the homes do not."""
    return house_prices.draw_features(rng, n, drifted=False)


def market_change(features: pd.DataFrame) -> np.ndarray:
    """The change of log price from 2024-10-01 on, per home (0 for homes the rate rise spares)."""
    area = features["area_m2"].to_numpy(dtype=np.float64)
    distance = features["distance_to_center_km"].to_numpy(dtype=np.float64)
    return np.log1p(-LARGE_LOSS) * (area >= LARGE_M2) + np.log1p(-FAR_LOSS) * (distance >= FAR_KM)


def _draw_prices(rng: np.random.Generator, features: pd.DataFrame, changed: np.ndarray | None = None) -> np.ndarray:
    """Prices under the old market; the rows in ``changed`` under the new one."""
    log_price = house_prices.expected_log_price(features)
    if changed is not None:
        log_price = log_price + np.where(changed, market_change(features), 0.0)
    return np.round(np.exp(log_price + rng.normal(0.0, house_prices.PRICE_NOISE_SD, len(features))), -2)


def _simulate(seed: int = 0, n_reference: int = 30_000, n_analysis: int = 30_000):
    """Everything the public loader returns plus the fitted model (for tests)."""
    _common.check_sizes(n_reference, n_analysis)
    rng = np.random.default_rng(seed)

    train = _draw_features(rng, house_prices.N_TRAIN, drifted=False)
    y_train = _draw_prices(rng, train)
    model = _common.fit_regressor(
        _common.model_frame(train, FEATURES, CATEGORIES), y_train, seed, n_estimators=200
    )

    reference, analysis = _common.draw_periods(rng, _draw_features, n_reference, n_analysis)
    new_market = np.arange(n_analysis) >= n_analysis // 2
    y = (_draw_prices(rng, reference), _draw_prices(rng, analysis, new_market))
    ts = _common.period_timestamps(rng, n_reference, n_analysis)

    def outputs(features: pd.DataFrame) -> dict[str, np.ndarray]:
        pred = model.predict(_common.model_frame(features, FEATURES, CATEGORIES))
        return {"y_pred": np.round(np.asarray(pred, dtype=np.float64), 0)}

    return (*_common.labelled_frames(reference, analysis, TARGET, y, ts, outputs), model)


def load_synthetic_house_market(
    seed: int = 0, n_reference: int = 30_000, n_analysis: int = 30_000
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Seeded synthetic house-price data whose market changes; see the module docstring for the story.

    Returns ``(reference, analysis, analysis_targets)``. Prices follow the new market from
    row ``n_analysis // 2`` of the analysis on (timestamps from 2024-10-01); the features never
    drift. Deterministic for a given ``seed`` and sizes; the model depends on ``seed`` only.
    """
    reference, analysis, targets, _ = _simulate(seed, n_reference, n_analysis)
    return reference, analysis, targets
