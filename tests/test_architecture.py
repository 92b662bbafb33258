"""The wiring rules, checked on the source itself: no import circle, no import deferred into a
function, lower layers that know no domain, one way to open a transaction, and every domain
package importable on its own in a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import connectorhub

PACKAGE = Path(connectorhub.__file__).parent
# Layers below the domains: they may import each other, never a domain.
INFRASTRUCTURE = {"config", "db", "exceptions", "kit", "worker", "run", "definition", "models"}
COMPOSITION = {"app", "hub", "tasks", "lifecycle", "key_rotation", "cli", "migrations"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "versions" in path.parts:  # frozen migration scripts
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()
DOMAINS = sorted(
    {name.split(".")[1] for name in MODULES if name.count(".") >= 1}
    - INFRASTRUCTURE
    - COMPOSITION
    - {"web"}
)


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module imported, whether inside a function), TYPE_CHECKING blocks included."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for alias in child.names:
                    full = f"{child.module}.{alias.name}"
                    found.append((full if full in MODULES else child.module, in_function))
            elif isinstance(child, ast.Import):
                found.extend((alias.name, in_function) for alias in child.names)
            visit(child, nested)

    visit(ast.parse(path.read_text()), False)
    return [(name, deferred) for name, deferred in found if name.startswith("connectorhub")]


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _layer(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def test_no_module_imports_connectorhub_inside_a_function():
    deferred = [f"{m} → {i}" for m, found in GRAPH.items() for i, inside in found if inside]
    assert deferred == []


def test_no_import_circle():
    edges = {m: {i for i, _ in found if i in MODULES} for m, found in GRAPH.items()}
    state: dict[str, str] = {}
    circles: list[list[str]] = []

    def walk(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                circles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                walk(target, [*trail, target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            walk(module, [module])
    assert circles == []


def test_lower_layers_import_no_domain_nor_the_composition():
    crossing = [
        f"{m} → {i}"
        for m, found in GRAPH.items()
        if _layer(m) in INFRASTRUCTURE - {"models"}  # models.py lists every domain's tables
        for i, _ in found
        if _layer(i) not in INFRASTRUCTURE
    ]
    assert crossing == []


def test_domains_never_import_the_composition_root_except_for_the_hub_type():
    crossing = [
        f"{m} → {i}"
        for m, found in GRAPH.items()
        if _layer(m) in DOMAINS
        for i, _ in found
        if _layer(i) in COMPOSITION - {"hub"}
    ]
    assert crossing == []


def test_transactions_are_opened_only_by_the_unit_of_work():
    """Raw sessions (`sessionmaker()`, `session.begin()`) only in db.py; everyone else uses
    `UnitOfWork`, which binds the workspace and queues deferred jobs after the commit."""
    opened = []
    for name, path in MODULES.items():
        if name in {"connectorhub.db", "connectorhub.migrations.runner"}:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"begin", "sessionmaker", "_sessionmaker"}
            ):
                opened.append(f"{name}:{node.lineno}")
    assert opened == []


def _import_alone(package: str) -> tuple[str, str]:
    modules = sorted(m for m in MODULES if m == package or m.startswith(package + "."))
    code = "".join(f"import {m}\n" for m in modules if m != "connectorhub.migrations.env")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return package, done.stderr.strip().splitlines()[-1] if done.returncode else ""


@pytest.mark.slow
def test_every_domain_package_imports_alone_in_a_fresh_interpreter():
    packages = [f"connectorhub.{d}" for d in DOMAINS] + ["connectorhub.worker", "connectorhub.kit"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = {p: error for p, error in pool.map(_import_alone, packages) if error}
    assert failures == {}
    assert "connectorhub.execution" in packages and "connectorhub.sync" in packages
