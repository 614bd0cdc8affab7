"""The daemon's one HTTP client (httpx), and the one place httpx errors become dylived errors.

Owns :class:`HttpClient`: one ``httpx.AsyncClient`` per daemon (HTTP/1.1, the configured user
agent, the configured timeout, a cookie jar shared by every request), whose :meth:`fetch`
returns a small frozen :class:`HttpResponse` and raises only :mod:`dylived.errors`:

- connect/read/write/pool timeouts and other network failures → ``TransportError``
- 403, 412, 429 and empty 2xx bodies → ``RiskControl`` (``retry_after`` from ``Retry-After``,
  seconds or an HTTP date); this module raises the subclass :class:`BlockedResponse`, which
  also says which status it was
- 404 and 410 → ``RoomNotFound``; 5xx and any other 4xx → ``UpstreamError``

It knows nothing about Douyin (that is ``platforms/``) and never logs cookies or query strings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx

from dylived.errors import RiskControl, RoomNotFound, TransportError, UpstreamError


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
_RISK_CONTROL_STATUSES = frozenset({403, 412, 429})
_NOT_FOUND_STATUSES = frozenset({404, 410})


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


def redact_url(url: str) -> str:
    """``scheme://host/path`` of a URL: what may appear in logs and error messages."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


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


@contextmanager
def _httpx_errors_translated(method: str, url: str) -> Iterator[None]:
    """THE mapping of httpx exceptions to dylived errors (house style: once, at the edge)."""
    where = f"{method} {redact_url(url)}"
    try:
        yield
    except httpx.TimeoutException as exc:
        raise TransportError(f"{where}: timed out ({type(exc).__name__})") from exc
    except TimeoutError as exc:  # the whole-request deadline below
        raise TransportError(f"{where}: no complete response in time") from exc
    except httpx.TooManyRedirects as exc:
        raise UpstreamError(f"{where}: too many redirects") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise TransportError(f"{where}: {type(exc).__name__}: {exc}") from exc


class HttpClient:
    """One ``httpx.AsyncClient`` for the daemon; use as ``async with HttpClient(...) as http``.

    Args:
        user_agent: sent on every request (the same UA must be used for signatures).
        timeout: seconds for each of connect, read, write and pool; a whole request (headers
            and body) must also finish within ``4 * timeout``.
        max_body: a larger body is refused with UpstreamError.
        max_connections: connection pool size.
        transport: an httpx transport to use instead of the network (tests, proxies).
    """

    def __init__(
        self,
        *,
        user_agent: str,
        timeout: float = 10.0,
        max_body: int = DEFAULT_MAX_BODY,
        max_connections: int = 16,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = timeout
        self._max_body = max_body
        self._client = httpx.AsyncClient(
            headers={"User-Agent": user_agent, "Accept-Language": "zh-CN,zh;q=0.9"},
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=max_connections),
            follow_redirects=False,
            transport=transport,
            trust_env=False,  # the endpoints are configuration; no ambient proxies
        )

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
        """Close the connection pool (bounded and shielded: safe from a cancelled scope)."""
        with anyio.move_on_after(5, shield=True):
            await self._client.aclose()

    # ------------------------------------------------------------ cookies

    def cookie(self, name: str) -> str | None:
        """The value of cookie ``name`` in the jar, whatever its domain; None when absent."""
        for item in self._client.cookies.jar:
            if item.name == name and item.value is not None:
                return item.value
        return None

    def set_cookie(self, name: str, value: str, domain: str = "") -> None:
        self._client.cookies.set(name, value, domain=domain)

    def drop_cookie(self, name: str) -> None:
        """Forget every cookie called ``name`` (e.g. an expired ttwid)."""
        for item in list(self._client.cookies.jar):
            if item.name == name:
                self._client.cookies.jar.clear(item.domain, item.path, item.name)

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
        2xx body is risk control (protocol.md §1.2: HTTP 200 with 0 bytes).

        Args:
            now: the time against which an HTTP-date ``Retry-After`` is measured (default:
                the current UTC time).

        Raises:
            TransportError, RiskControl (as BlockedResponse), RoomNotFound, UpstreamError.

        Cancel safety: cancelling abandons the request; the pool stays usable.
        """
        with _httpx_errors_translated(method, url):
            with anyio.fail_after(4 * self._timeout):
                request = self._client.build_request(method, url, headers=headers)
                response = await self._client.send(
                    request, stream=True, follow_redirects=follow_redirects
                )
                try:
                    body = await self._read_limited(response, url)
                finally:
                    await response.aclose()
        result = HttpResponse(
            status_code=response.status_code,
            url=str(response.url),
            headers={k.lower(): v for k, v in response.headers.items()},
            body=body,
        )
        logger.debug(
            "%s %s -> %d (%d bytes)", method, redact_url(url), result.status_code, len(body)
        )
        self._raise_for_status(method, result, require_body, now)
        return result

    async def _read_limited(self, response: httpx.Response, url: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_body:
                raise UpstreamError(f"{redact_url(url)}: body larger than {self._max_body} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _raise_for_status(
        method: str, response: HttpResponse, require_body: bool, now: datetime | None
    ) -> None:
        status = response.status_code
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
        if require_body and 200 <= status < 300 and not response.body.strip():
            raise BlockedResponse(f"{where}: HTTP {status} with an empty body", status)
