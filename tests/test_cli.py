"""`seismo demo` runs the Monitor on the credit data, prints chunks, alerts, values and the
verdict, and writes the HTML report whose path it prints; then the campaign data per region,
where segment discovery names the campaign's customers; then the house-market data, whose drop
the decomposition puts down to concept shift."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from seismo.cli.app import app


def test_demo_prints_chunks_alerts_and_values(tmp_path):
    report = tmp_path / "report.html"
    out = CliRunner().invoke(app, ["demo", "--output", str(report)])
    assert out.exit_code == 0, out.output
    text = out.output
    assert "Analysis chunks" in text and "[45000:49999]" in text
    assert "ALERT" in text and "debt_ratio" in text and "employment_years: missing" in text
    assert "Reference ROC AUC" in text and "estimated" in text
    assert "most correlated drift: debt_ratio, income" in text
    assert f"HTML report: {report.resolve()}" in text.replace("\n", "") and report.stat().st_size > 1_000_000
    # the segment story: the campaign region's estimate alerts, its share grows, discovery names its customers
    assert "- region=east: 0.7738 against [0.8514, 0.9226]" in text
    assert "region=east grew from 20% of rows to 36%" in text
    assert "- age <= 30 and region == 'east': 4% -> 23% of rows, 0.807 -> 0.645" in text
    assert (tmp_path / "report_segments.html").stat().st_size > 1_000_000
    # the concept story (tests/test_demo_concept.py pins its numbers): the market changed, the inputs did not
    assert "Univariate drift: 0 of 270 analysis cells alert" in text
    assert text.count(": mostly concept shift") == 3
    assert "The drop is mostly concept shift." in " ".join(text.split())  # rich wraps the verdict
    assert (tmp_path / "report_concept.html").stat().st_size > 1_000_000


def test_console_script_is_installed():
    done = subprocess.run([sys.executable, "-m", "seismo.cli.app", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "demo" in done.stdout
