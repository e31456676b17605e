"""Estimated metrics equal realized metrics when the calibrated probabilities are the labels.

Property: CBPE computes each metric as an expectation over soft labels (the calibrated
probabilities). When those probabilities are the labels themselves (p = y in {0, 1}, one-hot
for multiclass) the expectation is the realized value: every metric of every chunk, NaN
where the realized metric is NaN (a chunk with one class has no ROC AUC either way). Checked
on the partials CBPE builds (`soft_labels`) and end to end on `CBPE.estimate`, whose
``realized`` column is computed from the labels by `RealizedPerformance`'s code.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from properties_common import assert_same, property_settings, unit_floats

import seismo
from seismo.metrics import ClassificationPartial, bin_scores, metrics_for
from seismo.performance.cbpe import soft_labels
from seismo.performance.realized import finish_classification
from seismo.stats.binning import fine_points

CHUNK = 10


@property_settings(30)
@given(st.integers(2, 4), st.data())
def test_soft_labels_equal_to_the_labels_give_the_realized_metrics(n_classes, data):
    n = data.draw(st.integers(1, 40))
    y = np.array(data.draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)), dtype=int)
    y_pred = np.array(data.draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)), dtype=int)
    scores = np.array(data.draw(st.lists(st.lists(unit_floats, min_size=n_classes, max_size=n_classes),
                                         min_size=n, max_size=n)))
    scored = [1] if n_classes == 2 else list(range(n_classes))
    points = [fine_points(scores[:, c], max_points=5000, grid_range=(0.0, 1.0)) for c in scored]
    bins, n_bins = bin_scores(scores[:, scored], points)
    one_hot = np.eye(n_classes)[y]
    calibrated = y.astype(float) if n_classes == 2 else one_hot  # CBPE's calibrated probabilities: the labels
    estimated = ClassificationPartial.from_rows(soft_labels(calibrated), y_pred, bins, n_bins, scored)
    realized = ClassificationPartial.from_rows(one_hot, y_pred, bins, n_bins, scored)
    names = metrics_for("binary" if n_classes == 2 else "multiclass")
    options = {"business_value": {"value_matrix": np.arange(n_classes**2, dtype=float).reshape(n_classes, n_classes)}}
    expected = finish_classification(realized, names, options)
    actual = finish_classification(estimated, names, options)
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert_same(actual[key], value, key)


def _frame(y: np.ndarray, y_pred: np.ndarray, n_classes: int) -> pd.DataFrame:
    """Scores that are the labels: p = y (binary), one-hot columns (multiclass)."""
    if n_classes == 2:
        return pd.DataFrame({"p": y.astype(float), "yp": y_pred, "y": y})
    one_hot = np.eye(n_classes)[y]
    return pd.DataFrame({**{f"p{k}": one_hot[:, k] for k in range(n_classes)}, "yp": y_pred, "y": y})


@functools.cache
def _fitted(n_classes: int) -> seismo.CBPE:
    """One CBPE per problem, fitted once: the property is about any analysis it then meets."""
    rng = np.random.default_rng(n_classes)
    y = rng.integers(0, n_classes, 200)
    y[:n_classes] = np.arange(n_classes)
    proba = "p" if n_classes == 2 else {k: f"p{k}" for k in range(n_classes)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        return seismo.CBPE("binary" if n_classes == 2 else "multiclass", y_pred_proba=proba, y_pred="yp", y_true="y",
                           chunk_size=CHUNK * 2, calibration=None, trust=False, n_resamples=5,
                           business_value_matrix=np.ones((n_classes, n_classes))).fit(
            _frame(y, rng.integers(0, n_classes, 200), n_classes))


@property_settings(12)
@given(st.sampled_from([2, 3]), st.data())
def test_cbpe_estimates_equal_realized_when_scores_are_the_labels(n_classes, data):
    n = data.draw(st.integers(1, 4 * CHUNK))
    y = np.array(data.draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)), dtype=int)
    y_pred = np.array(data.draw(st.one_of(
        st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n), st.just(list(y)))), dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)  # chunks with one class: NaN ROC AUC, named
        df = _fitted(n_classes).estimate(_frame(y, y_pred, n_classes)).to_df()
    assert len(df) and df["realized"].notna().any()
    for row in df.itertuples():
        assert_same(row.value, row.realized, f"{row.period} chunk {row.chunk_index} {row.metric}")
