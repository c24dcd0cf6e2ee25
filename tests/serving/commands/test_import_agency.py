"""``crossplan import --agency``: imported rows carry their owner, so an agency's own keys read
its historical rows as sent, and other agencies' keys read them suppressed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from crossplan.pipelines.database import Database, audit_trail
from crossplan.serving.auth import KeyStore, Role, add_key
from crossplan.serving.cli import main
from crossplan.serving.commands.import_ import agencies_of

# The tiny world: GRC owns r002-r008, MKD r001, r009 and r010; the agreement covers r001,
# r004, r007, r008 and r009.
GRC, MKD = "Hellenic Police", "MoI Border Police"


def test_an_agency_reads_its_own_imported_small_counts_as_sent(
    crossplan_home: Path,
    tiny_world_dir: Path,
    forecast_file: Path,
    asgi_app: Any,
    point_service: Callable[[dict[str, str]], None],
) -> None:
    args = ["import", "--data", str(tiny_world_dir), "--agency", f"GRC={GRC}"]
    assert main([*args, "--agency", f"MKD={MKD}"]) == 0
    keys = KeyStore(Database.connect())
    tokens = {
        "grc": add_key(keys, "grc-analyst", Role.ANALYST, country="GRC", agency=GRC),
        "mkd": add_key(keys, "mkd-analyst", Role.ANALYST, country="MKD", agency=MKD),
        "operator": add_key(keys, "ops", Role.ANALYST),
    }
    point_service({"CROSSPLAN_HOME": str(crossplan_home), "CROSSPLAN_DATA": str(tiny_world_dir),
                   "CROSSPLAN_FORECAST_FILE": str(forecast_file)})  # fmt: skip
    grc_regions = {f"r00{i}" for i in range(2, 9)}
    with TestClient(asgi_app) as client:

        def observed(who: str) -> list[dict[str, Any]]:
            headers = {"Authorization": f"Bearer {tokens[who]}"}
            r = client.get("/observed", params={"periods": 520}, headers=headers)
            assert r.status_code == 200, r.text
            rows: list[dict[str, Any]] = r.json()["rows"]
            return rows

        exact = {(r["region_id"], r["category"], r["period"]): r for r in observed("operator")}
        small = [k for k, r in exact.items() if k[0] in grc_regions and r["observed"] in (1, 2)]
        assert small, "the tiny world has small counts in GRC's regions"
        grc = observed("grc")
        seen = {(r["region_id"], r["category"], r["period"]): r for r in grc}
        assert [seen[k]["observed"] for k in small] == [exact[k]["observed"] for k in small]
        assert not [r for r in grc if r["region_id"] in grc_regions and r["suppressed"]]
        # MKD's small counts in the agreement's regions are MKD's: suppressed to GRC...
        theirs = [r for r in grc if r["region_id"] in {"r001", "r009"} and r["suppressed"]]
        assert theirs, "MKD's small counts are hidden from GRC"
        # ... and read as sent by MKD's own key
        mkd = {(r["region_id"], r["category"], r["period"]): r for r in observed("mkd")}
        for row in theirs:
            mine = mkd[row["region_id"], row["category"], row["period"]]
            assert not mine["suppressed"] and mine["observed"] is not None
    (event,) = audit_trail(Database.connect(), action="import")
    assert event.detail["agencies"] == {"GRC": GRC, "MKD": MKD}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], (None, {})),  # the operator's rows
        (["Border Police"], ("Border Police", {})),  # every row one agency's
        (["GRC=Hellenic Police", "MKD=MoI"], (None, {"GRC": "Hellenic Police", "MKD": "MoI"})),
        (["Ops", "GRC=HP"], ("Ops", {"GRC": "HP"})),  # GRC's rows HP's, the others Ops'
        (["GRC=HP", "GRC=HP"], (None, {"GRC": "HP"})),  # said twice, the same
    ],
)
def test_agency_values(values: list[str], expected: tuple[Any, ...]) -> None:
    assert agencies_of(values) == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["A", "B"], "twice for every row"),
        (["GRC=A", "GRC=B"], "GRC two agencies"),
        (["GRC="], "1-200 characters"),
        (["x" * 201], "1-200 characters"),
    ],
)
def test_bad_agency_values_are_refused_before_anything_is_stored(
    crossplan_home: Path,
    tiny_world_dir: Path,
    values: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["import", "--data", str(tiny_world_dir)]
    assert main([*args, *(a for v in values for a in ("--agency", v))]) == 2
    assert message in capsys.readouterr().err
    assert not (crossplan_home / "crossplan.db").exists()
