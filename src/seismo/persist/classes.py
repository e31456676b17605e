"""Which classes a saved state may name, and how a name becomes a class.

A saved state names the class of every object in it as ``"module:qualname"``. Loading turns a
name into a class only through `resolve`, which accepts:

* classes defined in seismo's own modules (``seismo`` and ``seismo.*``, except this package);
* the few third-party classes listed in `THIRD_PARTY`, each imported from a fixed module name
  written here, never from a name read from the file.

Saving checks the same rule (`name_of`), so an object that could not be loaded back (a user's
own chunker class, a scikit-learn model) fails at save time, naming where it sits.

Format 1 (seismo 0.1.0) named classes by the modules before the stage packages (issue 13 moved
e.g. ``seismo.monitor`` to ``seismo.monitor.monitor``); `MOVED_IN_FORMAT_2` maps those names,
and only for files of format 1, so a format-2 name is never rewritten.

Format 3 (issue 14) is format 2 plus declared segments; `declares_segments` tells which objects
make a save need it (see `seismo.persist.bundle.format_version_of`).
"""

from __future__ import annotations

import importlib
import re

from seismo.engine import segment_fit, segments
from seismo.errors import PersistError

_THIS_PACKAGE = __name__.rsplit(".", 1)[0]
_MODULE = re.compile(r"^seismo(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_PART = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# name -> (module to import, attribute); the state carries only the name.
THIRD_PARTY: dict[str, tuple[str, str]] = {
    # scikit-learn wrappers around a LightGBM booster; the booster itself is stored as its model text
    "lightgbm.sklearn:LGBMClassifier": ("lightgbm.sklearn", "LGBMClassifier"),
    "lightgbm.sklearn:LGBMRegressor": ("lightgbm.sklearn", "LGBMRegressor"),
    # the label encoder an LGBMClassifier keeps; its state is one array of classes
    "sklearn.preprocessing._label:LabelEncoder": ("sklearn.preprocessing._label", "LabelEncoder"),
}


# format-1 module -> today's module, for every module that held a class a saved state may name
MOVED_IN_FORMAT_2: dict[str, str] = {
    "seismo.accumulate": "seismo.chunks.accumulator",
    "seismo.chunking": "seismo.chunks.chunkers",
    "seismo.reference": "seismo.chunks.reference",
    "seismo.spark": "seismo.chunks.spark",
    "seismo.io": "seismo.data.io",
    "seismo.frame": "seismo.data.frame",
    "seismo.timestamps": "seismo.data.timestamps",
    "seismo.schema": "seismo.data.columns",
    "seismo.encoding": "seismo.data.categories",
    "seismo.features": "seismo.data.features",
    "seismo.base": "seismo.engine.calculator",
    "seismo.calculator": "seismo.engine.trackers",
    "seismo.thresholds": "seismo.engine.thresholds",
    "seismo.scaling": "seismo.engine.sampling_error",
    "seismo.result": "seismo.engine.result",
    "seismo.drift.domain_fit": "seismo.engine.domain_fit",
    "seismo.quality": "seismo.quality.data_quality",
    "seismo.monitor": "seismo.monitor.monitor",
    "seismo.ranking": "seismo.monitor.ranking",
    "seismo.report": "seismo.monitor.report",
    "seismo.report_html": "seismo.monitor.html",
    "seismo.plotting": "seismo.monitor.plotting",
    "seismo.cli": "seismo.cli.app",
    "seismo.jobs": "seismo.cli.jobs",
    "seismo.sources": "seismo.cli.sources",
    "seismo.validate": "seismo.cli.validate",
    "seismo.config.checks": "seismo.cli.config.checks",
    "seismo.config.problems": "seismo.cli.config.problems",
    "seismo.config.reading": "seismo.cli.config.reading",
    "seismo.config.schema": "seismo.cli.config.fields",
    "seismo.config.yaml_safe": "seismo.cli.config.yaml_safe",
    "seismo.store.schema": "seismo.store.tables",
}


# the modules whose classes exist only where segments are declared: SegmentFit, ShareTracker, ShareCount,
# SegmentedPartial (a stream state's open chunk), SegmentCoder/SegmentedSource
SEGMENT_MODULES = frozenset({segments.__name__, segment_fit.__name__})


def declares_segments(cls: type, attributes: dict) -> bool:
    """Whether an object of ``cls`` with these attributes belongs to a save that declares segments.

    Either it is one of the segment classes, or it is a calculator or monitor whose ``segments``
    argument is set: an unfitted one holds no segment class yet, and a seismo from before segments
    would load it and fit the whole only, without a word.
    """
    if cls.__module__ in SEGMENT_MODULES:
        return True
    return attributes.get("segments") is not None  # `check_segments` refuses an empty list


def name_of(cls: type, path: str) -> str:
    """The saved name of ``cls``; `PersistError` (naming ``path``) when loading could not rebuild it."""
    name = f"{cls.__module__}:{cls.__qualname__}"
    try:
        if resolve(name) is cls:
            return name
    except PersistError:
        pass
    raise PersistError(
        f"cannot save {path or '<root>'}: it is a {name}, and only classes defined in seismo and "
        f"{sorted(THIRD_PARTY)} can be saved and loaded back safely"
    )


def resolve(name: object, format_version: int = 2) -> type:
    """The class a saved ``"module:qualname"`` names, if it is allowed; `PersistError` otherwise.

    ``format_version``: the file's; format 1 names the modules before the move (`MOVED_IN_FORMAT_2`).
    """
    if not isinstance(name, str) or name.count(":") != 1:
        raise PersistError(f"class name {name!r} is not of the form 'module:qualname'")
    if name in THIRD_PARTY:
        module_name, attribute = THIRD_PARTY[name]
        return getattr(importlib.import_module(module_name), attribute)
    module_name, qualname = name.split(":")
    if format_version == 1:
        module_name = MOVED_IN_FORMAT_2.get(module_name, module_name)
    in_seismo = _MODULE.match(module_name) and not (
        module_name == _THIS_PACKAGE or module_name.startswith(_THIS_PACKAGE + ".")
    )
    if not in_seismo:
        raise PersistError(
            f"class {name!r} is not allowed: only classes defined in seismo modules and "
            f"{sorted(THIRD_PARTY)} are loaded"
        )
    parts = qualname.split(".")
    if not all(_PART.match(p) and not p.startswith("__") for p in parts):
        raise PersistError(f"class {name!r} is not allowed: {qualname!r} is not a plain class name")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise PersistError(f"class {name!r} does not exist in this version of seismo ({exc})") from None
    # Look names up in namespaces (``vars``), never with getattr, so no module __getattr__ or
    # descriptor runs; and only through classes, so seismo.monitor.monitor:pd.DataFrame (pandas,
    # imported there) is not reachable.
    found: object = vars(module).get(parts[0])
    for part in parts[1:]:
        found = vars(found).get(part) if isinstance(found, type) else None
    if found is None:
        raise PersistError(f"class {name!r} does not exist in this version of seismo")
    if not (isinstance(found, type) and found.__module__ == module_name and found.__qualname__ == qualname):
        raise PersistError(f"{name!r} is not a class defined in {module_name}")
    return found
