"""SQL sources are sampled and counted through SQLAlchemy Core, so each database gets its own
row-limit syntax (LIMIT, TOP, FETCH FIRST) and alias rule, and the real thing runs on SQLite."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from cli_data import write_config
from sqlalchemy.dialects import mssql, oracle, postgresql

from seismo.cli import sources
from seismo.cli.config import load_config


@pytest.fixture
def sql_config(workspace):
    with sqlite3.connect(workspace / "scores.db") as conn:
        pd.read_parquet(workspace / "analysis.parquet").to_sql("scores", conn, index=False)
    source = {"url": f"sqlite:///{workspace / 'scores.db'}", "query": "SELECT * FROM scores ORDER BY timestamp;"}
    return load_config(write_config(workspace, {"data.analysis": source}, drop=("data.targets",), name="sql.yaml"))


def test_sample_and_count_run_on_sqlite(sql_config, workspace):
    frame = pd.read_parquet(workspace / "analysis.parquet")
    assert sources.row_count(sql_config, "analysis") == len(frame)
    first = sources.sample(sql_config, "analysis", rows=7)
    assert first.num_rows == 7 and first.column("id").to_pylist() == frame["id"].head(7).tolist()


@pytest.mark.parametrize("dialect, limit, alias", [
    (mssql.dialect(), "SELECT TOP __[POSTCOMPILE_param_1]", ") AS seismo_source"),
    (oracle.dialect(), "FETCH FIRST __[POSTCOMPILE_param_1] ROWS ONLY", ") seismo_source"),
    (postgresql.dialect(), "LIMIT %(param_1)s", ") AS seismo_source"),
])
def test_each_database_gets_its_own_limit_syntax(sql_config, dialect, limit, alias):
    sql = str(sources._first_rows(sql_config, "analysis", 7).compile(dialect=dialect))
    assert limit in sql and alias in sql and ";" not in sql
    count = str(sources._count(sql_config, "analysis").compile(dialect=dialect))
    assert "count(*)" in count and alias in count


def test_colons_in_the_query_reach_the_database_as_written(workspace):
    """A time literal ('… 10:30:00') or any ':word' inside the query is SQL, not a bind parameter:
    read, sampled and counted as written (it failed with "A value is required for bind parameter")."""
    frame = pd.read_parquet(workspace / "analysis.parquet")
    with sqlite3.connect(workspace / "scores.db") as conn:
        frame.assign(timestamp=frame["timestamp"].astype(str), note="at:noon").to_sql("scores", conn, index=False)
    cut = str(frame["timestamp"].iloc[100])
    assert cut.endswith(":00:00")
    query = f"SELECT * FROM scores WHERE timestamp >= '{cut}' AND note = 'at:noon' ORDER BY timestamp"
    config = load_config(write_config(workspace, {"data.analysis": {"url": f"sqlite:///{workspace / 'scores.db'}",
                                                                     "query": query}},
                                      drop=("data.targets",), name="colons.yaml"))
    expected = int((frame["timestamp"].astype(str) >= cut).sum())
    assert len(sources.read(config, "analysis")) == expected == sources.row_count(config, "analysis")
    assert sources.sample(config, "analysis", rows=3).column("timestamp").to_pylist()[0] == cut
    cast = sources._verbatim("SELECT x::int FROM t WHERE s = 'a:b'").compile(dialect=postgresql.dialect())
    assert str(cast) == "SELECT x::int FROM t WHERE s = 'a:b'" and not cast.params
