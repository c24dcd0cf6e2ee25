"""Shared fixtures: small simulated worlds written to temporary data directories.

Worlds are deterministic per seed and quick to simulate, so every worker process of the test
run makes its own copy instead of reading anything shared.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossplan.pipelines.contract import Dataset, load_dataset
from crossplan.pipelines.simulate import World, simulate_world


class _NamespaceOnly(importlib.abc.MetaPathFinder):
    """Run from the repository, the folders are importable by their bare names too (the root
    is on the path); installed, they are not. Refusing those names makes the tests see what
    an installation sees: only ``crossplan.models`` is ours, and a pickle that names
    ``models`` loads only through :func:`crossplan.models.legacy.old_module_paths`."""

    FOLDERS = ("models", "optimize", "pipelines", "serving")

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname.split(".")[0] in self.FOLDERS:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


sys.meta_path.insert(0, _NamespaceOnly())


def pytest_configure(config: pytest.Config) -> None:
    """``--dist loadgroup`` sends a group's tests to one worker (one live service, one
    browser) by suffixing their node ids; from pytest 9.2 the suffix no longer takes, and the
    groups would be spread silently (pytest-xdist issue 1386)."""
    version = tuple(int(p) for p in pytest.__version__.split(".")[:2] if p.isdigit())
    if config.getoption("dist", None) == "loadgroup" and version >= (9, 2):
        raise pytest.UsageError(
            f"pytest {pytest.__version__} ignores xdist_group under --dist loadgroup: install "
            "the test extra's pins (pip install -e '.[test]'), which keep pytest below 9.2"
        )


SMALL_WORLD = {"seed": 3, "countries": 3, "regions": 24, "periods": 60}
TINY_WORLD = {"seed": 3, "countries": 2, "regions": 10, "periods": 60}


@pytest.fixture(scope="session")
def small_world() -> World:
    """A small world: 3 countries, ~24 regions, 60 weekly periods, 2 categories."""
    return simulate_world(**SMALL_WORLD)


@pytest.fixture(scope="session")
def small_world_dir(small_world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data directory of :func:`small_world` (regions, incidents, truth, resources)."""
    out = tmp_path_factory.mktemp("small_world")
    small_world.write(out)
    return out


@pytest.fixture(scope="session")
def tiny_world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory small enough to plan in well under a second: 2 countries, 10 regions."""
    out = tmp_path_factory.mktemp("tiny_world")
    simulate_world(**TINY_WORLD).write(out)
    return out


@pytest.fixture(scope="session")
def tiny_dataset(tiny_world_dir: Path) -> Dataset:
    return load_dataset(tiny_world_dir)


@pytest.fixture(scope="session")
def default_world() -> World:
    """The default world of ``crossplan simulate --seed 7``."""
    return simulate_world(seed=7)


@pytest.fixture(scope="session")
def default_world_dir(default_world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data directory of :func:`default_world`."""
    out = tmp_path_factory.mktemp("default_world")
    default_world.write(out)
    return out


@pytest.fixture
def crossplan_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private ``$CROSSPLAN_HOME`` (and no inherited MLflow tracking URI)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("CROSSPLAN_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return home


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server for this test session (see :mod:`tests.postgres`)."""
    from tests.postgres import postgres_server as server

    with server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind: a SQLite file, and a new database on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crossplan.db'}"
        return
    from tests.postgres import fresh_database

    with fresh_database(request.getfixturevalue("postgres_server")) as url:
        yield url
