"""Classification metrics finished from partials agree with scikit-learn.

Pinned properties: confusion-based metrics (precision, recall, F1, specificity,
accuracy, confusion matrix in every normalisation, business value) equal
scikit-learn to 1e-9, binary and macro multiclass, also when a class is absent
from the chunk; histogram ROC AUC and average precision equal scikit-learn to
1e-3 (ties within a fine bin cost at most that), also when the chunk's scores
sit in a narrow range away from the reference; with soft labels the expected
confusion matrix is the weighted sum and ROC AUC / AP equal scikit-learn on rows
duplicated as a positive of weight p and a negative of weight 1 - p.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from seismo.errors import InvalidConfiguration
from seismo.metrics import (
    ClassificationPartial,
    accuracy,
    average_precision,
    bin_scores,
    binary_confusion_cells,
    business_value,
    confusion_matrix,
    f1,
    get_metric,
    metrics_for,
    multiclass_confusion_cells,
    precision,
    recall,
    roc_auc,
    specificity,
)
from seismo.stats.binning import fine_points

EXACT = 1e-9
RANKING = 1e-3


def _scores(rng: np.random.Generator, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Informative probabilities: each class's beta score is raised for its own rows."""
    raw = rng.beta(2.0, 5.0, size=(labels.size, n_classes))
    raw[np.arange(labels.size), labels] += rng.beta(2.0, 2.0, size=labels.size)
    if n_classes == 2:
        p1 = rng.beta(2 + 3 * labels, 5 - 3 * labels)
        return np.column_stack([1 - p1, p1])
    return raw / raw.sum(axis=1, keepdims=True)


def make_case(seed: int, n_classes: int, n: int = 3000, absent: int | None = None,
              narrow: bool = False, soft: bool = False):
    """Reference-built points, then a chunk: (partial, y, y_true_prob, probs, y_pred)."""
    rng = np.random.default_rng(seed)
    ref_y = rng.integers(0, n_classes, size=10_000)
    ref_probs = _scores(rng, ref_y, n_classes)
    scored = [1] if n_classes == 2 else list(range(n_classes))
    points = [fine_points(ref_probs[:, c], max_points=5000, grid_range=(0.0, 1.0)) for c in scored]

    y = rng.integers(0, n_classes, size=n)
    if absent is not None:
        y = np.where(y == absent, (absent + 1) % n_classes, y)
    probs = _scores(rng, y, n_classes)
    if narrow:  # chunk scores squeezed into [0.75, 0.95], where the reference is sparse:
        probs = 0.75 + 0.2 * probs  # only the even grid of fine points resolves them
    y_pred = probs.argmax(axis=1)
    if soft:
        y_true_prob = rng.dirichlet(np.ones(n_classes), size=n)
    else:
        y_true_prob = np.eye(n_classes)[y]
    bins, n_bins = bin_scores(probs[:, scored], points)
    partial = ClassificationPartial.from_rows(y_true_prob, y_pred, bins, n_bins, scored)
    return partial, y, y_true_prob, probs, y_pred


CASES = [(seed, c, absent) for seed in (0, 1, 2) for c in (2, 3, 5) for absent in (None, c - 1)]
CASES = [case for case in CASES if not (case[1] == 2 and case[2] is not None)]


def _average(n_classes: int) -> dict:
    if n_classes == 2:
        return {"average": "binary", "pos_label": 1}
    return {"average": "macro", "labels": list(range(n_classes))}


@pytest.mark.parametrize("seed, n_classes, absent", CASES)
def test_confusion_metrics_match_sklearn(seed, n_classes, absent):
    partial, y, _, _, y_pred = make_case(seed, n_classes, absent=absent)
    kw = _average(n_classes)
    for ours, theirs in ((precision, skm.precision_score), (recall, skm.recall_score),
                         (f1, skm.f1_score)):
        expected = theirs(y, y_pred, zero_division=0, **kw)
        assert ours(partial) == pytest.approx(expected, abs=EXACT), ours.__name__
    assert accuracy(partial) == pytest.approx(skm.accuracy_score(y, y_pred), abs=EXACT)

    labels = list(range(n_classes))
    cm = skm.confusion_matrix(y, y_pred, labels=labels)
    fp = cm.sum(axis=0) - np.diag(cm)
    tn = cm.sum() - cm.sum(axis=0) - cm.sum(axis=1) + np.diag(cm)
    spec = tn / (tn + fp)
    expected_spec = spec[1] if n_classes == 2 else spec.mean()
    assert specificity(partial) == pytest.approx(expected_spec, abs=EXACT)

    for normalize in ("none", "all", "true", "pred"):
        sk_norm = None if normalize == "none" else normalize
        sk = skm.confusion_matrix(y, y_pred, labels=labels, normalize=sk_norm)
        np.testing.assert_allclose(confusion_matrix(partial, normalize), sk, rtol=0, atol=EXACT)

    values = np.random.default_rng(seed).normal(size=(n_classes, n_classes))
    assert business_value(partial, values) == pytest.approx(np.sum(cm * values), abs=EXACT)
    assert business_value(partial, values, normalize_per_prediction=True) == pytest.approx(
        np.sum(cm * values) / y.size, abs=EXACT
    )


def _sk_ranking(y, probs, n_classes, score_fn, need_negatives):
    if n_classes == 2:
        return score_fn(y, probs[:, 1])
    per_class = [
        score_fn(y == c, probs[:, c])
        for c in range(n_classes)
        if (y == c).any() and (not need_negatives or (y != c).any())
    ]
    return np.mean(per_class)


@pytest.mark.parametrize("narrow", [False, True])
@pytest.mark.parametrize("seed, n_classes, absent", CASES)
def test_ranking_metrics_match_sklearn(seed, n_classes, absent, narrow):
    partial, y, _, probs, _ = make_case(seed, n_classes, absent=absent, narrow=narrow)
    expected_auc = _sk_ranking(y, probs, n_classes, skm.roc_auc_score, True)
    expected_ap = _sk_ranking(y, probs, n_classes, skm.average_precision_score, False)
    assert roc_auc(partial) == pytest.approx(expected_auc, abs=RANKING)
    assert average_precision(partial) == pytest.approx(expected_ap, abs=RANKING)
    if n_classes > 2 and absent is None and not narrow:  # sklearn's own multiclass paths
        sk_auc = skm.roc_auc_score(y, probs, multi_class="ovr", average="macro")
        sk_ap = skm.average_precision_score(np.eye(n_classes)[y], probs, average="macro")
        assert roc_auc(partial) == pytest.approx(sk_auc, abs=RANKING)
        assert average_precision(partial) == pytest.approx(sk_ap, abs=RANKING)


@pytest.mark.parametrize("seed, n_classes", [(3, 2), (4, 3), (5, 5)])
def test_soft_labels(seed, n_classes):
    partial, _, y_true_prob, probs, y_pred = make_case(seed, n_classes, n=2000, soft=True)
    classes = range(n_classes)
    brute = np.array([[y_true_prob[y_pred == j, i].sum() for j in classes] for i in classes])
    np.testing.assert_allclose(partial.confusion.matrix, brute, rtol=0, atol=EXACT)

    scored = [1] if n_classes == 2 else range(n_classes)
    aucs, aps = [], []
    for c in scored:  # each row as a positive of weight p and a negative of weight 1 - p
        p = y_true_prob[:, c]
        dup_y = np.r_[np.ones_like(p), np.zeros_like(p)]
        dup_s = np.r_[probs[:, c], probs[:, c]]
        dup_w = np.r_[p, 1 - p]
        aucs.append(skm.roc_auc_score(dup_y, dup_s, sample_weight=dup_w))
        aps.append(skm.average_precision_score(dup_y, dup_s, sample_weight=dup_w))
    assert roc_auc(partial) == pytest.approx(np.mean(aucs), abs=RANKING)
    assert average_precision(partial) == pytest.approx(np.mean(aps), abs=RANKING)


def test_ranking_nan_when_undefined():
    partial, *_ = make_case(0, 2, n=50)
    only_neg = ClassificationPartial.from_rows(
        np.eye(2)[np.zeros(5, dtype=int)], np.zeros(5, dtype=int),
        np.ones((5, 1), dtype=int), partial.scores.n_bins, (1,),
    )
    assert np.isnan(roc_auc(only_neg)) and np.isnan(average_precision(only_neg))
    assert precision(only_neg) == 0.0 and recall(only_neg) == 0.0 and f1(only_neg) == 0.0


def test_nan_scores_are_left_out():
    partial, y, y_true_prob, probs, y_pred = make_case(1, 2, n=1000)
    n_bins = int(partial.scores.n_bins[0])
    nan_rows = ClassificationPartial.from_rows(
        y_true_prob[:10], y_pred[:10], np.full((10, 1), n_bins - 1), [n_bins], (1,)
    )
    merged = partial + nan_rows
    assert roc_auc(merged) == roc_auc(partial)
    assert average_precision(merged) == average_precision(partial)


def test_confusion_cells_and_registry():
    partial, *_ = make_case(0, 2, n=200)
    m = partial.confusion.matrix
    cells = binary_confusion_cells(m)
    assert cells == {"true_positive": m[1, 1], "false_positive": m[0, 1],
                     "true_negative": m[0, 0], "false_negative": m[1, 0]}
    assert get_metric("confusion_matrix", "binary").finish(partial) == cells

    multi, *_ = make_case(0, 3, n=200)
    cells3 = get_metric("confusion_matrix", "multiclass").finish(multi, labels=["a", "b", "c"])
    assert cells3 == multiclass_confusion_cells(multi.confusion.matrix, ["a", "b", "c"])
    assert cells3["true_b_pred_c"] == multi.confusion.matrix[1, 2]
    assert len(cells3) == 9

    assert "roc_auc" in metrics_for("multiclass") and "mae" not in metrics_for("binary")
    with pytest.raises(InvalidConfiguration, match="valid"):
        get_metric("mae", "binary")
    with pytest.raises(InvalidConfiguration):
        metrics_for("ranking")
    with pytest.raises(InvalidConfiguration):
        confusion_matrix(partial, normalize="rows")
    with pytest.raises(InvalidConfiguration):
        business_value(partial, np.ones((3, 3)))
    assert get_metric("business_value", "binary").upper_bound is None
