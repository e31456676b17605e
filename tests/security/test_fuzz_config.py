"""The config loader, fed random and mutated YAML, raises nothing but `seismo.errors.*`.

Three kinds of input, each a bounded, derandomized hypothesis run (the same examples on every
machine, a few seconds each):

* random text, and a valid config with characters deleted, inserted or replaced: what a bad
  edit or a truncated file looks like;
* a valid config with random YAML values (nested mappings, lists, numbers, nulls, odd keys)
  put at random keys: what a wrong type or a misplaced section looks like after parsing;
* random YAML documents built from YAML's own syntax (anchors, aliases, tags, flow and block
  collections), which reach the reader's refusal paths.

Whatever the input, `load_config` returns a `Config` or raises `ConfigError` (a `SeismoError`);
`build_config` (the step after parsing) returns problems and never raises.
"""

from __future__ import annotations

import copy
import math
import tempfile
from pathlib import Path

import yaml
from fuzzing import fuzz, tree_paths
from hypothesis import given
from hypothesis import strategies as st

from seismo.cli.config import Config, ConfigError, build_config, load_config

FUZZ = fuzz(80)

VALID = {
    "model": {"name": "loans", "problem_type": "binary", "y_pred_proba": "p", "y_pred": "y_pred",
              "y_true": "repaid", "timestamp": "timestamp", "timestamp_format": "%Y-%m-%d", "id": "id",
              "features": ["income", "region"]},
    "data": {"reference": "reference.parquet", "analysis": {"url": "sqlite:///scores.db", "query": "SELECT 1"},
             "targets": {"path": "targets/*.parquet"}},
    "chunking": {"chunk_size": 250, "incomplete": "keep"},
    "calculators": {"estimated_performance": {"estimator": "cbpe", "metrics": ["roc_auc"],
                                              "thresholds": {"roc_auc": {"lower": 0.7}}},
                    "univariate_drift": {"methods": ["jensen_shannon"],
                                         "thresholds": {"jensen_shannon": {"false_alarm_rate": 0.01,
                                                                           "sides": "upper"}}},
                    "data_quality": {"thresholds": {"missing_rate": {"upper_multiplier": 3}}},
                    "pca_drift": False, "domain_classifier_drift": {"enabled": False}},
    "store": "sqlite:///seismo.db",
    "saved_monitor": "state",
    "random_state": 0,
    "false_alarm_rate": 0.001,
}
VALID_TEXT = yaml.safe_dump(VALID, sort_keys=False)

_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
            | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
            | st.sampled_from(["${HOME}", "${SEISMO_UNSET_FUZZ}", "${X:-}", "%d/%m", "roc_auc", "binary", ".inf",
                               "sqlite:///x.db", "nope://", "postgresql+nodriver://h/d", "", "-1", "1e400"]))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=8) | st.integers(-3, 3) | st.booleans(), inner, max_size=3),
                       max_leaves=8)


PATHS = tree_paths(VALID, into_lists=False)[1:]


def _load(text: str | bytes) -> None:
    """Write ``text`` as a config and load it: a `Config`, or a `ConfigError` listing problems."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "monitor.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        try:
            config = load_config(path, env={"HOME": "/home/x"})
        except ConfigError as exc:
            assert exc.problems and all(p.message for p in exc.problems)
        else:
            assert isinstance(config, Config)


@FUZZ
@given(st.text(max_size=300))
def test_random_text(text):
    _load(text)


@FUZZ
@given(st.binary(max_size=200), st.integers(0, len(VALID_TEXT)))
def test_bytes_that_are_not_utf8(junk, at):
    """A file saved in another encoding, or binary garbage, is a problem naming the file."""
    data = VALID_TEXT.encode("utf-8")
    _load(data[:at] + junk + data[at:])


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["delete", "insert", "replace"]), st.integers(0, len(VALID_TEXT)),
                          st.integers(1, 40), st.text(max_size=6)), min_size=1, max_size=4))
def test_a_valid_config_with_characters_changed(edits):
    text = VALID_TEXT
    for kind, at, length, new in edits:
        at = min(at, len(text))
        if kind == "delete":
            text = text[:at] + text[at + length:]
        elif kind == "insert":
            text = text[:at] + new + text[at:]
        else:
            text = text[:at] + new + text[at + len(new):]
    _load(text)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(PATHS), st.booleans(), _values), min_size=1, max_size=3))
def test_a_valid_config_with_values_replaced(changes):
    tree = copy.deepcopy(VALID)
    for path, below, value in changes:
        node = tree
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        if below and isinstance(node.get(path[-1]), dict):
            node[path[-1]][f"k{len(repr(value)) % 7}"] = value  # an extra key inside the section
        else:
            node[path[-1]] = value
    config, problems = build_config(tree, Path("/nonexistent"), env={})  # the tree YAML would give
    assert (config is None) == bool(problems) and all(p.message for p in problems)
    if config is not None:
        assert isinstance(config, Config)


_anchor = st.sampled_from(["a", "b", "c"])
_token = st.one_of(
    st.sampled_from(["a: 1", "- x", "? k", ": v", "{", "}", "[", "]", ",", "&a", "*a", "*b", "&b [*a, *a]",
                     "!!python/name:os.system", "!!binary", "!!str", "!!int x", "!!float", "!!set {a}", "!!omap",
                     "!local", "<<: *a", "%YAML 1.1", "---", "...", "|", ">-", "'", '"', "\\u0000", "#", "\t",
                     "model:", "  name: ''", "data: {reference: r, analysis: a}", "chunking: {chunk_size: 0}",
                     "thresholds: {roc_auc: {}}", "calculators: {pca_drift: 3}", "1e999", ".nan", "~", "2024-01-01",
                     "0o777", "0x1F", "yes", "on"]),
    st.builds(lambda n, v: f"&{n} {v}", _anchor, st.sampled_from(["[1, 2]", "{k: v}", "x"])),
    st.builds(lambda n: f"*{n}", _anchor),
)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 6), _token), max_size=25))
def test_random_yaml_syntax(lines):
    _load("\n".join(" " * indent + token for indent, token in lines))


def test_the_seed_config_is_valid():
    """The fuzzers mutate a config that loads: otherwise they would only test the first refusal."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "monitor.yaml"
        path.write_text(VALID_TEXT, encoding="utf-8")
        config = load_config(path, env={})
    assert config.chunking.chunk_size == 250 and math.isclose(config.false_alarm_rate, 0.001)
