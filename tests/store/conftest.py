"""Each store test runs against a SQLite file and against a real PostgreSQL database."""

from __future__ import annotations

import pytest

from seismo.store import ResultsStore


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A URL of an empty database: a new SQLite file, or a new database on the test server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_server").create_database()


@pytest.fixture
def store(store_url: str):
    with ResultsStore(store_url) as s:
        yield s
