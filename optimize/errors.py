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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "InputError",
    "InputProblem",
    "OptimizeError",
    "SolverError",
    "pydantic_problems",
]


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
    field
        The field or column at fault, when one is (``home_region``).
    row
        The 1-based row of a table, when one is at fault.
    """

    where: str
    message: str
    fix: str
    field: str | None = None
    row: int | None = None

    @property
    def location(self) -> str:
        """Where, in words: ``forecast.csv, row 3, column 'activity_q90'``."""
        where = self.where
        if self.row is not None:
            where += f", row {self.row}"
        if self.field is not None and not where.endswith(self.field):
            where += f", column '{self.field}'"
        return where

    def __str__(self) -> str:
        return f"{self.location}: {self.message} — fix: {self.fix}"


class InputError(OptimizeError):
    """The inputs break the allocation model's rules; ``problems`` lists every one found."""

    def __init__(self, problems: Sequence[InputProblem]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} found in the planning inputs:"
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))


class SolverError(OptimizeError):
    """The solver is unknown or unavailable, failed, or found no plan within its limits."""


def pydantic_problems(errors: Iterable[Any], prefix: str = "") -> list[InputProblem]:
    """Located problems, each with a fix that says how, from pydantic's error list.

    Parameters
    ----------
    errors
        ``ValidationError.errors()`` (or FastAPI's request errors, ``loc`` without its
        ``body``/``query``/``path`` head).
    prefix
        Path of the validated document inside a larger one (``resources``).
    """
    problems = []
    for e in errors:
        loc = [p for p in e.get("loc", ()) if not str(p).startswith("function-")]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        where = ".".join(p for p in (prefix, path) if p).replace(".[", "[")
        field = next((str(p) for p in reversed(loc) if isinstance(p, str)), None)
        message, fix = _explain(e, field)
        problems.append(InputProblem(where, message, fix, field))
    return problems


_BOUNDS = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}


def _explain(error: Mapping[str, Any], field: str | None) -> tuple[str, str]:
    """The message and a fix that says how, for one pydantic error."""
    kind, ctx, message = error.get("type", ""), error.get("ctx") or {}, error.get("msg", "")
    name = f"'{field}'" if field else "the value"
    if kind == "extra_forbidden":
        return f"unknown field {name}", "remove it, or check its spelling against the manual"
    if kind == "missing":
        return f"{name} is missing", f"add {name}"
    bound = next((k for k in _BOUNDS if k in ctx), None)
    if bound is not None:
        return message, f"give {name} a value {_BOUNDS[bound]} {ctx[bound]}"
    if kind in ("too_short", "too_long"):
        limit = ctx.get("min_length" if kind == "too_short" else "max_length")
        word = "at least" if kind == "too_short" else "at most"
        return message, f"give {name} {word} {limit} item{'s' if limit != 1 else ''}"
    if kind in ("string_too_short", "string_too_long"):
        limit = ctx.get("min_length" if kind == "string_too_short" else "max_length")
        word = "at least" if kind == "string_too_short" else "at most"
        return message, f"give {name} {word} {limit} characters"
    if kind == "string_pattern_mismatch" and field in ("country", "countries"):
        return message, "give a three-letter ISO 3166-1 alpha-3 code in capitals, e.g. 'GRC'"
    if kind == "string_pattern_mismatch":
        return message, f"give {name} matching {ctx.get('pattern')}"
    if kind == "literal_error":
        return message, f"give one of {ctx.get('expected')}"
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return message, f"give {name} as a whole number"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return message, f"give {name} as a finite number"
    if kind in ("bool_parsing", "bool_type"):
        return message, f"give {name} as true or false"
    if kind in ("list_type", "tuple_type"):
        return message, f"give {name} as a JSON array"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return message, f"give {name} as a JSON object"
    if kind in ("string_type",):
        return message, f"give {name} as a string"
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return message, f"give {name} as a date, YYYY-MM-DD"
    if kind == "json_invalid":
        return f"invalid JSON: {ctx.get('error', message)}", "send a valid JSON document"
    if kind == "value_error":
        return message.removeprefix("Value error, "), "see the field's description in the manual"
    return message, "see the field's description in the manual"
