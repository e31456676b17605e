"""UnivariateDrift values equal scipy on the same rows, reference values are out of sample,
and thresholds learned from the reference keep stationary data quiet while shifts alert."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon
from synthetic import make_frame

import seismo
from seismo.stats.binning import coarse_edges

CHUNK = 4_000


def _fit(reference, **kw):
    kw.setdefault("n_resamples", 20)
    return seismo.UnivariateDrift(columns=kw.pop("columns", ["a", "b", "c", "d"]), chunk_size=CHUNK, **kw).fit(reference)


def _coarse(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Independent coarse binning: lower tail, right-closed quantile bins, upper tail."""
    values = values[np.isfinite(values)]
    inner = np.clip(np.searchsorted(edges, values, side="left"), 1, len(edges) - 1)
    idx = np.where(values < edges[0], 0, np.where(values > edges[-1], len(edges), inner))
    return np.bincount(idx, minlength=len(edges) + 1).astype(float)


@pytest.fixture(scope="module")
def shifted(analysis):
    out = analysis.copy()
    out["a"] = out["a"] * 1.3 + 0.4
    return out


def test_continuous_values_match_scipy(reference, shifted):
    df = _fit(reference).calculate(shifted).to_df()
    ana = df[df["period"] == "analysis"]
    ref_a = reference["a"].to_numpy()
    edges = coarse_edges(ref_a, 10)
    for _, row in ana[ana["column"] == "a"].iterrows():
        chunk = shifted["a"].to_numpy()[row["chunk_start_index"] : row["chunk_end_index"] + 1]
        p, q = _coarse(ref_a, edges), _coarse(chunk, edges)
        expected = {
            "kolmogorov_smirnov": stats.ks_2samp(ref_a, chunk).statistic,
            "wasserstein": stats.wasserstein_distance(ref_a, chunk),
            "jensen_shannon": jensenshannon(p / p.sum(), q / q.sum(), base=2),
            "hellinger": np.sqrt(max(0.0, 1 - np.sum(np.sqrt(p / p.sum() * q / q.sum())))),
        }
        if row["metric"] in expected:
            want = expected[row["metric"]]
            tol = 0.002 if row["metric"] == "kolmogorov_smirnov" else 0.01 * want + 1e-12
            assert abs(row["value"] - want) <= tol, (row["metric"], row["value"], want)


def test_categorical_chi2_matches_scipy_and_exposes_p_value(reference, analysis):
    df = _fit(reference, columns=["c"]).calculate(analysis).to_df()
    row = df[(df["period"] == "analysis") & (df["metric"] == "chi2")].iloc[0]
    chunk = analysis["c"].iloc[row["chunk_start_index"] : row["chunk_end_index"] + 1]
    cats = reference["c"].value_counts().index
    table = np.array([reference["c"].value_counts()[cats], chunk.value_counts().reindex(cats, fill_value=0)])
    chi2, p, *_ = stats.chi2_contingency(table)
    assert row["value"] == pytest.approx(chi2, rel=1e-9)
    assert row["p_value"] == pytest.approx(p, rel=1e-9)
    assert df.loc[df["metric"] != "chi2", "p_value"].isna().all()


def test_reference_chunks_are_compared_out_of_sample(reference):
    df = _fit(reference, columns=["a"]).calculate(reference).to_df()
    row = df[(df["period"] == "reference") & (df["metric"] == "kolmogorov_smirnov")].iloc[2]
    a = reference["a"].to_numpy()
    inside = a[row["chunk_start_index"] : row["chunk_end_index"] + 1]
    rest = np.r_[a[: row["chunk_start_index"]], a[row["chunk_end_index"] + 1 :]]
    assert row["value"] == pytest.approx(stats.ks_2samp(rest, inside).statistic, abs=3e-4)
    # compared with the whole reference (in sample) the same chunk looks closer
    assert stats.ks_2samp(a, inside).statistic < row["value"]


def test_shift_alerts_and_stationary_stays_quiet(reference, shifted):
    calc = _fit(reference, n_resamples=50)
    stationary = make_frame(100_000, seed=11)  # 25 chunks × 20 column-method cells
    quiet = calc.calculate(stationary).filter(period="analysis").to_df()
    assert quiet["alert"].mean() <= 0.015
    loud = calc.calculate(shifted).filter(period="analysis").to_df()
    on_a = loud[loud["column"] == "a"]
    assert on_a["alert"].all()  # every chunk, every method
    others = loud[(loud["column"] != "a") & loud["alert"]]
    # methods on one column move together; at most one column-chunk of the 15 untouched ones
    assert len(set(zip(others["column"], others["chunk_index"]))) <= 1


def test_nan_values_are_excluded(reference, analysis):
    calc = _fit(reference, columns=["a"])
    base = calc.calculate(analysis).to_df()
    holes = analysis.copy()
    holes.loc[holes.index[::7], "a"] = np.nan
    with_nan = calc.calculate(holes).to_df()
    ana = with_nan[(with_nan["period"] == "analysis") & (with_nan["metric"] == "kolmogorov_smirnov")]
    row = ana.iloc[0]
    chunk = holes["a"].to_numpy()[row["chunk_start_index"] : row["chunk_end_index"] + 1]
    want = stats.ks_2samp(reference["a"].to_numpy(), chunk[np.isfinite(chunk)]).statistic
    assert row["value"] == pytest.approx(want, abs=3e-4)
    assert np.isfinite(base["value"]).all()


def test_unseen_and_rare_categories(reference, analysis):
    calc = _fit(reference, columns=["c"], max_categories=2)
    new = analysis.copy()
    new.loc[new.index[: 2 * CHUNK], "c"] = "brand-new"
    df = calc.calculate(new).to_df()
    ana = df[(df["period"] == "analysis") & (df["metric"] == "l_infinity")]
    assert ana["alert"].iloc[0] and ana["alert"].iloc[1]
    assert ana["value"].iloc[0] == pytest.approx(
        max(abs(1.0 - 0.0), 0.5), abs=0.05
    )  # all mass moved into the unseen bin
    assert not ana["alert"].iloc[2:].any()


def test_chi2_alerts_by_threshold_not_p_value(reference):
    """Large chunks of identical distributions give tiny p-values only by chance; no alert."""
    big_ref = pd.concat([reference] * 3, ignore_index=True)
    df = seismo.UnivariateDrift(columns=["c"], chunk_size=12_000, methods=["chi2"], n_resamples=20).fit(big_ref).calculate(big_ref).to_df()
    assert not df["alert"].any()


def test_threshold_overrides(reference, analysis):
    calc = _fit(reference, columns=["a"], methods=["jensen_shannon"],
                thresholds={"jensen_shannon": seismo.ConstantThreshold(upper=0.0)})
    df = calc.calculate(analysis).to_df()
    assert (df["upper_threshold"] == 0.0).all() and df.loc[df["period"] == "analysis", "alert"].all()
    with pytest.raises(seismo.InvalidConfiguration, match="thresholds names 'nope'"):
        _fit(reference, columns=["a"], thresholds={"nope": seismo.ConstantThreshold(upper=1)})
    with pytest.raises(seismo.InvalidConfiguration, match="unknown drift methods \\['ks'\\]"):
        _fit(reference, columns=["a"], methods=["ks"])


def test_methods_apply_where_they_fit(reference, analysis):
    df = _fit(reference, methods=["kolmogorov_smirnov", "chi2"]).calculate(analysis).to_df()
    kinds = df.groupby("column")["metric"].unique().apply(sorted).to_dict()
    assert kinds == {"a": ["kolmogorov_smirnov"], "b": ["kolmogorov_smirnov"], "c": ["chi2"], "d": ["chi2"]}


def test_to_df_columns_follow_the_contract(reference, analysis):
    df = _fit(reference, columns=["a"], timestamp="timestamp").calculate(analysis).to_df()
    assert list(df.columns[:len(seismo.engine.result.RESULT_COLUMNS)]) == seismo.engine.result.RESULT_COLUMNS
    assert set(df["period"]) == {"reference", "analysis"}
    assert df["alert"].dtype == bool
    assert (df["lower_threshold"].isna()).all()  # distances have an upper bound only
    assert (df["lower_confidence"] >= 0).all()


def test_an_atom_is_a_bin_of_its_own():
    """A zero-inflated column: 60% zeros, the rest Poisson(4). The quantile edges are
    [0, 3, 4, 5, ...]; with right-closed bins 0, 1 and 2 shared the first bin, so moving a
    quarter of the zeros to 1 changed nothing a proportion-based distance could see
    (Jensen-Shannon 0.002 and no alert). The zeros are an atom now: bins {0}, (0, 3], ..."""
    rng = np.random.default_rng(5)

    def draw(n):
        return np.where(rng.random(n) < 0.6, 0.0, rng.poisson(4.0, n)).astype(float)

    reference = pd.DataFrame({"z": draw(40_000)})
    moved = draw(CHUNK)
    zeros = np.flatnonzero(moved == 0)
    moved[zeros[: len(zeros) // 4]] = 1.0
    analysis = pd.DataFrame({"z": np.r_[draw(CHUNK), moved]})
    calc = _fit(reference, columns=["z"], methods=["jensen_shannon"], column_types={"z": "continuous"})
    rows = calc.calculate(analysis).filter(period="analysis").to_df()

    ref = reference["z"].to_numpy()
    edges = coarse_edges(ref)
    assert edges[0] == 0.0 and edges[1] > 1.0  # 0 and 1 fall between the first two edges

    def binned(v):  # independent: lower tail, {0}, (0, e1], (e1, e2], ..., upper tail
        inner = np.searchsorted(edges, v, side="left")
        return np.bincount(np.where(v == 0.0, 1, inner + 1), minlength=len(edges) + 2)

    want = jensenshannon(binned(ref), binned(moved), base=2)
    assert rows["value"].iloc[1] == pytest.approx(want, rel=1e-9)
    assert want > 0.1
    assert rows["alert"].tolist() == [False, True]


def test_l_infinity_is_the_largest_change_of_one_category():
    """The "other" bin (categories beyond ``max_categories``) is a sum of many categories; its
    noise hid a change of a few points in any single category, so it is left out of the
    maximum. Here the untracked categories lose 30 points together, 2 each, and each tracked
    category gains 6: L-infinity is 0.06 (it was 0.30, the "other" bin's change)."""
    tracked = [f"t{i}" for i in range(5)]
    tail = [f"r{i}" for i in range(15)]
    reference = pd.DataFrame({"c": np.repeat(tracked + tail, [14] * 5 + [2] * 15)})  # 70% / 30%
    analysis = pd.DataFrame({"c": np.repeat(tracked, 20)})
    calc = seismo.UnivariateDrift(columns=["c"], chunk_size=100, methods=["l_infinity"], max_categories=5,
                                  n_resamples=5).fit(pd.concat([reference] * 6, ignore_index=True))
    value = calc.calculate(analysis).filter(period="analysis").to_df()["value"].iloc[0]
    assert value == pytest.approx(0.20 - 0.14, abs=1e-12)
