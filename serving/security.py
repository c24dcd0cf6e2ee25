"""Security headers on everything the service serves, the page and the API alike.

The service holds intelligence about trafficking routes and runs on closed agency networks:
nothing it serves may load code, styles, fonts or data from another origin, be framed by
another site, or leak its address in a ``Referer``. The Content-Security-Policy says so to
the browser; the only other origin it may name is the operator's tile server
(``CROSSPLAN_TILE_URL``), for map images.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeadersMiddleware", "content_security_policy", "tile_origin"]


def tile_origin(tile_url: str | None) -> str | None:
    """The origin (``https://host:port``) of a tile URL template, or ``None``."""
    if not tile_url:
        return None
    parts = urlsplit(tile_url.replace("{s}", "a"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    if "{s}" in tile_url:  # subdomains a, b, c of the same host
        host = parts.netloc.split(".", 1)[-1]
        return f"{parts.scheme}://*.{host}"
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(tile_url: str | None = None) -> str:
    """The policy: this origin only, images also from the tile server when one is set."""
    images = "'self' data: blob:"
    origin = tile_origin(tile_url)
    if origin:
        images += f" {origin}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    """Add the Content-Security-Policy and its companions to every HTTP response.

    Parameters
    ----------
    app
        The whole service.
    tile_url
        The tile server's URL template, or ``None`` (closed networks have none).
    """

    def __init__(self, app: ASGIApp, tile_url: str | None = None) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", content_security_policy(tile_url).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in self.headers}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + self.headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
