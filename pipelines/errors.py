"""Errors that crossplan reports to its users.

Every error a user can cause derives from :class:`CrossplanError`; the CLI turns it into a
message and exit status 2, the HTTP service into a 4xx response. Nothing else should escape
to a user as a stack trace.

::

    CrossplanError                  base: a problem the user can fix
    ├── DataValidationError         input files or bodies break the data contract;
    │                               carries every :class:`Problem` found, not just the first
    ├── ConfigurationError          bad options, environment or paths
    ├── PanelBuildError             the shared database's cells do not make a panel; names
    │                               the newest submission involved, to revert it
    ├── PlanningFailedError         the solver gave no plan (failure, or none within the time)
    ├── OperationNotFoundError      no joint operation of that id that the caller is party to
    ├── OperationRefusedError       the caller may not do this to the joint operation (not the
    │                               proposer's country, not a planner)
    └── OperationConflictError      the joint operation's state forbids it (confirmed,
        │                           expired, withdrawn, cancelled; a party that declined)
        └── CandidateIdError        the id asked for is a candidate operation's of the
                                    resources
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# Every command imports this module: its start pays for neither datetime nor typing (type
# checkers read the name as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "CandidateIdError",
    "ConfigurationError",
    "CrossplanError",
    "DataValidationError",
    "OperationConflictError",
    "OperationNotFoundError",
    "OperationRefusedError",
    "PanelBuildError",
    "PlanningFailedError",
    "Problem",
]


class CrossplanError(Exception):
    """A problem the user can fix; ``str(err)`` is the message to show them."""


@dataclass(frozen=True)
class Problem:
    """One broken rule of the data contract, located as precisely as possible.

    Parameters
    ----------
    file
        Name of the file (or request part) that holds the problem.
    message
        What is wrong.
    fix
        What to do about it.
    row
        Where in the file, as the user finds it there: the line number for CSV (the header is
        line 1), the 1-based row for Parquet, the 1-based feature number for GeoJSON, a path
        such as ``units[2].home_region`` for JSON. ``None`` when the whole file is at fault.
    column
        Column, property or field name, when one is at fault.
    """

    file: str
    message: str
    fix: str
    row: int | str | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = self.file
        if isinstance(self.row, int):
            where += f", row {self.row}"
        elif self.row is not None:
            where += f", at {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: {self.message} — fix: {self.fix}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class DataValidationError(CrossplanError):
    """Input breaks the data contract; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} found in the input:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


class ConfigurationError(CrossplanError):
    """Bad option, environment variable or path."""


class PanelBuildError(CrossplanError):
    """The panel cannot be built from the shared database (a stored submission breaks it).

    Parameters
    ----------
    message
        What is wrong and how to fix it.
    submission_id
        The newest submission involved: reverting it is the first thing to try.
    problems
        The contract's problems with the built panel (rows are those of the stored cells).
    before
        A time just before that submission was received: the panel as of then does not
        contain it (and may build; see :func:`pipelines.database.load_panel`).
    """

    def __init__(
        self,
        message: str,
        *,
        submission_id: int,
        problems: list[Problem],
        before: datetime | None,
    ) -> None:
        super().__init__(message)
        self.submission_id = submission_id
        self.problems = list(problems)
        self.before = before


class PlanningFailedError(CrossplanError):
    """The solver returned no plan (failure, or no plan within the time limit)."""


class OperationNotFoundError(CrossplanError):
    """No joint operation has that id, or the caller is not party to it (a non-party learns
    nothing of an operation, not even that it exists)."""


class OperationRefusedError(CrossplanError):
    """The caller may not do this to a joint operation: only a planner of a party country
    proposes, pledges, declines and cancels; only the proposer's country withdraws."""


class OperationConflictError(CrossplanError):
    """The joint operation's state forbids the act: it is confirmed, expired, withdrawn or
    cancelled, or the party has declined (or pledged, to decline), or the id is taken."""


class CandidateIdError(OperationConflictError):
    """The id a proposal asks for is a candidate operation's of the resources: a stored
    operation of that id would take the candidate's place in every plan."""
