"""docs/api.md is the contract: its table of exported names is exactly `seismo.__all__`, each
name resolves, the `Result.to_df()` columns it lists are `RESULT_COLUMNS` in order, and the
names that left `__all__` still work with a `FutureWarning`."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

import seismo
from seismo.drift.methods import DRIFT_METHODS
from seismo.engine.result import RESULT_COLUMNS

API = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def section(title: str) -> str:
    """The text of the ``## title`` section of docs/api.md, up to the next ``## `` heading."""
    text = API.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def first_cells(text: str) -> list[str]:
    """The backticked first cell of every table row in ``text``."""
    return re.findall(r"^\| `([^`]+)` \|", text, re.M)


def test_the_documented_names_are_exactly_seismo_all():
    documented = first_cells(section("Every exported name"))
    assert len(documented) == len(set(documented)), "a name is documented twice"
    assert sorted(documented) == sorted(seismo.__all__)
    assert len(seismo.__all__) == len(set(seismo.__all__)) == 34


def test_every_exported_name_resolves():
    missing = [name for name in seismo.__all__ if not hasattr(seismo, name)]
    assert missing == []
    kinds = dict(re.findall(r"^\| `([^`]+)` \| (\w+) \|", section("Every exported name"), re.M))
    for name, kind in kinds.items():
        value = getattr(seismo, name)
        if kind == "error":
            assert issubclass(value, seismo.SeismoError), name
        elif kind == "warning":
            assert issubclass(value, Warning), name
        elif kind == "function":
            assert callable(value) and not isinstance(value, type), name


def test_the_result_columns_are_documented_in_order():
    assert first_cells(section("`Result`"))[: len(RESULT_COLUMNS)] == RESULT_COLUMNS


def test_drift_methods_left_all_and_still_work_with_a_warning():
    assert "DRIFT_METHODS" not in seismo.__all__ and "register" not in seismo.__all__
    with pytest.warns(FutureWarning, match=r"seismo\.DRIFT_METHODS is not part of the public API .* "
                                           r"read seismo\.drift\.methods\.DRIFT_METHODS"):
        table = seismo.DRIFT_METHODS
    assert table is DRIFT_METHODS and "psi" in table
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="module 'seismo' has no attribute 'not_a_name'"):
            seismo.not_a_name  # the attribute lookup itself is what is tested
