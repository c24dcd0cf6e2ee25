"""Replicas of one shared database serve the same champion: a promotion made with the CLI, or
a reload of one replica, reaches every replica within seconds, with no restart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from crossplan.pipelines import registry, tracking
from crossplan.pipelines.database import Database
from crossplan.serving.auth import KeyStore, Role, add_key
from crossplan.serving.cli import main
from tests.postgres import fresh_database

pytestmark = pytest.mark.slow

# A replica looks for a new champion every second here (5 by default).
_WATCH = "1"
_WITHIN = 10.0


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _versions(replicas: list[httpx.Client], token: str) -> list[str | None]:
    return [r.get("/model", headers=bearer(token)).json()["version"] for r in replicas]


def _until_all(replicas: list[httpx.Client], token: str, version: str) -> float:
    """Seconds until every replica names ``version`` (fails after :data:`_WITHIN`)."""
    start = time.monotonic()
    while time.monotonic() - start < _WITHIN:
        if _versions(replicas, token) == [version] * len(replicas):
            return time.monotonic() - start
        time.sleep(0.2)
    pytest.fail(f"after {_WITHIN} s the replicas serve {_versions(replicas, token)}, not {version}")


def _register_again(tracking_uri: str) -> str:
    """Register the champion's model as a new version (not promoted); its version."""
    client = tracking.connect(tracking_uri)
    current = registry.champion_version(client)
    assert current is not None
    new = client.create_model_version(
        registry.MODEL_NAME, source=current.source, run_id=current.run_id
    )
    return str(new.version)


def test_a_promotion_and_a_reload_reach_every_replica(
    service_home: Any,
    tiny_world_dir: Path,
    tmp_path: Path,
    run_server: Any,
    postgres_server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env, _ = service_home(tmp_path / "home", champion=True)
    with fresh_database(postgres_server) as url:
        db = Database.connect(url)
        admin = add_key(KeyStore(db), "ops", Role.ADMIN)
        db.dispose()
        shared = {**env, "CROSSPLAN_DATABASE_URL": url, "CROSSPLAN_MODEL_WATCH": _WATCH}
        # Each replica has a home of its own; the registry and the database are shared.
        other = {**shared, "CROSSPLAN_HOME": str(tmp_path / "home2")}
        with (
            run_server(shared, tiny_world_dir, tmp_path / "a.log") as a,
            run_server(other, tiny_world_dir, tmp_path / "b.log") as b,
        ):
            replicas = [a.http, b.http]
            assert _versions(replicas, admin) == ["1", "1"]

            # `crossplan promote`, as an operator runs it: no replica is told directly.
            for name, value in shared.items():
                monkeypatch.setenv(name, value)
            version = _register_again(env["MLFLOW_TRACKING_URI"])
            assert main(["promote", "--version", version, "--reason", "better", "--quiet"]) == 0
            _until_all(replicas, admin, version)

            # A promotion made in MLflow alone, then one replica reloaded by an admin.
            newer = _register_again(env["MLFLOW_TRACKING_URI"])
            registry.promote(
                tracking.connect(env["MLFLOW_TRACKING_URI"]), newer, "from MLflow", by="test"
            )
            time.sleep(2 * float(_WATCH))
            assert _versions(replicas, admin) == [version, version]  # nothing announced it
            assert a.http.post("/admin/reload", headers=bearer(admin)).status_code == 200
            _until_all(replicas, admin, newer)
