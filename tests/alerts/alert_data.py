"""A model log whose drift starts and ends, chunk by chunk, for the alert tests (conftest.py's `log`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))  # cli_data: the CLI tests' small model log

from cli_data import make_log, write_config  # noqa: E402

DRIFT_ONLY = {"calculators.estimated_performance": False, "calculators.realized_performance": False,
              "calculators.data_quality": False, "calculators.univariate_drift": {"methods": ["jensen_shannon"]}}


class Log:
    """A workspace whose analysis file grows run by run: stable, drifted or stable again, 250-row chunks."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.parts: list[pd.DataFrame] = []
        make_log(1500, seed=1).to_parquet(folder / "reference.parquet", index=False)
        self.config = write_config(folder, DRIFT_ONLY, drop=("data.targets",))

    def add(self, chunks: int, shift: float = 0.0) -> None:
        first = sum(len(p) for p in self.parts)
        start = pd.Timestamp("2024-03-01") + pd.Timedelta(hours=first)
        self.parts.append(make_log(250 * chunks, seed=10 + len(self.parts), shift=shift, start=str(start),
                                   first_id=10_000 + first))
        pd.concat(self.parts, ignore_index=True).drop(columns=["repaid"]).to_parquet(
            self.folder / "analysis.parquet", index=False)

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.folder / 'seismo.db'}"

