"""Pins seismo.datasets.load_synthetic_campaign (seed 0, default sizes): the frames and
the segment story told in seismo.datasets.campaign's docstring, checked on the labels
with scikit-learn.

* frames: shapes, exact column lists, dtypes, unique ids, increasing timestamps,
  model outputs (y_pred a threshold on y_pred_proba flagging about the default rate),
  determinism, the seed and size keywords, bad sizes refused;
* shares: the campaign's rows are all east x web thin-file applicants from 2024-10-01
  on; their share of east's rows grows from 0 to about 0.6 (October about 0.1,
  December about 0.5), east's share of all rows from 0.20 to about 0.34 in December;
* performance: the campaign's rows and segment east x web lose at least 0.10 of
  realized accuracy and ROC AUC against the reference; every other region keeps both
  within noise; the overall ROC AUC per 5,000 rows falls only by a few points;
* covariate shift only: the model stays calibrated on the campaign's rows, so the
  label-free expected accuracy of the segment tracks the realized one; the rows the
  campaign did not bring are drawn like the reference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, roc_auc_score

import seismo.datasets as datasets
from seismo.datasets import campaign
from seismo.errors import InvalidConfiguration

N = 50_000
DRIFT_START = pd.Timestamp("2024-10-01")
INTS = ["id", "age", "n_open_loans", "defaulted", "y_pred"]
STRINGS = ["employment_type", "region", "channel"]
OUTPUTS = ["y_pred_proba", "y_pred"]


@pytest.fixture(scope="module")
def sim() -> tuple:
    """reference, analysis, targets, model, threshold, campaign mask (seed 0)."""
    return campaign._simulate(0)


def auc(frame: pd.DataFrame, y: np.ndarray) -> float:
    return float(roc_auc_score(y, frame["y_pred_proba"]))


def acc(frame: pd.DataFrame, y: np.ndarray) -> float:
    return float(accuracy_score(y, frame["y_pred"]))


def expected_acc(frame: pd.DataFrame) -> float:
    """Accuracy a calibrated estimator expects from the probabilities alone (no labels)."""
    p = frame["y_pred_proba"].to_numpy()
    return float(np.mean(np.where(frame["y_pred"].to_numpy() == 1, p, 1.0 - p)))


def month(frame: pd.DataFrame, m: int) -> np.ndarray:
    return (frame["timestamp"].dt.month == m).to_numpy()


def east_web(frame: pd.DataFrame) -> np.ndarray:
    return ((frame["region"] == "east") & (frame["channel"] == "web")).to_numpy()


def second_half(n: int) -> np.ndarray:
    return np.arange(n) >= n // 2


# --------------------------------------------------------------------- frames


def test_columns_dtypes_and_ids(sim):
    reference, analysis, targets, *_ = sim
    features = campaign.FEATURES
    assert features[-2:] == ["region", "channel"]
    assert list(reference.columns) == ["id", "timestamp", *features, "defaulted", *OUTPUTS]
    assert list(analysis.columns) == ["id", "timestamp", *features, *OUTPUTS]
    assert list(targets.columns) == ["id", "defaulted"]
    assert len(reference) == len(analysis) == len(targets) == N
    for frame in (reference, analysis, targets):
        assert not frame.isna().any().any()
        for column in frame.columns:
            dtype = frame[column].dtype
            if column == "timestamp":
                assert pd.api.types.is_datetime64_any_dtype(dtype)
            elif column in INTS:
                assert pd.api.types.is_integer_dtype(dtype), (column, dtype)
            elif column in STRINGS:
                assert pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_numeric_dtype(dtype)
            else:
                assert pd.api.types.is_float_dtype(dtype), (column, dtype)
    ids = np.concatenate([reference["id"].to_numpy(), analysis["id"].to_numpy()])
    np.testing.assert_array_equal(ids, np.arange(2 * N))
    np.testing.assert_array_equal(targets["id"].to_numpy(), analysis["id"].to_numpy())
    for column, cats in campaign.CATEGORIES.items():
        assert set(reference[column]) == set(analysis[column]) == set(cats), column


def test_timestamps(sim):
    reference, analysis, *_ = sim
    for frame in (reference, analysis):
        assert (np.diff(frame["timestamp"].to_numpy()) > np.timedelta64(0, "s")).all()
    assert reference["timestamp"].iloc[0] >= pd.Timestamp("2024-01-01")
    assert reference["timestamp"].iloc[-1] < pd.Timestamp("2024-07-01") <= analysis["timestamp"].iloc[0]
    assert analysis["timestamp"].iloc[N // 2 - 1] < DRIFT_START <= analysis["timestamp"].iloc[N // 2]
    assert analysis["timestamp"].iloc[-1] < pd.Timestamp("2025-01-01")


def test_model_outputs(sim):
    reference, analysis, _, _, threshold, _ = sim
    assert 0.35 < threshold < 0.39
    for frame in (reference, analysis):
        proba = frame["y_pred_proba"].to_numpy()
        assert np.isfinite(proba).all() and (proba > 0).all() and (proba < 1).all()
        np.testing.assert_array_equal(frame["y_pred"].to_numpy(), (proba >= threshold).astype(np.int64))
    assert 0.16 < reference["defaulted"].mean() < 0.19
    assert abs(reference["y_pred"].mean() - reference["defaulted"].mean()) < 0.02


def test_deterministic_and_keywords(sim):
    frames = datasets.load_synthetic_campaign(seed=0)
    for got, expected in zip(frames, sim[:3], strict=True):
        pd.testing.assert_frame_equal(got, expected)

    reference, analysis, targets = datasets.load_synthetic_campaign(seed=1, n_reference=2_000, n_analysis=3_001)
    assert (len(reference), len(analysis), len(targets)) == (2_000, 3_001, 3_001)
    assert analysis["timestamp"].iloc[1_499] < DRIFT_START <= analysis["timestamp"].iloc[1_500]
    assert not np.array_equal(reference["income"], sim[0]["income"].iloc[:2_000])


@pytest.mark.parametrize("sizes", [(0, 10), (10, 1), (10.0, 10)])
def test_bad_sizes_raise(sizes):
    with pytest.raises(InvalidConfiguration):
        datasets.load_synthetic_campaign(n_reference=sizes[0], n_analysis=sizes[1])


# --------------------------------------------------------------------- shares


def test_campaign_rows_are_east_web_thin_files_from_october(sim):
    reference, analysis, _, _, _, rows = sim
    assert not rows[: N // 2].any()
    assert 2_000 < rows.sum() < 2_600  # 2,301
    brought = analysis[rows]
    assert set(brought["region"]) == {"east"} and set(brought["channel"]) == {"web"}
    assert brought["age"].max() <= 30 and brought["credit_history_years"].mean() < 1.0
    assert brought["n_open_loans"].mean() < 0.4
    # thin files were rare before: about 5% of reference applicants, in every region
    thin = ((reference["age"] <= 30) & (reference["credit_history_years"] < 2.0)).to_numpy()
    assert 0.05 < thin.mean() < 0.07
    assert (brought["credit_history_years"] < 2.0).mean() > 0.9


def test_campaign_share_of_east_and_east_share_grow(sim):
    reference, analysis, _, _, _, rows = sim
    east = (analysis["region"] == "east").to_numpy()
    assert abs((reference["region"] == "east").mean() - 0.20) < 0.01
    of_east = {m: rows[month(analysis, m) & east].mean() for m in range(7, 13)}
    east_share = {m: east[month(analysis, m)].mean() for m in range(7, 13)}
    for m in (7, 8, 9):
        assert of_east[m] == 0.0 and abs(east_share[m] - 0.20) < 0.015, m
    assert 0.07 < of_east[10] < 0.13  # 0.095
    assert 0.27 < of_east[11] < 0.35  # 0.307
    assert 0.46 < of_east[12] < 0.56  # 0.508
    assert 0.55 < rows[-1_000:][east[-1_000:]].mean() < 0.67  # 0.617: about 0.6 at year end
    assert east_share[10] < east_share[11] < east_share[12]
    assert 0.31 < east_share[12] < 0.37  # 0.344
    assert 0.35 < east[-1_000:].mean() < 0.41  # 0.381
    # the formula the docstring gives: 0.6 of east's rows on the last day
    np.testing.assert_allclose(
        campaign.campaign_share(np.array(["2024-10-01", "2025-01-01"], dtype="datetime64[ns]")),
        [0.0, 0.12 / 0.52],
    )


# ---------------------------------------------------------------- performance


def test_campaign_and_east_web_segment_perform_worse(sim):
    reference, analysis, targets, _, _, rows = sim
    y, y_ref = targets["defaulted"].to_numpy(), reference["defaulted"].to_numpy()
    ref_auc, ref_acc = auc(reference, y_ref), acc(reference, y_ref)
    assert 0.87 < ref_auc < 0.90 and 0.85 < ref_acc < 0.88  # 0.882, 0.860

    brought = analysis[rows]
    assert acc(brought, y[rows]) < ref_acc - 0.20  # 0.624
    assert auc(brought, y[rows]) < ref_auc - 0.20  # 0.641

    ref_segment = east_web(reference)
    segment_ref_acc = acc(reference[ref_segment], y_ref[ref_segment])
    segment_ref_auc = auc(reference[ref_segment], y_ref[ref_segment])
    december = month(analysis, 12) & east_web(analysis)
    assert acc(analysis[december], y[december]) < segment_ref_acc - 0.10  # 0.680 vs 0.860
    assert auc(analysis[december], y[december]) < segment_ref_auc - 0.10  # 0.720 vs 0.880
    july = month(analysis, 7) & east_web(analysis)
    assert abs(acc(analysis[july], y[july]) - segment_ref_acc) < 0.03

    east_h2 = second_half(N) & (analysis["region"] == "east").to_numpy()
    assert acc(analysis[east_h2], y[east_h2]) < ref_acc - 0.05  # 0.778


@pytest.mark.parametrize("region", ["north", "south", "west", "central"])
def test_other_regions_unchanged(sim, region):
    reference, analysis, targets, *_ = sim
    y, y_ref = targets["defaulted"].to_numpy(), reference["defaulted"].to_numpy()
    ref_rows = (reference["region"] == region).to_numpy()
    rows = second_half(N) & (analysis["region"] == region).to_numpy()
    assert abs(auc(analysis[rows], y[rows]) - auc(reference[ref_rows], y_ref[ref_rows])) < 0.02
    assert abs(acc(analysis[rows], y[rows]) - acc(reference[ref_rows], y_ref[ref_rows])) < 0.015


def test_overall_auc_falls_only_slowly(sim):
    reference, analysis, targets, *_ = sim
    y = targets["defaulted"].to_numpy()
    ref_auc = auc(reference, reference["defaulted"].to_numpy())
    drops = np.array([ref_auc - auc(analysis.iloc[s : s + 5_000], y[s : s + 5_000]) for s in range(0, N, 5_000)])
    assert (np.abs(drops[:6]) < 0.01).all(), drops  # up to the first days of the campaign
    assert (drops[6:] > 0.01).all() and (drops[6:] < 0.04).all(), drops
    assert 0.015 < drops[-1] < 0.04, drops  # 0.025


# -------------------------------------------------------- covariate shift only


def test_model_stays_calibrated_so_labels_are_not_needed(sim):
    reference, analysis, targets, _, _, rows = sim
    y = targets["defaulted"].to_numpy()
    brought = analysis[rows]
    assert abs(brought["y_pred_proba"].mean() - y[rows].mean()) < 0.02  # 0.346 vs 0.357
    assert abs(brought["y_pred_proba"].mean() - 0.36) < 0.03  # close to the threshold
    for half in (~second_half(N), second_half(N)):
        assert abs(analysis["y_pred_proba"][half].mean() - y[half].mean()) < 0.01
    december = month(analysis, 12) & east_web(analysis)
    ref_segment = east_web(reference)
    # the label-free expectation falls as far as the realized accuracy does
    assert expected_acc(reference[ref_segment]) - expected_acc(analysis[december]) > 0.10
    assert abs(expected_acc(analysis[december]) - acc(analysis[december], y[december])) < 0.02


def test_rows_not_brought_by_the_campaign_are_drawn_like_the_reference(sim):
    reference, analysis, _, _, _, rows = sim
    usual = analysis[second_half(N) & ~rows]
    for column in campaign.FEATURES:
        if column in campaign.CATEGORIES:
            cats = campaign.CATEGORIES[column]
            diff = np.abs(
                usual[column].value_counts(normalize=True).reindex(cats).to_numpy()
                - reference[column].value_counts(normalize=True).reindex(cats).to_numpy()
            )
            assert diff.max() < 0.015, column
        else:
            assert stats.ks_2samp(reference[column], usual[column]).statistic < 0.02, column
    first = analysis.iloc[: N // 2]
    for column in ("income", "age", "credit_history_years"):
        assert stats.ks_2samp(reference[column], first[column]).statistic < 0.02, column
