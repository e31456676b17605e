"""The HTML report in a real headless Chromium (driven by Playwright): the page loads without
console errors, every figure renders an SVG, and a screenshot is saved for people to look at
(artifacts/report.png). A report for 50 features × 100 chunks stays under 10 MB."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo.monitor.ranking import rank
from seismo.monitor.report import Report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def report_path(tmp_path_factory) -> Path:
    reference, analysis, targets = seismo.datasets.load_synthetic_credit()
    monitor = seismo.Monitor("binary", y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="defaulted",
                             timestamp="timestamp", id="id", chunk_size=5_000)
    report = monitor.fit(reference).run(analysis, targets=targets)
    return report.save_html(tmp_path_factory.mktemp("report") / "report.html")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed; .ci/run installs it (apt package chromium)")
def test_report_renders_in_chromium_without_errors(report_path):
    import playwright.sync_api as playwright  # in the [test] extra; only Chromium comes from .ci/run
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 2400})
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(report_path.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
        figures = page.locator(".js-plotly-plot").count()
        rendered = page.evaluate(
            "Array.from(document.querySelectorAll('.js-plotly-plot')).filter(d => d.querySelector('.main-svg')).length"
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=False)
        text = page.inner_text("body")
        browser.close()
    assert errors == []
    assert figures == report_path.read_text(encoding="utf-8").count("Plotly.newPlot") >= 5
    assert rendered == figures
    assert "most correlated drift: debt_ratio, income" in text
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def test_report_for_fifty_features_and_a_hundred_chunks_stays_small(tmp_path):
    rng = np.random.default_rng(0)
    columns = [f"feature_{i:02d}" for i in range(50)]

    def frame(n):
        return pd.DataFrame(rng.normal(size=(n, 50)), columns=columns)

    drift = seismo.UnivariateDrift(columns=columns, chunk_size=200, methods=["jensen_shannon", "kolmogorov_smirnov"],
                                   n_resamples=10).fit(frame(4_000)).calculate(frame(20_000))
    quality = seismo.DataQuality(columns=columns, chunk_size=200, n_resamples=10).fit(frame(4_000)).calculate(frame(20_000))
    assert drift.filter(period="analysis").to_df()["chunk_index"].nunique() == 100
    report = Report({"univariate_drift": drift, "data_quality": quality}, rank(drift), {"chunk_size": 200})
    path = report.save_html(tmp_path / "big.html")
    text = path.read_text(encoding="utf-8")
    assert path.stat().st_size < 10_000_000
    assert "42 more columns (quieter)" in text  # the quiet columns are collapsed


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed; .ci/run installs it (apt package chromium)")
def test_an_unreliable_estimate_is_grey_with_its_reason_on_hover(tmp_path):
    """A chunk moved where the reference has no rows: the verdict says "estimate unreliable here", the
    figure draws that estimate as a grey marker, and hovering it shows the trust level and the reason."""
    import playwright.sync_api as playwright  # in the [test] extra; only Chromium comes from .ci/run
    rng = np.random.default_rng(3)

    def frame(n, x1_mean):
        x1, x2 = rng.normal(x1_mean, 1.0, n), rng.normal(size=n)
        p = 1 / (1 + np.exp(-(x1 - 0.5 * x2)))
        return pd.DataFrame({"x1": x1, "x2": x2, "p": p, "y_pred": (p > 0.5).astype(int),
                             "y": (rng.random(n) < p).astype(int)})

    analysis = pd.concat([frame(1_000, 0.0), frame(1_000, 5.0)], ignore_index=True)
    monitor = seismo.Monitor("binary", y_pred_proba="p", y_pred="y_pred", y_true="y", chunk_size=1_000,
                             metrics=["accuracy"], estimator="pape")
    path = monitor.fit(frame(6_000, 0.0)).run(analysis.drop(columns="y")).save_html(tmp_path / "trust.html")
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1600})
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(path.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
        legend = page.evaluate("Array.from(document.querySelectorAll('.js-plotly-plot .legendtext'))"
                               ".map(e => e.textContent).join('|')")
        hover = page.evaluate("""() => {
            const gd = document.querySelector('.js-plotly-plot');
            const i = gd._fullData.findIndex(t => t.name === 'estimate unreliable');
            if (i < 0) return '';
            Plotly.Fx.hover(gd, [{curveNumber: i, pointNumber: 0}], 'xy');
            return gd.querySelector('.hoverlayer').textContent;
        }""")
        verdict = page.inner_text(".verdict")
        browser.close()
    assert errors == []
    assert "estimate unreliable" in legend
    assert "estimate unreliable here" in hover and "trust: none" in hover and "almost no data" in hover
    assert "estimate unreliable here: [1000:1999]" in verdict


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed; .ci/run installs it (apt package chromium)")
def test_the_segment_selector_switches_the_visible_figure(tmp_path):
    """Segments declared: the page shows one segment's performance figure at a time; choosing another
    in the selector hides the first and draws the chosen one at the page's width, with no console
    error and no request leaving the file."""
    import playwright.sync_api as playwright  # in the [test] extra; only Chromium comes from .ci/run
    rng = np.random.default_rng(5)

    def frame(n, south_flat):
        region = rng.choice(["east", "north", "south"], n)
        x1, x2 = rng.normal(size=n), rng.normal(size=n)
        p = 1 / (1 + np.exp(-np.where((region == "south") & south_flat, 0.5, 3.0) * (x1 - 0.3 * x2)))
        return pd.DataFrame({"x1": x1, "x2": x2, "region": region, "p": p, "y_pred": (p > 0.5).astype(int),
                             "y": (rng.random(n) < p).astype(int)})

    monitor = seismo.Monitor("binary", y_pred_proba="p", y_pred="y_pred", y_true="y", chunk_size=1_000,
                             metrics=["accuracy"], segments=["region"], calculators={"domain_classifier_drift": False})
    analysis = pd.concat([frame(2_000, False), frame(2_000, True)], ignore_index=True)
    path = monitor.fit(frame(6_000, False)).run(analysis).save_html(tmp_path / "segments.html")
    errors: list[str] = []
    requests: list[str] = []
    panels = "Array.from(document.querySelectorAll('.segment-panel')).filter(d => !d.hidden)" \
             ".map(d => [d.querySelector('.gtitle').textContent, +d.querySelector('.main-svg').getAttribute('width')])"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1600})
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(path.as_uri())
        page.wait_for_function("Array.from(document.querySelectorAll('.segment-panel .js-plotly-plot'))"
                               ".filter(d => d.querySelector('.main-svg')).length === 3")
        options = page.eval_on_selector_all("#segment-select option", "os => os.map(o => o.textContent)")
        before = page.evaluate(panels)
        page.select_option("#segment-select", label="region=south (2 alerting chunks)")
        page.wait_for_function("document.querySelector('.segment-panel[data-index=\"2\"]').hidden === false && "
                               "+document.querySelector('.segment-panel[data-index=\"2\"] .main-svg').getAttribute('width')"
                               " > 1000")  # shown, then resized to the page (plotly resizes asynchronously)
        after = page.evaluate(panels)
        browser.close()
    assert options == ["region=east", "region=north", "region=south (2 alerting chunks)"]
    assert before[0][0] == "estimated performance: region=east" and len(before) == 1
    assert after[0][0] == "estimated performance: region=south" and len(after) == 1
    assert after[0][1] == before[0][1] > 1_000  # drawn at the page's width, not plotly's 700 of a hidden div
    assert errors == []
    assert [url for url in requests if not url.startswith("file:")] == []
