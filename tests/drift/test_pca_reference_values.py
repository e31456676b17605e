"""PCADrift's reference values have the expectation of analysis values from the same data.

Issue 11: with 7 features (4 continuous, 3 low-cardinality integers) the out-of-fold
reference chunks scored about 1.26 and stationary analysis chunks about 1.14, so every
stationary chunk alerted. Fold models that chose their own number of components measured
something else than the final model. Here, on stationary splits with 2, 5, 7 and 30
features (continuous, lognormal, discrete counts, categorical strings and low-cardinality
integers), the mean of many reference chunks must equal the mean of many analysis chunks
within the noise of two means, stationary chunks must rarely alert, and a change of the
correlations that leaves every marginal unchanged must still alert.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seismo.drift.pca import PCADrift

CHUNK = 500
REFERENCE_CHUNKS, ANALYSIS_CHUNKS, SHIFTED_CHUNKS = 100, 200, 20


def _equicorrelated(rng: np.random.Generator, n: int, d: int, rho: float) -> np.ndarray:
    """``d`` standard normal columns with pairwise correlation ``rho`` (one common factor)."""
    return np.sqrt(rho) * rng.normal(size=(n, 1)) + np.sqrt(1 - rho) * rng.normal(size=(n, d))


def two_features(rng: np.random.Generator, n: int, shift: bool = False) -> pd.DataFrame:
    x = _equicorrelated(rng, n, 2, 0.6)
    if shift:
        x[:, 1] = -x[:, 1]  # the correlation flips; both marginals stay N(0, 1)
    return pd.DataFrame(x, columns=["a", "b"])


def five_mixed(rng: np.random.Generator, n: int, shift: bool = False) -> pd.DataFrame:
    """Two normals, a lognormal (skewed), a 3-level string category and a 0..4 count read
    as categorical, all tied to one another."""
    x = _equicorrelated(rng, n, 3, 0.5)
    if shift:
        x[:, 1] = -x[:, 1]
    return pd.DataFrame({
        "a": x[:, 0],
        "b": x[:, 1],
        "income": np.exp(0.8 * x[:, 2]),
        "segment": np.array(["s0", "s1", "s2"])[np.digitize(x[:, 0] + rng.normal(size=n), [0.0, 1.0])],
        "children": np.minimum(rng.poisson(np.exp(0.3 * x[:, 2])), 4),
    })


def seven_like_the_issue(rng: np.random.Generator, n: int, shift: bool = False) -> pd.DataFrame:
    """4 continuous columns (pairwise correlation 0.183) and 3 uniform integers with 3, 4
    and 5 values (categorical). The spectrum is 1.55, 1, 1, 1, 0.82, 0.82, 0.82, so 65% of
    the variance is reached just at the 4th or the 5th component: models fitted on
    different rows keep different numbers of components, as in the issue."""
    x = _equicorrelated(rng, n, 4, 0.183)
    if shift:
        x[:, 1] = -x[:, 1]
    df = pd.DataFrame(x, columns=[f"c{i}" for i in range(4)])
    for j in range(3):
        df[f"k{j}"] = rng.integers(0, 3 + j, n)
    return df


_LOADINGS = np.random.default_rng(0).normal(size=(3, 30)) * 0.7


def thirty_mixed(rng: np.random.Generator, n: int, shift: bool = False) -> pd.DataFrame:
    """30 columns from 3 factors: 15 normal, 5 lognormal, 5 Poisson counts with many values
    (continuous) and 5 integers in -2..2 (categorical)."""
    x = rng.normal(size=(n, 3)) @ _LOADINGS + rng.normal(size=(n, 30))
    if shift:
        x[:, :5] = -x[:, :5]  # n0..n4 are normal with mean 0: their marginals are unchanged
    columns = {f"n{i}": x[:, i] for i in range(15)}
    columns |= {f"l{i}": np.exp(0.7 * x[:, i]) for i in range(15, 20)}
    columns |= {f"p{i}": rng.poisson(np.exp(2.5 + 0.3 * x[:, i])) for i in range(20, 25)}
    columns |= {f"k{i}": np.clip(np.round(x[:, i]), -2, 2).astype(np.int64) for i in range(25, 30)}
    return pd.DataFrame(columns)


SPLITS = {"two": two_features, "five": five_mixed, "seven": seven_like_the_issue, "thirty": thirty_mixed}
# Seeds fixed once; for "seven" it is one where a model fitted on four fifths of the
# reference keeps a different number of components than the one fitted on all of it.
SEEDS = {"two": 1, "five": 2, "seven": 3, "thirty": 4}


@pytest.fixture(scope="module")
def splits() -> dict:
    """Per split: the fitted drift and its result on stationary analysis data."""
    out = {}
    for name, make in SPLITS.items():
        rng = np.random.default_rng(SEEDS[name])
        reference, analysis = make(rng, REFERENCE_CHUNKS * CHUNK), make(rng, ANALYSIS_CHUNKS * CHUNK)
        drift = PCADrift(chunk_size=CHUNK).fit(reference)
        out[name] = (drift, drift.calculate(analysis).to_df(), rng)
    return out


def test_the_splits_have_the_intended_column_kinds(splits):
    kinds = {name: [c.kind for c in drift.schema_.columns] for name, (drift, _, _) in splits.items()}
    assert kinds["five"] == ["continuous"] * 3 + ["categorical"] * 2
    assert kinds["seven"] == ["continuous"] * 4 + ["categorical"] * 3
    assert kinds["thirty"] == ["continuous"] * 25 + ["categorical"] * 5


@pytest.mark.parametrize("name", list(SPLITS))
def test_reference_mean_equals_the_stationary_analysis_mean(splits, name):
    _, df, _ = splits[name]
    reference = df.query("period == 'reference'")["value"].to_numpy()
    analysis = df.query("period == 'analysis'")["value"].to_numpy()
    assert (reference.size, analysis.size) == (REFERENCE_CHUNKS, ANALYSIS_CHUNKS)
    noise = np.sqrt(reference.var(ddof=1) / reference.size + analysis.var(ddof=1) / analysis.size)
    # the two means are known far more precisely than one chunk's value
    assert noise < 0.15 * analysis.std(ddof=1)
    assert abs(reference.mean() - analysis.mean()) < 4 * noise, (reference.mean(), analysis.mean(), noise)


def test_stationary_chunks_rarely_alert(splits):
    analysis = pd.concat([df.query("period == 'analysis'") for _, df, _ in splits.values()])
    assert len(analysis) == len(SPLITS) * ANALYSIS_CHUNKS
    assert analysis["alert"].mean() <= 0.01


def test_a_change_of_correlations_alone_alerts(splits):
    """Normal, centred columns negated: their marginals stay the same, their correlations
    with the other columns flip.

    Not on "seven": there the PCA keeps one of three directions of equal variance, an
    arbitrary choice, and when that direction lies along the negated column the flip moves
    as much variance into the kept components as out of them (the error does not change).
    """
    shifted = []
    for name in ("two", "five", "thirty"):
        drift, _, rng = splits[name]
        rows = drift.calculate(SPLITS[name](rng, SHIFTED_CHUNKS * CHUNK, shift=True)).to_df()
        rows = rows.query("period == 'analysis'")
        assert rows["value"].mean() > rows["upper_threshold"].iloc[0], name
        shifted.append(rows)
    assert pd.concat(shifted)["alert"].mean() >= 0.9


def test_the_issue_configuration():
    """7 features, 50k reference rows in 5k chunks, 5 stationary analysis chunks. Before the
    fix (this seed): reference chunks 1.26, stationary analysis chunks 1.13, all 5 alerted."""
    rng = np.random.default_rng(121)
    reference = seven_like_the_issue(rng, 50_000)
    df = PCADrift(chunk_size=5_000).fit(reference).calculate(seven_like_the_issue(rng, 25_000)).to_df()
    ref = df.query("period == 'reference'")["value"].to_numpy()
    stationary = df.query("period == 'analysis'")
    assert (ref.size, len(stationary)) == (10, 5)
    noise = np.sqrt(ref.var(ddof=1) / ref.size + stationary["value"].var(ddof=1) / 5)
    assert abs(ref.mean() - stationary["value"].mean()) < 4 * noise
    assert not stationary["alert"].any()
