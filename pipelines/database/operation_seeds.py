"""The resources' joint-operation candidates, seeded as the operator's proposals.

``resources.json`` names candidate operations (:class:`optimize.resources.JointOperation`:
countries, regions, the shifts each country must commit, the effort multiplier), and the data
contract reads them as before. :func:`seed_operations` turns each into a proposal of the
operator for the periods given, which its parties then pledge to or decline like any other
(:mod:`pipelines.database.operations`): every country of the candidate needs
``min_shifts_per_country`` shifts per period. A seeded operation's id is the candidate's and
its first period (``JO-1.2026-03-02``), so seeding the same periods again proposes nothing
twice, and a later period is a new operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from crossplan.pipelines.contract import Dataset
from crossplan.pipelines.database.engine import Database
from crossplan.pipelines.database.operation_rules import Actor, Proposal
from crossplan.pipelines.database.operation_state import Need
from crossplan.pipelines.database.operation_store import Outcome
from crossplan.pipelines.database.operations import propose
from crossplan.pipelines.database.outbox import Posts
from crossplan.pipelines.errors import (
    CandidateIdError,
    DataValidationError,
    OperationConflictError,
)

__all__ = ["Seeded", "seed_operations"]


@dataclass(frozen=True)
class Seeded:
    """What became of one candidate.

    Attributes
    ----------
    outcome
        ``proposed``; ``exists`` (seeded before for these periods); ``refused`` (it breaks a
        rule of proposals: ``message`` says which).
    """

    candidate: str
    operation_id: str
    outcome: str
    message: str = ""
    proposed: Outcome | None = None

    def to_dict(self) -> dict[str, str]:
        return {
            "candidate": self.candidate,
            "operation_id": self.operation_id,
            "outcome": self.outcome,
            "message": self.message,
        }


def seed_operations(
    db: Database,
    dataset: Dataset,
    periods: Sequence[date],
    *,
    actor: Actor,
    deadline: datetime | None = None,
    now: datetime | None = None,
    posts: Posts | None = None,
) -> list[Seeded]:
    """Propose every candidate of the panel's resources for ``periods``, as ``actor`` (the
    operator), each proposal with its alerts' posts (``posts``); one :class:`Seeded` per
    candidate, in the resources' order."""
    candidates = dataset.resources.joint_operations if dataset.resources else ()
    first = min(periods).isoformat() if periods else "none"
    seeded = []
    for candidate in candidates:
        operation_id = f"{candidate.operation_id}.{first}"
        proposal = Proposal(
            regions=candidate.regions,
            periods=tuple(periods),
            needs={c: Need(candidate.min_shifts_per_country) for c in candidate.countries},
            effort_multiplier=candidate.effort_multiplier,
            deadline=deadline,
            operation_id=operation_id,
            candidate=candidate.operation_id,
        )
        name = candidate.operation_id
        try:
            done = propose(db, dataset, actor, proposal, now=now, posts=posts)
        except CandidateIdError:  # not seeded before: the seed's id is another candidate's
            seeded.append(Seeded(name, operation_id, "refused",
                                 f"{operation_id} is another candidate's id in the resources "
                                 "— fix: give that candidate another id"))  # fmt: skip
        except OperationConflictError:
            seeded.append(Seeded(name, operation_id, "exists", "seeded before for these periods"))
        except DataValidationError as err:
            message = "; ".join(f"{p.row}: {p.message}" for p in err.problems)
            seeded.append(Seeded(name, operation_id, "refused", message))
        else:
            seeded.append(Seeded(name, operation_id, "proposed", proposed=done))
    return seeded
