"""Imports point one way: ``serving`` → ``pipelines`` → ``models`` → ``optimize``.

Installed, the four are ``crossplan.serving``, ``crossplan.pipelines``, ``crossplan.models``
and ``crossplan.optimize`` (the folders are mapped into one namespace), and every import of
ours is written so: a bare ``import models`` would take whatever ``models`` comes first on
the path, and is a violation wherever it is.

``serving`` may import the other three; ``pipelines`` imports ``models`` and ``optimize`` (the
planning use-case and the closed-loop evaluation); ``models`` imports nothing of ours but the
forecast-table contract that ``optimize`` owns (``optimize.forecast``) and the calendar of
periods beside it (``optimize.periods``); ``optimize`` imports none of them, and nothing but
``serving`` imports ``serving`` (docs/design.md, "Layers").

Every import counts: at module level, inside functions, under ``TYPE_CHECKING``, relative
ones, and ``importlib.import_module`` / ``__import__`` with a literal name. The checker runs on
the real packages and, to show it can fail, on small package trees written for the test.

One persistence layer: ``serving`` reads and writes the shared database through the
repositories of ``pipelines.database``, never with SQL (docs/design.md, "Shared database"). It
imports neither SQLAlchemy, Alembic nor the tables and migrations, and opens no connection
(``with db.read()``, ``with db.write()``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "crossplan"

# What each package may import of ours (itself included); a dotted entry allows that module
# and its submodules only.
ALLOWED: dict[str, tuple[str, ...]] = {
    "serving": ("serving", "pipelines", "models", "optimize"),
    "pipelines": ("pipelines", "models", "optimize"),
    "models": ("models", "optimize.forecast", "optimize.periods"),
    "optimize": ("optimize",),
}

# What stays inside pipelines.database: SQL, and the tables it is written against.
SQL = (
    "sqlalchemy",
    "alembic",
    f"{NAMESPACE}.pipelines.database.schema",
    f"{NAMESPACE}.pipelines.database.migrations",
)
NO_SQL = "serving"
_NO_SQL_RULE = "serving calls the repositories of pipelines.database, never SQL"
_BARE_RULE = f"write {NAMESPACE}.<package>: installed, our packages live in that namespace"
# ``Database.read()`` and ``Database.write()`` are context managers that open a connection.
_CONNECTIONS = ("read", "write")


@dataclass(frozen=True)
class Violation:
    """An import of a module that the importing package may not import, or, with ``rule``,
    a use of SQL where the rule forbids it (``imported`` is then the module or the call)."""

    file: str
    line: int
    imported: str
    package: str
    rule: str = ""

    def __str__(self) -> str:
        if self.rule == _BARE_RULE:
            return f"{self.file}:{self.line}: {self.package} imports {self.imported} ({self.rule})"
        if self.rule:
            return f"{self.file}:{self.line}: {self.package} uses {self.imported} ({self.rule})"
        allowed = ", ".join(ALLOWED[self.package])
        return (
            f"{self.file}:{self.line}: {self.package} imports {self.imported} "
            f"({self.package} may import only {allowed})"
        )


def _package_of(path: Path, root: Path) -> str:
    """The package the relative imports of the module at ``path`` start from."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join([NAMESPACE, *parts[:-1]])  # a package's __init__ and its modules alike


def _ours(imported: str) -> str | None:
    """``imported`` without the namespace when it is ours (``crossplan.models.x`` →
    ``models.x``), else ``None``."""
    head, _, rest = imported.partition(".")
    return rest if head == NAMESPACE and rest else None


def _is_module(dotted: str, root: Path) -> bool:
    base = root.joinpath(*(_ours(dotted) or dotted).split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _imports(tree: ast.AST, package: str, root: Path) -> Iterator[tuple[int, str]]:
    """``(line, module)`` of every import in ``tree``, relative ones made absolute."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                base = parts[: len(parts) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                # ``from optimize import forecast`` imports the module optimize.forecast
                sub = f"{module}.{alias.name}"
                yield node.lineno, sub if _is_module(sub, root) else module
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            yield node.lineno, node.args[0].value


def _connections(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``(line, call)`` of every ``with X.read()`` / ``with X.write(...)`` in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                call = item.context_expr
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr in _CONNECTIONS
                ):
                    yield node.lineno, f"{ast.unparse(call.func)}()"


def _within(imported: str, modules: tuple[str, ...]) -> bool:
    return any(imported == m or imported.startswith(m + ".") for m in modules)


def _allowed(imported: str, package: str) -> bool:
    return _within(imported, ALLOWED[package])


def layer_violations(root: Path) -> list[Violation]:
    """Every import in the four packages under ``root`` that goes against :data:`ALLOWED`,
    and every import of ours written without the namespace."""
    found = []
    for package in ALLOWED:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            file = str(path.relative_to(root))
            for line, imported in _imports(tree, _package_of(path, root), root):
                if imported.split(".")[0] in ALLOWED:
                    found.append(Violation(file, line, imported, package, _BARE_RULE))
                elif (ours := _ours(imported)) is not None and not _allowed(ours, package):
                    found.append(Violation(file, line, imported, package))
    return found


def sql_violations(root: Path) -> list[Violation]:
    """Every import of :data:`SQL` and every connection opened in :data:`NO_SQL` under
    ``root``."""
    found = []
    for path in sorted((root / NO_SQL).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        file = str(path.relative_to(root))
        for line, imported in _imports(tree, _package_of(path, root), root):
            if _within(imported, SQL):
                found.append(Violation(file, line, imported, NO_SQL, _NO_SQL_RULE))
        for line, call in _connections(tree):
            found.append(Violation(file, line, call, NO_SQL, _NO_SQL_RULE))
    return sorted(set(found), key=lambda v: (v.file, v.line, v.imported))  # once per line


def test_the_packages_keep_the_import_direction() -> None:
    violations = layer_violations(ROOT)
    assert not violations, "imports against the layers:\n" + "\n".join(map(str, violations))


def test_serving_calls_repositories_never_sql() -> None:
    violations = sql_violations(ROOT)
    assert not violations, "SQL outside pipelines.database:\n" + "\n".join(map(str, violations))


def _tree(root: Path, files: dict[str, str]) -> Path:
    """A package tree of the four packages under ``root``, with ``files`` in it."""
    for package in ALLOWED:
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").touch()
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(source, encoding="utf-8")
    # the modules the snippets name, so that ``from X import Y`` can tell a module from a name
    for module in (
        "optimize/forecast.py",
        "optimize/periods.py",
        "optimize/build.py",
        "serving/cli.py",
        "models/panel.py",
        "pipelines/database/schema.py",
    ):
        (root / module).parent.mkdir(parents=True, exist_ok=True)
        (root / module).parent.joinpath("__init__.py").touch()
        (root / module).touch()
    return root


@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        # an import inside a function counts as much as one at the top
        ("optimize/bad.py", "import os\n\n\ndef f():\n    from crossplan.models import panel\n", (5, "crossplan.models.panel")),
        # a relative import that climbs out of pipelines into serving
        ("pipelines/sub/bad.py", "from ...serving import cli\n", (1, "crossplan.serving.cli")),
        # models may read the forecast contract of optimize, not the rest of it
        ("models/bad.py", "from crossplan.optimize.build import build_problem\n", (1, "crossplan.optimize.build")),
        # the optimize package itself is more than the contract
        ("models/bad.py", "from crossplan.optimize import Forecast\n", (1, "crossplan.optimize")),
        # a type-only import is still a dependency
        ("optimize/bad.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import crossplan.serving.cli\n", (3, "crossplan.serving.cli")),
        # an import by name
        ("pipelines/bad.py", "import importlib\nimportlib.import_module('crossplan.serving.cli')\n", (2, "crossplan.serving.cli")),
        # our packages without the namespace: whatever 'models' is first on the path
        ("pipelines/bad.py", "from models import panel\n", (1, "models.panel")),
        ("serving/bad.py", "import optimize.build\n", (1, "optimize.build")),
        # only serving imports serving, even where the rest is allowed
        ("models/bad.py", "from crossplan.serving import cli\n", (1, "crossplan.serving.cli")),
    ],
)  # fmt: skip
def test_the_checker_names_file_line_and_import(
    tmp_path: Path, name: str, source: str, expected: tuple[int, str]
) -> None:
    root = _tree(tmp_path, {name: source})
    line, imported = expected
    assert [(v.file, v.line, v.imported) for v in layer_violations(root)] == [
        (name, line, imported)
    ]
    assert f"{name}:{line}: " in str(layer_violations(root)[0])


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("models/ok.py", "from crossplan.optimize.forecast import FORECAST_COLUMNS\n"),  # the contract
        ("models/ok.py", "from crossplan.optimize import forecast\n"),  # the same, as a module
        ("models/ok.py", "from crossplan.optimize.periods import season_length\n"),  # the calendar
        ("models/ok.py", "from scipy.optimize import minimize\n"),  # not ours
        ("pipelines/ok.py", "from crossplan.models import panel\nimport crossplan.optimize.build\n"),  # downwards
        ("pipelines/sub/ok.py", "from ..sibling import x\nfrom . import y\n"),  # its own
        ("serving/ok.py", "import crossplan.pipelines, crossplan.models, crossplan.optimize, crossplan.serving.cli\n"),  # the top
    ],
)  # fmt: skip
def test_the_checker_lets_allowed_imports_pass(tmp_path: Path, name: str, source: str) -> None:
    assert layer_violations(_tree(tmp_path, {name: source})) == []


@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        # SQLAlchemy itself
        ("serving/bad.py", "import sqlalchemy as sa\n", (1, "sqlalchemy")),
        # a part of it, imported inside a function
        ("serving/sub/bad.py", "def f():\n    from sqlalchemy.orm import Session\n", (2, "sqlalchemy.orm")),
        # the tables
        ("serving/bad.py", "from crossplan.pipelines.database.schema import PlanRow\n", (1, "crossplan.pipelines.database.schema")),
        # the same, as a module
        ("serving/bad.py", "from crossplan.pipelines.database import schema\n", (1, "crossplan.pipelines.database.schema")),
        # the migrations, by name
        ("serving/bad.py", "import importlib\nimportlib.import_module('alembic.command')\n", (2, "alembic.command")),
        # a connection opened to read
        ("serving/bad.py", "def f(db):\n    with db.read() as con:\n        return con\n", (2, "db.read()")),
        # a transaction opened to write, among other context managers
        ("serving/bad.py", "async def f(self, lock):\n    async with lock, self.db.write('plans'):\n        pass\n", (2, "self.db.write()")),
    ],
)  # fmt: skip
def test_the_sql_checker_names_file_line_and_use(
    tmp_path: Path, name: str, source: str, expected: tuple[int, str]
) -> None:
    root = _tree(tmp_path, {name: source})
    line, used = expected
    assert [(v.file, v.line, v.imported) for v in sql_violations(root)] == [(name, line, used)]
    assert str(sql_violations(root)[0]).startswith(f"{name}:{line}: serving uses {used} (")
    assert layer_violations(root) == []  # the layers allow it: only this rule refuses it


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("serving/ok.py", "from crossplan.pipelines.database import PlanStore, list_alerts\n"),  # repositories
        ("serving/ok.py", "ring = keys.read()\nbody = response.read()\n"),  # reads, not connections
        ("serving/ok.py", "with open('f') as f:\n    f.write('x')\n"),  # a file
        ("pipelines/database/ok.py", "import sqlalchemy as sa\nfrom crossplan.pipelines.database.schema import PlanRow\n"),  # the layer itself
        ("pipelines/ok.py", "def f(db):\n    with db.read() as con:\n        return con\n"),  # the layer below
    ],
)  # fmt: skip
def test_the_sql_checker_lets_repository_calls_pass(tmp_path: Path, name: str, source: str) -> None:
    assert sql_violations(_tree(tmp_path, {name: source})) == []


# Small modules, one idea each: a module or a class past these asks to be split.
MAX_MODULE_LINES = 450
MAX_CLASS_LINES = 250


def oversized(root: Path) -> list[str]:
    """Modules of the four packages over :data:`MAX_MODULE_LINES` lines, and classes over
    :data:`MAX_CLASS_LINES`, as ``path: what``."""
    found = []
    for package in ("pipelines", "models", "optimize", "serving"):
        for path in sorted((root / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            where = path.relative_to(root)
            if (lines := len(text.splitlines())) > MAX_MODULE_LINES:
                found.append(f"{where}: {lines} lines")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                    size = node.end_lineno - node.lineno + 1
                    if size > MAX_CLASS_LINES:
                        found.append(f"{where}: class {node.name}, {size} lines")
    return found


def test_modules_and_classes_stay_small() -> None:
    assert oversized(ROOT) == []


def test_the_size_check_finds_a_large_class(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_CLASS_LINES))
    (tmp_path / "serving").mkdir()
    (tmp_path / "serving" / "big.py").write_text(f"class Big:\n{body}\n")
    assert oversized(tmp_path) == [f"serving/big.py: class Big, {MAX_CLASS_LINES + 1} lines"]
