"""``POST /submissions``: an upload (CSV, Parquet) or JSON rows, read into the contract's rows.

The body is the file itself — ``Content-Type: text/csv`` or ``application/vnd.apache.parquet``
(``?file=NAME`` names it in problems) — or ``application/json`` with ``{"rows": [...]}``, one
object per row with the incidents columns. Validation is the data contract's and the shared
panel's, done by :func:`pipelines.database.submit_incidents` (storing) and
:func:`pipelines.database.check_submission` (a dry run: :func:`check_upload`, which
``POST /submissions/check`` and ``crossplan validate --file`` both call); this module reads
the bytes.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from crossplan.pipelines.contract.incidents import load_rows
from crossplan.pipelines.database import Database, Submitter, check_submission
from crossplan.pipelines.database.checks import covariate_flags
from crossplan.pipelines.errors import DataValidationError, Problem
from crossplan.serving.submission_schemas import SubmissionCheckResponse
from crossplan.serving.upload_types import CONTENT_TYPES

__all__ = ["check_upload", "read_submission"]

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
