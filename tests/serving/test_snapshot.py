"""Which model the service serves: the MLflow champion, a reload after a promotion, the
local copy at a start until MLflow confirms the champion, the local copy when MLflow is down
(degraded), no model at all, and a forecast file."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import bentoml
import pytest
from starlette.testclient import TestClient

from crossplan.serving import modelstore
from crossplan.serving.snapshot import CONFIRMING


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def settled_card(client: TestClient, key: str, seconds: float = 60) -> dict[str, Any]:
    """The model card once MLflow has been asked about the local copy a start served."""
    deadline = time.monotonic() + seconds
    while True:
        card: dict[str, Any] = client.get("/model", headers=bearer(key)).json()
        if not (card["reason"] or "").endswith(CONFIRMING):
            return card
        assert time.monotonic() < deadline, f"MLflow was never asked: {card['reason']}"
        time.sleep(0.1)


class _HeldTrackingServer(ThreadingHTTPServer):
    """A tracking server that answers nothing until released, then 503 to everything."""

    daemon_threads = True

    def __init__(self) -> None:
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.release.wait(30)
                self.send_error(503)

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def no_local_copies() -> Iterator[None]:
    """An empty BentoML model store (it is private to this test process)."""
    for copy in bentoml.models.list():
        bentoml.models.delete(copy.tag)
    yield


def test_the_champion_is_served_copied_and_replaced_by_a_new_promotion_on_reload(
    asgi_app: Any,
    promote_new_version: Callable[[str], str],
    service_home: Any,
    point_service: Callable[[dict[str, str]], None],
    no_local_copies: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env, keys = service_home(tmp_path / "home", champion=True)
    point_service(env)
    admin = bearer(keys["admin"])
    with TestClient(asgi_app) as client:
        card = client.get("/model", headers=admin).json()
        assert (card["source"], card["version"], card["degraded"]) == ("mlflow", "1", False)
        assert card["training_window"]["end"] == card["data"]["last_period"]
        assert card["metrics"]["observed"]["coverage80"] > 0
        assert set(card["detection_model"]["kappa"]) == set(card["data"]["categories"])
        selection = card["selection"]  # how it was chosen, with every candidate's score
        assert {"lightgbm", "last_value", "blend"} <= set(selection["candidates"])
        assert selection["candidate"] in selection["candidates"] and selection["decision"]
        assert "intervals90" in card["detection_model"]
        # each candidate's interval, end by end, and how much of the effort correction applies
        assert {"coverage80", "below_q10", "above_q90", "interval_score80"} <= set(
            selection["candidates"][selection["candidate"]]
        )
        correction = card["detection_model"]["correction"]
        assert 0 <= correction["applied"] <= 1 and "effort correction" in correction["reason"]
        assert modelstore.latest_copy_version() == "1"  # kept for a degraded start

        r = client.post("/forecast", json={"horizon": card["horizon"] + 1}, headers=admin)
        assert r.status_code == 400  # beyond what the model forecasts
        assert f"between 1 and {card['horizon']}" in r.json()["error"]
        assert f"fix: ask for {card['horizon']} periods ahead or fewer" in r.json()["error"]

        new = promote_new_version(env["MLFLOW_TRACKING_URI"])
        assert client.get("/model", headers=admin).json()["version"] == "1"  # until reloaded
        r = client.post("/admin/reload", headers=admin)
        assert r.status_code == 200
        assert (r.json()["previous_version"], r.json()["model"]["version"]) == ("1", new)
        forecast = client.post("/forecast", json={"horizon": 1}, headers=admin).json()
        assert forecast["model"]["version"] == new
        metrics = client.get("/metrics", headers=admin).text
    assert modelstore.latest_copy_version() == new
    served = 'degraded="false",name="crossplan-risk",source="mlflow"'
    assert f'crossplan_model_info{{{served},version="{new}"}} 1.0' in metrics
    assert f'crossplan_model_info{{{served},version="1"}} 0.0' in metrics


@pytest.fixture
def kept_copy(
    asgi_app: Any,
    service_home: Any,
    point_service: Callable[[dict[str, str]], None],
    no_local_copies: None,
    tmp_path: Path,
) -> tuple[dict[str, str], dict[str, str], dict[str, Any], dict[str, Any]]:
    """A service home after a healthy start, which kept a copy of its store's champion: its
    environment, keys, a forecast question and the champion's answer to it."""
    env, keys = service_home(tmp_path / "home", champion=True)
    point_service(env)
    ask = {"json": {"horizon": 2}, "headers": bearer(keys["planner"])}
    with TestClient(asgi_app) as client:
        live = client.post("/forecast", **ask).json()
    return env, keys, ask, live


def test_with_mlflow_unreachable_the_local_copy_serves_degraded(
    asgi_app: Any, kept_copy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, keys, ask, live = kept_copy
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens there
    with TestClient(asgi_app) as client:
        assert client.get("/readyz").status_code == 200
        card = client.get("/model", headers=bearer(keys["analyst"])).json()
        assert (card["source"], card["version"], card["degraded"]) == ("local copy", "1", True)
        assert "local copy of version 1" in card["reason"]
        # Where MLflow is: the operator's admins read it, an analyst does not.
        assert "127.0.0.1:9" not in card["reason"]
        card = client.get("/model", headers=bearer(keys["admin"])).json()
        assert "127.0.0.1:9" in card["reason"]
        assert client.post("/forecast", **ask).json() == live


def test_a_start_serves_the_local_copy_at_once_and_says_so_until_mlflow_answers(
    asgi_app: Any, kept_copy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, keys, ask, live = kept_copy
    monkeypatch.setattr("crossplan.pipelines.tracking._PROBE_SECONDS", 60.0)  # held until released
    copy = modelstore.load_copy(store=env["MLFLOW_TRACKING_URI"])
    assert copy is not None
    held = _HeldTrackingServer()
    threading.Thread(target=held.serve_forever, daemon=True).start()
    try:
        modelstore.save_copy(*copy, store=held.uri)  # the copy a start at held.uri finds
        monkeypatch.setenv("MLFLOW_TRACKING_URI", held.uri)
        with TestClient(asgi_app) as client:
            # MLflow has not answered: the copy serves, and the card says so.
            assert client.get("/readyz").status_code == 200
            card = client.get("/model", headers=bearer(keys["analyst"])).json()
            assert (card["source"], card["version"], card["degraded"]) == ("local copy", "1", True)
            assert card["reason"] == f"serving the local copy of version 1 {CONFIRMING}"
            assert client.post("/forecast", **ask).json() == live
            # An admin reloads meanwhile; MLflow then answers 503: the copy stays, saying why.
            threading.Timer(1.0, held.release.set).start()
            reload = client.post("/admin/reload", headers=bearer(keys["admin"]))
            assert reload.status_code == 503
            assert "still serving version 1" in reload.json()["error"]
            card = settled_card(client, keys["admin"])
            assert (card["source"], card["version"], card["degraded"]) == ("local copy", "1", True)
            assert "local copy of version 1" in card["reason"] and held.uri in card["reason"]
            card = client.get("/model", headers=bearer(keys["analyst"])).json()
            assert "local copy of version 1" in card["reason"] and held.uri not in card["reason"]
            assert client.get("/readyz").status_code == 200
    finally:
        held.release.set()
        held.shutdown()
        held.server_close()


def test_a_champion_promoted_while_the_service_was_down_replaces_the_copy_after_a_start(
    asgi_app: Any, promote_new_version: Callable[[str], str], kept_copy: Any
) -> None:
    env, keys, _, live = kept_copy
    assert live["model"]["version"] == "1"
    store = env["MLFLOW_TRACKING_URI"]
    new = promote_new_version(store)  # while the service is down
    with TestClient(asgi_app) as client:
        card = settled_card(client, keys["analyst"])
        assert (card["source"], card["version"], card["degraded"]) == ("mlflow", new, False)
        forecast = client.post("/forecast", json={"horizon": 1}, headers=bearer(keys["planner"]))
        assert forecast.json()["model"]["version"] == new
        metrics = client.get("/metrics", headers=bearer(keys["admin"])).text
    assert modelstore.latest_copy_version(store=store) == new
    # The copy of version 1 served first, until MLflow named the new champion.
    assert 'degraded="true",name="crossplan-risk",source="local copy",version="1"} 0.0' in metrics
    assert (
        f'degraded="false",name="crossplan-risk",source="mlflow",version="{new}"}} 1.0' in metrics
    )


def test_a_reload_that_cannot_get_a_champion_keeps_the_served_model(
    asgi_app: Any,
    service_home: Any,
    point_service: Callable[[dict[str, str]], None],
    no_local_copies: None,
    tmp_path: Path,
) -> None:
    env, keys = service_home(tmp_path / "home", champion=True)
    point_service(env)
    admin = bearer(keys["admin"])
    with TestClient(asgi_app) as client:
        from crossplan.pipelines import registry, tracking

        store = tracking.connect(env["MLFLOW_TRACKING_URI"])
        store.delete_registered_model_alias(registry.MODEL_NAME, registry.CHAMPION)  # demoted
        r = client.post("/admin/reload", headers=admin)
        assert r.status_code == 503
        assert "still serving version 1" in r.json()["error"]
        card = client.get("/model", headers=admin).json()
        assert (card["source"], card["version"], card["degraded"]) == ("mlflow", "1", False)
        assert client.post("/forecast", json={"horizon": 1}, headers=admin).status_code == 200


def test_without_any_model_the_service_is_up_but_not_ready(
    asgi_app: Any,
    service_home: Any,
    point_service: Callable[[dict[str, str]], None],
    no_local_copies: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env, keys = service_home(tmp_path / "home")  # an empty MLflow store
    point_service(env)
    with TestClient(asgi_app) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503
        card = client.get("/model", headers=bearer(keys["analyst"])).json()
        assert card["loaded"] is False
        assert "no local copy" in card["reason"]
        for path in ("/forecast", "/plan"):
            r = client.post(path, json={"horizon": 1}, headers=bearer(keys["planner"]))
            assert r.status_code == 503
            assert "crossplan train" in r.json()["error"]


def test_a_forecast_file_stands_in_for_the_model(
    client: TestClient, served: dict[str, str], forecast_file: Path
) -> None:
    card = client.get("/model", headers=bearer(served["analyst"])).json()
    assert (card["source"], card["name"], card["degraded"]) == (
        "forecast file",
        "forecast-file",
        False,
    )
    assert card["horizon"] == 12
    r = client.post("/plan", json={"horizon": 1}, headers=bearer(served["planner"]))
    assert r.status_code == 200
    assert r.json()["model"]["version"] == card["version"]
