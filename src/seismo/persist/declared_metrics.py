"""The custom metrics a saved object uses, declared beside it: names, options, import paths; never code.

A fitted calculator holds its metrics by name; a custom metric's name means something only where
the metric is registered (`seismo.metrics.custom`). So `dumps` declares, under the key
``custom_metrics`` of ``state.json`` (beside ``root``), every registered custom metric whose name
the object holds: its name, kind, options and the import path (``"module:qualname"``) of each
function. A function without an import path (a lambda, a nested function, one defined in
``__main__``) makes the save fail, naming the metric.

Loading checks each declaration against the session's registry. The metric must be registered
already, with the same paths and options: loading imports no module named by a file, so the
promise of docs/persistence.md (loading runs no code the file names) still holds. Only when the
caller passes ``import_metrics=True`` (trusting the file as much as its own code) are the
declared modules imported and the metrics registered from them; a path that cannot be imported is
then a `PersistError` naming the metric and the path.

A seismo from before custom metrics ignores the key: it loads the object, and fails where it
computes the unknown metric (no value is computed wrongly), so the format version is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from seismo.errors import InvalidConfiguration, PersistError
from seismo.metrics.custom import KINDS, ROLES, custom_metrics, declare_from_paths, register_declared
from seismo.metrics.registry import METRICS

STATE_KEY = "custom_metrics"  # the key of state.json beside "root"
_FIELDS = ("name", "kind", "functions", "higher_is_better", "lower_bound", "upper_bound", "problem_types",
           "extensive")


def declarations(strings: set[str]) -> list[dict[str, Any]]:
    """The declarations of the registered custom metrics named among ``strings`` (an object's strings,
    `Encoder.strings`); `PersistError` for one with a function that has no import path."""
    out = []
    for name, metric in custom_metrics().items():
        if name not in strings:
            continue
        missing = [role for role, path in metric.paths.items() if path is None]
        if missing:
            raise PersistError(
                f"cannot save: custom metric {name!r} is computed by {metric.describe()}, and "
                f"{' and '.join(missing)} has no import path (a lambda, a nested function or one defined in "
                "__main__). Move the function into an importable module and register it from there: a "
                "saved monitor stores the import path, never code")
        out.append({"name": name, "kind": metric.kind, "functions": dict(metric.paths), **metric.options()})
    return out


def _checked(entry: Any, where: str) -> dict[str, Any]:
    """One declaration, its shape checked (the file may have been edited)."""
    if not isinstance(entry, dict) or set(entry) != set(_FIELDS):
        raise PersistError(f"{where} should be an object with the keys {list(_FIELDS)}")
    kind, functions = entry["kind"], entry["functions"]
    if not isinstance(entry["name"], str) or kind not in KINDS:
        raise PersistError(f"{where}: name {entry['name']!r} or kind {kind!r} is not valid (kinds: {list(KINDS)})")
    if not (isinstance(functions, dict) and kind in functions and set(functions) <= set(ROLES[kind])
            and all(isinstance(path, str) for path in functions.values())):
        raise PersistError(f"{where}: functions should map {' and optionally '.join(ROLES[kind])} to import paths; "
                           f"found {functions!r}")
    if not (isinstance(entry["problem_types"], list) and all(isinstance(t, str) for t in entry["problem_types"])):
        raise PersistError(f"{where}: problem_types should be a list of names")
    return entry


def _options(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: entry[key] for key in _FIELDS if key not in ("name", "kind", "functions")}


def restore(declared: Any, *, import_metrics: bool) -> list[Callable[[], Any]]:
    """Check a save's declarations against the session's registry; returns the registrations still to
    make (only with ``import_metrics``: their modules are imported already), to run once the object
    itself has loaded. `PersistError` naming the metric for one that is missing or differs."""
    if not isinstance(declared, list):
        raise PersistError(f"state.json: {STATE_KEY} should be a list of declarations")
    registered = custom_metrics()
    pending: list[Callable[[], Any]] = []
    seen: set[str] = set()
    for i, raw in enumerate(declared):
        entry = _checked(raw, f"state.json: {STATE_KEY}[{i}]")
        name, functions = entry["name"], entry["functions"]
        if name in seen:
            raise PersistError(f"state.json: {STATE_KEY} declares {name!r} twice")
        seen.add(name)
        saved = ", ".join(f"{role}={path}" for role, path in functions.items())
        current = registered.get(name)
        if current is not None:
            if current.kind != entry["kind"] or dict(current.paths) != functions \
                    or current.options() != _options(entry):
                raise PersistError(
                    f"custom metric {name!r} was saved as ({saved}; {_options(entry)}) but is registered in this "
                    f"session as ({current.describe()}; {current.options()}); register the saved one "
                    "(unregister the other first), or refit")
            continue
        if name in METRICS:
            raise PersistError(f"the save declares a custom metric {name!r}, which is a built-in metric here")
        if not import_metrics:
            raise PersistError(
                f"custom metric {name!r} ({saved}) is not registered in this session. Loading imports no module "
                "a file names: register it first (import the module that registers it, or call "
                "seismo.metrics.register), or, trusting the file, load with "
                "seismo.persist.load(path, import_metrics=True), which imports the paths above")
        try:
            metric = declare_from_paths(name, functions, **_options(entry))
        except InvalidConfiguration as exc:
            raise PersistError(f"the saved custom metric {name!r} cannot be restored from {saved}: {exc}") from None
        pending.append(partial(register_declared, metric))
    return pending
