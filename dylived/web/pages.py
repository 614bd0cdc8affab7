"""The web pages' routes: HTML pages and the files of ``dylived/web/static``, from the package.

``PAGES`` maps a path pattern (the route syntax of ``control/routes.py``: ``*`` is one path
segment) to the static HTML file that renders it; each page reads what it shows from the JSON
control routes with ``fetch`` (same origin, the cookie of ``web/access.py`` included), so
serving a page is serving a file. ``WEB_ROUTES`` is what the TCP listener of ``[web]`` answers:
the control routes plus these. Files are looked up by name in the package's ``static/``
folder only (a name is one path segment of letters, digits, ``-``, ``_`` and ``.``, not
starting with a dot), so no request reaches another file. Nothing is fetched from elsewhere.

The URLs: ``/web/`` the dashboard, ``/web/broadcasters/{key}`` a broadcaster's sessions,
``/web/sessions/{id}`` the replay page (``replay.html``), ``/web/static/{name}`` the files
(``/web/static/vendor/{name}``: hls.js);
``/`` redirects to ``/web/``.
"""

from __future__ import annotations

import re
from importlib import resources

from dylived.control.api import DaemonFacade, NotFound
from dylived.control.routes import ROUTES, Handler, Request, Response, RouteTable
from dylived.web.access import HTML_TYPE, PAGE_HEADERS


STATIC = resources.files("dylived.web") / "static"
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}")
CONTENT_TYPES = {
    ".html": HTML_TYPE,
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
    ".map": "application/json",
}

# path pattern -> the page file of static/ that renders it
PAGES: dict[tuple[str, ...], str] = {
    ("web",): "dashboard.html",
    ("web", "broadcasters", "*"): "broadcaster.html",
    ("web", "sessions", "*"): "replay.html",
}


def static_file(name: str, *, vendor: bool = False) -> Response:
    """The file ``name`` of ``static/`` (``static/vendor/``: files of other projects, each
    with its licence and version in ``vendor/README.md``) with its type; NotFound for any
    other name."""
    suffix = name[name.rfind(".") :] if "." in name else ""
    if not _NAME.fullmatch(name) or suffix not in CONTENT_TYPES:
        raise NotFound(f"no file {name!r}")
    resource = (STATIC / "vendor" if vendor else STATIC) / name
    if not resource.is_file():
        raise NotFound(f"no file {name!r}")
    return Response(200, resource.read_bytes(), CONTENT_TYPES[suffix], PAGE_HEADERS)


def _page(name: str) -> Handler:
    async def serve(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> Response:
        return static_file(name)

    return serve


async def _static(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> Response:
    return static_file(args[0])


async def _vendor(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> Response:
    return static_file(args[0], vendor=True)


async def _root(facade: DaemonFacade, request: Request, args: tuple[str, ...]) -> Response:
    return Response(303, b"", HTML_TYPE, (("location", "/web/"),))


WEB_ROUTES: RouteTable = (
    *ROUTES,
    ((), {"GET": _root}),
    (("web", "static", "*"), {"GET": _static}),
    (("web", "static", "vendor", "*"), {"GET": _vendor}),
    *((pattern, {"GET": _page(name)}) for pattern, name in PAGES.items()),
)
