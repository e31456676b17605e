"""One registry per concept: a metric is its formula and one `MetricSpec`; a calculator one `CalculatorSpec`.

A regression metric added to a temporary registry (a mean of a new per-row loss) is computed by
realized performance, estimated by DLE, oriented by the ranking and labelled in a stored report,
with nothing else edited. Every calculator of the registry round-trips through the Monitor and
the CLI config under its one name, and no module outside the registries spells a list of metric
names or calculator names of its own.
"""

from __future__ import annotations

import ast
import inspect
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo.cli.config.fields import CalculatorsConfig
from seismo.cli.jobs import _result_class
from seismo.metrics.losses import MAPE_EPS, RowLoss
from seismo.metrics.partials import LossSums
from seismo.metrics.registry import METRICS, loss_metric, ranking_preference
from seismo.monitor.calculators import CALCULATORS, current_name, with_current_names
from seismo.monitor.ranking import _performance_drop

SRC = Path(__file__).parents[1] / "src" / "seismo"
NEW = "mean_squared_pct_error"
CHUNK = 1_000


def _sq_pct_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return ((y_pred - y_true) / np.maximum(np.abs(y_true), MAPE_EPS)) ** 2


SQ_PCT_ERROR = RowLoss("sq_pct_error", _sq_pct_error)


@pytest.fixture
def new_metric():
    """The registry with one more regression metric; restored afterwards, whatever happens."""
    before = dict(METRICS)
    METRICS[NEW] = loss_metric(NEW, SQ_PCT_ERROR)
    try:
        yield METRICS[NEW]
    finally:
        METRICS.clear()
        METRICS.update(before)


def _regression_frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(shift, 1.0, n)
    x2 = rng.normal(0.0, 1.0, n)
    y = 10.0 + 2.0 * x1 + x2 + rng.normal(0.0, 1.0, n)
    # the model errs more where |x1| is large and y small: a shift to x1 < 0 raises its relative error
    y_pred = y + rng.normal(0.0, 0.5 + 0.5 * np.abs(x1), n)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": y, "y_pred": y_pred})


def _chunk_means(frame: pd.DataFrame) -> np.ndarray:
    loss = _sq_pct_error(frame["y"].to_numpy(), frame["y_pred"].to_numpy())
    return loss.reshape(-1, CHUNK).mean(axis=1)


def _values(result: seismo.Result, period: str, metric: str) -> pd.DataFrame:
    df = result.to_df()
    return df[(df["period"] == period) & (df["metric"] == metric)].sort_values("chunk_index")


def test_registry_is_restored_after_the_fixture(new_metric):
    assert NEW in METRICS and new_metric.loss is SQ_PCT_ERROR


def test_the_fixture_left_the_registry_as_it_was():
    assert NEW not in METRICS
    assert ranking_preference()[-1] == "rmsle"


def test_a_new_loss_metric_is_computed_by_realized_performance(new_metric):
    reference, analysis = _regression_frame(5 * CHUNK, 0), _regression_frame(3 * CHUNK, 1, shift=-1.0)
    realized = seismo.RealizedPerformance("regression", y_pred="y_pred", y_true="y", metrics=[NEW, "mae"],
                                          chunk_size=CHUNK).fit(reference)
    rows = _values(realized.calculate(analysis), "analysis", NEW)
    np.testing.assert_allclose(rows["value"], _chunk_means(analysis), rtol=1e-12)
    mae = _values(realized.calculate(analysis), "analysis", "mae")["value"].to_numpy()
    np.testing.assert_allclose(mae, np.abs(analysis["y_pred"] - analysis["y"]).to_numpy().reshape(-1, CHUNK).mean(1),
                               rtol=1e-12)
    # lower is better and unbounded above: the bounds come from the spec
    assert (rows["lower_threshold"].dropna() >= 0).all()


def test_a_new_loss_metric_sums_and_merges_like_the_others(new_metric):
    y, p = _regression_frame(300, 2)["y"].to_numpy(), _regression_frame(300, 2)["y_pred"].to_numpy()
    whole = LossSums.from_rows(y, p, losses=[SQ_PCT_ERROR])
    parts = LossSums.from_rows(y[:100], p[:100], losses=[SQ_PCT_ERROR]) + LossSums.from_rows(
        y[100:], p[100:], losses=[SQ_PCT_ERROR])
    expected = float(np.mean(((p - y) / np.abs(y)) ** 2))
    assert new_metric.finish(whole) == pytest.approx(expected, rel=1e-12)
    assert new_metric.finish(parts) == pytest.approx(expected, rel=1e-12)


def test_a_new_loss_metric_is_estimated_by_dle(new_metric):
    reference, analysis = _regression_frame(5 * CHUNK, 0), _regression_frame(3 * CHUNK, 1, shift=-1.0)
    dle = seismo.DLE(y_pred="y_pred", y_true="y", features=["x1", "x2"], metrics=[NEW], chunk_size=CHUNK,
                     hyperparameters={"n_estimators": 40}, n_splits=2, trust=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        result = dle.fit(reference).estimate(analysis)
    assert dle.loss_model_.losses == ["sq_pct_error"]  # one loss model, for the new loss
    rows = _values(result, "analysis", NEW)
    predicted = dle.loss_model_.predict(analysis[["x1", "x2", "y_pred"]])["sq_pct_error"]
    np.testing.assert_allclose(rows["value"], predicted.reshape(-1, CHUNK).mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(rows["realized"], _chunk_means(analysis), rtol=1e-12)
    # the shift about quadruples the realized relative error; the (small, 40-tree) loss model sees it
    # rise (the estimate about triples the reference level) while falling short of its full size
    level = _chunk_means(reference).mean()
    assert (rows["realized"] > 3.5 * level).all() and (rows["value"] > 2.5 * level).all()
    np.testing.assert_allclose(rows["value"], rows["realized"], rtol=0.5)


def test_the_ranking_reads_the_direction_of_a_new_metric(new_metric):
    reference, analysis = _regression_frame(5 * CHUNK, 0), _regression_frame(3 * CHUNK, 1, shift=-1.0)
    result = seismo.RealizedPerformance("regression", y_pred="y_pred", y_true="y", metrics=[NEW],
                                        chunk_size=CHUNK).fit(reference).calculate(analysis)
    drop, name = _performance_drop(result, NEW)
    baseline = _chunk_means(reference).mean()
    # a loss: the drop is value - baseline, positive where performance is worse
    np.testing.assert_allclose(drop.loc["analysis"].to_numpy(), _chunk_means(analysis) - baseline, rtol=1e-9)
    assert name == NEW and (drop.loc["analysis"] > 0).all()
    # the ranking picks a known metric first, and the new one when it is alone
    assert ranking_preference()[-1] == NEW


def test_a_stored_estimate_of_a_new_regression_metric_is_labelled_dle(new_metric):
    rows = pd.DataFrame({"metric": [NEW, NEW]})
    assert _result_class("estimated_performance", rows) == "DLE"
    assert _result_class("estimated_performance", pd.DataFrame({"metric": ["roc_auc"]})) == "CBPE"
    assert _result_class("realized_performance", rows) == "RealizedPerformance"


def test_metric_option_defaults_are_the_calculator_argument_defaults():
    parameters = inspect.signature(seismo.RealizedPerformance).parameters
    options = [o for spec in METRICS.values() for o in spec.options if o.source in parameters]
    assert {o.source for o in options} == {"normalize_confusion_matrix", "business_value_matrix",
                                           "normalize_business_value"}
    for option in options:
        assert parameters[option.source].default == option.default, option.source


# ------------------------------------------------------------------------------ calculators


def test_every_calculator_round_trips_through_the_monitor_and_the_config(tmp_path):
    assert list(CalculatorsConfig.model_fields) == list(CALCULATORS)  # one config section per calculator
    rng = np.random.default_rng(3)
    n = 3_000
    x = rng.normal(size=(n, 2))
    proba = 1 / (1 + np.exp(-x[:, 0]))
    y = (rng.random(n) < proba).astype(int)
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "p": proba, "y_pred": (proba > 0.5).astype(int), "y": y})
    # every calculator on, the one that is off by default (concept shift) too
    monitor = seismo.Monitor("binary", y_pred_proba="p", y_pred="y_pred", y_true="y", features=["a", "b"],
                             chunk_size=500, calculators={n: True for n, s in CALCULATORS.items() if not s.default})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        report = monitor.fit(frame).run(frame)
    assert list(monitor.calculators_) == list(CALCULATORS)
    assert list(report.results) == list(CALCULATORS)
    for name, spec in CALCULATORS.items():
        assert type(monitor.calculators_[name]).__name__ in spec.class_names, name
        assert report.results[name].calculator in spec.class_names, name
        # switched off by its config name, it is left out
        off = seismo.Monitor("binary", y_pred_proba="p", y_pred="y_pred", y_true="y", calculators={name: False})
        assert off._options(name) is None
        assert all(off._options(other) == ({} if CALCULATORS[other].default else None)
                   for other in CALCULATORS if other != name)


def test_keys_of_monitors_saved_by_0_1_read_as_todays_names():
    assert current_name("estimated") == "estimated_performance"
    assert current_name("realized") == "realized_performance"
    assert with_current_names({"estimated": 1, "realized": 2, "pca_drift": 3}) == {
        "estimated_performance": 1, "realized_performance": 2, "pca_drift": 3}


# ------------------------------------------------------------------------------ no second lists

REGISTRIES = {"metrics/registry.py", "monitor/calculators.py"}


def _literal_collections(tree: ast.AST):
    """Every list, tuple, set and dict-key literal of the module, with its string elements; ``__all__``
    lists exported function names (``mae``), not metrics, and is left out."""
    exports = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            exports.add(id(node.value))
    for node in ast.walk(tree):
        if id(node) in exports:
            continue
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            elements = node.elts
        elif isinstance(node, ast.Dict):
            elements = [k for k in node.keys if k is not None]
        else:
            continue
        strings = {e.value for e in elements if isinstance(e, ast.Constant) and isinstance(e.value, str)}
        yield node.lineno, strings


def test_no_module_outside_the_registries_lists_metric_or_calculator_names():
    metric_names = set(METRICS)
    calculator_names = set(CALCULATORS) | {"estimated", "realized"}
    found = []
    for path in sorted(SRC.rglob("*.py")):
        where = path.relative_to(SRC).as_posix()
        if where in REGISTRIES:
            continue
        for line, strings in _literal_collections(ast.parse(path.read_text(encoding="utf-8"))):
            if len(strings & metric_names) >= 2 or len(strings & calculator_names) >= 2:
                found.append(f"{where}:{line}: {sorted(strings & (metric_names | calculator_names))}")
    assert found == []
