"""A database that is down: the start stops with exit 2, a running service turns not ready."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from crossplan.pipelines.database import Database
from crossplan.serving.auth import KeyStore, Role, add_key
from crossplan.serving.cli import main
from tests.ports import free_port
from tests.postgres import fresh_database


def test_serve_refuses_to_start_on_a_database_that_is_down(
    crossplan_home: Path,
    tiny_world_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CROSSPLAN_DATABASE_URL", "postgresql://crossplan@127.0.0.1:1/crossplan")
    port = str(free_port())
    assert main(["serve", "--data", str(tiny_world_dir), "--port", port]) == 2
    err = capsys.readouterr().err
    assert "is unavailable" in err and "fix: start the database server" in err
    # The server it started while checking the database is gone, all of it.
    assert [
        p.pid for p in psutil.process_iter(["cmdline"]) if port in (p.info["cmdline"] or [])
    ] == []


def test_a_service_whose_database_goes_away_reports_itself_not_ready(
    asgi_app: Any,
    postgres_server: str,
    tiny_world_dir: Path,
    forecast_file: Path,
    tmp_path: Path,
    point_service: Any,
) -> None:
    with fresh_database(postgres_server) as url:
        token = add_key(KeyStore(Database.connect(url)), "planner", Role.PLANNER)
        point_service({"CROSSPLAN_HOME": str(tmp_path), "CROSSPLAN_DATA": str(tiny_world_dir),
                       "CROSSPLAN_DATABASE_URL": url,
                       "CROSSPLAN_FORECAST_FILE": str(forecast_file)})  # fmt: skip
        with TestClient(asgi_app) as client:
            assert client.get("/readyz").status_code == 200
            admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
            with admin.connect() as con:
                name = sa.engine.make_url(url).database
                con.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()
            time.sleep(1.2)  # the readiness check is cached for a second
            assert client.get("/readyz").status_code == 503
            r = client.post("/forecast", json={"horizon": 1},
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            assert r.status_code == 503
            assert "database is unavailable" in r.json()["error"]
