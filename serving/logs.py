"""The service's log: one line per event, which no caller can forge, and no secret in it.

Anything a caller controls (a URL path, a header, a key name, a field of a body) may reach
a log message. A newline in it would start a line of its own that reads like one of the
service's (``… [INFO] … 'ad' reloaded the model``), so every record is escaped before it is
written: control characters (C0, DEL, C1, and the Unicode line and paragraph separators)
become visible escapes such as ``\\n``.

A caller may also put a secret where it gets logged: a key in the query string
(``GET /me?api_key=cpk_…``), a webhook's token in a URL. So every record is also redacted
(:func:`redact_secrets`): the value of each query parameter whose name says it is a secret
(``key``, ``token``, ``secret``, ``password``, ``auth``, … anywhere in the name), anything that
looks like a crossplan key (``cpk_…``) and a bearer credential become ``***``.

Both are done on the handlers, so BentoML's and Uvicorn's lines are covered as much as ours
(the access log of :mod:`serving.middleware` also redacts its request line itself).

BentoML configures the worker's logging (one handler on the root logger, at WARNING); the
service's own INFO lines — who reloaded, which model serves, the access log — are turned on
here for the ``serving`` and ``pipelines`` loggers.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

from crossplan.serving.auth import _TOKEN_PREFIX

__all__ = ["SafeLineFilter", "configure_logging", "escape", "redact_secrets"]

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_OURS = ("crossplan",)
REDACTED = "***"
# A query parameter, in a URL or a request line: its name and its value.
_PARAMETER = re.compile(r"(?<=[?&;])([^=&;?\s\"'#<>]+)=([^&;\s\"'#<>]*)")
# Names of parameters whose values are secrets, wherever the word is in the name
# (``api_key``, ``access_token``, ``X-Auth``, ``client_secret``, ``passwd``).
_SECRET_NAME = re.compile(r"key|token|secret|passw|pwd|auth|credential|signature", re.IGNORECASE)
# A crossplan key (serving.auth: the prefix, then URL-safe base64), also percent-encoded.
_KEY = re.compile(re.escape(_TOKEN_PREFIX[:-1]) + r"(?:_|%5f)[A-Za-z0-9_\-%]+", re.IGNORECASE)
_BEARER = re.compile(r"(\bbearer\s+)[^\s\"',;]+", re.IGNORECASE)


def escape(text: str) -> str:
    """``text`` with every control character written as a visible escape (``\\n``, ``\\x1b``)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def redact_secrets(text: str) -> str:
    """``text`` with every secret in it written ``***``: the value of a query parameter whose
    name says it is a secret, a crossplan key wherever it is, and a bearer credential
    (``/me?api_key=cpk_x1&v=2`` is written ``/me?api_key=***&v=2``)."""
    text = _PARAMETER.sub(_redacted_parameter, text)
    text = _KEY.sub(_TOKEN_PREFIX + REDACTED, text)
    return _BEARER.sub(lambda m: m.group(1) + REDACTED, text)


def _redacted_parameter(match: re.Match[str]) -> str:
    name = match.group(1)
    return f"{name}={REDACTED}" if _SECRET_NAME.search(unquote(name)) else match.group()


class SafeLineFilter(logging.Filter):
    """Escape control characters in a record's message (its arguments already merged in),
    and redact the secrets in it and in its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        safe = redact_secrets(escape(message))
        if safe != message or record.args:
            record.msg, record.args = safe, None
        if record.exc_info and not record.exc_text:
            # What the handler's formatter would write; a traceback keeps its lines.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_secrets(record.exc_text)
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Escape and redact every record the process writes, and let the service's INFO lines
    through.

    Idempotent: a handler gets one filter however often this runs.
    """
    for name in ("", "bentoml", "uvicorn", "uvicorn.error", "uvicorn.access", "circus"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, SafeLineFilter) for f in handler.filters):
                handler.addFilter(SafeLineFilter())
    for name in _OURS:
        logging.getLogger(name).setLevel(level)
