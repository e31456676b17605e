"""Default features leave out datetimes and identifier-like columns, by one rule for every calculator.

The issue: `CBPE` without ``features=`` took an increasing ``id``; its trust diagnostics' domain
classifier then told reference from analysis by ``id`` alone and flagged every chunk ``none``.
These tests pin the rule of `seismo.data.features` on both sides: identifiers and dates leave, and
measurements that merely look unique (a float income, a wide-range amount in cents) or that
repeat (counts, ages) stay.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import seismo
from seismo.data import features as inference
from seismo.data.columns import Roles
from seismo.data.features import identifier_reason, infer_features
from seismo.errors import SeismoWarning

LEFT_OUT = ["id", "session_uuid", "sha1", "event_time"]
KEPT = ["income", "n_loans", "age", "amount_cents", "region", "x"]
CLASSIFICATION = dict(y_pred_proba="p", y_pred="y_pred", y_true="y", timestamp="timestamp", chunk_size=500)


def hex_strings(rng: np.random.Generator, n: int, digits: int) -> np.ndarray:
    """``n`` random lowercase hexadecimal strings of ``digits`` digits, built without a loop over rows."""
    chars = np.array(list("0123456789abcdef"))[rng.integers(0, 16, (n, digits))]
    return np.ascontiguousarray(chars).view(f"<U{digits}").ravel()


def uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random UUIDs in their canonical 8-4-4-4-12 form."""
    chars = np.array(list("0123456789abcdef"))[rng.integers(0, 16, (n, 36))]
    chars[:, [8, 13, 18, 23]] = "-"
    return np.ascontiguousarray(chars).view("<U36").ravel()


def identifier_frame(n: int, seed: int, first_id: int = 0, start: str = "2024-01-01") -> pd.DataFrame:
    """A binary model's log with every kind of column the rule must tell apart."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = 1.0 / (1.0 + np.exp(-x))
    timestamps = pd.date_range(start, periods=n, freq="10min")
    return pd.DataFrame({
        "id": np.arange(first_id, first_id + n),  # unique and increasing
        "session_uuid": uuids(rng, n),
        "sha1": hex_strings(rng, n, 40),
        "event_time": timestamps + pd.to_timedelta(rng.integers(0, 600, n), unit="s"),  # a second datetime
        "income": rng.lognormal(10.0, 0.5, n),  # a float unique per row: a feature
        "n_loans": rng.poisson(2.0, n),  # an integer count with repeats
        "age": rng.integers(18, 80, n),  # an integer with more than 10 values, repeated
        "amount_cents": rng.integers(0, 10**9, n),  # integers unique per row, but spread thin: a measurement
        "region": rng.choice(["north", "south", "east"], n),
        "x": x,
        "timestamp": timestamps,
        "p": p,
        "y_pred": (p > 0.5).astype(int),
        "y": (rng.random(n) < p).astype(int),
    })


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return identifier_frame(3_000, seed=1), identifier_frame(1_000, seed=2, first_id=3_000, start="2024-03-01")


def fit_quietly(calculator, reference):
    """Fit, returning the SeismoWarnings that name left-out columns."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        calculator.fit(reference)
    return [str(w.message) for w in caught if issubclass(w.category, SeismoWarning)
            and "left out of the default features" in str(w.message)]


def assert_names_left_out(messages: list[str]) -> None:
    assert len(messages) == 1, messages
    for name in LEFT_OUT:
        assert repr(name) in messages[0], (name, messages[0])
    for name in KEPT:
        assert repr(name) not in messages[0], (name, messages[0])


@pytest.mark.parametrize("make", [
    lambda: seismo.CBPE("binary", **CLASSIFICATION, metrics=["roc_auc"]),
    lambda: seismo.PAPE("binary", **CLASSIFICATION, metrics=["roc_auc"]),
], ids=["CBPE", "PAPE"])
def test_estimators_leave_identifiers_and_datetimes_out_and_say_so(frames, make):
    reference, _ = frames
    estimator = make()
    messages = fit_quietly(estimator, reference)
    assert estimator.feature_names_ == KEPT
    assert_names_left_out(messages)


def test_dle_leaves_identifiers_and_datetimes_out_and_says_so(frames):
    reference, _ = frames
    regression = reference.assign(y_hat=reference["x"] * 2.0, target=reference["x"] * 2.0 + 0.3)
    dle = seismo.DLE(y_pred="y_hat", y_true="target", timestamp="timestamp", chunk_size=500, metrics=["mae"])
    messages = fit_quietly(dle, regression.drop(columns=["p", "y_pred", "y"]))
    assert dle.feature_names_ == KEPT
    assert_names_left_out(messages)


@pytest.mark.parametrize("cls", [seismo.DomainClassifierDrift, seismo.PCADrift, seismo.UnivariateDrift,
                                 seismo.DataQuality])
def test_feature_calculators_leave_identifiers_and_datetimes_out_and_say_so(frames, cls):
    reference, _ = frames
    calculator = cls(**CLASSIFICATION)
    messages = fit_quietly(calculator, reference)
    assert calculator.schema_.names == KEPT
    assert_names_left_out(messages)


def test_monitor_uses_the_same_rule_everywhere_and_warns_once(frames):
    reference, analysis = frames
    monitor = seismo.Monitor("binary", **CLASSIFICATION, metrics=["roc_auc"])
    messages = fit_quietly(monitor, reference)
    assert_names_left_out(messages)  # one warning, not one per calculator
    estimated = monitor.calculators_["estimated_performance"]
    assert estimated.feature_names_ == KEPT
    for name in ("univariate_drift", "pca_drift", "domain_classifier_drift", "data_quality"):
        assert monitor.calculators_[name].schema_.names == KEPT, name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = monitor.run(analysis.drop(columns="y"))
    assert "id" not in set(report.results["univariate_drift"].to_df()["column"])


def test_features_given_are_taken_as_given(frames):
    reference, _ = frames
    drift = seismo.UnivariateDrift(columns=["id", "income"], **CLASSIFICATION)
    assert fit_quietly(drift, reference) == []
    assert drift.schema_.names == ["id", "income"]


def test_a_streamed_reference_is_judged_on_a_bounded_head(frames, tmp_path, monkeypatch):
    """A path is read for the candidate columns' first `INFERENCE_ROWS` rows only, and the warning says how many."""
    reference, _ = frames
    path = tmp_path / "reference.parquet"
    reference.to_parquet(path, index=False, row_group_size=500)
    monkeypatch.setattr(inference, "INFERENCE_ROWS", 1_000)
    drift = seismo.UnivariateDrift(**CLASSIFICATION)
    messages = fit_quietly(drift, str(path))
    assert drift.schema_.names == KEPT
    assert_names_left_out(messages)
    assert "judged on the first 1,000 rows" in messages[0]
    streamed = seismo.UnivariateDrift(**CLASSIFICATION)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        streamed.fit(str(path), streaming=True)
    assert streamed.schema_.names == KEPT


# -- the rule, column by column --------------------------------------------------------------------
RNG = np.random.default_rng(7)
N = 2_000


def reason(name: str, values, order: str = "row") -> str | None:
    return identifier_reason(name, pa.chunked_array([pa.array(values)]), order)


def test_floats_unique_per_row_are_features():
    income = RNG.lognormal(10.0, 0.5, N)
    assert np.unique(income).size == N  # unique per row, like an identifier
    assert reason("income", income) is None
    assert reason("income", np.sort(income)) is None  # even in a reference sorted by it
    assert reason("score_id", income) is None  # a name alone never drops a column


def test_whole_number_floats_that_count_rows_are_identifiers():
    ids = np.arange(N, dtype=float)
    ids[5] = np.nan  # pandas makes an integer id float once a value is missing
    assert "monotonic" in reason("row", ids)


def test_integers_with_repeats_are_features():
    assert reason("n_loans", RNG.poisson(2.0, N)) is None
    assert reason("age", RNG.integers(18, 80, N)) is None
    assert reason("key_count", RNG.integers(0, 5, N)) is None  # named like an id, but a count
    flag = np.repeat([0, 1], N // 2)  # monotonic in the rows, but two values: a category
    assert reason("promo", flag) is None


def test_integers_unique_per_row_are_identifiers_when_dense_or_named():
    assert "dense" in reason("customer", RNG.permutation(N))  # 0..n-1 shuffled
    sparse = RNG.choice(10**12, N, replace=False)  # unique, but drawn from a range a million times larger
    assert reason("amount_cents", sparse) is None
    assert "named like an identifier" in reason("account_id", sparse)
    assert "named like an identifier" in reason("accountId", sparse)
    returning = np.concatenate([np.arange(N - 100), np.arange(100)])  # 95% distinct, some customers return
    assert reason("customer_id", RNG.permutation(returning)) is not None
    assert reason("customer", RNG.permutation(returning)) is None


def test_counters_monotonic_in_time_are_identifiers_only_in_time_order():
    day = np.repeat(np.arange(40), N // 40)  # a day number: repeats, but only ever grows
    assert "monotonic in time order" in reason("day_number", day, order="time")
    shuffled = RNG.permutation(day)
    assert reason("day_number", shuffled) is None


def test_text_identifiers_and_dates():
    assert "UUID" in reason("session", uuids(RNG, N))
    assert "hexadecimal" in reason("digest", hex_strings(RNG, N, 64))
    assert "unique per row" in reason("name", np.char.add("user-", np.arange(N).astype(str)))
    assert "dates as text" in reason("day", np.datetime_as_string(
        np.datetime64("2024-01-01") + RNG.integers(0, 300, N).astype("timedelta64[D]")))
    assert reason("region", RNG.choice(["north", "south"], N)) is None
    categorical = pa.chunked_array([pa.array(RNG.choice(["north", "south"], N)).dictionary_encode()])
    assert identifier_reason("region", categorical) is None


def test_pandas_object_columns_are_judged_on_their_values():
    """A pandas object column has no Arrow type until its values are read: UUIDs and dates hide there."""
    n = 200
    df = pd.DataFrame({"session": pd.Series(uuids(RNG, n), dtype=object),
                       "day": pd.Series(list(pd.date_range("2024-01-01", periods=n).date), dtype=object),
                       "region": pd.Series(RNG.choice(["north", "south"], n), dtype=object),
                       "x": RNG.normal(size=n)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert infer_features(df, Roles()) == ["region", "x"]
    assert "'session' holds UUIDs" in str(caught[0].message)
    assert "'day' holds date32[day] values" in str(caught[0].message)


def test_polars_text_and_categorical_columns_are_judged_too():
    import polars as pl  # in the [test] extra
    n = 200
    df = pl.DataFrame({"session": uuids(RNG, n), "region": RNG.choice(["north", "south"], n),
                       "x": RNG.normal(size=n)}).with_columns(pl.col("region").cast(pl.Categorical))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert infer_features(df, Roles()) == ["region", "x"]
    assert "'session' holds UUIDs" in str(caught[0].message)


def test_too_few_rows_say_nothing():
    assert reason("id", np.arange(inference.MIN_ROWS - 1)) is None


def test_infer_features_reads_roles_and_time_order():
    """Rows out of time order: an id that grows with time is found through the timestamp."""
    n = 500
    day = np.repeat(np.arange(50), n // 50)
    stamps = pd.date_range("2024-01-01", periods=n, freq="h")
    order = RNG.permutation(n)
    df = pd.DataFrame({"batch": day[order], "timestamp": stamps[order], "x": RNG.normal(size=n)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert infer_features(df, Roles(timestamp="timestamp")) == ["x"]
        assert infer_features(df, Roles()) == ["batch", "x"]  # no time: rows are in no order
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2 and "'batch' is integer and monotonic in time order" in messages[0]
    assert "'timestamp' holds timestamp" in messages[1]
