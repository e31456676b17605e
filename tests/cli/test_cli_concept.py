"""Concept shift from the CLI: `calculators.concept_shift` in the config runs it, its rows reach the
store (with the chunk's realized value in the store's own column), and the report rebuilt from the
store gives the same decomposition as the live run."""

from __future__ import annotations

import numpy as np
import pandas as pd
from cli_data import write_config

from seismo.cli.jobs import run_job, stored_report
from seismo.store import ResultsStore

CONCEPT = {"calculators.concept_shift": {"enabled": True, "n_resamples": 6, "metrics": ["accuracy", "roc_auc"]},
           "calculators.univariate_drift": False, "calculators.data_quality": False}


def test_a_config_runs_concept_shift_and_the_store_keeps_its_rows(workspace):
    # the last three analysis chunks: repayment no longer follows income where debt is high (a new concept)
    analysis = pd.read_parquet(workspace / "analysis.parquet")
    targets = pd.read_parquet(workspace / "targets.parquet")
    rng = np.random.default_rng(7)
    late = (analysis["id"] >= analysis["id"].iloc[len(analysis) // 2]) & (analysis["debt"] > 1.0)
    flipped = targets["id"].isin(analysis.loc[late, "id"])
    targets.loc[flipped, "repaid"] = (rng.random(int(flipped.sum())) < 0.5).astype(int)
    targets.to_parquet(workspace / "targets.parquet")
    run_job(write_config(workspace, CONCEPT))
    url = f"sqlite:///{workspace / 'seismo.db'}"
    with ResultsStore(url) as store:
        stored = store.results("loans")
    rows = stored[stored["calculator"] == "concept_shift"]
    assert set(rows["metric"]) == {"accuracy", "roc_auc", "magnitude"}
    analysis_rows = rows[rows["period"] == "analysis"]
    assert analysis_rows["realized"].notna().sum() == 2 * analysis_rows["chunk_index"].nunique()
    assert {"trust", "labelled_rows", "label_coverage"} <= set(analysis_rows.columns)
    report = stored_report(url, "loans")
    assert "concept_shift" in report.results
    rebuilt = report.decomposition()
    assert len(rebuilt) == 2 * analysis_rows["chunk_index"].nunique()
    np.testing.assert_allclose(rebuilt["realized_change"],
                               rebuilt["covariate"] + rebuilt["concept"] + rebuilt["remainder"], atol=1e-12)
    late_chunks = rebuilt[(rebuilt["metric"] == "roc_auc") & (rebuilt["chunk_index"] >= 3)]
    assert (late_chunks["concept"] < 0).all()


def test_concept_shift_off_keeps_the_fit_hash_and_on_changes_it(tmp_path):
    from seismo.cli.config.reading import load_config

    base = load_config(write_config(tmp_path)).fit_hash()
    off = load_config(write_config(tmp_path, {"calculators.concept_shift": {"enabled": False, "n_splits": 4}}))
    assert off.fit_hash() == base  # nothing of it is fitted: no refit on upgrade or for its options alone
    on = load_config(write_config(tmp_path, {"calculators.concept_shift": True}))
    assert on.fit_hash() != base and on.monitor_kwargs()["calculators"]["concept_shift"] is True
