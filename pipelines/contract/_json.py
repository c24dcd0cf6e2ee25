"""Reading a JSON input file, with every way it can fail turned into a located problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crossplan.pipelines.errors import DataValidationError, Problem

__all__ = ["load_json"]


def load_json(path: Path, kind: str) -> Any:
    """Parse ``path``; ``kind`` names what it should hold (for the fix in messages).

    Raises
    ------
    DataValidationError
        Missing, unreadable or empty file, or a syntax error (with its line).
    """
    file = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataValidationError(
            [Problem(file, f"file not found: {path}", "check the path")]
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataValidationError(
            [Problem(file, f"cannot read the file ({err})", f"give a UTF-8 {kind} file")]
        ) from None
    if not text.strip():
        raise DataValidationError([Problem(file, "the file is empty", f"give a {kind}")])
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DataValidationError(
            [
                Problem(
                    file,
                    f"not valid JSON: {err.msg} at column {err.colno}",
                    "fix the JSON syntax",
                    err.lineno,
                )
            ]
        ) from None
