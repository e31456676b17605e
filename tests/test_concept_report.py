"""Concept shift in the one-file HTML report: its own figure right after performance, and the
"Why performance changed" section (`Report.decomposition` as a figure over time and a table).

One small binary run: the model's concept is the reference's in chunks 0, 1, 4 and 5 and flipped
in a region of the features (x2 > 0.5) in chunks 2 and 3, with labels everywhere, so realized
performance drops there and the decomposition puts the drop on concept shift.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo.monitor.decomposition import headline_metric, signed
from seismo.monitor.report import Report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]
FLIPPED = (2, 3)  # analysis chunks whose concept is flipped where x2 > 0.5


def _frame(n: int, seed: int, flip: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    p_model = 1 / (1 + np.exp(-2 * x1))
    p_true = np.where(flip & (x2 > 0.5), 1 - p_model, p_model)
    return pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "proba": p_model, "pred": (p_model > 0.5).astype(int),
                         "y": (rng.random(n) < p_true).astype(int)})


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Report, Path]:
    analysis = pd.concat([_frame(1_000, 10 + i, flip=i in FLIPPED) for i in range(6)], ignore_index=True)
    monitor = seismo.Monitor("binary", y_pred_proba="proba", y_pred="pred", y_true="y", chunk_size=1_000,
                             metrics=["accuracy", "roc_auc"], calculators={"concept_shift": {"n_resamples": 8}})
    report = monitor.fit(_frame(6_000, 1)).run(analysis)
    return report, report.save_html(tmp_path_factory.mktemp("concept") / "report.html")


def _section(page: str, anchor: str) -> str:
    """The HTML of one section: from its heading to the next one."""
    start = page.index(f"<h2 id='{anchor}'>")
    end = page.find("<h2", start + 1)
    return page[start:end if end > 0 else None]


def _table_rows(section: str) -> list[list[str]]:
    """The section's table as text cells (header row first)."""
    table = re.search(r"<table>.*?</table>", section, flags=re.S)
    assert table is not None
    return [[html.unescape(c) for c in re.findall(r"<t[hd]>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", table.group(0), flags=re.S)]


def test_the_why_section_tabulates_each_labelled_chunk_with_the_decomposition_numbers(run):
    report, path = run
    page = path.read_text(encoding="utf-8")
    table = report.decomposition()
    metric = headline_metric(table)
    assert metric == "roc_auc"
    why = _section(page, "why")
    assert "All 6 labelled chunks (roc_auc, each part ± 3 SE" in why
    rows = _table_rows(why)
    assert rows[0] == ["chunk", "dropped", "realized change", "covariate", "concept", "remainder", "main cause"]
    expected = table[table["metric"] == metric].set_index("chunk_index")
    assert [r[0] for r in rows[1:]] == list(expected["chunk_key"])
    for index, row in zip(expected.index, rows[1:]):
        want = expected.loc[index]
        assert row[3] == signed(want["covariate"], want["covariate_se"])
        assert row[4] == signed(want["concept"], want["concept_se"])
        assert row[2] == signed(want["realized_change"], want["realized_se"])
    # the flipped chunks: realized roc_auc fell by about 0.2, nearly all of it concept shift
    for index in FLIPPED:
        row = rows[1 + index]
        want = expected.loc[index]
        assert row[1] == "yes" and row[6] == "mostly concept shift"
        assert want["concept"] < -0.15 and abs(want["covariate"]) < 0.02
        value, spread = row[4].split(" ± ")
        assert float(value) == pytest.approx(want["concept"], abs=0.0005)  # 3 decimals shown: spread ~0.04
        assert float(spread) == pytest.approx(3 * want["concept_se"], abs=0.0005)
    assert [r[1] for r in rows[1:]].count("yes") == 2
    assert "The other metrics (accuracy)" in why


def test_the_why_figure_draws_the_three_parts_and_the_realized_change(run):
    report, path = run
    why = _section(path.read_text(encoding="utf-8"), "why")
    assert why.count("Plotly.newPlot") == 1
    for name in ("covariate shift", "concept shift", "remainder", "realized change"):
        assert f'"name":"{name}"' in why
    assert '"barmode":"group"' in why
    assert "change in roc_auc from the reference" in why  # the y axis says what the bars are
    from seismo.monitor.decomposition_plot import plot_decomposition

    fig = plot_decomposition(report.decomposition(), "roc_auc")
    concept = next(t for t in fig.data if t.name == "concept shift")
    expected = report.decomposition().query("metric == 'roc_auc'")
    np.testing.assert_allclose(concept.y, expected["concept"])
    np.testing.assert_allclose(concept.error_y.array, 3 * expected["concept_se"])
    assert list(fig.layout.xaxis.ticktext) == list(expected["chunk_key"])


def test_concept_shift_has_its_figure_right_after_performance(run):
    report, path = run
    page = path.read_text(encoding="utf-8")
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", page)
    assert headings[:4] == ["Estimated performance", "Realized performance", "Concept shift",
                            "Why performance changed"]
    concept = _section(page, "concept-shift")
    assert concept.count("Plotly.newPlot") == 1
    assert '"name":"concept impact"' in concept
    assert '"name":"realized"' not in concept  # the chunk's realized level is not drawn over its impact
    fig = report.results["concept_shift"].plot()
    assert {t.name for t in fig.data} >= {"concept impact", "alert"}
    assert "realized" not in {t.name for t in fig.data}
    assert "class='verdict'" in page  # a concept-shift alert is trouble: the verdict is red
    # rebuilt from a store, the rows may lack the all-empty columns; the calculator still says what they are
    df = report.results["concept_shift"].to_df().drop(columns=["concept_explained", "trust_reason"])
    stored = type(report.results["concept_shift"])(df, "ConceptShift").plot()
    assert "realized" not in {t.name for t in stored.data} and "concept impact" in {t.name for t in stored.data}


def test_dated_chunks_draw_on_a_date_axis_and_are_named_by_date(run):
    from seismo.monitor.decomposition_plot import cause_table, plot_decomposition

    report, _ = run
    table = report.decomposition()
    table["chunk_start_date"] = pd.Timestamp("2024-03-01") + pd.to_timedelta(7 * table["chunk_index"], unit="D")
    fig = plot_decomposition(table, "roc_auc")
    assert fig.layout.xaxis.title.text == "chunk start date" and fig.layout.xaxis.ticktext is None
    assert pd.Timestamp(fig.data[0].x[2]) == pd.Timestamp("2024-03-15")
    rows = cause_table(table, "roc_auc", {2, 3})
    assert list(rows["chunk"][:3]) == ["2024-03-01", "2024-03-08", "2024-03-15"]
    assert list(rows["dropped"]) == ["", "", "yes", "yes", "", ""]


def test_the_verdict_names_the_concept_shift_and_why_performance_dropped(run):
    report, path = run
    verdict = html.unescape(re.search(r"<div class='verdict[^']*'>(.*?)</div>", path.read_text(encoding="utf-8"),
                                      flags=re.S).group(1))
    assert verdict == report.summary()
    lines = verdict.splitlines()
    assert "concept shift from [2000:2999] on (accuracy, roc_auc, magnitude)" in verdict
    start = lines.index("Why realized roc_auc changed (change from the reference = covariate + concept + remainder, "
                        "each ± 3 SE):")
    why = lines[start + 1:start + 3]
    assert [line.split("]")[0] + "]" for line in why] == ["- [2000:2999]", "- [3000:3999]"]
    assert all(line.endswith(": mostly concept shift") for line in why)


def test_without_concept_shift_there_is_no_such_section(run, tmp_path):
    report, _ = run
    results = {k: v for k, v in report.results.items() if k != "concept_shift"}  # what a run without it returns
    page = Report(results, report.ranking, report.settings).save_html(tmp_path / "plain.html").read_text(encoding="utf-8")
    assert "<h2 id='why'>" not in page and "<h2 id='concept-shift'>" not in page
    assert "Why realized" not in page
    assert "<h2>Realized performance</h2>" in page


def test_chunk_keys_reach_the_why_section_as_text(run, tmp_path):
    """A stored chunk key is data: the table and the figure show it escaped, never as markup."""
    report, _ = run
    payload = "<img src=x onerror=alert(1)>"
    results = dict(report.results)
    for name in ("estimated_performance", "concept_shift"):
        df = report.results[name].to_df()
        df.loc[(df["period"] == "analysis") & (df["chunk_index"] == 2), "chunk_key"] = payload
        results[name] = type(report.results[name])(df, report.results[name].calculator)
    page = Report(results, report.ranking, report.settings).save_html(tmp_path / "hostile.html").read_text(
        encoding="utf-8")
    why = _section(page, "why")
    assert payload not in page
    assert "<td>&lt;img src=x onerror=alert(1)&gt;</td>" in why  # the table
    assert '"&lt;img src=x onerror=alert(1)&gt;"' in why  # the figure's tick label and hover: plotly's entities


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed; .ci/run installs it (apt package chromium)")
def test_the_why_figure_renders_in_chromium_without_errors(run):
    import playwright.sync_api as playwright  # in the [test] extra; only Chromium comes from .ci/run
    _, path = run
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(path.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
        drawn = page.evaluate("""() => {
            const why = document.getElementById('why');
            let el = why.nextElementSibling;
            while (el && !el.querySelector('.js-plotly-plot')) el = el.nextElementSibling;
            const gd = el.querySelector('.js-plotly-plot');
            return {bars: gd.querySelectorAll('.barlayer .point').length,
                    legend: Array.from(gd.querySelectorAll('.legendtext')).map(e => e.textContent),
                    ticks: Array.from(gd.querySelectorAll('.xtick text')).map(e => e.textContent),
                    ytitle: gd.querySelector('.ytitle').textContent};
        }""")
        page.evaluate("document.getElementById('why').scrollIntoView()")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "concept_report.png"), full_page=False)
        browser.close()
    assert errors == []
    assert drawn["bars"] == 3 * 6  # three parts in each of the 6 labelled chunks
    assert drawn["legend"] == ["covariate shift", "concept shift", "remainder", "realized change"]
    assert drawn["ticks"] == [f"[{i * 1000}:{i * 1000 + 999}]" for i in range(6)]
    assert drawn["ytitle"] == "change in roc_auc from the reference"
    assert (ARTIFACTS / "concept_report.png").stat().st_size > 10_000
