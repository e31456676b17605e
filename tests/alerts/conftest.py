"""Fixtures of the alert tests: a model log whose drift starts and ends, run by `seismo run`'s job."""

from __future__ import annotations

from pathlib import Path

import pytest
from alert_data import Log


@pytest.fixture
def log(tmp_path: Path) -> Log:
    return Log(tmp_path)
