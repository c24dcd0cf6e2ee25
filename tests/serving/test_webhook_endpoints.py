"""POST, GET and DELETE /webhooks through the service, and an alert reaching a receiver.

The service runs in process on a SQLite database with keys of agencies of the tiny world's
two countries (GRC holds r002-r008; the GRC-MKD agreement covers r004), and allows plain
http to 127.0.0.1, where the tests' receivers listen.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from crossplan.pipelines.database import Database
from crossplan.serving.auth import KeyStore, Role, add_key, revoke_key
from crossplan.serving.webhook_posts import sign

Service = tuple[TestClient, dict[str, str], Database]

KEYS = {
    "grc-reporter": (Role.REPORTER, "GRC", "Border Police"),
    "grc-analyst": (Role.ANALYST, "GRC", "Border Police"),
    "grc-police": (Role.ANALYST, "GRC", "National Police"),
    "mkd-analyst": (Role.ANALYST, "MKD", "Border Police"),
    "mkd-leaver": (Role.ANALYST, "MKD", "Border Police"),  # revoked in one test
    "planner": (Role.PLANNER, None, None),
    "admin": (Role.ADMIN, None, None),
}
SECRET = "a-shared-secret-of-32-characters"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def service(
    asgi_app: Any,
    tiny_world_dir: Path,
    forecast_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Service]:
    home = tmp_path_factory.mktemp("home")
    url = f"sqlite:///{home / 'crossplan.db'}"
    db = Database.connect(url)
    keys = KeyStore(db)
    tokens = {
        name: add_key(keys, name, role, country=country, agency=agency)
        for name, (role, country, agency) in KEYS.items()
    }
    env = {
        "CROSSPLAN_HOME": str(home),
        "CROSSPLAN_DATA": str(tiny_world_dir),
        "CROSSPLAN_DATABASE_URL": url,
        "CROSSPLAN_FORECAST_FILE": str(forecast_file),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
        "CROSSPLAN_WEBHOOK_ALLOW": "127.0.0.1",
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        with TestClient(asgi_app) as client:
            yield client, tokens, db
    db.dispose()


@contextmanager
def receiving() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]], threading.Event]]:
    """A local receiver: its URL, the posts it got (headers, body), and an event set by each."""
    posts: list[tuple[dict[str, str], bytes]] = []
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posts.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
            arrived.set()
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", posts, arrived
    finally:
        server.shutdown()
        server.server_close()


def _register(client: TestClient, token: str, url: str, **body: Any) -> dict[str, Any]:
    r = client.post("/webhooks", json={"url": url, **body}, headers=bearer(token))
    assert r.status_code == 200, r.text
    return dict(r.json())


def _listed(client: TestClient, token: str) -> list[dict[str, Any]]:
    r = client.get("/webhooks", headers=bearer(token))
    assert r.status_code == 200, r.text
    return list(r.json()["webhooks"])


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"url": "https://[::1]:3000/admin/reload"}, "url", "loopback"),  # the service itself
        ({"url": "https://2130706433/admin/reload"}, "url", "is a number"),  # 127.0.0.1 as a number
        ({"url": "https://169.254.169.254/latest"}, "url", "metadata"),  # the cloud's metadata
        ({"url": "http://127.0.0.2:3000/"}, "url", "plain http"),  # a host not allowed
        ({"url": "https://u:pw@203.0.113.9/in"}, "url", "password"),  # credentials in the URL
        ({"url": "https://203.0.113.9/a\r\nX: 1"}, "url", "control character"),  # CRLF
        ({"url": "https://203.0.113.9/in#x"}, "url", "fragment"),  # a fragment
        ({"url": "http://127.0.0.1:9999/in", "secret": "short"}, "secret", "at least 16"),  # secret
    ],
)
def test_an_unsafe_webhook_is_refused_with_400_saying_where_and_how_to_fix_it(
    service: Service, body: dict[str, str], field: str, says: str
) -> None:
    client, keys, _ = service
    r = client.post("/webhooks", json=body, headers=bearer(keys["grc-analyst"]))
    assert r.status_code == 400, r.text
    problem = r.json()["problems"][0]
    assert problem["field"] == field and says in problem["message"] and problem["fix"]
    assert "pw" not in r.text


def test_a_webhook_is_shown_and_listed_without_its_token_or_secret_to_its_agency_only(
    service: Service,
) -> None:
    client, keys, _ = service
    hook = _register(client, keys["grc-analyst"], "http://127.0.0.1:9999/list?token=s3cret",
                     secret=SECRET)  # fmt: skip
    assert hook["url"] == "http://127.0.0.1:9999/list?token=***"
    assert hook["signed"] and hook["active"] and hook["agency"] == "Border Police"
    for name in ("grc-analyst", "planner"):
        assert hook in _listed(client, keys[name])
    for name in ("grc-police", "mkd-analyst"):  # another agency, another country
        assert hook["id"] not in [h["id"] for h in _listed(client, keys[name])]
    everything = client.get("/webhooks", headers=bearer(keys["planner"])).text
    assert "s3cret" not in everything and SECRET not in everything
    assert client.get("/webhooks", headers=bearer(keys["grc-reporter"])).status_code == 403


def test_a_webhook_is_deleted_by_its_agency_and_is_not_found_by_another(
    service: Service,
) -> None:
    client, keys, _ = service
    hook = _register(client, keys["grc-analyst"], "http://127.0.0.1:9999/delete?token=s3cret")
    for name in ("mkd-analyst", "grc-police"):
        r = client.delete(f"/webhooks/{hook['id']}", headers=bearer(keys[name]))
        assert r.status_code == 404, r.text
    unknown = client.delete("/webhooks/999999", headers=bearer(keys["mkd-analyst"]))
    assert unknown.json()["error"].replace("999999", str(hook["id"])) == r.json()["error"]
    r = client.delete(f"/webhooks/{hook['id']}", headers=bearer(keys["grc-analyst"]))
    assert r.status_code == 200 and r.json()["id"] == hook["id"]
    assert hook["id"] not in [h["id"] for h in _listed(client, keys["grc-analyst"])]
    assert client.delete("/webhooks/0", headers=bearer(keys["admin"])).status_code == 400

    audit = client.get("/audit", params={"limit": 1000}, headers=bearer(keys["admin"]))
    events = [e for e in audit.json()["events"] if e["detail"].get("webhook_id") == hook["id"]]
    assert [(e["action"], e["actor"]) for e in events] == [
        ("webhook_deleted", "grc-analyst"), ("webhook_added", "grc-analyst"),
    ]  # fmt: skip
    assert events[0]["detail"]["country"] == "GRC"
    assert "s3cret" not in audit.text


def test_an_alert_reaches_a_signed_webhook_and_not_one_of_a_revoked_key(
    service: Service,
) -> None:
    client, keys, db = service
    with receiving() as (grc_url, grc_posts, grc_arrived), receiving() as (gone_url, gone_posts, _):
        _register(client, keys["grc-analyst"], f"{grc_url}/alerts?token=s3cret", secret=SECRET)
        _register(client, keys["mkd-leaver"], f"{gone_url}/alerts")
        revoke_key(KeyStore(db), "mkd-leaver")
        # GRC reports far more than the forecast's q90 in r004, which MKD reads too.
        row = {"region_id": "r004", "period": "2024-02-26", "category": "smuggling_of_migrants",
               "reported": 400, "detected": 100, "effort": 1.0}  # fmt: skip
        r = client.post("/submissions", json={"rows": [row]}, headers=bearer(keys["grc-reporter"]))
        assert r.status_code == 200 and r.json()["alerts"] >= 1, r.text
        assert grc_arrived.wait(5), "no alert reached GRC's webhook"
        headers, body = grc_posts[0]
        assert json.loads(body)["alert"]["region_id"] == "r004"
        assert headers["X-Crossplan-Signature"] == sign(SECRET, body)
    assert gone_posts == []
    listed = _listed(client, keys["planner"])
    assert [h["active"] for h in listed if h["key_name"] == "mkd-leaver"] == [False]
