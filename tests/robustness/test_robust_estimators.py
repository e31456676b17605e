"""Robustness sweep (estimators).

Part of the robustness sweep; the property it pins is stated in robust_data.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from robust_data import BINARY, CBPE_METRICS, _analysis  # helpers; the data fixtures come from conftest.py

import seismo
from seismo.engine.result import RESULT_COLUMNS
from seismo.performance.trust import TRUST_COLUMNS

pytestmark = pytest.mark.filterwarnings("ignore::seismo.SeismoWarning")


def test_cbpe_binary_bool_labels_and_exact_0_1_scores_match_int_labels(cancer):
    ref, ana = cancer
    clip = lambda d: d.assign(y_pred_proba=np.where(d.y_pred_proba < 0.05, 0.0,  # noqa: E731
                                                    np.where(d.y_pred_proba > 0.95, 1.0, d.y_pred_proba)))
    kw = dict(**BINARY, chunk_size=500, metrics=CBPE_METRICS)
    as_int = seismo.CBPE("binary", **kw).fit(clip(ref)).estimate(clip(ana)).to_df()
    as_bool = seismo.CBPE("binary", **kw).fit(clip(ref).astype({"y_true": bool, "y_pred": bool})).estimate(
        clip(ana).astype({"y_true": bool, "y_pred": bool})).to_df()
    pd.testing.assert_frame_equal(as_int, as_bool)
    assert not _analysis(as_int)["value"].isna().any() and not _analysis(as_int)["alert"].any()


def test_dle_on_diabetes_with_awkward_feature_types(diabetes):
    ref, ana = (d.copy() for d in diabetes)
    rng = np.random.default_rng(4)
    for d in (ref, ana):
        n = len(d)
        d["cat"] = pd.Categorical(rng.choice(["a", "b", "c"], n))
        d["flag"] = rng.random(n) < 0.5
        d["nullable int"] = pd.array(rng.integers(0, 50, n), dtype="Int64")
        d.loc[::5, "nullable int"] = pd.NA
        d["ünï"] = pd.Series(rng.choice(["u", "v", None], n), dtype=object)
        d["small_int"] = rng.integers(0, 3, n)
        d["constant"] = 1.0
        d["all_nan"] = np.nan
    ana["small_int"] = ana["small_int"].astype(float)
    ana.loc[::4, "small_int"] = np.nan
    dle = seismo.DLE(y_pred="y_pred", y_true="y_true", id="id", chunk_size=250, metrics=["mae", "rmse"],
                     hyperparameters={"n_estimators": 40}, n_splits=3).fit(ref)
    est = dle.estimate(ana).to_df()
    realized = seismo.RealizedPerformance("regression", y_pred="y_pred", y_true="y_true", metrics=["mae", "rmse"],
                                          chunk_size=250).fit(ref).calculate(ana).to_df()
    np.testing.assert_allclose(est["realized"], realized["value"], rtol=1e-12)
    a = _analysis(est)
    assert list(est.columns) == RESULT_COLUMNS + ["realized", *TRUST_COLUMNS]
    assert not a["value"].isna().any() and not a["sampling_error"].isna().any()
    assert ((a["value"] - a["realized"]).abs() <= 3 * a["sampling_error"]).all()
    assert a["alert"].mean() <= 0.02
    unlabelled = dle.estimate(ana.drop(columns="y_true")).to_df()
    np.testing.assert_allclose(unlabelled["value"], est["value"], rtol=1e-12)
