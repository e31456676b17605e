"""plot_result draws any Result tidy frame faithfully: one panel per (column, metric),
alerting pairs kept first past max_panels, dates on x when present, alert markers
exactly at alerting chunks, threshold/band/realized traces iff their data is non-null,
legend entries once per figure, and a JSON-serialisable figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from seismo.errors import ColumnNotFound, InvalidConfiguration
from seismo.monitor.plotting import plot_empty_message, plot_result

N_REF, N_ANA = 3, 4


def tidy(
    pairs: list[tuple[str | None, str]] | None = None,
    *,
    dates: bool = True,
    realized: bool | None = None,
    alerts: dict[tuple[str | None, str], list[int]] | None = None,
    band: bool = True,
) -> pd.DataFrame:
    """A tidy Result frame: N_REF reference then N_ANA analysis chunks per pair.

    ``alerts`` maps a pair to running chunk numbers (0..N_REF+N_ANA-1) that alert;
    ``realized`` None leaves the column out, False makes it all null.
    """
    pairs = pairs or [("income", "jensen_shannon")]
    n = N_REF + N_ANA
    chunk = pd.DataFrame({
        "chunk_index": list(range(N_REF)) + list(range(N_ANA)),
        "period": ["reference"] * N_REF + ["analysis"] * N_ANA,
        "_run": range(n),
    })
    chunk["chunk_key"] = [f"[{i * 100}:{i * 100 + 99}]" for i in range(n)]
    chunk["chunk_start_index"] = chunk["_run"] * 100
    chunk["chunk_end_index"] = chunk["_run"] * 100 + 99
    starts = pd.date_range("2024-01-01", periods=n, freq="7D")
    chunk["chunk_start_date"] = starts if dates else pd.NaT
    chunk["chunk_end_date"] = starts + pd.Timedelta(days=6) if dates else pd.NaT
    frames = []
    for k, (col, metric) in enumerate(pairs):
        f = chunk.copy()
        f["column"], f["metric"] = col, metric
        f["value"] = 0.1 * k + np.linspace(0.0, 0.6, n)
        f["sampling_error"] = 0.01
        f["lower_confidence"] = f["value"] - 0.02 if band else np.nan
        f["upper_confidence"] = f["value"] + 0.02 if band else np.nan
        f["lower_threshold"] = np.nan
        f["upper_threshold"] = np.linspace(0.5, 0.56, n)
        f["alert"] = f["_run"].isin((alerts or {}).get((col, metric), []))
        frames.append(f)
    df = pd.concat(frames, ignore_index=True)
    # Reference chunks of every pair first, then analysis chunks, as Result.to_df() orders.
    df = df.sort_values(["_run"], kind="stable").drop(columns="_run").reset_index(drop=True)
    if realized is not None:
        df["realized"] = df["value"] + 0.05 if realized else np.nan
        if realized:
            df.loc[df["period"] == "analysis", "realized"] = np.nan  # labels only in reference
    return df


def traces(fig: go.Figure, name: str) -> list:
    return [t for t in fig.data if t.name == name]


def titles(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def test_one_panel_per_pair_with_titles_and_scaled_height():
    pairs = [("income", "jensen_shannon"), ("age", "jensen_shannon"), (None, "roc_auc")]
    fig = plot_result(tidy(pairs), title="Drift")
    assert titles(fig) == ["income · jensen_shannon", "age · jensen_shannon", "roc_auc"]
    assert {t.yaxis for t in fig.data} == {"y", "y2", "y3"}
    assert fig.layout.title.text == "Drift"
    assert fig.layout.height > plot_result(tidy(pairs[:1])).layout.height
    fig.to_json()


def test_value_steps_split_reference_grey_and_analysis_colored():
    fig = plot_result(tidy())
    (ref,), (ana,) = traces(fig, "reference"), traces(fig, "analysis")
    assert ref.line.shape == ana.line.shape == "hv"
    assert ref.line.color != ana.line.color
    values = np.linspace(0.0, 0.6, N_REF + N_ANA)
    # each step carries its last value up to where the chunk ends
    np.testing.assert_allclose(ref.y, [*values[:N_REF], values[N_REF - 1]])
    np.testing.assert_allclose(ana.y, [*values[N_REF:], values[-1]])
    assert "[0:99]" in ref.customdata[0][0] and "sampling error" in ref.hovertemplate


def test_x_is_dates_when_dates_exist_and_divider_at_first_analysis_chunk():
    fig = plot_result(tidy(dates=True))
    (ref,), (ana,) = traces(fig, "reference"), traces(fig, "analysis")
    starts = pd.date_range("2024-01-01", periods=N_REF + N_ANA, freq="7D")
    assert list(pd.to_datetime(ref.x)) == [*starts[:N_REF], starts[N_REF]]
    assert list(pd.to_datetime(ana.x)) == [*starts[N_REF:], starts[-1] + pd.Timedelta(days=6)]
    (divider,) = fig.layout.shapes
    assert divider.line.dash == "dash" and pd.Timestamp(divider.x0) == starts[N_REF]
    fig.to_json()


def test_x_is_running_chunk_number_without_dates():
    fig = plot_result(tidy(dates=False))
    (ref,), (ana,) = traces(fig, "reference"), traces(fig, "analysis")
    np.testing.assert_array_equal(ref.x, [0, 1, 2, 3])
    np.testing.assert_array_equal(ana.x, [3, 4, 5, 6, 7])
    assert fig.layout.shapes[0].x0 == N_REF
    fig.to_json()


def test_alert_markers_exactly_at_alerting_chunks():
    pairs = [("income", "jensen_shannon"), ("age", "jensen_shannon")]
    fig = plot_result(tidy(pairs, dates=False, alerts={pairs[1]: [4, 6]}))
    (marker,) = traces(fig, "alert")
    assert marker.mode == "markers" and marker.yaxis == "y2"
    np.testing.assert_array_equal(marker.x, [4, 6])
    np.testing.assert_allclose(marker.y, 0.1 + np.linspace(0.0, 0.6, 7)[[4, 6]])
    dated = plot_result(tidy(pairs, alerts={pairs[0]: [5]}))
    starts = pd.date_range("2024-01-01", periods=7, freq="7D")
    assert list(pd.to_datetime(traces(dated, "alert")[0].x)) == [starts[5]]
    assert traces(plot_result(tidy(pairs)), "alert") == []


def test_threshold_steps_only_for_bounded_sides():
    fig = plot_result(tidy(dates=False))
    assert traces(fig, "lower threshold") == []  # lower_threshold is all null: unbounded
    (upper,) = traces(fig, "upper threshold")
    expected = np.linspace(0.5, 0.56, 7)
    np.testing.assert_allclose(upper.y, [*expected, expected[-1]])
    assert upper.line.dash == "dash" and upper.line.shape == "hv"
    df = tidy(dates=False).assign(lower_threshold=0.05)
    (lower,) = traces(plot_result(df), "lower threshold")
    np.testing.assert_allclose(lower.y, 0.05)


def test_band_present_iff_confidence_non_null():
    with_band = traces(plot_result(tidy()), "confidence band")
    assert len(with_band) == 2 and with_band[1].fill == "tonexty"
    np.testing.assert_allclose(with_band[0].y[:-1], np.linspace(0.0, 0.6, 7) - 0.02)
    assert traces(plot_result(tidy(band=False)), "confidence band") == []


def test_realized_overlay_iff_realized_non_null():
    fig = plot_result(tidy(realized=True))
    (real,) = traces(fig, "realized")
    assert real.line.dash == "dot"
    np.testing.assert_allclose(real.y[:N_REF], np.linspace(0.0, 0.6, 7)[:N_REF] + 0.05)
    assert len(traces(fig, "estimated")) == 1 and traces(fig, "analysis") == []
    for df in (tidy(realized=False), tidy(realized=None)):
        fig = plot_result(df)
        assert traces(fig, "realized") == [] and traces(fig, "estimated") == []
        assert len(traces(fig, "analysis")) == 1


def test_legend_entries_shown_once():
    pairs = [("a", "jensen_shannon"), ("b", "jensen_shannon"), ("c", "jensen_shannon")]
    fig = plot_result(tidy(pairs, realized=True, alerts={pairs[2]: [5]}))
    shown = [t.name for t in fig.data if t.showlegend]
    assert sorted(shown) == sorted(set(shown))
    assert set(shown) == {t.name for t in fig.data}
    assert all(t.legendgroup == t.name for t in fig.data)


def test_max_panels_keeps_alerting_pairs_first_and_says_how_many_left_out():
    pairs = [(f"f{i}", "jensen_shannon") for i in range(6)]
    df = tidy(pairs, alerts={pairs[4]: [5], pairs[5]: [6]})
    fig = plot_result(df, title="Drift", max_panels=3)
    assert titles(fig) == ["f0 · jensen_shannon", "f4 · jensen_shannon", "f5 · jensen_shannon"]
    assert fig.layout.title.text.startswith("Drift") and "3 of 6" in fig.layout.title.text
    assert len(traces(fig, "alert")) == 2
    assert plot_result(df, max_panels=6).layout.title.text is None
    with pytest.raises(InvalidConfiguration):
        plot_result(df, max_panels=0)


def test_empty_frame_gives_message_figure():
    fig = plot_result(tidy().iloc[:0], title="Drift")
    assert len(fig.data) == 0 and len(fig.layout.annotations) == 1
    assert fig.layout.title.text == "Drift"
    msg = plot_empty_message("no chunks")
    assert msg.layout.annotations[0].text == "no chunks"
    msg.to_json()


def test_minimal_frame_and_missing_required_column():
    minimal = tidy(dates=False)[["chunk_index", "chunk_key", "period", "metric", "value"]]
    fig = plot_result(minimal)
    assert {t.name for t in fig.data} == {"reference", "analysis"}
    assert titles(fig) == ["jensen_shannon"]
    with pytest.raises(ColumnNotFound):
        plot_result(minimal.drop(columns="value"))


def test_timezone_aware_and_analysis_only_frames_serialise():
    df = tidy()
    df["chunk_start_date"] = df["chunk_start_date"].dt.tz_localize("UTC")
    df["chunk_end_date"] = df["chunk_end_date"].dt.tz_localize("UTC")
    plot_result(df).to_json()
    analysis = tidy(dates=False).query("period == 'analysis'")
    fig = plot_result(analysis)
    assert traces(fig, "reference") == [] and len(fig.layout.shapes) == 0
    np.testing.assert_array_equal(traces(fig, "analysis")[0].x, [0, 1, 2, 3, 4])
