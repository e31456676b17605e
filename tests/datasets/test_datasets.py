"""Pins seismo.datasets, the seeded synthetic demo data (seed 0, default sizes).

For each of load_synthetic_credit, load_synthetic_churn and
load_synthetic_house_prices it pins:

* the frames: shapes, exact column lists, dtypes, ids unique across reference
  and analysis (and equal between analysis and analysis_targets), timestamps
  strictly increasing with the reference before the analysis and the drift
  starting on 2024-10-01 at row n_analysis // 2;
* the model outputs: probabilities finite and strictly inside (0, 1), rows
  summing to 1 and y_pred the argmax (churn), y_pred a threshold on
  y_pred_proba flagging about the default rate (credit);
* determinism for a seed, that another seed and the size keywords are honoured,
  and a runtime under 5 s per loader (CPU time of this process, which other
  processes on the machine cannot inflate);
* the stories told in each module docstring: the first half of the analysis is
  the reference up to sampling noise; in the second half the performance drops
  in every chunk (credit: ROC AUC by >= 0.05 per 5000 rows; churn: macro
  one-vs-rest ROC AUC by >= 0.03 per 3000 rows; house prices: the model
  overprices by > 5% of the mean price and its MAE rises), the virtual-drift
  feature has really moved (KS p-value tiny) without hurting the model
  (re-scoring with that feature drawn from the reference changes the metric by
  < 0.01), the missing values and the new category appear only in the second
  half, and every feature not named in the story keeps its distribution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

import seismo.datasets as datasets
from seismo.datasets import _common, churn, credit, house_prices
from seismo.errors import InvalidConfiguration

DRIFT_START = pd.Timestamp("2024-10-01")


@dataclass(frozen=True)
class Spec:
    module: object
    loader: object
    n: int  # rows of the reference and of the analysis
    chunk: int
    target: str
    outputs: list[str]
    shifted: list[str]  # covariate shift that hurts the model
    virtual: str  # moves, but the target does not depend on it
    missing: str
    new_category: tuple[str, str]
    ints: list[str] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)


SPECS = {
    "credit": Spec(
        credit,
        datasets.load_synthetic_credit,
        50_000,
        5_000,
        "defaulted",
        ["y_pred_proba", "y_pred"],
        ["income", "debt_ratio"],
        "age",
        "employment_years",
        ("employment_type", "gig"),
        ints=["id", "age", "n_open_loans", "defaulted", "y_pred"],
        strings=["employment_type", "region"],
    ),
    "churn": Spec(
        churn,
        datasets.load_synthetic_churn,
        30_000,
        3_000,
        "churn",
        ["y_pred_proba_stay", "y_pred_proba_downgrade", "y_pred_proba_leave", "y_pred"],
        ["monthly_charges", "support_calls"],
        "app_minutes_per_week",
        "usage_gb",
        ("plan", "family"),
        ints=["id", "tenure_months", "support_calls", "n_devices"],
        strings=["plan", "contract", "payment_method", "churn", "y_pred"],
    ),
    "house_prices": Spec(
        house_prices,
        datasets.load_synthetic_house_prices,
        30_000,
        3_000,
        "price",
        ["y_pred"],
        ["distance_to_center_km"],
        "n_photos",
        "energy_kwh_m2",
        ("heating", "heat_pump"),
        ints=["id", "rooms", "age_years", "n_photos"],
        strings=["neighbourhood", "condition", "heating"],
    ),
}
NAMES = list(SPECS)


@pytest.fixture(scope="module")
def simulated() -> dict[str, tuple]:
    """One seed-0 run of each generator, with its model (cached per module)."""
    return {}


def sim(simulated: dict, name: str) -> tuple:
    if name not in simulated:
        simulated[name] = SPECS[name].module._simulate(0)
    return simulated[name]


def halves(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    half = len(frame) // 2
    return frame.iloc[:half], frame.iloc[half:]


def chunks(n: int, size: int) -> list[slice]:
    return [slice(start, start + size) for start in range(0, n, size)]


def macro_auc(y: np.ndarray, proba: np.ndarray) -> float:
    """Macro one-vs-rest ROC AUC; columns of ``proba`` in churn.CLASSES order."""
    return float(np.mean([roc_auc_score(y == c, proba[:, k]) for k, c in enumerate(churn.CLASSES)]))


def metric(name: str, frame: pd.DataFrame, y: np.ndarray, proba: np.ndarray | None = None):
    """The story's performance metric (AUC, macro AUC, or MAE) of ``frame``."""
    if name == "credit":
        return roc_auc_score(y, frame["y_pred_proba"] if proba is None else proba)
    if name == "churn":
        return macro_auc(y, frame[churn.PROBA_COLUMNS].to_numpy() if proba is None else proba)
    pred = frame["y_pred"].to_numpy() if proba is None else proba
    return float(np.mean(np.abs(pred - y)))


# --------------------------------------------------------------------- frames


@pytest.mark.parametrize("name", NAMES)
def test_shapes_columns_and_ids(simulated, name):
    spec = SPECS[name]
    reference, analysis, targets, *_ = sim(simulated, name)
    features = spec.module.FEATURES
    assert list(reference.columns) == ["id", "timestamp", *features, spec.target, *spec.outputs]
    assert list(analysis.columns) == ["id", "timestamp", *features, *spec.outputs]
    assert list(targets.columns) == ["id", spec.target]
    assert reference.shape[0] == analysis.shape[0] == targets.shape[0] == spec.n

    ids = np.concatenate([reference["id"].to_numpy(), analysis["id"].to_numpy()])
    assert len(np.unique(ids)) == len(ids)
    np.testing.assert_array_equal(targets["id"].to_numpy(), analysis["id"].to_numpy())


@pytest.mark.parametrize("name", NAMES)
def test_dtypes(simulated, name):
    spec = SPECS[name]
    reference, analysis, targets, *_ = sim(simulated, name)
    for frame in (reference, analysis, targets):
        for column in frame.columns:
            dtype = frame[column].dtype
            if column == "timestamp":
                assert pd.api.types.is_datetime64_any_dtype(dtype)
            elif column in spec.ints:
                assert pd.api.types.is_integer_dtype(dtype), (column, dtype)
            elif column in spec.strings:
                assert pd.api.types.is_string_dtype(dtype), (column, dtype)
                assert not pd.api.types.is_numeric_dtype(dtype)
            else:
                assert pd.api.types.is_float_dtype(dtype), (column, dtype)
    if name == "house_prices":
        assert (reference["price"] > 0).all() and (targets["price"] > 0).all()
    if name == "credit":
        assert set(np.unique(reference["defaulted"])) == {0, 1}
        assert 0.10 <= reference["defaulted"].mean() <= 0.20


@pytest.mark.parametrize("name", NAMES)
def test_timestamps(simulated, name):
    reference, analysis, *_ = sim(simulated, name)
    for frame in (reference, analysis):
        assert (np.diff(frame["timestamp"].to_numpy()) > np.timedelta64(0, "s")).all()
    assert reference["timestamp"].iloc[0] >= pd.Timestamp("2024-01-01")
    assert reference["timestamp"].iloc[-1] < analysis["timestamp"].iloc[0]
    first, second = halves(analysis)
    assert first["timestamp"].iloc[-1] < DRIFT_START <= second["timestamp"].iloc[0]


@pytest.mark.parametrize("name", NAMES)
def test_model_outputs(simulated, name):
    reference, analysis, *_ = sim(simulated, name)
    for frame in (reference, analysis):
        if name == "credit":
            proba = frame["y_pred_proba"].to_numpy()
            assert np.isfinite(proba).all() and (proba > 0).all() and (proba < 1).all()
            assert set(np.unique(frame["y_pred"])) == {0, 1}
            # y_pred is a threshold on the probability
            assert proba[frame["y_pred"] == 0].max() < proba[frame["y_pred"] == 1].min()
        elif name == "churn":
            proba = frame[churn.PROBA_COLUMNS].to_numpy()
            assert np.isfinite(proba).all() and (proba > 0).all() and (proba < 1).all()
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
            expected = np.asarray(churn.CLASSES, dtype=object)[proba.argmax(axis=1)]
            np.testing.assert_array_equal(frame["y_pred"].to_numpy(dtype=object), expected)
        else:
            assert np.isfinite(frame["y_pred"]).all() and (frame["y_pred"] > 0).all()
    if name == "credit":  # threshold flags about the default rate
        assert abs(reference["y_pred"].mean() - reference["defaulted"].mean()) < 0.02
    if name == "churn":
        assert set(reference["churn"]) == set(churn.CLASSES)


# ------------------------------------------------- determinism, sizes


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(simulated, name):
    """Speed is measured by benchmarks/datasets.py, not here."""
    frames = SPECS[name].loader(seed=0)
    for got, expected in zip(frames, sim(simulated, name)[:3], strict=True):
        pd.testing.assert_frame_equal(got, expected)


def test_seed_and_sizes_are_honoured(simulated):
    reference, analysis, targets = datasets.load_synthetic_house_prices(
        seed=1, n_reference=1_000, n_analysis=1_001
    )
    assert (len(reference), len(analysis), len(targets)) == (1_000, 1_001, 1_001)
    first, second = halves(analysis)
    assert len(first) == 500 and first["timestamp"].iloc[-1] < DRIFT_START
    assert second["timestamp"].iloc[0] >= DRIFT_START
    assert second["energy_kwh_m2"].isna().any() and not first["energy_kwh_m2"].isna().any()
    seed0 = sim(simulated, "house_prices")[0]
    assert not np.array_equal(reference["area_m2"], seed0["area_m2"].iloc[:1_000])


@pytest.mark.parametrize("loader", [datasets.load_synthetic_credit, datasets.load_synthetic_churn])
@pytest.mark.parametrize("sizes", [(0, 10), (10, 1), (10.0, 10)])
def test_bad_sizes_raise(loader, sizes):
    with pytest.raises(InvalidConfiguration):
        loader(n_reference=sizes[0], n_analysis=sizes[1])


# ------------------------------------------------------------------- stories


def _numeric_unchanged(a: pd.Series, b: pd.Series) -> float:
    return stats.ks_2samp(a.dropna().to_numpy(), b.dropna().to_numpy()).statistic


def _shares(values: pd.Series, categories: list[str]) -> np.ndarray:
    counts = values.value_counts()
    shares = np.array([counts.get(c, 0) for c in categories], dtype=np.float64)
    return shares / shares.sum()


@pytest.mark.parametrize("name", NAMES)
def test_first_half_is_the_reference(simulated, name):
    spec = SPECS[name]
    reference, analysis, *_ = sim(simulated, name)
    first, _ = halves(analysis)
    assert not first.isna().any().any() and not reference.isna().any().any()
    for column in spec.module.FEATURES:
        if column in spec.module.CATEGORIES:
            cats = spec.module.CATEGORIES[column]
            assert set(first[column]) == set(reference[column]) == set(cats)
            diff = np.abs(_shares(first[column], cats) - _shares(reference[column], cats)).max()
            assert diff < 0.02, column
        else:
            assert _numeric_unchanged(reference[column], first[column]) < 0.03, column


@pytest.mark.parametrize("name", NAMES)
def test_second_half_changes_only_what_the_story_says(simulated, name):
    spec = SPECS[name]
    reference, analysis, *_ = sim(simulated, name)
    _, second = halves(analysis)
    for column in spec.module.FEATURES:
        if column in spec.shifted or column == spec.virtual:
            ks = stats.ks_2samp(reference[column], second[column])
            assert ks.statistic > 0.1 and ks.pvalue < 1e-12, column
        elif column in spec.module.CATEGORIES:  # old categories keep their shares
            cats = spec.module.CATEGORIES[column]
            old = second[column][second[column].isin(cats)]
            diff = np.abs(_shares(old, cats) - _shares(reference[column], cats)).max()
            assert diff < 0.02, column
        else:  # the column with new NaN keeps the distribution of its values
            assert _numeric_unchanged(reference[column], second[column]) < 0.03, column


@pytest.mark.parametrize("name", NAMES)
def test_missing_values_only_in_second_half(simulated, name):
    spec = SPECS[name]
    reference, analysis, *_ = sim(simulated, name)
    first, second = halves(analysis)
    assert not reference.isna().any().any() and not first.isna().any().any()
    assert 0.12 < second[spec.missing].isna().mean() < 0.18
    others = second.drop(columns=[spec.missing])
    assert not others.isna().any().any()


@pytest.mark.parametrize("name", NAMES)
def test_new_category_only_in_second_half(simulated, name):
    spec = SPECS[name]
    reference, analysis, *_ = sim(simulated, name)
    first, second = halves(analysis)
    column, value = spec.new_category
    assert value not in set(reference[column]) and value not in set(first[column])
    assert 0.08 < (second[column] == value).mean() < 0.12
    for other in spec.module.CATEGORIES:
        if other != column:
            assert set(second[other]) == set(reference[other])


@pytest.mark.parametrize("name", NAMES)
def test_virtual_drift_moves_but_does_not_hurt(simulated, name):
    spec = SPECS[name]
    reference, analysis, targets, model, *_ = sim(simulated, name)
    _, second = halves(analysis)
    y = halves(targets)[1][spec.target].to_numpy()
    ref_values = reference[spec.virtual].to_numpy(dtype=np.float64)
    moved = (second[spec.virtual].mean() - ref_values.mean()) / ref_values.std()
    assert 0.8 < moved < 1.6
    assert stats.ks_2samp(ref_values, second[spec.virtual]).pvalue < 1e-12

    # Re-score the same rows with the feature drawn from the reference instead.
    undrifted = second.copy()
    undrifted[spec.virtual] = np.random.default_rng(7).choice(ref_values, len(second)).astype(
        reference[spec.virtual].dtype
    )
    X = _common.model_frame(undrifted, spec.module.FEATURES, spec.module.CATEGORIES)
    if name == "credit":
        counterfactual = metric(name, second, y, model.predict_proba(X)[:, 1])
    elif name == "churn":
        counterfactual = metric(name, second, y, model.predict_proba(X))
    else:
        counterfactual = metric(name, second, y, model.predict(X))
    actual = metric(name, second, y)
    if name == "house_prices":  # MAE: relative change
        assert abs(actual - counterfactual) / counterfactual < 0.01
    else:
        assert abs(actual - counterfactual) < 0.01


@pytest.mark.parametrize("name", ["credit", "churn"])
def test_auc_drops_in_every_second_half_chunk(simulated, name):
    spec = SPECS[name]
    reference, analysis, targets, *_ = sim(simulated, name)
    reference_auc = metric(name, reference, reference[spec.target].to_numpy())
    y = targets[spec.target].to_numpy()
    drops = np.array(
        [reference_auc - metric(name, analysis.iloc[s], y[s]) for s in chunks(spec.n, spec.chunk)]
    )
    half = len(drops) // 2
    assert len(drops) == 10
    assert (drops[:half] < 0.02).all(), drops
    assert (np.abs(drops[:half]) < 0.03).all(), drops
    required = 0.05 if name == "credit" else 0.03
    assert (drops[half:] >= required).all(), drops


def test_credit_shift_is_covariate_only(simulated):
    """P(y | x) is unchanged, so the calibrated model still gets the default rate
    right in the second half, although that rate moved."""
    _, analysis, targets, *_ = sim(simulated, "credit")
    for part, labels in zip(halves(analysis), halves(targets), strict=True):
        assert abs(part["y_pred_proba"].mean() - labels["defaulted"].mean()) < 0.015


def test_house_prices_overpricing(simulated):
    reference, analysis, targets, *_ = sim(simulated, "house_prices")
    ref_error = reference["y_pred"].to_numpy() - reference["price"].to_numpy()
    ref_mae = np.abs(ref_error).mean()
    assert abs(ref_error.mean()) < 0.01 * reference["price"].mean()

    error = analysis["y_pred"].to_numpy() - targets["price"].to_numpy()
    price = targets["price"].to_numpy()
    for k, s in enumerate(chunks(30_000, 3_000)):
        bias, mae = error[s].mean() / price[s].mean(), np.abs(error[s]).mean()
        if k < 5:
            assert abs(bias) < 0.01 and abs(mae / ref_mae - 1) < 0.1, (k, bias, mae)
        else:
            assert bias > 0.08 and mae > 1.3 * ref_mae, (k, bias, mae)
    first, second = halves(pd.DataFrame({"e": error, "p": price}))
    assert abs(first["e"].mean()) < 0.01 * first["p"].mean()
    assert second["e"].mean() > 0.05 * second["p"].mean()
