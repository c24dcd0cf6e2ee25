"""The planners' map page and the API manual, served from files shipped in the package.

``/`` is the page (``serving/web/index.html``), ``/docs`` the API manual (Swagger UI from
``serving/web/vendor``, reading BentoML's ``/docs.json``), ``/web/...`` their files and
``/web/config.json`` what the page needs to know before anyone signs in: the basemap, and the
file types and size ``POST /submissions`` takes (from the modules that enforce them, so that
the page refuses what the service would refuse before uploading it). None of these need
a key: they hold no data; everything the page shows comes from the API with the key the
planner typed in.

==========================  ==========================================================
``CROSSPLAN_TILE_URL``      tile basemap, e.g. ``https://tiles.example/{z}/{x}/{y}.png``
                            (unset: no basemap, the regions alone; closed networks)
``CROSSPLAN_TILE_ATTRIBUTION``  credit line shown for that basemap
==========================  ==========================================================
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from crossplan.serving.schemas import MAX_BODY_BYTES
from crossplan.serving.settings import Settings
from crossplan.serving.upload_types import CONTENT_TYPES

__all__ = ["WEB_DIR", "page_app"]

WEB_DIR = Path(__file__).parent / "web"

# The page's own files change with the package; a browser revalidates them each time
# (cheap on a local network). The vendored libraries never change under a versioned path.
_REVALIDATE = {"Cache-Control": "no-cache"}


async def _index(_: Request) -> Response:
    return FileResponse(WEB_DIR / "index.html", headers=_REVALIDATE)


async def _docs(_: Request) -> Response:
    return FileResponse(WEB_DIR / "docs.html", headers=_REVALIDATE)


async def _favicon(_: Request) -> Response:
    return FileResponse(WEB_DIR / "favicon.svg", media_type="image/svg+xml")


def _submission_types() -> dict[str, str]:
    """A file's ending -> the Content-Type the page uploads it with (the first one named)."""
    types: dict[str, str] = {}
    for media, suffix in CONTENT_TYPES.items():
        types.setdefault(suffix, media)
    return types


async def _config(_: Request) -> Response:
    settings = Settings.from_env()
    return JSONResponse(
        {
            "tile_url": settings.tile_url,
            "tile_attribution": settings.tile_attribution,
            "submission_types": _submission_types(),
            "max_body_bytes": MAX_BODY_BYTES,
        },
        headers=_REVALIDATE,
    )


def page_app() -> Starlette:
    """The page's routes, mounted at ``/`` beside the API (they share no path)."""
    return Starlette(
        routes=[
            Route("/", _index, methods=["GET"]),
            Route("/docs", _docs, methods=["GET"]),
            Route("/favicon.ico", _favicon, methods=["GET"]),
            Route("/web/config.json", _config, methods=["GET"]),
            Mount("/web", StaticFiles(directory=WEB_DIR), name="web"),
        ]
    )
