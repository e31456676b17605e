"""Hostile model, column and category names go through the results store and the SQL sources as
data: every query is parameterised (SQLAlchemy Core), so each name round-trips exactly and no
table is harmed, on SQLite and on a real PostgreSQL (tests/pg_server.py)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import seismo
from seismo.cli import sources
from seismo.cli.config import build_config
from seismo.store import ResultsStore

DROP = "x'; DROP TABLE results; --"
NAMES = [DROP, 'a"b', "semi;colon", "back\\slash", "ünï © 😀", "<script>alert(1)</script>", "per%cent _under",
         ":colon", "x" * 200]  # 200 characters: the longest name the store's schema holds


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_server").create_database()


@pytest.fixture(scope="module")
def hostile_results() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    columns = NAMES[:4]
    frame = pd.DataFrame(rng.normal(size=(400, 4)), columns=columns)
    frame[NAMES[4]] = rng.choice(NAMES, 400)  # category values are names too
    drift = seismo.UnivariateDrift(columns=[*columns, NAMES[4]], chunk_size=200, methods=["jensen_shannon"],
                                   n_resamples=5).fit(frame).calculate(frame)
    df = drift.to_df().assign(calculator="univariate_drift")
    df[NAMES[5]] = np.resize(np.array(NAMES, dtype=object), len(df))  # an extra column, hostile name and values
    return df


def test_hostile_names_round_trip_through_the_store(store_url, hostile_results):
    with ResultsStore(store_url) as store:
        tables = set(sa.inspect(store.engine).get_table_names())
        store.commit_run(store.begin_run("innocent", "h"), "innocent", hostile_results)
        for model in NAMES:
            run = store.begin_run(model, DROP, settings={DROP: NAMES})
            store.commit_run(run, model, hostile_results, state={name: name.encode() for name in NAMES})
        assert set(store.models()) == {"innocent", *NAMES}
        for model in (DROP, NAMES[-1]):
            read = store.results(model)
            assert len(read) == len(hostile_results)
            assert sorted(read[NAMES[5]]) == sorted(hostile_results[NAMES[5]])
            assert set(read["column"]) == set(hostile_results["column"])
            picked = store.results(model, column=DROP)
            assert len(picked) == int((hostile_results["column"] == DROP).sum()) > 0
            assert store.load_state(model) == {name: name.encode() for name in NAMES}
        assert set(store.runs(DROP)["model"]) == {DROP}
        assert len(store.results("innocent")) == len(hostile_results)  # untouched
        assert set(sa.inspect(store.engine).get_table_names()) == tables


def test_hostile_column_and_category_names_come_back_from_a_sql_source(tmp_path):
    frame = pd.DataFrame({name: [name, f"{name}2"] for name in NAMES[:6]})
    with sqlite3.connect(tmp_path / "data.db") as conn:
        frame.to_sql("scores", conn, index=False)
    source = {"url": f"sqlite:///{tmp_path / 'data.db'}", "query": "SELECT * FROM scores"}
    tree = {"model": {"name": DROP, "problem_type": "binary", "y_pred_proba": NAMES[1]},
            "data": {"reference": source, "analysis": source}}
    config, problems = build_config(tree, tmp_path, env={})
    assert problems == []
    assert sources.row_count(config, "analysis") == 2
    sample = sources.sample(config, "analysis", rows=1)
    assert sample.column_names == NAMES[:6] and sample.column(DROP).to_pylist() == [DROP]
    assert sources.column(config, "analysis", DROP).to_pylist() == [DROP, f"{DROP}2"]
    with sqlite3.connect(tmp_path / "data.db") as conn:
        assert conn.execute("SELECT count(*) FROM scores").fetchone() == (2,)
