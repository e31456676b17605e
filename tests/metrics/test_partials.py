"""Partials are mergeable: any split of a chunk, merged in any order, finishes
to the metrics of the whole chunk (to 1e-9), for every registered metric.

Pinned properties: merge is associative and commutative and an empty partial
is its identity; the histogram is the per-bin soft positive / negative mass;
partials built on different classes or bins refuse to merge.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from seismo.errors import InvalidConfiguration, InvalidData
from seismo.metrics import (
    ClassificationPartial,
    ConfusionSums,
    LossSums,
    ScoreHistogram,
    bin_scores,
    get_metric,
    metrics_for,
)
from seismo.stats.binning import fine_points

TOL = 1e-9


def make_rows(seed: int, n_classes: int, n: int = 2000, soft: bool = False):
    """Rows and per-class points: (y_true_prob, y_pred, score_bins, n_bins, scored)."""
    rng = np.random.default_rng(seed)
    scored = [1] if n_classes == 2 else list(range(n_classes))
    ref = rng.dirichlet(np.ones(n_classes), size=8000)
    points = [fine_points(ref[:, c], max_points=5000, grid_range=(0.0, 1.0)) for c in scored]
    y = rng.integers(0, n_classes, size=n)
    probs = rng.dirichlet(np.ones(n_classes), size=n) + 0.5 * np.eye(n_classes)[y]
    probs /= probs.sum(axis=1, keepdims=True)
    y_true_prob = rng.dirichlet(np.ones(n_classes), size=n) if soft else np.eye(n_classes)[y]
    bins, n_bins = bin_scores(probs[:, scored], points)
    return y_true_prob, probs.argmax(axis=1), bins, n_bins, scored


def _split(rng: np.random.Generator, n: int, n_parts: int) -> list[np.ndarray]:
    """Random partition of row indices; the last part is always empty."""
    owner = rng.integers(0, n_parts, size=n)
    return [np.flatnonzero(owner == k) for k in range(n_parts)] + [np.empty(0, dtype=int)]


def _merge_shuffled(rng: np.random.Generator, parts: list) -> object:
    order = rng.permutation(len(parts))
    return functools.reduce(lambda a, b: a + b, [parts[i] for i in order])


def _finish_all(partial, problem_type: str, n_classes: int) -> dict:
    options = {
        "business_value": {"value_matrix": np.arange(n_classes**2.0).reshape(n_classes, -1) - 2},
    }
    out = {}
    for name in metrics_for(problem_type):
        value = get_metric(name, problem_type).finish(partial, **options.get(name, {}))
        if isinstance(value, dict):
            out.update({f"{name}.{k}": v for k, v in value.items()})
        else:
            out[name] = value
    return out


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key], abs=TOL, rel=TOL, nan_ok=True), key


@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("seed, n_classes", [(0, 2), (1, 3), (2, 5), (3, 2), (4, 5)])
def test_classification_split_merge_equals_whole(seed, n_classes, soft):
    y_true_prob, y_pred, bins, n_bins, scored = make_rows(seed, n_classes, soft=soft)
    problem = "binary" if n_classes == 2 else "multiclass"
    whole = ClassificationPartial.from_rows(y_true_prob, y_pred, bins, n_bins, scored)
    rng = np.random.default_rng(seed + 100)
    parts = [
        ClassificationPartial.from_rows(y_true_prob[idx], y_pred[idx], bins[idx], n_bins, scored)
        for idx in _split(rng, len(y_pred), n_parts=4)
    ]
    merged = _merge_shuffled(rng, parts)
    assert merged.n == whole.n
    _assert_same(_finish_all(merged, problem, n_classes), _finish_all(whole, problem, n_classes))

    a, b, c = parts[:3]
    left, right = (a + b) + c, a.merge(b.merge(c))
    np.testing.assert_allclose(left.confusion.matrix, right.confusion.matrix, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(left.scores.pos, right.scores.pos, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(left.scores.neg, right.scores.neg, rtol=TOL, atol=TOL)
    np.testing.assert_array_equal((a + parts[-1]).scores.pos, a.scores.pos)  # empty = identity


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regression_split_merge_equals_whole(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.lognormal(size=3000)
    y_pred = y_true + rng.normal(0, 0.3, size=3000).clip(-0.9)
    whole = LossSums.from_rows(y_true, y_pred, with_log=True)
    parts = [LossSums.from_rows(y_true[i], y_pred[i], with_log=True) for i in _split(rng, 3000, 5)]
    merged = _merge_shuffled(rng, parts)
    _assert_same(_finish_all(merged, "regression", 1), _finish_all(whole, "regression", 1))
    a, b, c = parts[:3]
    for field in ("n", "abs_error", "abs_pct_error", "sq_error", "sq_log_error"):
        assert getattr((a + b) + c, field) == pytest.approx(getattr(a + (b + c), field), rel=TOL)
    assert math.isnan((whole + LossSums.from_rows(y_true, y_pred)).sq_log_error)


def test_histogram_is_soft_mass_per_bin():
    rng = np.random.default_rng(5)
    y = rng.uniform(size=(500, 2))
    bins = np.column_stack([rng.integers(0, 7, 500), rng.integers(0, 4, 500)])
    hist = ScoreHistogram.from_rows(y, bins, [7, 4])
    assert hist.pos.shape == (2, 7)
    for c, width in enumerate((7, 4)):
        for b in range(width):
            assert hist.pos[c, b] == pytest.approx(y[bins[:, c] == b, c].sum(), abs=TOL)
            assert hist.neg[c, b] == pytest.approx((1 - y[bins[:, c] == b, c]).sum(), abs=TOL)
    assert hist.pos[1, 4:].sum() == 0.0  # padding of the narrower class
    np.testing.assert_array_equal(hist.finite_mask().sum(axis=1), [6, 3])


def test_mismatched_partials_refuse_to_merge():
    with pytest.raises(InvalidConfiguration):
        ConfusionSums.empty(2) + ConfusionSums.empty(3)
    with pytest.raises(InvalidConfiguration):
        ScoreHistogram.empty([10]) + ScoreHistogram.empty([12])
    y_true_prob, y_pred, bins, n_bins, _ = make_rows(0, 3, n=50)
    all_scored = ClassificationPartial.from_rows(y_true_prob, y_pred, bins, n_bins, [0, 1, 2])
    one_scored = ClassificationPartial.from_rows(y_true_prob, y_pred, bins[:, :1], n_bins[:1], [0])
    with pytest.raises(InvalidConfiguration):
        all_scored + one_scored
    with pytest.raises(InvalidData):
        ConfusionSums.from_rows(y_true_prob, np.full(50, 3), 3)
