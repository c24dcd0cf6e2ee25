"""POST /submissions: the contract's validation, all or nothing, idempotent, one country.

Every case goes through the service on SQLite and on PostgreSQL (``database_service``).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from crossplan.pipelines.database import Database
from crossplan.pipelines.database.schema import (
    Alert,
    AlertJobRow,
    AuditEntry,
    CellVersion,
    Submission,
)
from crossplan.serving.cli import main

Service = tuple[TestClient, dict[str, str], str]

_ROW = {"region_id": "r002", "period": "2024-02-26", "category": "smuggling_of_migrants",
        "reported": 3, "detected": 4, "effort": 5.0}  # fmt: skip


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _csv(rows: list[dict[str, Any]]) -> bytes:
    return pd.DataFrame(rows).to_csv(index=False).encode()


def _post(
    client: TestClient,
    token: str,
    body: bytes,
    content_type: str,
    path: str = "/submissions",
    **params: str,
) -> Any:
    headers = {**bearer(token), "Content-Type": content_type}
    return client.post(path, content=body, headers=headers, params=params)


def test_new_corrected_and_unchanged_cells_are_counted_and_a_repeat_is_stored_once(
    database_service: Service,
) -> None:
    client, keys, _ = database_service
    rows = [_ROW, {**_ROW, "region_id": "r003"}]
    first = _post(client, keys["grc-reporter"], _csv(rows), "text/csv", file="week.csv")
    assert first.status_code == 200, first.text
    assert (first.json()["new"], first.json()["corrected"], first.json()["duplicate"]) == (
        2, 0, False
    )  # fmt: skip
    again = _post(client, keys["grc-reporter"], _csv(rows), "text/csv", file="week.csv")
    assert (
        again.json()["duplicate"] and again.json()["submission_id"] == first.json()["submission_id"]
    )
    fixed = [_ROW, {**_ROW, "region_id": "r003", "detected": 6}]
    buffer = io.BytesIO()
    pd.DataFrame(fixed).to_parquet(buffer)  # the same rows as Parquet, one corrected
    third = _post(client, keys["grc-reporter"], buffer.getvalue(),
                  "application/vnd.apache.parquet")  # fmt: skip
    assert third.status_code == 200, third.text
    assert (third.json()["new"], third.json()["corrected"], third.json()["unchanged"]) == (0, 1, 1)


@pytest.mark.parametrize(
    ("body", "content_type", "field", "message"),
    [
        # a malformed upload
        (b"\x00\x01not a parquet file", "application/vnd.apache.parquet", "upload.parquet",
         "cannot read"),
        # a region no regions file knows
        (_csv([{**_ROW, "region_id": "r999"}]), "text/csv", "upload.csv.2.region_id",
         "unknown region 'r999'"),
        # another country's region
        (_csv([{**_ROW, "region_id": "r010"}]), "text/csv", "upload.csv.2.region_id",
         "is in MKD"),
        # a period that has not started yet
        (_csv([{**_ROW, "period": "2099-01-05"}]), "text/csv", "upload.csv.2.period",
         "in the future"),
        # the same cell twice in one file
        (_csv([_ROW, {**_ROW, "detected": 9}]), "text/csv", "upload.csv.3.region_id",
         "duplicate row"),
        # a negative count, as JSON rows
        (b'{"rows": [{"region_id": "r002", "period": "2024-02-26", "reported": -1, '
         b'"detected": 0, "effort": 1}]}', "application/json", "rows[0].reported", "negative"),
        # JSON rows with a field the document does not describe (it was ignored)
        (b'{"rows": [{"region_id": "r002", "period": "2024-02-26", "reported": 1, '
         b'"detected": 0, "effort": 1}], "agency": "x"}', "application/json", "agency",
         "unknown field 'agency'"),
        # a body that is no table at all
        (b"hello", "text/plain", None, "unsupported content type"),
        # a period with a time-zone offset (it was an error 500)
        (_csv([{**_ROW, "period": "2024-02-26T00:00:00+02:00"}]), "text/csv",
         "upload.csv.2.period", "has a time-zone offset"),
        # a case variant of one of the panel's categories (it became a new category)
        (_csv([{**_ROW, "category": "Smuggling_Of_Migrants"}]), "text/csv",
         "upload.csv.2.category", "variant of the shared panel's 'smuggling_of_migrants'"),
        # a misspelt covariate: the panel's is named
        (_csv([{**_ROW, "cov_origin_presure": 1.0}]), "text/csv", "upload.csv.cov_origin_presure",
         "did you mean 'cov_origin_pressure'?"),
        # another agency named as the source
        (_csv([{**_ROW, "source": "Coast Guard"}]), "text/csv", "upload.csv.2.source",
         "is not this key's agency"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_every_problem_and_nothing_is_stored(
    database_service: Service, body: bytes, content_type: str, field: str | None, message: str
) -> None:
    client, keys, _ = database_service
    before = client.get("/incidents", params={"start": "2024-02-26"},
                        headers=bearer(keys["admin"])).json()["rows"]  # fmt: skip
    r = _post(client, keys["grc-reporter"], body, content_type)
    assert r.status_code == 400, r.text
    problems = r.json()["problems"]
    assert any(p["field"] == field and message in p["message"] and p["fix"] for p in problems), (
        problems
    )
    after = client.get("/incidents", params={"start": "2024-02-26"},
                       headers=bearer(keys["admin"])).json()["rows"]  # fmt: skip
    assert after == before


def test_a_file_name_with_control_characters_or_a_path_is_only_a_name(
    database_service: Service,
) -> None:
    client, keys, _ = database_service
    body = _csv([{**_ROW, "region_id": "r999"}])
    r = _post(client, keys["grc-reporter"], body, "text/csv", file="../we\x00ek\n.csv")
    assert r.status_code == 400, r.text
    assert r.json()["problems"][0]["field"] == "we_ek_.csv.2.region_id"


def test_one_bad_row_refuses_the_whole_submission(database_service: Service) -> None:
    client, keys, _ = database_service
    rows = [{**_ROW, "period": "2024-03-11"}, {**_ROW, "region_id": "r004", "period": "2024-03-11",
                                                "detected": 1.5}]  # fmt: skip
    r = _post(client, keys["grc-reporter"], _csv(rows), "text/csv")
    assert r.status_code == 400
    assert [p["row"] for p in r.json()["problems"]] == [3]
    stored = client.get("/incidents", params={"start": "2024-03-11"}, headers=bearer(keys["admin"]))
    assert stored.json()["rows"] == []


@pytest.mark.parametrize(
    ("key", "path", "status"),
    [
        ("planner", "/submissions", 403),  # planners plan; agencies' reporters submit
        ("grc-reporter", "/incidents", 403),  # a reporter submits and reads nothing
        ("grc-reporter", "/audit", 403),  # the audit trail is for admins
    ],
)
def test_roles_keep_to_their_part(
    database_service: Service, key: str, path: str, status: int
) -> None:
    client, keys, _ = database_service
    if path == "/submissions":
        r = _post(client, keys[key], _csv([_ROW]), "text/csv")
    else:
        r = client.get(path, headers=bearer(keys[key]))
    assert r.status_code == status


def test_a_submission_moves_the_next_answer_to_the_new_panel(database_service: Service) -> None:
    client, keys, _ = database_service
    planner = bearer(keys["planner"])
    before = client.get("/model", headers=planner).json()["data"]
    row = {**_ROW, "period": "2024-03-18", "region_id": "r005"}
    assert _post(client, keys["grc-reporter"], _csv([row]), "text/csv").status_code == 200
    after = client.get("/model", headers=planner).json()["data"]
    assert after["as_of"] > before["as_of"] and after["fingerprint"] != before["fingerprint"]
    assert after["newest_period"]["GRC"] == "2024-03-18"
    forecast = client.post("/forecast", json={"horizon": 1}, headers=planner).json()
    assert forecast["data"]["as_of"] == after["as_of"]
    # MKD's data now stop four weeks before the first forecast week: said in words
    assert any(w.startswith("MKD's data stop at") for w in forecast["warnings"]), forecast[
        "warnings"
    ]


def test_rows_with_a_source_column_leave_every_answer_working(database_service: Service) -> None:
    client, keys, _ = database_service
    row = {**_ROW, "region_id": "r006", "period": "2024-03-04", "source": "Border Police"}
    assert _post(client, keys["grc-reporter"], _csv([row]), "text/csv").status_code == 200
    # the panel still builds: reads, forecasts and plans answer (they answered 400)
    r = client.get("/incidents", params={"start": "2024-03-04"}, headers=bearer(keys["admin"]))
    assert r.status_code == 200 and r.json()["rows"], r.text
    planner = bearer(keys["planner"])
    assert client.post("/forecast", json={"horizon": 1}, headers=planner).status_code == 200
    assert client.post("/plan", json={"horizon": 1}, headers=planner).status_code == 200


# One file, four problems: a misspelt column, a misspelt category, another country's region
# (r010 is MKD's), and a negative count.
_FOUR = [
    {**_ROW, "category": "smugling_of_migrants", "sourse": "Border Police"},
    {**_ROW, "region_id": "r010", "sourse": "Border Police"},
    {**_ROW, "region_id": "r003", "reported": -1, "sourse": "Border Police"},
]


def _counts(url: str) -> dict[str, int]:
    """Rows of every table a submission, its refusal or its alerts write."""
    db = Database.connect(url)
    try:
        with db.read() as con:
            return {
                table.__tablename__: con.execute(
                    sa.select(sa.func.count()).select_from(table)
                ).scalar_one()
                for table in (Submission, CellVersion, AuditEntry, Alert, AlertJobRow)
            }
    finally:
        db.dispose()


def test_a_check_finds_what_a_submission_is_refused_for_and_writes_nothing(
    database_service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client, keys, url = database_service
    week = tmp_path / "week.csv"
    week.write_bytes(_csv(_FOUR))
    before = _counts(url)
    checked = _post(client, keys["grc-reporter"], week.read_bytes(), "text/csv",
                    file="week.csv", path="/submissions/check")  # fmt: skip
    assert checked.status_code == 400, checked.text
    # the command line makes the same checks against the same database
    out = tmp_path / "problems.json"
    argv = ["validate", "--file", str(week), "--database", "--key", keys["grc-reporter"]]
    assert main([*argv, "--json", str(out)]) == 2
    assert "did you mean 'source'?" in capsys.readouterr().err
    # a clean file: what it would store, and still nothing stored
    clean = _post(client, keys["grc-reporter"], _csv([{**_ROW, "period": "2024-04-01"}]),
                  "text/csv", path="/submissions/check")  # fmt: skip
    assert clean.status_code == 200, clean.text
    assert (clean.json()["new"], clean.json()["duplicate"]) == (1, False)
    assert _counts(url) == before  # no submission, cell, audit line or alert
    refused = _post(client, keys["grc-reporter"], week.read_bytes(), "text/csv", file="week.csv")
    assert refused.status_code == 400
    problems = refused.json()["problems"]
    assert checked.json()["problems"] == problems
    assert json.loads(out.read_text())["problems"] == problems
    assert [(p["row"], p["column"], p["message"]) for p in problems] == [
        (None, "sourse", "unknown column 'sourse' — did you mean 'source'?"),
        (4, "reported", "negative value -1.0"),
        (3, "region_id", "region 'r010' is in MKD: a key of GRC submits GRC's regions only"),
        (2, "category", "category 'smugling_of_migrants' is a variant of the shared panel's "
                        "'smuggling_of_migrants'"),
    ]  # fmt: skip


def test_a_reporter_reads_its_own_submissions_and_no_one_elses(database_service: Service) -> None:
    client, keys, _ = database_service
    mine = bearer(keys["grc-reporter"])
    first = _post(client, keys["grc-reporter"], _csv([{**_ROW, "period": "2024-03-18"}]),
                  "text/csv", file="first.csv").json()  # fmt: skip
    fixed = _post(client, keys["grc-reporter"],
                  _csv([{**_ROW, "period": "2024-03-18", "detected": 9}]), "text/csv",
                  file="fixed.csv").json()  # fmt: skip
    listed = client.get("/submissions", headers=mine).json()["submissions"]
    ids = [s["id"] for s in listed]
    assert ids[:2] == [fixed["submission_id"], first["submission_id"]]  # newest first
    assert {(s["country"], s["agency"]) for s in listed} == {("GRC", "Border Police")}
    receipt = client.get(f"/submissions/{first['submission_id']}", headers=mine).json()
    assert (receipt["file"], receipt["new"], receipt["fingerprint"]) == (
        "first.csv", 1, first["fingerprint"]
    )  # fmt: skip
    assert receipt["reverted_by"] == [] and receipt["quarantined"] is None
    # the rows it stored, the first one replaced since by the correction
    (row,) = client.get(f"/submissions/{first['submission_id']}/rows", headers=mine).json()["rows"]
    assert (row["region_id"], row["period"], row["detected"], row["current"]) == (
        "r002", "2024-03-18", 4, False
    )  # fmt: skip
    rows = client.get(f"/submissions/{fixed['submission_id']}/rows", headers=mine).json()["rows"]
    assert [(r["detected"], r["source"], r["current"]) for r in rows] == [
        (9, "Border Police", True)
    ]
    # another agency of GRC, and MKD's agency of the same name, find none of it
    for other in ("grc-police-reporter", "mkd-reporter"):
        theirs = bearer(keys[other])
        listed = client.get("/submissions", headers=theirs).json()["submissions"]
        assert first["submission_id"] not in [s["id"] for s in listed]
        for path in ("", "/rows"):
            r = client.get(f"/submissions/{first['submission_id']}{path}", headers=theirs)
            assert r.status_code == 404, r.text
    # analysts and planners submit nothing, so read no receipts; the operator reads them all
    assert client.get("/submissions", headers=bearer(keys["grc-analyst"])).status_code == 403
    operator = client.get(f"/submissions/{first['submission_id']}", headers=bearer(keys["admin"]))
    assert operator.json()["id"] == first["submission_id"]
