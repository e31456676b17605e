"""`fit` on a reference streamed from files: when the sample holds every row, thresholds,
reference rows and analysis results equal the in-memory fit (to 1e-9); with a smaller sample,
whatever does not depend on bins stays exact (row counts, chunks, rates, moments, categories,
ranges) and the rest stays within a stated share of the threshold band."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from synthetic import make_frame, write_parts

import seismo
import seismo.chunks.reference
import seismo.data.frame
from seismo.chunks.chunkers import Chunk, Chunker
from seismo.chunks.reference import feature_extras, scan_reference
from seismo.data.io import read_schema
from seismo.errors import InvalidConfiguration, InvalidData

COLUMNS = ["a", "b", "c", "d"]
KEYS = ["period", "chunk_key", "column", "metric"]
VALUES = ["value", "sampling_error", "lower_confidence", "upper_confidence", "lower_threshold", "upper_threshold"]
# With a 25% sample (5,000 of 20,000 rows) thresholds and bin-based values moved by at most 0.33
# of the in-memory threshold band in our runs (PCA: 0.26, about what another random_state gives).
SAMPLED_TOLERANCE = 0.4
PCA_TOLERANCE = 0.5


def _calculators(n_resamples: int = 10, **chunking) -> list:
    common = dict(timestamp="timestamp", n_resamples=n_resamples, **chunking)
    return [
        seismo.UnivariateDrift(columns=COLUMNS, **common),
        seismo.DataQuality(columns=COLUMNS, **common),
        seismo.PCADrift(columns=COLUMNS, **common),
        seismo.RealizedPerformance("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                                   **common),
    ]


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(KEYS).reset_index(drop=True)


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a, b = _sorted(a), _sorted(b)
    pd.testing.assert_frame_equal(a.drop(columns=VALUES), b.drop(columns=VALUES), check_dtype=False)
    for col in VALUES:
        np.testing.assert_allclose(a[col], b[col], rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=col)


@pytest.fixture(scope="module")
def holed_reference() -> pd.DataFrame:
    """The shared reference with missing values and a category seen in five rows only."""
    df = make_frame(20_000, seed=1)
    df.loc[df.index[::17], "a"] = np.nan
    df.loc[df.index[::19], "c"] = None
    df.loc[df.index[[3, 4_000, 9_000, 15_000, 19_990]], "c"] = "rare"
    return df


@pytest.mark.parametrize("chunking", [dict(chunk_size=3_000), dict(chunk_period="W"), dict(chunk_number=7)],
                         ids=["size", "period", "number"])
def test_streamed_fit_equals_in_memory_when_the_sample_holds_every_row(chunking, holed_reference, analysis,
                                                                      tmp_path, monkeypatch):
    # batches of 1,777 rows never line up with chunks of 3,000 rows, weeks, or 7 equal chunks
    monkeypatch.setattr(seismo.data.frame, "BATCH_ROWS", 1_777)
    path = write_parts(holed_reference, tmp_path / "ref", [6_000, 7_500, 6_500])
    for calc in _calculators(**chunking):
        in_memory = calc.fit(holed_reference)
        reference_rows = [f.reference_rows for f in in_memory.fitted_trackers_]
        expected = in_memory.calculate(analysis).to_df()
        streamed = calc.fit(path, streaming=True)
        assert [f.reference_rows for f in streamed.fitted_trackers_] == reference_rows
        _assert_same(expected, streamed.calculate(analysis).to_df())  # reference rows, thresholds, analysis


def test_realized_performance_keeps_its_reference_chunks_when_streamed(reference, tmp_path, monkeypatch):
    monkeypatch.setattr(seismo.data.frame, "BATCH_ROWS", 2_500)
    path = write_parts(reference, tmp_path / "ref", [9_000, 11_000])
    calc = _calculators(chunk_size=3_000, incomplete="append")[3]
    in_memory = calc.fit(reference).reference_chunks_
    assert calc.fit(path, streaming=True).reference_chunks_ == in_memory
    assert [c.size for c in in_memory] == [3_000] * 5 + [5_000]  # the short last chunk was appended


@pytest.fixture(scope="module")
def small_sample_results(holed_reference, analysis, tmp_path_factory):
    """In-memory and streamed results of every calculator, the stream keeping 5,000 of 20,000 rows."""
    path = write_parts(holed_reference, tmp_path_factory.mktemp("ref"), [8_000, 12_000])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(seismo.data.frame, "BATCH_ROWS", 3_333)
        patch.setattr(seismo.chunks.reference, "REFERENCE_SAMPLE_ROWS", 5_000)
        out = {}
        for calc in _calculators(n_resamples=100, chunk_size=2_000):
            if isinstance(calc, seismo.PCADrift):
                continue  # its features are checked on well-conditioned data below
            in_memory = calc.fit(holed_reference).calculate(analysis).to_df()
            streamed = calc.fit(path, streaming=True).calculate(analysis).to_df()
            out[type(calc).__name__] = (_sorted(in_memory), _sorted(streamed))
    return out


# Statistics of exact partials that do not depend on bins: exact whatever the sample.
EXACT = {
    "DataQuality": ["missing_rate", "unseen_rate", "mean", "std", "sum", "row_count"],
    "RealizedPerformance": ["accuracy", "f1", "precision", "recall", "specificity", "true_positive",
                            "false_positive", "true_negative", "false_negative"],
}


@pytest.mark.parametrize("name", ["UnivariateDrift", "DataQuality", "RealizedPerformance"])
def test_a_smaller_sample_keeps_exact_values_exact_and_the_rest_close(name, small_sample_results):
    in_memory, streamed = small_sample_results[name]
    pd.testing.assert_frame_equal(in_memory[KEYS + ["chunk_start_index", "chunk_end_index"]],
                                  streamed[KEYS + ["chunk_start_index", "chunk_end_index"]])
    exact = in_memory["metric"].isin(EXACT.get(name, []))
    if name == "UnivariateDrift":  # categorical columns: exact counts over an exact vocabulary
        exact = in_memory["column"].isin(["c", "d"])
    if name == "DataQuality":  # the range is exact, so analysis values outside it are counted exactly
        exact |= (in_memory["metric"] == "out_of_range_rate") & (in_memory["period"] == "analysis")
    assert exact.sum() > 0
    np.testing.assert_allclose(streamed.loc[exact, "value"], in_memory.loc[exact, "value"], rtol=1e-9, atol=1e-12)
    for metric, rows in in_memory.groupby("metric"):
        if rows["upper_threshold"].isna().all():
            continue  # row_count of fixed-size chunks: no threshold
        band = np.nanmax(rows["upper_threshold"] - rows["lower_threshold"].fillna(0.0))
        if not np.isfinite(band) or band == 0:
            continue
        for col in ["value", "lower_threshold", "upper_threshold"]:
            gap = np.nanmax(np.abs(streamed.loc[rows.index, col] - rows[col]).to_numpy(), initial=0.0)
            # a rate's bound has a Poisson floor in whole rows: two rows of a 2,000-row chunk is one step
            steps = 2 / 2_000 if metric.endswith("_rate") and col.endswith("threshold") else 0.0
            assert gap <= max(SAMPLED_TOLERANCE * band, steps), (metric, col, gap / band)


def _correlated(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cov = np.full((5, 5), 0.8)
    np.fill_diagonal(cov, 1.0)
    return pd.DataFrame(rng.multivariate_normal(np.zeros(5), cov, n), columns=[f"x{i}" for i in range(5)])


def test_pca_fits_on_the_sample_and_scores_every_reference_row(tmp_path, monkeypatch):
    reference, analysis = _correlated(20_000, seed=1), _correlated(20_000, seed=2)
    path = write_parts(reference, tmp_path / "ref", [20_000])
    monkeypatch.setattr(seismo.data.frame, "BATCH_ROWS", 3_333)
    monkeypatch.setattr(seismo.chunks.reference, "REFERENCE_SAMPLE_ROWS", 5_000)
    in_memory = seismo.PCADrift(chunk_size=2_000, n_resamples=100).fit(reference).calculate(analysis).to_df()
    streamed_drift = seismo.PCADrift(chunk_size=2_000, n_resamples=100).fit(path, streaming=True)
    streamed = streamed_drift.calculate(analysis).to_df()
    assert streamed_drift.fitted_trackers_[0].reference_rows == 20_000  # every row scored, not the sample
    assert (streamed.query("period == 'reference'")["chunk_key"] == in_memory.query("period == 'reference'")[
        "chunk_key"]).all()
    band = (in_memory["upper_threshold"] - in_memory["lower_threshold"]).max()
    for col in ["value", "lower_threshold", "upper_threshold"]:
        assert (streamed[col] - in_memory[col]).abs().max() <= PCA_TOLERANCE * band, col
    assert not streamed["alert"].any()


def test_exact_extras_keep_reference_ranges_and_categories(tmp_path, monkeypatch):
    """A 1,000-row sample of 20,000 rows misses the extremes, the rare category and the rare integer."""
    df = make_frame(20_000, seed=5)
    df.loc[df.index[[10, 12_345]], "c"] = ["rare", "rarer"]
    df.loc[df.index[7_777], "a"] = 40.0  # far above every other value
    df["e"] = np.where(np.arange(20_000) == 4_322, 10, np.arange(20_000) % 10)  # 11 distinct: continuous
    columns = [*COLUMNS, "e"]
    path = write_parts(df, tmp_path / "ref", [10_000, 10_000])
    monkeypatch.setattr(seismo.data.frame, "BATCH_ROWS", 4_000)
    monkeypatch.setattr(seismo.chunks.reference, "REFERENCE_SAMPLE_ROWS", 1_000)
    sample = scan_reference(path, columns, None, sample_rows=1_000, seed=0).frame  # the sample fit draws
    assert not set(sample.positions) & {10, 12_345, 7_777, 4_322}
    for calc_type in (seismo.DataQuality, seismo.UnivariateDrift):
        in_memory = calc_type(columns=columns, chunk_size=2_000, n_resamples=5).fit(df)
        streamed = calc_type(columns=columns, chunk_size=2_000, n_resamples=5).fit(path, streaming=True)
        assert [(s.name, s.kind) for s in streamed.schema_.columns] == [
            (s.name, s.kind) for s in in_memory.schema_.columns]
        assert streamed.schema_.kind("e") == "continuous"
        categories = {f.tracker.column: f.tracker.categories.to_pylist()
                      for f in streamed.fitted_trackers_ if hasattr(f.tracker, "categories")}
        assert categories == {f.tracker.column: f.tracker.categories.to_pylist()
                              for f in in_memory.fitted_trackers_ if hasattr(f.tracker, "categories")}
        assert {"rare", "rarer"} <= set(categories["c"])
        points = {f.tracker.column: f.tracker.points[[0, -1]].tolist()
                  for f in streamed.fitted_trackers_ if hasattr(f.tracker, "points")}
        assert points["a"] == [df["a"].min(), 40.0] and points["e"] == [0.0, 10.0]
    # the reference itself, as analysis data: nothing is unseen or out of range
    quality = seismo.DataQuality(columns=columns, chunk_size=2_000, n_resamples=5).fit(path, streaming=True)
    rows = quality.calculate(df).filter(period="analysis").to_df()
    rates = rows[rows["metric"].isin(["unseen_rate", "out_of_range_rate"])]
    assert len(rates) == 10 * 5  # one rate per column and chunk
    assert (rates["value"] == 0).all()
    # and beyond the exact maximum is out of range
    beyond = df.copy()
    beyond["a"] = 41.0
    rows = quality.calculate(beyond).filter(period="analysis", columns=["a"], metrics=["out_of_range_rate"])
    assert (rows.to_df()["value"] == 1.0).all()


def test_the_sample_has_the_configured_size_and_does_not_depend_on_the_batch_size(tmp_path, monkeypatch):
    df = make_frame(20_000, seed=2)
    path = write_parts(df, tmp_path / "ref", [5_000, 15_000])
    ranges, counts = feature_extras(read_schema(path), COLUMNS, None)
    # d: integer, kind decided by its count; a, b: floats, integers made float if whole and with missing values
    assert ranges == ["a", "b", "d"] and counts == {"a": 10, "b": 10, "c": None, "d": 10}
    samples = []
    for batch_rows in (1_777, 20_000):
        monkeypatch.setattr(seismo.data.frame, "BATCH_ROWS", batch_rows)
        ref = scan_reference(path, COLUMNS, "timestamp", ranges=ranges, counts=counts, sample_rows=4_000, seed=3)
        assert ref.n_rows == 20_000 and ref.sample_rows == 4_000 and ref.frame.table.num_rows == 4_000
        positions = ref.frame.positions
        assert np.all(np.diff(positions) > 0)  # in time order, no row twice
        np.testing.assert_array_equal(ref.frame.floats("a"), df["a"].to_numpy()[positions])
        np.testing.assert_array_equal(ref.frame.timestamps, df["timestamp"].to_numpy()[positions])
        samples.append(positions)
    np.testing.assert_array_equal(samples[0], samples[1])
    # uniform: 1,000 rows expected in each quarter, binomial sd about 27
    quarters = np.bincount(samples[0] // 5_000, minlength=4)
    assert np.all(np.abs(quarters - 1_000) < 120), quarters


def test_streamed_fit_refuses_what_it_cannot_do(reference, tmp_path, monkeypatch):
    monkeypatch.setattr(seismo.data.frame, "BATCH_ROWS", 4_000)
    directory = tmp_path / "ref"
    directory.mkdir()
    reference.iloc[10_000:].to_parquet(directory / "a.parquet", index=False)  # later rows in the first file
    reference.iloc[:10_000].to_parquet(directory / "b.parquet", index=False)
    drift = seismo.UnivariateDrift(columns=COLUMNS, timestamp="timestamp", chunk_size=2_000, n_resamples=5)
    with pytest.raises(InvalidData, match="reference rows are not in time order"):
        drift.fit(str(directory), streaming=True)
    assert drift.fit(str(directory), streaming=False).fitted_  # in memory the rows are sorted

    class Halves(Chunker):
        def split(self, n_rows, timestamps=None):
            return [Chunk(0, "first", 0, n_rows // 2), Chunk(1, "second", n_rows // 2, n_rows)]

    path = write_parts(reference, tmp_path / "ordered", [20_000])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InvalidConfiguration, match="custom chunker"):
            seismo.DataQuality(columns=COLUMNS, chunker=Halves(), n_resamples=5).fit(path, streaming=True)
        with pytest.raises(InvalidData, match="fewer than one chunk"):
            seismo.DataQuality(columns=COLUMNS, chunk_size=50_000, n_resamples=5).fit(path, streaming=True)


@pytest.mark.parametrize("estimator", ["cbpe", "pape"])
def test_estimators_fit_a_streamed_reference(estimator, reference, analysis, tmp_path, monkeypatch):
    """With the sample holding every row the streamed fit equals the in-memory one; with a quarter
    of the rows (score bins and calibration from the sample, counts from every row) thresholds
    and estimates stay close."""
    monkeypatch.setattr(seismo.data.frame, "BATCH_ROWS", 3_333)
    reference.to_parquet(tmp_path / "ref.parquet", index=False)
    cls = seismo.PAPE if estimator == "pape" else seismo.CBPE
    args = dict(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true", timestamp="timestamp",
                chunk_size=4_000, metrics=["roc_auc", "accuracy"], n_resamples=5, features=["a", "b", "c", "d"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        in_memory = cls("binary", **args).fit(reference).estimate(analysis).to_df()
        streamed = cls("binary", **args).fit(str(tmp_path / "ref.parquet"), streaming=True).estimate(analysis).to_df()
        monkeypatch.setattr(seismo.chunks.reference, "REFERENCE_SAMPLE_ROWS", 5_000)
        sampled = cls("binary", **args).fit(str(tmp_path / "ref.parquet"), streaming=True).estimate(analysis).to_df()
    pd.testing.assert_frame_equal(in_memory[["period", "chunk_key", "metric", "alert"]],
                                  streamed[["period", "chunk_key", "metric", "alert"]])
    for col in ["value", "sampling_error", "lower_threshold", "realized", "calibration_gap"]:
        np.testing.assert_allclose(streamed[col].astype(float), in_memory[col].astype(float), rtol=1e-9,
                                   atol=1e-12, equal_nan=True, err_msg=col)
    np.testing.assert_allclose(sampled["lower_threshold"], in_memory["lower_threshold"], rtol=0.02, equal_nan=True)
    analysis_rows = sampled["period"] == "analysis"
    gap = np.abs(sampled.loc[analysis_rows, "value"] - in_memory.loc[analysis_rows, "value"])
    assert float(gap.max()) < 0.03  # a calibration learned on 5,000 of 20,000 rows


def test_domain_classifier_fits_a_streamed_reference(reference, analysis, tmp_path, monkeypatch):
    """Equal to the in-memory fit when the sample holds every row; categories exact either way."""
    monkeypatch.setattr(seismo.data.frame, "BATCH_ROWS", 3_333)
    reference.to_parquet(tmp_path / "ref.parquet", index=False)
    args = dict(columns=["a", "b", "c", "d"], timestamp="timestamp", chunk_size=4_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        in_memory = seismo.DomainClassifierDrift(**args).fit(reference)
        streamed = seismo.DomainClassifierDrift(**args).fit(str(tmp_path / "ref.parquet"), streaming=True)
    a, b = in_memory.calculate(analysis).to_df(), streamed.calculate(analysis).to_df()
    pd.testing.assert_frame_equal(a, b)
    assert {k: v[0].to_pylist() for k, v in in_memory.categories_.items()} == \
        {k: v[0].to_pylist() for k, v in streamed.categories_.items()}
