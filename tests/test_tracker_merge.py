"""For every tracker of every calculator: partials of random row partitions of a chunk,
merged in random order, finish to the same values as the whole chunk (to 1e-9; a sum or mean
near 0 to the absolute floor of closeness.py, as the rows are added in another order).
This is what streaming, incremental runs and Spark rely on."""

from __future__ import annotations

import numpy as np
import pytest
from closeness import assert_close_by_metric

import seismo
from seismo.data.frame import load_frame


def _calculators():
    common = dict(chunk_size=4_000, n_resamples=5)
    yield seismo.UnivariateDrift(columns=["a", "b", "c", "d"], **common)
    yield seismo.DataQuality(columns=["a", "b", "c", "d"], **common)
    yield seismo.RealizedPerformance("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                                     business_value_matrix=[[0, -1], [-5, 2]], **common)


def _partition(rows: np.ndarray, rng: np.random.Generator, parts: int) -> list[np.ndarray]:
    shuffled = rng.permutation(rows)
    cuts = np.sort(rng.choice(len(rows) + 1, size=parts - 1, replace=True))
    pieces = np.split(shuffled, cuts)
    pieces.append(np.empty(0, dtype=np.int64))  # an empty partition must merge as identity
    return [np.sort(p) for p in pieces]


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert_close_by_metric(b[k], a[k], [k] * np.size(a[k]), err_msg=str(k))


@pytest.mark.parametrize("calc", list(_calculators()), ids=lambda c: type(c).__name__)
def test_merged_partials_equal_whole(calc, reference, analysis):
    rng = np.random.default_rng(7)
    holes = analysis.copy()
    holes.loc[holes.index[::11], "a"] = np.nan
    holes.loc[holes.index[::13], "c"] = "unseen-category"
    calc.fit(reference)
    frame = load_frame(holes, None, None, "analysis")
    for fitted in calc.fitted_trackers_:
        tracker = fitted.tracker
        encoded = tracker.encode(frame)
        rows = np.arange(1_000, 5_000)
        whole = tracker.partial(encoded, rows)
        pieces = [tracker.partial(encoded, p) for p in _partition(rows, rng, parts=5)]
        order = rng.permutation(len(pieces))
        merged = pieces[order[0]]
        for i in order[1:]:
            merged = merged + pieces[i]
        reference_part = fitted.total
        _assert_same(tracker.finish(whole, reference_part), tracker.finish(merged, reference_part))
        # associativity on three pieces
        a, b, c = pieces[:3]
        _assert_same(tracker.finish((a + b) + c, reference_part), tracker.finish(a + (b + c), reference_part))
