"""Joint operations in the shared database, on SQLite and PostgreSQL: a proposal, its pledges
and its confirmation; every rule refused where it is broken; declines, withdrawals, cancels
and expiry; who reads what; the steps in the audit trail and in the parties' alerts.

The tiny world: GRC (r002-r008) and MKD (r001, r009, r010); their agreement opens r001, r004,
r007, r008 and r009 to both. "Now" is Wednesday 2026-03-04, so the current period starts
Monday 2026-03-02 and the operations run in the next two.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database import (
    Actor,
    Database,
    Need,
    Proposal,
    UnitPledge,
    audit_trail,
    cancel,
    confirmed_operations,
    decline,
    expire_due,
    get_operation,
    list_alerts,
    list_operations,
    pledge,
    propose,
    seed_operations,
    store_key,
    withdraw,
)
from crossplan.pipelines.database.keys import KeyRecord
from crossplan.pipelines.errors import (
    DataValidationError,
    OperationConflictError,
    OperationNotFoundError,
    OperationRefusedError,
)

NOW = datetime(2026, 3, 4, 12, 0)
WEEKS = (date(2026, 3, 9), date(2026, 3, 16))
GRC = Actor("grc-planner", "GRC", "Border Police")
GRC_CG = Actor("grc-coast", "GRC", "Coast Guard")
MKD = Actor("mkd-planner", "MKD", "Border Police")
ALB = Actor("alb-planner", "ALB", "Border Police")  # no party: not even told it exists
OPERATOR = Actor("cli:ops")


class Reader:
    """An alert audience (:class:`serving.sharing.Audience` gives these labels)."""

    def __init__(self, label: str) -> None:
        self.label, self.operator = label, label == "*"


@pytest.fixture
def db(shared_db: Database) -> Database:
    """The tiny world with an agency's key of each country (the alerts' audiences)."""
    for i, actor in enumerate((GRC, GRC_CG, MKD, ALB)):
        key = KeyRecord(actor.key_name, "planner", actor.country, actor.agency, f"{i:064x}", "t")
        store_key(shared_db, key)
    return shared_db


def _proposal(**change: Any) -> Proposal:
    fields: dict[str, Any] = {
        "regions": ("r004", "r007"),
        "periods": WEEKS,
        "needs": {"GRC": Need(4), "MKD": Need(4)},
        "effort_multiplier": 1.5,
    }
    return Proposal(**{**fields, **change})


def _kinds(db: Database, operation_id: str) -> list[str]:
    return [s.kind for s in get_operation(db, None, operation_id).steps]


def test_a_proposal_pledged_by_every_party_is_confirmed(
    db: Database, tiny_dataset: Dataset
) -> None:
    proposed = propose(db, tiny_dataset, GRC, _proposal(), now=NOW)
    op = proposed.operation
    assert (op.operation_id, op.status(NOW), op.deadline) == ("JO-2", "open", datetime(2026, 3, 9))
    pledge(db, tiny_dataset, MKD, "JO-2", [UnitPledge("MKD-BP-01", 4)], now=NOW)
    assert get_operation(db, "GRC", "JO-2").shortfall() == {
        "GRC": ["4 shifts in 2026-03-09", "4 shifts in 2026-03-16"]
    }
    assert confirmed_operations(db, WEEKS) == []  # not before every need is pledged
    shifts = {WEEKS[0]: 4, WEEKS[1]: 6}
    done = pledge(db, tiny_dataset, GRC, "JO-2", [UnitPledge("GRC-BP-01", shifts)], now=NOW)
    assert [s.kind for s in done.steps] == ["pledged", "confirmed"]  # in the same transaction
    assert _kinds(db, "JO-2") == ["proposed", "pledged", "pledged", "confirmed"]
    (confirmed,) = confirmed_operations(db, [WEEKS[1], date(2026, 5, 4)])
    assert (confirmed.operation_id, confirmed.regions, confirmed.periods) == (
        "JO-2", ("r004", "r007"), ("2026-03-16",),
    )  # fmt: skip
    assert (confirmed.effort_multiplier, confirmed.parties) == (1.5, ("GRC", "MKD"))
    assert {c: [(u.unit_id, dict(u.shifts)) for u in units]
            for c, units in confirmed.pledges.items()} == {
        "GRC": [("GRC-BP-01", {"2026-03-16": 6})],
        "MKD": [("MKD-BP-01", {"2026-03-16": 4})],
    }  # fmt: skip
    assert confirmed_operations(db, [date(2026, 3, 23)]) == []  # not a period of it
    # every step in the audit trail, naming both parties (each party's admins read it)
    trail = [(e.actor, e.action, e.detail["seq"]) for e in audit_trail(db, 4)]
    assert trail == [
        ("grc-planner", "operation_confirmed", 4), ("grc-planner", "operation_pledged", 3),
        ("mkd-planner", "operation_pledged", 2), ("grc-planner", "operation_proposed", 1),
    ]  # fmt: skip
    assert [e.action for e in audit_trail(db, 10, country="ALB")] == []
    assert len(audit_trail(db, 10, country="MKD", action="operation_pledged")) == 2


def test_every_step_alerts_each_agency_of_every_party_and_no_one_else(
    db: Database, tiny_dataset: Dataset
) -> None:
    propose(db, tiny_dataset, GRC, _proposal(), now=NOW)
    pledge(db, tiny_dataset, MKD, "JO-2", [UnitPledge("MKD-BP-01", 4)], now=NOW)
    for label in ("*", "GRC/Border Police", "GRC/Coast Guard", "MKD/Border Police"):
        alerts = list_alerts(db, Reader(label))
        assert [a.kind for a in alerts] == ["operation_pledged", "operation_proposed"], label
        assert alerts[0].operation is not None and alerts[0].operation["operation_id"] == "JO-2"
        assert alerts[0].region_id is None and alerts[0].submission_id is None
    assert list_alerts(db, Reader("ALB/Border Police")) == []
    # GRC reads MKD's pledge as shifts per period, not its units; MKD and the operator do
    told = {label: list_alerts(db, Reader(label))[0].operation for label in
            ("GRC/Border Police", "MKD/Border Police", "*")}  # fmt: skip
    assert told["GRC/Border Police"]["shifts"] == {"2026-03-09": 4, "2026-03-16": 4}
    assert told["GRC/Border Police"]["units"] is None
    assert told["GRC/Border Police"]["by"] == {"key": None, "agency": "Border Police",
                                               "country": "MKD"}  # fmt: skip
    assert told["MKD/Border Police"]["units"][0]["unit_id"] == "MKD-BP-01"
    assert told["*"]["by"]["key"] == "mkd-planner"


def test_a_non_party_learns_nothing(db: Database, tiny_dataset: Dataset) -> None:
    propose(db, tiny_dataset, GRC, _proposal(), now=NOW)
    assert list_operations(db, "ALB", now=NOW) == []
    assert [o.operation_id for o in list_operations(db, None, now=NOW)] == ["JO-2"]
    assert [o.operation_id for o in list_operations(db, "MKD", status="open", now=NOW)] == ["JO-2"]
    unknown = "no operation JO-2 of yours"
    with pytest.raises(OperationNotFoundError, match=unknown):
        get_operation(db, "ALB", "JO-2")
    for act in (
        lambda: pledge(db, tiny_dataset, ALB, "JO-2", [UnitPledge("MKD-BP-01", 4)], now=NOW),
        lambda: decline(db, ALB, "JO-2", now=NOW),
        lambda: withdraw(db, ALB, "JO-2", now=NOW),
        lambda: cancel(db, ALB, "JO-2", reason="why not", now=NOW),
    ):
        with pytest.raises(OperationNotFoundError, match=unknown):
            act()
    with pytest.raises(OperationNotFoundError, match="no operation JO-10"):
        get_operation(db, None, "JO-10")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        # a region no agreement opens to GRC, proposed by GRC
        ({"regions": ("r004", "r010")}, "regions[1]", "'r010' of MKD is opened to GRC by no"),
        ({"regions": ("r004", "r999")}, "regions[1]", "unknown region 'r999'"),
        ({"regions": ("r004", "r004")}, "regions[1]", "named twice"),
        ({"regions": ()}, "regions", "no region"),
        # periods start panel periods (weekly: Mondays), none before the current one
        ({"periods": (date(2026, 3, 10),)}, "periods[0]", "starts no weekly period"),
        ({"periods": (date(2026, 2, 23),)}, "periods[0]", "2026-02-23 is in the past"),
        ({"periods": ()}, "periods", "no period"),
        # a date no calendar arithmetic of pandas reaches
        ({"periods": (date(9999, 12, 27),)}, "periods[0]", "more than 731 days ahead"),
        # needs: two parties at least, each within what its units can give there
        ({"needs": {"GRC": Need(4)}}, "needs", "at least two"),
        ({"needs": {"GRC": Need(4), "ALB": Need(1)}}, "needs.ALB", "no region in the panel"),
        ({"needs": {"GRC": Need(4), "MKD": Need(0)}}, "needs.MKD.shifts", "0 shifts"),
        ({"needs": {"GRC": Need(40), "MKD": Need(4)}}, "needs.GRC.shifts", "have 34"),
        # a part from an agency with no unit there
        (
            {"needs": {"GRC": Need(4), "MKD": Need(4, {"Navy": 2})}},
            "needs.MKD.by_agency.Navy",
            "2 shifts of Navy per period, but",
        ),
        # a part from one agency bigger than the need it is part of
        (
            {"needs": {"GRC": Need(4, {"Coast Guard": 5}), "MKD": Need(4)}},
            "needs.GRC.by_agency.Coast Guard",
            "5 shifts",
        ),
        # the deadline: in the future, at the latest when the first period ends
        ({"deadline": datetime(2026, 3, 4, 11)}, "deadline", "is not between now"),
        ({"deadline": datetime(2026, 3, 17)}, "deadline", "is not between now"),
        ({"effort_multiplier": 0.5}, "effort_multiplier", "outside 1-10"),
        ({"operation_id": "JO 7"}, "operation_id", "is not an operation id"),
    ],
)
def test_a_proposal_that_breaks_a_rule_is_refused_where_it_breaks_it(
    db: Database, tiny_dataset: Dataset, change: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(DataValidationError) as refused:
        propose(db, tiny_dataset, GRC, _proposal(**change), now=NOW)
    assert [(p.row, message in p.message) for p in refused.value.problems] == [(field, True)]
    assert list_operations(db, None, now=NOW) == []  # nothing written


def test_who_may_propose(db: Database, tiny_dataset: Dataset) -> None:
    with pytest.raises(OperationRefusedError, match="proposes operations ALB is party to"):
        propose(db, tiny_dataset, ALB, _proposal(), now=NOW)
    analyst = Actor("grc-analyst", "GRC", "Border Police", planner=False)
    with pytest.raises(OperationRefusedError, match="may not propose"):
        propose(db, tiny_dataset, analyst, _proposal(), now=NOW)
    # a region of the proposer's own country needs no agreement (r005 is GRC's)
    mine = propose(db, tiny_dataset, GRC, _proposal(regions=("r005", "r004")), now=NOW)
    assert mine.operation.operation_id == "JO-2"
    # the operator seeds: any parties, regions every party's agreements open
    seeded = propose(db, tiny_dataset, OPERATOR, _proposal(deadline=datetime(2026, 3, 8)), now=NOW)
    assert (seeded.operation.operation_id, seeded.operation.country) == ("JO-3", None)
    with pytest.raises(
        DataValidationError, match=r"r005.* of GRC is opened to MKD by no agreement"
    ):
        propose(db, tiny_dataset, OPERATOR, _proposal(regions=("r005",)), now=NOW)
    with pytest.raises(OperationConflictError, match="operation JO-3 exists"):
        propose(db, tiny_dataset, GRC, _proposal(operation_id="JO-3"), now=NOW)


def test_an_operation_never_takes_the_id_of_a_resources_candidate(
    db: Database, tiny_dataset: Dataset
) -> None:
    """A stored operation takes the place of the candidate of its id in every plan, so a
    candidate's id (the tiny world's resources name JO-1) is neither generated nor given."""
    assert [j.operation_id for j in tiny_dataset.resources.joint_operations] == ["JO-1"]
    first = propose(db, tiny_dataset, GRC, _proposal(), now=NOW)
    assert first.operation.operation_id == "JO-2"
    with pytest.raises(OperationConflictError, match="JO-1 is a candidate operation") as taken:
        propose(db, tiny_dataset, GRC, _proposal(operation_id="JO-1"), now=NOW)
    assert "fix: choose another id" in str(taken.value)
    assert [o.operation_id for o in list_operations(db, None, now=NOW)] == ["JO-2"]
    # A resources file without candidates reserves nothing.
    bare = replace(tiny_dataset, resources=tiny_dataset.resources.model_copy(
        update={"joint_operations": ()}))  # fmt: skip
    assert propose(db, bare, GRC, _proposal(), now=NOW).operation.operation_id == "JO-3"
    assert propose(db, bare, GRC, _proposal(operation_id="JO-1"), now=NOW)


@pytest.mark.parametrize(
    ("actor", "units", "field", "message"),
    [
        (MKD, [("GRC-BP-01", 4)], "units[0].unit_id", "is of GRC, not of MKD"),
        (GRC, [("GRC-CG-01", 4)], "units[0].unit_id", "of Coast Guard, not of your agency"),
        (GRC, [("GRC-XX-01", 4)], "units[0].unit_id", "unknown unit"),
        (GRC, [("GRC-BP-01", 4), ("GRC-BP-01", 2)], "units[1].unit_id", "named twice"),
        # GRC's coast guard works r001, r006, r007 and r009: none of r004 and r008
        (GRC_CG, [("GRC-CG-01", 4)], "units[0].unit_id", "may work none of the regions"),
        (
            MKD,
            [("MKD-BP-01", {date(2026, 3, 9): 17})],
            "units[0].shifts.2026-03-09",
            "17 shifts; unit",
        ),
        (
            MKD,
            [("MKD-BP-01", {date(2026, 3, 23): 4})],
            "units[0].shifts.2026-03-23",
            "no period of JO-2",
        ),
        (MKD, [("MKD-BP-01", 0)], "units", "no shift pledged"),
        (MKD, [], "units", "no unit"),
    ],
)
def test_a_pledge_that_breaks_a_rule_is_refused_where_it_breaks_it(
    db: Database, tiny_dataset: Dataset, actor: Actor, units: list[Any], field: str, message: str
) -> None:
    propose(db, tiny_dataset, GRC, _proposal(regions=("r004", "r008")), now=NOW)
    with pytest.raises(DataValidationError) as refused:
        pledge(db, tiny_dataset, actor, "JO-2", [UnitPledge(*u) for u in units], now=NOW)
    assert [(p.row, message in p.message) for p in refused.value.problems] == [(field, True)]
    assert _kinds(db, "JO-2") == ["proposed"]


def test_a_new_pledge_replaces_its_agencys_earlier_one(db: Database, tiny_dataset: Dataset) -> None:
    need = {"GRC": Need(9, {"Coast Guard": 2}), "MKD": Need(4)}
    propose(db, tiny_dataset, GRC, _proposal(needs=need), now=NOW)
    pledge(db, tiny_dataset, MKD, "JO-2", [UnitPledge("MKD-BP-01", 4)], now=NOW)
    pledge(db, tiny_dataset, GRC, "JO-2", [UnitPledge("GRC-BP-01", 9)], now=NOW)
    pledge(db, tiny_dataset, GRC, "JO-2", [UnitPledge("GRC-BP-01", 5)], now=NOW)  # replaces
    op = get_operation(db, "GRC", "JO-2")
    assert op.pledged_shifts("GRC") == {"2026-03-09": 5, "2026-03-16": 5}
    assert op.shortfall()["GRC"][0] == "4 shifts in 2026-03-09"
    # the coast guard pledges its own units, beside the border police's
    done = pledge(db, tiny_dataset, GRC_CG, "JO-2", [UnitPledge("GRC-CG-01", 4)], now=NOW)
    assert done.operation.pledged_shifts("GRC") == {"2026-03-09": 9, "2026-03-16": 9}
    assert done.operation.status(NOW) == "confirmed"
    # the operator pledges for a country's agencies at once: it replaces them all
    need = {"GRC": Need(2), "MKD": Need(4)}
    propose(db, tiny_dataset, GRC, _proposal(needs=need), now=NOW)
    pledge(db, tiny_dataset, GRC, "JO-3", [UnitPledge("GRC-BP-01", 1)], now=NOW)
    pledge(db, tiny_dataset, GRC_CG, "JO-3", [UnitPledge("GRC-CG-01", 1)], now=NOW)
    pledge(db, tiny_dataset, OPERATOR, "JO-3", [UnitPledge("GRC-NP-01", 1)], now=NOW)
    assert list(get_operation(db, None, "JO-3").pledges()["GRC"]) == ["GRC-NP-01"]


def test_a_decline_or_an_expiry_leaves_it_not_launched(db: Database, tiny_dataset: Dataset) -> None:
    propose(db, tiny_dataset, GRC, _proposal(), now=NOW)
    decline(db, MKD, "JO-2", reason="no crews that week", now=NOW)
    with pytest.raises(OperationConflictError, match="MKD declined JO-2"):
        pledge(db, tiny_dataset, MKD, "JO-2", [UnitPledge("MKD-BP-01", 4)], now=NOW)
    with pytest.raises(OperationConflictError, match="declined JO-2 already"):
        decline(db, MKD, "JO-2", now=NOW)
    pledge(db, tiny_dataset, GRC, "JO-2", [UnitPledge("GRC-BP-01", 4)], now=NOW)
    with pytest.raises(OperationConflictError, match="a pledge is not declined"):
        decline(db, GRC, "JO-2", now=NOW)
    assert get_operation(db, None, "JO-2").status(NOW) == "open"
    # at the deadline it expires, once; then nothing more happens to it
    assert expire_due(db, now=datetime(2026, 3, 8, 23)) == []
    (expired,) = expire_due(db, now=datetime(2026, 3, 9))
    assert [s.kind for s in expired.steps] == ["expired"]
    assert [a.kind for a in expired.alerts][:2] == ["operation_expired"] * 2
    assert expire_due(db, now=datetime(2026, 3, 10)) == []
    later = datetime(2026, 3, 10)
    with pytest.raises(OperationConflictError, match="JO-2 is expired"):
        pledge(db, tiny_dataset, MKD, "JO-2", [UnitPledge("MKD-BP-01", 4)], now=later)
    with pytest.raises(OperationConflictError, match="JO-2 is expired"):
        cancel(db, GRC, "JO-2", reason="too late", now=later)
    assert confirmed_operations(db, WEEKS) == []
    assert _kinds(db, "JO-2") == ["proposed", "declined", "pledged", "expired"]
    assert audit_trail(db, 1)[0].action == "operation_expired"


def test_an_operation_past_its_deadline_is_expired_before_its_event_is_written(
    db: Database, tiny_dataset: Dataset
) -> None:
    propose(db, tiny_dataset, GRC, _proposal(), now=NOW)
    later = datetime(2026, 3, 9, 0, 1)
    assert [o.operation_id for o in list_operations(db, "GRC", status="expired", now=later)] == [
        "JO-2"
    ]
    with pytest.raises(OperationConflictError, match="JO-2 is expired"):
        pledge(db, tiny_dataset, MKD, "JO-2", [UnitPledge("MKD-BP-01", 4)], now=later)


def test_withdraw_by_the_proposers_country_cancel_by_any_party(
    db: Database, tiny_dataset: Dataset
) -> None:
    propose(db, tiny_dataset, GRC, _proposal(), now=NOW)
    with pytest.raises(OperationRefusedError, match="only GRC, which proposed JO-2, withdraws"):
        withdraw(db, MKD, "JO-2", now=NOW)
    withdraw(db, GRC, "JO-2", reason="weather", now=NOW)
    with pytest.raises(OperationConflictError, match="JO-2 is withdrawn"):
        cancel(db, MKD, "JO-2", reason="anyway", now=NOW)
    # a confirmed operation may still be called off, by any party, with a reason
    propose(db, tiny_dataset, GRC, _proposal(), now=NOW)
    pledge(db, tiny_dataset, MKD, "JO-3", [UnitPledge("MKD-BP-01", 4)], now=NOW)
    pledge(db, tiny_dataset, GRC, "JO-3", [UnitPledge("GRC-BP-01", 4)], now=NOW)
    with pytest.raises(OperationConflictError, match="JO-3 is confirmed"):
        withdraw(db, GRC, "JO-3", now=NOW)
    with pytest.raises(DataValidationError, match="no reason"):
        cancel(db, MKD, "JO-3", reason=" ", now=NOW)
    cancel(db, MKD, "JO-3", reason="the boats are needed elsewhere", now=NOW)
    assert confirmed_operations(db, WEEKS) == []
    op = get_operation(db, "GRC", "JO-3")
    assert (op.status(NOW), op.steps[-1].detail["reason"]) == (
        "cancelled", "the boats are needed elsewhere",
    )  # fmt: skip
    with pytest.raises(OperationConflictError, match="JO-3 is cancelled"):
        cancel(db, GRC, "JO-3", reason="again", now=NOW)


def test_a_seed_whose_id_is_another_candidates_is_refused_not_called_seeded_before(
    db: Database, tiny_dataset: Dataset
) -> None:
    (candidate,) = tiny_dataset.resources.joint_operations
    named = candidate.model_copy(update={"operation_id": "JO-1.2026-03-09"})
    resources = tiny_dataset.resources.model_copy(update={"joint_operations": (candidate, named)})
    dataset = replace(tiny_dataset, resources=resources)
    first, second = seed_operations(db, dataset, WEEKS, actor=OPERATOR, now=NOW)
    assert (first.operation_id, first.outcome) == ("JO-1.2026-03-09", "refused")
    assert "another candidate's id" in first.message and "fix:" in first.message
    assert (second.operation_id, second.outcome) == ("JO-1.2026-03-09.2026-03-09", "proposed")


def test_the_resources_candidates_are_seeded_once_per_periods(
    db: Database, tiny_dataset: Dataset
) -> None:
    (seeded,) = seed_operations(db, tiny_dataset, WEEKS, actor=OPERATOR, now=NOW)
    assert (seeded.candidate, seeded.operation_id, seeded.outcome) == (
        "JO-1", "JO-1.2026-03-09", "proposed",
    )  # fmt: skip
    op = get_operation(db, "MKD", "JO-1.2026-03-09")
    assert (op.regions, op.effort_multiplier, dict(op.needs)) == (
        ("r001", "r004", "r007"), 1.5, {"GRC": Need(4), "MKD": Need(4)},
    )  # fmt: skip
    assert op.steps[0].detail == {"candidate": "JO-1"}
    again = seed_operations(db, tiny_dataset, WEEKS, actor=OPERATOR, now=NOW)
    assert [s.outcome for s in again] == ["exists"]
    past = seed_operations(db, tiny_dataset, [date(2026, 2, 23)], actor=OPERATOR, now=NOW)
    assert past[0].outcome == "refused" and "in the past" in past[0].message


@pytest.mark.parametrize("table", ["operations", "operation_events"])
def test_an_operations_history_is_never_rewritten(
    db: Database, tiny_dataset: Dataset, table: str
) -> None:
    propose(db, tiny_dataset, GRC, _proposal(), now=NOW)
    for statement in (f"UPDATE {table} SET key_name = 'x'", f"DELETE FROM {table}"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as con:
            con.execute(sa.text(statement))


def test_a_key_of_a_country_acts_for_its_own_country(db: Database, tiny_dataset: Dataset) -> None:
    propose(db, tiny_dataset, GRC, _proposal(), now=NOW)
    mkd_unit = [UnitPledge("MKD-BP-01", 4)]
    with pytest.raises(DataValidationError, match="a key of GRC acts for GRC, not MKD"):
        pledge(db, tiny_dataset, GRC, "JO-2", mkd_unit, party="MKD", now=NOW)
    with pytest.raises(DataValidationError, match="a key of GRC acts for GRC, not MKD"):
        decline(db, GRC, "JO-2", party="MKD", now=NOW)
    # the operator names the party, or its units do
    with pytest.raises(DataValidationError, match="no single country is not party"):
        pledge(db, tiny_dataset, OPERATOR, "JO-2", [UnitPledge("XX-1", 4)], now=NOW)
    done = pledge(db, tiny_dataset, OPERATOR, "JO-2", mkd_unit, now=NOW)
    assert done.steps[0].party == "MKD" and done.steps[0].country is None


def test_a_unit_is_never_pledged_beyond_its_shifts_across_operations(
    db: Database, tiny_dataset: Dataset
) -> None:
    """GRC-BP-01 has 12 shifts a week: 8 of them pledged to JO-2 leave 4 for JO-3 in its
    weeks; what an ended operation or another party held is free again."""
    propose(db, tiny_dataset, GRC, _proposal(), now=NOW)
    pledge(db, tiny_dataset, GRC, "JO-2", [UnitPledge("GRC-BP-01", 8)], now=NOW)
    needs = {"GRC": Need(12), "MKD": Need(4)}
    later = _proposal(periods=(WEEKS[1], date(2026, 3, 23)), needs=needs)
    propose(db, tiny_dataset, MKD, later, now=NOW)
    with pytest.raises(DataValidationError) as refused:
        pledge(db, tiny_dataset, GRC, "JO-3", [UnitPledge("GRC-BP-01", 5)], now=NOW)
    (problem,) = refused.value.problems
    assert problem.row == "units[0].shifts.2026-03-16"  # the week both run in, only
    assert "8 of them are pledged in 2026-03-16 (8 to JO-2)" in problem.message
    assert "pledge at most 4" in problem.fix and "JO-2" in problem.fix
    assert _kinds(db, "JO-3") == ["proposed"]  # nothing written
    # 4 fit; the week JO-2 does not run in takes all 12
    pledge(db, tiny_dataset, GRC, "JO-3", [UnitPledge("GRC-BP-01", {WEEKS[1]: 4,
                                                                   date(2026, 3, 23): 12})],
           now=NOW)  # fmt: skip
    # the operator pledges for GRC by the same rule
    with pytest.raises(DataValidationError):
        pledge(db, tiny_dataset, OPERATOR, "JO-3", [UnitPledge("GRC-BP-01", 5)], now=NOW)
    # MKD's units are MKD's: GRC's bookings hold none of them
    pledge(db, tiny_dataset, MKD, "JO-3", [UnitPledge("MKD-BP-01", 4)], now=NOW)
    # once JO-2 is cancelled its shifts are free again
    cancel(db, GRC, "JO-2", reason="the route moved", now=NOW)
    done = pledge(db, tiny_dataset, GRC, "JO-3", [UnitPledge("GRC-BP-01", 12)], now=NOW)
    assert done.operation.pledged_shifts("GRC") == {"2026-03-16": 12, "2026-03-23": 12}
    assert done.operation.status(NOW) == "confirmed"
