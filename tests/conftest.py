"""Shared synthetic data for the calculator tests."""

from __future__ import annotations

import pandas as pd
import pytest
from synthetic import make_frame  # noqa: F401  (tests import it from here too)


@pytest.fixture(scope="session")
def reference() -> pd.DataFrame:
    return make_frame(20_000, seed=1)


@pytest.fixture(scope="session")
def analysis() -> pd.DataFrame:
    return make_frame(20_000, seed=3, start="2024-06-01")


# A real PostgreSQL server for the store tests (started on first use, one per xdist worker).
from pg_server import postgres_server, postgres_url  # noqa: E402, F401
