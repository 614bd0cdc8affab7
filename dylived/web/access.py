"""Who may use the control routes over TCP (``[web]``): the token, its cookie, the login page.

The Unix socket is not affected (file permissions guard it). Over TCP:

- with ``web.token`` set, every request needs it, as ``Authorization: Bearer <token>`` or as
  the cookie the login page (``GET``/``POST /web/login``, the only route open without it)
  sets: ``dylived_session``, an HMAC of the token (not the token), ``HttpOnly``,
  ``SameSite=Strict``. A state-changing request (POST, PATCH, DELETE, PUT) needs the bearer
  header itself: the cookie alone never changes anything (no cross-site request forgery, and a
  page can only send that header by knowing the token);
- without a token (loopback only, ``check-config`` enforces it) the pages and the read-only
  routes are served, state-changing requests are refused (403: use the socket or set a token),
  and the ``Host`` header must name a loopback host, so a web page that rebinds its own DNS
  name to 127.0.0.1 cannot read the archive through a visitor's browser.

Refusals are 401 (no or wrong credentials; a ``/web/`` page then shows the login form) or 403.
Pure apart from the pause after a wrong login; imports only ``control.routes`` and
``config.values`` of dylived.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

import anyio

from dylived.config.values import is_loopback_host
from dylived.control.routes import STATE_CHANGING_METHODS, Request, Response, error_response


logger = logging.getLogger(__name__)

COOKIE = "dylived_session"
LOGIN_PATH = "/web/login"
WRONG_LOGIN_PAUSE_S = 1.0  # each wrong token costs its sender this long (no fast guessing)
HTML_TYPE = "text/html; charset=utf-8"
# Every page and file of dylived/web/static is served with these.
PAGE_HEADERS: tuple[tuple[str, str], ...] = (
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "worker-src 'self' blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-cache"),
)
_UNAUTHORIZED = (("www-authenticate", 'Bearer realm="dylived"'),)


@dataclass(frozen=True, slots=True)
class WebAccess:
    """The ``[web]`` token (``""``: none, loopback only) and the checks that use it."""

    token: str = ""

    @property
    def cookie_value(self) -> str:
        return hmac.new(self.token.encode(), b"dylived web session", hashlib.sha256).hexdigest()

    def _bearer_ok(self, request: Request) -> bool:
        scheme, _, value = (request.header("authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), self.token.encode()
        )

    def _cookie_ok(self, request: Request) -> bool:
        jar = SimpleCookie()
        try:
            jar.load(request.header("cookie") or "")
        except CookieError:
            return False
        morsel = jar.get(COOKIE)
        return morsel is not None and hmac.compare_digest(
            morsel.value.encode(), self.cookie_value.encode()
        )

    async def check(self, request: Request) -> Response | None:
        """None when ``request`` may go on to the routes, else the response that refuses it
        (or, for ``/web/login``, the login page or its answer)."""
        if request.path == LOGIN_PATH:
            return await self._login(request)
        state_changing = request.method in STATE_CHANGING_METHODS
        if not self.token:
            if not loopback_host(request.header("host") or ""):
                return error_response(403, "forbidden", "the Host header must name a loopback host")
            if state_changing:
                return error_response(
                    403,
                    "forbidden",
                    "state-changing requests are not served over TCP without web.token; "
                    "use the control socket (dylivectl)",
                )
            return None
        if self._bearer_ok(request):
            return None
        if state_changing:
            return error_response(
                401, "unauthorized", "send Authorization: Bearer <web.token>", _UNAUTHORIZED
            )
        if self._cookie_ok(request):
            return None
        if request.path == "/" or request.path.startswith("/web"):
            return login_page(request.target, status=401)
        return error_response(
            401, "unauthorized", "send Authorization: Bearer <web.token>", _UNAUTHORIZED
        )

    async def _login(self, request: Request) -> Response:
        if request.method == "GET":
            return login_page(request.query.get("next", "/web/"), status=200)
        if request.method != "POST":
            return error_response(
                405, "method_not_allowed", "GET or POST", (("allow", "GET, POST"),)
            )
        if not self.token:
            return Response(303, b"", HTML_TYPE, (("location", "/web/"),))
        form = parse_qs(request.body.decode("utf-8", "replace"), max_num_fields=4)
        given = form.get("token", [""])[0]
        after = safe_next(form.get("next", ["/web/"])[0])
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            logger.warning("web: a login with a wrong token was refused")
            await anyio.sleep(WRONG_LOGIN_PAUSE_S)
            return login_page(after, status=401, wrong=True)
        cookie = f"{COOKIE}={self.cookie_value}; Path=/; HttpOnly; SameSite=Strict"
        return Response(303, b"", HTML_TYPE, (("location", after), ("set-cookie", cookie)))


def loopback_host(host_header: str) -> bool:
    """True when a ``Host`` header names localhost or a loopback address (any port)."""
    host = host_header.strip()
    if host.startswith("["):
        host = host.partition("]")[0] + "]"
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return is_loopback_host(host)


def safe_next(target: str) -> str:
    """Where a login may send the browser: a path of this server's pages, nowhere else."""
    if target.startswith("/web") and not target.startswith("//") and "\\" not in target:
        return target
    return "/web/"


def login_page(after: str, *, status: int, wrong: bool = False) -> Response:
    """The one small form that sets the cookie (self-contained: no other file is open yet)."""
    message = '<p class="bad">That is not the token.</p>' if wrong else ""
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dylived · sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px system-ui,sans-serif;background:#10141a;color:#e6e9ef;display:grid;
place-items:center;min-height:90vh}}form{{background:#1a2029;padding:2em;border-radius:8px}}
input{{font:inherit;padding:.4em;margin:.5em 0;width:20em;display:block}}.bad{{color:#ff7b72}}
</style></head><body>
<form method="post" action="{LOGIN_PATH}"><h1>dylived</h1>{message}
<label for="token">Token (<code>[web] token</code> of the daemon's config)</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus>
<input type="hidden" name="next" value="{html.escape(safe_next(after))}">
<button type="submit">Sign in</button></form></body></html>
"""
    headers = PAGE_HEADERS + (_UNAUTHORIZED if status == 401 else ())
    return Response(status, body.encode(), HTML_TYPE, headers)
