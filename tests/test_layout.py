"""The tests mirror the code, and share helpers only through ``tests/support/``.

- A test module (``test_*.py``) sits either at the top of ``tests/`` (what
  crosses packages: the docs, the architecture, faults, released clients) or
  in ``tests/<path>`` where ``<path>`` is a package of the product
  (``lookup_events/registrar``, ``lookup_api/dserver``, ...) or ``infra``.
  ``tests/bench/`` is the benchmark package, with smoke tests of its own.
- Nothing imports a test module or a ``conftest.py``, lazy imports included.
- A ``conftest.py`` defines fixtures (and pytest hooks), nothing else.
- No module of ``tests/support/`` is named like a standard library module: its
  scripts run by path put that directory first on ``sys.path``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
MIRRORED = ("lookup_events", "lookup_api", "lambdas", "infra")
EXEMPT = ("bench",)


def python_files() -> Iterator[Path]:
    """Yield every Python file under ``tests/``."""
    for path in sorted(TESTS.rglob("*.py")):
        if "__pycache__" not in path.parts:
            yield path


def module_name(path: Path) -> str:
    """Return the dotted name of the module at ``path``."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield each import statement of ``path``: its line, and every dotted name it may import."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield node.lineno, [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            yield node.lineno, [base, *(f"{base}.{alias.name}" for alias in node.names)]


def is_test_or_conftest(name: str) -> bool:
    """Tell whether a dotted name is (inside) a test module or a conftest of ours."""
    parts = name.split(".")
    return parts[0] == "tests" and any(
        part == "conftest" or part.startswith("test_") for part in parts
    )


def is_fixture_or_hook(node: ast.stmt) -> bool:
    """Tell whether a top-level statement of a conftest may stand there."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return True  # the docstring
    if not isinstance(node, ast.FunctionDef):
        return False
    if node.name.startswith("pytest_"):
        return True
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if ast.unparse(target) == "pytest.fixture":
            return True
    return False


def test_no_module_imports_a_test_module_or_a_conftest() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {bad[0]}"
        for path in python_files()
        for line, names in imports(path)
        if (bad := [name for name in names if is_test_or_conftest(name)])
    ]
    assert found == []


def test_conftests_define_fixtures_only() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node).splitlines()[0]}"
        for path in python_files()
        if path.name == "conftest.py"
        for node in ast.parse(path.read_text()).body
        if not is_fixture_or_hook(node)
    ]
    assert found == []


def test_every_test_module_mirrors_a_package_or_sits_at_the_top() -> None:
    misplaced = []
    for path in python_files():
        if not path.name.startswith("test_"):
            continue
        where = path.parent.relative_to(TESTS)
        if where == Path() or where.parts[0] in EXEMPT:
            continue
        mirrored = where.parts[0] in MIRRORED and (ROOT / where).is_dir()
        is_package = (ROOT / where / "__init__.py").is_file() or where.parts[0] == "infra"
        if not (mirrored and is_package):
            misplaced.append(str(path.relative_to(ROOT)))
    assert misplaced == []


def test_no_support_module_is_named_like_the_standard_library() -> None:
    support = TESTS / "support"
    names = {path.stem for path in support.rglob("*.py")} | {
        path.name for path in support.rglob("*") if path.is_dir()
    }
    assert sorted(names & set(sys.stdlib_module_names)) == []
