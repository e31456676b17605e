"""The README's quickstart runs as written, its two set-up commands are the ones CI uses, every
relative link of the README and docs/ points at a file of the repository, and the calculator and
metric tables of the README and docs/api.md list what the registries hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import seismo
from seismo.drift.methods import DRIFT_METHODS, methods_for
from seismo.metrics.registry import METRICS
from seismo.monitor.calculators import CALCULATORS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKDOWN = [README, *sorted((ROOT / "docs").glob("*.md"))]


def test_quickstart_runs(tmp_path, monkeypatch):
    code = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    assert len(code.strip().splitlines()) <= 10
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert "debt_ratio" in namespace["report"].summary()
    assert (tmp_path / "report.html").stat().st_size > 1_000_000


def test_two_setup_commands():
    text = README.read_text(encoding="utf-8")
    demo = re.search(r"# \(1\)[^\n]*\n([^\n]+)", text).group(1)
    tests = re.search(r"# \(2\)[^\n]*\n([^\n]+)", text).group(1)
    assert "seismo demo" in demo and "pytest" in tests
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "grep -A1 '^# (2)' README.md" in ci


def _prose(text: str) -> str:
    """Markdown without fenced code blocks and inline code, where brackets are not links."""
    return re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", text, flags=re.S))


def relative_links(path: Path) -> list[str]:
    """Targets of inline (``[text](target)``) and reference (``[name]: target``) links that are
    neither URLs nor anchors within the page."""
    text = _prose(path.read_text(encoding="utf-8"))
    targets = re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text)
    targets += re.findall(r"^\[[^\]]+\]:\s*(\S+)", text, re.M)
    return [t for t in targets if not re.match(r"[a-zA-Z][a-zA-Z+.-]*:", t) and not t.startswith("#")]


def test_link_finder_sees_links_and_skips_urls_and_code(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[a](docs/x.md#part) [b](https://example.org) [c](#here)\n`[d](no.md)`\n"
                    "```\n[e](no.md)\n```\n[f]: other.md\n", encoding="utf-8")
    assert relative_links(page) == ["docs/x.md#part", "other.md"]


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file_of_the_repository(path):
    assert relative_links(README), "the README links to its docs"
    missing = [t for t in relative_links(path) if not (path.parent / t.split("#")[0]).exists()]
    assert missing == [], f"{path.relative_to(ROOT)} links to files that do not exist: {missing}"


def calculator_table(path: Path) -> dict[str, str]:
    """The table with a row per calculator (headed ``| calculator |`` or ``| class |``): class name
    -> its cell of metric names (the column headed by "metric" or "computes")."""
    lines = path.read_text(encoding="utf-8").splitlines()

    def cells(line: str) -> list[str]:
        return [c.strip() for c in line.strip().strip("|").split("|")]

    start = next(i for i, line in enumerate(lines) if cells(line)[0] in ("calculator", "class"))
    column = next(i for i, c in enumerate(cells(lines[start])) if "metric" in c or "computes" in c)
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows[cells(line)[0].strip("`")] = cells(line)[column]
    return rows


def names(text: str) -> set[str]:
    return set(re.findall(r"`(\w+)`", text))


def segment(text: str, label: str) -> str:
    """The ``;``-separated part of a table cell that mentions ``label``."""
    (found,) = [part for part in text.split(";") if label in part]
    return found


def calculator_classes() -> set[str]:
    """The classes of the calculator registry (`seismo.monitor.calculators.CALCULATORS`)."""
    return {name for spec in CALCULATORS.values() for name in spec.class_names}


def test_the_calculator_table_parser_reads_a_row(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("| name | kind |\n|---|---|\n| `UnivariateDrift` | class |\n\n"
                    "| class | verb | what it computes |\n|---|---|---|\n"
                    "| `UnivariateDrift` | x | `psi` (continuous); `chi2` (categorical) |\n"
                    "| `Monitor` | y | all |\n\nmore text\n| `Other` | z | no |\n", encoding="utf-8")
    rows = calculator_table(page)
    assert rows == {"UnivariateDrift": "`psi` (continuous); `chi2` (categorical)", "Monitor": "all"}
    assert names(segment(rows["UnivariateDrift"], "categorical")) == {"chi2"}


@pytest.mark.parametrize("path", [README, ROOT / "docs" / "api.md"], ids=["README.md", "docs/api.md"])
def test_calculator_and_metric_tables_list_what_the_registries_hold(path):
    rows = calculator_table(path)
    calculators = calculator_classes()
    assert len(calculators) == 9 and {"CBPE", "DLE", "PAPE", "UnivariateDrift"} <= calculators
    assert calculators <= set(seismo.__all__)  # every registered calculator is public
    assert set(rows) - {"Monitor"} == calculators
    drift = rows["UnivariateDrift"]
    for kind in ("continuous", "categorical"):
        assert names(segment(drift, kind)) == set(methods_for(kind, None)), kind
    assert set().union(*(names(segment(drift, k)) for k in ("continuous", "categorical"))) == set(DRIFT_METHODS)
    realized = rows["RealizedPerformance"]
    by_type = {t: {name for name, spec in METRICS.items() if t in spec.problem_types}
               for t in ("binary", "multiclass", "regression")}
    assert by_type["binary"] == by_type["multiclass"]  # one "classification" list serves both
    assert names(segment(realized, "classification")) == by_type["binary"]
    assert names(segment(realized, "regression")) == by_type["regression"]
    for spec in CALCULATORS.values():  # the drift and quality calculators report the same metrics whatever the model
        if spec.kind not in ("performance", "concept") and spec.name != "univariate_drift":
            (cls,) = spec.class_names
            assert names(rows[cls]) == set(spec.metrics("binary")), cls
    assert set(CALCULATORS["univariate_drift"].metrics("binary")) == set(DRIFT_METHODS)
    assert "magnitude" in names(rows["ConceptShift"])  # beside its impact on every performance metric
    for estimator, kind in (("CBPE", "classification"), ("PAPE", "classification"), ("DLE", "regression")):
        assert f"the {kind} metrics" in rows[estimator], estimator
