"""Regression inputs that used to go through: an infinite prediction gave DLE a finite estimate with
trust ok, and a reference without any label failed with an error that named no column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import seismo


def _frame(n: int = 3_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "yp": 2 * x, "y": 2 * x + rng.normal(size=n)})


@pytest.mark.parametrize("make", [
    lambda: seismo.DLE(y_pred="yp", y_true="y", features=["x"], chunk_size=300),
    lambda: seismo.RealizedPerformance("regression", y_pred="yp", y_true="y", chunk_size=300),
])
def test_an_infinite_prediction_is_an_error_naming_the_column_and_row(make):
    fitted = make().fit(_frame())
    analysis = _frame(seed=1)
    analysis.loc[[5, 700], "yp"] = [np.inf, -np.inf]
    with pytest.raises(seismo.InvalidData, match=r"y_pred column 'yp' in the analysis data has [12] infinite values "
                                                  r"\(first at row 5\)"):
        (fitted.estimate if isinstance(fitted, seismo.DLE) else fitted.calculate)(analysis)


def test_a_reference_without_labels_names_y_true():
    reference = _frame().assign(y=np.nan)
    with pytest.raises(seismo.InvalidData, match="'y'"):
        seismo.DLE(y_pred="yp", y_true="y", features=["x"], chunk_size=300).fit(reference)


def test_a_reference_with_one_class_stops_at_fit_naming_the_class():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=3_000)
    reference = pd.DataFrame({"p": p, "yp": (p > 0.5).astype(int), "y": np.zeros(3_000, dtype=int)})
    spec = dict(y_pred_proba="p", y_pred="yp", y_true="y", chunk_size=300)
    with pytest.raises(seismo.InvalidData, match=r"y_true column 'y' in the reference data has no row of class '1' "
                                                  r"\(its 3000 labelled rows are all '0'\)"):
        seismo.RealizedPerformance("binary", **spec).fit(reference)
    with pytest.raises(seismo.InvalidData, match="no row of class '1'"):
        seismo.Monitor("binary", **spec).fit(reference)  # not late, in the ranking of a run


def test_missing_target_ids_are_called_missing_not_duplicated():
    analysis = _frame().reset_index(names="id").drop(columns="y")
    targets = pd.DataFrame({"id": pd.array([0, 1, None, None], dtype="Int64"), "y": [0.1, 0.2, 0.3, 0.4]})
    realized = seismo.RealizedPerformance("regression", y_pred="yp", y_true="y", id="id", chunk_size=300)
    realized.fit(_frame().reset_index(names="id"))
    with pytest.warns(seismo.SeismoWarning, match="id column 'id' in the targets data has 2 missing ids; those "
                                                  "labels match no analysis row and are left out"):
        result = realized.calculate(analysis, targets=targets).to_df()
    first = result.query("period == 'analysis' and chunk_index == 0")["targets_missing_rate"].iloc[0]
    assert first == pytest.approx(298 / 300)  # ids 0 and 1 labelled; the two labels without an id left out
