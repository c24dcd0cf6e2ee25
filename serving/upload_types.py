"""The file types ``POST /submissions`` takes, by content type and by suffix: what the
service reads (:mod:`serving.upload_reader`), what the commands send and the page offers."""

from __future__ import annotations

from pathlib import Path

from crossplan.pipelines.errors import ConfigurationError

__all__ = ["CONTENT_TYPES", "content_type_of", "read_upload"]

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


def read_upload(path: Path) -> tuple[bytes, str]:
    """A file to send as a submission: its bytes and content type.

    Raises
    ------
    ConfigurationError
        A suffix the service does not take, or a file that cannot be read.
    """
    content_type = content_type_of(path.name)
    if content_type is None:
        raise ConfigurationError(
            f"{path.name}: unsupported file type — fix: give a .csv, .parquet or .json file"
        )
    try:
        return path.read_bytes(), content_type
    except OSError as err:
        raise ConfigurationError(
            f"cannot read {path} ({err.strerror}) — fix: check the file's path and permissions"
        ) from None
