"""Monitors and calculators with declared segments save and load without pickle, and go on as before.

* A `Monitor` with ``segments=["region"]`` saved and loaded gives every calculator's results
  frame equal to the unsaved monitor's (own, borrowed and too-few-rows thresholds, a merged
  ``(other)`` segment and missing values all present), in persist format 3.
* An incremental run continued by a saved and loaded monitor equals the same runs without the
  save, and (summed in another order) one incremental run over all the rows.
* Saves without segments stay format 2; a reader of formats 1 and 2 refuses a format-3 save by
  its version; the monitor saved by seismo 0.1.0 still loads and runs, unsegmented.
* Streaming the reference and the analysis data from parquet gives the in-memory numbers.
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import seismo
import seismo.data.frame
from seismo.engine.segment_fit import ShareCount
from seismo.engine.segments import SegmentedPartial
from seismo.persist import FORMAT_VERSION, PersistError, bundle, dumps, loads

CHUNK = 2_000
FEATURES = ["income", "debt_ratio", "region", "employment_type"]
KEYS = ["calculator", "period", "chunk_index", "column", "segment", "metric"]
FIXTURE = Path(__file__).parent / "fixtures" / "saved_monitor_0_1_0"


def _with_rare_regions(frame: pd.DataFrame) -> pd.DataFrame:
    """Every 150th row in a rare region (too few reference rows: borrowed thresholds; a handful per
    chunk: merged into ``(other)``) and every 13th row without one (``region=(missing)``)."""
    frame = frame.copy()
    frame["region"] = frame["region"].astype(object)
    frame.loc[frame.index[::150], "region"] = "island"
    frame.loc[frame.index[::13], "region"] = None
    return frame


@pytest.fixture(scope="module")
def credit():
    reference, analysis, targets = seismo.datasets.load_synthetic_credit(n_reference=16_000, n_analysis=8_000)
    return _with_rare_regions(reference), _with_rare_regions(analysis), targets


def _monitor(**options) -> seismo.Monitor:
    return seismo.Monitor("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="defaulted",
                          timestamp="timestamp", id="id", chunk_size=CHUNK, features=FEATURES, **options)


def _quietly(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)  # few reference chunks: fine for these checks
        return call(*args, **kwargs)


@pytest.fixture(scope="module")
def monitor(credit):
    return _quietly(_monitor(segments=["region"]).fit, credit[0])


@pytest.fixture(scope="module")
def files(monitor):
    return dumps(monitor)


@pytest.fixture(scope="module")
def report(monitor, credit):
    return _quietly(monitor.run, credit[1], targets=credit[2])


# -- a saved segmented monitor -----------------------------------------------------------------------


def test_a_saved_segmented_monitor_gives_every_calculator_the_same_results(monitor, files, report, credit, tmp_path):
    monitor.save(tmp_path / "monitor")
    loaded = seismo.Monitor.load(tmp_path / "monitor")
    assert type(loaded) is seismo.Monitor and loaded.segments == ["region"]
    again = _quietly(loaded.run, credit[1], targets=credit[2])
    assert list(again.results) == list(report.results) == [
        "estimated_performance", "realized_performance", "univariate_drift", "pca_drift", "domain_classifier_drift",
        "data_quality"]
    for name, result in report.results.items():
        pd.testing.assert_frame_equal(again.results[name].to_df(), result.to_df(), obj=name)
    pd.testing.assert_frame_equal(again.to_df(), report.to_df())


def test_the_saved_results_hold_every_kind_of_segment_row(report):
    """What the equality above covers: each calculator but the domain classifier has segment rows,
    with thresholds of every origin, the merged small segments and the rows without a region."""
    df = report.to_df()
    segmented = df[df["segment"].notna()]
    assert set(segmented["calculator"]) == {"estimated_performance", "realized_performance", "univariate_drift",
                                            "pca_drift", "data_quality"}
    assert df.loc[df["calculator"] == "domain_classifier_drift", "segment"].isna().all()
    assert set(segmented["segment_thresholds"]) == {"own", "borrowed", "too few rows"}
    drift = segmented[(segmented["calculator"] == "univariate_drift") & (segmented["period"] == "analysis")]
    assert {"region=north", "region=(missing)", "region=(other)"} <= set(drift["segment"])
    shares = df[(df["metric"] == "segment_share") & (df["period"] == "analysis")]
    island = segmented[(segmented["segment"] == "region=island") & (segmented["period"] == "reference")
                       & (segmented["metric"] != "segment_share")]  # a share's thresholds are always its own
    assert set(island["segment_thresholds"]) == {"borrowed"}  # 98 reference rows < 2 x min_segment_rows
    assert len(shares) > 0 and shares["value"].between(0, 1).all()


def test_a_segmented_save_is_format_3_and_loads_to_the_same_bytes(files):
    manifest = json.loads(files["manifest.json"])
    assert manifest["format_version"] == FORMAT_VERSION == 3
    state = files["state.json"].decode()
    for name in ("seismo.engine.segment_fit:SegmentFit", "seismo.engine.segment_fit:ShareTracker"):
        assert f'"{name}"' in state  # each tracker's segments (partials in `wholes`) and the shares' trackers
    assert dumps(loads(files)) == files


def test_saves_without_segments_stay_format_2_and_unfitted_segmented_calculators_are_format_3():
    assert json.loads(dumps(seismo.UnivariateDrift(chunk_size=10))["manifest.json"])["format_version"] == 2
    # no segment class in it yet: a seismo from before segments would load it and fit the whole only
    unfitted = dumps(seismo.DataQuality(chunk_size=10, segments=[["region", "channel"]]))
    assert json.loads(unfitted["manifest.json"])["format_version"] == 3
    assert loads(unfitted).segments == [["region", "channel"]]


def test_a_reader_of_formats_1_and_2_refuses_a_segmented_save_by_its_version(files, monkeypatch):
    """What a seismo from before segments does with a segmented save: it names the version and who saved it."""
    monkeypatch.setattr(bundle, "READABLE_FORMAT_VERSIONS", (1, 2))
    with pytest.raises(PersistError, match=rf"saved in seismo\.persist format version 3 by seismo "
                       rf"{seismo.__version__}; this seismo \({seismo.__version__}\) reads format version 1, 2\."):
        loads(files)


def test_segment_partials_load_back_and_merge_to_the_same_values():
    part = SegmentedPartial(ShareCount(3, 10), {"region=north": ShareCount(2, 4)}, {"region=north": 4},
                            {"region=north": 0})
    later = SegmentedPartial(ShareCount(1, 5), {"region=west": ShareCount(1, 1)}, {"region=west": 1}, {"region=west": 0})
    loaded = loads(dumps(part))
    assert type(loaded) is SegmentedPartial and loaded == part and loaded is not part
    assert loaded + later == SegmentedPartial(ShareCount(4, 15), {"region=north": ShareCount(2, 4),
                                                                  "region=west": ShareCount(1, 1)},
                                              {"region=north": 4, "region=west": 1},
                                              {"region=north": 0, "region=west": 0})
    assert json.loads(dumps(part)["manifest.json"])["format_version"] == 3


# -- incremental runs ------------------------------------------------------------------------------


def _latest(*reports) -> pd.DataFrame:
    """Reports of incremental runs, one after another: the latest row of every chunk (an open chunk
    keeps its start while its end grows), as the results store keeps them."""
    frames = pd.concat([r.to_df() for r in reports], ignore_index=True)
    latest = frames.drop_duplicates([*KEYS[:2], "chunk_start_index", *KEYS[3:]], keep="last")
    return latest.sort_values(KEYS, na_position="first", kind="stable").reset_index(drop=True)


def test_an_incremental_run_continues_from_a_saved_segmented_monitor(files, credit, tmp_path):
    _, analysis, targets = credit
    half = analysis.iloc[:len(analysis) // 2 + 700]  # the last chunk stays open: its partials are saved
    first = loads(files)
    first_report = _quietly(first.run, half, targets=targets, incremental=True)
    assert first.stream_states_["univariate_drift"].open is not None
    first.save(tmp_path / "monitor")
    state = (tmp_path / "monitor" / "state.json").read_text()
    assert '"seismo.engine.segments:SegmentedPartial"' in state
    assert json.loads((tmp_path / "monitor" / "manifest.json").read_text())["format_version"] == 3

    loaded = seismo.Monitor.load(tmp_path / "monitor")
    resumed = _quietly(loaded.run, analysis, targets=targets, incremental=True)
    unsaved = loads(files)
    _quietly(unsaved.run, half, targets=targets, incremental=True)
    without_save = _quietly(unsaved.run, analysis, targets=targets, incremental=True)
    pd.testing.assert_frame_equal(resumed.to_df(), without_save.to_df())  # the save changes nothing

    one_run = _quietly(loads(files).run, analysis, targets=targets, incremental=True)
    continued, whole = _latest(first_report, resumed), _latest(one_run)
    assert len(continued) == len(whole) and continued["segment"].notna().sum() > 1_000
    # the open chunk's saved partials plus its later rows: the same sums in another order
    pd.testing.assert_frame_equal(continued, whole, check_exact=False, rtol=1e-9)


# -- saves from before segments --------------------------------------------------------------------------


def test_the_monitor_saved_by_seismo_0_1_0_still_loads_and_runs_unsegmented():
    monitor = seismo.Monitor.load(FIXTURE / "monitor")
    assert monitor.segments is None and monitor.min_segment_rows == 100  # class-level defaults
    calculator = monitor.calculators_["univariate_drift"]
    assert calculator.segments is None and calculator.segment_specs_ is None
    assert all(fitted.segments is None for fitted in calculator.fitted_trackers_)
    analysis = pd.read_parquet(FIXTURE / "analysis.parquet")
    df = _quietly(monitor.run, analysis, targets=pd.read_parquet(FIXTURE / "targets.parquet")).to_df()
    assert len(df) == 610 and df["segment"].isna().all()
    assert "segment_rows" not in df.columns and "segment_thresholds" not in df.columns


# -- streaming ---------------------------------------------------------------------------------------


def _calculators() -> dict[str, object]:
    common = dict(timestamp="timestamp", chunk_size=CHUNK, segments=["region"], n_resamples=20)
    return {
        "univariate_drift": seismo.UnivariateDrift(columns=FEATURES, **common),
        "data_quality": seismo.DataQuality(columns=FEATURES, **common),
        "cbpe": seismo.CBPE("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="defaulted", **common),
    }


def _results(calculator, data, streaming: bool) -> pd.DataFrame:
    run = calculator.estimate if isinstance(calculator, seismo.CBPE) else calculator.calculate
    return _quietly(run, data, streaming=streaming).to_df()


@pytest.fixture(scope="module")
def streamed(credit, tmp_path_factory):
    """Each calculator fitted and run in memory, and on parquet files read in batches of 1,777 rows."""
    reference, analysis, targets = credit
    folder = tmp_path_factory.mktemp("parquet")
    reference.to_parquet(folder / "reference.parquet", index=False)
    labelled = analysis.merge(targets, on="id")
    labelled.to_parquet(folder / "analysis.parquet", index=False)
    out = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(seismo.data.frame, "BATCH_ROWS", 1_777)  # batches never line up with chunks
        for name, calculator in _calculators().items():
            in_memory = _quietly(copy.deepcopy(calculator).fit, reference)
            from_files = _quietly(copy.deepcopy(calculator).fit, str(folder / "reference.parquet"), streaming=True)
            out[name] = (_results(in_memory, labelled, False),
                         _results(from_files, str(folder / "analysis.parquet"), True))
    return out


@pytest.mark.parametrize("name", ["univariate_drift", "data_quality", "cbpe"])
def test_streamed_segments_equal_in_memory(streamed, name):
    in_memory, from_files = streamed[name]
    assert in_memory["segment"].notna().sum() > 300 and "region=(other)" in set(in_memory["segment"])
    keys = [k for k in KEYS if k != "calculator"]
    ordered = [df.sort_values(keys, na_position="first", kind="stable").reset_index(drop=True)
               for df in (in_memory, from_files)]
    pd.testing.assert_frame_equal(ordered[1], ordered[0], check_exact=False, rtol=1e-9)


@pytest.mark.parametrize("name", ["univariate_drift", "data_quality"])
def test_streamed_segment_rows_come_in_the_in_memory_order(streamed, name):
    in_memory, from_files = streamed[name]
    assert from_files["segment"].tolist() == in_memory["segment"].tolist()


def test_streamed_values_are_not_all_equal_by_accident(streamed):
    """The segments really differ from each other and from the whole (the comparison above is not vacuous)."""
    in_memory, _ = streamed["data_quality"]
    means = in_memory[(in_memory["metric"] == "mean") & (in_memory["column"] == "income")
                      & (in_memory["period"] == "analysis") & (in_memory["chunk_index"] == 0)]
    assert means["value"].nunique() == len(means) >= 6
    assert np.isfinite(means["value"]).all()
