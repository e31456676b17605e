"""Segments in the report, the figures and the page (docs/segments.md).

Declaring segments must change nothing the report already said: the verdict, the ranking, the
alert lists and every figure read the overall rows. The credit data is run twice (with
``segments=["region"]`` and without) once for the module; the segments' own part is checked
on its numbers, and on a small frame where one region grows and another one's scores flatten.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo.engine.result import Result
from seismo.errors import InvalidConfiguration
from seismo.monitor.html import segment_table
from seismo.monitor.plotting import plot_segments
from seismo.monitor.segment_summary import alert_counts, performance_drops, share_growth

ROLES = dict(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="defaulted", timestamp="timestamp", id="id",
             chunk_size=5_000)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def credit(tmp_path_factory):
    """(segmented report, plain report, their pages) on the synthetic credit data."""
    reference, analysis, targets = seismo.datasets.load_synthetic_credit()
    segmented = seismo.Monitor("binary", **ROLES, segments=["region"]).fit(reference).run(analysis, targets=targets)
    plain = seismo.Monitor("binary", **ROLES).fit(reference).run(analysis, targets=targets)
    folder = tmp_path_factory.mktemp("segments")
    pages = (segmented.save_html(folder / "segmented.html").read_text(encoding="utf-8"),
             plain.save_html(folder / "plain.html").read_text(encoding="utf-8"))
    return segmented, plain, pages


def growing_frames(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and analysis of 6,000 rows each: in the analysis' second half region east grows from
    20% to 45% of the rows (its scores sit near 0.5: a weak segment), and south's scores flatten."""
    rng = np.random.default_rng(seed)

    def frame(n: int, east_share: float, south_flat: bool) -> pd.DataFrame:
        region = np.where(rng.random(n) < east_share, "east", np.where(rng.random(n) < 0.5, "north", "south"))
        x1, x2 = rng.normal(size=n), rng.normal(size=n)
        slope = np.where(region == "east", 0.4, np.where((region == "south") & south_flat, 0.6, 3.0))
        p = 1 / (1 + np.exp(-slope * (x1 - 0.3 * x2)))
        return pd.DataFrame({"x1": x1, "x2": x2, "region": region, "p": p, "y_pred": (p > 0.5).astype(int),
                             "y": (rng.random(n) < p).astype(int)})

    reference = frame(6_000, 0.2, False)
    analysis = pd.concat([frame(3_000, 0.2, False), frame(3_000, 0.45, True)], ignore_index=True)
    return reference, analysis


@pytest.fixture(scope="module")
def growing():
    reference, analysis = growing_frames()
    monitor = seismo.Monitor("binary", y_pred_proba="p", y_pred="y_pred", y_true="y", chunk_size=1_000,
                             metrics=["accuracy"], segments=["region"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return monitor.fit(reference).run(analysis)


def _overall_page(text: str) -> str:
    """The page less what may differ: the time, plotly's random div ids, the segments (section and
    verdict part) and the settings (which list ``segments``)."""
    text = re.sub(r"Generated [0-9-]+ [0-9:]+ UTC", "Generated", text)
    ids: dict[str, str] = {}
    text = UUID.sub(lambda m: ids.setdefault(m.group(0), f"id{len(ids)}"), text)
    text = re.sub(r"<h2 id='segments'>Segments</h2>.*?(?=<h2>Settings</h2>)", "", text, flags=re.S)
    text = re.sub(r"\n\nSegments \(.*?(?=</div>)", "", text, count=1, flags=re.S)
    return re.sub(r"<h2>Settings</h2>.*", "", text, flags=re.S)


def test_declaring_segments_changes_nothing_the_report_said(credit):
    segmented, plain, (page, plain_page) = credit
    overall, part = segmented.summary().split("\n\nSegments (", 1)
    assert overall == plain.summary()
    assert "performance measured to drop beyond its threshold from 2024-10-01 on (roc_auc" in overall
    assert "data quality: employment_type (unseen), employment_years (missing)" in overall
    pd.testing.assert_frame_equal(segmented.ranking, plain.ranking)
    assert list(segmented.ranking["n_chunks"].unique()) == [20]
    alerts = segmented.alerts().drop(columns=["segment_rows", "segment_thresholds"])
    expected = plain.alerts()
    assert len(alerts) == len(expected) == 289
    pd.testing.assert_frame_equal(alerts[expected.columns].reset_index(drop=True), expected, check_dtype=False)
    assert len(segmented.alerts(segments=True)) == 1_501  # the segments' own alerts, asked for
    pd.testing.assert_frame_equal(segmented.unreliable(), plain.unreliable())
    pd.testing.assert_frame_equal(segmented.cannot_judge(), plain.cannot_judge())
    for name in ("estimated_performance", "realized_performance", "pca_drift"):
        assert segmented.results[name].plot().to_json() == plain.results[name].plot().to_json(), name
    assert _overall_page(page) == _overall_page(plain_page)


def test_the_summary_names_the_segments_worst_first_with_their_numbers(credit):
    part = credit[0].summary().split("\n\n", 1)[1].splitlines()
    assert part[0] == "Segments (5: region=central, region=east, region=north, region=south, region=west)"
    assert part[1] == "estimated roc_auc drops beyond its threshold in 5 of 5 segments, worst first:"
    assert part[2] == ("- region=central: 0.7789 against [0.8533, 0.9373] on 2024-12-13 (1,050 rows; overall "
                       "0.7824); 5 of 10 chunks alert")
    assert [line.split(":")[0] for line in part[2:7]] == [
        "- region=central", "- region=south", "- region=east", "- region=west", "- region=north"]
    assert part[7] == "measured roc_auc drops beyond its threshold in 5 of 5 segments, worst first:"
    assert part[8] == ("- region=south: 0.7331 against [0.8517, 0.9328] on 2024-11-06 (938 rows; overall "
                       "0.7718); 5 of 10 chunks alert")
    assert part[13].startswith("alerts per segment, overall first for comparison")
    assert part[14] == "- overall: 20 drift (age 5, debt_ratio 5, employment_type 5), 10 multivariate, 70 data quality"
    assert part[15] == ("- region=east: 20 drift (age 5, debt_ratio 5, employment_type 5), 4 multivariate, "
                        "75 data quality")
    drops = performance_drops(credit[0].results["estimated_performance"])
    assert drops["gap"].is_monotonic_decreasing
    assert drops.loc[0, "gap"] == pytest.approx(0.8533 - 0.7789, abs=2e-4)
    counts = alert_counts(credit[0].results).set_index("segment")
    assert counts.loc["region=north", "quality"] == 76 and counts.loc["region=west", "multivariate"] == 1


def test_a_growing_segment_is_named_with_its_share_and_its_performance(growing):
    summary = growing.summary()
    assert summary.splitlines()[0] == ("performance estimated to drop beyond its threshold from [3000:3999] on "
                                       "(accuracy); most correlated drift: region")
    part = summary.split("\n\n", 1)[1].splitlines()
    assert part == [
        "Segments (3: region=east, region=north, region=south)",
        "estimated accuracy drops beyond its threshold in 1 of 3 segments, worst first:",
        "- region=south: 0.6159 against [0.7658, 0.9149] on [5000:5999] (252 rows; overall 0.6667); "
        "3 of 6 chunks alert",
        "measured accuracy drops beyond its threshold in 1 of 3 segments, worst first:",
        "- region=south: 0.6347 against [0.7682, 0.9125] on [3000:3999] (271 rows; overall 0.684); "
        "3 of 6 chunks alert",
        "1 segment grew beyond its share of the reference's rows:",
        "- region=east grew from 20% of rows to 46% on [5000:5999] (alert above 29%; 3 of 6 chunks); "
        "its estimated accuracy is 0.58 against 0.67 overall",
        "no drift or data-quality alert in any segment",
    ]
    grew = share_growth(growing.results).iloc[0]
    assert grew["share"] == pytest.approx(0.455) and grew["reference_share"] == pytest.approx(0.2, abs=0.01)
    table = segment_table(growing).set_index("segment")
    assert table.loc["region=south", "estimated alerting chunks"] == 3
    assert table.loc["region=east", "estimated alerting chunks"] == 0
    assert table.loc["region=east", "analysis rows"] == 217 + 201 + 192 + 434 + 467 + 455


def test_filter_by_segments_and_overall_only(credit):
    result = credit[0].results["estimated_performance"]
    df = result.to_df()
    east = result.filter(segments="region=east").to_df()
    assert len(east) == 220 and set(east["segment"]) == {"region=east"}
    both = result.filter(period="analysis", segments=["region=east", "region=west"]).to_df()
    assert len(both) == 220 and set(both["segment"]) == {"region=east", "region=west"}
    overall = result.filter(overall_only=True).to_df()
    assert len(overall) == 220 and overall["segment"].isna().all()
    assert len(result.filter().to_df()) == len(result.filter(segments="*").to_df()) == len(df) == 1_320
    with pytest.raises(InvalidConfiguration, match="pass segments .* or overall_only=True, not both"):
        result.filter(segments="region=east", overall_only=True)
    with pytest.raises(InvalidConfiguration, match=r"segments \['region=mars'\] are not in this result; it has "
                                                   r"\['region=central'"):
        result.filter(segments="region=mars")
    plain = Result(df[df["segment"].isna()].drop(columns="segment"), "CBPE")  # a frame from before segments
    assert len(plain.filter(overall_only=True)) == 220


def test_plot_one_segment(credit):
    result = credit[0].results["estimated_performance"]
    fig = result.plot(segment="region=west")
    assert fig.layout.title.text == "CBPE: region=west"
    west = result.filter(period="analysis", segments="region=west", metrics="roc_auc").to_df()
    alerts = next(t for t in fig.data if t.name == "alert" and t.xaxis == "x")
    assert list(alerts.y) == list(west.loc[west["alert"], "value"])
    overall = next(t for t in result.plot().data if t.name == "estimated")
    assert overall.y[0] == pytest.approx(0.892953, abs=1e-6)  # the overall rows by default


def test_plot_segments_small_multiples(credit):
    result = credit[0].results["estimated_performance"]
    fig = plot_segments(result, "roc_auc")
    titles = [a.text for a in fig.layout.annotations if a.text and "·" in a.text]
    assert titles == ["overall · 5 alerts", "region=central · 5 alerts", "region=east · 5 alerts",
                      "region=north · 5 alerts", "region=south · 5 alerts", "region=west · 5 alerts"]
    axes = [fig.layout[f"yaxis{i if i > 1 else ''}"] for i in range(1, 7)]
    anchors = {ax.matches for ax in axes if ax.matches}
    assert len(anchors) == 1 and len([ax for ax in axes if ax.matches]) == 5  # one shared y axis
    thresholds = [t for t in fig.data if t.name == "lower threshold"]
    assert len(thresholds) == 6
    assert min(thresholds[3].y) == pytest.approx(0.8153, abs=1e-3)  # region=north's own threshold
    assert sum(len(t.x) for t in fig.data if t.name == "alert") == 30
    drift = plot_segments(credit[0].results["univariate_drift"], "jensen_shannon", column="income")
    assert drift.layout.title.text == "income · jensen_shannon by segment"
    with pytest.raises(InvalidConfiguration, match="reported per column: pass column="):
        plot_segments(credit[0].results["univariate_drift"], "jensen_shannon")
    with pytest.raises(InvalidConfiguration, match="metric 'mae' is not in this result"):
        plot_segments(result, "mae")
    with pytest.raises(InvalidConfiguration, match="no segment rows"):
        plot_segments(credit[1].results["estimated_performance"], "roc_auc")


def test_the_page_has_a_segments_section_only_with_segments(credit):
    _, _, (page, plain_page) = credit
    assert "<h2 id='segments'>Segments</h2>" in page and "id='segment-select'" in page
    assert page.count("class='segment-panel'") == 5 and page.count("class='segment-panel' data-index='0'>") == 1
    assert len(re.findall(r"class='segment-panel' data-index='[1-4]' hidden>", page)) == 4
    assert "<option value='1'>region=east (5 alerting chunks)</option>" in page
    assert "roc_auc by segment" in page
    assert "Segments</h2>" not in plain_page and "segment-select" not in plain_page
    section = page[page.index("<h2 id='segments'>"):page.index("<h2>Settings</h2>")]
    assert "src=" not in section and "http" not in section  # one file: nothing to fetch (see the browser test)
