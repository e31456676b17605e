"""DataQuality values equal numpy/pandas computed on the same chunk rows; rates are
exact, the histogram median is within one fine bin, and problems alert."""

from __future__ import annotations

import numpy as np
import pytest

import seismo

CHUNK = 4_000


@pytest.fixture(scope="module")
def damaged(analysis):
    out = analysis.copy()
    rng = np.random.default_rng(3)
    second = out.index[CHUNK * 3 :]
    out.loc[rng.choice(second, 600, replace=False), "b"] = np.nan
    out.loc[second[::9], "c"] = "w"
    out.loc[second[::25], "a"] = 50.0
    return out


@pytest.fixture(scope="module")
def result(reference, damaged):
    calc = seismo.DataQuality(columns=["a", "b", "c", "d"], chunk_size=CHUNK, n_resamples=30)
    return calc.fit(reference).calculate(damaged).to_df()


def _chunk(df, row, column):
    return df[column].iloc[row["chunk_start_index"] : row["chunk_end_index"] + 1]


def test_values_match_numpy(result, reference, damaged):
    ana = result[result["period"] == "analysis"]
    lo, hi = reference["a"].min(), reference["a"].max()
    for _, row in ana[ana["column"].isin(["a", "b"])].iterrows():
        values = _chunk(damaged, row, row["column"]).to_numpy()
        finite = values[np.isfinite(values)]
        ref = reference[row["column"]]
        expected = {
            "missing_rate": np.isnan(values).mean(),
            "mean": finite.mean(),
            "std": finite.std(ddof=1),
            "sum": finite.sum(),
            "out_of_range_rate": ((finite < ref.min()) | (finite > ref.max())).mean(),
        }
        # sum and mean add 4000 values in another order than numpy: absolute error up to
        # n * eps * sum|x| (1.4e-9 on a sum of |x| ~ 3200), which rel=1e-9 alone does not cover
        # where the sum is near 0; rates and std keep abs=1e-12
        noise = {"sum": 1e-11 * np.abs(finite).sum(), "mean": 1e-11 * np.abs(finite).mean()}
        if row["metric"] in expected:
            assert row["value"] == pytest.approx(expected[row["metric"]], rel=1e-9,
                                                 abs=noise.get(row["metric"], 1e-12)), row["metric"]
        if row["metric"] == "median":
            assert abs(row["value"] - np.median(finite)) < 0.01 * finite.std()
    assert lo < hi


def test_categorical_rates(result, reference, damaged):
    ana = result[(result["period"] == "analysis") & (result["column"] == "c")]
    for _, row in ana.iterrows():
        values = _chunk(damaged, row, "c")
        if row["metric"] == "unseen_rate":
            assert row["value"] == pytest.approx((~values.isin(reference["c"].unique())).mean(), abs=1e-12)
        if row["metric"] == "missing_rate":
            assert row["value"] == 0.0


def test_problems_alert_only_where_injected(result):
    alerts = result[(result["period"] == "analysis") & result["alert"]]
    hits = set(zip(alerts["column"], alerts["metric"]))
    assert {("b", "missing_rate"), ("c", "unseen_rate"), ("a", "out_of_range_rate")} <= hits
    assert alerts["chunk_index"].min() >= 3
    assert result.loc[result["period"] == "reference", "alert"].sum() == 0


def test_row_count_and_standard_errors(result):
    rows = result[result["metric"] == "row_count"]
    assert rows["column"].isna().all() and (rows["value"] == CHUNK).all()
    assert rows["sampling_error"].isna().all() and not rows["alert"].any()
    mean_se = result[(result["metric"] == "mean") & (result["column"] == "a")]["sampling_error"].iloc[0]
    assert mean_se == pytest.approx(1.0 / np.sqrt(CHUNK), rel=0.35)  # N(0,1) column


def test_unknown_metric_is_refused(reference):
    with pytest.raises(seismo.InvalidConfiguration, match="unknown data-quality metrics \\['nulls'\\]"):
        seismo.DataQuality(columns=["a"], metrics=["nulls"]).fit(reference)
