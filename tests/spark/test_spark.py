"""The Spark engine gives the in-memory numbers: real Spark in local mode, data over several partitions.

Every test here runs in one xdist worker (``xdist_group("spark")`` with ``--dist loadgroup``),
so the JVM and the Python workers start once for the whole directory.
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid
import warnings

import pandas as pd
import pyspark  # noqa: F401  (in the [test] extra; only Java comes from .ci/run)
import pytest

if shutil.which("java") is None:  # .ci/run installs it; a bare machine without Java skips, saying why
    pytest.skip("Spark needs Java (apt-get install default-jre-headless)", allow_module_level=True)

from closeness import assert_close_by_metric
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from synthetic import make_frame

import seismo
from seismo.chunks.chunkers import Chunk, Chunker
from seismo.chunks.spark import spark_chunk_partials
from seismo.errors import ColumnNotFound, InvalidConfiguration, InvalidData

pytestmark = [pytest.mark.xdist_group("spark"),
              pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")]

FEATURES = ["a", "b", "c", "d"]
NUMBERS = ["value", "sampling_error", "lower_confidence", "upper_confidence", "lower_threshold", "upper_threshold"]
EXACT = ["chunk_index", "chunk_key", "chunk_start_index", "chunk_end_index", "chunk_start_date", "chunk_end_date",
         "period", "column", "metric", "alert"]
CHUNKINGS = {"size": {"chunk_size": 3_000}, "period": {"chunk_period": "W"}, "number": {"chunk_number": 7}}


@pytest.fixture(scope="session")
def spark():
    """One local Spark for the whole session: 2 cores, few shuffle partitions, no UI, times in UTC."""
    session = (SparkSession.builder.master("local[2]").appName("seismo-tests")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.default.parallelism", "2")
               .config("spark.sql.session.timeZone", "UTC")  # naive pandas times mean UTC, as in seismo
               .config("spark.driver.memory", "1g")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def spread(spark, analysis):
    """The analysis rows dealt round-robin over four partitions: no partition holds them in time order."""
    sdf = spark.createDataFrame(analysis).repartition(4).cache()
    yield sdf
    sdf.unpersist()


def fitted_calculators(reference: pd.DataFrame, chunking: dict) -> list:
    common = dict(timestamp="timestamp", **chunking)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        return [
            seismo.UnivariateDrift(columns=FEATURES, **common).fit(reference),
            seismo.DataQuality(columns=FEATURES, **common).fit(reference),
            seismo.PCADrift(columns=FEATURES, **common).fit(reference),
            seismo.RealizedPerformance("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                                       **common).fit(reference),
        ]


def assert_same(memory: pd.DataFrame, spark_result: pd.DataFrame) -> None:
    """Numbers to 1e-9, chunk keys, positions, dates and alerts exactly."""
    assert len(memory) == len(spark_result) > 0
    pd.testing.assert_frame_equal(memory[EXACT].reset_index(drop=True), spark_result[EXACT].reset_index(drop=True))
    for column in NUMBERS:  # Spark partitions sum a chunk's rows in another order
        assert_close_by_metric(spark_result[column], memory[column], memory["metric"], err_msg=column)


def spark_results(calcs: list, sdf, timestamp: str | None = "timestamp") -> list[pd.DataFrame]:
    """Every calculator's result from ONE Spark pass over all their trackers (what `calculate` does per calculator)."""
    trackers, columns, spans = [], [], []
    for calc in calcs:
        spans.append((len(trackers), len(trackers) + len(calc.fitted_trackers_)))
        trackers += [f.tracker for f in calc.fitted_trackers_]
        names = calc.schema_.names if calc.schema_ is not None else calc.model_columns()
        columns += [c for c in names if c not in columns]
    built = spark_chunk_partials(trackers, sdf, columns, timestamp, calcs[0].chunker_)
    out = []
    for calc, (lo, hi) in zip(calcs, spans):
        own = [dataclasses.replace(c, partials=c.partials[lo:hi]) for c in built]
        out.append(calc._result_from(calc.fitted_trackers_, own).to_df())
    return out


@pytest.mark.parametrize("chunking", list(CHUNKINGS))
def test_spark_equals_memory_for_every_calculator(spread, reference, analysis, chunking):
    calcs = fitted_calculators(reference, CHUNKINGS[chunking])
    for calc, from_spark in zip(calcs, spark_results(calcs, spread)):
        assert_same(calc.calculate(analysis).to_df(), from_spark)
    if chunking == "period":
        assert from_spark.loc[from_spark["period"] == "analysis", "chunk_key"].iloc[0] == "2024-W22"  # ISO week of 2024-06-01 (a Saturday)
    if chunking == "size":  # 20,000 rows in chunks of 3,000: the last chunk is incomplete and kept
        assert from_spark.groupby("chunk_index")["chunk_start_index"].first().tolist()[-1] == 18_000


def test_calculate_takes_a_spark_dataframe(spread, reference, analysis):
    """The public route, `calculate(spark_df)`: the incomplete last chunk appended to the one before,
    and realized performance with its labels in the DataFrame."""
    drift = seismo.UnivariateDrift(columns=FEATURES, timestamp="timestamp", chunk_size=3_000,
                                   incomplete="append").fit(reference)
    from_spark = drift.calculate(spread).to_df()
    assert_same(drift.calculate(analysis).to_df(), from_spark)
    assert from_spark["chunk_end_index"].max() == 19_999 and from_spark["chunk_index"].max() == 5
    realized = seismo.RealizedPerformance("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                                          timestamp="timestamp", chunk_period="W").fit(reference)
    assert_same(realized.calculate(analysis).to_df(), realized.calculate(spread).to_df())


def test_segments_on_spark_equal_the_in_memory_segments(spread, reference, analysis):
    """Declared segments on the executors: each piece's partials keyed by segment label, merged on the
    driver; every segment row (values, thresholds, rows, where the thresholds come from) as in memory."""
    args = dict(columns=FEATURES, timestamp="timestamp", chunk_size=3_000, segments=["c", ["c", "d"]],
                min_segment_rows=150)  # c=z crossed with d: ~120 rows a chunk, merged into "(other)"
    for cls in (seismo.UnivariateDrift, seismo.DataQuality):
        calc = cls(**args).fit(reference)
        memory, from_spark = calc.calculate(analysis).to_df(), calc.calculate(spread).to_df()
        assert from_spark["segment"].notna().sum() > 500 and {"own", "borrowed"} <= set(from_spark["segment_thresholds"])
        assert_same(memory, from_spark)
        pd.testing.assert_frame_equal(memory[["segment", "segment_rows", "segment_thresholds"]],
                                      from_spark[["segment", "segment_rows", "segment_thresholds"]])


def test_equal_times_keep_the_input_order(spark, reference):
    """Ties in time are broken by the input order, like the stable sort in memory.

    Timestamps cut to the day give 144 rows per time, and rows come newest day first,
    so chunk edges fall inside groups of equal times and the order inside a group decides.
    """
    frame = make_frame(6_000, seed=7)
    frame["timestamp"] = frame["timestamp"].dt.floor("D")
    frame = frame.iloc[::-1].reset_index(drop=True)
    quality = seismo.DataQuality(columns=["a", "b"], timestamp="timestamp", chunk_size=1_000).fit(reference)
    from_spark = quality.calculate(spark.createDataFrame(frame)).to_df()
    assert_same(quality.calculate(frame).to_df(), from_spark)


def test_without_timestamp_row_order_is_the_dataframe_order(spark, reference, analysis):
    """No timestamp: rows are taken partition by partition, in each partition's order.
    The user's own cache of the DataFrame outlives the run."""
    quality = seismo.DataQuality(columns=FEATURES, chunk_number=6).fit(reference)
    sdf = spark.createDataFrame(analysis[FEATURES]).cache()
    assert sdf.rdd.getNumPartitions() > 1
    assert_same(quality.calculate(analysis).to_df(), quality.calculate(sdf).to_df())
    assert sdf.storageLevel.useMemory
    sdf.unpersist()


def _jobs_run_by(spark, action) -> list[int]:
    group = f"seismo-check-{uuid.uuid4()}"  # the tracker remembers every group's jobs: one group per call
    spark.sparkContext.setJobGroup(group, "checks before any job")
    try:
        action()
    finally:
        spark.sparkContext.setJobGroup("", "")
    return list(spark.sparkContext.statusTracker().getJobIdsForGroup(group))


def test_missing_column_is_named_before_any_job(spark, spread, reference):
    drift = seismo.UnivariateDrift(columns=FEATURES, timestamp="timestamp", chunk_size=3_000).fit(reference)

    def calculate():
        with pytest.raises(ColumnNotFound, match="'b' is not in the analysis data"):
            drift.calculate(spread.drop("b"))

    assert _jobs_run_by(spark, calculate) == []
    assert _jobs_run_by(spark, spread.count)  # the probe does see jobs


def test_text_in_a_continuous_column_is_named_before_any_job(spark, spread, reference):
    drift = seismo.UnivariateDrift(columns=FEATURES, timestamp="timestamp", chunk_period="W").fit(reference)

    def calculate():
        with pytest.raises(InvalidData, match="column 'a' in the analysis data holds string values; a numeric column was expected"):
            drift.calculate(spread.withColumn("a", F.col("a").cast("string")))

    assert _jobs_run_by(spark, calculate) == []


def test_timestamp_must_be_a_spark_time(spread, reference):
    drift = seismo.UnivariateDrift(columns=FEATURES, timestamp="timestamp", chunk_size=3_000).fit(reference)
    with pytest.raises(InvalidData, match="timestamp column 'timestamp' holds string values in Spark"):
        drift.calculate(spread.withColumn("timestamp", F.col("timestamp").cast("string")))


def test_an_executor_error_comes_back_as_the_same_seismo_error(spread, reference):
    """A missing time is found by the executor reading its batch; the driver raises it as InvalidData."""
    drift = seismo.UnivariateDrift(columns=FEATURES, timestamp="timestamp", chunk_period="W").fit(reference)
    broken = spread.withColumn("timestamp", F.when(F.col("id") == 10_000_017, None).otherwise(F.col("timestamp")))
    with pytest.raises(InvalidData, match="timestamp column 'timestamp' has 1 missing"):
        drift.calculate(broken)


def test_a_custom_chunker_is_refused(spread, reference):
    class Halves(Chunker):
        def split(self, n_rows, timestamps=None):
            return [Chunk(0, "first", 0, n_rows // 2), Chunk(1, "second", n_rows // 2, n_rows)]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        drift = seismo.UnivariateDrift(columns=FEATURES, chunker=Halves()).fit(reference)
    with pytest.raises(InvalidConfiguration, match="custom chunker \\(Halves\\).*cannot run on Spark"):
        drift.calculate(spread)


def test_an_empty_dataframe_is_refused(spread, reference):
    drift = seismo.UnivariateDrift(columns=FEATURES, timestamp="timestamp", chunk_size=3_000).fit(reference)
    with pytest.raises(InvalidData, match="analysis set is empty"):
        drift.calculate(spread.limit(0))


def test_a_partition_spanning_many_chunks_sends_them_in_parts(spread, reference, analysis):
    """139 daily chunks dealt over four partitions: each Python worker sends its pieces in parts
    (`MAX_OPEN_PIECES`), and the driver merges them into the same chunks."""
    from seismo.chunks.spark import MAX_OPEN_PIECES

    quality = seismo.DataQuality(columns=["a", "c"], timestamp="timestamp", chunk_period="D").fit(reference)
    from_spark = quality.calculate(spread).to_df()
    assert from_spark.loc[from_spark["period"] == "analysis", "chunk_index"].nunique() > 2 * MAX_OPEN_PIECES
    assert_same(quality.calculate(analysis).to_df(), from_spark)
