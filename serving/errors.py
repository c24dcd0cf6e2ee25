"""Errors of the planning service and the HTTP answer each one gets.

::

    CrossplanError (pipelines.errors)         400, or as below
    ├── DataValidationError                    400: every problem, each with its field
    ├── ModelUnavailableError                  503: no model is loaded yet
    ├── PlanNotFoundError                      404: no plan has that id
    ├── ReloadFailedError                      503: MLflow cannot give the champion; the
    │                                               model served so far stays
    └── PlanningFailedError (pipelines)        422: the solver gave no plan (time, failure)
    optimize.errors.InputError                 400: the planning inputs break a rule
    pydantic / request validation              400: every problem, each with its field
    a missing or unknown key                   401 (middleware)
    a key whose role may not do this           403
    anything else                              500, logged: a bug, never the caller's fault

An infeasible plan is not an error of the service: it is stored and answered with 422 and the
optimizer's diagnosis.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pipelines.errors import CrossplanError, DataValidationError, PlanningFailedError, Problem

__all__ = [
    "ModelUnavailableError",
    "PlanNotFoundError",
    "ReloadFailedError",
    "error_body",
    "problems_from_pydantic",
    "problems_from_validation",
    "status_of",
]


class ModelUnavailableError(CrossplanError):
    """No model is loaded: nothing was trained and promoted, or it cannot be reached."""


class PlanNotFoundError(CrossplanError):
    """No stored plan has the requested id."""


class ReloadFailedError(CrossplanError):
    """A reload found no live champion; the service keeps the model it serves."""


def status_of(err: CrossplanError) -> int:
    """The HTTP status of a user error."""
    if isinstance(err, ModelUnavailableError | ReloadFailedError):
        return 503
    if isinstance(err, PlanNotFoundError):
        return 404
    if isinstance(err, PlanningFailedError):
        return 422
    return 400


def error_body(error: str, problems: Iterable[dict[str, Any]] = (), **extra: Any) -> dict[str, Any]:
    """The JSON body of an error response (:class:`serving.schemas.ErrorBody`)."""
    return {"error": error, "problems": list(problems), **extra}


def _field(path: Sequence[Any]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def problems_from_pydantic(errors: Iterable[Any]) -> list[dict[str, Any]]:
    """Problems of a request body from pydantic's (or FastAPI's) error list."""
    problems = []
    for e in errors:
        loc = list(e.get("loc", ()))
        if loc and loc[0] in ("body", "query", "path"):
            loc = loc[1:]
        field = _field(loc) or None
        message = e.get("msg", "invalid value")
        if e.get("type") == "extra_forbidden":
            message = f"unknown field '{loc[-1]}'" if loc else "unknown field"
            fix = "remove it; every field is documented on the service's home page (/)"
        elif e.get("type") == "missing":
            fix = f"add '{field}'"
        elif e.get("type") == "json_invalid":
            field, fix = None, "send a valid JSON body"
            message = f"invalid JSON: {e.get('ctx', {}).get('error', message)}"
        else:
            fix = f"correct '{field}'" if field else "correct the body"
        problems.append({"field": field, "message": message, "fix": fix})
    return problems


def problems_from_validation(err: DataValidationError) -> list[dict[str, Any]]:
    """Problems of a data contract error, located as ``request part.path.field``."""
    return [_problem(p) for p in err.problems]


def _problem(p: Problem) -> dict[str, Any]:
    parts = [] if p.file in ("request", "") else [p.file]
    if p.row is not None:
        parts.append(str(p.row))
    if p.column is not None and not re.search(
        rf"(^|\.){re.escape(p.column)}(\[\d+\])?$", str(p.row or "")
    ):
        parts.append(p.column)
    field = ".".join(parts).replace(".[", "[") or None
    problem: dict[str, Any] = {"field": field, "message": p.message, "fix": p.fix}
    if p.file not in ("request", ""):  # a file's problem: its row and column as in the file
        problem.update(file=p.file, row=p.row, column=p.column)
    return problem
