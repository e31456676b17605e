"""The bad-input matrix, input values (issue 12 item 1): columns, values, model outputs, late labels.

One table. Each case feeds seismo one kind of bad or awkward input and states what must happen:

* ``error``: a `seismo.errors` class raised before any statistic runs, whose message holds every
  fragment of ``match`` (the frame, the column or key, and the problem); or
* ``warns`` (a fragment of one `SeismoWarning`, with the count of rows or cells affected) and/or
  ``same_as``: the run goes on, and its result equals, number for number, the run on the clean
  equivalent of the same input (``Int64`` with ``pd.NA`` against float64 with NaN, ``"True"``
  against ``True``, ...). Equality is exact: both runs compute on identical values.

Cases already pinned elsewhere are not repeated here (docs/reliability.md lists them): a pandas
frame with two columns of one name and polars Categorical/Enum (test_robust_inputs.py), duplicate
target ids (tests/performance/test_realized.py), probabilities outside [0, 1].
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn import metrics as skm

import seismo
from seismo.data.categories import MAX_TRACKED_CATEGORIES

pl = pytest.importorskip("polars")

N = 2_000
SIZE = 500  # rows per chunk: four analysis chunks
QUICK = dict(chunk_size=SIZE, n_resamples=10)
BINARY = dict(y_pred_proba="p", y_pred="yp", y_true="y")


def _frame(seed: int, n: int = N) -> pd.DataFrame:
    """A binary model's log: a float feature, a small count, text, a flag, scores, labels and ids."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = 1.0 / (1.0 + np.exp(-x))
    return pd.DataFrame({
        "x": x, "k": rng.integers(0, 4, n), "big": rng.integers(0, 1000, n),
        "s": rng.choice(["a", "b", "c"], n), "flag": rng.random(n) < 0.3,
        "p": p, "yp": (p >= 0.5).astype(int), "y": (rng.random(n) < p).astype(int), "id": np.arange(n) + seed * n,
    })


REF, ANA = _frame(0), _frame(1)


def _drift(columns: list[str]) -> Callable[[object, object], pd.DataFrame]:
    return lambda ref, ana: seismo.UnivariateDrift(columns=columns, **QUICK).fit(ref).calculate(ana).to_df()


def _quality(columns: list[str]) -> Callable[[object, object], pd.DataFrame]:
    return lambda ref, ana: seismo.DataQuality(columns=columns, **QUICK).fit(ref).calculate(ana).to_df()


def _both(columns: list[str]) -> Callable[[object, object], pd.DataFrame]:
    """UnivariateDrift and DataQuality rows of ``columns``, one frame."""
    return lambda ref, ana: pd.concat([_drift(columns)(ref, ana), _quality(columns)(ref, ana)], ignore_index=True)


def _realized(ref, ana, **kw) -> pd.DataFrame:
    return seismo.RealizedPerformance("binary", **BINARY, id="id", **QUICK).fit(ref).calculate(ana, **kw).to_df()


def _cbpe(ref, ana) -> pd.DataFrame:
    return seismo.CBPE("binary", **BINARY, features=["x"], metrics=["roc_auc", "f1"], **QUICK).fit(ref).estimate(ana).to_df()


# -- the clean frames the awkward ones are compared with ----------------------------------------------
def _with_missing(d: pd.DataFrame) -> pd.DataFrame:
    """Missing values as numpy holds them: NaN in floats, None in object columns."""
    out = d[["k", "big", "flag", "s"]].astype({"k": float, "big": float, "flag": object, "s": object})
    out.loc[::7, "k"] = np.nan
    out.loc[::11, "big"] = np.nan
    out.loc[::5, "flag"] = None
    out.loc[::4, "s"] = None
    return out


def _nullable(d: pd.DataFrame) -> pd.DataFrame:
    """The same values in pandas' nullable dtypes, missing as pd.NA."""
    clean = _with_missing(d)
    return pd.DataFrame({"k": pd.array(clean["k"], dtype="Int64"), "big": pd.array(clean["big"], dtype="Int64"),
                         "flag": pd.array(clean["flag"], dtype="boolean"),
                         "s": pd.array(clean["s"], dtype="string[pyarrow]")})


def _mixed_parts(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which rows of the mixed column are missing, text ("none") and whole floats; the rest are ints."""
    row = d.index.to_numpy()
    missing = row % 10 == 0
    whole_float = ~missing & (row % 3 == 0)
    text = ~missing & ~whole_float & (d["k"].to_numpy() == 0)
    return missing, text, whole_float


def _mixed(d: pd.DataFrame) -> pd.DataFrame:
    """An object column mixing text with ints, whole floats and None; ``_mixed_text`` is its text."""
    missing, text, whole_float = _mixed_parts(d)
    values = d["k"].to_numpy().astype(object)  # Python ints
    values[whole_float] = d["k"].to_numpy()[whole_float].astype(float).astype(object)  # 2.0 reads "2", as in floats
    values[text] = "none"
    values[missing] = None
    return pd.DataFrame({"m": pd.Series(values, dtype=object)})


def _mixed_text(d: pd.DataFrame) -> pd.DataFrame:
    missing, text, _ = _mixed_parts(d)
    values = d["k"].astype(str).to_numpy().astype(object)
    values[text] = "none"
    values[missing] = None
    return pd.DataFrame({"m": pd.Series(values, dtype=object)})


_MIXED_MISSING, _MIXED_TEXT, _ = _mixed_parts(REF)
MIXED_NOT_TEXT = int((~_MIXED_MISSING & ~_MIXED_TEXT).sum())  # the cells the warning must count


def _dictionary(d: pd.DataFrame) -> pa.Table:
    """Text as an Arrow dictionary column with nulls (parquet dictionary pages, pandas category)."""
    return pa.table({"s": pa.array(_with_missing(d)["s"], type=pa.string()).dictionary_encode()})


def _flipped(d: pd.DataFrame, rows: int) -> pd.DataFrame:
    """``rows`` predictions of the first chunk turned around: no threshold explains them."""
    out = d.copy()
    out.loc[: rows - 1, "yp"] = 1 - out.loc[: rows - 1, "yp"]
    return out


def _csv_with_a_repeated_header(tmp_path) -> str:
    path = tmp_path / "repeated.csv"
    path.write_text("x,x,y\n1,2,3\n4,5,6\n")
    return str(path)


# -- the table ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    id: str
    run: Callable  # (tmp_path) -> result frame; the bad input goes in here
    error: type | None = None
    match: tuple[str, ...] = ()  # fragments of the error message
    warns: str | None = None  # fragment of the SeismoWarning, with its count
    same_as: Callable | None = None  # (tmp_path) -> the result on the clean equivalent
    check: Callable[[pd.DataFrame], None] | None = None  # numbers against an independent reference


def _arrow_with_two_x(d: pd.DataFrame) -> pa.Table:
    return pa.table([pa.array(d["x"]), pa.array(d["x"]), pa.array(d["k"])], names=["x", "x", "k"])


def _realized_matches_sklearn_on_the_given_y_pred(df: pd.DataFrame) -> None:
    """Predictions are used as given: f1 and accuracy of each chunk are scikit-learn's on them."""
    bad = _flipped(ANA, 100)
    for k in range(N // SIZE):
        rows = bad.iloc[k * SIZE:(k + 1) * SIZE]
        cell = df[(df["period"] == "analysis") & (df["chunk_index"] == k)].set_index("metric")["value"]
        assert cell["f1"] == pytest.approx(skm.f1_score(rows["y"], rows["yp"]), abs=1e-12)
        assert cell["accuracy"] == pytest.approx(skm.accuracy_score(rows["y"], rows["yp"]), abs=1e-12)


def _missing_rates_count_every_missing_value(df: pd.DataFrame) -> None:
    clean = _with_missing(ANA)
    rates = df[(df["period"] == "analysis") & (df["metric"] == "missing_rate")]
    for (k, column), value in rates.set_index(["chunk_index", "column"])["value"].items():
        assert value == clean[column].iloc[k * SIZE:(k + 1) * SIZE].isna().mean(), (k, column)


def _multiclass(d: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    scores = rng.dirichlet(np.ones(3), len(d))
    out = pd.DataFrame({f"p{j}": scores[:, j] for j in range(3)})
    out["yp"] = scores.argmax(axis=1)
    out["y"] = (rng.random((len(d), 1)) > scores.cumsum(axis=1)).sum(axis=1)  # a label drawn from each row's scores
    return out


MULTI = dict(y_pred_proba={0: "p0", 1: "p1", 2: "p2"}, y_pred="yp", y_true="y")


def _multiclass_off_argmax() -> pd.DataFrame:
    ana = _multiclass(ANA)
    ana.loc[:29, "yp"] = (ana.loc[:29, "yp"] + 1) % 3  # 30 rows predict a class that is not their top score
    return seismo.RealizedPerformance("multiclass", **MULTI, **QUICK).fit(_multiclass(REF)).calculate(ana).to_df()


_TARGETS = ANA[["id", "y"]].sample(frac=1.0, random_state=0).reset_index(drop=True)
_UNLABELLED = ANA.drop(columns="y")


def _streamed_kinds(tmp_path) -> pd.DataFrame:
    path = tmp_path / "reference.parquet"
    _with_missing(REF).to_parquet(path)
    calc = seismo.DataQuality(columns=["k", "big"], **QUICK).fit(str(path), streaming=True)
    return pd.DataFrame({"column": calc.schema_.names, "kind": [c.kind for c in calc.schema_.columns]})


def _in_memory_kinds(tmp_path) -> pd.DataFrame:
    calc = seismo.DataQuality(columns=["k", "big"], **QUICK).fit(pd.DataFrame(_nullable(REF)[["k", "big"]]))
    return pd.DataFrame({"column": calc.schema_.names, "kind": [c.kind for c in calc.schema_.columns]})


CASES = [
    # -- columns ----------------------------------------------------------------------------------------
    Case("two columns of one name in a pyarrow table", lambda t: _drift(["x"])(REF, _arrow_with_two_x(ANA)),
         error=seismo.InvalidData, match=("the analysis data has more than one column named ['x']",)),
    Case("two columns of one name in a CSV header", lambda t: _drift(["y"])(_csv_with_a_repeated_header(t), None),
         error=seismo.InvalidData, match=("the reference data in [", "repeated.csv", "multiple columns named x")),
    Case("numbers arriving as text in the analysis", lambda t: _both(["x"])(REF, ANA.assign(x=ANA["x"].astype(str))),
         error=seismo.InvalidData, match=("column 'x' in the analysis data holds", "a numeric column was expected",
                                          "numbers stored as text")),
    Case("a count arriving as text, after a reference of numbers", lambda t: _both(["big"])(
        REF, ANA.assign(big=ANA["big"].astype(str))),
         error=seismo.InvalidData, match=("column 'big' in the analysis data", "numbers stored as text")),
    Case("a small count arriving as text is the same category", lambda t: _both(["k"])(
        REF, ANA.assign(k=ANA["k"].astype(str))), same_as=lambda t: _both(["k"])(REF, ANA)),
    Case("words where numbers were (a numeric column given as text)", lambda t: _quality(["s"])(
        REF.assign(s=REF["x"]), ANA),
         error=seismo.InvalidData, match=("column 's' in the analysis data holds", "got [")),
    Case("an object column mixing numbers and text", lambda t: _drift(["m"])(_mixed(REF), _mixed(ANA)),
         warns=f"column 'm' in the reference data mixes text with other values: {MIXED_NOT_TEXT:,} of its 1,800 "
               "non-missing cells are numbers or other non-text values",
         same_as=lambda t: _drift(["m"])(_mixed_text(REF), _mixed_text(ANA))),
    Case("a feature of a type no statistic reads", lambda t: _quality(["t"])(
        REF.assign(t=[[1]] * N), ANA),
         error=seismo.InvalidData, match=("column 't' in the reference data has type list",)),
    # -- values -----------------------------------------------------------------------------------------
    Case("pandas nullable Int64, boolean and string[pyarrow] holding pd.NA",
         lambda t: _both(["k", "big", "flag", "s"])(_nullable(REF), _nullable(ANA)),
         same_as=lambda t: _both(["k", "big", "flag", "s"])(_with_missing(REF), _with_missing(ANA)),
         check=_missing_rates_count_every_missing_value),
    Case("an integer column that met NaN keeps its kind when streamed", _streamed_kinds, same_as=_in_memory_kinds),
    Case("booleans stored as the strings 'True' and 'False'",
         lambda t: _both(["flag"])(REF.assign(flag=REF["flag"].astype(str)), ANA.assign(flag=ANA["flag"].astype(str))),
         same_as=lambda t: _both(["flag"])(REF, ANA)),
    Case("booleans as text in the reference, as booleans in the analysis",
         lambda t: _both(["flag"])(REF.assign(flag=REF["flag"].astype(str)), ANA),
         same_as=lambda t: _both(["flag"])(REF, ANA)),
    Case("a pyarrow dictionary column with nulls", lambda t: _both(["s"])(_dictionary(REF), _dictionary(ANA)),
         same_as=lambda t: _both(["s"])(_with_missing(REF), _with_missing(ANA))),
    Case("a polars Categorical with nulls", lambda t: _both(["s"])(
        pl.from_pandas(_with_missing(REF)[["s"]]).with_columns(pl.col("s").cast(pl.Categorical)),
        pl.from_pandas(_with_missing(ANA)[["s"]]).with_columns(pl.col("s").cast(pl.Categorical))),
         same_as=lambda t: _both(["s"])(_with_missing(REF), _with_missing(ANA))),
    # -- model outputs ----------------------------------------------------------------------------------
    Case("probabilities given as text, reference", lambda t: _cbpe(REF.assign(p=REF["p"].astype(str)), ANA),
         error=seismo.InvalidData, match=("column 'p' in the reference data holds", "numbers stored as text")),
    Case("probabilities given as text, analysis", lambda t: _realized(REF, ANA.assign(p=ANA["p"].astype(str))),
         error=seismo.InvalidData, match=("column 'p' in the analysis data holds", "numbers stored as text")),
    Case("y_pred inconsistent with the probabilities (binary, realized)", lambda t: _realized(REF, _flipped(ANA, 100)),
         warns="y_pred column 'yp' in the analysis data: 100 of 2,000 rows disagree with any single threshold on "
               "y_pred_proba column 'p'",
         check=_realized_matches_sklearn_on_the_given_y_pred),
    Case("y_pred inconsistent with the probabilities (binary, CBPE: one warning, not one per chunk)",
         lambda t: _cbpe(REF, _flipped(ANA, 100)),
         warns="y_pred column 'yp' in the analysis data: 100 of 2,000 rows disagree"),
    Case("y_pred inconsistent with the probabilities (reference)", lambda t: _cbpe(_flipped(REF, 40), ANA),
         warns="y_pred column 'yp' in the reference data: 40 of 2,000 rows disagree"),
    Case("y_pred not the highest-scored class (multiclass)", lambda t: _multiclass_off_argmax(),
         warns="y_pred column 'yp' in the analysis data: 30 of 2,000 rows predict a class other than their "
               "highest-scored one"),
    # -- late labels ------------------------------------------------------------------------------------
    Case("late labels with ids that no analysis row has",
         lambda t: _realized(REF, _UNLABELLED, targets=pd.concat(
             [_TARGETS, pd.DataFrame({"id": [10**9, 10**9 + 1, 10**9 + 2], "y": [1, 0, 1]})])),
         warns="id column 'id' in the targets data: 3 of 2,003 labels have ids that no analysis row has "
               "(e.g. [1000000000, 1000000001, 1000000002])",
         same_as=lambda t: _realized(REF, _UNLABELLED, targets=_TARGETS)),
    Case("late labels without the id column", lambda t: _realized(REF, _UNLABELLED, targets=_TARGETS[["y"]]),
         error=seismo.ColumnNotFound, match=("'id' is not in the targets data; it has: ['y']",)),
    Case("late labels from polars with text ids and a null id",
         lambda t: _realized(REF, _UNLABELLED.assign(id=_UNLABELLED["id"].astype(str)), targets=pl.DataFrame({
             "id": [*_TARGETS["id"].astype(str), None], "y": [*_TARGETS["y"], 1]})),
         warns="id column 'id' in the targets data has 1 missing ids",
         same_as=lambda t: _realized(REF, _UNLABELLED, targets=_TARGETS)),
    # -- every input error names its frame ----------------------------------------------------------------
    Case("targets of an unreadable kind", lambda t: _realized(REF, _UNLABELLED, targets=[1, 2]),
         error=seismo.InvalidData, match=("the targets data is a list",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path) -> None:
    if case.error is not None:
        with pytest.raises(case.error) as raised:
            case.run(tmp_path)
        for fragment in case.match:
            assert fragment in str(raised.value), (fragment, str(raised.value))
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = case.run(tmp_path)
    messages = [str(w.message) for w in caught if issubclass(w.category, seismo.SeismoWarning)]
    if case.warns is not None:
        matching = [m for m in messages if case.warns in m]
        assert len(matching) == 1, (case.warns, messages)  # said once, with the count
    if case.same_as is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = case.same_as(tmp_path)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
    if case.check is not None:
        case.check(got)


def test_a_million_distinct_categories_keep_a_bounded_vocabulary():
    """A text column with a value per row (an identifier among the features) is remembered by its
    `MAX_TRACKED_CATEGORIES` most frequent values; the rest share the "other" bin, and a warning counts
    the distinct values. Deterministic stand-in for the 1M case (benchmarks/many_categories.py measures
    1M rows and 1M values: time and peak memory are in docs/reliability.md): 50,000 values, five times
    the bound, so the bound itself is what is tested."""
    n = 50_000
    values = pd.Series(np.random.default_rng(0).permutation(n)).map("u{:06d}".format).astype(str)
    frame = pd.DataFrame({"user": values})
    with pytest.warns(seismo.SeismoWarning, match=f"column 'user' has {n:,} distinct reference values; only the "
                                                  f"{MAX_TRACKED_CATEGORIES:,} most frequent are remembered"):
        drift = seismo.UnivariateDrift(columns=["user"], chunk_size=10_000, n_resamples=10).fit(frame)
    tracker = drift.fitted_trackers_[0].tracker
    assert len(tracker.categories) == MAX_TRACKED_CATEGORIES
    assert tracker.n_bins <= MAX_TRACKED_CATEGORIES + 3  # categories shown, other, unseen, missing
    df = drift.calculate(frame).to_df()
    assert not df[df["period"] == "analysis"]["alert"].any()  # the same data: nothing moved
