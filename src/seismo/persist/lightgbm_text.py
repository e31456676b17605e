"""Checking a LightGBM model text before LightGBM parses it.

LightGBM's model-text parser trusts what it reads: ``tree_sizes`` are byte offsets it jumps
to, and a tree's child and feature indices are array positions it follows. A save whose
LightGBM file was cut short or edited (with its checksum recomputed) therefore crashes the
process (a segmentation fault, not an exception) instead of failing to load. This module checks,
in Python, everything the parser would index with: the sections and their end markers, the
header's counts, ``tree_sizes`` against the bytes actually there, and in each tree the lengths
of its arrays, its child indices (each node and leaf has exactly one parent, the root none, so
a prediction walk ends) and its feature and category indices.

The format is the one LightGBM writes (``Booster.model_to_string``; the layout is read from
LightGBM's ``gbdt_model_text.cpp`` and ``tree.cpp``, v4). Anything outside it is refused with a
`PersistError` naming the file and what is wrong; a model text LightGBM wrote passes unchanged.
"""

from __future__ import annotations

import re
from typing import Literal, overload

import numpy as np

from seismo.errors import PersistError

MAX_LEAVES = 131_072  # LightGBM's own upper bound on num_leaves
MAX_FEATURES = 10_000_000
_HEADER_INTS = ("num_class", "num_tree_per_iteration", "label_index", "max_feature_idx")
# arrays of a tree with L leaves: per internal node (L - 1 values) and per leaf (L values)
_PER_NODE = ("split_feature", "split_gain", "threshold", "decision_type", "left_child", "right_child")
_PER_NODE_OPTIONAL = ("internal_value", "internal_weight", "internal_count")
_PER_LEAF_OPTIONAL = ("leaf_weight", "leaf_count")
_PARAMETER = re.compile(r"\[[a-z0-9_]+: [^\n]*\]")  # "[learning_rate: 0.1]", as LightGBM writes them
_CATEGORICAL = 1  # decision_type bit: the split is on categories (LightGBM's kCategoricalMask)


def _key_values(lines: list[str], name: str, where: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in lines:
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep and key != "tree":
            raise PersistError(f"{name}: {where} has the line {line[:60]!r}, not key=value")
        values[key] = value
    return values


def _int(values: dict[str, str], key: str, name: str, where: str, low: int, high: int) -> int:
    text = values.get(key)
    if text is None:
        raise PersistError(f"{name}: {where} lacks {key}")
    try:
        number = int(text)
    except ValueError:
        raise PersistError(f"{name}: {where}: {key}={text[:40]!r} is not an integer") from None
    if not low <= number <= high:
        raise PersistError(f"{name}: {where}: {key}={number} is outside [{low}, {high}]")
    return number


@overload
def _array(values: dict[str, str], key: str, length: int, dtype: type, name: str, where: str,
           required: Literal[True] = True) -> np.ndarray: ...


@overload
def _array(values: dict[str, str], key: str, length: int, dtype: type, name: str, where: str,
           required: bool) -> np.ndarray | None: ...


def _array(values: dict[str, str], key: str, length: int, dtype: type, name: str, where: str,
           required: bool = True) -> np.ndarray | None:
    """The numbers under ``key``, checked for count and (``dtype=int``) integrality; None only when optional."""
    text = values.get(key)
    if text is None or not required and not text.strip():  # LightGBM leaves some empty on one-leaf trees
        if required:
            raise PersistError(f"{name}: {where} lacks {key}")
        return None
    try:
        array = np.array(text.split(), dtype=np.float64)
    except ValueError:
        raise PersistError(f"{name}: {where}: {key} holds something that is not a number") from None
    if len(array) != length:
        raise PersistError(f"{name}: {where}: {key} has {len(array)} values, {length} expected")
    if dtype is int:
        if not np.all(np.isfinite(array) & (array == np.round(array))) or np.any(np.abs(array) > 2**31 - 1):
            raise PersistError(f"{name}: {where}: {key} should hold integers")
        return array.astype(np.int64)
    return array


def _check_tree(text: str, name: str, index: int, n_features: int) -> None:
    lines = text.split("\n")
    where = f"tree {index}"
    if lines[0] != f"Tree={index}":
        raise PersistError(f"{name}: {where} should start with 'Tree={index}', found {lines[0][:40]!r}")
    values = _key_values(lines[1:], name, where)
    leaves = _int(values, "num_leaves", name, where, 1, MAX_LEAVES)
    n_cat = _int(values, "num_cat", name, where, 0, MAX_LEAVES)
    if values.get("is_linear", "0") != "0":
        raise PersistError(f"{name}: {where} is a linear tree; seismo saves no linear trees and does not load them")
    _array(values, "leaf_value", leaves, float, name, where)
    for key in _PER_LEAF_OPTIONAL:
        _array(values, key, leaves, float, name, where, required=False)
    if leaves == 1:
        return
    nodes = leaves - 1
    arrays = {key: _array(values, key, nodes, int if key not in ("split_gain", "threshold") else float, name, where)
              for key in _PER_NODE}
    for key in _PER_NODE_OPTIONAL:
        _array(values, key, nodes, float, name, where, required=False)
    features = arrays["split_feature"]
    if np.any((features < 0) | (features >= n_features)):
        raise PersistError(f"{name}: {where}: split_feature names a feature outside 0..{n_features - 1}")
    children = np.concatenate([arrays["left_child"], arrays["right_child"]])
    internal, leaf = children[children >= 0], ~children[children < 0]
    # Every internal node but the root, and every leaf, is the child of exactly one node: the
    # structure is a tree, and walking it from the root ends at a leaf.
    if not (np.array_equal(np.sort(internal), np.arange(1, nodes)) and np.array_equal(np.sort(leaf),
                                                                                    np.arange(leaves))):
        raise PersistError(f"{name}: {where}: left_child/right_child do not form a tree of {leaves} leaves")
    decision = arrays["decision_type"]
    if np.any((decision < 0) | (decision > 127)):
        raise PersistError(f"{name}: {where}: decision_type values lie outside 0..127")
    categorical = (decision & _CATEGORICAL) == _CATEGORICAL
    if n_cat == 0:
        if categorical.any():
            raise PersistError(f"{name}: {where}: a categorical split in a tree with num_cat=0")
        return
    bounds = _array(values, "cat_boundaries", n_cat + 1, int, name, where)
    if bounds[0] != 0 or np.any(np.diff(bounds) < 0):
        raise PersistError(f"{name}: {where}: cat_boundaries should rise from 0")
    _array(values, "cat_threshold", int(bounds[-1]), int, name, where)
    thresholds = arrays["threshold"][categorical]
    if np.any((thresholds != np.round(thresholds)) | (thresholds < 0) | (thresholds >= n_cat)):
        raise PersistError(f"{name}: {where}: a categorical threshold points outside its {n_cat} category sets")


def check_model_text(name: str, data: bytes) -> str:
    """The model text in ``data`` once it is known to be safe for LightGBM's parser; `PersistError` otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PersistError(f"{name} is not UTF-8 text ({exc})") from None
    if "\x00" in text:
        raise PersistError(f"{name} holds a NUL character; a LightGBM model text has none")
    head, sep, tail = text.partition("\nend of trees\n")
    if not sep or not head.startswith("tree\n"):
        raise PersistError(f"{name} is not a LightGBM model text (it should start with 'tree' and hold 'end of trees')")
    if "\nparameters:\n" in tail:
        parameters, sep, _ = tail.split("\nparameters:\n", 1)[1].partition("\nend of parameters\n")
        if not sep:
            raise PersistError(f"{name}: its parameters section has no end (the file was cut short?)")
        # LightGBM splits each line at its colon without checking there is one
        odd = [line for line in parameters.split("\n") if line and not _PARAMETER.fullmatch(line)]
        if odd:
            raise PersistError(f"{name}: the parameter line {odd[0][:60]!r} is not '[name: value]'")
    header, _, trees = head.partition("\n\nTree=")
    values = _key_values(header.split("\n"), name, "the header")
    for key in _HEADER_INTS:
        _int(values, key, name, "the header", 0 if key in ("label_index", "max_feature_idx") else 1, MAX_FEATURES)
    n_features = int(values["max_feature_idx"]) + 1
    for key in ("feature_names", "feature_infos"):
        if len(values.get(key, "").split(" ")) != n_features:
            raise PersistError(f"{name}: the header's {key} should list {n_features} features")
    sizes = _array(values, "tree_sizes", len(values.get("tree_sizes", "").split()), int, name, "the header")
    body = ("Tree=" + trees + "\n").encode("utf-8") if trees else b""
    if np.any(sizes <= 0) or int(sizes.sum()) != len(body):
        raise PersistError(f"{name}: tree_sizes add up to {int(sizes.sum())} bytes but the trees take {len(body)}")
    if len(sizes) % int(values["num_tree_per_iteration"]):
        raise PersistError(f"{name}: {len(sizes)} trees are not a whole number of iterations")
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    for index, (start, end) in enumerate(zip(offsets[:-1], offsets[1:])):
        try:
            tree = body[start:end].decode("utf-8")
        except UnicodeDecodeError:
            raise PersistError(f"{name}: tree_sizes cut tree {index} inside a character") from None
        _check_tree(tree.rstrip("\n"), name, index, n_features)
    return text
