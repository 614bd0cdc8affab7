"""The daemon's HTTP client, and the one place responses become dylived errors.

Owns :class:`HttpClient`: one httpcore connection pool (keep-alive HTTP/1.1, at most
``max_connections`` busy) per client, the configured user agent and timeouts, and a cookie jar
shared by every request (the stdlib jar in an ``httpx.Cookies``; the ``Cookie`` header it gives
is cached per URL path until the jar changes). httpcore rather than httpx: on this daemon's
status request httpx costs about twice the CPU of httpcore for the same exchange (URL model,
cookie and redirect layers; bench/http_cost.py, bench/RESULTS.md ``## http_cost``), and this
module needs none of them. :meth:`HttpClient.fetch` follows redirects on request, returns a
small frozen :class:`HttpResponse` and raises only :mod:`dylived.errors`:

- connect/read/write/pool timeouts and other network failures → ``TransportError``
- 403, 412, 429 and empty 2xx bodies → ``RiskControl`` (``retry_after`` from ``Retry-After``,
  seconds or an HTTP date); this module raises the subclass :class:`BlockedResponse`, which
  also says which status it was
- 404 and 410 → ``RoomNotFound``; 5xx and any other 4xx → ``UpstreamError`` (also a body over
  ``max_body`` once decoded, or one in an encoding other than gzip/deflate: net/body.py)

TLS trusts ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set (as OpenSSL and httpx do), else the
certifi store. A redirect to another origin (scheme, host or port) never carries the request's
explicit ``Cookie`` or ``Authorization`` header; the jar's cookies follow their own domain
rules. A request is never re-sent by this client (httpcore drops an idle connection the server
closed before reusing it). **Proxies**: one ``HttpClient`` per proxy (``proxy=``, a
``net.proxy.ProxyUrl``): its pool, made in :func:`open_pool`, sends http:// requests to an
HTTP proxy as absolute URIs and tunnels https:// with CONNECT; SOCKS5 through ``socksio``
(names resolved by the proxy for socks5:// too). ``connections_opened`` then counts connections
to the proxy.

It knows no platform (that is ``platforms/``) and never logs cookies or query strings.
"""

from __future__ import annotations

import logging
import os
import re
import ssl
import time
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import anyio
import certifi
import httpcore
import httpx

from dylived.errors import RiskControl, RoomNotFound, TransportError, UpstreamError
from dylived.net.body import BodyReader
from dylived.net.proxy import ProxyUrl


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
KEEPALIVE_EXPIRY = 5.0  # seconds an idle connection is kept (as httpx does)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ORIGIN_BOUND_HEADERS = frozenset({"cookie", "authorization"})
_NEEDS_QUOTING = re.compile(r"[^\x21-\x7e]")  # what a URL may not contain as is
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"
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


def redact_url(url: str) -> str:
    """``scheme://host/path`` of a URL: what may appear in logs and error messages."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def trust_store() -> ssl.SSLContext:
    """The TLS context for https: ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when set, else certifi."""
    cert_file, cert_dir = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    if cert_file:
        return ssl.create_default_context(cafile=cert_file)
    if cert_dir:
        return ssl.create_default_context(capath=cert_dir)
    return ssl.create_default_context(cafile=certifi.where())


class _CountingBackend(httpcore.AnyIOBackend):
    """httpcore's anyio network backend, counting the connections it made."""

    def __init__(self) -> None:
        super().__init__()
        self.connects = 0

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await super().connect_tcp(host, port, timeout, local_address, socket_options)
        self.connects += 1
        return stream


def open_pool(
    *,
    ssl_context: ssl.SSLContext,
    max_connections: int,
    backend: httpcore.AsyncNetworkBackend,
    proxy: ProxyUrl | None = None,
) -> httpcore.AsyncConnectionPool:
    """The connection pool of one client, direct or through ``proxy``."""
    return httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=max_connections,
        keepalive_expiry=KEEPALIVE_EXPIRY,
        network_backend=backend,
        proxy=None if proxy is None else httpcore_proxy(proxy, ssl_context),
    )


def httpcore_proxy(proxy: ProxyUrl, ssl_context: ssl.SSLContext) -> httpcore.Proxy:
    """``proxy`` as httpcore wants it: the origin, credentials apart, TLS for an https:// one."""
    auth = (proxy.username, proxy.password) if proxy.username or proxy.password else None
    return httpcore.Proxy(
        proxy.origin(), auth=auth, ssl_context=ssl_context if proxy.scheme == "https" else None
    )


_checked_origins: set[str] = set()


def _check_url(url: str, where: str) -> None:
    """Refuse what is not an http(s) URL with a host and a valid port (cached by origin)."""
    start = url.find("://")
    end = url.find("/", start + 3) if start > 0 else -1
    prefix = url if end < 0 else url[:end]
    if prefix in _checked_origins:
        return
    parts = urlsplit(prefix)
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise TransportError(f"{where}: UnsupportedProtocol: {parts.scheme or 'no'} scheme")
    try:
        parts.port  # noqa: B018  # raises for a malformed port
    except ValueError as exc:
        raise TransportError(f"{where}: InvalidURL: {exc}") from None
    if not parts.hostname:
        raise TransportError(f"{where}: InvalidURL: no host")
    if len(_checked_origins) >= 64:
        _checked_origins.clear()
    _checked_origins.add(prefix)


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    scheme = parts.scheme.lower()
    return (scheme, parts.hostname, port or _DEFAULT_PORTS.get(scheme))


# ---------------------------------------------------------------- the client


class HttpClient:
    """The daemon's HTTP client; use as ``async with HttpClient(...) as http``.

    Args:
        user_agent: sent on every request (the same UA must be used for signatures).
        timeout: seconds for each of connect, read, write and waiting for a free connection;
            a whole request (redirects, headers and body) must also finish within
            ``4 * timeout``.
        max_body: a larger body (after decompression) is refused with UpstreamError.
        max_connections: connections open at the same time, over all origins.
        ssl_context: for https (default: :func:`trust_store`), also to an https:// proxy.
        proxy: every request goes through it (None: direct).
    """

    def __init__(
        self,
        *,
        user_agent: str,
        timeout: float = 10.0,
        max_body: int = DEFAULT_MAX_BODY,
        max_connections: int = 16,
        ssl_context: ssl.SSLContext | None = None,
        proxy: ProxyUrl | None = None,
    ) -> None:
        self._timeout = timeout
        self._max_body = max_body
        self._extensions = {
            "timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        }
        self._backend = _CountingBackend()
        self._pool = open_pool(
            ssl_context=ssl_context or trust_store(),
            max_connections=max_connections,
            backend=self._backend,
            proxy=proxy,
        )
        self._default_headers: dict[str, str] = {
            "accept": "*/*",
            "accept-encoding": "gzip, deflate",
            "accept-language": "zh-CN,zh;q=0.9",
            "user-agent": user_agent,
        }
        self._cookies = httpx.Cookies()
        self._cookie_values: dict[str, str] | None = None  # name → value, rebuilt on change
        self._cookie_headers: dict[str, str | None] = {}
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
        """Close every connection (bounded and shielded: safe from a cancelled scope)."""
        with anyio.move_on_after(5, shield=True):
            await self._pool.aclose()

    @property
    def connections_opened(self) -> int:
        """How many connections were made so far (keep-alive keeps this low)."""
        return self._backend.connects

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

    def _jar_header(self, url: str) -> str | None:
        """The jar's ``Cookie`` header for ``url``, cached per scheme/host/path."""
        now = time.monotonic()
        if now - self._cookie_headers_at > COOKIE_CACHE_SECONDS:
            self._jar_changed()  # let expiries take effect
            self._cookie_headers_at = now
        cache_key = url.partition("?")[0].partition("#")[0]  # scheme://authority/path
        try:
            return self._cookie_headers[cache_key]
        except KeyError:
            pass
        shim = urllib.request.Request(url)
        self._cookies.jar.add_cookie_header(shim)
        value = shim.get_header("Cookie")
        self._cookie_headers[cache_key] = value
        return value

    def _store_cookies(self, url: str, method: str, headers: list[tuple[bytes, bytes]]) -> None:
        response = httpx.Response(0, headers=headers, request=httpx.Request(method, url))
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
        content: bytes = b"",
        check_status: bool = True,
    ) -> HttpResponse:
        """Send one request and read the whole response.

        A 3xx is returned as is unless ``follow_redirects``. With ``require_body``, an empty
        2xx body is risk control (protocol.md §1.2: HTTP 200 with 0 bytes). An explicit
        ``Cookie`` header replaces the jar's cookies for this request (and is dropped on a
        redirect to another origin).

        Args:
            content: the request body (e.g. a webhook's JSON; not re-sent on a redirect).
            check_status: False returns every answer as it came (the caller reads the status
                and body of an error itself, e.g. a signing server's 429 JSON).
            now: the time against which an HTTP-date ``Retry-After`` is measured (default:
                the current UTC time).

        Raises:
            TransportError, RiskControl (as BlockedResponse), RoomNotFound, UpstreamError.

        Cancel safety: cancelling abandons the request and closes its connection; the pool
            stays usable.
        """
        result: HttpResponse | None = None
        with anyio.move_on_after(4 * self._timeout):
            result = await self._follow(url, method, headers, follow_redirects, content)
        if result is None:  # the whole-request deadline passed
            raise TransportError(f"{method} {redact_url(url)}: no complete response in time")
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d (%d bytes)",
                method,
                redact_url(url),
                result.status_code,
                len(result.body),
            )
        if check_status:
            self._raise_for_status(method, result, require_body, now)
        return result

    async def _follow(
        self,
        url: str,
        method: str,
        headers: Mapping[str, str] | None,
        follow: bool,
        content: bytes = b"",
    ) -> HttpResponse:
        merged = self._default_headers
        if headers:
            merged = {**merged, **{name.lower(): value for name, value in headers.items()}}
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._request(url, method, merged, content)
            content = b""
            location = response.header("location")
            if not follow or response.status_code not in _REDIRECT_STATUSES or not location:
                return response
            target = urljoin(url, location)
            if _origin(target) != _origin(url):  # never hand our credentials to another host
                merged = {k: v for k, v in merged.items() if k not in _ORIGIN_BOUND_HEADERS}
            url = target
            if response.status_code == 303 and method != "HEAD":
                method = "GET"
        raise UpstreamError(f"{method} {redact_url(url)}: too many redirects")

    async def _request(
        self, url: str, method: str, headers: Mapping[str, str], content: bytes = b""
    ) -> HttpResponse:
        if _NEEDS_QUOTING.search(url):
            url = quote(url, safe=_URL_SAFE)
        where = f"{method} {redact_url(url)}"
        _check_url(url, where)
        if "cookie" not in headers and (jar := self._jar_header(url)):
            headers = {**headers, "cookie": jar}
        try:
            header_list = [
                (name.encode("ascii"), value.encode("utf-8")) for name, value in headers.items()
            ]
            async with self._pool.stream(
                method,
                url,
                headers=header_list,
                content=content or None,
                extensions=self._extensions,
            ) as answer:
                raw_headers = answer.headers
                encoding = next(
                    (v for n, v in raw_headers if n.lower() == b"content-encoding"), b""
                )
                body = BodyReader(encoding, self._max_body, where)
                async for chunk in answer.aiter_stream():
                    body.add(chunk)
                content = body.finish()
        except httpcore.TimeoutException as exc:
            raise TransportError(f"{where}: timed out ({type(exc).__name__})") from None
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.ProxyError) as exc:
            raise TransportError(f"{where}: {type(exc).__name__}: {exc}") from None
        except httpcore.UnsupportedProtocol as exc:
            raise TransportError(f"{where}: UnsupportedProtocol: {exc}") from None
        except (UnicodeError, ValueError) as exc:  # a header or URL that cannot be sent
            raise TransportError(f"{where}: InvalidURL or header: {exc}") from None
        if any(name.lower() == b"set-cookie" for name, _ in raw_headers):
            self._store_cookies(url, method, raw_headers)
        return HttpResponse(
            status_code=answer.status,
            url=url,
            headers=_header_map(raw_headers),
            body=content,
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
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        result[name] = f"{result[name]}, {value}" if name in result else value
    return result
