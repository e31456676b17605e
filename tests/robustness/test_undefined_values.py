"""A value that cannot be computed is never a silent NaN: the warning names the column, the chunks
and the metrics (issue: a column entirely missing in a chunk, a chunk without a positive class)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import seismo


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    return pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(list("abc"), n).astype(object), "p": p,
                         "yp": (p > 0.5).astype(int), "y": (rng.uniform(size=n) < p).astype(int)})


def test_a_column_missing_from_a_whole_chunk_is_named():
    analysis = _frame(3_000, seed=1)
    analysis.loc[1_000:1_999, ["x", "c"]] = None
    drift = seismo.UnivariateDrift(columns=["x", "c"], chunk_size=1_000).fit(_frame(6_000, seed=0))
    with pytest.warns(seismo.SeismoWarning, match=r"UnivariateDrift: 10 analysis values could not be computed and "
                                                  r"cannot alert: x in 1 chunk\(s\) \(\[1000:1999\]: kolmogorov_smirnov"):
        result = drift.calculate(analysis).to_df()
    gap = result.query("period == 'analysis' and chunk_index == 1")
    assert gap["value"].isna().all() and not gap["alert"].any()
    quality = seismo.DataQuality(columns=["x"], chunk_size=1_000).fit(_frame(6_000, seed=0)).calculate(analysis)
    missing = quality.to_df().query("period == 'analysis' and metric == 'missing_rate' and chunk_index == 1")
    assert missing["value"].iloc[0] == 1.0 and missing["alert"].iloc[0]  # where the gap does alert


def test_a_chunk_without_positives_names_roc_auc():
    analysis = _frame(3_000, seed=2)
    analysis.loc[2_000:, "y"] = 0
    realized = seismo.RealizedPerformance("binary", y_pred_proba="p", y_pred="yp", y_true="y", chunk_size=1_000,
                                          metrics=["roc_auc", "average_precision", "accuracy"])
    realized.fit(_frame(6_000, seed=0))
    with pytest.warns(seismo.SeismoWarning, match=r"\(model\) in 1 chunk\(s\) \(\[2000:2999\]: roc_auc, "
                                                  r"average_precision\)"):
        result = realized.calculate(analysis).to_df()
    last = result.query("period == 'analysis' and chunk_index == 2").set_index("metric")
    assert np.isnan(last.loc["roc_auc", "value"]) and np.isfinite(last.loc["accuracy", "value"])


def test_multiclass_rows_that_do_not_sum_to_one_are_counted():
    rng = np.random.default_rng(3)
    n = 3_000
    raw = rng.dirichlet([2, 2, 2], n)
    frame = pd.DataFrame({f"p{k}": raw[:, k] for k in range(3)})
    frame["y"] = [rng.choice(3, p=row) for row in raw]
    frame["yp"] = raw.argmax(axis=1)
    bad = frame.copy()
    scale = np.where(np.arange(n) % 10 == 0, rng.uniform(0.3, 1.4, n), 1.0)  # a tenth of rows: 0.3-1.4
    for k in range(3):
        bad[f"p{k}"] = np.clip(bad[f"p{k}"] * scale, 0, 1)
    spec = dict(problem_type="multiclass", y_pred_proba={0: "p0", 1: "p1", 2: "p2"}, y_pred="yp", y_true="y",
                chunk_size=500)
    with pytest.warns(seismo.SeismoWarning, match=r"in the reference data: 2\d\d of 3000 rows sum to between 0\.3"):
        seismo.RealizedPerformance(**spec).fit(bad)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", seismo.SeismoWarning)  # rows that sum to 1 say nothing
        seismo.RealizedPerformance(**spec).fit(frame)
