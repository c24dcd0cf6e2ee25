"""The design notes (docs/design.md) stay in step with the code.

* Their table of the environment variables, and the README's, is generated from the
  docstring of :mod:`serving.settings`, the one object that reads them (each default from
  the constant the docstring names):
  ``python tests/test_docs.py`` rewrites both, and a test fails when one differs; another
  fails when a module other than the settings reads the environment.
* Every ``CROSSPLAN_*`` variable the packages read is named in the notes.
* Pointers into the notes (the path and a heading in double quotes, or the path and an
  ``#anchor``) name headings that exist, and no file points at the design file the notes
  replaced.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "design.md"
README = ROOT / "README.md"
SETTINGS = ROOT / "serving" / "settings.py"
PACKAGES = ("pipelines", "models", "optimize", "serving")

BEGIN = "<!-- BEGIN settings table: generated from serving/settings.py by `python tests/test_docs.py` -->"
END = "<!-- END settings table -->"

# The design file outside the repository that docs/design.md replaced (spelt in two parts so
# that this file does not name it).
OLD_DESIGN = "DESIGN" + ".md"
# Files allowed to name it: none.
NOT_YET_POINTED: set[str] = set()
_SKIP_DIRS = {".git", ".venv", ".venv-peers", ".crossplan", "mlruns", "test-artifacts",
              "node_modules", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache",
              ".hypothesis", "build", "vendor"}  # fmt: skip
_POINTER = re.compile(r'docs/design\.md(?:#([a-z0-9-]+)|,?\s+"([^"]+)")')


def settings_rows(source: str) -> list[tuple[str, str]]:
    """``(variable, meaning)`` of each row of the table in a module docstring.

    The table is reStructuredText's simple table: rows between ``====`` rules, the variable
    in double back-quotes at the start of a row, the meaning after it and on the indented
    lines that follow.
    """
    doc = ast.get_docstring(ast.parse(source)) or ""
    lines = doc.splitlines()
    rules = [i for i, line in enumerate(lines) if re.fullmatch(r"=+\s+=+", line.strip())]
    if len(rules) < 2:
        raise ValueError("no table of variables in the docstring of serving/settings.py")
    rows: list[tuple[str, str]] = []
    for line in lines[rules[0] + 1 : rules[1]]:
        start = re.match(r"``(\w+)``\s*(.*)", line)
        if start:
            rows.append((start.group(1), start.group(2).strip()))
        elif line.strip() and rows:
            name, meaning = rows[-1]
            rows[-1] = (name, f"{meaning} {line.strip()}")
    return rows


_DEFAULT = re.compile(r":data:`(\w+)`")


def _default(match: re.Match[str]) -> str:
    """A default the docstring names (``:data:`SUPPRESS_BELOW```) as the value the settings
    module gives it: each default is written once, in the code."""
    value = getattr(importlib.import_module("crossplan.serving.settings"), match.group(1))
    return f"``{value}``" if isinstance(value, str) else str(value)


def settings_table(source: str) -> str:
    """The markdown table of :func:`settings_rows`, between the generated block's markers,
    with each default the rows name by its constant written as its value."""
    body = [
        f"| `{name}` | {_DEFAULT.sub(_default, meaning).replace('``', '`')} |"
        for name, meaning in settings_rows(source)
    ]
    return "\n".join([BEGIN, "| variable | what it sets |", "|---|---|", *body, END])


def _block(text: str) -> str:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise AssertionError(f"a document lost its generated block ({BEGIN} ... {END})")
    return text[start : end + len(END)]


def write_settings_table() -> None:
    """Rewrite the generated table in docs/design.md and README.md from serving/settings.py."""
    table = settings_table(SETTINGS.read_text(encoding="utf-8"))
    for document in (DESIGN, README):
        text = document.read_text(encoding="utf-8")
        document.write_text(text.replace(_block(text), table), encoding="utf-8")


def _files(*suffixes: str) -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        skipped = _SKIP_DIRS & set(parts[:-1]) or parts[0].endswith(".egg-info")
        if path.suffix in suffixes and path.is_file() and not skipped:
            found.append(path)
    return sorted(found)


def _headings() -> set[str]:
    return {
        line.lstrip("#").strip()
        for line in DESIGN.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_settings_tables_match_the_settings_docstring() -> None:
    table = settings_table(SETTINGS.read_text(encoding="utf-8"))
    for document in (DESIGN, README):
        assert _block(document.read_text(encoding="utf-8")) == table, (
            f"{document.name}'s table of environment variables differs from the docstring of "
            "serving/settings.py — fix: python tests/test_docs.py"
        )


def test_the_settings_docstring_names_each_default_by_its_constant() -> None:
    # A number written in the docstring would be a second home of the default.
    rows = settings_rows(SETTINGS.read_text(encoding="utf-8"))
    written = [name for name, meaning in rows if re.search(r"default:? ``?\d", meaning)]
    assert not written, f"defaults written as numbers, not as :data:`CONSTANT`: {written}"
    table = settings_table(SETTINGS.read_text(encoding="utf-8"))
    from crossplan.serving import settings

    assert f"hidden from other agencies (default {settings.SUPPRESS_BELOW})" in table
    assert f"(default `{settings.SERVICE_URL}`)" in table


def test_every_variable_the_packages_read_is_documented() -> None:
    design = DESIGN.read_text(encoding="utf-8")
    read = {
        node.value: str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"CROSSPLAN_[A-Z0-9_]+", node.value)
    }
    missing = {name: where for name, where in read.items() if f"`{name}`" not in design}
    assert not missing, f"variables read but not in docs/design.md: {missing}"


# The only modules that read the environment: the settings object, and the three variables
# the pipelines read without the service (pipelines/home.py, which the settings object calls).
ENVIRONMENT_READERS = {"serving/settings.py", "pipelines/home.py"}


def _reads_the_environment(tree: ast.AST) -> list[int]:
    """Lines of ``os.environ[...]``, ``os.environ.get(...)`` and ``os.getenv(...)``."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript | ast.Call):
            target = node.value if isinstance(node, ast.Subscript) else node.func
            text = ast.unparse(target)
            if text in ("os.environ", "os.environ.get", "os.getenv", "environ.get", "getenv"):
                lines.append(node.lineno)
    return lines


def test_only_the_settings_object_reads_the_environment() -> None:
    readers = {
        f"{path.relative_to(ROOT)}:{line}"
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if str(path.relative_to(ROOT)) not in ENVIRONMENT_READERS
        for line in _reads_the_environment(ast.parse(path.read_text(encoding="utf-8")))
    }
    assert not readers, f"read the environment outside serving/settings.py: {sorted(readers)}"


def test_the_environment_check_finds_a_read() -> None:
    tree = ast.parse(
        "import os\nA = os.environ.get('X')\nB = os.environ['Y']\nC = dict(os.environ)"
    )
    assert _reads_the_environment(tree) == [2, 3]  # copying the environment is not reading it


def test_no_file_points_at_the_old_design_file() -> None:
    pointing = [
        str(path.relative_to(ROOT))
        for path in _files(".py", ".md", ".js", ".html")
        if OLD_DESIGN in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert sorted(set(pointing) - NOT_YET_POINTED) == [], (
        f"point these at docs/design.md (with the section) instead of {OLD_DESIGN}"
    )


def test_pointers_into_the_design_notes_name_real_headings() -> None:
    headings = _headings()
    anchors = {_anchor(h) for h in headings}
    broken = []
    for path in _files(".py", ".md", ".js", ".html"):
        text = path.read_text(encoding="utf-8", errors="replace")
        for anchor, heading in _POINTER.findall(" ".join(text.split())):
            if (anchor and anchor not in anchors) or (heading and heading not in headings):
                broken.append(f"{path.relative_to(ROOT)}: {anchor or heading}")
    assert not broken, f"pointers to headings docs/design.md does not have: {broken}"


def test_the_notes_state_the_coverage_window_the_code_holds() -> None:
    from crossplan.pipelines.conventions import COVERAGE_WINDOW

    for document in (DESIGN, README):
        text = " ".join(document.read_text(encoding="utf-8").split())
        assert f"80% coverage is within {COVERAGE_WINDOW}" in text or (
            f"80% coverage against observed counts within {COVERAGE_WINDOW}" in text
        ), f"{document.name} does not state the coverage window {COVERAGE_WINDOW}"


def test_the_readme_links_the_design_notes() -> None:
    assert "(docs/design.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


if __name__ == "__main__":
    write_settings_table()
    sys.exit(0)
