"""Faults: runs killed with SIGKILL at seeded points, on SQLite and PostgreSQL (issue 12, item 4).

Whatever the point a run is killed at, afterwards every run is `succeeded` or `failed` (a
dead `running` one is marked failed by the next run), no chunk is stored twice, what is stored
is exactly what the succeeded runs wrote, and the next run completes the work. Half the kills
land at the store's pause points (deterministic: the test knows what each must leave), half
after a seeded random delay within one run's duration (anywhere, including outside the store).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from store_data import make_results

from seismo.cli.jobs import run_job
from seismo.store import ResultsStore

WORKER = str(Path(__file__).with_name("fault_worker.py"))
KEYS = ["calculator", "period", "chunk_key", "column", "metric"]
KILLS = 50


def _worker(*args: str, timeout: float = 300) -> list[dict]:
    done = subprocess.run([sys.executable, WORKER, *args], capture_output=True, text=True, timeout=timeout,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def _replayed(runs: pd.DataFrame, first_seed: int) -> pd.DataFrame:
    """What the store must hold: each chunk as the last succeeded run that covers it wrote it."""
    kept: dict[tuple, pd.DataFrame] = {}
    for config_hash in runs.loc[runs["status"] == "succeeded", "config_hash"]:
        seed = int(config_hash.removeprefix("seed-"))
        df = make_results(3, seed=seed, first_chunk=seed - first_seed)
        for key, rows in df.groupby(["calculator", "period", "chunk_key"], sort=False):
            kept[key] = rows
    return pd.concat(kept.values(), ignore_index=True)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(KEYS, na_position="first", kind="stable").reset_index(drop=True)


def test_runs_killed_at_random_points_leave_complete_or_failed_runs_and_the_next_run_completes(store_url: str):
    ResultsStore(store_url).close()  # the schema, before the first child
    seed = 1000
    log = _worker("store", store_url, "m", str(seed), str(KILLS))
    assert len(log) == KILLS + 1
    assert not [e for e in log if e["ended"] not in ("killed", "exited 0")], \
        [e["stderr"] for e in log if e["ended"] not in ("killed", "exited 0")]

    with ResultsStore(store_url) as store:
        before = store.runs("m")
        # The next run: marks a dead `running` run failed, then completes.
        final_seed = seed + KILLS + 1
        run_id = store.begin_run("m", f"seed-{final_seed}")
        last = make_results(3, seed=final_seed, first_chunk=KILLS + 1)
        assert store.commit_run(run_id, "m", last, {"monitor": str(final_seed).encode()}) == len(last)

        runs = store.runs("m").set_index("run_id")
        assert set(runs["status"]) <= {"succeeded", "failed"}
        dead = runs[runs["status"] == "failed"]
        assert dead["message"].str.contains("ended without committing").all()
        # before the next run looked, only the newest run could still be `running` (each run marks the dead)
        assert (before["status"] == "running").sum() <= 1

        # Where each kill landed decides what its run left.
        status = {int(h.removeprefix("seed-")): s for h, s in zip(runs["config_hash"], runs["status"])}
        for entry in log:
            point = entry.get("pause_at")
            if entry["ended"] == "exited 0":
                assert status[entry["seed"]] == "succeeded"
            elif point in ("begin_run:locked", "begin_run:inserted"):
                assert entry["seed"] not in status  # the run row was never committed
            elif point == "commit_run:committed":
                assert status[entry["seed"]] == "succeeded"
            elif point is not None:
                assert status[entry["seed"]] == "failed", entry

        # Nothing lost, nothing half-written, nothing twice.
        stored = store.results("m")
        expected = _replayed(runs.reset_index(), seed)
        pd.testing.assert_frame_equal(_sorted(stored), _sorted(expected), check_exact=True)
        with store.engine.connect() as conn:
            repeated = conn.execute(sa.text(
                'SELECT count(*) FROM (SELECT 1 FROM results GROUP BY model, calculator, period, chunk_key, '
                '"column", metric HAVING count(*) > 1) AS t')).scalar()
        assert repeated == 0
        assert store.load_state("m") == {"monitor": str(final_seed).encode()}


# ------------------------------------------------------------------ `seismo run`, killed

sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))
from cli_data import make_log, write_config  # noqa: E402

JOB_KILLS = 8
# The store and the job runner are under test, not the calculators: a light monitor (no CBPE with
# its LightGBM fits, one drift method) makes a run short, so that a dozen kills stay cheap.
LIGHT = {"calculators.estimated_performance": False, "calculators.univariate_drift.methods": ["jensen_shannon"],
         "calculators.data_quality.metrics": ["missing_rate", "row_count"]}
NUMBERS = ["value", "sampling_error", "lower_confidence", "upper_confidence", "lower_threshold", "upper_threshold",
           "realized"]


def _job_folder(folder: Path, changes: dict) -> Path:
    """reference and labels, the whole analysis log (drifted in its second half) and an empty analysis/."""
    folder.mkdir()
    make_log(1500, seed=1).to_parquet(folder / "reference.parquet", index=False)
    analysis = pd.concat([make_log(750, seed=2, start="2024-03-01", first_id=10_000),
                          make_log(750, seed=3, shift=1.5, start="2024-04-02", first_id=10_750)], ignore_index=True)
    analysis.drop(columns=["repaid"]).to_parquet(folder / "all_analysis.parquet", index=False)
    analysis[["id", "repaid"]].to_parquet(folder / "targets.parquet", index=False)
    (folder / "analysis").mkdir()
    return write_config(folder, {**LIGHT, "data.analysis": "analysis", **changes})


def _stored(config: Path) -> pd.DataFrame:
    with ResultsStore(f"sqlite:///{config.parent / 'seismo.db'}") as store:
        return _sorted(store.results("loans"))


@pytest.mark.parametrize("saved_monitor", ["store", "state"])
def test_seismo_runs_killed_at_random_points_then_one_run_stores_what_one_clean_run_stores(tmp_path, saved_monitor):
    config = _job_folder(tmp_path / "killed", {"saved_monitor": saved_monitor})
    log = _worker("job", str(config), "7", str(JOB_KILLS))
    failed = [e for e in log if e["ended"] not in ("killed", "exited 0", "exited 1")]
    assert not failed, [e["stderr"] for e in failed]

    outcome = run_job(config)  # the next run: every row has arrived by now
    with ResultsStore(f"sqlite:///{config.parent / 'seismo.db'}") as store:
        runs = store.runs("loans")
    assert set(runs["status"]) <= {"succeeded", "failed"} and runs["status"].iloc[-1] == "succeeded"
    assert runs.loc[runs["status"] == "failed", "message"].str.contains("ended without committing").all()

    clean = _job_folder(tmp_path / "clean", {"saved_monitor": saved_monitor})
    shutil.copy(clean.parent / "all_analysis.parquet", clean.parent / "analysis" / "part-000.parquet")
    run_job(clean)
    killed, once = _stored(config), _stored(clean)
    pd.testing.assert_frame_equal(killed[KEYS + ["chunk_start_index", "chunk_end_index", "alert"]],
                                  once[KEYS + ["chunk_start_index", "chunk_end_index", "alert"]])
    assert set(killed.columns) == set(once.columns)
    for column in [c for c in NUMBERS if c in once.columns]:  # incremental sums are re-associated: equal to far above rounding, not bit for bit
        np.testing.assert_allclose(killed[column].astype(float), once[column].astype(float), rtol=1e-9,
                                   atol=1e-12, equal_nan=True, err_msg=column)
    assert outcome.data_until == str(pd.to_datetime(once["chunk_end_date"]).max())


def test_a_monitor_save_that_stops_half_way_leaves_the_previous_monitor_whole(tmp_path, monkeypatch):
    # A saved_monitor directory whose disk fills up (or whose process dies) after one file of the
    # new monitor: the previous monitor must stay loadable, and the next run must complete the work.
    from seismo.persist import PersistError, files

    config = _job_folder(tmp_path / "torn", {"saved_monitor": "state"})
    analysis = pd.read_parquet(config.parent / "all_analysis.parquet")
    parts = [analysis.iloc[:500], analysis.iloc[500:1000], analysis.iloc[1000:]]
    parts[0].to_parquet(config.parent / "analysis" / "part-000.parquet", index=False)
    run_job(config)
    parts[1].to_parquet(config.parent / "analysis" / "part-001.parquet", index=False)
    write, written = files.write_atomically, []

    def full_after_two_files(target: Path, content: bytes) -> None:
        if len(written) == 2:
            raise OSError(28, "No space left on device", str(target))
        written.append(target)
        write(target, content)

    monkeypatch.setattr(files, "write_atomically", full_after_two_files)
    with pytest.raises(PersistError, match="stored its results, but the saved monitor could not be written to .*"
                                          "No space left on device.*the next run recomputes"):
        run_job(config)
    monkeypatch.undo()
    parts[2].to_parquet(config.parent / "analysis" / "part-002.parquet", index=False)
    assert not run_job(config).refitted  # the previous save, whole, was loaded

    clean = _job_folder(tmp_path / "clean", {"saved_monitor": "state"})
    shutil.copy(clean.parent / "all_analysis.parquet", clean.parent / "analysis" / "part-000.parquet")
    run_job(clean)
    killed, once = _stored(config), _stored(clean)
    pd.testing.assert_frame_equal(killed[KEYS + ["chunk_start_index", "chunk_end_index", "alert"]],
                                  once[KEYS + ["chunk_start_index", "chunk_end_index", "alert"]])
    for column in [c for c in NUMBERS if c in once.columns]:
        np.testing.assert_allclose(killed[column].astype(float), once[column].astype(float), rtol=1e-9,
                                   atol=1e-12, equal_nan=True, err_msg=column)
