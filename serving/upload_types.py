"""The file types ``POST /submissions`` takes, by content type and by suffix: what the
service reads (:mod:`serving.upload_reader`), what the commands send and the page offers."""

from __future__ import annotations

from pathlib import Path

__all__ = ["CONTENT_TYPES", "content_type_of"]

CONTENT_TYPES = {
    "text/csv": ".csv",
    "application/vnd.apache.parquet": ".parquet",
    "application/x-parquet": ".parquet",
    "application/json": ".json",
}


def content_type_of(name: str) -> str | None:
    """The content type a file is sent with, by its suffix (``None``: not one we take)."""
    suffix = Path(name).suffix.lower()
    return next((media for media, s in CONTENT_TYPES.items() if s == suffix), None)
