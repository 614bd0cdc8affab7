"""The daemon's one HTTP client, and the one place responses become dylived errors.

Owns :class:`HttpClient`: one pool of keep-alive HTTP/1.1 connections per daemon
(:mod:`dylived.net.h11pool`: h11 over anyio, chosen over httpx for its per-request cost), the
configured user agent and timeout, and a cookie jar shared by every request (the stdlib jar in
an ``httpx.Cookies``; the ``Cookie`` header it gives is cached per URL path until the jar
changes). :meth:`HttpClient.fetch` follows redirects on request, returns a small frozen
:class:`HttpResponse` and raises only :mod:`dylived.errors`:

- connect/read/write/pool timeouts and other network failures → ``TransportError``
- 403, 412, 429 and empty 2xx bodies → ``RiskControl`` (``retry_after`` from ``Retry-After``,
  seconds or an HTTP date); this module raises the subclass :class:`BlockedResponse`, which
  also says which status it was
- 404 and 410 → ``RoomNotFound``; 5xx and any other 4xx → ``UpstreamError``

It knows nothing about Douyin (that is ``platforms/``) and never logs cookies or query strings.
"""

from __future__ import annotations

import logging
import ssl
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urljoin

import h11
import httpx

from dylived.errors import RiskControl, RoomNotFound, TransportError, UpstreamError
from dylived.net.h11pool import ConnectionPool, Deadline, Received, Target, redact_url, split_url


__all__ = [
    "DEFAULT_MAX_BODY",
    "BlockedResponse",
    "HttpClient",
    "HttpResponse",
    "parse_retry_after",
    "redact_url",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 16 * 1024 * 1024  # the real web/enter body is ~0.6 MB
MAX_REDIRECTS = 20
COOKIE_CACHE_SECONDS = 60.0  # a cached Cookie header is recomputed at least this often
_RISK_CONTROL_STATUSES = frozenset({403, 412, 429})
_NOT_FOUND_STATUSES = frozenset({404, 410})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class BlockedResponse(RiskControl):
    """Risk control seen at the HTTP level; ``status_code`` is 200 for an empty body."""

    def __init__(self, message: str, status_code: int, retry_after: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A complete response: status, final URL, headers (names lower-case) and the body."""

    status_code: int
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (RFC 9110 §10.2.3), never negative.

    Accepts delay-seconds ("120", also "1.5" as some servers send) and an HTTP date; None for
    an absent or unreadable value.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


# ---------------------------------------------------------------- the client


class HttpClient:
    """The daemon's HTTP client; use as ``async with HttpClient(...) as http``.

    Args:
        user_agent: sent on every request (the same UA must be used for signatures).
        timeout: seconds for each of connect, read, write and waiting for a free connection;
            a whole request (headers and body) must also finish within ``4 * timeout``.
        max_body: a larger body (after decompression) is refused with UpstreamError.
        max_connections: connections open at the same time, over all origins.
        ssl_context: for https (default: httpx's, i.e. the certifi trust store).
    """

    def __init__(
        self,
        *,
        user_agent: str,
        timeout: float = 10.0,
        max_body: int = DEFAULT_MAX_BODY,
        max_connections: int = 16,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._timeout = timeout
        self._pool = ConnectionPool(
            max_body=max_body, max_connections=max_connections, ssl_context=ssl_context
        )
        self._default_headers: dict[str, str] = {
            "accept": "*/*",
            "accept-encoding": "gzip, deflate",
            "accept-language": "zh-CN,zh;q=0.9",
            "user-agent": user_agent,
        }
        self._cookies = httpx.Cookies()
        self._cookie_values: dict[str, str] | None = None  # name → value, rebuilt on change
        self._cookie_headers: dict[tuple[str, str, str], str | None] = {}
        self._cookie_headers_at = 0.0

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every idle connection (bounded and shielded: safe from a cancelled scope)."""
        await self._pool.aclose()

    @property
    def connections_opened(self) -> int:
        """How many connections were made so far (keep-alive keeps this low)."""
        return self._pool.connections_opened

    # ------------------------------------------------------------ cookies

    def cookie(self, name: str) -> str | None:
        """The value of cookie ``name`` in the jar, whatever its domain; None when absent."""
        values = self._cookie_values
        if values is None:
            values = {}
            for item in self._cookies.jar:
                if item.value is not None:
                    values.setdefault(item.name, item.value)
            self._cookie_values = values
        return values.get(name)

    def set_cookie(self, name: str, value: str, domain: str = "") -> None:
        self._cookies.set(name, value, domain=domain)
        self._jar_changed()

    def drop_cookie(self, name: str) -> None:
        """Forget every cookie called ``name`` (e.g. an expired ttwid)."""
        for item in list(self._cookies.jar):
            if item.name == name:
                self._cookies.jar.clear(item.domain, item.path, item.name)
        self._jar_changed()

    def _jar_changed(self) -> None:
        self._cookie_values = None
        self._cookie_headers.clear()

    def _jar_header(self, url: str, target: Target) -> str | None:
        """The jar's ``Cookie`` header for ``url``, cached per scheme/host/path."""
        now = time.monotonic()
        if now - self._cookie_headers_at > COOKIE_CACHE_SECONDS:
            self._jar_changed()  # let expiries take effect
            self._cookie_headers_at = now
        key = (target.scheme, target.authority, target.target.partition("?")[0])
        try:
            return self._cookie_headers[key]
        except KeyError:
            pass
        shim = urllib.request.Request(url)
        self._cookies.jar.add_cookie_header(shim)
        value = shim.get_header("Cookie")
        self._cookie_headers[key] = value
        return value

    def _store_cookies(self, url: str, method: str, received: Received) -> None:
        response = httpx.Response(
            received.status_code, headers=received.headers, request=httpx.Request(method, url)
        )
        self._cookies.extract_cookies(response)
        self._jar_changed()

    # ------------------------------------------------------------ requests

    async def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = False,
        require_body: bool = True,
        now: datetime | None = None,
    ) -> HttpResponse:
        """Send one request and read the whole response.

        A 3xx is returned as is unless ``follow_redirects``. With ``require_body``, an empty
        2xx body is risk control (protocol.md §1.2: HTTP 200 with 0 bytes). An explicit
        ``Cookie`` header replaces the jar's cookies for this request.

        Args:
            now: the time against which an HTTP-date ``Retry-After`` is measured (default:
                the current UTC time).

        Raises:
            TransportError, RiskControl (as BlockedResponse), RoomNotFound, UpstreamError.

        Cancel safety: cancelling abandons the request and closes its connection; the pool
            stays usable.
        """
        deadline = Deadline(self._timeout, 4 * self._timeout)
        result: HttpResponse | None = None
        with deadline.scope:
            result = await self._follow(url, method, headers, follow_redirects, deadline)
        if result is None:  # the deadline scope caught its own cancellation
            raise TransportError(f"{method} {redact_url(url)}: {deadline.message()}")
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d (%d bytes)",
                method,
                redact_url(url),
                result.status_code,
                len(result.body),
            )
        self._raise_for_status(method, result, require_body, now)
        return result

    async def _follow(
        self,
        url: str,
        method: str,
        headers: Mapping[str, str] | None,
        follow: bool,
        deadline: Deadline,
    ) -> HttpResponse:
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._request(url, method, headers, deadline)
            location = response.header("location")
            if not follow or response.status_code not in _REDIRECT_STATUSES or not location:
                return response
            url = urljoin(url, location)
            if response.status_code == 303 and method != "HEAD":
                method = "GET"
        raise UpstreamError(f"{method} {redact_url(url)}: too many redirects")

    async def _request(
        self, url: str, method: str, headers: Mapping[str, str] | None, deadline: Deadline
    ) -> HttpResponse:
        target = split_url(method, url)
        merged = self._default_headers
        if headers:
            merged = {**merged, **{name.lower(): value for name, value in headers.items()}}
        if "cookie" not in merged and (jar := self._jar_header(url, target)):
            merged = {**merged, "cookie": jar}
        try:
            header_list = [(b"host", target.authority.encode("ascii"))] + [
                (name.encode("ascii"), value.encode("utf-8")) for name, value in merged.items()
            ]
            request = h11.Request(method=method, target=target.target, headers=header_list)
        except (UnicodeError, h11.LocalProtocolError) as exc:
            raise TransportError(f"{target.where}: invalid request: {exc}") from None
        received = await self._pool.exchange(target, request, deadline)
        if any(name == b"set-cookie" for name, _ in received.headers):
            self._store_cookies(url, method, received)
        return HttpResponse(
            status_code=received.status_code,
            url=url,
            headers=_header_map(received.headers),
            body=received.body,
        )

    @staticmethod
    def _raise_for_status(
        method: str, response: HttpResponse, require_body: bool, now: datetime | None
    ) -> None:
        status = response.status_code
        if 200 <= status < 300 and (not require_body or response.body.strip()):
            return  # the common case: nothing else to look at
        where = f"{method} {redact_url(response.url)}"
        if status in _RISK_CONTROL_STATUSES:
            retry_after = parse_retry_after(
                response.header("Retry-After"), now or datetime.now(UTC)
            )
            raise BlockedResponse(f"{where}: HTTP {status}", status, retry_after)
        if status in _NOT_FOUND_STATUSES:
            raise RoomNotFound(f"{where}: HTTP {status}")
        if status >= 400:
            raise UpstreamError(f"{where}: HTTP {status}")
        if require_body and 200 <= status < 300:
            raise BlockedResponse(f"{where}: HTTP {status} with an empty body", status)


def _header_map(headers: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-case names → values; a repeated header's values joined with ", " (as httpx)."""
    result: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        result[name] = f"{result[name]}, {value}" if name in result else value
    return result
