"""JSON state (with its arrays and side files) -> object graph, creating only allowed classes.

Objects are rebuilt without running their code: ``object.__new__(cls)`` for a class that
`classes.resolve` allows, then each attribute written into the instance ``__dict__`` (or its
slot). No ``__init__``, ``__setstate__``, ``__reduce__``, ``eval`` or pickle is involved; the
only library parsers reached are numpy's ``.npy`` reader (``allow_pickle=False``), Arrow IPC and
LightGBM's model-text parser.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import re
import zoneinfo
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa

from seismo.errors import PersistError
from seismo.persist.classes import resolve
from seismo.persist.encode import DEFAULT_FACTORIES, attr_path, item_path, slot_names
from seismo.persist.lightgbm_text import check_model_text

_SCALAR_KINDS = "biufmMU"
_TIME_UNITS = ("s", "ms", "us", "ns")  # the units of pandas timestamps and time deltas
_FIXED_OFFSET = re.compile(r"UTC([+-])(\d\d):(\d\d)")  # str() of a datetime.timezone


def read_arrow(name: str, data: bytes) -> pa.Table:
    """One Arrow IPC stream, fully validated; extension types are refused (their deserialisers are
    arbitrary code).

    Arrow's IPC reader checks the stream's framing, not its values: offsets, dictionary indices
    and lengths are trusted, and a tampered file with, say, a negative string offset crashes the
    process when pandas reads it. ``validate(full=True)`` checks every buffer first (Arrow's
    advice for data from untrusted sources), so such a file is refused instead.
    """
    try:
        table = pa.ipc.open_stream(pa.BufferReader(data)).read_all()
        table.validate(full=True)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise PersistError(f"{name} is not a readable Arrow IPC stream ({exc})") from None
    for field in table.schema:
        _refuse_extension_types(name, field.name, field.type)
    return table


def _refuse_extension_types(name: str, column: str, arrow_type: pa.DataType) -> None:
    if isinstance(arrow_type, pa.ExtensionType):
        raise PersistError(f"{name}: column {column!r} has the extension type {arrow_type}; it is not loaded")
    children = [arrow_type.field(i).type for i in range(arrow_type.num_fields)]
    if pa.types.is_dictionary(arrow_type):
        children += [arrow_type.index_type, arrow_type.value_type]
    for child in children:
        _refuse_extension_types(name, column, child)


class Decoder:
    """Rebuilds one object graph from ``state.json``'s root node, ``arrays.npz`` and side files."""

    def __init__(self, arrays: Mapping[str, np.ndarray], files: Mapping[str, bytes], format_version: int):
        self.arrays = arrays
        self.files = files
        self.format_version = format_version  # format 1 names classes by their modules before the move
        self._nodes: dict[int, Any] = {}

    def decode(self, node: Any, path: str = "") -> Any:
        if node is None or type(node) in (bool, int, str, float):
            return node
        if type(node) is not dict:
            self._fail(path, f"found a bare JSON {type(node).__name__}; every non-scalar value is a tagged object")
        tags = [key for key in node if key.startswith("$") and key != "$id"]
        if len(tags) != 1 or tags[0] not in _HANDLERS:
            self._fail(path, f"expected one known '$' tag, found keys {sorted(node)[:8]}")
        return _HANDLERS[tags[0]](self, node, path)

    # -- helpers ------------------------------------------------------------------------------------
    def _fail(self, path: str, message: str) -> NoReturn:
        raise PersistError(f"state.json, at {path or '<root>'}: {message}")

    def _field(self, node: dict, key: str, kind: type | tuple[type, ...], path: str) -> Any:
        value = node.get(key)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
            self._fail(path, f"{key!r} should be a {getattr(kind, '__name__', kind)}, found {value!r:.60}")
        return value

    def _register(self, node: dict, value: Any, path: str) -> Any:
        node_id = node.get("$id")
        if type(node_id) is not int or node_id in self._nodes:
            self._fail(path, f"'$id' should be a new integer, found {node_id!r}")
        self._nodes[node_id] = value
        return value

    @staticmethod
    def _one_of(value: Any, names: Mapping[str, Any]) -> bool:
        """Whether a JSON value is one of ``names``; a list or object (unhashable) never is."""
        return isinstance(value, str) and value in names

    def _unit(self, node: dict, path: str) -> str:
        unit = node.get("unit")
        if unit not in _TIME_UNITS:
            self._fail(path, f"'unit' should be one of {', '.join(_TIME_UNITS)}, found {unit!r:.40}")
        return unit

    def _zone(self, node: dict, path: str) -> dt.tzinfo:
        """The time zone a saved timestamp names: a fixed offset as ``str`` writes one (``UTC+01:00``),
        or a name in the IANA zone database. Never handed to pandas as text: its parser takes
        ``dateutil/<path>`` as a file to open, and fails on odd text with arbitrary exceptions."""
        name = node.get("tz")
        if not isinstance(name, str):
            self._fail(path, f"'tz' is not a time zone name: {name!r:.40}")
        offset = _FIXED_OFFSET.fullmatch(name)
        try:
            if offset:
                sign = -1 if offset.group(1) == "-" else 1
                return dt.timezone(sign * dt.timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3))))
            return dt.UTC if name == "UTC" else zoneinfo.ZoneInfo(name)
        except (TypeError, ValueError, zoneinfo.ZoneInfoNotFoundError):
            self._fail(path, f"'tz' is not a time zone name: {name!r:.40}")

    def _file(self, node: dict, tag: str, path: str) -> tuple[str, bytes]:
        name = self._field(node, tag, str, path)
        if name not in self.files:
            self._fail(path, f"refers to the file {name!r}, which the manifest does not list")
        return name, self.files[name]

    def _items(self, node: dict, tag: str, path: str) -> list:
        return [self.decode(v, item_path(path, i)) for i, v in enumerate(self._field(node, tag, list, path))]

    # -- immutable values ---------------------------------------------------------------------------
    def _float(self, node: dict, path: str) -> float:
        text = node["$float"]
        if text not in ("nan", "inf", "-inf"):
            self._fail(path, f"'$float' should be 'nan', 'inf' or '-inf', found {text!r}")
        return float(text)

    def _ref(self, node: dict, path: str) -> Any:
        node_id = node["$ref"]
        if type(node_id) is not int or node_id not in self._nodes:
            self._fail(path, f"refers to object {node_id!r}, which is not defined before it")
        return self._nodes[node_id]

    def _bytes(self, node: dict, path: str) -> bytes:
        try:
            return base64.b64decode(self._field(node, "$bytes", str, path), validate=True)
        except binascii.Error as exc:
            self._fail(path, f"'$bytes' is not base64 ({exc})")

    def _tuple(self, node: dict, path: str) -> tuple:
        return tuple(self._items(node, "$tuple", path))

    def _frozenset(self, node: dict, path: str) -> frozenset:
        try:
            return frozenset(self._items(node, "$frozenset", path))
        except TypeError as exc:
            self._fail(path, f"a frozenset item is not hashable ({exc})")

    def _numpy(self, node: dict, path: str) -> np.generic:
        try:
            dtype = np.dtype(self._field(node, "$numpy", str, path))
        except (TypeError, ValueError) as exc:
            self._fail(path, f"not a numpy dtype ({exc})")
        if dtype.kind not in _SCALAR_KINDS:
            self._fail(path, f"numpy scalars of dtype {dtype} are not loaded")
        value = self.decode(node.get("value"), path)
        if type(value) not in (bool, int, float, str) or dtype.kind in "mM" and type(value) is not int:
            self._fail(path, f"the value of a numpy scalar should be a JSON scalar, found {value!r:.40}")
        try:
            if dtype.kind in "mM":
                return np.array(value, dtype=np.int64).view(dtype)[()]
            return dtype.type(value)
        except (TypeError, ValueError, OverflowError) as exc:
            self._fail(path, f"{value!r:.40} is not a {dtype} ({exc})")

    def _enum(self, node: dict, path: str) -> enum.Enum:
        cls = self._class(node, "$enum", path)
        if not issubclass(cls, enum.Enum) or not self._one_of(node.get("member"), cls.__members__):
            self._fail(path, f"{node.get('member')!r} is not a member of enum {node['$enum']}")
        return cls[node["member"]]

    def _slice(self, node: dict, path: str) -> slice:
        parts = self._items(node, "$slice", path)
        if len(parts) != 3 or not all(p is None or type(p) is int for p in parts):
            self._fail(path, "a slice is [start, stop, step] of integers or nulls")
        return slice(*parts)

    def _time(self, node: dict, path: str) -> Any:
        try:
            if "$pd.NaT" in node:
                return pd.NaT
            if "$pd.Timestamp" in node:
                stamp = pd.Timestamp(self._field(node, "$pd.Timestamp", str, path)).as_unit(self._unit(node, path))
                return stamp if node.get("tz") is None else stamp.tz_convert(self._zone(node, path))
            if "$pd.Timedelta" in node:
                return pd.Timedelta(self._field(node, "$pd.Timedelta", int, path), unit="ns").as_unit(
                    self._unit(node, path))
            if "$datetime" in node:
                return dt.datetime.fromisoformat(self._field(node, "$datetime", str, path))
            if "$date" in node:
                return dt.date.fromisoformat(self._field(node, "$date", str, path))
            return dt.timedelta(*self._field(node, "$timedelta", list, path))
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            self._fail(path, f"not a valid date or time ({exc})")

    # -- mutable objects ----------------------------------------------------------------------------
    def _list(self, node: dict, path: str) -> list:
        value: list = self._register(node, [], path)
        value.extend(self._items(node, "$list", path))
        return value

    def _set(self, node: dict, path: str) -> set:
        value: set = self._register(node, set(), path)
        try:
            value.update(self._items(node, "$set", path))
        except TypeError as exc:
            self._fail(path, f"a set item is not hashable ({exc})")
        return value

    def _dict(self, node: dict, path: str) -> dict:
        kind = node.get("kind")
        if kind is None:
            value: dict = {}
        elif kind == "OrderedDict":
            value = OrderedDict()
        elif kind == "defaultdict" and self._one_of(node.get("factory"), DEFAULT_FACTORIES):
            value = defaultdict(DEFAULT_FACTORIES[node["factory"]])
        else:
            self._fail(path, f"unknown dict kind {kind!r} (factory {node.get('factory')!r})")
        self._register(node, value, path)
        items = node["$dict"]
        if type(items) is dict:
            for key, item in items.items():
                value[key] = self.decode(item, item_path(path, key))
        elif type(items) is list:
            for pair in items:
                if type(pair) is not list or len(pair) != 2:
                    self._fail(path, "a '$dict' list holds [key, value] pairs")
                key = self.decode(pair[0], item_path(path, "<key>"))
                try:
                    value[key] = self.decode(pair[1], item_path(path, key))
                except TypeError as exc:
                    self._fail(path, f"a dict key is not hashable ({exc})")
        else:
            self._fail(path, "'$dict' should be an object or a list of pairs")
        return value

    def _ndarray(self, node: dict, path: str) -> np.ndarray:
        key = self._field(node, "$ndarray", str, path)
        if key not in self.arrays:
            self._fail(path, f"refers to array {key!r}, which is not in arrays.npz")
        return self._register(node, self.arrays[key], path)

    def _arrow(self, node: dict, path: str) -> Any:
        name, data = self._file(node, "$arrow", path)
        table = read_arrow(name, data)
        kind = node.get("kind")
        if kind == "table":
            value: Any = table
        elif kind == "record_batch":
            value = table.combine_chunks().to_batches()[0] if table.num_rows else pa.RecordBatch.from_pylist(
                [], schema=table.schema)
        elif kind in ("array", "chunked_array") and table.column_names == ["values"]:
            value = table.column(0)
            if kind == "array":
                value = value.combine_chunks()
        else:
            self._fail(path, f"{name}: unknown Arrow kind {kind!r} for columns {table.column_names[:5]}")
        return self._register(node, value, path)

    def _pandas(self, node: dict, path: str) -> Any:
        name, data = self._file(node, "$pandas", path)
        try:
            frame = read_arrow(name, data).to_pandas()
        except (pa.ArrowException, TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            raise PersistError(f"{name} does not convert back to pandas ({exc!r})") from None
        kind = node.get("kind")
        if kind == "DataFrame":
            value: Any = frame
        elif kind == "Series" and list(frame.columns) == ["values"]:
            value = frame["values"].rename(self.decode(node.get("name"), attr_path(path, "name")))
        elif kind == "Index":
            value = frame.index.rename(self.decode(node.get("name"), attr_path(path, "name")))
        else:
            self._fail(path, f"{name}: unknown pandas kind {kind!r}")
        return self._register(node, value, path)

    def _lightgbm(self, node: dict, path: str) -> lgb.Booster:
        name, data = self._file(node, "$lightgbm", path)
        text = check_model_text(name, data)  # LightGBM's parser trusts offsets and indices: check them first
        try:
            booster = lgb.Booster(model_str=text)
        except (lgb.basic.LightGBMError, ValueError) as exc:
            raise PersistError(f"{name} is not a LightGBM model ({exc})") from None
        return self._register(node, booster, path)

    def _class(self, node: dict, tag: str, path: str) -> type:
        try:
            return resolve(node.get(tag), self.format_version)
        except PersistError as exc:
            self._fail(path, str(exc))

    def _object(self, node: dict, path: str) -> Any:
        cls = self._class(node, "$object", path)
        value: Any
        try:
            value = object.__new__(cls)  # no __new__ or __init__ of the class runs
        except TypeError as exc:
            self._fail(path, f"{node['$object']} cannot be rebuilt from its attributes ({exc})")
        self._register(node, value, path)
        slots = set(slot_names(cls))
        attributes = self._field(node, "attrs", dict, path)
        for name, item in attributes.items():
            decoded = self.decode(item, attr_path(path, name))
            if name in slots:
                object.__setattr__(value, name, decoded)  # a slot descriptor: stores, runs nothing else
            elif hasattr(value, "__dict__"):
                value.__dict__[name] = decoded  # bypasses __setattr__ and properties on purpose
            else:
                self._fail(path, f"{node['$object']} has no attribute slot {name!r}")
        return value


_HANDLERS: dict[str, Callable[[Decoder, dict, str], Any]] = {
    "$float": Decoder._float, "$ref": Decoder._ref, "$bytes": Decoder._bytes, "$tuple": Decoder._tuple, "$frozenset": Decoder._frozenset,
    "$numpy": Decoder._numpy, "$enum": Decoder._enum, "$slice": Decoder._slice,
    "$pd.NaT": Decoder._time, "$pd.Timestamp": Decoder._time, "$pd.Timedelta": Decoder._time,
    "$datetime": Decoder._time, "$date": Decoder._time, "$timedelta": Decoder._time,
    "$list": Decoder._list, "$set": Decoder._set, "$dict": Decoder._dict, "$ndarray": Decoder._ndarray,
    "$arrow": Decoder._arrow, "$pandas": Decoder._pandas, "$lightgbm": Decoder._lightgbm, "$object": Decoder._object,
}
