"""The saved-monitor loader, fed damaged and tampered saves, raises nothing but `seismo.errors.*`.

A save is a manifest listing files with their SHA-256. A damaged file whose checksum no longer
matches is refused at once, so the runs below mostly recompute the checksums after the damage:
that is what a deliberate tamperer does, and it takes the input past the checksum into the
JSON decoder, numpy's ``.npy`` reader, Arrow IPC and LightGBM's model parser.

* ``state.json``: a node anywhere in the tree replaced by random JSON, or a string in it by one
  of a list of hostile ones (classes outside seismo, dtypes of objects, unknown tags...);
* ``manifest.json``: random JSON, or a field of a valid manifest replaced;
* ``arrays.npz``, the Arrow and LightGBM files: truncated, garbled or grown;
* a saved directory on disk with files truncated, removed, or replaced by a directory.

The object saved holds every kind of value the format has a tag for, so each decoder path is
reached. Each run is derandomized and bounded (a few seconds).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import tempfile
from collections import OrderedDict, defaultdict
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fuzzing import fuzz, tree_paths
from hypothesis import given
from hypothesis import strategies as st

from seismo.engine.thresholds import ConstantThreshold, FalseAlarmThreshold
from seismo.errors import SeismoError
from seismo.persist import dumps, load, loads, save
from seismo.stats.moments import Moments

FUZZ = fuzz(60)
MANIFEST, STATE = "manifest.json", "state.json"


def _specimen() -> dict:
    """A small object graph with a value of every kind the format stores (and a shared list)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    booster = lgb.train({"objective": "binary", "num_leaves": 4, "verbose": -1, "num_threads": 1},
                        lgb.Dataset(x, (x[:, 0] > 0).astype(int)), num_boost_round=2)
    shared = [1, 2.5, None]
    frame = pd.DataFrame({"a": [1.0, np.nan], "b": pd.Categorical(["x", "y"])}, index=pd.Index([3, 4], name="i"))
    return {
        "scalars": (True, 7, -0.0, float("nan"), float("inf"), "text", b"\x00\xff"),
        "numpy": [np.float32(1.5), np.int16(-3), np.datetime64("2024-01-02", "ns"), np.str_("u")],
        "times": [pd.Timestamp("2024-03-01 12:00", tz="Europe/Paris"), pd.Timedelta("1h"), pd.NaT,
                  dt.datetime(2024, 1, 1), dt.date(2024, 1, 2), dt.timedelta(days=1, seconds=3)],
        "collections": [frozenset({1, 2}), {3, 4}, slice(1, None, 2), OrderedDict(a=1),
                        defaultdict(list, {"k": [1]}), {1: "int key", (2, 3): "tuple key"}],
        "shared": [shared, shared],
        "arrays": [np.arange(6.0).reshape(2, 3), np.array(["a", "bc"]), np.array([1, 2], dtype="M8[s]")],
        "arrow": [pa.table({"c": [1, 2]}), pa.array(["x", None]), pa.chunked_array([[1], [2, 3]]),
                  pa.record_batch({"d": pa.array([1.5]).dictionary_encode()})],
        "pandas": [frame, frame["a"].rename("series"), frame.index],
        "booster": booster,
        "seismo": [Moments.from_values(x[:, 0]), ConstantThreshold(0.1, None), FalseAlarmThreshold(0.01, "upper")],
    }


SPECIMEN = dumps(_specimen())
STATE_TREE = json.loads(SPECIMEN[STATE])
BINARY = sorted(name for name in SPECIMEN if name not in (MANIFEST, STATE))

HOSTILE_STRINGS = [
    "builtins:eval", "os:system", "posix:system", "subprocess:Popen", "seismo.persist.classes:resolve",
    "seismo.persist.bundle:load", "seismo:__class__", "seismo.monitor.monitor:pd.DataFrame", "seismo.monitor.monitor:Monitor.__init__",
    "seismo.engine.thresholds:Threshold", "seismo.stats.moments:Moments", "lightgbm.sklearn:LGBMClassifier", "seismo:",
    ":", "O", "|O", "<U0", "V8", "m8[xyz]", "M8[D]", "f16", "<f8", "c16", "$ref", "$id", "$object", "$enum", "$float",
    "$ndarray", "$arrow", "$pandas", "$lightgbm", "nan", "-inf", "a999", "arrow/99.arrows", "../manifest.json",
    "lightgbm/0.txt", "arrow/0.arrows", "state.json", "defaultdict", "OrderedDict", "factory", "kind", "attrs",
    "record_batch", "chunked_array", "Series", "Index", "DataFrame", "2024-13-45", "ns", "xs", "Mars/Olympus", "",
]
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.sampled_from(HOSTILE_STRINGS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6) | st.sampled_from(HOSTILE_STRINGS),
                                                                 inner, max_size=3),
    max_leaves=8)


STATE_PATHS = tree_paths(STATE_TREE)


def _set(tree, path, value):
    if not path:
        return value
    node = tree
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return tree


def _resealed(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files with the manifest's checksums recomputed, as a tamperer would."""
    manifest = json.loads(files[MANIFEST])
    manifest["files"] = {name: {"sha256": hashlib.sha256(files[name]).hexdigest(), "bytes": len(files[name])}
                         for name in manifest["files"] if name in files}
    return {**files, MANIFEST: json.dumps(manifest).encode()}


def _loads_or_refuses(files: dict[str, bytes]) -> None:
    try:
        loads(files)
    except SeismoError as exc:
        assert str(exc)


def test_the_specimen_loads_back():
    """The fuzzers damage a save that loads: otherwise they would only test the first refusal."""
    back = loads(SPECIMEN)
    assert back["shared"][0] is back["shared"][1] and back["seismo"][1].lower == 0.1
    assert dumps(back) == SPECIMEN


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(STATE_PATHS), _json), min_size=1, max_size=3), st.booleans())
def test_state_json_with_nodes_replaced(changes, reseal):
    tree = copy.deepcopy(STATE_TREE)
    for path, value in changes:
        try:
            tree = _set(tree, path, value)
        except (KeyError, IndexError, TypeError):  # an earlier change removed that position
            continue
    files = {**SPECIMEN, STATE: json.dumps(tree).encode()}
    _loads_or_refuses(_resealed(files) if reseal else files)



@FUZZ
@given(st.lists(st.tuples(st.sampled_from(STATE_PATHS), st.sampled_from(HOSTILE_STRINGS) | st.integers(-2, 40)),
                min_size=1, max_size=4))
def test_state_json_with_hostile_names_and_ids(changes):
    tree = copy.deepcopy(STATE_TREE)
    for path, value in changes:
        try:
            tree = _set(tree, path, value)
        except (KeyError, IndexError, TypeError):
            continue
    _loads_or_refuses(_resealed({**SPECIMEN, STATE: json.dumps(tree).encode()}))


@FUZZ
@given(st.sampled_from(["format", "format_version", "saved_by", "files", "root_class", "extra"]), _json,
       st.booleans())
def test_a_manifest_field_replaced(field, value, whole):
    manifest = value if whole else {**json.loads(SPECIMEN[MANIFEST]), field: value}
    _loads_or_refuses({**SPECIMEN, MANIFEST: json.dumps(manifest).encode()})


@FUZZ
@given(st.sampled_from(BINARY), st.sampled_from(["truncate", "flip", "insert", "empty"]), st.integers(0, 10**6),
       st.binary(min_size=1, max_size=16), st.booleans())
def test_a_data_file_damaged(name, how, at, junk, reseal):
    data = SPECIMEN[name]
    at %= len(data)
    if how == "truncate":
        data = data[:at]
    elif how == "flip":
        data = data[:at] + bytes(b ^ j for b, j in zip(data[at:at + len(junk)], junk)) + data[at + len(junk):]
    elif how == "insert":
        data = data[:at] + junk + data[at:]
    else:
        data = b""
    files = {**SPECIMEN, name: data}
    _loads_or_refuses(_resealed(files) if reseal else files)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    return save(_specimen(), tmp_path_factory.mktemp("saved") / "monitor")


@fuzz(25)
@given(st.sampled_from(sorted(SPECIMEN)), st.sampled_from(["truncate", "remove", "directory", "garble"]),
       st.integers(0, 10**6))
def test_a_saved_directory_damaged(saved, name, how, at):
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder) / "monitor"
        directory.mkdir()
        for file in SPECIMEN:
            (directory / file).parent.mkdir(parents=True, exist_ok=True)
            (directory / file).write_bytes((saved / file).read_bytes())
        target = directory / name
        data = target.read_bytes()
        if how == "truncate":
            target.write_bytes(data[:at % len(data)])
        elif how == "remove":
            target.unlink()
        elif how == "directory":
            target.unlink()
            target.mkdir()
        else:
            target.write_bytes(bytes(255 - b for b in data[:64]) + data[64:])
        with pytest.raises(SeismoError):
            load(directory)


@pytest.mark.parametrize("path, value", [
    (("root", "$dict", "times", "$list", 0, "tz"), ""),  # pandas: IndexError
    (("root", "$dict", "times", "$list", 0, "tz"), "dateutil/../../etc/passwd"),  # pandas opened it as a file
    (("root", "$dict", "times", "$list", 0, "unit"), ["ns"]),
    (("root", "$dict", "numpy", "$list", 0, "$numpy"), "2024-13-45"),  # numpy: ValueError
    (("root", "$dict", "collections", "$list", 4, "factory"), ["list"]),  # unhashable: TypeError
], ids=["empty tz", "dateutil path", "unit list", "dtype text", "factory list"])
def test_escapes_the_fuzzer_found_are_persist_errors(path, value):
    tree = _set(copy.deepcopy(STATE_TREE), path, value)
    with pytest.raises(SeismoError, match="state.json"):
        loads(_resealed({**SPECIMEN, STATE: json.dumps(tree).encode()}))
