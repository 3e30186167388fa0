"""The local server's modules import downwards only: the store under its two API modules.

The graph is read from the source with :mod:`ast`, so an import inside a function (the
usual way to hide a cycle from Python's import machinery) counts as much as one at the top,
and so does one under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bsingest.server

PACKAGE = "bsingest.server"
# The package as imported (the checkout, or the installed wheel): its source is read, not run.
SERVER = Path(bsingest.server.__file__).resolve().parent


def _module_of(path: Path) -> str:
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


def imports_of(source: str, module: str, is_package: bool, known: set[str]
               ) -> dict[str, set[str]]:
    """Module of ``known`` -> the names imported from it by ``source`` (anywhere in it).

    ``import a.b`` imports nothing by name (the empty set); ``from . import x`` where ``x``
    is a module of ``known`` is an import of that module.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    found.setdefault(alias.name, set())
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in known:
                    found.setdefault(sub, set())
                elif target in known:
                    found.setdefault(target, set()).add(alias.name)
    found.pop(module, None)
    return found


def server_graph() -> dict[str, dict[str, set[str]]]:
    """Each module of bsingest/server -> the server modules it imports -> names taken."""
    paths = sorted(SERVER.glob("*.py"))
    known = {_module_of(p) for p in paths}
    return {_module_of(p): imports_of(p.read_text("utf-8"), _module_of(p),
                                      p.stem == "__init__", known) for p in paths}


def cycle(graph: dict[str, dict[str, set[str]]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
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


def test_the_reader_counts_imports_inside_functions_and_type_checking() -> None:
    known = {"bsingest.server.app", "bsingest.server.current", "bsingest.server.store"}
    source = ("from typing import TYPE_CHECKING\n"
              "from .store import Store\n"
              "if TYPE_CHECKING:\n    from .current import CurrentApi\n"
              "def f():\n    from . import app\n    import bsingest.server.store\n")
    assert imports_of(source, "bsingest.server.x", False, known) == {
        "bsingest.server.store": {"Store"}, "bsingest.server.current": {"CurrentApi"},
        "bsingest.server.app": set()}
    # Relative imports of a package's __init__ resolve inside the package.
    assert imports_of("from .store import Ctx\n", PACKAGE, True, known) == {
        "bsingest.server.store": {"Ctx"}}


def test_the_cycle_finder_finds_a_cycle_and_no_false_one() -> None:
    assert cycle({"a": {"b": set()}, "b": {"c": set()}, "c": {"a": set()}}) == \
        ["a", "b", "c", "a"]
    assert cycle({"a": {"b": set(), "c": set()}, "b": {"c": set()}, "c": {}}) is None


def test_the_server_modules_import_without_a_cycle() -> None:
    graph = server_graph()
    assert {"bsingest.server.app", "bsingest.server.current",
            "bsingest.server.store"} <= set(graph)
    assert cycle(graph) is None


def test_the_store_sits_under_both_api_modules() -> None:
    graph = server_graph()
    store = graph["bsingest.server.store"]
    assert "bsingest.server.app" not in store and "bsingest.server.current" not in store
    assert "bsingest.server.store" in graph["bsingest.server.app"]
    assert "bsingest.server.store" in graph["bsingest.server.current"]


@pytest.mark.parametrize(("importer", "imported"), [
    ("bsingest.server.current", "bsingest.server.app"),
    ("bsingest.server.app", "bsingest.server.current"),
])
def test_neither_api_module_takes_the_others_privates(importer: str, imported: str) -> None:
    names = server_graph()[importer].get(imported, set())
    assert not [n for n in names if n.startswith("_")], names


def test_the_current_api_needs_nothing_of_the_2023_one() -> None:
    assert "bsingest.server.app" not in server_graph()["bsingest.server.current"]
