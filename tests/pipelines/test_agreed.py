"""A confirmed operation of the shared database in a plan's inputs, beside the candidates."""

from __future__ import annotations

from crossplan.optimize.command import Command
from crossplan.pipelines.agreed import agreed
from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database.operations import ConfirmedOperation


def _confirmed(regions: tuple[str, ...], multiplier: float = 1.5) -> ConfirmedOperation:
    return ConfirmedOperation(
        operation_id="JO-1", regions=regions, periods=("2026-03-09",),
        effort_multiplier=multiplier, parties=("GRC", "MKD"), pledges={},
        needs={"GRC": 4, "MKD": 4},
    )  # fmt: skip


def test_a_confirmed_operation_of_a_candidates_id_replaces_it_and_says_so_if_it_differs(
    tiny_dataset: Dataset,
) -> None:
    resources = tiny_dataset.resources
    (candidate,) = resources.joint_operations
    assert (candidate.operation_id, candidate.regions) == ("JO-1", ("r001", "r004", "r007"))
    # The candidate as it was agreed: it takes the candidate's place, and nothing is lost.
    same = agreed([_confirmed(candidate.regions)], resources, Command())
    assert [j.operation_id for j in same.resources.joint_operations] == ["JO-1"]
    assert same.warnings == ()
    # Another operation stored under the candidate's id: the candidate is not planned, and
    # the plan says which and how to fix it.
    other = agreed([_confirmed(("r004", "r007"), 1.2)], resources, Command())
    (joint,) = other.resources.joint_operations
    assert (joint.regions, joint.effort_multiplier) == (("r004", "r007"), 1.2)
    (warning,) = other.warnings
    assert "candidate operation JO-1 of the resources is not planned" in warning
    assert (
        "other regions, multiplier" in warning and "fix: give the candidate another id" in warning
    )
