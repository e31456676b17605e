"""Object graph -> JSON-ready state, with arrays, Arrow data and LightGBM models set aside.

`Encoder.encode` walks a value and returns plain JSON (None, bool, int, str, finite float,
lists) wherever the value is plain, and a tagged JSON object (one ``"$tag"`` key) otherwise;
the tags are listed in docs/persistence.md. Every mutable object (instances, dicts, lists,
sets, arrays, frames, boosters) gets an ``"$id"`` when first met and is a ``{"$ref": id}``
after that, so shared objects stay shared and cycles end.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import io
import math
import types
from collections import OrderedDict, defaultdict
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa

from seismo.errors import PersistError
from seismo.persist.classes import declares_segments, name_of

# defaultdict factories a state may name (the factory is called on a missing key after loading)
DEFAULT_FACTORIES: dict[str, Any] = {"dict": dict, "list": list, "set": set, "int": int, "float": float,
                                     "OrderedDict": OrderedDict, "None": None}


def attr_path(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def item_path(path: str, key: Any) -> str:
    return f"{path or '<root>'}[{key!r}]"


def encode_float(value: float) -> Any:
    """A float as JSON: finite values as numbers (repr round-trips exactly), the rest tagged."""
    if math.isfinite(value):
        return value
    return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


def ordered(items: set | frozenset) -> list:
    """Set items sorted where they sort, so that the same object always saves to the same bytes."""
    try:
        return sorted(items)
    except TypeError:
        return list(items)


def slot_names(cls: type) -> list[str]:
    """Every ``__slots__`` name of ``cls`` and its bases, private names mangled as Python stores them."""
    names = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for slot in [slots] if isinstance(slots, str) else slots:
            if slot in ("__dict__", "__weakref__"):
                continue
            if slot.startswith("__") and not slot.endswith("__"):
                slot = f"_{klass.__name__.lstrip('_')}{slot}"
            names.append(slot)
    return names


def object_state(obj: Any) -> dict[str, Any]:
    """An instance's attributes: its ``__dict__`` and its slots."""
    state = dict(vars(obj)) if hasattr(obj, "__dict__") else {}
    for name in slot_names(type(obj)):
        if hasattr(obj, name):
            state[name] = getattr(obj, name)
    return state


def arrow_ipc(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


class Encoder:
    """Walks one object graph; `arrays` and `files` collect what does not belong in the JSON,
    `segments` whether any object in it declares segments (which decides the format version), and
    `strings` the strings it holds (the custom metrics it names are declared beside it:
    `seismo.persist.declared_metrics`)."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.files: dict[str, bytes] = {}
        self.segments = False
        self.strings: set[str] = set()  # every string value and dict key: which custom metrics the object names
        self._ids: dict[int, int] = {}
        self._alive: list[Any] = []  # ids of live objects are unique; keep every visited one alive

    def encode(self, value: Any, path: str = "") -> Any:
        kind = type(value)
        if kind is str:
            self.strings.add(value)
            return value
        if value is None or kind in (bool, int):
            return value
        if kind is float:
            return encode_float(value)
        if kind is bytes:
            return {"$bytes": base64.b64encode(value).decode("ascii")}
        if kind is tuple:
            return {"$tuple": [self.encode(v, item_path(path, i)) for i, v in enumerate(value)]}
        if kind is frozenset:
            return {"$frozenset": [self.encode(v, item_path(path, "<item>")) for v in ordered(value)]}
        if isinstance(value, np.generic):
            return self._numpy_scalar(value, path)
        if isinstance(value, enum.Enum):
            return {"$enum": name_of(kind, path), "member": value.name}
        if kind is slice:
            return {"$slice": [self.encode(v, path) for v in (value.start, value.stop, value.step)]}
        plain_time = self._time(value)
        if plain_time is not None:
            return plain_time
        if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.MethodType, type, types.ModuleType)):
            what = getattr(value, "__qualname__", None) or kind.__name__
            raise PersistError(
                f"cannot save {path or '<root>'}: it is {what!r} ({kind.__name__}); functions and classes "
                "cannot be saved without pickle; give a name or a seismo object instead"
            )

        if id(value) in self._ids:
            return {"$ref": self._ids[id(value)]}
        node_id = len(self._ids)
        self._ids[id(value)] = node_id
        self._alive.append(value)
        return {"$id": node_id, **self._mutable(value, path)}

    # -- immutable values -------------------------------------------------------------------------
    def _numpy_scalar(self, value: np.generic, path: str) -> dict:
        dtype = value.dtype
        if dtype.kind in "biuf" and dtype.itemsize <= 8:  # long double would not fit a JSON float
            item = value.item()
            return {"$numpy": dtype.str, "value": encode_float(item) if dtype.kind == "f" else item}
        if dtype.kind in "mM":  # datetime64/timedelta64: the integer count of its unit (NaT included)
            return {"$numpy": dtype.str, "value": int(value.view(np.int64))}
        if dtype.kind == "U":
            return {"$numpy": dtype.str, "value": str(value)}
        raise PersistError(f"cannot save {path or '<root>'}: a numpy {dtype} scalar is not supported")

    def _time(self, value: Any) -> dict | None:
        if value is pd.NaT:
            return {"$pd.NaT": None}
        if isinstance(value, pd.Timestamp):
            return {"$pd.Timestamp": value.isoformat(), "unit": value.unit,
                    "tz": None if value.tz is None else str(value.tz)}
        if isinstance(value, pd.Timedelta):
            return {"$pd.Timedelta": int(value.value), "unit": value.unit}
        if type(value) is dt.datetime:
            if value.tzinfo not in (None, dt.UTC):
                return None  # named time zones: not supported (falls through to the error)
            return {"$datetime": value.isoformat()}
        if type(value) is dt.date:
            return {"$date": value.isoformat()}
        if type(value) is dt.timedelta:
            return {"$timedelta": [value.days, value.seconds, value.microseconds]}
        return None

    # -- mutable objects (get an $id) ---------------------------------------------------------------
    def _mutable(self, value: Any, path: str) -> dict:
        kind = type(value)
        if kind in (dict, OrderedDict, defaultdict):
            return self._dict(value, path)
        if kind is list:
            return {"$list": [self.encode(v, item_path(path, i)) for i, v in enumerate(value)]}
        if kind is set:
            return {"$set": [self.encode(v, item_path(path, "<item>")) for v in ordered(value)]}
        if kind is np.ndarray:
            return self._array(value, path)
        if isinstance(value, (pa.Array, pa.ChunkedArray, pa.RecordBatch, pa.Table)):
            return self._arrow(value)
        if kind in (pd.DataFrame, pd.Series) or isinstance(value, pd.Index):
            return self._pandas(value, path)
        if kind is lgb.Booster:
            return self._booster(value)
        if dataclasses.is_dataclass(value) or hasattr(value, "__dict__") or slot_names(kind):
            name = name_of(kind, path)
            state = object_state(value)
            self.segments = self.segments or declares_segments(kind, state)
            attributes = {k: self.encode(v, attr_path(path, k)) for k, v in state.items()}
            return {"$object": name, "attrs": attributes}
        raise PersistError(
            f"cannot save {path or '<root>'}: a {kind.__module__}.{kind.__qualname__} is not a type seismo.persist "
            "can store (see docs/persistence.md for the supported types)"
        )

    def _dict(self, value: dict, path: str) -> dict:
        node: dict[str, Any]
        self.strings.update(k for k in value if type(k) is str)
        if all(type(k) is str for k in value):
            node = {"$dict": {k: self.encode(v, item_path(path, k)) for k, v in value.items()}}
        else:
            node = {"$dict": [[self.encode(k, item_path(path, "<key>")), self.encode(v, item_path(path, k))]
                              for k, v in value.items()]}
        if type(value) is OrderedDict:
            node["kind"] = "OrderedDict"
        elif type(value) is defaultdict:
            factory = value.default_factory
            names = [n for n, f in DEFAULT_FACTORIES.items() if f is factory]
            if not names:
                raise PersistError(f"cannot save {path or '<root>'}: a defaultdict whose factory is {factory!r}")
            node["kind"] = "defaultdict"
            node["factory"] = names[0]
        return node

    def _array(self, value: np.ndarray, path: str) -> dict:
        if value.dtype.hasobject:
            raise PersistError(
                f"cannot save {path or '<root>'}: a numpy array of Python objects (dtype {value.dtype}) would need "
                "pickle; store strings as a pyarrow array or a list"
            )
        key = f"a{len(self.arrays)}"
        self.arrays[key] = value
        return {"$ndarray": key}

    def _side_file(self, folder: str, suffix: str, data: bytes) -> str:
        name = f"{folder}/{sum(f.startswith(folder + '/') for f in self.files)}.{suffix}"
        self.files[name] = data
        return name

    def _arrow(self, value: Any) -> dict:
        if isinstance(value, pa.Table):
            kind, table = "table", value
        elif isinstance(value, pa.RecordBatch):
            kind, table = "record_batch", pa.Table.from_batches([value])
        elif isinstance(value, pa.ChunkedArray):
            kind, table = "chunked_array", pa.table({"values": value})
        else:
            kind, table = "array", pa.table({"values": value})
        return {"$arrow": self._side_file("arrow", "arrows", arrow_ipc(table)), "kind": kind}

    def _pandas(self, value: Any, path: str) -> dict:
        if isinstance(value, pd.DataFrame):
            frame, kind, name = value, "DataFrame", None
        elif isinstance(value, pd.Series):
            frame, kind, name = value.to_frame(name="values"), "Series", value.name
        else:
            frame, kind, name = pd.DataFrame(index=value), "Index", value.name
        try:
            table = pa.Table.from_pandas(frame, preserve_index=True)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise PersistError(f"cannot save {path or '<root>'}: the {kind} does not convert to Arrow ({exc})") from None
        return {"$pandas": self._side_file("arrow", "arrows", arrow_ipc(table)), "kind": kind,
                "name": self.encode(name, attr_path(path, "name"))}

    def _booster(self, booster: Any) -> dict:
        text = booster.model_to_string()
        return {"$lightgbm": self._side_file("lightgbm", "txt", text.encode("utf-8"))}
