"""``POST /submissions``: an agency's incident rows, and the alerts they raise."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request

from pipelines.database import Submitter, store_alerts, submit_incidents
from serving.alerts import audiences, detect_alerts
from serving.api import ERRORS, Reporter, service
from serving.auth import Principal, Role
from serving.schemas import ErrorBody, SubmissionResponse
from serving.sharing import Audience, SharingPolicy
from serving.snapshot import Snapshot
from serving.submissions import read_submission

if TYPE_CHECKING:
    from serving.service import CrossplanService

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter()


@router.post(
    "/submissions",
    response_model=SubmissionResponse,
    responses={
        **ERRORS,
        400: {"model": ErrorBody, "description": "Every problem, with its row and column"},
    },
    summary="Submit incident rows of your country: CSV, Parquet or JSON rows (role: reporter)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {
                    "schema": {"type": "string", "format": "binary"}
                },
                "application/json": {
                    "schema": {"type": "object", "properties": {"rows": {"type": "array"}}}
                },
            },
        }
    },
)
async def submit(
    request: Request,
    who: Reporter,
    file: Annotated[
        str | None, Query(max_length=200, description="The file's name, for problems")
    ] = None,
) -> SubmissionResponse:
    svc = service()
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    return await anyio.to_thread.run_sync(_submit, svc, body, content_type, file, who)


def _submit(
    svc: CrossplanService, body: bytes, content_type: str, file: str | None, who: Principal
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
    raised = 0
    if not result.duplicate:
        after = svc.current()
        raised = _raise_alerts(svc, before, after, result.submission_id, who)
    return SubmissionResponse(**result.to_dict(), alerts=raised)


def _raise_alerts(
    svc: CrossplanService,
    before: Snapshot,
    after: Snapshot,
    submission_id: int,
    submitter: Principal,
) -> int:
    """Raise, store and post the alerts of a submission, for every audience; a failure
    never undoes it, and one audience's failure stops no other's. The submitter's own alerts
    are counted."""
    try:
        prov = after.panel.provenance
        mine = (prov["submission_id"] == submission_id).to_numpy()
        cells = after.dataset.incidents[mine]
        observed = (
            cells[["region_id", "category", "period"]]
            .assign(observed=after.dataset.observed()[mine].astype("float64"))
            .dropna()
        )
        readers = audiences(svc.db)
    except Exception:
        log.exception("could not raise the alerts of submission %s", submission_id)
        return 0
    s = svc.settings
    raised: dict[str, list[Any]] = {}
    for audience in readers:
        try:
            policies = (
                SharingPolicy(before.panel, audience, s.suppress_below, s.min_total),
                SharingPolicy(after.panel, audience, s.suppress_below, s.min_total),
            )
            found = detect_alerts(before, after, observed, submission_id, policies)
            raised[audience.label] = store_alerts(svc.db, found)
        except Exception:
            log.exception(
                "could not raise the alerts of submission %s for %s", submission_id, audience.label
            )
    svc.webhooks.announce(alert for found in raised.values() for alert in found)
    return len(raised.get(Audience.of(submitter).label, ()))
