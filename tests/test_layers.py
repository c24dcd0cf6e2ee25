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

No circles: no module of ours imports, through any chain of imports, a module that imports
it back, under ``TYPE_CHECKING`` included (a type-only circle still ties the modules into
one, and is one refactoring away from an import error).

One act, one transaction: a route of ``serving/routes`` makes at most one write of
``pipelines.database`` (see :func:`second_transactions`).

One persistence layer: ``serving`` reads and writes the shared database through the
repositories of ``pipelines.database``, never with SQL (docs/design.md, "Shared database"). It
imports neither SQLAlchemy, Alembic nor the tables and migrations, and opens no connection
(``with db.read()``, ``with db.write()``).
"""

from __future__ import annotations

import ast
import itertools
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


def _module_name(path: Path, root: Path) -> str:
    """The dotted name of the module at ``path`` (a package by its ``__init__``)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join([NAMESPACE, *(parts[:-1] if parts[-1] == "__init__" else parts)])


def module_graph(root: Path) -> dict[str, dict[str, str]]:
    """Every module of the four packages under ``root`` → the modules of ours it imports,
    each with where (``file:line``).

    An import names one module: ``from crossplan.a import b`` the module ``a.b`` when it is
    one, else the package ``a``; a name that is no module counts as the nearest module that
    holds it. The parent packages Python runs first are not counted: a package's
    ``__init__`` that gathers its own modules is no circle with them.
    """
    files = {
        _module_name(path, root): path
        for package in ALLOWED
        for path in sorted((root / package).rglob("*.py"))
    }
    graph: dict[str, dict[str, str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges = graph.setdefault(name, {})
        for line, imported in _imports(tree, _package_of(path, root), root):
            target = imported
            while target and target not in files:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges.setdefault(target, f"{path.relative_to(root)}:{line}")
    return graph


def import_cycles(root: Path) -> list[str]:
    """One circle of imports per group of modules that import each other, as
    ``a -> b (file:line) -> ... -> a (file:line)``; empty when the imports form no circle."""
    graph = module_graph(root)
    found = []
    for group in _strongly_connected(graph):
        if len(group) < 2:
            continue
        first = min(group)
        path = _path_back(graph, first, group)
        steps = [first] + [f"{b} ({graph[a][b]})" for a, b in itertools.pairwise(path)]
        found.append(" -> ".join(steps))
    return sorted(found)


def _strongly_connected(graph: dict[str, dict[str, str]]) -> list[set[str]]:
    """Tarjan's strongly connected components of ``graph``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _path_back(graph: dict[str, dict[str, str]], start: str, group: set[str]) -> list[str]:
    """A shortest chain of imports from ``start`` back to it, within ``group``."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for other in sorted(graph[node]):
                if other not in group or other in came_from:
                    continue
                came_from[other] = node
                if other == start:
                    path = [start]
                    while path[-1] != start or len(path) == 1:
                        path.append(came_from[path[-1]])
                    return path[::-1]
                following.append(other)
        frontier = following
    raise AssertionError(f"{start} is in a circle but no chain leads back to it")


def test_no_module_imports_itself_back() -> None:
    cycles = import_cycles(ROOT)
    assert not cycles, "circles of imports:\n" + "\n".join(cycles)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # two modules that import each other
        ({"serving/a.py": "import crossplan.serving.b\n", "serving/b.py": "from crossplan.serving import a\n"},
         "crossplan.serving.a -> crossplan.serving.b (serving/a.py:1) -> crossplan.serving.a (serving/b.py:1)"),
        # the way back only for the type checker: a circle still
        ({"serving/api.py": "from crossplan.serving.routes import x\n",
          "serving/routes/x.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from crossplan.serving.api import Y\n"},
         "crossplan.serving.api -> crossplan.serving.routes.x (serving/api.py:1) -> crossplan.serving.api (serving/routes/x.py:4)"),
        # three modules, the last inside a function and relative
        ({"optimize/a.py": "from crossplan.optimize.b import f\n", "optimize/b.py": "import crossplan.optimize.c\n",
          "optimize/c.py": "def g():\n    from .a import h\n"},
         "crossplan.optimize.a -> crossplan.optimize.b (optimize/a.py:1) -> crossplan.optimize.c (optimize/b.py:1) -> crossplan.optimize.a (optimize/c.py:2)"),
    ],
)  # fmt: skip
def test_the_cycle_checker_finds_a_circle(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    assert import_cycles(_tree(tmp_path, files)) == [expected]


def test_the_cycle_checker_lets_a_package_gather_its_modules(tmp_path: Path) -> None:
    files = {
        # the package's __init__ re-exports its modules, which import each other by name
        "pipelines/store/__init__.py": "from crossplan.pipelines.store.rows import R\nfrom .plans import P\n",
        "pipelines/store/rows.py": "R = 1\n",
        "pipelines/store/plans.py": "from crossplan.pipelines.store.rows import R\nP = R\n",
        "serving/top.py": "from crossplan.pipelines.store import P\n",
    }  # fmt: skip
    assert import_cycles(_tree(tmp_path, files)) == []


def policies_built_in_routes(root: Path) -> list[str]:
    """Every ``SharingPolicy(...)`` made in ``serving/routes``, as ``file:line``: an endpoint
    takes what its caller may read as ``PolicyDep`` (``serving.deps``), the one way to it."""
    found = []
    for path in sorted((root / "serving" / "routes").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("SharingPolicy"):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_routes_take_the_policy_as_a_dependency(tmp_path: Path) -> None:
    assert policies_built_in_routes(ROOT) == []
    bad = "from crossplan.serving import sharing\n\ndef f(p, who):\n    return sharing.SharingPolicy(p, who)\n"
    assert policies_built_in_routes(_tree(tmp_path, {"serving/routes/bad.py": bad})) == [
        "serving/routes/bad.py:4"
    ]


# Acts of their own a route may make before its act: expiring the joint operations past
# their deadline, which every path of /operations does first (each expiry commits alone).
SEPARATE_ACTS = frozenset({"expire_due"})


def database_writes(root: Path) -> set[str]:
    """Names of the functions and methods of ``pipelines/database`` that write: whose body
    enters ``with <x>.write(...)``, or calls one that does as a plain function (``f(...)``;
    a method call ``x.add(...)`` is not followed there, ``set.add`` being no write)."""
    bodies: dict[str, list[ast.AST]] = {}
    for path in sorted((root / "pipelines" / "database").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                bodies.setdefault(node.name, []).append(node)
    writes = {
        name
        for name, nodes in bodies.items()
        if any(call.endswith(".write()") for node in nodes for _, call in _connections(node))
    }
    while True:
        more = {
            name
            for name, nodes in bodies.items()
            if name not in writes and any(_called(node, methods=False) & writes for node in nodes)
        }
        if not more:
            return writes
        writes |= more


def _called(node: ast.AST, methods: bool = True) -> set[str]:
    """The names ``node`` calls: ``f(...)``, and ``x.f(...)`` as ``f`` too (``methods``)."""
    kinds = (ast.Name, ast.Attribute) if methods else (ast.Name,)
    return {
        call.func.id if isinstance(call.func, ast.Name) else call.func.attr
        for call in ast.walk(node)
        if isinstance(call, ast.Call) and isinstance(call.func, kinds)
    }


def second_transactions(root: Path) -> list[str]:
    """Routes that write in more than one transaction for one act, as ``file:line: route
    writes a, b``.

    The rule: a route of ``serving/routes`` (a function decorated ``@router.<method>(...)``),
    with the functions of its own module it calls, followed to the end, calls at most one
    write of ``pipelines.database`` (:func:`database_writes`; a call counts by its name, so
    ``svc.store.add(...)`` is ``PlanStore.add``), besides :data:`SEPARATE_ACTS`. Each such
    write is one transaction (the database's unit of work), so an act whose writes belong
    together — a plan and its audit event, a submission and the alerts it owes, a revert and
    its event — is one call. Calls into ``serving`` modules are not followed: the service's
    own work (raising owed alerts, setting a submission aside) is an act of its own.
    """
    writes = database_writes(root) - SEPARATE_ACTS
    found = []
    for path in sorted((root / "serving" / "routes").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = {
            node.name: node
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        for name, node in functions.items():
            if not any(_is_route(d) for d in node.decorator_list):
                continue
            seen, todo, made = {name}, [node], set()
            while todo:
                called = _called(todo.pop())
                made |= called & writes
                for helper in sorted(called & functions.keys() - seen):
                    seen.add(helper)
                    todo.append(functions[helper])
            if len(made) > 1:
                where = f"{path.relative_to(root)}:{node.lineno}"
                found.append(f"{where}: {name} writes {', '.join(sorted(made))}")
    return found


def _is_route(decorator: ast.expr) -> bool:
    return (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and ast.unparse(decorator.func.value).endswith("router")
    )


def test_a_route_commits_its_act_in_one_transaction() -> None:
    assert database_writes(ROOT) >= {"submit_incidents", "revert_submission", "set_aside", "add"}
    found = second_transactions(ROOT)
    assert not found, "routes writing one act in several transactions:\n" + "\n".join(found)


_WRITES = """\
def revert_submission(db, sid):
    with db.write("submissions") as con:
        return con
def record_event(db, *what):
    with db.write() as con:
        return con
def expire_due(db):
    with db.write() as con:
        return con
def audited(db):
    return record_event(db, "x")
"""


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        # the revert and its event in two transactions, the second through a helper
        ("def _event(db):\n    record_event(db, 'revert')\n\n@router.post('/r')\ndef r(db):\n    revert_submission(db, 1)\n    _event(db)\n",
         ["serving/routes/bad.py:5: r writes record_event, revert_submission"]),
        # a write of the layer that itself calls a write counts as a write
        ("@router.post('/r')\nasync def r(db):\n    audited(db)\n    revert_submission(db, 1)\n",
         ["serving/routes/bad.py:2: r writes audited, revert_submission"]),
        # one write, after the expiry that is an act of its own: one transaction for the act
        ("@router.post('/r')\ndef r(db):\n    expire_due(db)\n    revert_submission(db, 1)\n", []),
        # two writes in a function that is no route
        ("def r(db):\n    revert_submission(db, 1)\n    record_event(db)\n", []),
    ],
)  # fmt: skip
def test_the_transaction_rule_flags_a_second_write(
    tmp_path: Path, route: str, expected: list[str]
) -> None:
    header = "from fastapi import APIRouter\nrouter = APIRouter()\n"
    root = _tree(
        tmp_path,
        {"pipelines/database/acts.py": _WRITES, "serving/routes/bad.py": header + route},
    )
    # the line numbers of the expected findings count from the route's source
    shifted = [
        f"{f.split(':')[0]}:{int(f.split(':')[1]) + 2}:{f.split(':', 2)[2]}" for f in expected
    ]
    assert second_transactions(root) == shifted


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
