"""`Report.decomposition()` on planted shifts: each part lands where it was planted, or the miss is pinned.

The scenarios and their truths are those of ``benchmarks/scenarios/decomposition.py`` (pure
covariate shift, pure concept shift and both, for a binary classifier with CBPE and a regressor
with DLE); ``benchmarks/decomposition.py`` runs them over 5 seeds (its table is in the closing
note of issue 15). Here one seed (0) per problem type: a reference of 20,000 rows, chunks of
2,000 and `CHUNKS` analysis chunks per scenario. A part "lies within k SE of its truth" when the
mean of the part over the scenario's chunks does, in units of the mean sampling error the
decomposition reports: one number per scenario and metric, robust to one unlucky chunk.

What holds (seed 0, `CHUNKS` chunks), and what does not:

* pure concept shift: the covariate part is within 2 SE of 0 in every chunk, the concept part
  within 2 SE of the truth on average and in at least 80% of the chunks (binary: in every chunk,
  all named "concept" and all alerting); no chunk names another cause, but for regression rmse
  only half or more name "concept" (the others "none": its SE is about 40% of the planted part);
* both: the covariate part within 2 SE of its truth, the remainder within 2 SE of the true
  interaction; the concept part within 2 SE for binary but only within 3 SE for regression
  (MAE -2.14 SE on this seed: 0.113 against 0.190; 5 seeds pooled: 0.167, -0.46 SE);
* pure covariate shift: the covariate part within 2 SE of its truth, every chunk naming
  "covariate"; the concept part within 2 SE of 0 on average and ConceptShift silent on
  accuracy, mae and rmse;
* **miss**: pure covariate shift, binary. The concept part leaks the covariate shift: on this
  seed one of 6 chunks raises a concept alert on ROC AUC (-0.032); over 3 seeds the leak is
  -0.017 accuracy and -0.021 ROC AUC on average (1.6 and 2.0 SE), 42% / 58% of the chunks lie
  beyond 2 SE and 4 of 12 chunks alert on ROC AUC. A chunk whose inputs moved has few rows where
  the reference has many (here low x2, where x1 separates the classes best), so its concept model
  extrapolates there. Every such chunk is marked trust "low" (its `reference_support`, the share
  of reference inputs in its range, is 80-86% against the reference chunks' 92%):
  `test_binary_covariate_leak_is_flagged_low_trust`; `test_binary_covariate_leak_stays_bounded`
  pins how large the leak may get.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from decomposition import run_decomposition  # noqa: E402
from scenarios.decomposition import DECOMPOSITION_SCENARIOS  # noqa: E402

SEED = 0
CHUNKS = 6


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """Every scenario's decomposition rows (seed 0), truths beside them."""
    return pd.concat([run_decomposition(name, SEED, n_chunks=CHUNKS) for name in DECOMPOSITION_SCENARIOS],
                     ignore_index=True)


def _scenario(rows: pd.DataFrame, name: str, metric: str) -> pd.DataFrame:
    out = rows[(rows["scenario"] == name) & (rows["metric"] == metric)]
    assert len(out) == CHUNKS, out
    return out


def _truth(g: pd.DataFrame, part: str) -> float:
    return float(g["true_interaction" if part == "remainder" else f"true_{part}"].iloc[0])


def _mean_z(g: pd.DataFrame, part: str) -> float:
    """(mean part - truth) / mean SE over the scenario's chunks."""
    return float((g[part].mean() - _truth(g, part)) / g[f"{part}_se"].mean())


def _chunk_z(g: pd.DataFrame, part: str) -> np.ndarray:
    return ((g[part] - _truth(g, part)) / g[f"{part}_se"]).to_numpy()


def _show(g: pd.DataFrame) -> str:
    return "\n" + g[["chunk_index", "metric", "realized_change", "covariate", "covariate_se", "concept", "concept_se",
                     "remainder", "remainder_se", "true_covariate", "true_concept", "true_interaction",
                     "main_cause", "concept_alert"]].round(4).to_string()


METRICS = {"binary": ("accuracy", "roc_auc"), "regression": ("mae", "rmse")}
CASES = [(problem, metric) for problem, metrics in METRICS.items() for metric in metrics]


def test_truths_are_planted_apart():
    """The scenarios' truths: a 0 where nothing was planted, a clear change where something was."""
    from scenarios.decomposition import truth

    for problem, metrics in METRICS.items():
        for metric in metrics:
            covariate = truth(f"{problem}_pure_covariate")[metric]
            concept = truth(f"{problem}_pure_concept")[metric]
            both = truth(f"{problem}_both")[metric]
            assert covariate["concept"] == 0.0 and concept["covariate"] == 0.0
            assert abs(concept["interaction"]) < 1e-3 and covariate["interaction"] == 0.0
            assert abs(covariate["covariate"]) > 0.06 and abs(concept["concept"]) > 0.06
            assert both["covariate"] == covariate["covariate"] and both["concept"] == concept["concept"]
    # worse in every planted case: accuracy and AUC fall, losses rise
    assert truth("binary_both")["accuracy"]["realized"] == pytest.approx(-0.1027, abs=2e-3)
    assert truth("regression_both")["mae"]["realized"] == pytest.approx(0.5096, abs=2e-3)


#: how many mean SEs the concept part may lie from its truth when both shifts are planted: 3 for regression,
#: where seed 0 misses 2 (MAE: 0.113 against 0.190, -2.14 SE;
#: over 5 seeds 0.167, -0.46 SE, benchmarks/decomposition.py)
BOTH_CONCEPT_BAND = {"binary": 2.0, "regression": 3.0}


@pytest.mark.parametrize("problem, metric", CASES)
def test_pure_concept_shift_lands_in_the_concept_part(rows, problem, metric):
    g = _scenario(rows, f"{problem}_pure_concept", metric)
    assert np.all(np.abs(_chunk_z(g, "covariate")) <= 2.0), _show(g)
    assert abs(_mean_z(g, "concept")) <= 2.0, _show(g)
    assert np.mean(np.abs(_chunk_z(g, "concept")) <= 2.0) >= 0.8, _show(g)
    assert abs(_mean_z(g, "remainder")) <= 2.0, _show(g)
    # no chunk blames another part; the concept part is clear of noise in most chunks (rmse: in half of them,
    # its sampling error is about 40% of the planted 0.24, so a chunk near the truth sits near 2 SE)
    assert g["main_cause"].isin(["concept", "none"]).all(), _show(g)
    assert (g["main_cause"] == "concept").mean() >= (0.5 if metric == "rmse" else 0.8), _show(g)


@pytest.mark.parametrize("metric", METRICS["binary"])
def test_binary_pure_concept_every_chunk_within_two_se_and_named(rows, metric):
    g = _scenario(rows, "binary_pure_concept", metric)
    assert np.all(np.abs(_chunk_z(g, "concept")) <= 2.0), _show(g)
    assert (g["main_cause"] == "concept").all(), _show(g)
    assert g["concept_alert"].all(), _show(g)
    assert g["concept"].mean() == pytest.approx(_truth(g, "concept"), abs=0.01), _show(g)


@pytest.mark.parametrize("problem, metric", CASES)
def test_both_shifts_land_in_their_parts(rows, problem, metric):
    g = _scenario(rows, f"{problem}_both", metric)
    assert abs(_mean_z(g, "covariate")) <= 2.0, _show(g)
    assert np.all(np.abs(_chunk_z(g, "covariate")) <= 3.0), _show(g)
    assert abs(_mean_z(g, "concept")) <= BOTH_CONCEPT_BAND[problem], _show(g)
    assert abs(_mean_z(g, "remainder")) <= 2.0, _show(g)  # the remainder holds the shifts' interaction


@pytest.mark.parametrize("problem, metric", CASES)
def test_pure_covariate_shift_lands_in_the_covariate_part(rows, problem, metric):
    g = _scenario(rows, f"{problem}_pure_covariate", metric)
    assert abs(_mean_z(g, "covariate")) <= 2.0, _show(g)
    assert (g["main_cause"] == "covariate").all(), _show(g)


@pytest.mark.parametrize("problem, metric", [c for c in CASES if c[0] == "regression"])
def test_pure_covariate_shift_leaves_the_concept_part_at_zero(rows, problem, metric):
    g = _scenario(rows, f"{problem}_pure_covariate", metric)
    assert abs(_mean_z(g, "concept")) <= 2.0, _show(g)
    assert np.mean(np.abs(_chunk_z(g, "concept")) <= 2.0) >= 0.8, _show(g)
    assert not g["concept_alert"].any(), _show(g)


@pytest.mark.parametrize("metric", METRICS["binary"])
def test_binary_covariate_leak_is_flagged_low_trust(rows, metric):
    """The binary leak (module docstring) is never reported as trusted: every covariate-shifted chunk's concept
    impact has trust "low", while the pure concept chunks, whose inputs did not move, keep "ok"."""
    shifted = _scenario(rows, "binary_pure_covariate", metric)
    assert (shifted["concept_trust"] == "low").all(), _show(shifted)
    assert shifted["concept_alert"].sum() <= 2, _show(shifted)
    assert (_scenario(rows, "binary_pure_concept", metric)["concept_trust"] == "ok").all()


@pytest.mark.parametrize("metric", METRICS["binary"])
def test_binary_covariate_leak_stays_bounded(rows, metric):
    """The miss above, no larger than it is now: within 2 SE of 0 on average on this seed, under 0.02 in the
    metric's units, and under a fifth of the covariate part it comes from."""
    g = _scenario(rows, "binary_pure_covariate", metric)
    assert abs(_mean_z(g, "concept")) <= 2.0, _show(g)
    assert abs(g["concept"].mean()) < 0.02, _show(g)
    assert abs(g["concept"].mean()) < 0.2 * abs(g["covariate"].mean()), _show(g)
