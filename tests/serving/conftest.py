"""Fixtures of the service tests: a tiny world, its champion, keys, and the ASGI app.

The champion is trained once per test process into an MLflow store that each test copies.
Tests that need a model but not the MLflow path use a stand-in forecast table instead,
served through the service's ``CROSSPLAN_FORECAST_FILE`` seam.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

# Before anything imports prometheus_client or touches BentoML's stores: the service's
# metrics and model copies of this test process live in a private directory. (Set, not
# defaulted: pytest-xdist's workers inherit the controller's environment, and two workers
# writing one metrics directory would see each other's series.)
_STATE = Path(tempfile.mkdtemp(prefix="crossplan-serving-tests-"))
atexit.register(shutil.rmtree, _STATE, ignore_errors=True)
(_STATE / "prometheus").mkdir()
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_STATE / "prometheus")
os.environ["BENTOML_HOME"] = str(_STATE / "bentoml")
os.environ["BENTOML_DO_NOT_TRACK"] = "true"

import warnings  # noqa: E402

import httpx  # noqa: E402
import pandas as pd  # noqa: E402
import psutil  # noqa: E402
import pytest  # noqa: E402
from starlette.exceptions import StarletteDeprecationWarning  # noqa: E402

with warnings.catch_warnings():
    # Starlette asks to move its test client to another HTTP library; httpx is what we have.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from crossplan.pipelines.contract import Dataset  # noqa: E402
from crossplan.pipelines.database import Database  # noqa: E402
from crossplan.serving.auth import KeyStore, Role, add_key  # noqa: E402
from crossplan.serving.commands.serve import server_command, server_env  # noqa: E402
from tests.ports import free_port  # noqa: E402

# A reporter submits one country's rows: the service fixtures' reporter is of the tiny world's
# first country; the other roles are the operator's keys (no country: every region).
_COUNTRY = {Role.REPORTER: "GRC"}


def _stand_in_forecast(
    dataset: Dataset, periods: int = 12, scale: float = 2.0, growth: float = 0.0
) -> pd.DataFrame:
    """A forecast table: each cell's recent mean count times ``scale``, over ``periods``
    ahead, growing by ``growth`` a period."""
    inc = dataset.incidents.assign(observed=dataset.observed())
    recent = inc[inc["period"] >= dataset.periods[-8]]
    level = recent.groupby(["region_id", "category"])["observed"].mean().fillna(0).reset_index()
    ahead = pd.date_range(
        dataset.periods[-1] + pd.Timedelta(weeks=1), periods=periods, freq="W-MON"
    )
    table = pd.concat(
        [level.assign(period=p, step=k) for k, p in enumerate(ahead)], ignore_index=True
    )
    mean = (table.pop("observed") * scale + 0.5) * (1.0 + growth) ** table.pop("step")
    return table.assign(
        activity_mean=mean,
        activity_q10=0.5 * mean,
        activity_q50=mean,
        activity_q90=1.7 * mean,
        detection_rate=0.05,
    )


@pytest.fixture(scope="session")
def stand_in_forecast() -> Callable[..., pd.DataFrame]:
    """:func:`_stand_in_forecast`, for the tests below this folder."""
    return _stand_in_forecast


@pytest.fixture(scope="session")
def write_forecast(tiny_dataset: Dataset) -> Callable[[Path, float], Path]:
    """Write a stand-in forecast of the tiny world (``scale`` makes a new version)."""

    def write(path: Path, scale: float = 2.0) -> Path:
        _stand_in_forecast(tiny_dataset, scale=scale).to_parquet(path)
        return path

    return write


@pytest.fixture(scope="session")
def forecast_file(
    write_forecast: Callable[[Path, float], Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return write_forecast(tmp_path_factory.mktemp("forecast") / "forecast.parquet", 2.0)


@pytest.fixture(scope="session")
def champion_store(tiny_world_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with an MLflow store whose champion (version 1) knows the tiny world."""
    from crossplan.pipelines.train import train

    store = tmp_path_factory.mktemp("mlflow")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CROSSPLAN_HOME", str(store))  # artifacts go under it
        result = train(
            tiny_world_dir, horizon=4, origins=2, refit_every=2, tracking_uri=_sqlite(store)
        )
    assert result.decision.promote
    return store


def _sqlite(directory: Path) -> str:
    return f"sqlite:///{directory / 'mlflow.db'}"


def _promote_new_version(tracking_uri: str) -> str:
    from crossplan.pipelines import registry, tracking

    client = tracking.connect(tracking_uri)
    current = registry.champion_version(client)
    assert current is not None
    new = client.create_model_version(
        registry.MODEL_NAME, source=current.source, run_id=current.run_id
    )
    registry.promote(client, new.version, "a newer champion", by="test")
    return str(new.version)


@pytest.fixture(scope="session")
def promote_new_version() -> Callable[[str], str]:
    """Register the champion's model again as a new version and promote it; its version."""
    return _promote_new_version


class ServiceHome(Protocol):
    def __call__(
        self, home: Path, *, forecast: Path | None = None, champion: bool = False
    ) -> tuple[dict[str, str], dict[str, str]]: ...


@pytest.fixture(scope="session")
def service_home(tiny_world_dir: Path, champion_store: Path) -> ServiceHome:
    """Make a service home: its environment variables and one key per role.

    The service serves the tiny world with the model from ``forecast`` (a forecast file),
    or from its own copy of :func:`champion_store` (``champion``), or from an empty MLflow
    store (neither).
    """

    def make(
        home: Path, *, forecast: Path | None = None, champion: bool = False
    ) -> tuple[dict[str, str], dict[str, str]]:
        home.mkdir(parents=True, exist_ok=True)
        db = Database.connect(f"sqlite:///{home / 'crossplan.db'}")
        keys = KeyStore(db)
        tokens = {
            role.value: add_key(keys, role.value, role, country=_COUNTRY.get(role)) for role in Role
        }
        db.dispose()
        if champion:
            shutil.copy(champion_store / "mlflow.db", home / "mlflow.db")
        env = {
            "CROSSPLAN_HOME": str(home),
            "CROSSPLAN_DATA": str(tiny_world_dir),
            "MLFLOW_TRACKING_URI": _sqlite(home),
        }
        if forecast is not None:
            env["CROSSPLAN_FORECAST_FILE"] = str(forecast)
        return env, tokens

    return make


def _point_service_at(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CROSSPLAN_DATABASE_URL", "CROSSPLAN_FORECAST_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def point_service(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, str]], None]:
    """Set the service's environment variables for this test, clearing inherited ones."""
    return lambda env: _point_service_at(env, monkeypatch)


@pytest.fixture
def served(
    service_home: ServiceHome,
    forecast_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """Point the service (in this process) at a private home; returns the key of each role."""
    env, tokens = service_home(tmp_path / "home", forecast=forecast_file)
    _point_service_at(env, monkeypatch)
    return tokens


@pytest.fixture(scope="session")
def asgi_app() -> Any:
    """The service's ASGI app, built once per process.

    BentoML registers its request metrics when an app first runs, and refuses to do it twice
    in one process; each test starts (and stops) a fresh service instance on this one app
    through its lifespan, reading the environment of that test. BentoML keeps the running
    instance in a global, so only one may run at a time: a module uses either :func:`shared`
    or its own clients, never both.
    """
    from crossplan.serving.service import CrossplanService

    return CrossplanService.to_asgi()


@pytest.fixture(scope="module")
def shared(
    asgi_app: Any, service_home: ServiceHome, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """One service serving the champion, for a module of tests that leave no state others use."""
    env, tokens = service_home(tmp_path_factory.mktemp("home"), champion=True)
    with pytest.MonkeyPatch.context() as mp:
        _point_service_at(env, mp)
        with TestClient(asgi_app) as c:
            yield c, tokens


@pytest.fixture
def client(asgi_app: Any, served: dict[str, str]) -> Iterator[TestClient]:
    """The service in process, started (and stopped) through its lifespan."""
    with TestClient(asgi_app) as c:
        yield c


# Keys of agencies of the tiny world's two countries (GRC: r002-r008; MKD: r001, r009, r010;
# the GRC-MKD agreement covers r001, r004, r007, r008 and r009).
AGENCY_KEYS = {
    "grc-reporter": (Role.REPORTER, "GRC", "Border Police"),
    "mkd-reporter": (Role.REPORTER, "MKD", "Border Police"),
    "grc-police-reporter": (Role.REPORTER, "GRC", "National Police"),
    "grc-analyst": (Role.ANALYST, "GRC", "Border Police"),
    "grc-police": (Role.ANALYST, "GRC", "National Police"),
    "mkd-analyst": (Role.ANALYST, "MKD", "Border Police"),
    "planner": (Role.PLANNER, None, None),
    "admin": (Role.ADMIN, None, None),
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_service(
    request: pytest.FixtureRequest,
    asgi_app: Any,
    tiny_world_dir: Path,
    forecast_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    """The service on a new database of each kind, serving the tiny world with a stand-in
    forecast; agencies' keys (:data:`AGENCY_KEYS`) and the database URL. Tests of a module
    share it: each submits content of its own."""
    home = tmp_path_factory.mktemp("home")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{home / 'crossplan.db'}"
        else:
            from tests.postgres import fresh_database

            url = stack.enter_context(fresh_database(request.getfixturevalue("postgres_server")))
        db = Database.connect(url)
        keys = KeyStore(db)
        tokens = {
            name: add_key(keys, name, role, country=country, agency=agency)
            for name, (role, country, agency) in AGENCY_KEYS.items()
        }
        db.dispose()
        env = {
            "CROSSPLAN_HOME": str(home),
            "CROSSPLAN_DATA": str(tiny_world_dir),
            "CROSSPLAN_DATABASE_URL": url,
            "CROSSPLAN_FORECAST_FILE": str(forecast_file),
            "MLFLOW_TRACKING_URI": _sqlite(home),
        }
        with pytest.MonkeyPatch.context() as mp:
            _point_service_at(env, mp)
            with TestClient(asgi_app) as client:
                yield client, tokens, url


_START_SECONDS = 120


@dataclass
class Server:
    """A running server and a client pointed at it."""

    http: httpx.Client
    proc: subprocess.Popen[bytes]

    def crash(self) -> None:
        """SIGKILL the server and all its workers, as a power cut would."""
        parent = psutil.Process(self.proc.pid)
        for p in [*parent.children(recursive=True), parent]:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        self.proc.wait()


@contextmanager
def _running(env: dict[str, str], data_dir: Path, log: Path) -> Iterator[Server]:
    """A ``bentoml serve`` process of the service, ready; stopped (SIGINT) on exit."""
    port = free_port()
    # The server makes its own metrics directory; it keeps its model copies in its home.
    base = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    base.update(env, BENTOML_HOME=str(Path(env["CROSSPLAN_HOME"]) / "bentoml"))
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            server_command(port), env=server_env(data_dir, base), stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            deadline = time.monotonic() + _START_SECONDS
            while not _ready(client):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
            yield Server(client, proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _ready(client: httpx.Client) -> bool:
    try:
        return client.get("/readyz").status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="session")
def run_server() -> Callable[[dict[str, str], Path, Path], AbstractContextManager[Server]]:
    """``run_server(env, data_dir, log)``: a real ``bentoml serve`` of the service, as a
    context manager giving the process and a client pointed at it once it is ready."""
    return _running
