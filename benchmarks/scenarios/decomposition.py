"""Scenarios for `Report.decomposition()`: pure covariate shift, pure concept shift, and both, with the truth.

The decomposition splits a chunk's realized performance change into a covariate part (the
label-free estimate's change: the reference concept on the chunk's inputs), a concept part
(`ConceptShift`'s impact: the chunk's concept on the reference inputs) and a remainder. To
check that each part lands where it was planted, these generators plant one shift or both,
and `truth` computes what each part should be from the data-generating probabilities and
means on a large sample, not from labels:

* covariate part: the performance under the reference concept on the shifted inputs, minus
  on the reference inputs;
* concept part: the performance under the chunk's concept on the reference inputs, minus under
  the reference concept;
* interaction (what the remainder should hold besides noise): the realized change's expectation
  minus both, i.e. the part of the concept change that depends on where the inputs went.

The monitored models are oracles of the reference concept (the classifier's probability *is*
P_ref(y = 1 | x); the regressor's prediction is a fixed function), so every truth is exact up
to the Monte Carlo error of `TRUTH_ROWS` rows, and CBPE's calibration assumption holds on the
reference concept wherever the inputs go.

Binary (features x1..x4, all N(0, 1) in the reference):

* reference concept: logit = 0.5 + slope(x2) * x1, slope(x2) = 0.4 + 2.6 * sigmoid(-2 x2),
  so x1 separates the classes well where x2 is low and poorly where it is high;
* covariate shift: x2's mean moves by +1 (`BINARY_X2_SHIFT`): the inputs move to where the
  model is weaker; P(y | x) unchanged;
* concept shift: where x3 > 1 (16% of the rows) x1's effect flips sign (logit =
  0.5 - slope(x2) * x1); inputs unchanged.

Regression (same features):

* reference concept: y = 2 x1 + x2² + noise, noise sd 0.8 + 0.6 sigmoid(2 x4); the model
  predicts 2 x1 + 0.5 x2² + 0.5, so it underfits the curvature and its error grows with |x2|;
* covariate shift: x2's mean moves by +1 (`REGRESSION_X2_SHIFT`);
* concept shift: where x3 > 0.5 (31% of the rows) y's mean rises by `REGRESSION_CONCEPT_STEP`.

Both x3 regions are independent of the covariate shift, so the two parts are planted apart;
the interaction is still not 0 (a flipped x1 costs less where x1 separates the classes less,
a mean step costs less MAE where the error is already large) and `truth` gives it.

``reference(problem_type, seed, n)`` and ``analysis(name, seed, n)`` draw the frames (the
three scenarios of one problem type share the reference of a seed, so a benchmark fits one
monitor per problem type and seed); `generate` returns both like every scenario of this package.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from scenarios.common import FEATURES, START, sigmoid

BINARY_X2_SHIFT = 1.0
BINARY_CONCEPT_REGION = 1.0  # x3 above this: x1's effect flips
REGRESSION_X2_SHIFT = 1.0
REGRESSION_CONCEPT_REGION = 0.5  # x3 above this: the mean steps up
REGRESSION_CONCEPT_STEP = 1.5
#: rows of the large sample every truth is computed on (its Monte Carlo error is far below any SE here)
TRUTH_ROWS = 1_000_000
BINARY_METRICS = ["accuracy", "roc_auc"]
REGRESSION_METRICS = ["mae", "rmse"]


@dataclass(frozen=True)
class DecompositionScenario:
    """One planted shift: which of the two moves (``covariate``, ``concept``) for a problem type."""

    name: str
    problem_type: str  # "binary" | "regression"
    covariate: bool
    concept: bool
    description: str

    @property
    def metrics(self) -> list[str]:
        return BINARY_METRICS if self.problem_type == "binary" else REGRESSION_METRICS

    @property
    def planted(self) -> str:
        return {(True, False): "covariate", (False, True): "concept", (True, True): "both"}[
            (self.covariate, self.concept)]


DECOMPOSITION_SCENARIOS: dict[str, DecompositionScenario] = {
    s.name: s for s in (
        DecompositionScenario("binary_pure_covariate", "binary", True, False,
                              "x2 mean +1 (x1 separates the classes less there); P(y|x) fixed"),
        DecompositionScenario("binary_pure_concept", "binary", False, True,
                              "x1's effect flips where x3 > 1; inputs fixed"),
        DecompositionScenario("binary_both", "binary", True, True, "both of the above"),
        DecompositionScenario("regression_pure_covariate", "regression", True, False,
                              "x2 mean +1 (the model underfits x2's curvature); y|x fixed"),
        DecompositionScenario("regression_pure_concept", "regression", False, True,
                              "y's mean +1.5 where x3 > 0.5; inputs fixed"),
        DecompositionScenario("regression_both", "regression", True, True, "both of the above"),
    )
}


# -- the data-generating process ---------------------------------------------------------------------

def _inputs(rng: np.random.Generator, n: int, x2_shift: float = 0.0) -> pd.DataFrame:
    frame = pd.DataFrame({name: rng.normal(size=n) for name in FEATURES})
    frame["x2"] += x2_shift
    return frame


def binary_logit(frame: pd.DataFrame, concept: bool = False) -> np.ndarray:
    """The true log-odds of y = 1: the reference concept, or the shifted one (``concept``)."""
    x1, x2, x3 = (frame[c].to_numpy(dtype=float) for c in ("x1", "x2", "x3"))
    effect = (0.4 + 2.6 * sigmoid(-2.0 * x2)) * x1
    if concept:
        effect = np.where(x3 > BINARY_CONCEPT_REGION, -effect, effect)
    return 0.5 + effect


def regression_mean(frame: pd.DataFrame, concept: bool = False) -> np.ndarray:
    """E[y | x] under the reference concept or the shifted one (``concept``)."""
    x1, x2, x3 = (frame[c].to_numpy(dtype=float) for c in ("x1", "x2", "x3"))
    mean = 2.0 * x1 + x2**2
    return mean + REGRESSION_CONCEPT_STEP * (x3 > REGRESSION_CONCEPT_REGION) if concept else mean


def regression_noise_sd(frame: pd.DataFrame) -> np.ndarray:
    return 0.8 + 0.6 * sigmoid(2.0 * frame["x4"].to_numpy(dtype=float))


def regression_prediction(frame: pd.DataFrame) -> np.ndarray:
    """The monitored regressor: right about x1, half of x2's curvature."""
    x1, x2 = frame["x1"].to_numpy(dtype=float), frame["x2"].to_numpy(dtype=float)
    return 2.0 * x1 + 0.5 * x2**2 + 0.5


def _label(frame: pd.DataFrame, problem_type: str, concept: bool, rng: np.random.Generator) -> pd.DataFrame:
    if problem_type == "binary":
        proba = sigmoid(binary_logit(frame))  # the model: the reference concept itself
        frame["y"] = (rng.random(len(frame)) < sigmoid(binary_logit(frame, concept))).astype(np.int64)
        frame["y_pred_proba"] = proba
        frame["y_pred"] = (proba >= 0.5).astype(np.int64)
    else:
        frame["y"] = regression_mean(frame, concept) + regression_noise_sd(frame) * rng.normal(size=len(frame))
        frame["y_pred"] = regression_prediction(frame)
    return frame


def reference(problem_type: str, seed: int = 0, n: int = 20_000) -> pd.DataFrame:
    """The labelled reference of a problem type (shared by its three scenarios)."""
    rng = np.random.default_rng([seed, 0])
    frame = _label(_inputs(rng, n), problem_type, False, rng)
    frame.insert(0, "timestamp", pd.date_range(START, periods=n, freq="min"))
    return frame


def analysis(name: str, seed: int = 0, n: int = 8_000) -> pd.DataFrame:
    """The labelled analysis of a scenario: every row carries its planted shift(s)."""
    s = DECOMPOSITION_SCENARIOS[name]
    rng = np.random.default_rng([seed, 1 + list(DECOMPOSITION_SCENARIOS).index(name)])
    shift = (BINARY_X2_SHIFT if s.problem_type == "binary" else REGRESSION_X2_SHIFT) if s.covariate else 0.0
    frame = _label(_inputs(rng, n, shift), s.problem_type, s.concept, rng)
    frame.insert(0, "timestamp", pd.date_range(START + pd.Timedelta(days=365), periods=n, freq="min"))
    return frame


def generate(name: str, seed: int = 0, n_reference: int = 20_000, n_analysis: int = 8_000):
    """``(reference, analysis)`` of a decomposition scenario, both labelled."""
    return reference(DECOMPOSITION_SCENARIOS[name].problem_type, seed, n_reference), analysis(name, seed, n_analysis)


# -- the truth -------------------------------------------------------------------------------------------

def soft_roc_auc(score: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC when row i is positive with probability ``positive[i]`` (the expected AUC of a large sample):
    P(score of a positive > score of a negative), pairs weighted by p_i (1 - p_j). Scores are continuous."""
    order = np.argsort(score, kind="stable")
    p = positive[order]
    negatives_below = np.cumsum(1.0 - p) - (1.0 - p)
    return float(np.sum(p * negatives_below) / (p.sum() * (1.0 - p).sum()))


def _binary_performance(frame: pd.DataFrame, concept: bool) -> dict[str, float]:
    proba = sigmoid(binary_logit(frame))
    y_pred = proba >= 0.5
    truth = sigmoid(binary_logit(frame, concept))
    return {"accuracy": float(np.mean(np.where(y_pred, truth, 1.0 - truth))),
            "roc_auc": soft_roc_auc(proba, truth)}


def _folded_mean(mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """E|mu + sd Z| for Z ~ N(0, 1)."""
    return sd * np.sqrt(2.0 / np.pi) * np.exp(-0.5 * (mu / sd) ** 2) + mu * (1.0 - 2.0 * norm.cdf(-mu / sd))


def _regression_performance(frame: pd.DataFrame, concept: bool) -> dict[str, float]:
    error = regression_mean(frame, concept) - regression_prediction(frame)  # y - prediction, before the noise
    sd = regression_noise_sd(frame)
    return {"mae": float(np.mean(_folded_mean(error, sd))), "rmse": float(np.sqrt(np.mean(error**2 + sd**2)))}


@functools.lru_cache(maxsize=None)
def truth(name: str, rows: int = TRUTH_ROWS) -> dict[str, dict[str, float]]:
    """Per metric: the expected ``covariate`` and ``concept`` parts, their ``interaction`` and the expected
    ``realized`` change (their sum), from the data-generating process on ``rows`` rows per input distribution."""
    s = DECOMPOSITION_SCENARIOS[name]
    rng = np.random.default_rng(12345)
    shift = (BINARY_X2_SHIFT if s.problem_type == "binary" else REGRESSION_X2_SHIFT) if s.covariate else 0.0
    ref_x = _inputs(rng, rows)
    new_x = ref_x.assign(x2=ref_x["x2"] + shift)  # the same draws moved: no Monte Carlo noise in a 0
    perf = _binary_performance if s.problem_type == "binary" else _regression_performance
    base, moved = perf(ref_x, False), perf(new_x, False)
    reconcept, both = perf(ref_x, s.concept), perf(new_x, s.concept)
    out = {}
    for metric in s.metrics:
        covariate, concept = moved[metric] - base[metric], reconcept[metric] - base[metric]
        realized = both[metric] - base[metric]
        out[metric] = {"covariate": covariate, "concept": concept, "interaction": realized - covariate - concept,
                       "realized": realized}
    return out
