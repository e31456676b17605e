"""Fixtures of the CLI tests: a folder holding a small model log (see cli_data.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cli_data import make_log


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """reference (1,500 rows), analysis (1,500 rows, drifted in its second half) and its labels."""
    reference = make_log(1500, seed=1)
    stable = make_log(750, seed=2, start="2024-03-01", first_id=10_000)
    drifted = make_log(750, seed=3, shift=1.5, start="2024-04-02", first_id=10_750)
    analysis = pd.concat([stable, drifted], ignore_index=True)
    reference.to_parquet(tmp_path / "reference.parquet", index=False)
    analysis.drop(columns=["repaid"]).to_parquet(tmp_path / "analysis.parquet", index=False)
    analysis[["id", "repaid"]].to_parquet(tmp_path / "targets.parquet", index=False)
    return tmp_path
