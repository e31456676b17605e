"""`seismo demo` runs the built calculators on the credit data and prints chunks, alerts and values."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from seismo.cli import app


def test_demo_prints_chunks_alerts_and_values():
    out = CliRunner().invoke(app, ["demo"])
    assert out.exit_code == 0, out.output
    text = out.output
    assert "Analysis chunks" in text and "[45000:49999]" in text
    assert "ALERT" in text and "debt_ratio" in text and "employment_years: missing" in text
    assert "Reference ROC AUC" in text and "estimated" in text


def test_console_script_is_installed():
    done = subprocess.run([sys.executable, "-m", "seismo.cli", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "demo" in done.stdout
