"""The house's layer rule, read from the source with `ast` (nothing is imported).

seismo is a pipeline: numbers (`stats`, `metrics`) know nothing of frames, frames (`data`)
nothing of chunks, chunks nothing of calculators, and so on up to the CLI. `LAYERS` below is
the one home of that order, lowest first. A module may import, at module level, its own package
and any package of a lower layer; never a higher one, and never a sibling package of its own
layer (`drift`, `performance` and `quality` are independent of each other; only layer 0's
modules may use each other). `seismo/__init__.py` is the public facade and exempt: it imports
everything, so any module importing *it* counts as importing from above the CLI.
`seismo.datasets` stands aside: it may import only layer 0, and only the facade imports it.

Imports inside a function (lazy imports) run only when called, so an upward one creates no
import cycle; it still couples a lower layer to a higher one, so each is listed in
`LAZY_UPWARD` with its reason, and an entry no import needs any more fails too.

Imports under ``if TYPE_CHECKING:`` never run, but they are the dependency the type hints
express, and checking them costs nothing: they follow the same rule as module-level imports.
They are left out only of the cycle check, because they cannot form an import cycle.

The same file checks the neighbouring house rules: no two modules share a file name (one name,
one place to look), no import cycle between seismo modules at module level, "the math knows no
frames" (`stats` and `metrics` import no pandas, pyarrow or polars), and no module reaches into
another module's private names (``from seismo.data.io import _x``, ``some_module._x``) or calls
a private method of a class that neither it nor a base class of one of its classes defines
(``realized._fit_frame(...)`` from outside `seismo.performance.realized`).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"

# (layer, packages); a module belongs to the longest package that prefixes its name
LAYERS: list[tuple[int, tuple[str, ...]]] = [
    (0, ("seismo.errors", "seismo._typing")),
    (1, ("seismo.stats",)),
    (2, ("seismo.metrics",)),
    (3, ("seismo.data",)),
    (4, ("seismo.chunks",)),
    (5, ("seismo.engine",)),
    (6, ("seismo.drift", "seismo.performance", "seismo.quality")),
    (7, ("seismo.monitor",)),
    (8, ("seismo.persist",)),
    (9, ("seismo.store",)),
    (10, ("seismo.alerts",)),  # reads results and keeps alert state in the store; the CLI sends
    (11, ("seismo.cli",)),
]
FACADE = "seismo"  # seismo/__init__.py: exempt as an importer, above every layer as an import
FACADE_LAYER = 12
ASIDE = "seismo.datasets"  # imports layer 0 only; imported by the facade only

# (importer, imported) -> why a function of a lower layer imports a higher one
LAZY_UPWARD: dict[tuple[str, str], str] = {
    ("seismo.engine.result", "seismo.monitor.plotting"):
        "Result.plot draws its figure with the monitor's plotting, only when asked (plotly is optional)",
    ("seismo.monitor.monitor", "seismo.persist"):
        "Monitor.save and Monitor.load are the user's door to persist, which itself knows the monitor",
    ("seismo.persist.bundle", FACADE):
        "a saved manifest records seismo.__version__, which lives in the facade",
    ("seismo.cli.app", FACADE):
        "`seismo demo` runs the public API exactly as a user would, data sets included",
}

FRAME_LIBRARIES = ("pandas", "pyarrow", "polars")
FRAMELESS = ("seismo.stats", "seismo.metrics")

# (module, private name) -> why it may use another module's private member; empty is the goal
PRIVATE_REACH: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str  # a seismo module (or package) or a third-party top-level name
    name: str | None  # the name taken by ``from imported import name``, if any
    kind: str  # "module" (runs at import), "typing" (under TYPE_CHECKING) or "lazy" (inside a function)
    line: int
    bound: str  # the local name the import binds


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted((SRC / "seismo").rglob("*.py"))}
TREES: dict[str, ast.Module] = {m: ast.parse(p.read_text(encoding="utf-8"), str(p)) for m, p in MODULES.items()}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str) -> list[Import]:
    found: list[Import] = []

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(module, a.name, None, kind, child.lineno, a.asname or a.name.split(".")[0])
                             for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = _absolute(module, child)
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    found.append(Import(module, sub if sub in MODULES else base, alias.name, kind, child.lineno,
                                        alias.asname or alias.name))
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), "lazy" if kind == "lazy" else "typing")
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), kind)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, "lazy")
            else:
                visit(child, kind)

    visit(TREES[module], "module")
    return found


IMPORTS: list[Import] = [i for m in MODULES for i in imports_of(m)]


def package_of(module: str) -> tuple[int, str]:
    """(layer, package) of a seismo module; fails for a module the table does not place."""
    if module == FACADE:
        return FACADE_LAYER, FACADE
    if module == ASIDE or module.startswith(ASIDE + "."):
        return -1, ASIDE
    matches = [(len(p), layer, p) for layer, packages in LAYERS for p in packages
               if module == p or module.startswith(p + ".")]
    assert matches, f"{module} is in no layer: add its package to LAYERS in tests/test_layers.py"
    _, layer, package = max(matches)
    return layer, package


def _seismo(module: str) -> bool:
    return module == FACADE or module.startswith(FACADE + ".")


def layer_problem(imp: Import) -> str | None:
    """Why this import breaks the layer rule, or None."""
    if imp.importer == FACADE or not _seismo(imp.imported):
        return None
    (li, pi), (lo, po) = package_of(imp.importer), package_of(imp.imported)
    if pi == po:
        return None
    where = f"{imp.importer} (line {imp.line}, {imp.kind} import)"
    if pi == ASIDE:
        if lo == 0:
            return None
        return f"{where} imports {imp.imported} (layer {lo}): {ASIDE} stands aside and may import layer 0 only"
    if po == ASIDE:
        return f"{where} imports {imp.imported}: only the facade imports {ASIDE}"
    if lo < li or li == lo == 0:
        return None
    if imp.kind == "lazy" and (imp.importer, imp.imported) in LAZY_UPWARD:
        return None
    what = "a sibling package of the same layer" if lo == li else "a higher layer"
    hint = "; list it in LAZY_UPWARD with its reason if it must stay" if imp.kind == "lazy" else ""
    return (f"{where} in layer {li} ({pi}) imports {imp.imported} in layer {lo} ({po}), "
            f"{what}{hint}")


def test_layer_table_places_every_module():
    unplaced = []
    for module in MODULES:
        try:
            package_of(module)
        except AssertionError as exc:
            unplaced.append(str(exc))
    assert not unplaced, "\n".join(unplaced)


def test_imports_follow_the_layers():
    problems = [p for p in map(layer_problem, IMPORTS) if p]
    assert not problems, "imports against the layer order:\n" + "\n".join(problems)



def test_a_violation_names_both_modules_and_layers():
    up = Import("seismo.stats.binning", "seismo.data.frame", "Frame", "module", 7, "Frame")
    assert layer_problem(up) == ("seismo.stats.binning (line 7, module import) in layer 1 (seismo.stats) imports "
                                 "seismo.data.frame in layer 3 (seismo.data), a higher layer")
    sibling = Import("seismo.performance.cbpe", "seismo.drift.pca", "PCADrift", "typing", 3, "PCADrift")
    assert layer_problem(sibling) == ("seismo.performance.cbpe (line 3, typing import) in layer 6 (seismo.performance) "
                                      "imports seismo.drift.pca in layer 6 (seismo.drift), a sibling package of the "
                                      "same layer")
    lazy = Import("seismo.engine.result", "seismo.monitor.report", "Report", "lazy", 9, "Report")
    assert layer_problem(lazy).endswith("a higher layer; list it in LAZY_UPWARD with its reason if it must stay")
    listed = Import("seismo.engine.result", "seismo.monitor.plotting", "plot_result", "lazy", 9, "plot_result")
    assert layer_problem(listed) is None
    assert layer_problem(Import("seismo.drift.pca", "seismo.datasets", None, "lazy", 1, "x")) == (
        "seismo.drift.pca (line 1, lazy import) imports seismo.datasets: only the facade imports seismo.datasets")
    down = Import("seismo.cli.jobs", "seismo.errors", "SeismoError", "module", 1, "SeismoError")
    assert layer_problem(down) is None

def test_every_lazy_upward_entry_is_needed():
    used = {(i.importer, i.imported) for i in IMPORTS if i.kind == "lazy"}
    stale = [f"{a} -> {b}" for a, b in LAZY_UPWARD if (a, b) not in used]
    assert not stale, "LAZY_UPWARD entries no import needs any more:\n" + "\n".join(stale)
    for (importer, imported), reason in LAZY_UPWARD.items():
        assert package_of(imported)[0] > package_of(importer)[0], f"{importer} -> {imported} is not upward"
        assert reason.strip(), f"{importer} -> {imported} needs its reason"


def test_the_math_knows_no_frames():
    """Statistics and metrics take numpy arrays; frames are the data layer's business (any import, lazy too)."""
    found = [f"{i.importer} (line {i.line}) imports {i.imported}" for i in IMPORTS
             if i.importer.startswith(FRAMELESS) and i.imported.split(".")[0] in FRAME_LIBRARIES]
    assert not found, "\n".join(found)


def test_no_two_modules_share_a_file_name():
    by_name: dict[str, list[str]] = defaultdict(list)
    for module, path in MODULES.items():
        if path.name != "__init__.py":
            by_name[path.name].append(module)
    shared = {name: modules for name, modules in by_name.items() if len(modules) > 1}
    assert not shared, f"modules sharing a file name: {shared}"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph (as a path that ends where it starts), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_at_module_level():
    graph: dict[str, set[str]] = defaultdict(set)
    for i in IMPORTS:
        if i.kind == "module" and i.imported in MODULES and i.imported != i.importer:
            graph[i.importer].add(i.imported)
    cycle = _cycle(graph)
    assert cycle is None, "module-level import cycle: " + " -> ".join(cycle or [])


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def _private(name: str | None) -> bool:
    return bool(name) and name.startswith("_") and not name.startswith("__")  # type: ignore[union-attr]


def _visible(private_module: str, importer: str) -> bool:
    """A private module (``seismo._typing``, ``seismo.datasets._common``) is open to its own package."""
    parts = private_module.split(".")
    first = next(k for k, part in enumerate(parts) if _private(part))
    package = ".".join(parts[:first])
    return importer == package or importer.startswith(package + ".")


def test_no_private_name_imported_from_another_module():
    found = []
    for i in IMPORTS:
        if not _seismo(i.imported) or i.imported == i.importer:
            continue
        if any(_private(part) for part in i.imported.split(".")) and not _visible(i.imported, i.importer):
            found.append(f"{i.importer} (line {i.line}) imports the private module {i.imported}")
        elif _private(i.name) and not i.imported.endswith("." + (i.name or "")):  # (a private module: above)
            found.append(f"{i.importer} (line {i.line}) imports the private name {i.name} from {i.imported}")
    assert not found, "\n".join(found)


def _classes() -> dict[str, list[tuple[str, ast.ClassDef]]]:
    by_name: dict[str, list[tuple[str, ast.ClassDef]]] = defaultdict(list)
    for module, tree in TREES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                by_name[node.name].append((module, node))
    return by_name


def _private_members(cls: ast.ClassDef) -> set[str]:
    """Private methods and ``self._x`` attributes a class defines."""
    names = set()
    for node in ast.walk(cls):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _private(node.name):
            names.add(node.name)
        elif (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _private(node.attr)
              and isinstance(node.value, ast.Name) and node.value.id == "self"):
            names.add(node.attr)
    return names


def _own_private_members(module: str, classes: dict[str, list[tuple[str, ast.ClassDef]]]) -> set[str]:
    """Private members of the module's classes and of their seismo base classes (matched by name)."""
    owned: set[str] = set()
    todo = [node for node in ast.walk(TREES[module]) if isinstance(node, ast.ClassDef)]
    seen: set[int] = set()
    while todo:
        cls = todo.pop()
        if id(cls) in seen:
            continue
        seen.add(id(cls))
        owned |= _private_members(cls)
        for base in cls.bases:
            name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else None
            todo.extend(node for _, node in classes.get(name or "", []))
    return owned


def test_no_reach_into_another_module_private_members():
    """``obj._x`` where ``_x`` is private to a class of another module, or ``module._x`` on a seismo module.

    ``self._x``, ``cls._x`` and ``super()._x`` are a class's own business and not looked at; any other
    object is flagged when ``_x`` is defined by a class of some other seismo module and by no class of
    this module or their bases. Cheap and by name, so it cannot see every case; it sees the usual one.
    """
    classes = _classes()
    defined_in: dict[str, set[str]] = defaultdict(set)
    for name, entries in classes.items():
        for module, cls in entries:
            for member in _private_members(cls):
                defined_in[member].add(module)
    found = []
    for module, tree in TREES.items():
        own = _own_private_members(module, classes)
        # local names bound to a seismo module: ``import seismo.x as m``, ``from seismo.x import m``
        aliases = {i.bound: i.imported for i in IMPORTS if i.importer == module and i.imported in MODULES
                   and (i.name is not None or i.bound != i.imported.split(".")[0])}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)):
                continue
            value = node.value
            if isinstance(value, ast.Name) and value.id in ("self", "cls"):
                continue
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super":
                continue
            if isinstance(value, ast.Name) and value.id in aliases and aliases[value.id] != module:
                problem = f"{ast.unparse(node)} reaches into the module {aliases[value.id]}"
            elif defined_in.get(node.attr, set()) - {module} and node.attr not in own:
                owners = ", ".join(sorted(defined_in[node.attr] - {module}))
                problem = f"{ast.unparse(node)} uses a private member of a class of {owners}"
            else:
                continue
            if (module, node.attr) not in PRIVATE_REACH:
                found.append(f"{module} (line {node.lineno}): {problem}")
    assert not found, "\n".join(found)

