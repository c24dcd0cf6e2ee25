"""Asking a running service from the command line: one request, its JSON answer, or an error
that lists the service's problems (exit status 2)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from crossplan.pipelines.errors import ConfigurationError
from crossplan.serving.settings import Settings

__all__ = ["ServiceRefusal", "call_service", "service_key"]


class ServiceRefusal(ConfigurationError):
    """The service answered with an error; ``answer`` is its body (``problems`` and all)."""

    def __init__(self, message: str, status: int, answer: dict[str, Any]) -> None:
        super().__init__(message)
        self.status = status
        self.answer = answer


def service_key(url: str | None, key: str | None) -> tuple[str, str]:
    """The service's URL and the key to ask it with: the options', else the environment's.

    Raises
    ------
    ConfigurationError
        No key is given either way.
    """
    settings = Settings.from_env()
    key = key or settings.api_key
    if not key:
        raise ConfigurationError("no API key — fix: give --key or set CROSSPLAN_API_KEY")
    return (url or settings.service_url), key


def call_service(
    url: str,
    key: str,
    path: str,
    *,
    what: str,
    body: bytes | None = None,
    content_type: str | None = None,
    query: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``POST`` (with ``body``) or ``GET`` ``path`` of the service at ``url``; its answer.

    Raises
    ------
    ServiceRefusal
        The service answered an error: the message names ``what`` was refused, the status,
        and every problem with its fix.
    ConfigurationError
        The service cannot be reached.
    """
    headers = {"Authorization": f"Bearer {key}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    target = f"{url.rstrip('/')}{path}"
    if query:
        target += "?" + urllib.parse.urlencode(query)
    method = "GET" if body is None else "POST"
    request = urllib.request.Request(target, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as err:
        try:
            refused = json.loads(err.read())
        except ValueError:
            refused = {"error": err.reason}
        problems = [
            f"  - {p.get('field') or 'file'}: {p['message']}"
            + (f" — fix: {p['fix']}" if p.get("fix") else "")
            for p in refused.get("problems", [])
        ]
        head = f"the service refused {what} ({err.code}): {refused.get('error')}"
        raise ServiceRefusal("\n".join([head, *problems]), err.code, refused) from None
    except urllib.error.URLError as err:
        raise ConfigurationError(
            f"cannot reach the service at {url} ({err.reason}) — fix: start it (crossplan serve) "
            "or give --url"
        ) from None
