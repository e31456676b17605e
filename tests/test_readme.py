"""The README's quickstart runs as written, and its two set-up commands are the ones CI uses."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


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
