"""The import rule of `kit/` (ARCHITECTURE.md), checked over the source with `ast`.

Layers, lowest first: core -> benchmarks -> recipes -> sandbox -> hub -> verify -> generation -> curate -> train
-> evaluate -> demo -> cli. A module may import (at module level, inside a function or under TYPE_CHECKING) only
modules of its own package or of a lower layer; `kit` itself (the version) anyone may import. `kit.core` imports
nothing of kit but `kit.core` (and the exceptions named in CORE_MAY_IMPORT_KIT). No package has an import cycle
between its modules at module level. Every package says in its `__init__.py` docstring what it does and what it
may import.

The checks are functions over a plain graph (module -> imports), so the control tests below can feed them a
synthetic bad graph and see them fail.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent / "kit"

LAYERS = ("core", "benchmarks", "recipes", "sandbox", "hub", "verify", "generation", "curate", "train", "evaluate",
          "demo", "cli")
RANK = {name: i for i, name in enumerate(LAYERS)}

# kit.core imports nothing of kit but kit.core, except these (importer -> imported), each with its reason.
CORE_MAY_IMPORT_KIT = {
    # `not_found` reads `kit.__file__` to find the checkout's recipes/ folder (names the recipe that makes a folder).
    ("kit.core.sources", "kit"): "kit.__file__, to find recipes/ in a checkout",
}


@dataclass(frozen=True)
class Import:
    """One `import` of a kit module: the module it names, where, and whether it runs when the importer is imported
    (module level, class bodies included; not inside a function and not under `if TYPE_CHECKING:`)."""

    target: str
    line: int
    module_level: bool


# -- reading the source -------------------------------------------------------------------------------------------


def module_name(path: Path, root: Path = KIT) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def kit_modules(root: Path = KIT) -> dict[str, Path]:
    """Every module of the package tree at `root`: dotted name -> file (a package is its `__init__.py`)."""
    return {module_name(p, root): p for p in sorted(root.rglob("*.py")) if "__pycache__" not in p.parts}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(node: ast.AST, module_level: bool = True) -> Iterable[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement under `node`, with whether it runs at import time of the module."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, module_level
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(child, False)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), False)
            for stmt in child.orelse:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), module_level)
        else:
            yield from _walk(child, module_level)


def imports_of(name: str, path: Path, known: Iterable[str]) -> list[Import]:
    """The kit modules that module `name` (at `path`) imports. Relative imports are resolved; `from P import X`
    counts as importing `P.X` when that is a module, else `P`."""
    known = set(known)
    is_package = path.name == "__init__.py"
    found: list[Import] = []
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node, module_level in _walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join(package + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        found += [Import(t, node.lineno, module_level) for t in dict.fromkeys(targets)
                  if t == "kit" or t.startswith("kit.")]
    # A file that imports by name (`importlib.import_module`, e.g. kit.hub's lazy re-exports) imports every kit
    # module it names in a string; counted as not at load time.
    if any(isinstance(n, ast.Call) and getattr(n.func, "attr", getattr(n.func, "id", None))
           in ("import_module", "__import__") for n in ast.walk(tree)):
        found += [Import(n.value, n.lineno, False) for n in ast.walk(tree)
                  if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.startswith("kit.")
                  and n.value in known]
    return found


def import_graph(root: Path = KIT) -> dict[str, list[Import]]:
    modules = kit_modules(root)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


# -- the checks (each over a graph, each returns readable lines; empty means clean) ----------------------------------


def layer_of(module: str) -> str | None:
    """The layer of a kit module: its top-level package (`kit.hub.repo` -> hub, `kit.cli` -> cli); None for `kit`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layer_violations(graph: Mapping[str, Iterable[Import | str]]) -> list[str]:
    """`importer -> imported` for every import of a higher layer (and every module outside the known layers)."""
    bad: list[str] = []
    for module, imports in sorted(graph.items()):
        own = layer_of(module)
        if own is not None and own not in RANK:
            bad.append(f"{module}: package {own!r} is not in the layer order {LAYERS}")
            continue
        for imp in imports:
            target, line = (imp, 0) if isinstance(imp, str) else (imp.target, imp.line)
            theirs = layer_of(target)
            if theirs is None or theirs == own:
                continue  # `kit` itself, or the module's own package
            if module == "kit":
                bad.append(f"{module} -> {target} (line {line}): kit/__init__.py imports nothing of kit")
            elif theirs not in RANK:
                bad.append(f"{module} -> {target} (line {line}): {theirs!r} is not in the layer order")
            elif RANK[theirs] > RANK[own]:
                bad.append(f"{module} -> {target} (line {line}): {own} (layer {RANK[own]}) may not import "
                           f"{theirs} (layer {RANK[theirs]})")
    return bad


def core_violations(graph: Mapping[str, Iterable[Import | str]]) -> list[str]:
    """`kit.core.X -> kit.Y` for every import of kit outside kit.core that CORE_MAY_IMPORT_KIT does not name."""
    bad: list[str] = []
    for module, imports in sorted(graph.items()):
        if layer_of(module) != "core":
            continue
        for imp in imports:
            target, line = (imp, 0) if isinstance(imp, str) else (imp.target, imp.line)
            if layer_of(target) != "core" and (module, target) not in CORE_MAY_IMPORT_KIT:
                bad.append(f"{module} -> {target} (line {line}): kit.core imports nothing of kit but kit.core")
    return bad


def package_cycles(graph: Mapping[str, Iterable[Import | str]]) -> list[str]:
    """Every cycle of module-level imports between modules of one package, as `a -> b -> a`."""
    edges: dict[str, set[str]] = {}
    for module, imports in graph.items():
        for imp in imports:
            target, module_level = (imp, True) if isinstance(imp, str) else (imp.target, imp.module_level)
            if module_level and target != module and layer_of(target) == layer_of(module) is not None:
                edges.setdefault(module, set()).add(target)
    cycles: list[str] = []
    for component in _strongly_connected(edges):
        if len(component) > 1:
            cycles.append(" -> ".join(_cycle_through(sorted(component)[0], component, edges)))
    return sorted(cycles)


def _strongly_connected(edges: Mapping[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            found.append(component)

    for node in sorted(set(edges) | {t for ts in edges.values() for t in ts}):
        if node not in index:
            visit(node)
    return found


def _cycle_through(start: str, component: set[str], edges: Mapping[str, set[str]]) -> list[str]:
    """A shortest path start -> ... -> start inside `component` (breadth first)."""
    previous: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(edges.get(node, set()) & component):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return [start, start]


def missing_modules(graph: Mapping[str, Iterable[Import]], known: Iterable[str]) -> list[str]:
    """`importer -> imported` for every import of a kit module that does not exist (a stale name)."""
    known = set(known)
    return [f"{module} -> {imp.target} (line {imp.line}): no such module"
            for module, imports in sorted(graph.items()) for imp in imports if imp.target not in known]


MAY_IMPORT = re.compile(r"^May import\b(.*?)(?:\n\s*\n|\Z)", re.MULTILINE | re.DOTALL)


def docstring_problems(root: Path = KIT) -> list[str]:
    """Every package folder under kit/ has an `__init__.py` whose docstring says what the stage does and, in a
    paragraph starting "May import", what it may import, naming no package the rule forbids."""
    problems: list[str] = []
    folders = sorted({p.parent for p in root.rglob("*.py") if "__pycache__" not in p.parts} - {root})
    for folder in folders:
        init = folder / "__init__.py"
        name = module_name(init, root)
        if not init.is_file():
            problems.append(f"{folder.relative_to(root.parent)}: no __init__.py")
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        what = MAY_IMPORT.split(doc)[0].strip()
        if len(what.split()) < 8:
            problems.append(f"{name}: its docstring does not say what the package does ({what!r})")
        paragraph = MAY_IMPORT.search(doc)
        if paragraph is None:
            problems.append(f"{name}: its docstring has no 'May import: ...' paragraph")
            continue
        own = layer_of(name)
        for named in sorted(set(re.findall(r"\bkit\.([a-z][a-z_]*)", paragraph.group(1)))):
            if named != own and (named not in RANK or own not in RANK or RANK[named] > RANK[own]):
                problems.append(f"{name}: its 'May import' paragraph names kit.{named}, which the rule forbids")
    return problems


def _report(title: str, lines: list[str]) -> str:
    return f"{title} ({len(lines)}), see ARCHITECTURE.md:\n  " + "\n  ".join(lines)


# -- the tests over kit/ -------------------------------------------------------------------------------------------


def test_layers() -> None:
    bad = layer_violations(import_graph())
    assert not bad, _report("imports of a higher layer", bad)


def test_core_imports_only_core() -> None:
    bad = core_violations(import_graph())
    assert not bad, _report("kit.core imports of kit outside kit.core", bad)


def test_no_cycles_within_a_package() -> None:
    cycles = package_cycles(import_graph())
    assert not cycles, _report("module-level import cycles within a package", cycles)


def test_imports_name_existing_modules() -> None:
    bad = missing_modules(import_graph(), kit_modules())
    assert not bad, _report("imports of kit modules that do not exist", bad)


def test_packages_say_what_they_do_and_may_import() -> None:
    problems = docstring_problems()
    assert not problems, _report("package docstrings", problems)


def test_every_package_is_in_the_layer_order() -> None:
    packages = {layer_of(name) for name in kit_modules()} - {None}
    assert packages == set(LAYERS), f"packages {sorted(packages - set(LAYERS))} are not in the layer order; " \
                                    f"layers {sorted(set(LAYERS) - packages)} have no package"


# -- controls: the checks catch what they are for ------------------------------------------------------------------


def test_control_layer_violation_is_reported() -> None:
    graph = {"kit.core.chat": ["kit.core.schema", "kit.recipes"], "kit.recipes.base": ["kit.core.chat"],
             "kit.hub.publish": ["kit.train.card", "kit"], "kit.demo.arena": ["kit.verify.math", "kit.cli"]}
    bad = layer_violations(graph)
    assert any(line.startswith("kit.core.chat -> kit.recipes ") for line in bad), bad
    assert any(line.startswith("kit.hub.publish -> kit.train.card ") for line in bad), bad
    assert any(line.startswith("kit.demo.arena -> kit.cli ") for line in bad), bad
    assert len(bad) == 3, bad
    assert core_violations(graph) == ["kit.core.chat -> kit.recipes (line 0): kit.core imports nothing of kit "
                                      "but kit.core"]
    assert core_violations({"kit.core.sources": ["kit"], "kit.core.chat": ["kit"]}) == [
        "kit.core.chat -> kit (line 0): kit.core imports nothing of kit but kit.core"]


def test_control_cycle_is_reported() -> None:
    graph = {"kit.evaluate.run": [Import("kit.evaluate.details", 3, True)],
             "kit.evaluate.details": [Import("kit.evaluate.run", 5, True)],
             "kit.train.a": [Import("kit.train.b", 1, True)],
             "kit.train.b": [Import("kit.train.a", 9, False)]}  # inside a function: not a load-time cycle
    assert package_cycles(graph) == ["kit.evaluate.details -> kit.evaluate.run -> kit.evaluate.details"]


def test_control_the_parser_sees_every_import(tmp_path: Path) -> None:
    root = tmp_path / "kit"
    (root / "core").mkdir(parents=True)
    (root / "__init__.py").write_text('"""kit"""\n')
    (root / "core" / "__init__.py").write_text('"""core"""\n')
    (root / "core" / "chat.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import schema\n"
        "import kit.core.log as log\n"
        "from kit import recipes\n"
        "if TYPE_CHECKING:\n"
        "    from kit.train import plan\n"
        "def f():\n"
        "    from ..hub.ids import check\n"
        "    import json\n")
    (root / "core" / "schema.py").write_text("")
    (root / "core" / "log.py").write_text("")
    (root / "recipes").mkdir()
    (root / "recipes" / "__init__.py").write_text("")
    (root / "hub").mkdir()
    (root / "hub" / "__init__.py").write_text(
        "import importlib\n_EXPORTS = {'Step': 'kit.generation.steps', 'x': 'kit.hub', 'y': 'kit.nothing'}\n"
        "def __getattr__(name):\n    return importlib.import_module(_EXPORTS[name])\n")
    (root / "generation").mkdir()
    (root / "generation" / "__init__.py").write_text("")
    (root / "generation" / "steps.py").write_text("")
    graph = import_graph(root)
    assert graph["kit.hub"] == [Import("kit.generation.steps", 2, False), Import("kit.hub", 2, False)]
    assert [(i.target, i.module_level) for i in graph["kit.core.chat"]] == [
        ("kit.core.schema", True), ("kit.core.log", True), ("kit.recipes", True), ("kit.train", False),
        ("kit.hub.ids", False)]
    bad = layer_violations(graph)
    assert [line.split(" (")[0] for line in bad] == [
        "kit.core.chat -> kit.recipes", "kit.core.chat -> kit.train", "kit.core.chat -> kit.hub.ids",
        "kit.hub -> kit.generation.steps"]
    assert missing_modules(graph, kit_modules(root)) == [
        "kit.core.chat -> kit.train (line 6): no such module", "kit.core.chat -> kit.hub.ids (line 8): no such module"]
    problems = docstring_problems(root)
    assert "kit.core: its docstring has no 'May import: ...' paragraph" in problems
    assert any(p.startswith("kit.recipes: its docstring does not say") for p in problems)
