"""The config reader takes plain data only, and stays bounded: duplicated keys, object tags,
recursive aliases and alias bombs are refused with the line, quickly and in little memory."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from seismo.cli.config.reading import parse_yaml
from seismo.cli.config.yaml_safe import MAX_BYTES, MAX_NODES, load_config_yaml

BOMB = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x]"]
                 + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)])


def refusal(text):
    tree, problems = parse_yaml(text, "monitor.yaml")
    assert tree is None and len(problems) == 1, problems
    return problems[0]


def test_a_duplicated_key_names_the_key_and_both_lines():
    problem = refusal("chunking:\n  chunk_size: 100\n  chunk_number: 3\n  chunk_size: 500\n")
    assert problem.kind == "yaml_refused" and problem.where == "monitor.yaml, line 4"
    assert "'chunk_size' appears twice, on lines 2 and 4" in problem.message


def test_merge_keys_may_still_be_overridden():
    tree = load_config_yaml("base: &b {lower: 0.1, upper: 0.9}\nroc_auc:\n  <<: *b\n  upper: 0.95\n")
    assert tree["roc_auc"] == {"lower": 0.1, "upper": 0.95}


@pytest.mark.parametrize("text", ["model: !!python/object/apply:os.system ['touch /tmp/seismo-pwned']\n",
                                  "model: !!python/object:collections.OrderedDict {}\n",
                                  "model: !custom {a: 1}\n"])
def test_object_and_custom_tags_are_refused(text, tmp_path):
    problem = refusal(text)
    assert problem.kind == "yaml_refused" and "is refused" in problem.message and "line 1" in problem.where


def test_an_alias_bomb_is_refused_fast_and_small():
    # 9 ** 9 = 387,420,489 leaves once expanded: the reader counts, it never expands
    tracemalloc.start()
    started = time.process_time()
    problem = refusal(BOMB)
    cpu = time.process_time() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert problem.kind == "yaml_refused" and f"{MAX_NODES:,}" in problem.message
    assert len(problem.message) < 200
    assert peak < 20_000_000 and cpu < 5.0  # bounds 100x above what it takes: a bound, not a timing


def test_a_recursive_alias_is_refused():
    problem = refusal("a: &a [1, *a]\n")
    assert "recursive" in problem.message


def test_a_huge_file_is_refused_before_parsing():
    problem = refusal("x: " + "y" * (MAX_BYTES + 1))
    assert "larger than" in problem.message


def test_ordinary_aliases_still_work():
    tree = load_config_yaml("t: &t {lower: 0.5}\ncalculators:\n  a: *t\n  b: *t\n")
    assert tree["calculators"] == {"a": {"lower": 0.5}, "b": {"lower": 0.5}}
