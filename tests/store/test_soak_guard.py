"""The cheap guard of the soak (benchmarks/soak.py measures 10,000 runs): repeated incremental runs
in one process leave no open file behind, no growing pile of saved-monitor files, and no chunk
stored twice. Counts only: nothing here depends on timing."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import psutil
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))
from cli_data import make_log, write_config  # noqa: E402

from seismo.cli.jobs import run_job  # noqa: E402

LIGHT = {"calculators.estimated_performance": False, "calculators.univariate_drift.methods": ["jensen_shannon"],
         "calculators.data_quality.metrics": ["missing_rate", "row_count"]}


def test_repeated_runs_in_one_process_hold_no_more_files_and_store_each_chunk_once(tmp_path):
    make_log(1500, seed=1).to_parquet(tmp_path / "reference.parquet", index=False)
    analysis = make_log(1200, seed=2, start="2024-03-01", first_id=10_000)
    config = write_config(tmp_path, {**LIGHT, "saved_monitor": "state"})
    process = psutil.Process()
    open_files, saved_files = [], []
    for end in range(200, 1201, 200):  # six runs, each 200 rows further: chunks of 250 close across runs
        analysis.iloc[:end].drop(columns=["repaid"]).to_parquet(tmp_path / "analysis.parquet", index=False)
        analysis.iloc[:end][["id", "repaid"]].to_parquet(tmp_path / "targets.parquet", index=False)
        run_job(config)
        open_files.append(process.num_fds())
        saved_files.append(sorted(str(p.relative_to(tmp_path / "state")) for p in (tmp_path / "state").rglob("*")
                                  if p.is_file()))
    assert open_files[1:] == [open_files[1]] * 5, open_files  # the first run may import and open for good
    assert len({len(files) for files in saved_files}) == 1, saved_files  # the two monitor folders alternate
    assert not [f for files in saved_files for f in files if f.endswith(".tmp") or "pending" in f]

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'seismo.db'}")
    with engine.connect() as conn:
        repeated = conn.execute(sa.text('SELECT count(*) FROM (SELECT 1 FROM results GROUP BY model, calculator, '
                                        'period, chunk_key, "column", metric HAVING count(*) > 1) AS t')).scalar()
        runs = pd.read_sql("SELECT status FROM runs", conn)
        chunks = conn.execute(sa.text("SELECT count(DISTINCT chunk_key) FROM results WHERE period = 'analysis' "
                                      "AND calculator = 'data_quality'")).scalar()
    engine.dispose()
    assert repeated == 0
    assert runs["status"].tolist() == ["succeeded"] * 6
    assert chunks == 1200 // 250 + 1  # four full chunks and the open one, each once
