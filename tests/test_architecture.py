"""docs/architecture.md is true: its dependency rules hold, its tree lists every module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("lookup_events", "lookup_api", "lambdas")
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()

# part -> module prefixes; the first match wins, so narrow ones come first.
PARTS = (
    ("core", ("config", "errors", "model", "uris", "events")),
    ("support", ("keys", "tokens", "versions")),
    ("observability", ("observability",)),
    ("services", ("services",)),
    ("store", ("store",)),
    ("storage", ("storage",)),
    ("queue", ("queue",)),
    ("registrar", ("registrar",)),
    ("sources", ("sources",)),
    ("subscriptions", ("subscriptions",)),
    ("legacy_import", ("legacy_import",)),
    ("cli", ("cli",)),
)
# part -> the parts it may import (itself always).
ALLOWED = {
    "core": {"core"},
    "support": {"core"},
    "observability": {"core"},
    "store": {"core"},
    "storage": {"core"},
    "queue": {"core", "observability"},
    "sources": {"core", "storage", "queue", "observability"},
    "registrar": {"core", "support", "storage", "store", "queue", "observability"},
    "subscriptions": {"core", "store", "observability"},
    "legacy_import": {"core", "registrar", "storage", "store"},
    "services": {"core", "support", "storage", "store", "queue", "registrar", "sources"}
    | {"subscriptions", "observability"},
    "cli": {"core", "support", "services", "storage", "store", "queue", "registrar"}
    | {"sources", "legacy_import", "api", "subscriptions", "observability"},
    "api": {"core", "support", "store", "queue", "registrar", "sources", "services"}
    | {"subscriptions", "observability"},
    "lambdas": {"core", "support", "services", "store", "registrar", "sources", "api"},
}
# Only entry points assemble: the packages services.py builds never import it.
SERVICES_USERS = ("lookup_events.cli", "lookup_api.app", "lambdas")


def part_of(module: str) -> str:
    """Return the part of the architecture a dotted module name belongs to."""
    if module.startswith("lookup_api"):
        return "api"
    if module.startswith("lambdas"):
        return "lambdas"
    name = module.removeprefix("lookup_events.")
    for part, prefixes in PARTS:
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return part
    return "package"  # lookup_events/__init__.py


def modules() -> dict[str, Path]:
    """Return every module of ours by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(module: str, path: Path) -> Iterator[str]:
    """Yield every module of ours that ``module`` imports, lazily or not."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def graph() -> dict[str, set[str]]:
    """Return module -> the modules of ours it imports."""
    known = modules()
    edges: dict[str, set[str]] = {}
    for module, path in known.items():
        targets = set()
        for imported in imports_of(module, path):
            target = imported
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module and target.split(".")[0] in PACKAGES:
                targets.add(target)
        edges[module] = targets
    return edges


def test_every_import_follows_the_dependency_rules() -> None:
    broken = []
    for module, targets in graph().items():
        mine = part_of(module)
        for target in targets:
            theirs = part_of(target)
            if theirs in {mine, "package"} or mine not in ALLOWED:
                continue
            if theirs not in ALLOWED[mine]:
                broken.append(f"{module} -> {target} ({mine} may not import {theirs})")
    assert broken == []


def test_only_entry_points_import_the_composition_root() -> None:
    users = [m for m, targets in graph().items() if "lookup_events.services" in targets]
    assert users, "someone must ask services.py"
    assert [m for m in users if not m.startswith(SERVICES_USERS)] == []


def test_there_is_no_import_cycle() -> None:
    edges = graph()
    cycles = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        for target in sorted(edges[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(edges):
        visit(module, [])
    assert cycles == []


def tree_paths() -> set[str]:
    """Return the paths the architecture page's package tree lists, one per line."""
    block = ARCHITECTURE.split("## The packages", 1)[1].split("```")[1]
    stack: list[str] = []
    listed = set()
    for line in block.splitlines():
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip())) // 2
        name = line.split()[0]
        stack = [*stack[:depth], name]
        listed.add("".join(stack) if name.endswith("/") else "/".join(s.strip("/") for s in stack))
    return listed


def test_the_architecture_tree_lists_every_module_once_per_line() -> None:
    listed = tree_paths()
    expected = set()
    for path in modules().values():
        relative = path.relative_to(ROOT).as_posix()
        if "/migrations/" in relative:
            continue
        if path.name == "__init__.py" and relative not in listed:
            relative = relative.removesuffix("__init__.py")  # the package line stands for it
        expected.add(relative)
    files = {entry for entry in listed if entry.endswith(".py")}
    packages = {entry for entry in listed if entry.endswith("/")}
    assert sorted(expected - files - packages) == []  # every module has its line
    assert sorted(files - expected) == []  # no line names a module that is gone
