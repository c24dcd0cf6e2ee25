"""Errors raised by :mod:`optimize`.

The package is independent of the rest of crossplan, so its errors subclass plain
:class:`Exception`; callers (CLI, HTTP service) turn them into their own user errors.
An infeasible plan is not an error: it is a :class:`~optimize.plan.Plan` whose status is
``infeasible`` and whose ``diagnosis`` names the constraints that cannot be met.

::

    OptimizeError               base of every error below
    ├── InputError              inputs break the allocation model's rules; lists every problem
    └── SolverError             the solver is unknown, failed, or found no plan in time
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["InputError", "InputProblem", "OptimizeError", "SolverError"]


class OptimizeError(Exception):
    """Base of the errors of :mod:`optimize`; ``str(err)`` is the message for a user."""


@dataclass(frozen=True)
class InputProblem:
    """One broken rule in the allocation inputs.

    Parameters
    ----------
    where
        Where the problem is, e.g. ``units[2].home_region`` or ``forecast, row 14``.
    message
        What is wrong.
    fix
        What to do about it.
    """

    where: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message} — fix: {self.fix}"


class InputError(OptimizeError):
    """The inputs break the allocation model's rules; ``problems`` lists every one found."""

    def __init__(self, problems: Sequence[InputProblem]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} found in the planning inputs:"
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))


class SolverError(OptimizeError):
    """The solver is unknown or unavailable, failed, or found no plan within its limits."""
