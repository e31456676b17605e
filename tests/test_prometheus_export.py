"""`seismo export prometheus` and `seismo serve-metrics`: the text that Prometheus' own parsers
read carries exactly the latest chunk's numbers that the store holds, escapes hostile label
values, keeps to its bounds, and is served over a real socket; the Grafana dashboard queries only
metrics the exporter writes.

One real `seismo run` fills the store: the CLI tests' model log, with its ``debt`` column renamed
to a name holding a double quote, a backslash and a newline, and segments per ``region`` whose
two long values make segment labels of 307 characters (the label cap is 200).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus
from typer.testing import CliRunner

from seismo.cli.app import app
from seismo.cli.metrics_export import metrics_server
from seismo.store import ResultsStore
from seismo.store.metrics_text import FAMILIES, MetricsReader, escape, metrics_text, number

sys.path.insert(0, str(Path(__file__).resolve().parent / "cli"))
from cli_data import make_log, write_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = 'debt "net"\\gross\nratio'
LONG = "x" * 300  # region values; "region=" + 300 + 1 characters as a segment label
SEGMENT_COLUMNS = ("model", "calculator", "column", "metric", "segment")


def _with_hostile_names(df: pd.DataFrame) -> pd.DataFrame:
    df = df.rename(columns={"debt": HOSTILE})
    df["region"] = df["region"].replace({"east": f"{LONG}1", "south": f"{LONG}2"})
    return df


def _write_data(folder: Path) -> None:
    reference = _with_hostile_names(make_log(1500, seed=1))
    analysis = _with_hostile_names(pd.concat([
        make_log(750, seed=2, start="2024-03-01", first_id=10_000),
        make_log(750, seed=3, shift=1.5, start="2024-04-02", first_id=10_750)], ignore_index=True))
    reference.to_parquet(folder / "reference.parquet", index=False)
    analysis.drop(columns=["repaid"]).to_parquet(folder / "analysis.parquet", index=False)
    analysis[["id", "repaid"]].to_parquet(folder / "targets.parquet", index=False)


def _run(folder: Path, changes: dict | None = None) -> None:
    out = CliRunner().invoke(app, ["run", "-c", str(write_config(folder, {"segments": ["region"], **(changes or {})})),
                                   "-q"])
    assert out.exit_code == 1, out.output  # the second half drifts: alerts


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of a SQLite store after one `seismo run` of the hostile-named model."""
    folder = tmp_path_factory.mktemp("prometheus")
    _write_data(folder)
    _run(folder)
    return f"sqlite:///{folder / 'seismo.db'}"


def expected_label(value: str) -> str:
    """The cap, computed apart from the exporter: 191 characters, "~", 8 hex digits of the SHA-1."""
    return value if len(value) <= 200 else f"{value[:191]}~{hashlib.sha1(value.encode()).hexdigest()[:8]}"


def latest_chunk(store: ResultsStore, model: str) -> pd.DataFrame:
    analysis = store.results(model, period="analysis")
    last = analysis.groupby("calculator")["chunk_index"].max()
    return analysis[analysis["chunk_index"] == analysis["calculator"].map(last)]


def samples_by_family(text: str, parser=parse_openmetrics) -> dict[str, dict[tuple, float]]:
    """{family: {label tuple: value}}, label tuples in `SEGMENT_COLUMNS` order where they apply."""
    out: dict[str, dict[tuple, float]] = {}
    for family in parser(text):
        assert family.type == "gauge" and family.documentation
        found = out.setdefault(family.name, {})
        for sample in family.samples:
            key = tuple(sample.labels.get(k) for k in SEGMENT_COLUMNS if k in sample.labels) + (
                (sample.labels["status"],) if "status" in sample.labels else ())
            assert key not in found, f"duplicate series {family.name}{sample.labels}"
            found[key] = sample.value
    return out


def row_key(model: str, row: pd.Series) -> tuple:
    column = "" if row["column"] is None or pd.isna(row["column"]) else row["column"]
    segment = "" if row["segment"] is None or pd.isna(row["segment"]) else row["segment"]
    return (model, row["calculator"], expected_label(column), row["metric"], expected_label(segment))


def check_against_store(text: str, url: str, model: str = "loans") -> None:
    """Every exported sample equals the store's latest chunk and last runs; nothing else is exported."""
    parsed = samples_by_family(text)
    with ResultsStore(url, read_only=True) as store:
        rows = latest_chunk(store, model)
        runs = store.runs(model)
    assert len(rows) > 100 and set(rows["calculator"]) == {
        "estimated_performance", "realized_performance", "univariate_drift", "data_quality"}
    expected: dict[str, dict[tuple, float]] = {name: {} for name in ("seismo_value", "seismo_lower_threshold",
                                                                      "seismo_upper_threshold", "seismo_alert",
                                                                      "seismo_trust")}
    trust_levels = {"ok": 0.0, "low": 1.0, "none": 2.0}
    for _, row in rows.iterrows():
        key = row_key(model, row)
        for family, field in (("seismo_value", "value"), ("seismo_lower_threshold", "lower_threshold"),
                              ("seismo_upper_threshold", "upper_threshold")):
            if pd.notna(row[field]):
                expected[family][key] = float(row[field])
        expected["seismo_alert"][key] = 1.0 if row["alert"] else 0.0
        if isinstance(row.get("trust"), str):
            expected["seismo_trust"][key] = trust_levels[row["trust"]]
    for family, values in expected.items():
        assert parsed.get(family, {}) == values, family
    assert sum(expected["seismo_alert"].values()) > 10 and len(expected["seismo_trust"]) > 10
    succeeded = runs[runs["status"] == "succeeded"].iloc[-1]
    finished = succeeded["finished_at"].tz_localize("UTC").timestamp()
    assert parsed["seismo_last_success_timestamp_seconds"] == {(model,): finished}
    duration = (succeeded["finished_at"] - succeeded["started_at"]).total_seconds()
    assert parsed["seismo_last_success_duration_seconds"][(model,)] == pytest.approx(duration, abs=1e-6)
    assert parsed["seismo_last_success_rows"] == {(model,): float(succeeded["row_count"])}
    assert parsed["seismo_last_run_status"] == {(model, "succeeded"): 1.0, (model, "failed"): 0.0,
                                                (model, "running"): 0.0}
    assert parsed["seismo_series_dropped"] == {(model,): 0.0}
    end = pd.Timestamp("2024-05-03 05:00:00", tz="UTC").timestamp()  # the last analysis row's hour
    assert set(parsed["seismo_chunk_end_timestamp_seconds"].values()) == {end}


def test_export_writes_what_the_store_holds(filled, tmp_path):
    target = tmp_path / "seismo.prom"
    target.write_text("old\n")
    out = CliRunner().invoke(app, ["export", "prometheus", "--store", filled, "-o", str(target)])
    assert out.exit_code == 0, out.output
    text = target.read_text(encoding="utf-8")
    assert text.endswith("\n# EOF\n") and os.stat(target).st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seismo.prom"]  # the temporary file was renamed
    check_against_store(text, filled)
    # Prometheus' classic text parser (node-exporter's textfile collector reads that format) agrees
    classic = {f.name: {tuple(sorted(s.labels.items())): s.value for s in f.samples} for f in parse_prometheus(text)}
    modern = {f.name: {tuple(sorted(s.labels.items())): s.value for s in f.samples} for f in parse_openmetrics(text)}
    assert classic == modern and list(classic) == list(FAMILIES)
    # stdout and --model give the same text
    printed = CliRunner().invoke(app, ["export", "prometheus", "--store", filled, "--model", "loans"])
    assert printed.exit_code == 0 and printed.stdout == text


def test_hostile_and_long_label_values_round_trip(filled):
    with ResultsStore(filled, read_only=True) as store:
        text = metrics_text(store)
    assert 'column="debt \\"net\\"\\\\gross\\nratio"' in text  # escaped: \" \\ \n
    labels = [s.labels for f in parse_openmetrics(text) if f.name == "seismo_value" for s in f.samples]
    assert HOSTILE in {label["column"] for label in labels}
    segments = {label["segment"] for label in labels}
    long_ones = sorted(s for s in segments if s.startswith("region=x"))
    assert long_ones == sorted(expected_label(f"region={LONG}{i}") for i in (1, 2))
    assert [len(s) for s in long_ones] == [200, 200] and long_ones[0] != long_ones[1]
    assert {"", "region=north", "region=(other)"} <= segments
    assert max(len(v) for label in labels for v in label.values()) == 200


def test_the_series_cap_keeps_the_overall_performance_rows_first(filled):
    with ResultsStore(filled, read_only=True) as store:
        everything = latest_chunk(store, "loans")
        parsed = samples_by_family(metrics_text(store, "loans", max_series=15))
    kept = parsed["seismo_alert"]
    assert len(kept) == 15
    assert parsed["seismo_series_dropped"] == {("loans",): float(len(everything) - 15)}
    # 11 overall estimated-performance rows, then realized performance's first 4 metrics in name order
    assert {k[1] for k in kept} == {"estimated_performance", "realized_performance"}
    assert all(k[4] == "" for k in kept)
    assert sum(k[1] == "estimated_performance" for k in kept) == 11
    assert sorted(k[3] for k in kept if k[1] == "realized_performance") == [
        "accuracy", "average_precision", "f1", "false_negative"]
    # each capped row keeps its five samples together
    assert set(parsed["seismo_value"]) <= set(kept) and set(parsed["seismo_trust"]) == {
        k for k in kept if k[1] == "estimated_performance"}


def test_numbers_and_escapes_follow_the_format():
    assert [number(v) for v in (0.1, 250.0, math.inf, -math.inf, math.nan, 1e-7)] == [
        "0.1", "250.0", "+Inf", "-Inf", "NaN", "1e-07"]
    assert escape('a"b\\c\nd') == 'a\\"b\\\\c\\nd'


def _get(url: str, accept: str | None = None) -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode("utf-8")


def test_serve_metrics_rereads_the_store_on_each_scrape(tmp_path):
    _write_data(tmp_path)
    _run(tmp_path)
    url = f"sqlite:///{tmp_path / 'seismo.db'}"
    store = ResultsStore(url, read_only=True)
    server = metrics_server(MetricsReader(store), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        status, kind, first = _get(f"{base}/metrics", "application/openmetrics-text; version=1.0.0")
        assert status == 200 and kind.startswith("application/openmetrics-text; version=1.0.0")
        check_against_store(first, url)
        assert _get(f"{base}/metrics")[1] == "text/plain; version=0.0.4; charset=utf-8"
        assert _get(f"{base}/")[0] == 404
        # a run with other thresholds: the next scrape serves its numbers, not the first run's
        _run(tmp_path, {"calculators.univariate_drift": {"thresholds": {"jensen_shannon": {"upper": 0.5}}}})
        status, _, second = _get(f"{base}/metrics")
        assert status == 200 and second != first
        check_against_store(second, url)
        drift = samples_by_family(second)["seismo_upper_threshold"]
        assert {v for k, v in drift.items() if k[1] == "univariate_drift" and k[3] == "jensen_shannon"} == {0.5}
    finally:
        server.shutdown()
        server.server_close()
        store.close()


def test_serve_metrics_command_binds_localhost_and_stops_on_sigterm(filled):
    process = subprocess.Popen([sys.executable, "-m", "seismo.cli.app", "serve-metrics", "--store", filled,
                                "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+/metrics)", line)
        assert match, line + process.stderr.read()
        status, _, text = _get(match.group(1))
        assert status == 200
        check_against_store(text, filled)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert process.stdout.read() == "stopped\n"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("args, message", [
    (["--store", "monitoring.db"], "is not a SQLAlchemy URL"),
    (["--store", "sqlite:////nowhere/seismo.db"], "/nowhere/seismo.db does not exist"),
    (["--model", "loan"], "model 'loan' is not in the store"),
])
@pytest.mark.parametrize("command", [["export", "prometheus"], ["serve-metrics", "--port", "0"]])
def test_a_bad_store_or_model_exits_2(filled, command, args, message):
    if "--store" not in args:
        args = ["--store", filled, *args]
    out = CliRunner().invoke(app, [*command, *args])
    assert out.exit_code == 2 and message in " ".join(out.output.split()), out.output


def test_postgresql_store_exports_the_same_way(postgres_server, tmp_path):
    url = postgres_server.create_database()
    _write_data(tmp_path)
    _run(tmp_path, {"store": url})
    out = CliRunner().invoke(app, ["export", "prometheus", "--store", url, "-o", str(tmp_path / "pg.prom")])
    assert out.exit_code == 0, out.output
    check_against_store((tmp_path / "pg.prom").read_text(encoding="utf-8"), url)


# PromQL words that are not metric names: functions, aggregations, keywords, Grafana's variables
PROMQL_WORDS = {"sum", "count", "max", "min", "avg", "by", "without", "on", "ignoring", "group_left", "time",
                "max_over_time", "min_over_time", "label_values", "topk", "and", "or", "unless", "bool", "sort_desc",
                "clamp_min", "vector"}


def test_the_grafana_dashboard_queries_only_exported_metrics():
    dashboard = json.loads((ROOT / "examples" / "grafana_dashboard.json").read_text(encoding="utf-8"))
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    assert dashboard["title"] and dashboard["uid"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["model"]["type"] == "query"
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len(panels) >= 6 and len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    queries = [v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
               for v in variables.values() if v["type"] == "query"]
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        queries += [target["expr"] for target in panel["targets"]]
    used = set()
    for query in queries:
        bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", "", query)  # matchers, ranges, strings
        bare = re.sub(r"\b(by|without|on|ignoring|group_left)\s*\([^)]*\)", r"\1", bare)  # label lists
        bare = re.sub(r"label_values\((.*),\s*\w+\)", r"label_values(\1)", bare)  # the label it lists
        words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", bare))
        metrics = {w for w in words if w.startswith("seismo_")}
        assert metrics, query
        assert words - metrics <= PROMQL_WORDS, (query, words - metrics - PROMQL_WORDS)
        used |= metrics
    assert used <= set(FAMILIES), used - set(FAMILIES)
    assert {"seismo_value", "seismo_alert", "seismo_lower_threshold", "seismo_upper_threshold",
            "seismo_last_success_timestamp_seconds", "seismo_last_success_duration_seconds",
            "seismo_last_success_rows"} <= used
