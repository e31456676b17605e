"""One contract, checked on every calculator (in the spirit of scikit-learn's estimator checks).

* using it before `fit` raises `NotFittedError` naming it (Monitor's run and save too); `fit`
  returns the calculator itself, and no constructor returns another class;
* every constructor parameter is stored unchanged under its own name, and `get_params()` (built
  from the signature) gives them back, so ``type(calc)(**calc.get_params())`` is an equal,
  unfitted calculator (Monitor too);
* the result's columns start with the public `RESULT_COLUMNS`, in order;
* a saved and loaded calculator gives the same result;
* a calculator that reads files in batches gives the in-memory result streamed.

Merging partials is checked tracker by tracker in `tests/test_tracker_merge.py`.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo.engine.result import RESULT_COLUMNS
from seismo.persist import load, save

COMMON = {"chunk_size": 2_000}
BINARY = {"y_pred_proba": "y_pred_proba", "y_pred": "y_pred", "y_true": "y_true"}
CASES = {
    "UnivariateDrift": lambda: seismo.UnivariateDrift(columns=["a", "b", "c", "d"], n_resamples=5, **COMMON),
    "DataQuality": lambda: seismo.DataQuality(columns=["a", "b", "c", "d"], n_resamples=5, **COMMON),
    "PCADrift": lambda: seismo.PCADrift(columns=["a", "b", "d"], **COMMON),
    "DomainClassifierDrift": lambda: seismo.DomainClassifierDrift(columns=["a", "b", "c"], **COMMON),
    "RealizedPerformance": lambda: seismo.RealizedPerformance("binary", **BINARY, n_resamples=5, **COMMON),
    "CBPE": lambda: seismo.CBPE("binary", **BINARY, features=["a", "b", "c"], **COMMON),
    "PAPE": lambda: seismo.PAPE("binary", **BINARY, features=["a", "b", "c"], **COMMON),
    "DLE": lambda: seismo.DLE(y_pred="y_pred_proba", y_true="b", features=["a", "c"], **COMMON),
}
STREAMING = {"UnivariateDrift", "DataQuality", "RealizedPerformance"}


def _run(calc, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        verb = getattr(calc, "estimate", None) or calc.calculate
        return verb(data).to_df()


@pytest.fixture(scope="module")
def frames(reference, analysis):
    return reference.iloc[:12_000].reset_index(drop=True), analysis.iloc[:6_000].reset_index(drop=True)


@pytest.fixture(scope="module")
def fitted(frames):
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        for name, make in CASES.items():
            calc = make()
            assert calc.fit(frames[0]) is calc, name
            out[name] = calc
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_use_before_fit_is_not_fitted_error(name, frames):
    with pytest.raises(seismo.NotFittedError, match=rf"^{name} is not fitted yet; call \.fit\(reference\) first$"):
        _run(CASES[name](), frames[1])


def test_monitor_and_top_features_before_fit_are_not_fitted_error(frames, tmp_path):
    """The same error class and message for every "used before fit" path, Monitor's included."""
    monitor = seismo.Monitor("binary", **BINARY, **COMMON)
    message = r"^Monitor is not fitted yet; call \.fit\(reference\) first$"
    with pytest.raises(seismo.NotFittedError, match=message):
        monitor.run(frames[1])
    with pytest.raises(seismo.NotFittedError, match=message):
        monitor.save(tmp_path / "monitor")
    assert not (tmp_path / "monitor").exists()
    with pytest.raises(seismo.NotFittedError, match=r"^DomainClassifierDrift is not fitted yet"):
        CASES["DomainClassifierDrift"]().top_features()


def test_constructors_return_their_own_class():
    """No public class hands back another one from its constructor, except the deprecated
    ``CBPE(problem_type="regression")`` (a DLE, with a FutureWarning; tests/performance/test_cbpe.py)."""
    public = [getattr(seismo, name) for name in seismo.__all__]
    classes = [c for c in public if inspect.isclass(c) and not issubclass(c, BaseException)]
    assert {"CBPE", "DLE", "Monitor", "Report", "Result"} <= {c.__name__ for c in classes}
    for cls in classes:
        own_new = [k.__name__ for k in cls.__mro__ if k is not object and "__new__" in vars(k)]
        assert own_new in ([], ["CBPE"]), f"{cls.__name__} inherits a __new__ from {own_new}"
        if own_new == ["CBPE"] and cls is not seismo.CBPE:
            with pytest.raises(seismo.InvalidConfiguration, match="for regression use seismo.DLE"):
                cls("regression", y_pred="p", y_true="y")
    for problem_type in ("binary", "multiclass"):
        assert type(seismo.CBPE(problem_type, y_pred_proba="p", y_pred="y_pred", y_true="y")) is seismo.CBPE


@pytest.mark.parametrize("name", list(CASES))
def test_parameters_are_stored_unchanged_under_their_names(name):
    calc = CASES[name]()
    signature = inspect.signature(type(calc).__init__)
    params = [p for p in signature.parameters.values() if p.name != "self" and p.kind is not p.VAR_KEYWORD]
    for param in params:
        assert hasattr(calc, param.name), f"{name}.{param.name} is not stored"
    assert calc.chunk_size == 2_000
    got = calc.get_params()
    assert list(got) == [p.name for p in params]
    assert got["chunk_size"] == 2_000 and got["chunk_number"] is None
    given = {"UnivariateDrift": {"columns": ["a", "b", "c", "d"], "n_resamples": 5},
             "RealizedPerformance": {"problem_type": "binary", **BINARY, "n_resamples": 5},
             "CBPE": {"problem_type": "binary", **BINARY, "features": ["a", "b", "c"]}}.get(name, {})
    assert {k: got[k] for k in given} == given
    clone = type(calc)(**got)
    assert type(clone) is type(calc) and clone.get_params() == got and repr(clone) == repr(calc)


def test_a_monitor_gives_its_parameters_back():
    monitor = seismo.Monitor("binary", **BINARY, chunk_size=500, calculators={"pca_drift": False}, random_state=3)
    got = monitor.get_params()
    assert list(got) == [p for p in inspect.signature(seismo.Monitor.__init__).parameters if p != "self"]
    assert got["chunk_size"] == 500 and got["calculators"] == {"pca_drift": False} and got["random_state"] == 3
    assert seismo.Monitor(**got).get_params() == got


@pytest.mark.parametrize("name", list(CASES))
def test_result_columns_follow_the_contract(name, fitted, frames):
    df = _run(fitted[name], frames[1])
    assert list(df.columns[: len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    assert set(df["period"]) == {"reference", "analysis"}
    assert df.loc[df["period"] == "analysis", "value"].notna().any()


@pytest.mark.parametrize("name", list(CASES))
def test_saved_and_loaded_gives_the_same_result(name, fitted, frames, tmp_path):
    save(fitted[name], tmp_path / name)
    loaded = load(tmp_path / name, expect=type(fitted[name]))
    before, after = _run(fitted[name], frames[1]), _run(loaded, frames[1])
    pd.testing.assert_frame_equal(after, before)


@pytest.mark.parametrize("name", sorted(STREAMING))
def test_streamed_equals_in_memory(name, fitted, frames, tmp_path):
    path = tmp_path / "analysis.parquet"
    frames[1].to_parquet(path, index=False)
    calc = fitted[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        streamed = calc.calculate(path, streaming=True).to_df()
    memory = _run(calc, frames[1])
    assert streamed[["chunk_key", "column", "metric"]].equals(memory[["chunk_key", "column", "metric"]])
    np.testing.assert_allclose(streamed["value"].astype(float), memory["value"].astype(float),
                               rtol=1e-9, atol=1e-10, equal_nan=True)
