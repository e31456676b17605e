"""Hostile strings in the data reach the one-file HTML report as text, and none of them runs.

Column names, category values, the model's name and the stored chunk keys, metric names and
trust reasons of a report are data, and data can hold markup. Each field below carries a
payload that would run if it reached the page unescaped: a ``<script>``, a ``</script>``
that would close plotly's inline script early, an ``<img onerror>``, an ``<svg onload>``, a
``javascript:`` link, a quote that would end an attribute. The report is opened in headless
Chromium; the test asserts that no payload ran (the global flag they set stays unset, no dialog
opened, no request left the page, no element they would create exists), even once the figures'
hover labels are drawn, and that the payloads read as text in the tables, figure titles and
hover labels.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo.engine.result import Result
from seismo.monitor.report import Report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]

SCRIPT = "<script>window.__pwned='script'</script>"
BREAKOUT = "</script><script>window.__pwned='breakout'</script><!--"
IMG = "\"'><img src=x onerror=\"window.__pwned='img'\">"
SVG = "<svg onload=\"window.__pwned='svg'\"></svg>"
LINK = "<a href=\"javascript:window.__pwned='link'\">click</a>"
QUOTE = "';alert('quote');//\" & <b>bold</b> &lt;"
BIDI = "x\u202e<i>y</i>\u0000 ]]> {{7*7}} ${7*7}"
PAYLOADS = [SCRIPT, BREAKOUT, IMG, SVG, LINK, QUOTE, BIDI]


def _log(rng: np.random.Generator, n: int, shift: float) -> pd.DataFrame:
    """A binary model's log whose feature names and category values are payloads."""
    x = rng.normal(shift, 1.0, n)
    p = 1 / (1 + np.exp(-x))
    return pd.DataFrame({
        SCRIPT: x,
        BREAKOUT: rng.choice([SVG, LINK, QUOTE, "plain"], n),
        IMG: rng.normal(size=n),
        "p": p, "y_pred": (p > 0.5).astype(int), "y": (rng.random(n) < p).astype(int),
    })


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    rng = np.random.default_rng(12)
    reference = _log(rng, 1_000, 0.0)
    analysis = pd.concat([_log(rng, 500, 0.0), _log(rng, 500, 1.5)], ignore_index=True)
    analysis.loc[500:, BREAKOUT] = IMG  # a category value the reference never had
    analysis.loc[600:, IMG] = np.nan  # a data-quality alert on the column named IMG
    # small and few calculators: what matters is that every kind of section is drawn
    monitor = seismo.Monitor("binary", y_pred_proba="p", y_pred="y_pred", y_true="y", chunk_size=250,
                             metrics=["roc_auc", "accuracy"],
                             calculators={"domain_classifier_drift": True, "pca_drift": False,
                                          "univariate_drift": {"methods": ["jensen_shannon"]},
                                          "data_quality": {"metrics": ["missing_rate", "mean"]}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seismo.SeismoWarning)
        report = monitor.fit(reference).run(analysis.drop(columns="y"))
    # What a results store may hand back (`seismo report` rebuilds the report from stored rows):
    # chunk keys, metric names and trust reasons are text too.
    estimated = report.results["estimated_performance"].to_df()
    last = estimated["chunk_index"] == estimated.loc[estimated["period"] == "analysis", "chunk_index"].max()
    estimated.loc[last, ["chunk_key", "trust", "trust_reason"]] = [BIDI, "none", QUOTE]
    estimated.loc[estimated["metric"] == estimated["metric"].iloc[0], "metric"] = LINK
    results = {**report.results, "estimated_performance": Result(estimated, "CBPE")}
    settings = {**report.settings, "model": LINK + SCRIPT}
    hostile = Report(results, report.ranking, settings, top_features=report.top_features)
    return hostile.save_html(tmp_path_factory.mktemp("hostile") / "report.html")


def test_the_html_carries_no_payload_unescaped(hostile_report):
    html = hostile_report.read_text(encoding="utf-8")
    for payload in PAYLOADS:
        assert payload not in html
    assert html.count("</script>") == html.count("<script")  # no script closed early


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed; .ci/run installs it (apt package chromium)")
def test_no_payload_runs_in_chromium_and_each_reads_as_text(hostile_report):
    playwright = pytest.importorskip("playwright.sync_api")
    dialogs: list[str] = []
    requests: list[str] = []
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 2400})
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("request", lambda request: requests.append(request.url))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(hostile_report.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
        # draw every trace's first hover label: hover text is rendered as markup by plotly
        # draw hover labels (plotly renders their text as markup): the last point of every trace
        # with hover data, which is the last chunk, the one with the hostile key and reason. Plotly
        # throttles hovers, hence the pause between them.
        hovers = page.evaluate("""async () => {
            const texts = [];
            for (const gd of document.querySelectorAll('.js-plotly-plot')) {
                for (const [i, trace] of gd._fullData.entries()) {
                    if (!trace.customdata) continue;
                    Plotly.Fx.hover(gd, [{curveNumber: i, pointNumber: trace.customdata.length - 1}],
                                    trace.xaxis + trace.yaxis);
                    const layer = gd.querySelector('.hoverlayer');
                    texts.push(layer ? layer.textContent : '');
                    await new Promise(resolve => setTimeout(resolve, 60));
                }
            }
            return texts.join('\\n');
        }""")
        page.wait_for_timeout(200)  # an onerror or onload would have run by now
        pwned = page.evaluate("window.__pwned === undefined ? null : String(window.__pwned)")
        created = page.evaluate("""document.querySelectorAll(
            'body img, body svg:not(.main-svg):not(.main-svg *) [onload], [onerror], [onload], a[href^="javascript"]'
        ).length""")
        scripts = page.evaluate("document.scripts.length")
        n_figures = page.locator(".js-plotly-plot").count()
        tables = page.inner_text("body")
        figures = page.evaluate("Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => d.textContent)"
                                ".join('\\n')")
        browser.close()
    assert pwned is None and dialogs == [] and created == 0
    assert scripts == 1 + n_figures >= 5  # plotly.js, then one per figure: none added, none cut short
    assert [u for u in requests if not u.startswith("file:") or not u.endswith("/report.html")] == []
    assert errors == []
    # each payload reads as text where it is shown
    for column in (SCRIPT, BREAKOUT, IMG):
        assert column in tables  # ranking, data quality and "what changed" tables
        assert column in figures  # subplot titles of drift and data quality
    assert repr(LINK + SCRIPT) in tables  # the model's name, in the settings (values shown as repr)
    assert f"{LINK} · " not in figures and LINK in figures  # a metric with no column: the title is the name
    shown = BIDI.replace("\u0000", "")  # how a NUL is drawn varies; the rest must read as given
    assert QUOTE in tables and shown in tables.replace("\u0000", "")
    assert shown in hovers.replace("\u0000", "")  # the chunk key
    assert QUOTE in hovers  # the trust reason, on its own line
