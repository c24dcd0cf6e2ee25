"""``POST /submissions``: an upload (CSV, Parquet) or JSON rows, read into the contract's rows.

The body is the file itself — ``Content-Type: text/csv`` or ``application/vnd.apache.parquet``
(``?file=NAME`` names it in problems) — or ``application/json`` with ``{"rows": [...]}``, one
object per row with the incidents columns. Validation is the data contract's and the shared
panel's, done by :func:`pipelines.database.submit_incidents` (storing) and
:func:`pipelines.database.check_submission` (a dry run: :func:`check_upload`, which
``POST /submissions/check`` and ``crossplan validate --file`` both call); this module reads
the bytes.
:func:`request_body` is what the API's document says of them.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from crossplan.pipelines.contract.incidents import load_rows
from crossplan.pipelines.database import Database, Submitter, check_submission
from crossplan.pipelines.database.checks import covariate_flags
from crossplan.pipelines.errors import DataValidationError, Problem
from crossplan.serving.submission_schemas import SubmissionCheckResponse
from crossplan.serving.upload_types import CONTENT_TYPES

__all__ = ["IncidentRow", "check_upload", "read_submission", "request_body"]

MAX_JSON_ROWS = 200_000


def check_upload(
    db: Database,
    body: bytes,
    content_type: str,
    file: str | None,
    submitter: Submitter,
    seen: pd.DataFrame,
) -> SubmissionCheckResponse:
    """Every check ``POST /submissions`` makes of a body, and what it would store, storing
    nothing; ``seen`` is the panel's incidents (covariate values out of their range are
    warned of).

    Raises
    ------
    DataValidationError
        The problems ``POST /submissions`` answers with, the same ones.
    """
    raw, name, row_of = read_submission(body, content_type, file)
    checked = check_submission(db, raw, file=name, row_of=row_of, submitter=submitter)
    flags = covariate_flags(raw, row_of, seen)
    return SubmissionCheckResponse(**checked.to_dict(), warnings=flags)


class IncidentRow(BaseModel):
    """One row of the incidents panel (the data contract, docs/design.md), as JSON. The
    contract's checks apply: every problem is answered with its row and column."""

    model_config = ConfigDict(
        extra="allow",  # cov_* covariates, the panel's own
        json_schema_extra={
            "patternProperties": {"^cov_": {"type": ["number", "null"]}},
            "additionalProperties": False,
        },
    )

    region_id: str = Field(description="A region of the key's country")
    period: str = Field(
        description="Start date of the period (YYYY-MM-DD), of the panel's frequency, not in "
        "the future"
    )
    category: str = Field(default="all", description="Incident category")
    reported: int | None = Field(
        default=None, ge=0, description="Incidents that came to light without patrols"
    )
    detected: int | None = Field(default=None, ge=0, description="Found by patrols or operations")
    effort: float | None = Field(default=None, ge=0, description="Patrol effort, in unit-shifts")
    count: int | None = Field(
        default=None, ge=0, description="A panel with totals only: instead of reported, detected"
    )
    source: str | None = Field(default=None, description="The reporting agency")


# A correction of one cell of the simulated worlds (r003 is GRC's in the tests' and the
# demo's); sent, it changes the shared panel like any submission.
_ROW = {"region_id": "r003", "period": "2024-02-19", "category": "smuggling_of_migrants",
        "reported": 2, "detected": 3, "effort": 4.5, "cov_origin_pressure": 0.1}  # fmt: skip


def request_body() -> dict[str, object]:
    """The OpenAPI request body of ``POST /submissions``: each content type, its schema and
    an example."""
    csv = ",".join(_ROW) + "\n" + ",".join(str(v) for v in _ROW.values()) + "\n"
    rows = {
        "type": "object",
        "required": ["rows"],
        "additionalProperties": False,
        "properties": {
            "rows": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_JSON_ROWS,
                "items": IncidentRow.model_json_schema(),
            }
        },
    }
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "required": True,
        "content": {
            "application/json": {"schema": rows, "example": {"rows": [_ROW]}},
            "text/csv": {"schema": {"type": "string"}, "example": csv},
            "application/vnd.apache.parquet": binary,
        },
    }


def read_submission(
    body: bytes, content_type: str, file: str | None
) -> tuple[pd.DataFrame, str, Callable[[int], int | str]]:
    """The rows of a submission body, its name in problems, and where each row is.

    Raises
    ------
    DataValidationError
        An unknown content type, a body that does not parse, or no rows.
    """
    media = content_type.split(";")[0].strip().lower()
    suffix = CONTENT_TYPES.get(media)
    if suffix is None and file is not None:
        suffix = Path(file).suffix.lower() or None
    if suffix not in (".csv", ".parquet", ".json"):
        raise DataValidationError(
            [Problem("request", f"unsupported content type {media or 'none'!r}",
                     "send text/csv, application/vnd.apache.parquet or application/json "
                     '{"rows": [...]}')]
        )  # fmt: skip
    if suffix == ".json":
        return _json_rows(body), "request", lambda i: f"rows[{i}]"
    # The name is shown in problems and is the temporary file's: only printable characters.
    name = Path("".join(c if c.isprintable() else "_" for c in file or "")).name
    name = name or f"upload{suffix}"
    if not name.lower().endswith(suffix):
        name += suffix
    with tempfile.TemporaryDirectory(prefix="crossplan-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(body)
        raw, row_of = load_rows(path)
    return raw, name, row_of


def _json_rows(body: bytes) -> pd.DataFrame:
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataValidationError(
            [Problem("request", f"not valid JSON ({err})", 'send {"rows": [{...}, ...]}')]
        ) from None
    rows = doc.get("rows") if isinstance(doc, dict) else None
    others = sorted(doc)[:20] if isinstance(doc, dict) else []
    if others != ["rows"] and others:  # as documented: the rows and nothing else
        raise DataValidationError(
            [Problem("request", f"unknown field {str(k)[:100]!r}", 'send {"rows": [...]} only',
                     None, str(k)[:100]) for k in others if k != "rows"]
        )  # fmt: skip
    if not isinstance(rows, list) or not rows:
        raise DataValidationError(
            [Problem("request", "no 'rows' list", 'send {"rows": [{...}, ...]}', None, "rows")]
        )
    if len(rows) > MAX_JSON_ROWS:
        raise DataValidationError(
            [Problem("request", f"{len(rows)} rows, more than {MAX_JSON_ROWS}",
                     "split the submission, or upload a Parquet file", None, "rows")]
        )  # fmt: skip
    bad = [i for i, r in enumerate(rows) if not isinstance(r, dict)]
    if bad:
        raise DataValidationError(
            [Problem("request", "a row is not an object", "send one object per row",
                     f"rows[{i}]") for i in bad[:20]]
        )  # fmt: skip
    return pd.DataFrame.from_records(rows).astype(object)
