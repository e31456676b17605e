"""The default drift thresholds keep their stated false-alarm rate on right-skewed nulls.

Mean + 3 SD assumes a symmetric null; KS, Jensen-Shannon, Hellinger and PSI are right-skewed
without drift, so that rule fired on 0.4-1% of stationary cells here (measured on this test's
data: 38 of 7,680 cells) instead of the ~0.1% it suggests. `FalseAlarmThreshold` models the
tail (docs/thresholds.md) and must stay within twice its stated rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import seismo
from seismo.engine.thresholds import DEFAULT_FALSE_ALARM_RATE

CHUNK, REF_CHUNKS, NULL_CHUNKS = 500, 10, 60
METHODS = ["kolmogorov_smirnov", "jensen_shannon", "hellinger", "psi"]


def _skewed_columns(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Eight replicate columns of each of four shapes: lognormal, Student-t (3 df), counts, zero-inflated."""
    size = (rows, 8)
    shapes = {
        "lognormal": rng.lognormal(0.0, 1.0, size),
        "student_t3": rng.standard_t(3, size),
        "counts": rng.poisson(3.0, size).astype(float),
        "zero_inflated": np.where(rng.random(size) < 0.6, 0.0, rng.poisson(4.0, size)).astype(float),
    }
    return pd.DataFrame({f"{name}_{i}": values[:, i] for name, values in shapes.items() for i in range(8)})


def _null_alerts(thresholds: dict | None) -> tuple[int, int]:
    data = _skewed_columns((REF_CHUNKS + NULL_CHUNKS) * CHUNK, np.random.default_rng(2024))
    reference, analysis = data.iloc[: REF_CHUNKS * CHUNK], data.iloc[REF_CHUNKS * CHUNK:]
    calc = seismo.UnivariateDrift(chunk_size=CHUNK, methods=METHODS, thresholds=thresholds,
                                  column_types={c: "continuous" for c in data.columns}).fit(reference)
    alerts = calc.calculate(analysis).filter(period="analysis").to_df()["alert"]
    return int(alerts.sum()), int(alerts.size)


def test_default_thresholds_keep_the_stated_false_alarm_rate_on_skewed_nulls():
    alerts, cells = _null_alerts(None)
    assert cells == 32 * NULL_CHUNKS * len(METHODS)
    # 7,680 cells at 0.1%: 7.7 expected (9 measured); with one threshold per column and method the count is
    # over-dispersed, but 2× the rate (15.4) still leaves a margin of about 2.5 Poisson SDs
    assert alerts <= 2 * DEFAULT_FALSE_ALARM_RATE * cells


def test_mean_plus_three_sd_fires_more_often_there():
    """The previous default, still available, shows the defect this threshold fixes."""
    old = {m: seismo.StandardDeviationThreshold(None, 3.0) for m in METHODS}
    alerts, cells = _null_alerts(old)
    assert alerts > 2 * DEFAULT_FALSE_ALARM_RATE * cells
