"""DLE: with categorical features handled natively, the estimated MAE/RMSE track the realized
values on data where the loss depends on a category and a continuous feature; reference
estimates are out of fold; RMSE is the root of the mean estimated squared error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import seismo

CHUNK = 2_000


def _frame(n: int, seed: int, noisy_share: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    segment = np.where(rng.random(n) < noisy_share, "noisy", rng.choice(["calm", "steady"], n))
    scale = np.where(segment == "noisy", 4.0, 1.0) * (1.0 + np.abs(x))
    truth = 10.0 + 3.0 * x
    return pd.DataFrame({"x": x, "segment": segment, "pred": truth, "y": truth + rng.normal(0, scale)})


@pytest.fixture(scope="module")
def fitted():
    reference = _frame(16_000, 0, noisy_share=0.2)
    dle = seismo.DLE(y_pred="pred", y_true="y", features=["x", "segment"], chunk_size=CHUNK,
                     metrics=["mae", "rmse"], hyperparameters={"n_estimators": 120}, n_splits=3, n_resamples=20)
    return dle.fit(reference)


def test_categorical_feature_is_modelled_natively(fitted):
    assert fitted.schema_.kind("segment") == "categorical"
    assert "segment" in fitted.loss_model_.categorical


def test_estimates_follow_a_shift_into_the_noisy_segment(fitted):
    analysis = pd.concat([_frame(6_000, 1, 0.2), _frame(6_000, 2, 0.7)], ignore_index=True)
    df = fitted.estimate(analysis).filter(period="analysis").to_df()
    for metric in ("mae", "rmse"):
        rows = df[df["metric"] == metric]
        rel = (rows["value"] - rows["realized"]).abs() / rows["realized"]
        assert rel.max() < 0.08, (metric, rel.max())
        calm, noisy = rows["realized"].iloc[:3].mean(), rows["realized"].iloc[3:].mean()
        assert noisy > 1.5 * calm  # the shift is large ...
        assert rows["alert"].iloc[3:].all() and not rows["alert"].iloc[:3].any()  # ... and the estimate alerts


def test_reference_estimates_are_out_of_fold(fitted):
    ref = fitted.reference_rows_
    mae = np.array([r["value"] for r in ref if r["metric"] == "mae"])
    realized = np.array([r["realized"] for r in ref if r["metric"] == "mae"])
    in_sample = fitted.loss_model_.predict(fitted.fitted_tracker_.tracker.inputs(
        seismo.data.frame.load_frame(_frame(16_000, 0, 0.2), None, None, "reference")))["abs_error"]
    oof = fitted.fitted_tracker_.tracker.reference_losses["abs_error"]
    assert not np.allclose(in_sample, oof)
    assert np.abs(mae - realized).mean() / realized.mean() < 0.05


def test_rmse_is_root_of_mean_estimated_squared_error(fitted):
    analysis = _frame(4_000, 3, 0.2)
    df = fitted.estimate(analysis).filter(period="analysis").to_df()
    tracker = fitted.fitted_tracker_.tracker
    losses = tracker.encode(seismo.data.frame.load_frame(analysis, None, None, "analysis"))
    first = df[(df["chunk_index"] == 0)].set_index("metric")["value"]
    assert first["rmse"] == pytest.approx(np.sqrt(losses["sq_error"][:CHUNK].mean()), rel=1e-9)
    assert first["mae"] == pytest.approx(losses["abs_error"][:CHUNK].mean(), rel=1e-9)


def test_band_covers_realized_where_losses_are_larger_than_on_the_reference(fitted):
    """Heteroscedastic covariate shift: 20 chunks with 90% of rows in the noisy segment (the
    reference has 20%), where the per-row loss and so the chunk metric vary about 2.5 times more.
    With the reference's sampling error the ±3 SE band covered 70% of the MAE chunks (mean
    |realized - estimate| = 2.7 SE); scaled to the chunk's estimated loss level it covers them all
    (1.2 SE). Pinned with margin: coverage >= 90%, mean |z| <= 1.6, for mae and rmse."""
    analysis = pd.concat([_frame(CHUNK, seed, 0.9) for seed in range(10, 30)], ignore_index=True)
    df = fitted.estimate(analysis).filter(period="analysis").to_df()
    reference_se = {r["metric"]: r["sampling_error"] for r in fitted.reference_rows_}
    for metric in ("mae", "rmse"):
        rows = df[df["metric"] == metric]
        inside = (rows["realized"] >= rows["lower_confidence"]) & (rows["realized"] <= rows["upper_confidence"])
        z = (rows["realized"] - rows["value"]).abs() / rows["sampling_error"]
        assert inside.mean() >= 0.9 and z.mean() <= 1.6, (metric, inside.mean(), z.mean())
        assert (rows["sampling_error"] > 1.5 * reference_se[metric]).all()  # widened with the loss level
        assert np.allclose(rows["upper_confidence"] - rows["value"], 3 * rows["sampling_error"], rtol=1e-12)


def test_sampling_error_is_the_reference_one_at_or_below_the_reference_loss_level(fitted):
    """A chunk with fewer noisy rows than the reference keeps the reference's sampling error."""
    df = fitted.estimate(_frame(2 * CHUNK, 40, 0.05)).filter(period="analysis").to_df()
    reference_se = {r["metric"]: r["sampling_error"] for r in fitted.reference_rows_}
    for metric in ("mae", "rmse"):
        rows = df[df["metric"] == metric]
        assert np.allclose(rows["sampling_error"], reference_se[metric], rtol=1e-12)
