"""Declared segments in the engine: a segment's numbers are those of its own rows, the overall
numbers do not change, and no row is dropped (seismo.engine.segments, segment_fit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo.data.frame import load_frame
from seismo.engine.segments import check_segments, spec_codes
from seismo.errors import ColumnNotFound, InvalidConfiguration

REGIONS = ["north", "south", "east", "west"]
COMPARED = ["value", "lower_threshold", "upper_threshold", "sampling_error", "alert"]


def _frame(n: int, seed: int, shift_east: float = 0.0, start: str = "2024-01-01") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice(REGIONS, n, p=[0.4, 0.3, 0.2, 0.1])
    x = rng.normal(size=n) + np.where(region == "east", shift_east, 0.0)
    p = 1 / (1 + np.exp(-(x + (region == "north"))))
    y = (rng.random(n) < p).astype(int)
    return pd.DataFrame({
        "timestamp": pd.date_range(start, periods=n, freq="15min"),
        "region": region, "channel": rng.choice(["web", "branch"], n), "x": x,
        "c": rng.choice(list("abc"), n), "score": p, "pred": (p > 0.5).astype(int), "y": y,
    })


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _frame(24_000, 0), _frame(12_000, 1, shift_east=0.6, start="2024-09-01")


def _segment(df: pd.DataFrame, label: str | None) -> pd.DataFrame:
    rows = df[df["segment"].isna()] if label is None else df[df["segment"] == label]
    return rows.sort_values(["period", "chunk_index", "column", "metric"]).reset_index(drop=True)


@pytest.mark.parametrize("label", ["region=east", "region=west"])
def test_a_segments_rows_are_the_calculator_run_on_that_segment_alone(data, label):
    """Period chunks hold the same rows either way, so a categorical column's values, thresholds
    and sampling errors equal those of the calculator fitted and run on the segment's rows alone.
    A continuous column's histogram is binned on points learned from the whole reference (so every
    segment comes from the same single pass), a little coarser for the segment than its own points:
    KS and Wasserstein agree to 0.003; a method on coarse bins (Jensen-Shannon) reads different bins."""
    reference, analysis = data
    value = label.split("=")[1]
    args = dict(columns=["x", "c"], timestamp="timestamp", chunk_period="M",
                methods=["kolmogorov_smirnov", "wasserstein", "chi2", "l_infinity", "jensen_shannon"])
    segmented = seismo.UnivariateDrift(**args, segments=["region"], segment_correction="none", min_segment_rows=1)
    got = _segment(segmented.fit(reference).calculate(analysis).to_df(), label)
    alone = seismo.UnivariateDrift(**args).fit(reference[reference.region == value])
    want = _segment(alone.calculate(analysis[analysis.region == value]).to_df(), None)
    assert len(got) == len(want) == 84  # 9 reference and 5 analysis months, 3 + 3 methods (2 on a partial month)
    categorical = got.column == "c"
    pd.testing.assert_frame_equal(got.loc[categorical, COMPARED], want.loc[categorical, COMPARED],
                                  check_exact=False, rtol=1e-9, atol=1e-12)
    fine = ~categorical & got.metric.isin(["kolmogorov_smirnov", "wasserstein"])  # JS reads coarse bins
    np.testing.assert_allclose(got.loc[fine, "value"], want.loc[fine, "value"], atol=3e-3)
    assert set(got["segment_thresholds"]) == {"own"}


def test_the_overall_rows_do_not_change_when_segments_are_declared(data):
    reference, analysis = data
    args = dict(columns=["x", "c"], timestamp="timestamp", chunk_size=2_000)
    for cls in (seismo.UnivariateDrift, seismo.DataQuality):
        plain = cls(**args).fit(reference).calculate(analysis).to_df()
        segmented = cls(**args, segments=["region", ["region", "channel"]]).fit(reference).calculate(analysis).to_df()
        overall = segmented[segmented["segment"].isna()].drop(columns=["segment_rows", "segment_thresholds"])
        pd.testing.assert_frame_equal(overall.reset_index(drop=True), plain)


def test_realized_and_estimated_performance_per_segment(data):
    """Realized: exactly the metric on the segment's rows (scikit-learn). CBPE: the estimator's
    estimate of those rows alone, with thresholds learned on the segment's realized reference values."""
    from sklearn.metrics import accuracy_score

    reference, analysis = data
    args = dict(problem_type="binary", y_pred_proba="score", y_pred="pred", y_true="y", timestamp="timestamp",
                chunk_period="M", metrics=["accuracy"])
    realized = seismo.RealizedPerformance(**args, segments=["region"]).fit(reference).calculate(analysis).to_df()
    months = analysis.timestamp.dt.to_period("M")
    east = realized[(realized.segment == "region=east") & (realized.period == "analysis")]
    for _, row in east.iterrows():
        rows = analysis[(months == pd.Period(row.chunk_key, "M")) & (analysis.region == "east")]
        assert row.value == pytest.approx(accuracy_score(rows.y, rows.pred), abs=1e-12)
        assert row.segment_rows == len(rows)
    cbpe = seismo.CBPE(**args, segments=["region"], min_segment_rows=1, trust=False).fit(reference)
    est = cbpe.estimate(analysis).to_df()
    alone = cbpe.estimate(analysis[analysis.region == "east"]).to_df()
    got = est[(est.segment == "region=east") & (est.period == "analysis")].reset_index(drop=True)
    want = alone[alone.segment.isna() & (alone.period == "analysis")].reset_index(drop=True)
    np.testing.assert_allclose(got["value"], want["value"], rtol=1e-12)
    assert (got["lower_threshold"] != want["lower_threshold"]).all()  # the segment's own thresholds


def test_small_segments_are_merged_into_other_or_reported_never_dropped(data):
    reference, analysis = data
    args = dict(columns=["x"], timestamp="timestamp", chunk_size=1_000)
    merged = seismo.UnivariateDrift(**args, segments=["region"], min_segment_rows=250).fit(reference)
    df = merged.calculate(analysis).to_df()
    ks = df[(df.period == "analysis") & (df.metric == "kolmogorov_smirnov") & df.segment.notna()]
    # east and west hold ~20% and ~10% of 1,000 rows: under 250 each, together "(other)" with borrowed thresholds
    assert not {"region=west", "region=east"} & set(ks.segment) and "region=(other)" in set(ks.segment)
    assert set(ks[ks.segment == "region=(other)"].segment_thresholds) == {"borrowed"}
    assert (ks.groupby("chunk_index").segment_rows.sum() == 1_000).all()  # every row, in some segment
    reported = seismo.UnivariateDrift(**args, segments=["region"], min_segment_rows=150,
                                      small_segments="report").fit(reference).calculate(analysis).to_df()
    west = reported[(reported.period == "analysis") & (reported.segment == "region=west")]
    assert len(west) and set(west.segment_thresholds) == {"too few rows"}
    assert west.value.notna().all() and west.lower_threshold.isna().all() and not west.alert.any()


def test_a_segment_with_a_small_reference_borrows_the_overall_thresholds(data):
    reference, analysis = data
    calc = seismo.UnivariateDrift(columns=["x"], timestamp="timestamp", chunk_size=2_000, segments=["region"],
                                  min_segment_rows=1_500).fit(reference)
    df = calc.calculate(analysis).to_df()
    sources = df[df.segment.notna()].groupby("segment").segment_thresholds.agg(set).to_dict()
    # west has ~2,400 reference rows, fewer than 2 x 1,500; north has ~9,600
    assert sources["region=north"] == {"own"} and "borrowed" in sources["region=west"]


def test_a_growing_or_new_segment_alerts_on_its_share(data):
    reference, analysis = data
    grown = analysis.copy()
    late = grown.index >= len(grown) // 2
    grown.loc[late & (grown.region == "north"), "region"] = "east"  # east grows from ~20% to ~60%
    grown.loc[grown.index[-600:], "region"] = "new_region"
    quality = seismo.DataQuality(columns=["x"], timestamp="timestamp", chunk_size=2_000, segments=["region"])
    df = quality.fit(reference).calculate(grown).to_df()
    share = df[(df.metric == "segment_share") & (df.period == "analysis")]
    east = share[share.segment == "region=east"].set_index("chunk_index")
    assert not east.loc[[0, 1, 2], "alert"].any() and east.loc[[3, 4, 5], "alert"].all()
    assert east.loc[5, "value"] > east.loc[5, "upper_threshold"] > 0.2
    new = share[share.segment == "region=new_region"]
    assert list(new.chunk_index) == [5] and new.alert.all() and new.value.iloc[0] == pytest.approx(0.3)
    ref_share = df[(df.metric == "segment_share") & (df.period == "reference")]
    assert not ref_share.alert.any()


def test_labels_of_crossed_and_missing_segment_values():
    frame = load_frame(pd.DataFrame({"a": ["x", None, "x", "y"], "b": [1.0, 2.0, np.nan, 1.0]}), None, None, "reference")
    codes = spec_codes(frame, ("a", "b"))
    assert [codes.labels[c] for c in codes.codes] == ["a=x, b=1", "a=(missing), b=2", "a=x, b=(missing)", "a=y, b=1"]


@pytest.mark.parametrize("bad, message", [
    ([], "segments must be a list"), ([["a", "a"]], "names a column twice"), ([1], "each entry of segments"),
    (["a", "a"], "lists ['a'] twice"),
])
def test_bad_segments_are_refused_before_any_data_is_read(bad, message):
    assert check_segments(["a", ["a", "b"]]) == [("a",), ("a", "b")]
    with pytest.raises(InvalidConfiguration, match=message.replace("[", r"\[").replace("]", r"\]")):
        seismo.UnivariateDrift(segments=bad)


def test_a_missing_segment_column_names_it(data):
    reference, _ = data
    with pytest.raises(ColumnNotFound, match="'shop' is not in the reference data"):
        seismo.UnivariateDrift(columns=["x"], segments=["shop"], chunk_size=2_000).fit(reference)


def test_grouped_partials_equal_each_groups_own_partial():
    """One bincount pass for every segment gives each segment's histogram and category counts exactly."""
    from seismo.stats.binning import fine_bin_index, fine_points, n_fine_bins
    from seismo.stats.categorical import CategoryCounts
    from seismo.stats.histogram import Histogram, dense

    rng = np.random.default_rng(3)
    values = rng.normal(size=5_000)
    values[::97], values[5], values[6] = np.nan, np.inf, -np.inf
    points = fine_points(rng.normal(size=2_000))
    bins, n_bins = fine_bin_index(values, points), n_fine_bins(points)
    groups = rng.integers(0, 7, values.size)
    groups[groups == 4] = 5  # an empty group
    sparse = Histogram.grouped(bins, values, n_bins, groups, 7)
    codes = rng.integers(0, 6, values.size)
    counts = CategoryCounts.grouped(codes, 6, groups, 7)
    for k in range(7):
        own = Histogram.from_bins(bins[groups == k], values[groups == k], n_bins)
        np.testing.assert_array_equal(dense(sparse[k]).counts, own.counts)
        np.testing.assert_allclose(dense(sparse[k]).sums, own.sums, rtol=1e-12, atol=1e-9)
        np.testing.assert_array_equal(counts[k].counts, CategoryCounts.from_codes(codes[groups == k], 6).counts)
    assert sparse[4].bins.size == 0 and sparse[4].n == 0
    merged = dense(sparse[0] + sparse[1] + sparse[2])
    union = Histogram.from_bins(bins[groups <= 2], values[groups <= 2], n_bins)
    np.testing.assert_array_equal(merged.counts, union.counts)
    np.testing.assert_allclose(merged.sums, union.sums, rtol=1e-12, atol=1e-9)


def test_data_quality_of_a_segment_is_that_of_its_rows(data):
    """Moments and rates of a segment, built for every segment in one bincount pass, equal DataQuality on
    the segment's rows alone (the median reads fine bins learned from the whole reference: left out)."""
    reference, analysis = data
    analysis = analysis.copy()
    analysis.loc[analysis.index[::50], "x"] = np.nan
    analysis.loc[analysis.index[7], "x"] = 40.0  # beyond the reference's range, in some segment
    args = dict(columns=["x", "c"], timestamp="timestamp", chunk_period="M")
    got = _segment(seismo.DataQuality(**args, segments=["region"], min_segment_rows=1)
                   .fit(reference).calculate(analysis).to_df(), "region=north")
    alone = seismo.DataQuality(**args).fit(reference[reference.region == "north"])
    want = _segment(alone.calculate(analysis[analysis.region == "north"]).to_df(), None)
    kept = got.metric.isin(["mean", "std", "sum", "missing_rate", "unseen_rate"]) & (got.period == "analysis")
    want_kept = want.metric.isin(["mean", "std", "sum", "missing_rate", "unseen_rate"]) & (want.period == "analysis")
    np.testing.assert_allclose(got.loc[kept, "value"].to_numpy(), want.loc[want_kept, "value"].to_numpy(),
                               rtol=1e-9, atol=1e-12)
    assert got.loc[kept & (got.metric == "missing_rate") & (got.column == "x"), "value"].gt(0).all()


def test_dle_and_pape_per_segment(data):
    """DLE: a segment's estimate is DLE's estimate of that segment's rows alone; PAPE: every segment gets
    an estimate with its own thresholds (its rows are not reweighted per segment: docs/segments.md)."""
    reference, analysis = data
    rng = np.random.default_rng(5)
    regression = {}
    for name, frame in (("reference", reference), ("analysis", analysis)):
        frame = frame.copy()
        frame["target"] = 2 * frame["x"] + rng.normal(scale=0.5 + (frame["region"] == "east"), size=len(frame))
        frame["estimate"] = 2 * frame["x"]
        regression[name] = frame
    args = dict(y_pred="estimate", y_true="target", features=["x", "c"], timestamp="timestamp", chunk_period="M",
                metrics=["mae"])
    dle = seismo.DLE(**args, segments=["region"], min_segment_rows=1).fit(regression["reference"])
    est = dle.estimate(regression["analysis"].drop(columns="target")).to_df()
    alone = dle.estimate(regression["analysis"][regression["analysis"].region == "east"].drop(columns="target"))
    got = est[(est.segment == "region=east") & (est.period == "analysis")]["value"].to_numpy()
    want = alone.to_df().query("period == 'analysis' and segment.isna()", engine="python")["value"].to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    east_mae = est[(est.segment == "region=east") & (est.period == "reference")]["realized"].mean()
    north_mae = est[(est.segment == "region=north") & (est.period == "reference")]["realized"].mean()
    assert east_mae > 1.5 * north_mae  # the segment's own reference: its thresholds sit around its own error
    pape = seismo.PAPE("binary", y_pred_proba="score", y_pred="pred", y_true="y", features=["x", "c"],
                       timestamp="timestamp", chunk_period="M", metrics=["accuracy"], segments=["region"],
                       min_segment_rows=1).fit(reference)
    rows = pape.estimate(analysis).to_df()
    seg = rows[rows.segment.notna() & (rows.period == "analysis")]
    assert set(seg.segment) == {f"region={r}" for r in REGIONS} and seg["value"].notna().all()
    assert (seg["segment_thresholds"] == "own").all() and seg["lower_threshold"].notna().all()
