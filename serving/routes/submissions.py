"""``/submissions``: an agency's incident rows and the alerts they raise; a dry run that
stores nothing (``POST /submissions/check``); and what the agency sent, read back (its list,
receipts and the rows stored: its own only, as ``docs/design.md``'s sharing rules say)."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Path, Query, Request

from crossplan.pipelines.database import (
    SubmissionReceipt,
    get_receipt,
    list_submissions,
    quarantine_reason,
    submission_rows,
    submit_incidents,
)
from crossplan.pipelines.database.checks import covariate_flags
from crossplan.serving.api import ERRORS
from crossplan.serving.auth import Principal
from crossplan.serving.deps import Reporter, Service, ServiceDep
from crossplan.serving.schemas import ErrorBody, SubmissionResponse
from crossplan.serving.sharing import Audience
from crossplan.serving.snapshot import Snapshot
from crossplan.serving.submission_schemas import (
    Receipt,
    SubmissionCheckResponse,
    SubmissionList,
    SubmissionRows,
)
from crossplan.serving.upload_reader import check_upload, read_submission, request_body

__all__ = ["router"]


router = APIRouter(tags=["submissions"])

_UPLOAD = {"requestBody": request_body()}
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Every problem, with its row and column"}
}
_NOT_YOURS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No submission of the key's agency has this id"}
}
SubmissionId = Annotated[int, Path(ge=1, le=2**62, description="The submission's id")]
FileName = Annotated[str | None, Query(max_length=200, description="The file's name, for problems")]


@router.post(
    "/submissions",
    response_model=SubmissionResponse,
    responses={**ERRORS, **_PROBLEMS},
    summary="Submit incident rows of your country: CSV, Parquet or JSON rows",
    openapi_extra=_UPLOAD,
)
async def submit(
    request: Request, who: Reporter, svc: ServiceDep, file: FileName = None
) -> SubmissionResponse:
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    return await anyio.to_thread.run_sync(_submit, svc, body, content_type, file, who)


@router.post(
    "/submissions/check",
    response_model=SubmissionCheckResponse,
    responses={**ERRORS, **_PROBLEMS},
    summary="Check incident rows as POST /submissions does, storing nothing: the same "
    "problems, or what it would store",
    openapi_extra=_UPLOAD,
)
async def check(
    request: Request, who: Reporter, svc: ServiceDep, file: FileName = None
) -> SubmissionCheckResponse:
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    return await anyio.to_thread.run_sync(_check, svc, body, content_type, file, who)


@router.get(
    "/submissions",
    response_model=SubmissionList,
    responses=ERRORS,
    summary="Your agency's submissions, newest first",
)
def submissions(
    who: Reporter,
    svc: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many")] = 50,
) -> SubmissionList:
    found = list_submissions(svc.db, limit, sender=Audience.of(who).sender)
    return SubmissionList.model_validate({"submissions": [r.to_dict() for r in found]})


@router.get(
    "/submissions/{submission_id:int}",
    response_model=Receipt,
    responses={**ERRORS, **_NOT_YOURS},
    summary="The receipt of a submission of your agency: what it stored, and its reverts",
)
def receipt(who: Reporter, svc: ServiceDep, submission_id: SubmissionId) -> Receipt:
    return Receipt.model_validate(_receipt(svc, who, submission_id).to_dict())


@router.get(
    "/submissions/{submission_id:int}/rows",
    response_model=SubmissionRows,
    responses={**ERRORS, **_NOT_YOURS},
    summary="The rows a submission of your agency stored, and whether each is still current",
)
def rows(who: Reporter, svc: ServiceDep, submission_id: SubmissionId) -> SubmissionRows:
    _receipt(svc, who, submission_id)
    return SubmissionRows(submission_id=submission_id, rows=submission_rows(svc.db, submission_id))


def _receipt(svc: Service, who: Principal, submission_id: int) -> SubmissionReceipt:
    """The receipt, or 404: none has the id, or it is another agency's (which is not found
    either: its ids say nothing)."""
    found = get_receipt(svc.db, submission_id, sender=Audience.of(who).sender)
    if found is None:
        raise HTTPException(
            404,
            f"no submission {submission_id} of your agency — fix: GET /submissions lists "
            "your agency's submissions",
        )
    return found


def _check(
    svc: Service, body: bytes, content_type: str, file: str | None, who: Principal
) -> SubmissionCheckResponse:
    seen = svc.current().dataset.incidents
    return check_upload(svc.db, body, content_type, file, who.submitter, seen)


def _submit(
    svc: Service, body: bytes, content_type: str, file: str | None, who: Principal
) -> SubmissionResponse:
    raw, name, row_of = read_submission(body, content_type, file)
    before = svc.current()
    result = submit_incidents(svc.db, raw, file=name, row_of=row_of, submitter=who.submitter)
    flags = covariate_flags(raw, row_of, before.dataset.incidents)
    raised = 0
    after = svc.current()  # forecast before it serves: a submission it cannot is set aside
    if not result.duplicate:  # (one set aside owes none: its job is settled at once)
        raised = _raise_alerts(svc, before, after, result.submission_id, who)
    set_aside = quarantine_reason(svc.db, result.submission_id)
    if set_aside is not None:
        return SubmissionResponse(
            **result.to_dict(), alerts=1, quarantined=set_aside, warnings=flags
        )
    return SubmissionResponse(**result.to_dict(), alerts=raised, warnings=flags)


def _raise_alerts(
    svc: Service,
    before: Snapshot,
    after: Snapshot,
    submission_id: int,
    submitter: Principal,
) -> int:
    """Raise the alerts the submission owes, now, for every audience, with one post owed to
    each webhook of their audiences (:mod:`serving.alert_jobs`); the submitter's own alerts
    are counted. A failure never undoes the submission: its alerts stay owed, and another try
    (this replica's or another's outbox worker) raises them, as when this replica dies."""
    raised = svc.outbox.raise_now(submission_id, after, known=(before, after))
    mine = Audience.of(submitter).label
    return sum(alert.audience == mine for alert in raised or ())
