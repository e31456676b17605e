"""LossModel (direct loss estimation) pins: row_losses equals a brute-force per-row
computation; on heteroscedastic synthetic data the mean predicted abs / squared error
on a fresh sample is within a few percent of the realized MAE / MSE, and follows a
covariate shift into the high-noise region; categorical features are split on natively
(per-category losses recovered, string columns = pandas categories, unseen categories
are missing, not a crash); out-of-fold reference losses are genuinely out of fold and
unbiased; hyperparameter overrides reach the booster; bad arguments raise seismo errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from seismo.errors import ColumnNotFound, InvalidConfiguration, InvalidData, NotFittedError
from seismo.performance.loss_model import LossModel, row_losses

NOISE = {"a": 0.5, "b": 1.0, "c": 2.0}  # noise scale multiplier per category


def _heteroscedastic(n: int, seed: int, shift: bool = False):
    """y = f(x) + noise whose scale grows with x1 and depends on the category.

    The monitored model misses part of f, so its loss has a bias part too. ``shift``
    moves x1 towards 1, the high-noise region (realized MAE rises by ~40%).
    """
    rng = np.random.default_rng(seed)
    x1 = rng.beta(4.0, 1.5, n) if shift else rng.uniform(0.0, 1.0, n)
    x2 = rng.normal(0.0, 1.0, n)
    cat = rng.choice(list(NOISE), n, p=[0.5, 0.3, 0.2])
    scale = (0.2 + 1.5 * x1**2) * np.array([NOISE[c] for c in NOISE])[pd.Categorical(cat, list(NOISE)).codes]
    y = 3.0 * x1 + np.sin(3.0 * x2) + rng.normal(0.0, 1.0, n) * scale
    pred = 3.0 * x1 + 0.8 * np.sin(3.0 * x2)
    X = pd.DataFrame({"x1": x1, "x2": x2, "cat": pd.Categorical(cat, categories=list(NOISE)), "y_pred": pred})
    return X, y, pred


@pytest.fixture(scope="module")
def reference():
    return _heteroscedastic(20_000, seed=0)


@pytest.fixture(scope="module")
def default_model(reference):
    X, y, pred = reference
    return LossModel(["abs_error", "sq_error"], n_splits=0).fit(X, y, pred)


@pytest.fixture(scope="module")
def oof_model(reference):
    X, y, pred = reference
    return LossModel(["abs_error", "sq_error"], {"n_estimators": 80}, n_splits=3, random_state=1).fit(X, y, pred)


def test_row_losses_equal_brute_force():
    rng = np.random.default_rng(5)
    y = np.concatenate([rng.lognormal(0.0, 1.0, 200), [0.0, 1e-300]])
    pred = np.concatenate([rng.lognormal(0.0, 1.0, 200), [2.0, 0.5]])
    out = row_losses(y, pred, with_log=True)
    eps = np.finfo(np.float64).eps
    for i in range(y.size):
        err = abs(float(pred[i]) - float(y[i]))
        assert out["abs_error"][i] == pytest.approx(err, rel=1e-15)
        assert out["abs_pct_error"][i] == pytest.approx(err / max(abs(float(y[i])), eps), rel=1e-15)
        assert out["sq_error"][i] == pytest.approx(err**2, rel=1e-15)
        # np.log1p (SIMD on some CPUs) and math.log1p may differ by a few ulp; where y and pred are
        # close (|difference| 7.7e-4 here) that is ~1e-12 relative in the square, but tiny in absolute
        assert out["sq_log_error"][i] == pytest.approx((math.log1p(y[i]) - math.log1p(pred[i])) ** 2, rel=1e-12,
                                                       abs=1e-15)
    assert set(row_losses(y, pred, with_log=False)) == {"abs_error", "abs_pct_error", "sq_error"}
    with pytest.raises(InvalidData, match="y_pred"):
        row_losses(np.ones(3), np.array([0.0, -1.0, 2.0]), with_log=True)


def test_estimates_match_realized_loss_and_follow_covariate_shift(default_model):
    X, y, pred = _heteroscedastic(50_000, seed=11)
    est, real = default_model.predict(X), row_losses(y, pred, with_log=False)
    assert est["abs_error"].mean() == pytest.approx(real["abs_error"].mean(), rel=0.03)
    assert est["sq_error"].mean() == pytest.approx(real["sq_error"].mean(), rel=0.07)
    assert (est["abs_error"] >= 0).all() and (est["sq_error"] >= 0).all()

    Xs, ys, preds = _heteroscedastic(50_000, seed=12, shift=True)
    est_s, real_s = default_model.predict(Xs), row_losses(ys, preds, with_log=False)
    assert real_s["abs_error"].mean() > 1.3 * real["abs_error"].mean()  # the shift hurts the model
    assert est_s["abs_error"].mean() == pytest.approx(real_s["abs_error"].mean(), rel=0.10)
    assert est_s["sq_error"].mean() == pytest.approx(real_s["sq_error"].mean(), rel=0.10)
    # RMSE as the calculator finishes it: sqrt of the mean predicted squared error
    assert np.sqrt(est_s["sq_error"].mean()) == pytest.approx(np.sqrt(real_s["sq_error"].mean()), rel=0.05)


def _category_only(n: int, seed: int, unseen: bool = False):
    """The loss depends on the category alone (8 noise levels); x is pure noise."""
    rng = np.random.default_rng(seed)
    names = [f"k{i}" for i in range(8)]
    scale = np.array([1.4, 0.2, 3.0, 0.6, 2.2, 1.0, 2.6, 1.8])  # not monotone in the category codes
    idx = rng.integers(0, 8, n)
    cat = np.array(names, dtype=object)[idx]
    if unseen:
        cat[: n // 10] = "never-seen"
        cat[n // 10 : n // 10 + 5] = None
    y = rng.normal(0.0, 1.0, n) * scale[idx]
    X = pd.DataFrame({"x": rng.normal(0.0, 1.0, n), "cat": cat, "y_pred": np.zeros(n)})
    return X, y, np.zeros(n), idx, scale


def test_categorical_features_are_native_and_unseen_categories_are_missing():
    X, y, pred, idx, scale = _category_only(12_000, seed=3)
    model = LossModel(["abs_error"], n_splits=0, categorical=["cat"]).fit(X, y, pred)
    tree_info = model.boosters_["abs_error"].dump_model()["tree_info"]
    assert "'decision_type': '=='" in str(tree_info)  # categorical splits, not one-hot or ordinal

    est = model.predict(X)["abs_error"]
    truth = scale * np.sqrt(2.0 / np.pi)  # E|N(0, s^2)| per category
    per_cat = np.bincount(idx, weights=est, minlength=8) / np.bincount(idx, minlength=8)
    np.testing.assert_allclose(per_cat, truth, rtol=0.06)

    # a pandas 'category' column with the same (sorted) categories is the same model
    Xc = X.assign(cat=pd.Categorical(X["cat"]))
    same = LossModel(["abs_error"], n_splits=0).fit(Xc, y, pred)
    np.testing.assert_array_equal(same.predict(Xc)["abs_error"], est)

    Xu, *_ = _category_only(2_000, seed=4, unseen=True)
    out = model.predict(Xu)["abs_error"]
    assert np.isfinite(out).all() and (out >= 0).all()
    missing = Xu.assign(cat=None).iloc[:1]  # unseen and missing categories are treated alike
    np.testing.assert_array_equal(model.predict(Xu.iloc[:1])["abs_error"], model.predict(missing)["abs_error"])


def test_out_of_fold_losses_are_out_of_fold_and_unbiased(reference, oof_model):
    X, y, pred = reference
    real = row_losses(y, pred, with_log=False)
    in_sample = oof_model.predict(X)
    for loss in ("abs_error", "sq_error"):
        oof = oof_model.oof_losses_[loss]
        assert oof.shape == (len(X),) and (oof >= 0).all()
        assert not np.allclose(oof, in_sample[loss], rtol=1e-3)
        assert oof.mean() == pytest.approx(real[loss].mean(), rel=0.03)
        # in-sample fits have seen each row's own loss: they correlate more with it
        assert np.corrcoef(in_sample[loss], real[loss])[0, 1] > np.corrcoef(oof, real[loss])[0, 1]
    no_oof = LossModel(["abs_error"], {"n_estimators": 20}, n_splits=None).fit(X, y, pred)
    np.testing.assert_array_equal(no_oof.oof_losses_["abs_error"], no_oof.predict(X)["abs_error"])


def test_hyperparameter_overrides_reach_the_booster(reference):
    X, y, pred = reference
    model = LossModel(["sq_error"], {"n_estimators": 7, "num_leaves": 4}, n_splits=0).fit(X[:3000], y[:3000],
                                                                                          pred[:3000])
    booster = model.boosters_["sq_error"]
    assert booster.num_trees() == 7
    assert max(tree["num_leaves"] for tree in booster.dump_model()["tree_info"]) <= 4
    assert model.params()["learning_rate"] == 0.05 and model.params()["random_state"] == 0


def test_bad_arguments_raise(reference):
    X, y, pred = reference
    X, y, pred = X[:200], y[:200], pred[:200]
    for losses in (["mae"], [], ["abs_error", "abs_error"]):
        with pytest.raises(InvalidConfiguration):
            LossModel(losses).fit(X, y, pred)
    with pytest.raises(InvalidConfiguration, match="n_splits"):
        LossModel(["abs_error"], n_splits=1).fit(X, y, pred)
    with pytest.raises(InvalidConfiguration, match="categorical"):
        LossModel(["abs_error"]).fit(X.assign(cat=X["cat"].astype(str)), y, pred)
    with pytest.raises(NotFittedError):
        LossModel(["abs_error"]).predict(X)
    model = LossModel(["abs_error"], {"n_estimators": 3}, n_splits=0).fit(X, y, pred)
    with pytest.raises(ColumnNotFound):
        model.predict(X.drop(columns="x2"))
