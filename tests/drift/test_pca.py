"""PCADrift: per-row errors equal scikit-learn's reconstruction on the same preprocessing,
partials merge exactly, a flipped correlation alerts where univariate drift stays quiet,
stationary data stays quiet, and mixed, incomplete or unseen data runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import seismo
from seismo.data.frame import load_frame
from seismo.drift.pca import METRIC, PCADrift
from seismo.errors import ColumnNotFound, InvalidConfiguration
from seismo.stats.moments import Moments

FEATURES = ["x0", "x1", "x2", "x3", "x4"]
CHUNK = 2_000


def correlated(n: int, seed: int, flip: bool = False) -> pd.DataFrame:
    """Five standard normal features with pairwise correlation 0.8; ``flip`` negates x1,
    which reverses its correlations but leaves every marginal distribution unchanged."""
    rng = np.random.default_rng(seed)
    cov = np.full((5, 5), 0.8)
    np.fill_diagonal(cov, 1.0)
    x = rng.multivariate_normal(np.zeros(5), cov, n)
    if flip:
        x[:, 1] = -x[:, 1]
    return pd.DataFrame(x, columns=FEATURES)


@pytest.fixture(scope="module")
def stationary():
    reference, analysis = correlated(50_000, seed=1), correlated(100 * CHUNK, seed=2)
    drift = PCADrift(chunk_size=CHUNK).fit(reference)
    return drift, drift.calculate(analysis).to_df()


def _row_errors(drift: PCADrift, data: pd.DataFrame) -> np.ndarray:
    tracker = drift.fitted_trackers_[0].tracker
    return tracker.encode(load_frame(data, drift.schema_.names, None, "analysis"))


def test_row_errors_match_sklearn_reconstruction():
    reference, analysis = correlated(3_000, seed=3), correlated(1_000, seed=4)
    rng = np.random.default_rng(5)
    for df in (reference, analysis):
        df[df.columns] = df.mask(rng.random(df.shape) < 0.05)
    drift = PCADrift(chunk_size=250, max_fit_rows=10_000).fit(reference)
    prep = make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()).fit(reference)
    pca = PCA(n_components=0.65, svd_solver="full").fit(prep.transform(reference))
    assert drift.n_components_ == pca.n_components_
    z = prep.transform(analysis)
    expected = np.linalg.norm(z - pca.inverse_transform(pca.transform(z)), axis=1)
    np.testing.assert_allclose(_row_errors(drift, analysis), expected, rtol=0, atol=1e-9)
    # and each analysis chunk's value is the mean error of its rows
    rows = drift.calculate(analysis).to_df().query("period == 'analysis'")
    assert rows["column"].isna().all() and set(rows["metric"]) == {METRIC}
    np.testing.assert_allclose(rows["value"], expected.reshape(4, 250).mean(axis=1), rtol=0, atol=1e-9)


def test_partials_merge_to_the_whole():
    drift = PCADrift(chunk_size=500, n_resamples=5).fit(correlated(5_000, seed=6))
    tracker = drift.fitted_trackers_[0].tracker
    errors = _row_errors(drift, correlated(7_000, seed=7))
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 6, errors.size)
    merged = Moments()
    for k in range(6):
        merged = merged + tracker.partial(errors, np.flatnonzero(labels == k))
    whole = tracker.partial(errors, slice(0, errors.size))
    assert merged.n == whole.n
    for a, b in ((merged.mean, whole.mean), (merged.m2, whole.m2)):
        assert abs(a - b) <= 1e-9 * max(1.0, abs(b))
    assert tracker.finish(merged)[METRIC] == pytest.approx(tracker.finish(whole)[METRIC], abs=1e-9)


def test_reference_values_carry_the_in_sample_optimism():
    """40 independent features, 1,000 reference rows: the PCA fits its own rows' noise, so
    their errors sit clearly below new rows'. Reference rows are scored by the same model
    plus that gap (``optimism_``, estimated on fold models), so reference chunks land where
    analysis chunks do. The tolerances are 4 standard errors: of a mean over the reference
    rows for the gap, of the difference of two chunk means for the chunks."""
    rng = np.random.default_rng(12)
    columns = [f"f{i}" for i in range(40)]
    reference = pd.DataFrame(rng.normal(size=(1_000, 40)), columns=columns)
    analysis = pd.DataFrame(rng.normal(size=(5_000, 40)), columns=columns)
    drift = PCADrift(chunk_size=100, n_resamples=20).fit(reference)
    in_sample = _row_errors(drift, reference)  # the final model scoring its own rows
    new = _row_errors(drift, pd.DataFrame(rng.normal(size=(100_000, 40)), columns=columns))
    optimism = new.mean() - in_sample.mean()
    assert optimism > 0.2
    assert abs(drift.optimism_ - optimism) < 4 * in_sample.std() / np.sqrt(in_sample.size)
    df = drift.calculate(analysis).to_df()
    ref, ana = df.query("period == 'reference'")["value"], df.query("period == 'analysis'")["value"]
    noise = np.sqrt(ref.var() / ref.size + ana.var() / ana.size)
    assert noise < 0.1 * optimism
    assert abs(ref.mean() - ana.mean()) < 4 * noise
    assert df["alert"].mean() <= 0.02


def test_stationary_data_rarely_alerts(stationary):
    _, df = stationary
    analysis = df.query("period == 'analysis'")
    assert len(analysis) == 100
    assert analysis["alert"].sum() <= 1
    assert (analysis["lower_threshold"] > 0).all() and (analysis["upper_threshold"] > analysis["lower_threshold"]).all()
    assert analysis["sampling_error"].gt(0).all()


def test_flipped_correlation_alerts_where_univariate_drift_does_not(stationary):
    drift, _ = stationary
    shifted = correlated(10 * CHUNK, seed=9, flip=True)
    rows = drift.calculate(shifted).to_df().query("period == 'analysis'")
    assert rows["alert"].all()
    assert (rows["value"] > rows["upper_threshold"]).all()
    univariate = seismo.UnivariateDrift(
        columns=FEATURES, chunk_size=CHUNK, methods=["kolmogorov_smirnov", "jensen_shannon"], n_resamples=20
    ).fit(correlated(50_000, seed=1))
    marginal = univariate.calculate(shifted).to_df().query("period == 'analysis'")
    assert marginal["alert"].mean() <= 0.02  # 100 values: the marginals did not move


def test_mixed_types_missing_values_and_unseen_categories():
    rng = np.random.default_rng(10)

    def frame(n: int, categories: list[str]) -> pd.DataFrame:
        a = rng.normal(size=n)
        df = pd.DataFrame({
            "a": a,
            "b": a * 0.9 + rng.normal(scale=0.3, size=n),
            "c": rng.choice(categories, n),
            "d": rng.integers(0, 4, n),  # few distinct integers: categorical
            "y_pred": rng.integers(0, 2, n),
        })
        df.loc[rng.random(n) < 0.1, "a"] = np.nan
        df["c"] = df["c"].where(rng.random(n) > 0.1, None)
        return df

    reference = frame(6_000, ["u", "v", "w"])
    analysis = frame(3_000, ["u", "v", "never_seen"])
    drift = PCADrift(chunk_size=1_000, y_pred="y_pred", n_resamples=10).fit(reference)
    assert drift.schema_.names == ["a", "b", "c", "d"]
    assert [s.kind for s in drift.schema_.columns] == ["continuous", "continuous", "categorical", "categorical"]
    df = drift.calculate(analysis).to_df()
    assert np.isfinite(df["value"]).all() and len(df.query("period == 'analysis'")) == 3
    errors = _row_errors(drift, analysis)
    assert np.isfinite(errors).all() and (errors >= 0).all()
    # an entirely unseen category in every row is still scored (it encodes as frequency 0)
    unseen = analysis.assign(c="brand_new")
    assert np.isfinite(drift.calculate(unseen).to_df()["value"]).all()


def test_configuration_errors():
    reference = correlated(1_000, seed=11)
    with pytest.raises(ColumnNotFound):
        PCADrift(columns=["x0", "nope"], chunk_size=100).fit(reference)
    with pytest.raises(InvalidConfiguration):
        PCADrift(columns=[], chunk_size=100).fit(reference)
    with pytest.raises(InvalidConfiguration):
        PCADrift(chunk_size=100, y_pred="x0").fit(reference[["x0"]])
    with pytest.raises(InvalidConfiguration):
        PCADrift(chunk_size=100, variance=1.5).fit(reference)
    drift = PCADrift(columns=["x0", "x1"], chunk_size=100).fit(reference)
    with pytest.raises(ColumnNotFound):
        drift.calculate(reference[["x0"]])


def test_dictionary_encoded_categories_score_as_their_strings():
    """Codes taken through a column's dictionaries (one per chunk, in any order, null
    entries and indices included) equal the lookup of the decoded strings."""
    import pyarrow as pa

    rng = np.random.default_rng(13)

    def table(n: int, dictionaries: list[list], plain: bool) -> pa.Table:
        x = rng.normal(size=n)
        chunks = []
        for words, rows in zip(dictionaries, np.array_split(np.arange(n), len(dictionaries))):
            indices = pa.array(rng.integers(0, len(words), rows.size), mask=rng.random(rows.size) < 0.1)
            chunks.append(pa.DictionaryArray.from_arrays(indices, pa.array(words, pa.string())))
        c = pa.chunked_array(chunks)
        if plain:
            c = pa.chunked_array([chunk.dictionary_decode() for chunk in chunks])
        y = x * 0.8 + rng.normal(scale=0.5, size=n)
        return pa.table({"x": x, "y": y, "c": c})

    reference = table(4_000, [["u", "v", "w"], ["w", "u", None, "v"]], plain=False)
    drift = PCADrift(chunk_size=500, n_resamples=5, column_types={"c": "categorical"}).fit(reference)
    analysis = table(2_000, [["v", "new", "u"], ["w"], [None, "u"]], plain=False)
    as_strings = pa.table({"x": analysis["x"], "y": analysis["y"], "c": analysis["c"].cast(pa.string())})
    assert pa.types.is_dictionary(analysis["c"].type) and not pa.types.is_dictionary(as_strings["c"].type)
    by_dictionary, by_string = _row_errors(drift, analysis), _row_errors(drift, as_strings)
    np.testing.assert_array_equal(by_dictionary, by_string)
    assert np.isfinite(by_dictionary).all()
    assert len(set(np.round(by_dictionary, 12))) > 100  # the categories do enter the errors


def test_row_errors_are_exact_where_they_are_tiny():
    """err² = ‖z‖² − ‖zWᵀ‖² cancels where the error is a tiny share of ‖z‖; such rows must
    still match ‖z − zWᵀW‖, here on rank-2 data in 4 columns (errors about the 1e-9 noise
    off the plane) and with every component kept (errors are rounding only).

    Two correct float64 computations of a row's error differ by rounding: a few ulps of the
    row's magnitudes in the standardised space, whatever the BLAS or machine. The tolerance
    is 1,000 times that; the cancelling formula would be off by about √(eps)·‖z‖ (1e-8).
    """
    rng = np.random.default_rng(14)
    columns, mixing, noise = ["a", "b", "c", "d"], rng.normal(size=(2, 4)), 1e-9

    def frame(n: int) -> pd.DataFrame:
        low = rng.normal(size=(n, 2)) @ mixing
        return pd.DataFrame(low + noise * rng.normal(size=(n, 4)), columns=columns)

    reference, analysis = frame(5_000), frame(3_000)
    x = analysis.to_numpy()
    eps = np.finfo(float).eps
    for variance in (0.9, 1.0):
        drift = PCADrift(chunk_size=500, n_resamples=5, variance=variance).fit(reference)
        model = drift.model_
        magnitude = np.abs(x / model.scale).sum(axis=1) + np.abs(model.center / model.scale + model.mu).sum()
        rounding = 1e3 * eps * magnitude
        z = (x - model.center) / model.scale - model.mu
        w = model.components
        expected = np.linalg.norm(z - (z @ w.T) @ w, axis=1)
        errors = _row_errors(drift, analysis)
        if variance < 1.0:
            assert model.n_components == 2
            # the noise off the plane, standardised: about 1e-9 · √4 / scale at most
            assert errors.max() < 10 * noise * np.sqrt(4) / model.scale.min()
            assert np.median(errors) > 100 * rounding.max()  # far above rounding: a real comparison
        else:
            assert model.n_components == 4
            assert (errors <= rounding).all()
        assert (np.abs(errors - expected) <= rounding).all()
