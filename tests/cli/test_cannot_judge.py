"""`seismo run --fail-on performance` exits 1 when an analysis chunk's performance cannot be judged
(its estimate has trust "none" and no label judges it), says so with the reason, stores what a
rebuilt `seismo report` needs to say it again."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from cli_data import make_log, write_config
from typer.testing import CliRunner

from seismo.cli.app import app
from seismo.cli.jobs import stored_report

# only the estimate, with a threshold it never crosses: the run may alert only for being unjudgeable
UNJUDGEABLE = {"calculators.estimated_performance": {"metrics": ["accuracy"], "thresholds": {"accuracy": {"lower": 0.0}}},
               "calculators.realized_performance": False, "calculators.univariate_drift": False,
               "calculators.data_quality": False}


@pytest.fixture
def moved(tmp_path):
    """reference (1,500 rows); analysis (1,500 rows, its second half 8 SD away from any reference row); no labels."""
    reference = make_log(1500, seed=1)
    stable = make_log(750, seed=2, start="2024-03-01", first_id=10_000)
    away = make_log(750, seed=3, shift=8.0, start="2024-04-02", first_id=10_750)
    reference.to_parquet(tmp_path / "reference.parquet", index=False)
    pd.concat([stable, away], ignore_index=True).drop(columns=["repaid"]).to_parquet(tmp_path / "analysis.parquet",
                                                                                      index=False)
    return write_config(tmp_path, UNJUDGEABLE, drop=("data.targets",))


def test_fail_on_performance_exits_1_and_names_the_chunks(moved):
    out = CliRunner().invoke(app, ["run", "-c", str(moved), "--fail-on", "performance", "--json"])
    assert out.exit_code == 1, out.output
    outcome = json.loads(out.output)
    assert outcome["performance_alerts"] == 0  # no estimate crosses its threshold ...
    # ... but the 3 chunks of the moved half (chunks are labelled by their first day) are blind
    assert list(outcome["cannot_judge"]) == ["2024-04-02", "2024-04-12", "2024-04-22"]
    assert all("almost no data" in why for why in outcome["cannot_judge"].values())
    assert outcome["status"] == "alerts"


def test_the_printed_run_and_the_rebuilt_report_say_it(moved, tmp_path):
    out = CliRunner().invoke(app, ["run", "-c", str(moved), "--fail-on", "performance"])
    assert out.exit_code == 1, out.output
    assert "cannot judge performance here: 2024-04-02 to 2024-04-22 (3 chunks" in " ".join(out.output.split())
    report = stored_report(f"sqlite:///{tmp_path / 'seismo.db'}", "loans")  # from the stored trust columns
    assert "cannot judge performance here: 2024-04-02 to 2024-04-22 (3 of 6 analysis chunks" in report.summary()
    html_path = tmp_path / "rebuilt.html"
    rebuilt = CliRunner().invoke(app, ["report", "-c", str(moved), "-o", str(html_path)])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "cannot judge performance here: 2024-04-02" in html_path.read_text(encoding="utf-8")


def test_fail_on_none_still_exits_0(moved):
    assert CliRunner().invoke(app, ["run", "-c", str(moved), "--fail-on", "none", "-q"]).exit_code == 0


def test_the_standing_rows_a_run_reads_give_what_every_stored_row_gives(moved, tmp_path):
    """`seismo run` reports the standing alerts from `ResultsStore.standing` (the alerting rows and
    the rows of possibly blind chunks), not from every stored row: the same counts, blind chunks
    and last date, on a store with drift alerts, estimate alerts and blind chunks."""
    from seismo.monitor.report import WITHHELD, cannot_judge
    from seismo.store import ResultsStore

    config = write_config(tmp_path, {"calculators.estimated_performance": {"metrics": ["accuracy", "roc_auc"]}},
                          drop=("data.targets",))
    CliRunner().invoke(app, ["run", "--config", str(config)])
    with ResultsStore(f"sqlite:///{tmp_path / 'seismo.db'}") as store:
        every = store.results("loans", period="analysis")
        standing, until = store.standing("loans", estimator="estimated_performance", withheld=WITHHELD)
    assert len(standing) < len(every)
    alerting = every[every["alert"].astype(bool)]
    assert alerting["calculator"].value_counts().to_dict() == \
        standing[standing["alert"].astype(bool)]["calculator"].value_counts().to_dict()
    assert set(alerting["calculator"]) >= {"univariate_drift", "estimated_performance"}
    blind = cannot_judge(every[every["calculator"] == "estimated_performance"])
    assert len(blind) >= 3
    pd.testing.assert_frame_equal(blind, cannot_judge(standing[standing["calculator"] == "estimated_performance"]))
    assert pd.Timestamp(until) == pd.to_datetime(every["chunk_end_date"]).max()
