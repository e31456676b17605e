"""`seismo validate` reports config mistakes and data mistakes in one pass (issue 12, item 3 part 1).

Before: a config with an unknown key (``chunk_sise``) reported only that key; a column missing from
the data named elsewhere in the same file surfaced only after the first fix. Now the config less
its wrong keys is still used to look at the data wherever it names it.
"""

from __future__ import annotations

import pandas as pd
from cli_data import write_config

from seismo.cli.validate import validate


def _drop_analysis_column(workspace, column):
    path = workspace / "analysis.parquet"
    pd.read_parquet(path).drop(columns=[column]).to_parquet(path)


def test_an_unknown_key_and_a_missing_column_are_reported_together(workspace):
    _drop_analysis_column(workspace, "debt")
    path = write_config(workspace, {"chunking.chunk_sise": 250, "model.features": ["income", "debt"]},
                        drop=("chunking.chunk_size",))
    found = {(p.kind, p.where) for p in validate(path)}
    assert found == {("unknown_key", "chunking.chunk_sise"), ("missing_column", "data.analysis")}


def test_a_wrong_type_and_a_missing_reference_column_are_reported_together(workspace):
    ref = workspace / "reference.parquet"
    pd.read_parquet(ref).drop(columns=["y_pred"]).to_parquet(ref)
    problems = validate(write_config(workspace, {"chunking.chunk_size": "many"}))
    assert {(p.kind, p.where) for p in problems} == {("wrong_type", "chunking.chunk_size"),
                                                     ("missing_column", "data.reference")}
    assert "'y_pred' (model.y_pred)" in next(p.message for p in problems if p.kind == "missing_column")


def test_without_the_data_section_only_the_config_is_judged(workspace):
    problems = validate(write_config(workspace, {"chunking.chunk_sise": 250}, drop=("data.reference",)))
    assert {(p.kind, p.where) for p in problems} == {("unknown_key", "chunking.chunk_sise"),
                                                     ("missing_key", "data.reference")}
