"""The service's log: one line per event, which no caller can forge.

Anything a caller controls (a URL path, a header, a key name, a field of a body) may reach
a log message. A newline in it would start a line of its own that reads like one of the
service's (``… [INFO] … 'ad' reloaded the model``), so every record is escaped before it is
written: control characters (C0, DEL, C1, and the Unicode line and paragraph separators)
become visible escapes such as ``\\n``. This is done on the handlers, so BentoML's and
Uvicorn's lines are covered as much as ours.

BentoML configures the worker's logging (one handler on the root logger, at WARNING); the
service's own INFO lines — who reloaded, which model serves, the access log — are turned on
here for the ``serving`` and ``pipelines`` loggers.
"""

from __future__ import annotations

import logging
import re

__all__ = ["EscapingFilter", "configure_logging", "escape"]

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_OURS = ("serving", "pipelines")


def escape(text: str) -> str:
    """``text`` with every control character written as a visible escape (``\\n``, ``\\x1b``)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class EscapingFilter(logging.Filter):
    """Escape control characters in a record's message (its arguments already merged in)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = escape(message)
        if escaped != message or record.args:
            record.msg, record.args = escaped, None
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Escape every record the process writes, and let the service's INFO lines through.

    Idempotent: a handler gets one filter however often this runs.
    """
    for name in ("", "bentoml", "uvicorn", "uvicorn.error", "uvicorn.access", "circus"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, EscapingFilter) for f in handler.filters):
                handler.addFilter(EscapingFilter())
    for name in _OURS:
        logging.getLogger(name).setLevel(level)
