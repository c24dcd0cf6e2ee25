"""Recognising column names that would hold data about people, which the contract refuses."""

from __future__ import annotations

import re

__all__ = ["looks_personal"]

_PERSONAL = re.compile(
    r"(^|_)(first_?name|last_?name|surname|full_?name|person|people|individual|victim|suspect|"
    r"offender|passport|national_?id|id_?number|ssn|birth|dob|age|gender|sex|nationality|"
    r"ethnicity|religion|phone|email|address|plate|licen[cs]e|face|photo|biometric|fingerprint)"
    r"($|_|s$)",
    re.IGNORECASE,
)


def looks_personal(column: str) -> bool:
    """Whether a column name suggests it holds data about individual people."""
    return bool(_PERSONAL.search(column))
