"""Reading a config in three steps, each able to report several problems at once.

YAML parsing (a syntax error names its line; duplicated keys, object tags and alias bombs are
refused, see `yaml_safe.py`), `${VAR}` expansion (an unset variable
names the key that uses it), and pydantic validation (an unknown key gets a "did you
mean"), followed by the checks across sections in `checks.py`. Every problem carries
the key path, e.g. ``chunking.chunk_size``.
"""

from __future__ import annotations

import copy
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from seismo.alerts.environment import ENV_REFERENCE
from seismo.cli.config.checks import semantic_problems
from seismo.cli.config.fields import Config
from seismo.cli.config.problems import ConfigError, Problem, did_you_mean
from seismo.cli.config.yaml_safe import YamlRefused, load_config_yaml

_VAR = ENV_REFERENCE  # ${VAR} or ${VAR:-default}: one rule with the alert destinations' expand_secrets


def key_path(loc: tuple | list) -> str:
    """``("data", "reference", "path")`` -> ``data.reference.path``; list positions as ``[2]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def expand_env(tree: Any, env: typing.Mapping[str, str] | None = None,
               loc: tuple = ()) -> tuple[Any, list[Problem]]:
    """Replace ``${VAR}`` (or ``${VAR:-default}``) in every string value; unset variables are problems."""
    env = os.environ if env is None else env
    problems: list[Problem] = []
    if isinstance(tree, dict):
        out = {}
        for key, value in tree.items():
            out[key], found = expand_env(value, env, loc + (key,))
            problems += found
        return out, problems
    if isinstance(tree, list):
        items = []
        for i, value in enumerate(tree):
            item, found = expand_env(value, env, loc + (i,))
            items.append(item)
            problems += found
        return items, problems
    if not isinstance(tree, str):
        return tree, problems

    def substitute(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        problems.append(Problem("env_unset", key_path(loc), f"environment variable {name} is not set"))
        return match.group(0)

    return _VAR.sub(substitute, tree), problems


def parse_yaml(text: str, source: str = "config") -> tuple[Any, list[Problem]]:
    """The YAML tree, or a problem naming the line (and column) of a syntax error."""
    try:
        tree = load_config_yaml(text)
    except YamlRefused as exc:
        where = f"{source}, line {exc.line}" if exc.line else source
        return None, [Problem("yaml_refused", where, str(exc))]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark else source
        return None, [Problem("yaml_syntax", where, f"YAML syntax error: {exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return None, [Problem("yaml_syntax", source, f"YAML syntax error: {exc}")]
    if tree is None:
        tree = {}
    if not isinstance(tree, dict):
        return None, [Problem("wrong_type", source, f"the config must be a mapping of sections, not a "
                                                    f"{type(tree).__name__}")]
    return tree, []


def _section_class(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``Source | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (Union, types.UnionType, list):  # list: e.g. custom_metrics' entries
        for arg in typing.get_args(annotation):
            found = _section_class(arg)
            if found is not None:
                return found
    return None


def _fields_at(loc: tuple) -> list[str]:
    """The keys allowed at ``loc`` (the parent of an unknown key), walking the schema."""
    cls: Any = Config
    for part in loc:
        if cls is None:
            return []
        if isinstance(part, int):  # an item of a list of sections: the section itself
            continue
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            field = cls.model_fields.get(part)
            if field is None:
                return []
            annotation = field.annotation
            if typing.get_origin(annotation) is dict:  # e.g. thresholds: the next part is a free name
                cls = ("dict", _section_class(typing.get_args(annotation)[1]))
            else:
                cls = _section_class(annotation)
        elif isinstance(cls, tuple):  # a free-name key of a dict
            cls = cls[1]
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return [name for name in cls.model_fields if name not in ("base_dir", "unexpanded")]
    return []


def _problem_from(error: ErrorDetails) -> Problem:
    """One pydantic error as a `Problem` with the key path and a plain message."""
    union_tags = ("str", "dict[union[int,str],str]")  # pydantic names the member of y_pred_proba's union
    loc = tuple(p for p in error["loc"] if p not in union_tags)
    kind = error["type"]
    if len(loc) < len(error["loc"]) and loc[-1] == "y_pred_proba":
        return Problem("wrong_type", key_path(loc), f"give a column name, or a mapping {{class label: column}} "
                                                    f"for multiclass (got {error['input']!r})")
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        hint = did_you_mean(str(loc[-1]), allowed) or (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
        return Problem("unknown_key", key_path(loc), f"unknown key{hint}")
    if kind == "missing":
        return Problem("missing_key", key_path(loc), "required key is missing")
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        choices = re.findall(r"'([^']*)'", expected)
        hint = did_you_mean(error["input"], choices)
        return Problem("bad_value", key_path(loc), f"{error['input']!r} is not valid; use {expected}{hint}")
    if kind in ("source_kind", "chunk_period", "chunking_conflict", "threshold_kind", "bad_value"):
        return Problem(kind, key_path(loc), error["msg"])
    shown = error.get("input")
    return Problem("wrong_type", key_path(loc), f"{error['msg'].lower()} (got {shown!r})")


def _dedupe(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def build_config(tree: dict, base_dir: Path, env: typing.Mapping[str, str] | None = None,
                 unexpanded: dict | None = None) -> tuple[Config | None, list[Problem]]:
    """Validate an (unexpanded) YAML tree: a `Config` when there is no problem, and every problem found."""
    expanded, problems = expand_env(tree, env)
    try:
        config = Config.model_validate({**expanded, "base_dir": base_dir, "unexpanded": unexpanded or tree})
    except ValidationError as exc:
        problems += [_problem_from(e) for e in exc.errors()]
        return None, _dedupe(problems)
    problems += semantic_problems(config)
    return (None if problems else config), _dedupe(problems)


def _without(tree: Any, loc: tuple) -> bool:
    """Remove the key at ``loc`` from ``tree`` in place; False when there is nothing to remove."""
    *parents, last = loc
    for part in parents:
        if isinstance(tree, dict) and part in tree:
            tree = tree[part]
        elif isinstance(tree, list) and isinstance(part, int) and 0 <= part < len(tree):
            tree = tree[part]
        else:
            return False
    if isinstance(tree, dict) and last in tree:
        del tree[last]
        return True
    return False


SALVAGE_ROUNDS = 5  # each round removes every key pydantic reported; nested mistakes may need a few


def salvaged_config(tree: dict, base_dir: Path, env: typing.Mapping[str, str] | None = None) -> Config | None:
    """The config less the keys that are wrong, as long as what remains is still a config.

    `seismo validate` reports config mistakes and data mistakes in one pass: with an unknown
    key such as ``chunk_sise`` the rest of the file still names the data, and a missing column
    there is found now rather than after the first fix. Each key a problem points at is
    dropped (an optional key falls back to its default); a required key that is missing or
    wrong (the data paths, the model's columns) cannot be guessed, and then there is no
    salvaged config: None. The result is only ever used to look at the data, never to run.
    """
    expanded, unset = expand_env(tree, env)
    expanded = copy.deepcopy(expanded)
    for problem in unset:  # an unset ${VAR}: the text left behind would only be blamed again as data
        if not _without(expanded, tuple(_loc_parts(problem.where))):
            return None
    for _ in range(SALVAGE_ROUNDS):
        try:
            return Config.model_validate({**expanded, "base_dir": base_dir, "unexpanded": tree})
        except ValidationError as exc:
            for error in exc.errors():
                loc = tuple(p for p in error["loc"] if p not in ("str", "dict[union[int,str],str]"))
                if error["type"] == "missing" or not loc or not _without(expanded, loc):
                    return None
    return None


def _loc_parts(key: str) -> list[str | int]:
    """``data.reference.path`` or ``metrics[2]`` back to a location tuple (the inverse of `key_path`)."""
    parts: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", key):
        parts.append(int(index) if index else name)
    return parts


def read_config_tree(path: str | Path) -> tuple[Any, list[Problem]]:
    """The YAML tree of a config file, or the problems that stop it being read."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [Problem("file_unreadable", str(path), f"cannot read the config: {exc.strerror or exc}")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:  # a file saved in another encoding, or not text at all
        line = data[:exc.start].count(b"\n") + 1
        return None, [Problem("file_unreadable", f"{path}, line {line}",
                              f"the config is not UTF-8 text: byte {data[exc.start:exc.start + 1]!r} cannot be "
                              "read; save the file as UTF-8")]
    return parse_yaml(text, str(path))


def read_config(path: str | Path, env: typing.Mapping[str, str] | None = None) -> tuple[Config | None, list[Problem]]:
    """Read and validate a config file, collecting every problem instead of stopping at the first."""
    tree, problems = read_config_tree(path)
    if problems:
        return None, problems
    return build_config(tree, Path(path).resolve().parent, env)


def load_config(path: str | Path, env: typing.Mapping[str, str] | None = None) -> Config:
    """The validated config; `ConfigError` listing every problem otherwise."""
    config, problems = read_config(path, env)
    if problems or config is None:
        raise ConfigError(problems)
    return config
