"""The shared database end to end, as two agencies and a planner use it.

GRC's and MKD's border police submit their weekly rows of the tiny world (split by country)
to a service that already holds the earlier weeks; a planner plans on the merged panel; GRC
corrects a row; the planner's next forecast changes; an alert reaches GRC's webhook (a local
receiver that fails once, so the retry is exercised); and the first plan is re-derived
exactly from the panel as of its time, by ``crossplan plan --database --as-of``.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest
from starlette.testclient import TestClient

from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database import Database
from crossplan.serving.auth import KeyStore, Role, add_key

WEEKS = 4  # the last weeks of the tiny world arrive as submissions


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class _Receiver(BaseHTTPRequestHandler):
    """A partner's webhook: refuses the first post (503), then keeps every body."""

    received: ClassVar[list[dict[str, Any]]] = []
    refused: ClassVar[int] = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Receiver.refused == 0:
            _Receiver.refused += 1
            self.send_response(503)
        else:
            _Receiver.received.append(json.loads(body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Any:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts"
    server.shutdown()


def _history(tiny_world_dir: Path, tiny_dataset: Dataset, out: Path) -> list[pd.Timestamp]:
    """The tiny world without its last weeks; the weeks left out."""
    out.mkdir()
    for name in ("regions.geojson", "resources.json"):
        shutil.copy(tiny_world_dir / name, out / name)
    weeks = list(tiny_dataset.periods[-WEEKS:])
    inc = tiny_dataset.incidents
    inc[inc["period"] < weeks[0]].to_parquet(out / "incidents.parquet", index=False)
    return weeks


def _rows(dataset: Dataset, week: pd.Timestamp, country: str) -> pd.DataFrame:
    regions = dataset.regions.loc[dataset.regions["country"] == country, "region_id"]
    inc = dataset.incidents
    rows = inc[(inc["period"] == week) & inc["region_id"].isin(regions)].copy()
    rows["period"] = rows["period"].dt.strftime("%Y-%m-%d")
    return rows


@pytest.mark.slow
def test_agencies_submit_a_planner_plans_a_correction_alerts_and_the_plan_is_rederived(
    database_url: str,
    asgi_app: Any,
    service_home: Any,
    tiny_world_dir: Path,
    tiny_dataset: Dataset,
    receiver: str,
    tmp_path: Path,
    point_service: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env, _ = service_home(tmp_path / "home", champion=True)
    history = tmp_path / "history"
    weeks = _history(tiny_world_dir, tiny_dataset, history)
    keys = KeyStore(Database.connect(database_url))
    tokens = {"planner": add_key(keys, "planner", Role.PLANNER)}
    for name, role, country in [("grc-bp", Role.REPORTER, "GRC"), ("mkd-bp", Role.REPORTER, "MKD"),
                                ("grc-analyst", Role.ANALYST, "GRC")]:  # fmt: skip
        tokens[name] = add_key(keys, name, role, country=country, agency="Border Police")
    keys.db.dispose()
    point_service({**env, "CROSSPLAN_DATA": str(history), "CROSSPLAN_DATABASE_URL": database_url,
                   "CROSSPLAN_WEBHOOK_ALLOW": "127.0.0.1"})  # fmt: skip
    _Receiver.received, _Receiver.refused = [], 0
    planner = bearer(tokens["planner"])
    with TestClient(asgi_app) as client:
        hook = client.post("/webhooks", json={"url": receiver},
                           headers=bearer(tokens["grc-analyst"]))  # fmt: skip
        assert hook.status_code == 200, hook.text

        # Each agency sends its own rows, week by week: GRC as CSV, MKD as JSON rows.
        for week in weeks:
            grc = _rows(tiny_dataset, week, "GRC").to_csv(index=False).encode()
            r = client.post("/submissions", content=grc, params={"file": "grc.csv"},
                            headers={**bearer(tokens["grc-bp"]), "Content-Type": "text/csv"})  # fmt: skip
            assert r.status_code == 200 and r.json()["new"] > 0, r.text
            mkd = json.loads(_rows(tiny_dataset, week, "MKD").to_json(orient="records"))
            r = client.post("/submissions", json={"rows": mkd}, headers=bearer(tokens["mkd-bp"]))
            assert r.status_code == 200 and r.json()["new"] > 0, r.text
        card = client.get("/model", headers=planner).json()["data"]
        assert card["last_period"] == f"{weeks[-1]:%Y-%m-%d}"
        assert card["newest_period"] == {"GRC": card["last_period"], "MKD": card["last_period"]}

        first = client.post("/plan", json={"horizon": 2, "time_limit_s": 30}, headers=planner)
        assert first.status_code == 200, first.text
        before = client.post("/forecast", json={"horizon": 2}, headers=planner).json()

        # GRC corrects one count of the last week.
        fixed = _rows(tiny_dataset, weeks[-1], "GRC")
        fixed = fixed[
            (fixed["region_id"] == "r004") & (fixed["category"] == "smuggling_of_migrants")
        ]
        fixed = fixed.assign(detected=fixed["detected"] + 60)
        r = client.post("/submissions", content=fixed.to_csv(index=False).encode(),
                        headers={**bearer(tokens["grc-bp"]), "Content-Type": "text/csv"})  # fmt: skip
        assert r.status_code == 200, r.text
        assert (r.json()["corrected"], r.json()["new"]) == (1, 0)
        assert r.json()["alerts"] >= 1

        after = client.post("/forecast", json={"horizon": 2}, headers=planner).json()
        assert after["data"]["as_of"] > before["data"]["as_of"]
        moved = (
            pd.DataFrame(after["forecasts"])["activity_mean"]
            - pd.DataFrame(before["forecasts"])["activity_mean"]
        )
        assert (moved.abs() > 1e-9).any()

        deadline = time.monotonic() + 20
        while not _Receiver.received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _Receiver.refused == 1 and _Receiver.received, "no alert reached the webhook"
        alert = _Receiver.received[0]["alert"]
        assert alert["region_id"] in {"r004", *[f"r00{i}" for i in range(1, 10)]}
        assert (
            alert["value"] > alert["exceeded"]["activity_q90"]
            or alert["kind"] == "observed_above_q90"
        )

    # The first plan, re-derived from the panel as of its time, by the command line.
    plan = first.json()
    out = tmp_path / "rederived.json"
    code = ["plan", "--database", "--as-of", plan["data"]["as_of"], "--horizon", "2",
            "--time-limit", "30", "--json", str(out), "--quiet"]  # fmt: skip
    from crossplan.serving.cli import main

    assert main(code) == 0, capsys.readouterr().err
    again = json.loads(out.read_text())
    assert again["input_fingerprint"] == plan["input_fingerprint"]
    assert again["assignments"] == plan["assignments"]
