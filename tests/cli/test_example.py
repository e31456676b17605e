"""The shipped example config runs end to end, against SQLite and against a real PostgreSQL
(chosen through ${SEISMO_STORE}), and the minimal config of the public contract (docs/api.md) works as written."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import seismo
from seismo.cli.app import app
from seismo.store import ResultsStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))
from make_data import write_example_data

MINIMAL = """\
model:
  name: car_loan
  problem_type: binary          # binary | multiclass | regression
  y_pred_proba: y_pred_proba
  y_pred: y_pred
  y_true: repaid
  timestamp: timestamp
  id: id
  # features: [...]             # default: every column not given a role
data:
  reference: data/reference.parquet
  analysis: data/analysis.parquet    # a path, a glob, or a directory
  targets: data/targets.parquet      # optional: late labels, joined on id
chunking:
  chunk_size: 5000              # or chunk_number / chunk_period
store: sqlite:///monitoring.db  # any SQLAlchemy URL; default is a SQLite file next to the config
"""


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    """examples/monitor.yaml beside 10,000 + 10,000 rows of its data (2 chunks each)."""
    folder = tmp_path_factory.mktemp("example")
    shutil.copy(EXAMPLES / "monitor.yaml", folder / "monitor.yaml")
    write_example_data(folder / "data", rows=10_000)
    return folder


def run_example(folder: Path, *extra: str) -> dict:
    out = CliRunner().invoke(app, ["run", "-c", str(folder / "monitor.yaml"), "--json", *extra])
    assert out.exit_code in (0, 1), out.output
    return json.loads(out.output)


def test_example_runs_against_sqlite(example, monkeypatch):
    monkeypatch.delenv("SEISMO_STORE", raising=False)
    assert CliRunner().invoke(app, ["validate", "-c", str(example / "monitor.yaml")]).exit_code == 0
    outcome = run_example(example)
    with ResultsStore(f"sqlite:///{example / 'monitoring.db'}") as store:  # the ${SEISMO_STORE:-...} default
        stored = store.results("credit_default")
    assert len(stored) == outcome["rows"] > 0
    # the example's settings reached the calculators
    drift_methods = set(stored.loc[stored["calculator"] == "univariate_drift", "metric"])
    assert drift_methods == {"jensen_shannon", "kolmogorov_smirnov", "chi2"}
    auc = stored[(stored["calculator"] == "estimated_performance") & (stored["metric"] == "roc_auc")]
    assert (auc["lower_threshold"] == 0.70).all() and auc["upper_threshold"].isna().all()
    assert set(stored["calculator"]) == {"estimated_performance", "realized_performance", "univariate_drift",
                                         "pca_drift", "domain_classifier_drift", "data_quality"}
    report = CliRunner().invoke(app, ["report", "-c", str(example / "monitor.yaml"), "-o", str(example / "r.html")])
    assert report.exit_code == 0 and (example / "r.html").stat().st_size > 100_000


def test_example_runs_against_postgresql(example, postgres_url, monkeypatch):
    monkeypatch.setenv("SEISMO_STORE", postgres_url)
    first = run_example(example)
    second = run_example(example)
    assert first["refitted"] and not second["refitted"]  # the saved monitor lives in PostgreSQL
    with ResultsStore(postgres_url) as store:
        stored = store.results("credit_default")
        runs = store.runs("credit_default")
    assert len(stored) == first["rows"]  # the second run replaced the first's rows, duplicating none
    assert second["rows"] < first["rows"]  # incremental: nothing new to compute but the reference rows
    assert list(runs["status"])[-2:] == ["succeeded", "succeeded"]
    assert "${SEISMO_STORE" in json.dumps(runs["settings"].iloc[-1])  # the stored config keeps ${VAR}, not secrets


def test_the_minimal_config_of_docs_api_is_the_contracts():
    api = (EXAMPLES.parent / "docs" / "api.md").read_text(encoding="utf-8")
    documented = re.search(r"```yaml\n(.*?)```", api, re.S).group(1)
    assert yaml.safe_load(documented) == yaml.safe_load(MINIMAL)


def test_minimal_config_of_the_api_works_as_written(tmp_path):
    reference, analysis, targets = seismo.datasets.load_synthetic_credit(n_reference=10_000, n_analysis=5_000)
    (tmp_path / "data").mkdir()
    reference.rename(columns={"defaulted": "repaid"}).to_parquet(tmp_path / "data" / "reference.parquet")
    analysis.to_parquet(tmp_path / "data" / "analysis.parquet")
    targets.rename(columns={"defaulted": "repaid"}).to_parquet(tmp_path / "data" / "targets.parquet")
    (tmp_path / "monitor.yaml").write_text(MINIMAL)
    out = CliRunner().invoke(app, ["run", "-c", str(tmp_path / "monitor.yaml"), "--json"])
    assert out.exit_code in (0, 1), out.output
    outcome = json.loads(out.output)
    with ResultsStore(f"sqlite:///{tmp_path / 'monitoring.db'}") as store:
        stored = store.results("car_loan")
    assert len(stored) == outcome["rows"]
    assert set(stored.loc[stored["period"] == "analysis", "chunk_key"]) == {"[0:4999]"}
