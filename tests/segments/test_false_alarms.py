"""Multiple testing across segments: with S segments, each segment threshold is learned at the
stated rate / S (Bonferroni), so a chunk's family of S segment cells keeps the stated rate
(seismo.engine.segment_fit). Measured on stationary data: every alert is a false alarm.
benchmarks/segments.py runs the larger measurement recorded in docs/segments.md."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import seismo

SEGMENTS, ROWS_PER_SEGMENT, REFERENCE_CHUNKS, CHUNKS, RATE = 20, 200, 40, 120, 0.05


def _rows(n: int, seed: int, start: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"timestamp": pd.date_range(start, periods=n, freq="s"),
                         "segment": np.char.add("s", (np.arange(n) % SEGMENTS).astype(str)),
                         "x": rng.normal(size=n),
                         "c": rng.choice(list("abcd"), n, p=[0.4, 0.3, 0.2, 0.1])})


@pytest.fixture(scope="module")
def stationary() -> tuple[pd.DataFrame, pd.DataFrame]:
    chunk = SEGMENTS * ROWS_PER_SEGMENT
    return _rows(REFERENCE_CHUNKS * chunk, 0, "2024-01-01"), _rows(CHUNKS * chunk, 1, "2030-01-01")


def _drift(reference: pd.DataFrame, correction: str) -> seismo.UnivariateDrift:
    return seismo.UnivariateDrift(columns=["x", "c"], methods=["kolmogorov_smirnov", "chi2"], timestamp="timestamp",
                                  chunk_size=SEGMENTS * ROWS_PER_SEGMENT, segments=["segment"],
                                  false_alarm_rate=RATE, segment_correction=correction).fit(reference)


def _family_rate(df: pd.DataFrame) -> float:
    cells = df[(df.period == "analysis") & df.segment.notna()]
    return float(cells.groupby(["chunk_index", "column", "metric"])["alert"].any().mean())


def test_twenty_stationary_segments_keep_the_stated_rate_per_chunk(stationary):
    reference, analysis = stationary
    corrected = _family_rate(_drift(reference, "bonferroni").calculate(analysis).to_df())
    uncorrected = _family_rate(_drift(reference, "none").calculate(analysis).to_df())
    # 240 families (120 chunks x 2 column-metrics); binomial SE at 5% is 1.4 points
    assert corrected <= RATE + 0.03
    assert uncorrected >= 0.35  # 1 - 0.95 ** 20 = 64% if every cell kept 5%
    assert uncorrected > 8 * max(corrected, 0.005)


def test_a_shift_in_one_segment_of_twenty_is_still_caught(stationary):
    reference, analysis = stationary
    moved = analysis.copy()
    last = moved.index >= (CHUNKS - 10) * SEGMENTS * ROWS_PER_SEGMENT
    moved.loc[last & (moved.segment == "s7"), "x"] += 0.5  # half a standard deviation, in 10 chunks
    df = _drift(reference, "bonferroni").calculate(moved).to_df()
    ks = df[(df.period == "analysis") & (df.metric == "kolmogorov_smirnov") & (df.chunk_index >= CHUNKS - 10)]
    assert ks[ks.segment == "segment=s7"]["alert"].all()
    # the overall column: 1 row in 20 moved, mostly lost in the average (it alerts in 1 of the 10 chunks)
    assert ks[ks.segment.isna()]["alert"].sum() <= 2
