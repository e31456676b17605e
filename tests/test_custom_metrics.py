"""Custom metrics (`seismo.metrics.register`): realized, estimated by CBPE and DLE, saved and loaded,
and declared in a CLI config. Realized values are checked against scikit-learn's confusion
matrices and numpy by hand; estimates against the realized value within their confidence band.

Every test leaves the registry as it found it (the autouse fixture unregisters what it added).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import warnings
from collections.abc import Iterator

import custom_metric_functions as funcs
import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
import yaml
from typer.testing import CliRunner

import seismo
from seismo.errors import InvalidConfiguration, InvalidData, PersistError
from seismo.metrics import METRICS, custom_metrics, metrics_for, register, unregister
from seismo.metrics.registry import row_losses_by_name
from seismo.persist import load, save

CHUNK = 1_000


@pytest.fixture(autouse=True)
def clean_registry():
    """Unregister every custom metric a test registered, however it ended."""
    before = set(custom_metrics())
    yield
    for name in set(custom_metrics()) - before:
        unregister(name)
    assert set(METRICS) - set(custom_metrics()) >= {"roc_auc", "mae"}  # the built-in ones stay


def binary_frame(n: int, seed: int, shifts: np.ndarray | float = 0.0) -> pd.DataFrame:
    """A binary model whose scores are calibrated by construction: labels are drawn from them.
    ``shifts``: the mean of feature x, per row (covariate shift moves rows along the score)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, n) + shifts
    z = rng.normal(0.0, 1.0, n)
    p = 1.0 / (1.0 + np.exp(-(1.5 * x - 0.3)))
    y = (rng.random(n) < p).astype(int)
    return pd.DataFrame({"x": x, "z": z, "p": p, "y_pred": (p > 0.5).astype(int), "y": y})


def chunk_rows(df: pd.DataFrame, i: int, size: int = CHUNK) -> pd.DataFrame:
    return df.iloc[i * size:(i + 1) * size]


def analysis_rows(result: seismo.Result, metric: str) -> pd.DataFrame:
    df = result.to_df()
    return df[(df["period"] == "analysis") & (df["metric"] == metric)].sort_values("chunk_index")


def hand_cost(rows: pd.DataFrame) -> float:
    cm = skm.confusion_matrix(rows["y"], rows["y_pred"], labels=[0, 1])
    return float(funcs.FN_COST * cm[1, 0] + funcs.FP_COST * cm[0, 1])


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Without seismo's data warnings (e.g. CBPE's scores that are the labels themselves)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        yield


# ---------------------------------------------------------------------------------------- declaring


def test_a_registered_metric_joins_the_defaults_of_its_problem_types_only():
    spec = register("cost", funcs.cost, higher_is_better=False, extensive=True)
    assert spec is METRICS["cost"] and not spec.higher_is_better
    assert metrics_for("binary")[-1] == "cost" and "cost" in metrics_for("multiclass")
    assert "cost" not in metrics_for("regression")
    assert spec.scaling({}) == ("extensive", None)  # a total grows with the chunk
    register("tol", loss=funcs.beyond_tolerance, higher_is_better=False)
    assert METRICS["tol"].scaling({}) == ("location", None)  # a mean is a rate
    assert metrics_for("regression")[-1] == "tol" and "tol" not in metrics_for("binary")
    assert row_losses_by_name()["tol"] is METRICS["tol"].loss  # DLE's loss model finds it by name
    assert custom_metrics()["cost"].paths == {"confusion": "custom_metric_functions:cost"}
    unregister("cost")
    assert "cost" not in METRICS and "cost" not in metrics_for("binary")


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(name="accuracy", confusion=funcs.cost), r"'accuracy' is a built-in metric"),
    (dict(name="abs_error", loss=funcs.beyond_tolerance), r"names a value seismo already reports"),
    (dict(name="true_positive", confusion=funcs.cost), r"names a value seismo already reports"),
    (dict(name="true_a_pred_b", confusion=funcs.cost), r"names a value seismo already reports"),
    (dict(name="my cost", confusion=funcs.cost), r"use letters, digits and underscores"),
    (dict(name="cost"), r"give exactly one of confusion=, per_class= .* got none"),
    (dict(name="cost", confusion=funcs.cost, loss=funcs.beyond_tolerance), r"got confusion, loss"),
    (dict(name="cost", confusion=funcs.cost, finish=math.sqrt), r"finish= applies to a loss= metric"),
    (dict(name="cost", confusion="custom_metric_functions:cost"), r"confusion= is a str, not a function"),
    (dict(name="cost", confusion=funcs.cost, problem_types=["regression"]),
     r"problem_types is \['regression'\]; a confusion metric is for binary and/or multiclass"),
    (dict(name="tol", loss=funcs.beyond_tolerance, problem_types="binary"), r"a loss metric is for regression"),
    (dict(name="cost", confusion=funcs.cost, lower_bound=1.0, upper_bound=0.0), r"lower_bound 1 is not below"),
    (dict(name="cost", confusion=funcs.cost, upper_bound=float("inf")), r"upper_bound is inf; give a finite"),
])
def test_bad_declarations_say_what_is_wrong(kwargs, message):
    name = kwargs.pop("name")
    with pytest.raises(InvalidConfiguration, match=message):
        register(name, higher_is_better=False, **kwargs)
    assert name not in custom_metrics()


def test_registering_again_is_a_no_op_with_the_same_functions_and_an_error_with_others():
    first = register("cost", funcs.cost, higher_is_better=False)
    again = register("cost", funcs.cost, higher_is_better=False)
    assert again.finish == first.finish  # the same declaration
    with pytest.raises(InvalidConfiguration, match=r"'cost' is already registered .*pass replace=True"):
        register("cost", lambda m: m[0, 1], higher_is_better=False)
    with pytest.raises(InvalidConfiguration, match=r"already registered"):
        register("cost", funcs.cost, higher_is_better=True)  # other options
    register("cost", lambda m: m[0, 1], higher_is_better=False, replace=True)
    assert custom_metrics()["cost"].paths == {"confusion": None}  # a lambda has no import path
    with pytest.raises(InvalidConfiguration, match=r"'roc_auc' is a built-in metric; only custom"):
        unregister("roc_auc")
    with pytest.raises(InvalidConfiguration, match=r"'nope' is not a registered custom metric"):
        unregister("nope")
    unregister("nope", missing_ok=True)


# ---------------------------------------------------------------------------------------- realized


def test_realized_cost_and_per_class_metric_equal_sklearn_counts_per_chunk():
    register("cost", funcs.cost, higher_is_better=False, extensive=True)
    register("miss_rate", per_class=funcs.miss_rate, higher_is_better=False, lower_bound=0.0, upper_bound=1.0)
    reference, analysis = binary_frame(6_000, 1), binary_frame(5_500, 2, shifts=0.8)
    calc = seismo.RealizedPerformance("binary", y_pred_proba="p", y_pred="y_pred", y_true="y", chunk_size=CHUNK,
                                      n_resamples=20)
    result = calc.fit(reference).calculate(analysis)
    assert {"cost", "miss_rate", "roc_auc"} <= set(calc.metrics_)  # the defaults include them
    cost, miss = analysis_rows(result, "cost"), analysis_rows(result, "miss_rate")
    assert len(cost) == 6  # the last chunk holds 500 rows
    for i, (value, rate) in enumerate(zip(cost["value"], miss["value"])):
        rows = chunk_rows(analysis, i)
        assert value == hand_cost(rows)
        assert rate == pytest.approx(1.0 - skm.recall_score(rows["y"], rows["y_pred"]), abs=1e-12)  # class 1's
    # extensive: the half-size chunk's bounds are about half those of a full chunk; a rate's stay put
    full, half = cost.iloc[0], cost.iloc[-1]
    assert 0.4 < half["upper_threshold"] / full["upper_threshold"] < 0.6
    assert half["sampling_error"] / full["sampling_error"] == pytest.approx(math.sqrt(0.5), rel=1e-6)
    full_rate, half_rate = miss.iloc[0], miss.iloc[-1]
    assert half_rate["sampling_error"] / full_rate["sampling_error"] == pytest.approx(math.sqrt(2), rel=1e-6)


def multiclass_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 3)) * 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    truth = (rng.random((n, 1)) > proba.cumsum(axis=1)).sum(axis=1).clip(0, 2)
    labels = np.array(["a", "b", "c"])
    df = pd.DataFrame({f"p_{lab}": proba[:, i] for i, lab in enumerate(labels)})
    df["y"] = labels[truth]
    df["y_pred"] = labels[proba.argmax(axis=1)]
    return df


def test_a_multiclass_per_class_metric_is_the_macro_mean_of_sklearn_per_class_counts():
    register("miss_rate", per_class=funcs.miss_rate, higher_is_better=False)
    register("weighted_errors", lambda m: float(m[0, 1] + 2 * m[2, 0]), higher_is_better=False, extensive=True,
             problem_types=["multiclass"])
    labels = ["a", "b", "c"]
    reference, analysis = multiclass_frame(6_000, 1), multiclass_frame(3_000, 2)
    calc = seismo.RealizedPerformance("multiclass", y_pred_proba={lab: f"p_{lab}" for lab in labels},
                                      y_pred="y_pred", y_true="y", chunk_size=CHUNK, metrics=["miss_rate",
                                                                                            "weighted_errors"],
                                      n_resamples=20)
    result = calc.fit(reference).calculate(analysis)
    miss, weighted = analysis_rows(result, "miss_rate"), analysis_rows(result, "weighted_errors")
    for i in range(3):
        rows = chunk_rows(analysis, i)
        cm = skm.confusion_matrix(rows["y"], rows["y_pred"], labels=labels)
        tp, fn = np.diag(cm), cm.sum(axis=1) - np.diag(cm)
        assert miss["value"].iloc[i] == pytest.approx(np.mean(fn / (tp + fn)), abs=1e-12)
        assert miss["value"].iloc[i] == pytest.approx(
            1 - skm.recall_score(rows["y"], rows["y_pred"], labels=labels, average="macro"), abs=1e-12)
        assert weighted["value"].iloc[i] == cm[0, 1] + 2 * cm[2, 0]  # rows: true class, in y_pred_proba's order


def test_a_function_returning_the_wrong_shape_is_named():
    register("bad", per_class=lambda tp, fp, fn, tn: 0.5, higher_is_better=False)
    reference = binary_frame(2_000, 1)
    calc = seismo.RealizedPerformance("binary", y_pred_proba="p", y_pred="y_pred", y_true="y", chunk_size=CHUNK,
                                      metrics=["bad"], n_resamples=5)
    with pytest.raises(InvalidConfiguration, match=r"custom metric 'bad': its per_class function returned shape "
                                                   r"\(\); return one value per class \(2\)"), quiet():
        calc.fit(reference)


# ---------------------------------------------------------------------------------------- estimated


def test_cbpe_of_oracle_scores_without_calibration_equals_the_realized_custom_metric():
    """Scores equal to the labels: the expected confusion matrix is the realized one, cell for cell."""
    register("cost", funcs.cost, higher_is_better=False, extensive=True)
    reference, analysis = binary_frame(4_000, 1), binary_frame(4_000, 2, shifts=0.5)
    for frame in (reference, analysis):
        frame["oracle"] = frame["y"].astype(float)
    estimator = seismo.CBPE("binary", y_pred_proba="oracle", y_pred="y_pred", y_true="y", chunk_size=CHUNK,
                            calibration=None, metrics=["cost"], trust=False, n_resamples=20)
    with quiet():
        rows = analysis_rows(estimator.fit(reference).estimate(analysis), "cost")
    assert len(rows) == 4
    np.testing.assert_array_equal(rows["value"].to_numpy(), rows["realized"].to_numpy())
    assert list(rows["value"]) == [hand_cost(chunk_rows(analysis, i)) for i in range(4)]


@pytest.mark.parametrize("estimator_class", [seismo.CBPE, seismo.PAPE])
def test_cbpe_and_pape_estimate_the_custom_metric_within_its_band_under_covariate_shift(estimator_class):
    register("cost", funcs.cost, higher_is_better=False, extensive=True)
    register("miss_rate", per_class=funcs.miss_rate, higher_is_better=False, lower_bound=0.0, upper_bound=1.0)
    n_chunks = 10
    shifts = np.repeat(np.linspace(0.0, 1.5, n_chunks), 2 * CHUNK)
    reference, analysis = binary_frame(20_000, 1), binary_frame(len(shifts), 2, shifts=shifts)
    estimator = estimator_class("binary", y_pred_proba="p", y_pred="y_pred", y_true="y", chunk_size=2 * CHUNK,
                                features=["x", "z"], metrics=["cost", "miss_rate"], trust=False, n_resamples=50)
    with quiet():
        result = estimator.fit(reference).estimate(analysis)
    for metric in ("cost", "miss_rate"):
        rows = analysis_rows(result, metric)
        assert len(rows) == n_chunks
        realized = [hand_cost(chunk_rows(analysis, i, 2 * CHUNK)) for i in range(n_chunks)]
        if metric == "cost":
            assert list(rows["realized"]) == realized
            assert realized[-1] < 0.8 * realized[0]  # the shift moves the cost: the estimate has to follow it
        inside = ((rows["realized"] >= rows["lower_confidence"]) & (rows["realized"] <= rows["upper_confidence"]))
        assert int(inside.sum()) >= n_chunks - 1, rows[["value", "realized", "lower_confidence", "upper_confidence"]]
        assert (rows["sampling_error"] > 0).all()


def regression_frame(n: int, seed: int) -> pd.DataFrame:
    """A model predicting x1 of a target whose noise grows with |x2|: the loss depends on x2."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = x1 + rng.normal(size=n) * (0.3 + 0.6 * np.abs(x2))
    return pd.DataFrame({"x1": x1, "x2": x2, "y": y, "y_pred": x1})


def test_a_tolerance_loss_is_realized_by_hand_and_estimated_by_dle_within_its_band():
    register("beyond_tol", loss=funcs.beyond_tolerance, higher_is_better=False, lower_bound=0.0)
    register("root_beyond_tol", loss=funcs.beyond_tolerance, finish=math.sqrt, higher_is_better=False)
    reference, analysis = regression_frame(6_000, 1), regression_frame(6_000, 2)
    realized = seismo.RealizedPerformance("regression", y_pred="y_pred", y_true="y", chunk_size=CHUNK,
                                          n_resamples=20)
    with quiet():  # msle and rmsle are skipped: the targets reach below -1
        realized.fit(reference)
    assert realized.metrics_[-2:] == ["beyond_tol", "root_beyond_tol"]  # after the built-in defaults
    result = realized.calculate(analysis)
    mean, root = analysis_rows(result, "beyond_tol"), analysis_rows(result, "root_beyond_tol")
    for i in range(6):
        rows = chunk_rows(analysis, i)
        by_hand = np.mean(np.maximum(np.abs(rows["y_pred"] - rows["y"]) - funcs.TOLERANCE, 0.0))
        assert mean["value"].iloc[i] == pytest.approx(by_hand, rel=1e-12)
        assert root["value"].iloc[i] == pytest.approx(math.sqrt(by_hand), rel=1e-12)

    dle = seismo.DLE(y_pred="y_pred", y_true="y", features=["x1", "x2"], chunk_size=CHUNK, metrics=["beyond_tol"],
                     trust=False, n_resamples=20, n_splits=3)
    with quiet():
        estimated = analysis_rows(dle.fit(reference).estimate(analysis), "beyond_tol")
    assert list(dle.loss_model_.boosters_) == ["beyond_tol"]  # the loss model learned the custom loss
    np.testing.assert_allclose(estimated["realized"], mean["value"], rtol=1e-12)
    inside = (estimated["realized"] >= estimated["lower_confidence"]) & (
        estimated["realized"] <= estimated["upper_confidence"])
    assert int(inside.sum()) >= 5, estimated[["value", "realized", "lower_confidence", "upper_confidence"]]
    assert (abs(estimated["value"] - estimated["realized"]) < 0.25 * estimated["realized"]).all()


def test_a_negative_loss_is_refused_with_the_metric_named():
    register("signed", loss=lambda y_true, y_pred: y_pred - y_true, higher_is_better=False)
    calc = seismo.RealizedPerformance("regression", y_pred="y_pred", y_true="y", chunk_size=CHUNK,
                                      metrics=["signed"], n_resamples=5)
    with pytest.raises(InvalidData, match=r"custom metric 'signed': its loss function returned \d+ negative or "
                                          r"non-finite losses"), quiet():
        calc.fit(regression_frame(2_000, 1))


# ---------------------------------------------------------------------------------------- saving


def fitted_cbpe() -> tuple[seismo.CBPE, pd.DataFrame]:
    reference, analysis = binary_frame(4_000, 1), binary_frame(3_000, 2, shifts=0.5)
    estimator = seismo.CBPE("binary", y_pred_proba="p", y_pred="y_pred", y_true="y", chunk_size=CHUNK,
                            metrics=["cost", "accuracy"], trust=False, n_resamples=20)
    with quiet():
        estimator.fit(reference)
    return estimator, analysis


def rewrite_state(directory, change) -> None:
    """Edit state.json and reseal the manifest (its checksums are not a signature)."""
    state = json.loads((directory / "state.json").read_text())
    change(state)
    data = json.dumps(state).encode()
    (directory / "state.json").write_bytes(data)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["files"]["state.json"] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_a_saved_estimator_declares_its_custom_metric_and_loads_back(tmp_path):
    register("cost", funcs.cost, higher_is_better=False, extensive=True)
    estimator, analysis = fitted_cbpe()
    with quiet():
        expected = estimator.estimate(analysis).to_df()
    save(estimator, tmp_path / "cbpe")
    state = json.loads((tmp_path / "cbpe" / "state.json").read_text())
    assert state["custom_metrics"] == [{
        "name": "cost", "kind": "confusion", "functions": {"confusion": "custom_metric_functions:cost"},
        "higher_is_better": False, "lower_bound": None, "upper_bound": None, "problem_types": ["binary", "multiclass"],
        "extensive": True}]
    assert "def cost" not in (tmp_path / "cbpe" / "state.json").read_text()  # a path, never code

    with quiet():  # registered as saved: it loads as any save does
        pd.testing.assert_frame_equal(load(tmp_path / "cbpe", expect=seismo.CBPE).estimate(analysis).to_df(),
                                      expected)
    unregister("cost")
    with pytest.raises(PersistError, match=r"custom metric 'cost' \(confusion=custom_metric_functions:cost\) is not "
                                           r"registered in this session\. Loading imports no module"):
        load(tmp_path / "cbpe")
    assert "cost" not in METRICS
    loaded = load(tmp_path / "cbpe", expect=seismo.CBPE, import_metrics=True)  # trusting the file: imported
    assert custom_metrics()["cost"].functions["confusion"] is funcs.cost
    with quiet():
        pd.testing.assert_frame_equal(loaded.estimate(analysis).to_df(), expected)


def test_a_saved_monitor_with_a_custom_metric_loads_with_import_metrics(tmp_path):
    """`Monitor.load(..., import_metrics=True)` imports the metric a save names; without it, the metric must be
    registered already."""
    register("cost", funcs.cost, higher_is_better=False, extensive=True)
    rng = np.random.default_rng(11)
    x = rng.normal(size=3_000)
    p = 1 / (1 + np.exp(-2 * x))
    frame = pd.DataFrame({"x": x, "p": p, "pred": (p > 0.5).astype(int), "y": (rng.random(3_000) < p).astype(int)})
    monitor = seismo.Monitor("binary", y_pred_proba="p", y_pred="pred", y_true="y", features=["x"], chunk_size=500,
                             metrics=["cost"], calculators={"univariate_drift": False, "data_quality": False,
                                                            "pca_drift": False, "domain_classifier_drift": False})
    with quiet():
        expected = monitor.fit(frame).run(frame).results["realized_performance"].to_df()
    monitor.save(tmp_path / "monitor")
    unregister("cost")
    with pytest.raises(PersistError, match="custom metric 'cost'"):
        seismo.Monitor.load(tmp_path / "monitor")
    loaded = seismo.Monitor.load(tmp_path / "monitor", import_metrics=True)
    with quiet():
        pd.testing.assert_frame_equal(loaded.run(frame).results["realized_performance"].to_df(), expected)


def test_a_metric_computed_by_a_lambda_refuses_to_save(tmp_path):
    register("cost", lambda m: 5 * m[1, 0] + m[0, 1], higher_is_better=False, extensive=True)
    estimator, _ = fitted_cbpe()
    with pytest.raises(PersistError, match=r"cannot save: custom metric 'cost' is computed by confusion=<no import "
                                           r"path: \S*<lambda>>, and confusion has no import path.*Move the function into an importable module"):
        save(estimator, tmp_path / "cbpe")
    assert not (tmp_path / "cbpe" / "manifest.json").exists()  # nothing written
    unused = seismo.RealizedPerformance("binary", y_pred_proba="p", y_pred="y_pred", y_true="y",
                                        metrics=["accuracy"])
    save(unused, tmp_path / "other")  # an object that does not name the metric saves as ever
    assert "custom_metrics" not in json.loads((tmp_path / "other" / "state.json").read_text())


def test_a_save_whose_metric_path_was_edited_fails_to_load_naming_metric_and_path(tmp_path):
    register("cost", funcs.cost, higher_is_better=False, extensive=True)
    estimator, _ = fitted_cbpe()
    save(estimator, tmp_path / "cbpe")

    def elsewhere(state):
        state["custom_metrics"][0]["functions"]["confusion"] = "no_such_module:cost"
    rewrite_state(tmp_path / "cbpe", elsewhere)
    with pytest.raises(PersistError, match=r"custom metric 'cost' was saved as \(confusion=no_such_module:cost; .* "
                                           r"registered in this session as \(confusion=custom_metric_functions:cost"):
        load(tmp_path / "cbpe")
    unregister("cost")
    with pytest.raises(PersistError, match=r"saved custom metric 'cost' cannot be restored from "
                                           r"confusion=no_such_module:cost: .*module 'no_such_module' cannot be "
                                           r"imported"):
        load(tmp_path / "cbpe", import_metrics=True)
    assert "cost" not in METRICS  # a refused file registers nothing

    def missing_function(state):
        state["custom_metrics"][0]["functions"]["confusion"] = "custom_metric_functions:no_such_function"
    rewrite_state(tmp_path / "cbpe", missing_function)
    with pytest.raises(PersistError, match=r"module 'custom_metric_functions' has no 'no_such_function'"):
        load(tmp_path / "cbpe", import_metrics=True)


# ---------------------------------------------------------------------------------------- CLI


def write_cli_case(folder, custom: list[dict]) -> tuple:
    reference, analysis = binary_frame(3_000, 1), binary_frame(2_000, 2, shifts=0.5)
    for frame, start in ((reference, "2024-01-01"), (analysis, "2024-06-01")):
        frame["timestamp"] = pd.date_range(start, periods=len(frame), freq="h")
    reference.to_parquet(folder / "reference.parquet", index=False)
    analysis.to_parquet(folder / "analysis.parquet", index=False)
    config = {
        "model": {"name": "loans", "problem_type": "binary", "y_pred_proba": "p", "y_pred": "y_pred", "y_true": "y",
                  "timestamp": "timestamp", "features": ["x", "z"]},
        "data": {"reference": "reference.parquet", "analysis": "analysis.parquet"},
        "chunking": {"chunk_size": CHUNK},
        "custom_metrics": custom,
        "calculators": {"realized_performance": {"metrics": ["cost", "accuracy"]},
                        "estimated_performance": {"metrics": ["cost"]},
                        "univariate_drift": False, "pca_drift": False, "domain_classifier_drift": False,
                        "data_quality": False},
    }
    path = folder / "monitor.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path, analysis


def test_a_cli_config_declares_a_custom_metric_and_the_store_holds_it(tmp_path):
    from seismo.cli.app import app
    from seismo.store import ResultsStore

    custom = [{"name": "cost", "confusion": "custom_metric_functions:cost", "higher_is_better": False,
               "extensive": True}]
    path, analysis = write_cli_case(tmp_path, custom)
    out = CliRunner().invoke(app, ["run", "-c", str(path), "--json", "--fail-on", "none"])
    assert out.exit_code == 0, out.output
    with ResultsStore(f"sqlite:///{tmp_path / 'seismo.db'}") as store:
        stored = store.results("loans")
    rows = stored[(stored["metric"] == "cost") & (stored["period"] == "analysis")]
    realized = rows[rows["calculator"] == "realized_performance"].sort_values("chunk_index")
    estimated = rows[rows["calculator"] == "estimated_performance"].sort_values("chunk_index")
    by_hand = [hand_cost(chunk_rows(analysis, i)) for i in range(2)]
    assert list(realized["value"]) == by_hand
    assert list(estimated["realized"]) == by_hand and estimated["value"].notna().all()

    out = CliRunner().invoke(app, ["run", "-c", str(path), "--json", "--fail-on", "none"])  # the saved monitor
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["refitted"] is False


def test_a_cli_config_with_an_unimportable_metric_is_a_config_error_naming_the_entry(tmp_path):
    from seismo.cli.app import app

    custom = [{"name": "cost", "confusion": "custom_metric_functions:no_such_function", "higher_is_better": False}]
    path, _ = write_cli_case(tmp_path, custom)
    out = CliRunner().invoke(app, ["run", "-c", str(path)])
    assert out.exit_code == 2
    text = " ".join(out.output.split())
    assert "custom_metrics[0].confusion: 'custom_metric_functions:no_such_function': module " \
           "'custom_metric_functions' has no 'no_such_function'" in text
    assert "realized_performance.metrics" not in text  # the metric is not blamed again where it is used
    assert "cost" not in METRICS
