"""Issue 21: no import cycles among bsingest's and extractors' modules, counting imports
inside functions and under ``TYPE_CHECKING``; extractors depend on the record-type leaf,
the errors and the quantities only, never on the wire form or the client.

The graph is read from the source with ``ast`` (nothing is imported). The local server
(``bsingest/server``) is in the check since its store was split from its app.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

PACKAGES = ("bsingest", "extractors")
WITH_SERVER = True  # False leaves bsingest/server out (for bisecting a cycle there)
#: What extractors may import of bsingest (besides their own package).
EXTRACTORS_MAY_USE = frozenset({"bsingest", "bsingest.recordtypes", "bsingest.errors",
                                "bsingest.quantities"})
#: Imports of bsingest.records from extractors still there: the other half of issue 21
#: (the extractors' type names) removes them; this set may only shrink.
EXTRACTORS_KNOWN = frozenset({("extractors.base", "bsingest.records"),
                              ("extractors._mri", "bsingest.records")})


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        # Where the package is imported from: the checkout, or the installed wheel (CI runs
        # this suite against both).
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.origin is not None, package
        root = Path(spec.origin).parent
        for path in root.rglob("*.py"):
            parts = [package, *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join(parts)
            if not WITH_SERVER and name.startswith("bsingest.server"):
                continue
            found[name] = path
    return found


def _imported(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".")
        if path.name != "__init__.py":
            base = base[:-1]
        base = base[:len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    # ``from . import x`` may name a module: count both the package and its member.
    return [prefix, *(f"{prefix}.{alias.name}" for alias in node.names)]


def graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (anywhere in its source)."""
    modules = _modules()
    edges: dict[str, set[str]] = {}
    for module, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for name in _imported(module, path, node):
                    while name and name not in modules:
                        name = name.rpartition(".")[0]
                    if name and name != module and not module.startswith(f"{name}."):
                        deps.add(name)
        edges[module] = deps
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_imports_inside_functions() -> None:
    edges = graph()
    assert "bsingest.details" in edges["bsingest.generations"]  # a module-level import
    assert "bsingest.ids" in edges["bsingest.sessionconfig"]  # inside check_ids


def test_no_import_cycles() -> None:
    assert _cycles(graph()) == []


def test_extractors_use_the_leaf_not_the_wire_form() -> None:
    edges = graph()
    used = {(module, dep) for module, deps in edges.items() if module.startswith("extractors")
            for dep in deps if dep.startswith("bsingest")}
    wrong = {pair for pair in used if pair[1] not in EXTRACTORS_MAY_USE}
    assert wrong <= EXTRACTORS_KNOWN, sorted(wrong - EXTRACTORS_KNOWN)


def test_no_command_imports_another_command() -> None:
    """The options several commands share live in ``bsingest/cli/options.py``: a ``cmd_*``
    module imports no other ``cmd_*`` module (inside functions neither)."""
    edges = graph()
    commands = {m for m in edges if m.startswith("bsingest.cli.cmd_")}
    assert {"bsingest.cli.cmd_ingest", "bsingest.cli.cmd_batch"} <= commands
    assert "bsingest.cli.options" in edges["bsingest.cli.cmd_batch"]  # the graph sees them
    wrong = sorted((m, d) for m in commands for d in edges[m] if d in commands)
    assert wrong == []
