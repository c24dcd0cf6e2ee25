"""``POST /submissions``: an agency's incident rows, and the alerts they raise."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Query, Request

from crossplan.pipelines.database import Submitter, quarantine_reason, submit_incidents
from crossplan.pipelines.database.checks import covariate_flags
from crossplan.serving.api import ERRORS
from crossplan.serving.auth import Principal, Role
from crossplan.serving.deps import Reporter, Service, ServiceDep
from crossplan.serving.schemas import ErrorBody, SubmissionResponse
from crossplan.serving.sharing import Audience
from crossplan.serving.snapshot import Snapshot
from crossplan.serving.upload_reader import read_submission, request_body

__all__ = ["router"]


router = APIRouter(tags=["submissions"])


@router.post(
    "/submissions",
    response_model=SubmissionResponse,
    responses={
        **ERRORS,
        400: {"model": ErrorBody, "description": "Every problem, with its row and column"},
    },
    summary="Submit incident rows of your country: CSV, Parquet or JSON rows",
    openapi_extra={"requestBody": request_body()},
)
async def submit(
    request: Request,
    who: Reporter,
    svc: ServiceDep,
    file: Annotated[
        str | None, Query(max_length=200, description="The file's name, for problems")
    ] = None,
) -> SubmissionResponse:
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    return await anyio.to_thread.run_sync(_submit, svc, body, content_type, file, who)


def _submit(
    svc: Service, body: bytes, content_type: str, file: str | None, who: Principal
) -> SubmissionResponse:
    raw, name, row_of = read_submission(body, content_type, file)
    before = svc.current()
    result = submit_incidents(
        svc.db,
        raw,
        file=name,
        row_of=row_of,
        submitter=Submitter(who.name, who.agency, who.country, admin=who.role is Role.ADMIN),
    )
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
