"""Every realized metric equals scikit-learn on random chunks, ties and degenerate cases included.

Property: for any labels, scores and predictions (few rows, many tied scores, a single class,
a constant prediction), each classification metric finished from a `ClassificationPartial`
equals scikit-learn's on the same rows within 1e-9 relative, and each regression metric
finished from `LossSums` does too. Score bins are built the way `RealizedPerformance` builds
them when every distinct score is a fine point (a reference of at most 5,000 distinct scores):
each score then has a bin of its own, ties are exactly ties, and the histogram ROC AUC and
average precision are exact.

Where scikit-learn has no answer seismo gives its documented one, asserted here:
* ROC AUC of a chunk with one class: scikit-learn warns and returns NaN; seismo NaN.
* Average precision without positives: scikit-learn warns and returns 0; seismo NaN (no
  positive, no precision to average). In a multiclass macro mean, seismo leaves such classes
  out of AP and classes without both labels out of ROC AUC, where scikit-learn counts them.
* A chunk without a labelled row: scikit-learn raises; every seismo metric is NaN.
* End to end, `RealizedPerformance` reports those NaN and a `SeismoWarning` names the metric
  and the chunk.
* msle/rmsle with a value <= -1: scikit-learn raises ValueError; seismo raises
  `InvalidData` naming the column, the count and the minimum.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from properties_common import (
    LEVELS,
    assert_arrays_same,
    assert_same,
    property_settings,
    unit_floats,
)
from sklearn import metrics as skm

import seismo
from seismo.errors import InvalidData
from seismo.metrics import METRICS, ClassificationPartial, LossSums, bin_scores
from seismo.performance.realized import finish_classification
from seismo.stats.binning import fine_points

RATES = ["precision", "recall", "specificity", "f1", "accuracy"]


@st.composite
def classification_chunks(draw: st.DrawFn, n_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, scores (n, C), predicted class) with ties, single-class and constant cases likely."""
    n = draw(st.integers(1, 40))
    label_mode = draw(st.sampled_from(["any", "single"]))
    if label_mode == "single":
        y = np.full(n, draw(st.integers(0, n_classes - 1)))
    else:
        y = np.array(draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)))
    scores = np.array(draw(st.lists(st.lists(unit_floats, min_size=n_classes, max_size=n_classes),
                                    min_size=n, max_size=n)))
    pred_mode = draw(st.sampled_from(["argmax", "any", "constant"]))
    if pred_mode == "argmax":
        y_pred = scores.argmax(axis=1)
    elif pred_mode == "constant":
        y_pred = np.full(n, draw(st.integers(0, n_classes - 1)))
    else:
        y_pred = np.array(draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)))
    return y, scores, y_pred


def realized_partial(y: np.ndarray, scores: np.ndarray, y_pred: np.ndarray, scored: list[int]) -> ClassificationPartial:
    """The partial `RealizedPerformance` builds, on points holding every distinct score."""
    n_classes = scores.shape[1]
    points = [fine_points(scores[:, c], max_points=5000, grid_range=(0.0, 1.0)) for c in scored]
    bins, n_bins = bin_scores(scores[:, scored], points)
    return ClassificationPartial.from_rows(np.eye(n_classes)[y], y_pred, bins, n_bins, scored)


def _quiet(fn, *args, **kwargs):
    """scikit-learn's value, its UndefinedMetricWarning silenced (the case is asserted separately)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _finish(name: str, partial: ClassificationPartial, **options) -> float:
    return METRICS[name].finish(partial, **options)


@property_settings(20)
@given(classification_chunks(2), st.lists(st.floats(-10, 10), min_size=4, max_size=4))
def test_binary_metrics_equal_sklearn(chunk, values):
    y, scores, y_pred = chunk
    scores[:, 0] = 1.0 - scores[:, 1]
    partial = realized_partial(y, scores, y_pred, [1])
    p1 = scores[:, 1]
    ref = {
        "precision": skm.precision_score(y, y_pred, labels=[0, 1], zero_division=0),
        "recall": skm.recall_score(y, y_pred, labels=[0, 1], zero_division=0),
        "specificity": skm.recall_score(y, y_pred, labels=[0, 1], pos_label=0, zero_division=0),
        "f1": skm.f1_score(y, y_pred, labels=[0, 1], zero_division=0),
        "accuracy": skm.accuracy_score(y, y_pred),
    }
    for name, expected in ref.items():
        assert_same(_finish(name, partial), expected, name)
    if len(set(y)) == 2:
        assert_same(_finish("roc_auc", partial), skm.roc_auc_score(y, p1), "roc_auc")
        assert_same(_finish("average_precision", partial), skm.average_precision_score(y, p1), "average_precision")
    else:  # one class: sklearn warns and gives NaN (AUC) or 0 (AP without positives); seismo NaN, or AP 1
        assert np.isnan(_quiet(skm.roc_auc_score, y, p1)) and np.isnan(_finish("roc_auc", partial))
        ap = _finish("average_precision", partial)
        if y[0] == 0:
            assert np.isnan(ap)
        else:  # only positives: every precision is 1
            assert_same(ap, skm.average_precision_score(y, p1), "average_precision")
            assert_same(ap, 1.0, "average_precision")
    for normalize in ("none", "all", "true", "pred"):
        cells = _finish("confusion_matrix", partial, normalize=normalize)
        cm = skm.confusion_matrix(y, y_pred, labels=[0, 1], normalize=None if normalize == "none" else normalize)
        expected = {"true_negative": cm[0, 0], "false_positive": cm[0, 1], "false_negative": cm[1, 0],
                    "true_positive": cm[1, 1]}
        for cell, value in expected.items():
            assert_same(cells[cell], value, f"{cell} ({normalize})")
    value_matrix = np.reshape(values, (2, 2))
    cm = skm.confusion_matrix(y, y_pred, labels=[0, 1])
    total = float(np.sum(cm * value_matrix))
    scale = float(np.sum(cm * np.abs(value_matrix)))  # signed values cancel: tolerance on their magnitude
    assert_same(_finish("business_value", partial, value_matrix=value_matrix), total, "business_value",
                abs_tol=1e-12 * scale)
    assert_same(_finish("business_value", partial, value_matrix=value_matrix, normalize_per_prediction=True),
                total / len(y), "business_value per prediction", abs_tol=1e-12 * scale / len(y))


@property_settings(25)
@given(st.integers(3, 4).flatmap(classification_chunks))
def test_multiclass_metrics_equal_sklearn_macro(chunk):
    y, scores, y_pred = chunk
    n_classes = scores.shape[1]
    labels = list(range(n_classes))
    partial = realized_partial(y, scores, y_pred, labels)
    ref = {
        "precision": skm.precision_score(y, y_pred, labels=labels, average="macro", zero_division=0),
        "recall": skm.recall_score(y, y_pred, labels=labels, average="macro", zero_division=0),
        "f1": skm.f1_score(y, y_pred, labels=labels, average="macro", zero_division=0),
        "accuracy": skm.accuracy_score(y, y_pred),
        # specificity of class c is the recall of "not c"
        "specificity": np.mean([skm.recall_score(y != c, y_pred != c, labels=[False, True], zero_division=0)
                                for c in labels]),
    }
    for name, expected in ref.items():
        assert_same(_finish(name, partial), expected, name)
    for normalize in ("none", "all", "true", "pred"):
        cells = _finish("confusion_matrix", partial, normalize=normalize, labels=labels)
        cm = skm.confusion_matrix(y, y_pred, labels=labels, normalize=None if normalize == "none" else normalize)
        assert_arrays_same([cells[f"true_{a}_pred_{b}"] for a in labels for b in labels], cm.ravel(), normalize)
    # Ranking metrics: the macro mean over the classes where each is defined.
    both = [c for c in labels if 0 < np.sum(y == c) < len(y)]
    positive = [c for c in labels if np.any(y == c)]
    auc = [skm.roc_auc_score(y == c, scores[:, c]) for c in both]
    ap = [skm.average_precision_score(y == c, scores[:, c]) for c in positive]
    assert_same(_finish("roc_auc", partial), np.mean(auc) if auc else np.nan, "roc_auc")
    assert_same(_finish("average_precision", partial), np.mean(ap) if ap else np.nan, "average_precision")


@property_settings(20)
@given(st.integers(3, 4).flatmap(lambda c: st.lists(st.lists(st.sampled_from(LEVELS[1:]), min_size=c, max_size=c),
                                                    min_size=2 * c, max_size=40)),
       st.randoms(use_true_random=False))
def test_multiclass_roc_auc_equals_sklearn_ovr_when_every_class_is_present(raw, random):
    """scikit-learn's own one-vs-rest macro AUC, on rows that sum to 1 and hold every class."""
    scores = np.array(raw) / np.sum(raw, axis=1, keepdims=True)
    n_classes = scores.shape[1]
    y = np.array([random.randrange(n_classes) for _ in range(len(scores))])
    y[:n_classes] = np.arange(n_classes)
    partial = realized_partial(y, scores, scores.argmax(axis=1), list(range(n_classes)))
    expected = skm.roc_auc_score(y, scores, multi_class="ovr", average="macro", labels=list(range(n_classes)))
    assert_same(_finish("roc_auc", partial), expected, "roc_auc")


def test_a_chunk_without_labelled_rows_is_nan_for_every_metric():
    """scikit-learn raises on empty input; seismo reports NaN (a rate over no rows is not 0)."""
    names = ["roc_auc", "average_precision", *RATES, "confusion_matrix"]
    for n_classes, scored in ((2, [1]), (3, [0, 1, 2])):
        partial = realized_partial(np.zeros(0, dtype=int), np.zeros((0, n_classes)), np.zeros(0, dtype=int), scored)
        values = finish_classification(partial, names, {})
        assert len(values) == len(names) - 1 + (4 if n_classes == 2 else n_classes**2)
        assert all(np.isnan(v) for v in values.values()), values
        with pytest.raises(ValueError):
            skm.accuracy_score([], [])


finite = st.floats(-1e3, 1e3, allow_nan=False)
regression_values = st.one_of(st.sampled_from([0.0, 1.0, 2.5, -0.5]), finite)


@st.composite
def regression_chunks(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 40))
    y_true = np.array(draw(st.lists(regression_values, min_size=n, max_size=n)))
    mode = draw(st.sampled_from(["any", "constant", "exact", "near"]))
    if mode == "constant":
        y_pred = np.full(n, draw(regression_values))
    elif mode == "exact":
        y_pred = y_true.copy()
    elif mode == "near":
        y_pred = y_true + np.array(draw(st.lists(st.floats(-1e-3, 1e-3), min_size=n, max_size=n)))
    else:
        y_pred = np.array(draw(st.lists(regression_values, min_size=n, max_size=n)))
    return y_true, y_pred


@property_settings(40)
@given(regression_chunks())
def test_regression_metrics_equal_sklearn(chunk):
    y_true, y_pred = chunk
    with_log = bool(np.all(y_true > -1) and np.all(y_pred > -1))
    sums = LossSums.from_rows(y_true, y_pred, with_log=with_log)
    ref = {
        "mae": skm.mean_absolute_error(y_true, y_pred),
        "mape": skm.mean_absolute_percentage_error(y_true, y_pred),
        "mse": skm.mean_squared_error(y_true, y_pred),
        "rmse": skm.root_mean_squared_error(y_true, y_pred),
    }
    if with_log:
        ref["msle"] = skm.mean_squared_log_error(y_true, y_pred)
        ref["rmsle"] = skm.root_mean_squared_log_error(y_true, y_pred)
    for name, expected in ref.items():
        assert_same(METRICS[name].finish(sums), expected, name)


@property_settings(15)
@given(regression_chunks(), st.floats(-1e3, -1.0), st.sampled_from(["y_true", "y_pred"]))
def test_msle_outside_its_domain_names_the_column(chunk, low, side):
    y_true, y_pred = np.abs(chunk[0]), np.abs(chunk[1])  # in the domain but for one value
    (y_true if side == "y_true" else y_pred)[0] = low
    with pytest.raises(ValueError):
        skm.mean_squared_log_error(y_true, y_pred)
    name = {"y_true": "price", "y_pred": "predicted_price"}[side]
    with pytest.raises(InvalidData, match=rf"column '{name}' has \d+ values <= -1 \(min "):
        LossSums.from_rows(y_true, y_pred, with_log=True, true_name="price", pred_name="predicted_price")


def test_an_empty_regression_chunk_is_nan():
    sums = LossSums.from_rows(np.zeros(0), np.zeros(0), with_log=True)
    assert all(np.isnan(METRICS[m].finish(sums)) for m in ("mae", "mape", "mse", "rmse", "msle", "rmsle"))


@property_settings(25)
@given(st.lists(unit_floats, min_size=1, max_size=30), classification_chunks(2))
def test_ranking_metrics_on_reference_bins_equal_sklearn_on_the_bins(reference_scores, chunk):
    """With points from another reference (chunk scores need not be points), ROC AUC and AP equal
    scikit-learn's on the fine-bin index of each score: rows in one bin count as tied, nothing
    else is lost. The gap to scikit-learn on the raw scores is then at most half the share of
    positive-negative pairs that share a bin with different scores."""
    y, scores, y_pred = chunk
    assume(0 < y.sum() < len(y))
    p1 = scores[:, 1]
    points = [fine_points(np.array(reference_scores), max_points=5000, grid_range=(0.0, 1.0))]
    bins, n_bins = bin_scores(p1[:, None], points)
    partial = ClassificationPartial.from_rows(np.eye(2)[y], y_pred, bins, n_bins, [1])
    auc = _finish("roc_auc", partial)
    assert_same(auc, skm.roc_auc_score(y, bins[:, 0]), "roc_auc on bins")
    assert_same(_finish("average_precision", partial), skm.average_precision_score(y, bins[:, 0]), "AP on bins")
    same_bin = np.sum(np.bincount(bins[y == 1, 0], minlength=n_bins[0]) * np.bincount(bins[y == 0, 0], minlength=n_bins[0]))
    values, code = np.unique(p1, return_inverse=True)
    same_score = np.sum(np.bincount(code[y == 1], minlength=values.size) * np.bincount(code[y == 0], minlength=values.size))
    bound = 0.5 * (same_bin - same_score) / (y.sum() * (len(y) - y.sum()))
    assert abs(auc - skm.roc_auc_score(y, p1)) <= bound + 1e-9  # the bound is exact; 1e-9 covers rounding


GRID = np.round(np.linspace(0.0, 1.0, 101), 2)  # the reference's scores: every chunk score is a point


@functools.cache
def _fitted_realized() -> seismo.RealizedPerformance:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, GRID.size * 2)
    reference = pd.DataFrame({"p": np.r_[GRID, GRID], "yp": rng.integers(0, 2, y.size), "y": y})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        return seismo.RealizedPerformance("binary", y_pred_proba="p", y_pred="yp", y_true="y", chunk_size=10,
                                          n_resamples=5).fit(reference)


@property_settings(10)
@given(st.data())
def test_realized_performance_equals_sklearn_per_chunk_and_names_what_it_cannot_compute(data):
    """End to end: each analysis chunk's metrics equal scikit-learn on its rows; a chunk with one class
    has NaN ROC AUC (and NaN AP without positives), and a SeismoWarning names the metric and the chunk."""
    n = data.draw(st.integers(1, 40))
    y = np.array(data.draw(st.one_of(st.lists(st.integers(0, 1), min_size=n, max_size=n),
                                     st.lists(st.just(0), min_size=n, max_size=n))))
    p = np.array(data.draw(st.lists(st.sampled_from(list(GRID)), min_size=n, max_size=n)))
    y_pred = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = _fitted_realized().calculate(pd.DataFrame({"p": p, "yp": y_pred, "y": y})).to_df()
    messages = " ".join(str(w.message) for w in caught  # (random y_pred also warns that it disagrees with p)
                        if issubclass(w.category, seismo.SeismoWarning) and "could not be computed" in str(w.message))
    analysis = df[df["period"] == "analysis"].set_index(["chunk_index", "metric"])["value"]
    one_class = []
    for start in range(0, n, 10):
        rows = slice(start, min(start + 10, n))
        yc, pc, ypc = y[rows], p[rows], y_pred[rows]
        chunk = analysis.loc[start // 10]
        assert_same(chunk["accuracy"], skm.accuracy_score(yc, ypc), "accuracy")
        assert_same(chunk["f1"], skm.f1_score(yc, ypc, labels=[0, 1], zero_division=0), "f1")
        if len(set(yc)) == 2:
            assert_same(chunk["roc_auc"], skm.roc_auc_score(yc, pc), "roc_auc")
            assert_same(chunk["average_precision"], skm.average_precision_score(yc, pc), "average_precision")
        else:
            assert np.isnan(chunk["roc_auc"]) and np.isnan(chunk["average_precision"]) == (yc[0] == 0)
            one_class.append(f"[{rows.start}:{rows.stop - 1}]")
    if one_class:  # the warning counts the NaN values and chunks, and names the first three chunks
        assert f"{int(analysis.isna().sum())} analysis values could not be computed" in messages
        assert f"(model) in {len(one_class)} chunk(s) ({', '.join(one_class[:3])}" in messages
        assert "roc_auc" in messages
    else:
        assert messages == ""
