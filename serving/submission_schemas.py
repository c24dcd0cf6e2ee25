"""Response bodies of a reporter's own submissions (``/submissions``) and of a dry run.

What ``POST /submissions`` answers is :class:`serving.schemas.SubmissionResponse`; these are
what its sender reads back (:mod:`pipelines.database.receipts`) and what a check that stores
nothing answers (:func:`pipelines.database.check_submission`).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "Receipt",
    "SubmissionCheckResponse",
    "SubmissionItem",
    "SubmissionList",
    "SubmissionRows",
]


class SubmissionCheckResponse(BaseModel):
    """What a submission would do, checked by every check of ``POST /submissions`` and not
    stored."""

    file: str = Field(description="Its name in problems")
    rows: int = Field(description="Rows in the file")
    new: int = Field(description="Cells it would add to the panel")
    corrected: int = Field(description="Cells whose values it would change (new versions)")
    unchanged: int = Field(description="Cells it sends again with the same values")
    duplicate: bool = Field(description="True when submitting it would change nothing")
    periods: list[str] = Field(description="The periods it covers")
    warnings: list[str] = Field(
        default_factory=list,
        description="What would be accepted but is worth a second look, e.g. covariate "
        "values outside the range the panel has seen",
    )


class SubmissionItem(BaseModel):
    """One stored submission of the key's agency."""

    id: int = Field(description="The submission's id")
    kind: str = Field(description="'incidents' (rows), 'revert', 'regions' or 'resources'")
    received_at: str = Field(description="When it was received (ISO 8601, UTC)")
    key_name: str = Field(description="The key that sent it")
    agency: str | None = Field(description="Its agency")
    country: str | None = Field(description="Its country (ISO 3166-1 alpha-3)")
    file: str = Field(description="Its name in problems")
    rows: int = Field(description="Rows in it")
    new: int = Field(description="Cells not in the panel before")
    corrected: int = Field(description="Cells whose values it changed")
    unchanged: int = Field(description="Cells sent again with the same values")


class SubmissionList(BaseModel):
    """The key's agency's submissions, newest first (every one, for an operator key)."""

    submissions: list[SubmissionItem]


class Receipt(SubmissionItem):
    """A stored submission and what happened to it since."""

    fingerprint: str = Field(description="SHA-256 of its content, as its answer gave it")
    reverted_by: list[int] = Field(
        description="The submissions that reverted it (an administrator's, or the service's "
        "when it set it aside), oldest first"
    )
    quarantined: str | None = Field(
        description="Why the service set it aside (the served model cannot forecast the "
        "panel with it), unless that was reverted since; null otherwise"
    )


class SubmissionRows(BaseModel):
    """The rows a submission stored: one per cell it added or changed."""

    submission_id: int = Field(description="The submission")
    rows: list[dict[str, str | int | float | bool | None]] = Field(
        description="region_id, period, category, reported, detected, effort, count, its "
        "covariates (cov_*), source, and current: whether the value is still the cell's "
        "(false: a later correction or revert replaced it)"
    )
