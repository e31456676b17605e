"""Schema versions: created once, migrated step by step, a newer schema refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from store_data import make_results

from seismo.store import SCHEMA_VERSION, ResultsStore, StoreError
from seismo.store.tables import MIGRATIONS, migrate


def _versions(url: str) -> list[int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        versions = list(conn.execute(sa.text("SELECT version FROM schema_version ORDER BY version")).scalars())
    engine.dispose()
    return versions


def test_a_new_store_is_at_the_current_version_and_reopening_changes_nothing(store_url: str):
    ResultsStore(store_url).close()
    with ResultsStore(store_url) as store:
        assert store.schema_version == SCHEMA_VERSION
    assert _versions(store_url) == list(range(1, SCHEMA_VERSION + 1))


def test_a_new_step_runs_once_on_an_existing_store_and_keeps_its_data(store_url: str):
    with ResultsStore(store_url) as store:
        store.commit_run(store.begin_run("m", "h"), "m", make_results(1))

    def add_note(conn: sa.Connection) -> None:
        conn.execute(sa.text("ALTER TABLE runs ADD COLUMN note VARCHAR(100)"))

    engine = sa.create_engine(store_url)
    try:
        assert migrate(engine, "test", [*MIGRATIONS, add_note]) == SCHEMA_VERSION + 1
        assert migrate(engine, "test", [*MIGRATIONS, add_note]) == SCHEMA_VERSION + 1  # would fail if re-run
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*), max(note) FROM runs")).one() == (1, None)
    finally:
        engine.dispose()
    assert _versions(store_url) == list(range(1, SCHEMA_VERSION + 2))
    # This seismo only knows SCHEMA_VERSION steps: it must not touch the newer store.
    with pytest.raises(StoreError, match=rf"has schema version {SCHEMA_VERSION + 1}, newer than the version "
                                         rf"{SCHEMA_VERSION} this seismo .* knows; upgrade seismo"):
        ResultsStore(store_url)


def test_tables_not_made_by_seismo_are_left_alone(store_url: str):
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE results (x INTEGER)"))
    engine.dispose()
    with pytest.raises(StoreError, match=r"already has tables \['results'\] but no seismo schema_version"):
        ResultsStore(store_url)


def test_a_plain_postgresql_url_uses_psycopg_3(postgres_server):
    url = postgres_server.create_database().replace("postgresql+psycopg://", "postgresql://")
    with ResultsStore(url) as store:
        assert store.engine.dialect.driver == "psycopg" and store.models() == []


def test_a_version_1_store_gains_the_indexes_every_run_reads_and_keeps_its_rows(store_url: str):
    """Version 2 adds only indexes (the alerting rows, the last chunk's end): a store written at
    version 1 opens at the current version with its rows unchanged, and the indexes are there
    (version 3, the segment column, has its own test in test_segments_store.py)."""
    engine = sa.create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    assert migrate(engine, "test", MIGRATIONS[:1]) == 1
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO models (name, created_at) VALUES ('m', CURRENT_TIMESTAMP)")
    engine.dispose()
    with ResultsStore(store_url) as store:
        assert store.schema_version == SCHEMA_VERSION == 4 and store.models() == ["m"]
        indexes = {ix["name"] for ix in sa.inspect(store.engine).get_indexes("results")}
        assert {"ix_results_alert", "ix_results_end"} <= indexes
        written = make_results(2)
        store.commit_run(store.begin_run("m", "h"), "m", written)
        assert len(store.results("m")) == len(written)
    assert _versions(store_url) == [1, 2, 3, 4]
