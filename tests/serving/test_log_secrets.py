"""No secret a caller sends reaches the service's log: a key or a token in the query string,
a key in the path, a bearer credential, in the access log and in every other line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from crossplan.serving.logs import SafeLineFilter, configure_logging

_TOKEN = "tok-7f3a9c-secret"


def _service_lines(caplog: pytest.LogCaptureFixture) -> str:
    # The test's own HTTP client (httpx) logs the URLs it asks for: that is not the service.
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))


def test_secrets_in_the_query_string_are_not_logged(
    client: TestClient, served: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    key = served["analyst"]
    caplog.set_level(logging.INFO)
    auth = {"Authorization": f"Bearer {key}"}
    assert client.get(f"/me?api_key={key}").status_code == 401  # a key in the wrong place
    # (refused: /me takes no parameter; logged all the same)
    assert client.get(f"/me?api_key={key}&token={_TOKEN}", headers=auth).status_code == 400
    client.get(f"/me?access_token={_TOKEN}&Password={_TOKEN}", headers=auth)
    client.get(f"/{key}", headers=auth)  # a key pasted into the path
    client.get(f"/incidents?region={key.replace('_', '%5F')}", headers=auth)  # percent-encoded
    lines = _service_lines(caplog)
    assert '"GET /me?api_key=***" 401' in lines
    assert '"GET /me?api_key=***&token=***" 400' in lines
    assert key not in lines and _TOKEN not in lines
    assert key.split("_", 1)[1] not in lines
    assert "key=analyst" in lines  # the key holder is still named


@pytest.fixture
def written() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose lines are written by a handler of the root logger, as in the server,
    with the filters :func:`configure_logging` adds; and what it wrote."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    root = logging.getLogger()
    root.addHandler(handler)
    logger = logging.getLogger("uvicorn.access")  # a library's line, not the service's
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        configure_logging()
        assert any(isinstance(f, SafeLineFilter) for f in handler.filters)
        yield logger, out
    finally:
        root.removeHandler(handler)
        logger.setLevel(level)


@pytest.mark.parametrize(
    ("message", "args", "shown"),
    [
        # Uvicorn's access line, its arguments merged in
        (
            '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:5", "GET", "/me?api_key=cpk_AbC-9_x&v=2", "1.1", 401),
            '127.0.0.1:5 - "GET /me?api_key=***&v=2 HTTP/1.1" 401',
        ),
        # any name that says secret, wherever the word is, any case; other values stay
        (
            "GET /x?X-Auth-Token=a&client_secret=b&passwd=c&region=r1",
            (),
            "GET /x?X-Auth-Token=***&client_secret=***&passwd=***&region=r1",
        ),
        # a webhook URL with a signature in its query
        (
            "posting to https://h.example/hook?signature=abc",
            (),
            "posting to https://h.example/hook?signature=***",
        ),
        # a crossplan key outside any query, and a bearer credential
        (
            "key %s refused; Authorization: Bearer abc.def",
            ("cpk_AbC-9_x",),
            "key cpk_*** refused; Authorization: Bearer ***",
        ),
        # a newline cannot carry a secret past the redaction
        ("GET /x?token=abc\nGET /y", (), "GET /x?token=*** /y"),
    ],
)
def test_every_line_is_redacted_by_the_handlers(
    written: tuple[logging.Logger, io.StringIO],
    message: str,
    args: tuple[object, ...],
    shown: str,
) -> None:
    logger, out = written
    logger.info(message, *args)
    assert out.getvalue().strip() == shown


def test_a_traceback_is_redacted_too(written: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = written
    try:
        raise ValueError("cannot post to https://h.example/hook?token=s3cr3t")
    except ValueError:
        logger.exception("delivery failed")
    assert "token=***" in out.getvalue()
    assert "s3cr3t" not in out.getvalue()
