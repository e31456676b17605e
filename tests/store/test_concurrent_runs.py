"""Concurrent writers (issue 12, item 4): ten `seismo run` processes at once on PostgreSQL, four on
SQLite, some of them on the same model. None hangs, no result is lost, and a run refused because
another run of its model is alive says so and writes nothing.

The processes are forked from one that imported seismo (fault_worker.py `together`): real,
separate processes with their own connections, without ten interpreter start-ups.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))
from cli_data import make_log, write_config  # noqa: E402

from seismo.cli.jobs import run_job  # noqa: E402
from seismo.store import ResultsStore  # noqa: E402

WORKER = str(Path(__file__).with_name("fault_worker.py"))
KEYS = ["calculator", "period", "chunk_key", "column", "metric"]
HANG = 180  # seconds: far beyond a run here (about one); a process still running then is hung
# The store and the job runner are under test, not the calculators: a light monitor (no CBPE with
# its LightGBM fits, one drift method) lets ten runs share two cores.
LIGHT = {"calculators.estimated_performance": False, "calculators.univariate_drift.methods": ["jensen_shannon"],
         "calculators.data_quality.metrics": ["missing_rate", "row_count"]}


def _folder(folder: Path) -> None:
    make_log(1500, seed=1).to_parquet(folder / "reference.parquet", index=False)
    analysis = make_log(1500, seed=2, shift=0.5, start="2024-03-01", first_id=10_000)
    analysis.drop(columns=["repaid"]).to_parquet(folder / "analysis.parquet", index=False)
    analysis[["id", "repaid"]].to_parquet(folder / "targets.parquet", index=False)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(KEYS, na_position="first", kind="stable").reset_index(drop=True)


@pytest.mark.parametrize(("backend", "models"), [
    ("sqlite", ["m0", "m1", "m2", "m0"]),
    ("postgresql", ["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m0", "m0"]),
])
def test_concurrent_seismo_runs_lose_nothing_and_hang_nowhere(request, tmp_path, backend, models):
    _folder(tmp_path)
    url = (f"sqlite:///{tmp_path / 'shared.db'}" if backend == "sqlite"
           else request.getfixturevalue("postgres_server").create_database())
    ResultsStore(url).close()  # the schema exists before the race (opening it concurrently is tested elsewhere)
    configs = [str(write_config(tmp_path, {**LIGHT, "model.name": m, "store": url}, name=f"{m}.yaml")) for m in models]
    warmup = write_config(tmp_path, {**LIGHT, "model.name": "warmup", "store": f"sqlite:///{tmp_path / 'warm.db'}"},
                          name="warmup.yaml")
    done = subprocess.run([sys.executable, WORKER, "together", str(warmup), str(HANG), *configs],
                          capture_output=True, text=True, timeout=HANG + 120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    ended = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(ended) == len(models)
    assert not [e for e in ended if e["ended"] == "hung"], ended

    solo = run_job(write_config(tmp_path, {**LIGHT, "model.name": "solo", "store": url}, name="solo.yaml"))
    with ResultsStore(url) as store:
        expected = _sorted(store.results("solo")).drop(columns="run_id", errors="ignore")
        for model in dict.fromkeys(models):
            mine = [e for e in ended if Path(e["config"]).stem == model]
            ran = [e for e in mine if e["ended"] in ("exited 0", "exited 1")]
            refused = [e for e in mine if e not in ran]
            # a process is refused only because another run of its model was alive, and says so
            assert all(e["ended"] == "exited 2" and "already being monitored" in e["output"] for e in refused), refused
            assert ran and (len(mine) == 1 or len(ran) >= 1)
            runs = store.runs(model)
            assert runs["status"].tolist() == ["succeeded"] * len(ran)  # refused runs wrote no row at all
            stored = _sorted(store.results(model)).drop(columns="run_id", errors="ignore")
            pd.testing.assert_frame_equal(stored, expected, check_exact=False, rtol=1e-9)
    assert solo.rows > 0
