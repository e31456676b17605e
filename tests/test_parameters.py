"""Two arguments every calculator, `Monitor` and the CLI config take.

``timestamp_format``: a day-first text column whose days are all 12 or less reads as
day-first or month-first alike; without the format it is an error, with it every path that
reads the timestamp (in memory, streamed parquet, the CLI) dates the rows right.

``false_alarm_rate``: the per-cell rate of the default thresholds; a higher rate gives tighter
bounds and more alerts on stationary data, a user's own threshold is never changed, and a
saved monitor keeps both arguments.
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pandas as pd
import pytest
from synthetic import make_frame, write_parts

import seismo
from seismo import ConstantThreshold, FalseAlarmThreshold, InvalidConfiguration
from seismo.engine.thresholds import DEFAULT_FALSE_ALARM_RATE
from seismo.errors import InvalidData

FMT = "%d/%m/%Y"
N_REFERENCE, N_ANALYSIS, CHUNK = 2_400, 1_200, 200
# 30 rows a day on days 1-12 of each month: every value reads day-first and month-first alike
DAYS = pd.date_range("2023-01-01", "2023-12-31", freq="D")
DAYS = DAYS[DAYS.day <= 12]
ROWS_PER_DAY = 30

CALCULATORS = [seismo.UnivariateDrift, seismo.DataQuality, seismo.RealizedPerformance, seismo.CBPE, seismo.PAPE,
               seismo.DLE, seismo.PCADrift, seismo.DomainClassifierDrift]


def day_first_log(n: int, seed: int, first_day: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A model log whose timestamp is day-first text (``FMT``), and the true datetimes."""
    df = make_frame(n, seed=seed)
    days = DAYS[first_day + np.arange(n) // ROWS_PER_DAY]
    df["timestamp"] = days.strftime(FMT)
    return df, days.to_numpy()


@pytest.fixture(scope="module")
def logs():
    reference, ref_days = day_first_log(N_REFERENCE, seed=1)
    analysis, ana_days = day_first_log(N_ANALYSIS, seed=2, first_day=N_REFERENCE // ROWS_PER_DAY)
    return reference, ref_days, analysis, ana_days


def assert_dated_day_first(result: seismo.Result, days: np.ndarray, period: str) -> None:
    """Chunk k of ``period`` starts and ends on the true (day-first) dates of its rows."""
    chunks = (result.to_df().query("period == @period")
              .drop_duplicates("chunk_index").sort_values("chunk_index"))
    assert len(chunks) == len(days) // CHUNK
    np.testing.assert_array_equal(chunks["chunk_start_date"].to_numpy(), days[::CHUNK])
    np.testing.assert_array_equal(chunks["chunk_end_date"].to_numpy(), days[CHUNK - 1::CHUNK])


# -- timestamp_format ------------------------------------------------------------------------------


def test_a_calculator_needs_the_format_of_an_ambiguous_column_and_reads_it_day_first(logs):
    reference, ref_days, analysis, ana_days = logs
    with pytest.raises(InvalidData, match=r"timestamp column 'timestamp' is ambiguous.*timestamp_format"):
        seismo.UnivariateDrift(columns=["a", "c"], timestamp="timestamp", chunk_size=CHUNK).fit(reference)
    drift = seismo.UnivariateDrift(columns=["a", "c"], timestamp="timestamp", chunk_size=CHUNK,
                                   timestamp_format=FMT).fit(reference)
    result = drift.calculate(analysis)
    assert_dated_day_first(result, ref_days, "reference")
    assert_dated_day_first(result, ana_days, "analysis")


@pytest.mark.parametrize("cls", [seismo.DataQuality, seismo.RealizedPerformance, seismo.CBPE])
def test_other_calculators_read_the_format_too(logs, cls):
    reference, ref_days, analysis, ana_days = logs
    roles = dict(timestamp="timestamp", chunk_size=CHUNK)
    if cls is seismo.DataQuality:
        roles["columns"] = ["a", "c"]
    else:
        roles.update(problem_type="binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true")
    if cls is seismo.CBPE:
        roles["trust"] = False
    with pytest.raises(InvalidData, match="ambiguous"):
        cls(**roles).fit(reference)
    fitted = cls(**roles, timestamp_format=FMT).fit(reference)
    result = fitted.estimate(analysis) if cls is seismo.CBPE else fitted.calculate(analysis)
    assert_dated_day_first(result, ref_days, "reference")
    assert_dated_day_first(result, ana_days, "analysis")


def test_a_monitor_passes_the_format_to_every_calculator(logs):
    reference, ref_days, analysis, ana_days = logs
    args = dict(problem_type="binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                timestamp="timestamp", id="id", features=["a", "b", "c"], chunk_size=CHUNK,
                calculators={"pca_drift": False, "domain_classifier_drift": False})
    with pytest.raises(InvalidData, match="ambiguous"):
        seismo.Monitor(**args).fit(reference)
    report = seismo.Monitor(**args, timestamp_format=FMT).fit(reference).run(analysis)
    assert set(report.results) == {"estimated_performance", "realized_performance", "univariate_drift",
                                   "data_quality"}
    for result in report.results.values():
        assert_dated_day_first(result, ana_days, "analysis")


def test_a_streamed_parquet_fit_reads_every_batch_with_the_format(logs, tmp_path):
    reference, ref_days, analysis, ana_days = logs
    ref_path = write_parts(reference, tmp_path / "reference", [800, 800, 800])
    ana_path = write_parts(analysis, tmp_path / "analysis", [600, 600])
    with pytest.raises(InvalidData, match="ambiguous"):
        seismo.UnivariateDrift(columns=["a", "c"], timestamp="timestamp", chunk_size=CHUNK).fit(
            ref_path, streaming=True)
    drift = seismo.UnivariateDrift(columns=["a", "c"], timestamp="timestamp", chunk_size=CHUNK,
                                   timestamp_format=FMT).fit(ref_path, streaming=True)
    streamed = drift.calculate(ana_path, streaming=True)
    assert_dated_day_first(streamed, ref_days, "reference")
    assert_dated_day_first(streamed, ana_days, "analysis")
    # the estimator's streamed fit draws its sample through the same reader
    cbpe = seismo.CBPE("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                       timestamp="timestamp", chunk_size=CHUNK, trust=False, timestamp_format=FMT)
    assert_dated_day_first(cbpe.fit(ref_path, streaming=True).estimate(ana_path, streaming=True), ana_days,
                           "analysis")


def test_a_format_that_does_not_fit_is_an_error_naming_the_column(logs):
    reference = logs[0]
    with pytest.raises(InvalidData, match=r"column 'timestamp' has 2400 values that timestamp_format '%Y-%m-%d'"):
        seismo.DataQuality(columns=["a"], timestamp="timestamp", chunk_size=CHUNK,
                           timestamp_format="%Y-%m-%d").fit(reference)


# -- false_alarm_rate ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stationary():
    """Reference and analysis from the same distribution: every alert is a false alarm."""
    return make_frame(6_000, seed=11), make_frame(8_000, seed=12, start="2024-03-01")


def drift_result(stationary, **kwargs) -> pd.DataFrame:
    reference, analysis = stationary
    drift = seismo.UnivariateDrift(columns=["a", "b", "c", "d"], timestamp="timestamp", chunk_size=200, **kwargs)
    return drift.fit(reference).calculate(analysis).to_df()


def test_a_higher_rate_gives_tighter_bounds_and_more_false_alarms(stationary):
    default = drift_result(stationary)
    frequent = drift_result(stationary, false_alarm_rate=0.05)
    rare = drift_result(stationary, false_alarm_rate=0.0001)
    # the values do not depend on the rate; the bounds do, for every cell
    np.testing.assert_array_equal(frequent["value"], default["value"])
    assert (frequent["upper_threshold"] < default["upper_threshold"]).all()
    assert (rare["upper_threshold"] > default["upper_threshold"]).all()
    # sides are kept: a distance stays bounded above only
    assert frequent["lower_threshold"].isna().all() and rare["lower_threshold"].isna().all()
    alerts = {name: int(r.query("period == 'analysis'")["alert"].sum())
              for name, r in (("rare", rare), ("default", default), ("frequent", frequent))}
    cells = int((frequent["period"] == "analysis").sum())  # 40 chunks x 20 column-method pairs
    assert alerts["rare"] <= alerts["default"] <= alerts["frequent"]
    # about 0.05 * 800 = 40 expected at 0.05 (31 seen), 0.08 at 0.0001 (none seen)
    assert alerts["frequent"] >= 0.01 * cells and alerts["frequent"] > alerts["rare"], alerts


def test_two_sided_defaults_narrow_on_both_sides():
    reference, analysis = make_frame(4_000, seed=3), make_frame(2_000, seed=4)
    tables = [seismo.DataQuality(columns=["a"], chunk_size=200, false_alarm_rate=rate).fit(reference)
              .calculate(analysis).to_df().query("metric == 'mean'") for rate in (None, 0.05)]
    default, frequent = tables
    assert (frequent["lower_threshold"] > default["lower_threshold"]).all()
    assert (frequent["upper_threshold"] < default["upper_threshold"]).all()


def test_thresholds_the_user_gave_are_not_changed(stationary):
    constant = ConstantThreshold(upper=0.1)
    own_rate = FalseAlarmThreshold(DEFAULT_FALSE_ALARM_RATE, sides="upper")
    default = drift_result(stationary)
    given = drift_result(stationary, false_alarm_rate=0.05,
                         thresholds={"jensen_shannon": constant, "hellinger": own_rate})
    frequent = drift_result(stationary, false_alarm_rate=0.05)
    js, hellinger, psi = (given["metric"] == m for m in ("jensen_shannon", "hellinger", "psi"))
    assert js.any() and (given.loc[js, "upper_threshold"] == 0.1).all()
    np.testing.assert_array_equal(given.loc[hellinger, "upper_threshold"], default.loc[hellinger, "upper_threshold"])
    np.testing.assert_array_equal(given.loc[psi, "upper_threshold"], frequent.loc[psi, "upper_threshold"])


def test_the_domain_classifiers_material_threshold_takes_the_rate_too():
    reference, analysis = make_frame(3_000, seed=5), make_frame(1_000, seed=6)
    tables = []
    for rate in (0.0001, 0.2):
        calc = seismo.DomainClassifierDrift(columns=["a", "b"], chunk_size=100, false_alarm_rate=rate,
                                            max_reference_rows=1_000).fit(reference)
        assert dataclasses.asdict(calc.threshold_)["false_alarm_rate"] == rate
        tables.append(calc.calculate(analysis).to_df().query("period == 'analysis'"))
    rare, frequent = tables
    # never inside the material 0.45/0.65; in 100-row chunks chance alone passes 0.45 at a 0.01% rate
    # (lower bound about 0.34) but hardly at 20% (about 0.45)
    for table in tables:
        assert (table["lower_threshold"] <= 0.45).all() and (table["upper_threshold"] >= 0.65).all()
    assert (frequent["lower_threshold"] > rare["lower_threshold"] + 0.05).all()


# -- every constructor, and bad values ---------------------------------------------------------------


def required(cls: type) -> dict:
    """The arguments a constructor cannot do without (the problem type of some)."""
    needed = inspect.signature(cls.__init__).parameters.get("problem_type")
    return {"problem_type": "binary"} if needed is not None and needed.default is inspect.Parameter.empty else {}


@pytest.mark.parametrize("cls", CALCULATORS)
def test_every_calculator_stores_both_arguments(cls):
    calc = cls(**required(cls), timestamp="t", timestamp_format=FMT, false_alarm_rate=0.01)
    assert (calc.timestamp_format, calc.false_alarm_rate) == (FMT, 0.01)


@pytest.mark.parametrize("cls", [*CALCULATORS, seismo.Monitor])
@pytest.mark.parametrize("rate", [0, 1, 1.5, -0.01, "0.01", True, float("nan")])
def test_a_bad_rate_is_refused_at_construction(cls, rate):
    with pytest.raises(InvalidConfiguration, match="false_alarm_rate"):
        cls(**required(cls), false_alarm_rate=rate)


@pytest.mark.parametrize("cls", [*CALCULATORS, seismo.Monitor])
@pytest.mark.parametrize("fmt", [12, "dd/mm/yyyy", ""])
def test_a_bad_format_is_refused_at_construction(cls, fmt):
    with pytest.raises(InvalidConfiguration, match="timestamp_format"):
        cls(**required(cls), timestamp_format=fmt)


def test_a_monitor_gives_each_calculator_its_rate_unless_the_calculator_has_its_own():
    monitor = seismo.Monitor("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                             features=["a"], chunk_size=500, false_alarm_rate=0.02, timestamp_format=FMT,
                             calculators={"pca_drift": False, "domain_classifier_drift": False,
                                          "data_quality": {"false_alarm_rate": 0.3}})
    monitor.fit(make_frame(3_000, seed=7).drop(columns="timestamp"))
    rates = {name: c.false_alarm_rate for name, c in monitor.calculators_.items()}
    assert rates == {"estimated_performance": 0.02, "realized_performance": 0.02, "univariate_drift": 0.02,
                     "data_quality": 0.3}
    assert monitor.calculators_["estimated_performance"].realized_.false_alarm_rate == 0.02  # it learns the thresholds
    assert {c.timestamp_format for c in monitor.calculators_.values()} == {FMT}


# -- saved monitors -------------------------------------------------------------------------------


def _same_reports(a: seismo.Report, b: seismo.Report) -> None:
    assert a.results.keys() == b.results.keys()
    for name in a.results:
        pd.testing.assert_frame_equal(a.results[name].to_df(), b.results[name].to_df())


def test_a_monitor_with_both_arguments_saves_and_loads(logs, tmp_path):
    reference, _, analysis, ana_days = logs
    monitor = seismo.Monitor("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                             timestamp="timestamp", features=["a", "c"], chunk_size=CHUNK, timestamp_format=FMT,
                             false_alarm_rate=0.05,
                             calculators={"pca_drift": False, "domain_classifier_drift": False}).fit(reference)
    report = monitor.run(analysis)
    monitor.save(tmp_path / "m")
    loaded = seismo.Monitor.load(tmp_path / "m")
    assert (loaded.timestamp_format, loaded.false_alarm_rate) == (FMT, 0.05)
    assert all(c.false_alarm_rate == 0.05 for c in loaded.calculators_.values())
    again = loaded.run(analysis)
    _same_reports(report, again)
    assert_dated_day_first(again.results["univariate_drift"], ana_days, "analysis")


def test_a_monitor_saved_before_the_arguments_existed_still_loads(tmp_path):
    reference, analysis = make_frame(2_000, seed=8), make_frame(1_000, seed=9, start="2024-03-01")
    monitor = seismo.Monitor("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                             timestamp="timestamp", features=["a", "c"], chunk_size=250,
                             calculators={"pca_drift": False, "domain_classifier_drift": False}).fit(reference)
    report = monitor.run(analysis)
    # what an older version wrote: neither attribute in any saved object
    for obj in [monitor, *monitor.calculators_.values(), monitor.calculators_["estimated_performance"].realized_]:
        for name in ("timestamp_format", "false_alarm_rate"):
            vars(obj).pop(name)
    monitor.save(tmp_path / "old")
    loaded = seismo.Monitor.load(tmp_path / "old")
    assert "false_alarm_rate" not in vars(loaded) and loaded.false_alarm_rate is None
    _same_reports(report, loaded.run(analysis))
