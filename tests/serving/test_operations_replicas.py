"""Two service processes sharing PostgreSQL, hit at the same moment by the two parties of a
joint operation, leave one consistent history: every pledge is kept, the operation is
confirmed exactly once, its steps are numbered without gap or repeat, and both replicas read
the same operation. A withdraw racing a pledge ends in one of the two orders, never in both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from crossplan.pipelines.database import Database, next_period, utcnow
from crossplan.serving.auth import KeyStore, Role, add_key
from tests.postgres import fresh_database

pytestmark = pytest.mark.slow

GRC, MKD = "GRC", "MKD"
ROUNDS = 3


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _weeks() -> list[str]:
    first = pd.Timestamp(next_period("weekly", utcnow()))
    return [f"{first + pd.Timedelta(weeks=k):%Y-%m-%d}" for k in range(2)]


def _proposal() -> dict[str, Any]:
    return {
        "regions": ["r001", "r004"],
        "periods": _weeks(),
        "needs": {GRC: {"shifts": 4}, MKD: {"shifts": 4}},
        "effort_multiplier": 1.5,
    }


def _at_once(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Run ``calls`` in threads released together; their responses in order."""
    gate = threading.Barrier(len(calls))
    out: list[httpx.Response | None] = [None] * len(calls)

    def run(k: int) -> None:
        gate.wait()
        out[k] = calls[k]()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None for r in out)
    return [r for r in out if r is not None]


def _read(replica: httpx.Client, op: str, token: str) -> dict[str, Any]:
    r = replica.get(f"/operations/{op}", headers=bearer(token))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_concurrent_pledges_on_two_replicas_leave_one_consistent_state(
    service_home: Any,
    tiny_world_dir: Path,
    write_forecast: Callable[[Path, float], Path],
    tmp_path: Path,
    run_server: Any,
    postgres_server: str,
) -> None:
    forecast = write_forecast(tmp_path / "forecast.parquet", 2.0)
    env, _ = service_home(tmp_path / "home", forecast=forecast)
    with fresh_database(postgres_server) as url:
        db = Database.connect(url)
        keys = KeyStore(db)
        tokens = {
            c: add_key(keys, f"{c.lower()}-planner", Role.PLANNER, country=c,
                       agency="Border Police")
            for c in (GRC, MKD)
        }  # fmt: skip
        db.dispose()
        shared = {**env, "CROSSPLAN_DATABASE_URL": url}
        other = {**shared, "CROSSPLAN_HOME": str(tmp_path / "home2")}
        with (
            run_server(shared, tiny_world_dir, tmp_path / "a.log") as a,
            run_server(other, tiny_world_dir, tmp_path / "b.log") as b,
        ):
            weeks = _weeks()
            pledges = {
                GRC: {"units": [{"unit_id": "GRC-BP-01", "shifts": 4}]},
                MKD: {"units": [{"unit_id": "MKD-BP-01", "shifts": {weeks[0]: 4, weeks[1]: 6}}]},
            }
            for _ in range(ROUNDS):
                r = a.http.post("/operations", json=_proposal(), headers=bearer(tokens[MKD]))
                assert r.status_code == 201, r.text
                op = r.json()["operation_id"]
                answers = _at_once(
                    lambda op=op: a.http.post(f"/operations/{op}/pledges", json=pledges[GRC],
                                              headers=bearer(tokens[GRC])),
                    lambda op=op: b.http.post(f"/operations/{op}/pledges", json=pledges[MKD],
                                              headers=bearer(tokens[MKD])),
                )  # fmt: skip
                assert [x.status_code for x in answers] == [200, 200], [x.text for x in answers]
                # whichever came second confirmed it; the first saw it open
                assert sorted(x.json()["status"] for x in answers) == ["confirmed", "open"]
                seen = [_read(replica, op, tokens[GRC]) for replica in (a.http, b.http)]
                assert seen[0] == seen[1]
                kinds = [e["kind"] for e in seen[0]["events"]]
                assert sorted(kinds) == ["confirmed", "pledged", "pledged", "proposed"]
                assert kinds[0] == "proposed" and kinds[-1] == "confirmed"
                assert [e["seq"] for e in seen[0]["events"]] == [1, 2, 3, 4]
                pledged = {p["country"]: p["pledged"] for p in seen[0]["parties"]}
                assert pledged == {GRC: dict.fromkeys(weeks, 4), MKD: {weeks[0]: 4, weeks[1]: 6}}
                # called off, so that the next round finds the same units' shifts free
                r = a.http.post(f"/operations/{op}/cancel", json={"reason": "next round"},
                                headers=bearer(tokens[MKD]))  # fmt: skip
                assert r.status_code == 200, r.text

            # a withdraw racing the pledge that would confirm it: one order, never both
            r = a.http.post("/operations", json=_proposal(), headers=bearer(tokens[MKD]))
            op = r.json()["operation_id"]
            mkd = b.http.post(f"/operations/{op}/pledges", json=pledges[MKD],
                              headers=bearer(tokens[MKD]))  # fmt: skip
            assert mkd.status_code == 200, mkd.text
            pledge, withdraw = _at_once(
                lambda: a.http.post(f"/operations/{op}/pledges", json=pledges[GRC],
                                    headers=bearer(tokens[GRC])),
                lambda: b.http.post(f"/operations/{op}/withdraw", json={"reason": "changed"},
                                    headers=bearer(tokens[MKD])),
            )  # fmt: skip
            final = _read(a.http, op, tokens[MKD])
            assert final == _read(b.http, op, tokens[MKD])
            kinds = [e["kind"] for e in final["events"]]
            if pledge.status_code == 200:  # the pledge first: confirmed, so no withdraw
                assert (final["status"], withdraw.status_code) == ("confirmed", 409)
                assert kinds == ["proposed", "pledged", "pledged", "confirmed"]
            else:  # the withdraw first: nothing is pledged after it
                assert (pledge.status_code, withdraw.status_code) == (409, 200)
                assert (final["status"], kinds) == ("withdrawn", ["proposed", "pledged",
                                                                  "withdrawn"])  # fmt: skip
