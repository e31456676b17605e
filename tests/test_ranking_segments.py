"""rank(..., segment=): a segment's drift ranked against the segment's own performance drop.

The data: north's labels degrade with a drift of ``w`` in north (pattern NORTH over the analysis
chunks), east's labels degrade with a drift of ``x`` in east (pattern EAST). North holds half
the rows, so overall ``w`` tracks the drop best; within east only ``x`` does. The overall
ranking of the segmented run must equal that of the same calculators without segments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo.engine.result import RESULT_COLUMNS, Result
from seismo.errors import InvalidConfiguration
from seismo.monitor.ranking import rank

NORTH = [0, 3, 1, 4, 0, 2]  # per analysis chunk: north's shift of w and its label noise (x 0.1)
EAST = [3, 0, 4, 1, 2, 0]  # per analysis chunk: east's shift of x and its label noise
SIZE = 600
PERF = {"y_pred_proba": "p", "y_pred": "y_pred", "y_true": "y", "chunk_size": SIZE}
DRIFT = {"columns": ["x", "w", "z"], "methods": ["jensen_shannon", "wasserstein"], "chunk_size": SIZE}


def _log(seed: int, north: list[int] | None = None, east: list[int] | None = None) -> pd.DataFrame:
    """Six chunks of SIZE rows; the model scores z only, so x and w matter only through the labels."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(6):
        region = rng.choice(["north", "south", "east"], SIZE, p=[0.5, 0.3, 0.2])
        z, x, w = rng.normal(size=(3, SIZE))
        p = 1 / (1 + np.exp(-2 * z))
        y = (rng.random(SIZE) < p).astype(int)
        flip = np.zeros(SIZE, bool)
        for name, pattern, column in (("north", north, w), ("east", east, x)):
            if pattern is not None:
                rows = region == name
                column[rows] += 0.4 * pattern[k]
                flip |= rows & (rng.random(SIZE) < 0.1 * pattern[k])
        parts.append(pd.DataFrame({"region": region, "x": x, "w": w, "z": z, "p": p,
                                   "y_pred": (p > 0.5).astype(int), "y": np.where(flip, 1 - y, y)}))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def results():
    reference, analysis = _log(1), _log(2, NORTH, EAST)
    out = {}
    for key, segments in (("segmented", {"segments": ["region"]}), ("plain", {})):
        drift = seismo.UnivariateDrift(**DRIFT, **segments).fit(reference).calculate(analysis)
        perf = seismo.RealizedPerformance(problem_type="binary", metrics=["roc_auc"], **PERF, **segments)
        out[key] = drift, perf.fit(reference).calculate(analysis)
    return out


def test_the_segment_ranking_puts_its_own_drift_first(results):
    drift, perf = results["segmented"]
    east = rank(drift, perf, segment="region=east")
    assert list(east["column"]) == ["x", "z", "w"]
    x = east.iloc[0]
    assert x["correlation"] == pytest.approx(0.7203, abs=1e-4) and x["pearson"] == pytest.approx(0.9273, abs=1e-4)
    assert (x["drift_method"], x["alert_count"], x["n_chunks"]) == ("wasserstein", 4, 12)
    assert east.set_index("column").loc["w", "correlation"] == pytest.approx(0.1958, abs=1e-4)
    # overall, north's drift (half the rows) tracks the drop; east's x comes last
    assert list(rank(drift, perf)["column"]) == ["w", "z", "x"]
    assert rank(drift, perf, segment="region=north")["column"].iloc[0] == "w"


def test_the_overall_ranking_of_a_segmented_run_is_the_unsegmented_one(results):
    drift, perf = results["segmented"]
    plain_drift, plain_perf = results["plain"]
    assert drift.to_df()["segment"].notna().sum() > 0  # the segment rows are there ...
    pd.testing.assert_frame_equal(rank(drift, perf), rank(plain_drift, plain_perf))  # ... and never leak in
    pd.testing.assert_frame_equal(rank(drift), rank(plain_drift))
    pd.testing.assert_frame_equal(rank(drift, method="wasserstein"), rank(plain_drift, method="wasserstein"))


def test_an_unknown_segment_lists_the_labels(results):
    drift, perf = results["segmented"]
    with pytest.raises(InvalidConfiguration, match=r"segment 'region=west' is not in the drift result; its "
                                                   r"segments: region=east, region=north, region=south"):
        rank(drift, perf, segment="region=west")
    plain_drift, plain_perf = results["plain"]
    with pytest.raises(InvalidConfiguration, match="segment 'region=east' is not in the drift result; its segments: none"):
        rank(plain_drift, plain_perf, segment="region=east")


def _rows(segment, column, metric, reference, analysis):
    """Rows of one segment; a None value is a chunk without rows of it."""
    periods = [("reference", reference), ("analysis", analysis)]
    return [{"chunk_index": i, "period": period, "segment": segment, "column": column, "metric": metric,
             "value": v, "upper_threshold": 1.0, "alert": False}
            for period, values in periods for i, v in enumerate(values) if v is not None]


def _result(rows, calculator):
    df = pd.DataFrame(rows)
    for c in RESULT_COLUMNS:
        if c not in df:
            df[c] = None
    df["chunk_key"] = df["period"].str[0] + df["chunk_index"].astype(str)
    return Result(df[RESULT_COLUMNS], calculator)


def test_chunks_where_the_segment_was_merged_away_are_left_out():
    # east has no rows of its own in analysis chunk 1 (merged into (other) there), in either result
    seg = "region=east"
    drift = _result(_rows(None, "a", "psi", [0.1, 0.2, 0.1], [0.3, 0.5, 0.9])
                    + _rows(seg, "a", "psi", [0.2, 0.1, 0.3], [0.4, None, 0.9])
                    + _rows(seg, "b", "psi", [0.3, 0.1, 0.2], [0.2, None, 0.1]), "UnivariateDrift")
    perf = _result(_rows(None, None, "roc_auc", [0.9, 0.91, 0.9], [0.85, 0.8, 0.7])
                   + _rows(seg, None, "roc_auc", [0.9, 0.92, 0.88], [0.8, None, 0.6]), "RealizedPerformance")
    out = rank(drift, perf, segment=seg).set_index("column")
    assert out.loc["a", "rank"] == 1 and out.loc["a", "correlation"] == pytest.approx(1.0)
    assert out.loc["a", "n_chunks"] == 5  # 3 reference + 2 analysis chunks
    assert out.loc["b", "correlation"] == pytest.approx(-0.1581, abs=1e-4)
    assert list(rank(drift, perf)["n_chunks"]) == [6]  # the overall rows keep every chunk
    other_keys = perf.to_df().assign(chunk_key=lambda df: "x" + df["chunk_key"])
    with pytest.raises(InvalidConfiguration, match="different chunkings"):  # not one chunk in common
        rank(drift, Result(other_keys, "RealizedPerformance"), segment=seg)
