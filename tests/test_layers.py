"""The shape of the code, checked: no import cycle between modules or between packages, and the
layers (http → services → repositories → db; the recorder independent of the server) hold.
Imports are read from the source with ``ast`` (those under ``TYPE_CHECKING`` and inside
functions included), so a cycle cannot hide behind a late import."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
ROOT = SRC / "reckit"


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.add(full if full in MODULES else target)
    # A module's own package (its __init__) is not a dependency worth a cycle.
    return {m for m in found if m in MODULES and m != name and not name.startswith(m + ".")}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def package_of(name: str) -> str:
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 and (ROOT / parts[1]).is_dir() else name


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(iter(children), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules() -> None:
    assert _cycles(GRAPH) == []


def test_no_import_cycle_between_packages() -> None:
    packages: dict[str, set[str]] = {package_of(m): set() for m in GRAPH}
    for module, targets in GRAPH.items():
        for target in targets:
            if package_of(target) != package_of(module):
                packages[package_of(module)].add(package_of(target))
    assert _cycles(packages) == []


def _offenders(
    sources: Iterable[str], allowed: Iterable[str] = (), forbidden: Iterable[str] = ()
) -> list[str]:
    allowed, forbidden = tuple(allowed), tuple(forbidden)
    bad = []
    for module in sources:
        for target in sorted(GRAPH[module]):
            within = any(target == a or target.startswith(a + ".") for a in allowed)
            banned = any(target == f or target.startswith(f + ".") for f in forbidden)
            if (allowed and not within) or banned:
                bad.append(f"{module} -> {target}")
    return bad


def test_the_recorder_is_independent_of_the_server() -> None:
    """reckit.recorder talks to reckit over HTTP only: it runs on its own machine too."""
    recorder = [m for m in GRAPH if package_of(m) == "reckit.recorder"]
    assert recorder
    assert _offenders(recorder, allowed=("reckit.recorder", "reckit.ids")) == []


def test_the_store_knows_nothing_above_it() -> None:
    db = [m for m in GRAPH if package_of(m) == "reckit.db"]
    assert _offenders(db, allowed=("reckit.db", "reckit.errors")) == []


def test_repositories_call_no_service_and_no_http() -> None:
    repositories = [m for m in GRAPH if m.rpartition(".")[2] in ("repository", "live_repository")]
    assert len(repositories) >= 6
    services = sorted({m for m in GRAPH if m.endswith(".service")})
    assert _offenders(repositories, forbidden=(*services, "reckit.http", "reckit.cli")) == []


def test_nothing_below_http_knows_http_or_the_command_line() -> None:
    below = [
        m for m in GRAPH if package_of(m) not in ("reckit.http", "reckit.cli") and m != "reckit.cli"
    ]
    assert _offenders(below, forbidden=("reckit.http", "reckit.cli")) == []


TESTS = Path(__file__).resolve().parent
NOT_MIRRORS = {"support", "emulators"}  # helpers of the tests, the emulators' npm packages


def test_the_tests_mirror_the_source() -> None:
    """A test module lives in the folder of the package it tests (tests/recordings/ for
    reckit/recordings/), or at the top for reckit's top-level modules and the whole project;
    every folder of tests names a package of reckit."""
    folders = {p.name for p in TESTS.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert sorted(folders - NOT_MIRRORS - packages) == []
    assert all((TESTS / name / "__init__.py").exists() for name in folders - {"emulators"})
