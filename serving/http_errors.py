"""Errors of the planning service and the HTTP answer each one gets.

::

    CrossplanError (pipelines.errors)         400, or as below
    ├── DataValidationError                    400: every problem, each with its field
    ├── ModelUnavailableError                  503: no model is loaded yet
    ├── PlanNotFoundError                      404: no plan has that id
    ├── WebhookNotFoundError                   404: no webhook of this agency has that id
    ├── ReloadFailedError                      503: MLflow cannot give the champion; the
    │                                               model served so far stays
    ├── PlansBusyError                         429: every planning slot and queue place is
    │                                               taken (with Retry-After)
    ├── PlanDeadlineError                      504: no plan by the request's deadline; the
    │                                               planning process was killed
    ├── PlanMemoryError                        503: the plan needs more memory than a plan
    │                                               may use; the planning process was killed
    ├── PanelBuildError (pipelines)            503: the shared database's cells do not make
    │                                               a panel; names the submission to revert
    ├── PlanningFailedError (pipelines)        422: the solver gave no plan (time, failure)
    ├── OperationNotFoundError (pipelines)     404: no joint operation of that id the key's
    │                                               country is party to
    ├── OperationRefusedError (pipelines)      403: the key may not do this to the operation
    └── OperationConflictError (pipelines)     409: the operation's state forbids it
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

from crossplan.pipelines.errors import (
    CrossplanError,
    DataValidationError,
    OperationConflictError,
    OperationNotFoundError,
    OperationRefusedError,
    PanelBuildError,
    PlanningFailedError,
    Problem,
)

__all__ = [
    "ModelUnavailableError",
    "PlanDeadlineError",
    "PlanMemoryError",
    "PlanNotFoundError",
    "PlansBusyError",
    "ReloadFailedError",
    "WebhookNotFoundError",
    "error_body",
    "problems_body",
    "problems_from_pydantic",
    "problems_from_validation",
    "routing_error",
    "status_of",
]


class ModelUnavailableError(CrossplanError):
    """No model is loaded: nothing was trained and promoted, or it cannot be reached."""


class PlanNotFoundError(CrossplanError):
    """No stored plan has the requested id."""


class WebhookNotFoundError(CrossplanError):
    """No webhook the caller may manage has the requested id (another agency's is not found
    either: its ids are not revealed)."""


class ReloadFailedError(CrossplanError):
    """A reload found no live champion; the service keeps the model it serves."""


class PlansBusyError(CrossplanError):
    """Every planning slot and every place in the queue is taken.

    Parameters
    ----------
    message
        What happened and what to do.
    retry_after
        Seconds after which a new request has a chance (the ``Retry-After`` header).
    """

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PlanDeadlineError(CrossplanError):
    """No plan by the request's deadline; the planning process and its solver were killed."""


class PlanMemoryError(CrossplanError):
    """The plan needed more memory than one plan may use; its process was stopped."""


def status_of(err: CrossplanError) -> int:
    """The HTTP status of a user error."""
    if isinstance(err, PlansBusyError):
        return 429
    if isinstance(err, PlanDeadlineError):
        return 504
    if isinstance(err, ModelUnavailableError | ReloadFailedError | PlanMemoryError):
        return 503
    if isinstance(err, PanelBuildError):  # the database's state, not the request, is wrong
        return 503
    if isinstance(err, PlanNotFoundError | WebhookNotFoundError | OperationNotFoundError):
        return 404
    if isinstance(err, OperationRefusedError):
        return 403
    if isinstance(err, OperationConflictError):
        return 409
    if isinstance(err, PlanningFailedError):
        return 422
    return 400


def error_body(error: str, problems: Iterable[dict[str, Any]] = (), **extra: Any) -> dict[str, Any]:
    """The JSON body of an error response (:class:`serving.schemas.ErrorBody`)."""
    return {"error": error, "problems": list(problems), **extra}


def problems_body(problems: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON body of a 400 that lists ``problems`` (located as the service locates them:
    :func:`problems_from_validation`, :func:`problems_from_pydantic`)."""
    n = len(problems)
    return error_body(f"{n} problem{'s' if n != 1 else ''} in the request", problems)


def routing_error(status: int, method: str, path: str, allow: str | None) -> str:
    """What a 404 or 405 of the routing (no such path, no such method) says, with the fix."""
    if status == 405:
        methods = f"use {allow}" if allow else "see /docs for the methods it takes"
        return f"{method} is not allowed on {path!r} — fix: {methods}"
    return f"nothing is served at {path!r} — fix: see /docs for the API's paths"


def _field(path: Sequence[Any]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def problems_from_pydantic(errors: Iterable[Any]) -> list[dict[str, Any]]:
    """Problems of a request body from pydantic's (or FastAPI's) error list, each with a fix
    that says what to send instead."""
    problems = []
    for e in errors:
        loc = list(e.get("loc", ()))
        if loc and loc[0] in ("body", "query", "path"):
            loc = loc[1:]
        field = _field(loc) or None
        message = e.get("msg", "invalid value")
        kind = e.get("type", "")
        if kind == "extra_forbidden":
            message = f"unknown field '{loc[-1]}'" if loc else "unknown field"
        elif kind == "json_invalid":
            field = None
            message = f"invalid JSON: {e.get('ctx', {}).get('error', message)}"
        elif kind == "missing" and field is None:
            message = "the request has no body"
        problems.append({"field": field, "message": message, "fix": _fix(kind, field, e)})
    return problems


# What to send instead, by pydantic error type; {…} from the error's context.
_FIXES = {
    "greater_than": "send a number above {gt}",
    "greater_than_equal": "send a number of at least {ge}",
    "less_than": "send a number below {lt}",
    "less_than_equal": "send a number of at most {le}",
    "too_short": "send at least {min_length} item(s)",
    "too_long": "send at most {max_length} items",
    "string_too_short": "send at least {min_length} character(s)",
    "string_too_long": "shorten it to at most {max_length} characters",
    "int_type": "send a whole number without quotes, e.g. 4",
    "int_parsing": "send a whole number, e.g. 4",
    "int_from_float": "send a whole number, e.g. 4",
    "float_type": "send a number without quotes, e.g. 1.5",
    "float_parsing": "send a number, e.g. 1.5",
    "finite_number": "send a finite number",
    "bool_type": "send true or false",
    "bool_parsing": "send true or false",
    "string_type": "send a string in double quotes",
    "list_type": "send a JSON array, e.g. []",
    "tuple_type": "send a JSON array, e.g. []",
    "dict_type": "send a JSON object, e.g. {{}}",
    "model_type": "send a JSON object, e.g. {{}}",
    "model_attributes_type": "send a JSON object, e.g. {{}}",
    "dataclass_type": "send a JSON object, e.g. {{}}",
    "literal_error": "use one of {expected}",
    "enum": "use one of {expected}",
    "date_type": "send a date as YYYY-MM-DD, e.g. 2026-03-02",
    "date_parsing": "send a date as YYYY-MM-DD, e.g. 2026-03-02",
    "date_from_datetime_parsing": "send a date as YYYY-MM-DD, e.g. 2026-03-02",
    "date_from_datetime_inexact": "send a date without a time, as YYYY-MM-DD",
    "none_required": "send null",
    "repeated_parameter": "give it once",
}


def _fix(kind: str, field: str | None, error: Any) -> str:
    if kind == "extra_forbidden":
        return "remove it; every field is documented in the API manual (/docs)"
    if kind == "json_invalid":
        return "send a valid JSON body"
    if kind == "missing":
        if field is None:
            return "send a JSON object as the body, e.g. {} for every default"
        return f"add '{field}'; the API manual (/docs) says what it holds"
    template = _FIXES.get(kind)
    if template is not None:
        try:
            return template.format(**error.get("ctx", {}))
        except (KeyError, IndexError):
            pass
    where = f"'{field}'" if field else "the body"
    return f"change {where} as the message says; the API manual (/docs) gives its type and limits"


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
