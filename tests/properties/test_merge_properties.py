"""Merging partials is associative and commutative, and the partial of a union is the merge.

Property: for every mergeable partial (metric partials, drift and quality partials, tail
sketches), built on three random row sets A, B, C with the same bins,
``(a + b) + c == a + (b + c)``, ``a + b == b + a`` and ``partial(A ∪ B) == a + b``, and the
metrics finished from the merge equal those finished from the union. That is what lets
seismo build a chunk from batches, resume a chunk in an incremental run, and take the
reference minus one chunk, with the same answer as one pass over all rows.

Counts are sums of integers and compare exactly; sums of floats compare to 1e-9 relative
with an absolute term on the magnitude of what is summed (values of both signs cancel), and
the merged variance to 1e-12 of the sum of squares (Chan's update is that accurate).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from properties_common import (
    assert_arrays_same,
    assert_same,
    property_settings,
    unit_floats,
)

from seismo.metrics import (
    METRICS,
    ClassificationPartial,
    LossSums,
    bin_scores,
    metrics_for,
)
from seismo.performance.realized import LabelledPartial, finish_classification
from seismo.quality.data_quality import (
    ContinuousQualityPartial,
    ContinuousQualityTracker,
    quality_of_continuous,
)
from seismo.stats.binning import fine_bin_index, fine_points
from seismo.stats.categorical import CategoryCounts
from seismo.stats.histogram import Histogram
from seismo.stats.moments import Moments
from seismo.stats.tails import Tails

PARTS = 3


def _fields(partial: Any) -> list[np.ndarray]:
    """Every number a partial holds, as arrays, for comparing two partials field by field."""
    if isinstance(partial, ClassificationPartial):
        return [partial.confusion.matrix, partial.scores.pos, partial.scores.neg, partial.scores.n_bins,
                np.array([partial.n])]
    if isinstance(partial, LabelledPartial):
        return [*_fields(partial.inner), np.array([partial.n_rows])]
    if isinstance(partial, LossSums):
        return [np.array([partial.n, partial.abs_error, partial.abs_pct_error, partial.sq_error, partial.sq_log_error])]
    if isinstance(partial, Histogram):
        return [partial.counts, partial.sums]
    if isinstance(partial, CategoryCounts):
        return [partial.counts]
    if isinstance(partial, Moments):
        return [np.array([partial.n, partial.mean, partial.m2, partial.lo, partial.hi])]
    if isinstance(partial, Tails):
        return [np.array([partial.low, partial.high]), partial.below.keys, partial.below.counts,
                partial.above.keys, partial.above.counts]
    if isinstance(partial, ContinuousQualityPartial):
        return [*_fields(partial.histogram), *_fields(partial.moments), partial.infinite, *_fields(partial.tails)]
    raise TypeError(type(partial))


def assert_partials_equal(a: Any, b: Any, abs_tol: float, what: str) -> None:
    for i, (x, y) in enumerate(zip(_fields(a), _fields(b), strict=True)):
        assert_arrays_same(x, y, f"{what}, field {i}", abs_tol=abs_tol)


def check_merging(build: Callable[[np.ndarray], Any], rows: list[np.ndarray], abs_tol: float = 0.0,
                  finish: Callable[[Any], dict] | None = None) -> None:
    """Associativity, commutativity and ``build(A ∪ B) == build(A) + build(B)``, then equal finishes."""
    a, b, c = (build(r) for r in rows)
    assert_partials_equal((a + b) + c, a + (b + c), abs_tol, "associativity")
    assert_partials_equal(a + b, b + a, abs_tol, "commutativity")
    union = build(np.concatenate(rows))
    merged = a + b + c
    assert_partials_equal(union, merged, abs_tol, "union")
    if finish is not None:
        expected, actual = finish(union), finish(merged)
        assert expected.keys() == actual.keys()
        for key, value in expected.items():
            assert_same(actual[key], value, f"finished {key}", abs_tol=abs_tol)


def _split(data: st.DataObject, n: int) -> list[np.ndarray]:
    """Row indices 0..n-1 cut into three (possibly empty) consecutive parts."""
    cuts = sorted(data.draw(st.lists(st.integers(0, n), min_size=PARTS - 1, max_size=PARTS - 1)))
    return np.split(np.arange(n), cuts)


@property_settings(30)
@given(st.integers(2, 4), st.booleans(), st.data())
def test_classification_partials_merge(n_classes, soft, data):
    n = data.draw(st.integers(0, 40))
    scores = np.array(data.draw(st.lists(st.lists(unit_floats, min_size=n_classes, max_size=n_classes),
                                         min_size=n, max_size=n))).reshape(n, n_classes)
    y = np.array(data.draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)), dtype=int)
    y_pred = np.array(data.draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)), dtype=int)
    # soft labels as CBPE builds them (calibrated probabilities), or one-hot realized labels
    y_true_prob = np.eye(n_classes)[y] if not soft else (scores + 1e-3) / (scores + 1e-3).sum(axis=1, keepdims=True)
    scored = [1] if n_classes == 2 else list(range(n_classes))
    reference_scores = np.r_[np.linspace(0, 1, 11), np.array(data.draw(st.lists(unit_floats, max_size=20)))]
    points = [fine_points(reference_scores, max_points=5000, grid_range=(0.0, 1.0)) for _ in scored]
    bins, n_bins = bin_scores(scores[:, scored], points)
    problem = "binary" if n_classes == 2 else "multiclass"
    names = [m for m in metrics_for(problem) if m != "business_value"]

    def build(rows: np.ndarray) -> LabelledPartial:
        inner = ClassificationPartial.from_rows(y_true_prob[rows], y_pred[rows], bins[rows], n_bins, scored)
        return LabelledPartial(inner, len(rows))

    # soft sums of at most 40 terms in [0, 1]: rounding well below 1e-12 absolute
    check_merging(build, _split(data, n), abs_tol=0.0 if not soft else 1e-12,
                  finish=lambda p: finish_classification(p.inner, names, {}))


@property_settings(40)
@given(st.data())
def test_loss_sums_merge(data):
    n = data.draw(st.integers(0, 40))
    y_true = np.array(data.draw(st.lists(st.floats(-0.9, 1e3), min_size=n, max_size=n)))
    y_pred = np.array(data.draw(st.lists(st.floats(-0.9, 1e3), min_size=n, max_size=n)))
    scale = 1.0 + float(np.sum((y_true - y_pred) ** 2) + np.sum(np.abs(y_true - y_pred) / np.maximum(np.abs(y_true), 1e-300)))
    finish = lambda s: {m: METRICS[m].finish(s) for m in ("mae", "mape", "mse", "rmse", "msle", "rmsle")}
    check_merging(lambda r: LossSums.from_rows(y_true[r], y_pred[r], with_log=True), _split(data, n),
                  abs_tol=1e-12 * min(scale, 1e300), finish=finish)


values = st.one_of(st.sampled_from([0.0, 1.0, 2.0, np.nan, np.inf, -np.inf]), st.floats(-1e3, 1e3))


@property_settings(40)
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=50), st.data())
def test_drift_and_quality_partials_merge(reference, data):
    """Fine histograms (drift, quality), moments, ±inf counts and tail sketches, one column."""
    reference = np.array(reference)
    n = data.draw(st.integers(0, 50))
    chunk = np.array(data.draw(st.lists(values, min_size=n, max_size=n)))
    tracker = ContinuousQualityTracker("x", reference)
    encoded = fine_bin_index(chunk, tracker.points), chunk
    ref_hist = Histogram.from_values(reference, tracker.points)
    finite = chunk[np.isfinite(chunk)]
    scale = 1.0 + float(np.sum(finite**2)) + float(np.sum(np.abs(finite)))

    check_merging(lambda r: Histogram.from_values(chunk[r], tracker.points), _split(data, n), abs_tol=1e-12 * scale)
    check_merging(lambda r: tracker.partial(encoded, r), _split(data, n), abs_tol=1e-12 * scale,
                  finish=lambda p: quality_of_continuous(p, ref_hist, tracker.points))


@property_settings(40)
@given(st.lists(st.floats(-1e6, 1e6), min_size=0, max_size=60), st.data())
def test_moments_merge(values_list, data):
    x = np.array(values_list)
    sum_sq = 1.0 + float(np.sum(x**2))
    check_merging(lambda r: Moments.from_values(x[r]), _split(data, len(x)), abs_tol=1e-12 * sum_sq,
                  finish=lambda m: {"mean": m.mean, "variance": m.variance if m.n > 1 else 0.0, "total": m.total})


@property_settings(40)
@given(st.lists(st.floats(-1e6, 1e6), max_size=60), st.floats(-10, 0), st.floats(0, 10), st.data())
def test_tail_sketches_merge(values_list, low, high, data):
    x = np.array(values_list)

    def finish(t: Tails) -> dict:
        out = {}
        for upper, sketch in ((False, t.below), (True, t.above)):
            if sketch.n:
                out.update({(upper, k): float(v) for k, v in enumerate(t.value(upper, np.arange(sketch.n)))})
        return out

    check_merging(lambda r: Tails.from_values(x[r], low, high), _split(data, len(x)), finish=finish)


@property_settings(40)
@given(st.integers(1, 8), st.data())
def test_category_counts_merge(n_bins, data):
    n = data.draw(st.integers(0, 60))
    codes = np.array(data.draw(st.lists(st.integers(0, n_bins - 1), min_size=n, max_size=n)), dtype=int)
    check_merging(lambda r: CategoryCounts.from_codes(codes[r], n_bins), _split(data, n))
