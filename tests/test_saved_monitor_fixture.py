"""A monitor saved by seismo 0.1.0 keeps loading, and gives the same numbers.

The fixture (`tests/fixtures/saved_monitor_0_1_0/`, written once by
`tests/fixtures/make_saved_monitor.py` before the layout move) holds a fitted `Monitor` of the
synthetic credit data, the analysis rows and labels, and the report it gave then. Moving
modules must not break old saves: the persist allowlist maps old class paths to new ones.
"""

from __future__ import annotations

import importlib
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from closeness import assert_close_by_metric

import seismo

FIXTURE = Path(__file__).parent / "fixtures" / "saved_monitor_0_1_0"
NUMBERS = ["value", "sampling_error", "lower_threshold", "upper_threshold", "realized"]
# The domain classifier and CBPE's trust diagnostics (the trust columns, not compared) train
# LightGBM at run time, which is not bit-reproducible across machines; every number compared
# here is computed from the saved state.
RUN_TIME_FITS = {"domain_classifier_drift"}


@pytest.fixture(scope="module")
def reports():
    monitor = seismo.Monitor.load(FIXTURE / "monitor")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        now = monitor.run(pd.read_parquet(FIXTURE / "analysis.parquet"),
                          targets=pd.read_parquet(FIXTURE / "targets.parquet")).to_df()
    return now, pd.read_parquet(FIXTURE / "report.parquet")


def test_the_saved_monitor_loads_as_a_monitor():
    assert type(seismo.Monitor.load(FIXTURE / "monitor")) is seismo.Monitor


def test_the_same_rows_and_alerts(reports):
    now, then = reports
    keys = ["calculator", "chunk_key", "period", "column", "metric"]
    assert now[keys].astype(str).values.tolist() == then[keys].astype(str).values.tolist()
    kept = ~then["calculator"].isin(RUN_TIME_FITS)
    assert now.loc[kept, "alert"].tolist() == then.loc[kept, "alert"].tolist()
    assert len(then) == 610 and then["alert"].sum() > 0  # the fixture is not trivially quiet


def test_the_same_numbers(reports):
    now, then = reports
    for calculator, rows in then.groupby("calculator"):
        if calculator in RUN_TIME_FITS:
            continue
        mine = now.loc[rows.index]
        for column in NUMBERS:
            if calculator == "pca_drift":  # BLAS products: good to ~1e-12 relative on any machine
                np.testing.assert_allclose(mine[column].astype(float), rows[column].astype(float),
                                           rtol=1e-7, equal_nan=True, err_msg=f"{calculator} {column}")
            else:
                assert_close_by_metric(mine[column], rows[column], rows["metric"], err_msg=f"{calculator} {column}")


def test_format_1_class_names_are_mapped_to_the_moved_modules_and_format_2_names_are_not():
    from seismo.persist.classes import MOVED_IN_FORMAT_2, resolve

    state = json.loads((FIXTURE / "monitor" / "state.json").read_text())
    saved = set(_class_names(state))
    assert "seismo.monitor:Monitor" in saved  # the fixture really is in the old layout
    moved = {name.split(":")[0] for name in saved} & set(MOVED_IN_FORMAT_2)
    assert {"seismo.monitor", "seismo.calculator", "seismo.drift.domain_fit", "seismo.quality", "seismo.schema"} <= moved
    for name in sorted(saved):
        if name.startswith("seismo."):
            assert resolve(name, format_version=1).__qualname__ == name.split(":")[1]
    assert resolve("seismo.monitor:Monitor", format_version=1) is seismo.Monitor
    with pytest.raises(seismo.errors.PersistError, match=r"'seismo.monitor:Monitor' does not exist"):
        resolve("seismo.monitor:Monitor", format_version=2)  # today's package of that name holds no class
    for old, new in MOVED_IN_FORMAT_2.items():
        assert importlib.import_module(new).__name__ == new and old != new


def _class_names(node) -> list[str]:
    """Every class name a saved state.json holds (the values of its "class" and "type" tags)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and ":" in value and value.startswith(("seismo.", "lightgbm.", "sklearn.")):
                found.append(value)
            else:
                found.extend(_class_names(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_class_names(value))
    return found
