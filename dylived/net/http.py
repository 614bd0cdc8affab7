"""The daemon's one HTTP client (HTTP/1.1 on h11 + anyio), and where network errors become ours.

Owns :class:`HttpClient`: one keep-alive connection pool per daemon (HTTP/1.1, the configured
user agent, the configured timeout, a cookie jar shared by every request), whose :meth:`fetch`
returns a small frozen :class:`HttpResponse` and raises only :mod:`dylived.errors`:

- connect/read/write/pool timeouts and other network failures → ``TransportError``
- 403, 412, 429 and empty 2xx bodies → ``RiskControl`` (``retry_after`` from ``Retry-After``,
  seconds or an HTTP date); this module raises the subclass :class:`BlockedResponse`, which
  also says which status it was
- 404 and 410 → ``RoomNotFound``; 5xx and any other 4xx → ``UpstreamError``

Why not httpx here: a thousand broadcasters mean a status GET every ~30 ms, and httpx's
per-request machinery (URL model, cookie-jar shims, redirect and auth layers, httpcore's
per-call async-library sniffing) cost ~1.2 ms of CPU per request against ~0.2 ms for the same
exchange on h11 directly (bench/RESULTS.md ``## poll_scale``). h11 (httpcore's own parser)
frames the messages; this module adds only what the daemon needs: a pool of idle connections
per origin (one retry on a fresh connection when a reused one turns out closed — GETs only),
TLS through anyio with httpx's default trust store, gzip/deflate bodies, redirects on request,
and the stdlib cookie jar (held in an ``httpx.Cookies``) whose ``Cookie`` header is cached per
URL path until the jar changes.

It knows nothing about Douyin (that is ``platforms/``) and never logs cookies or query strings.
"""

from __future__ import annotations

import logging
import re
import ssl
import time
import urllib.request
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import anyio
import anyio.abc
import h11
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
MAX_REDIRECTS = 20
KEEPALIVE_EXPIRY = 5.0  # seconds an idle connection is kept (as httpx does)
COOKIE_CACHE_SECONDS = 60.0  # a cached Cookie header is recomputed at least this often
_READ_SIZE = 65536
_RISK_CONTROL_STATUSES = frozenset({403, 412, 429})
_NOT_FOUND_STATUSES = frozenset({404, 410})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"
_NEEDS_QUOTING = re.compile(r"[^\x21-\x7e]")  # what a request target may not contain as is
_CONNECTION_ERRORS = (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


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


# ---------------------------------------------------------------- pieces of one exchange


@dataclass(frozen=True, slots=True)
class _Target:
    """A URL split into what a connection and a request line need."""

    scheme: str
    host: str
    port: int
    authority: str  # the Host header
    target: str  # path and query

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


def _split_url(url: str, where: str) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TransportError(f"{where}: InvalidURL: {exc}") from None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS:
        raise TransportError(f"{where}: UnsupportedProtocol: {scheme or 'no'} scheme")
    if not host:
        raise TransportError(f"{where}: InvalidURL: no host")
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    if _NEEDS_QUOTING.search(target):
        target = quote(target, safe=_TARGET_SAFE)
    return _Target(
        scheme=scheme,
        host=host,
        port=port or _DEFAULT_PORTS[scheme],
        authority=parts.netloc.rpartition("@")[2],
        target=target,
    )


class _Deadline:
    """The one cancel scope of a fetch: its deadline is the whole-request deadline or, when
    sooner, that of the phase under way (waiting for a connection, connect, write, read)."""

    __slots__ = ("phase", "scope", "timeout", "whole")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.whole = anyio.current_time() + 4 * timeout
        self.scope = anyio.CancelScope(deadline=self.whole)
        self.phase = ""

    def start(self, phase: str) -> None:
        self.phase = phase
        self.scope.deadline = min(self.whole, anyio.current_time() + self.timeout)

    def message(self) -> str:
        if self.scope.deadline >= self.whole:
            return "no complete response in time"
        return f"timed out ({self.phase})"


class _StaleConnection(Exception):
    """A reused keep-alive connection was closed by the server before it answered."""


class _Connection:
    """One HTTP/1.1 connection: the byte stream and its h11 state."""

    __slots__ = ("idle_since", "protocol", "stream")

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self.stream = stream
        self.protocol = h11.Connection(h11.CLIENT)
        self.idle_since = 0.0

    def reusable(self) -> bool:
        return self.protocol.our_state is h11.DONE and self.protocol.their_state is h11.DONE


@dataclass(slots=True)
class _Received:
    status_code: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class _BodyReader:
    """Collects a body, decoding gzip/deflate, refusing more than ``limit`` bytes."""

    def __init__(self, encoding: bytes, limit: int, where: str) -> None:
        self._limit = limit
        self._where = where
        self._chunks: list[bytes] = []
        self._size = 0
        self._decoder: zlib._Decompress | None = None
        self._raw_deflate_tried = False
        if encoding == b"gzip":
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == b"deflate":
            self._decoder = zlib.decompressobj()
        elif encoding not in (b"", b"identity"):
            raise UpstreamError(f"{where}: unsupported content-encoding {encoding.decode()!r}")

    def add(self, data: bytes) -> None:
        if self._decoder is not None:
            data = self._decode(data, self._decoder)
        self._size += len(data)
        if self._size > self._limit:
            raise UpstreamError(f"{self._where}: body larger than {self._limit} bytes")
        self._chunks.append(data)

    def _decode(self, data: bytes, decoder: zlib._Decompress) -> bytes:
        try:
            return decoder.decompress(data, self._limit + 1 - self._size)
        except zlib.error:
            if self._raw_deflate_tried or self._size or self._chunks:
                raise UpstreamError(f"{self._where}: undecodable compressed body") from None
            # Some servers send raw deflate without the zlib header.
            self._raw_deflate_tried = True
            self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._decode(data, self._decoder)

    def finish(self) -> bytes:
        if self._decoder is not None:
            self.add_tail(self._decoder.flush())
        return b"".join(self._chunks)

    def add_tail(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            raise UpstreamError(f"{self._where}: body larger than {self._limit} bytes")
        self._chunks.append(data)


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
        self._max_body = max_body
        self._slots = anyio.Semaphore(max_connections)
        self._ssl_context = ssl_context
        self._default_headers: dict[str, str] = {
            "accept": "*/*",
            "accept-encoding": "gzip, deflate",
            "accept-language": "zh-CN,zh;q=0.9",
            "user-agent": user_agent,
        }
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._cookies = httpx.Cookies()
        self._cookie_headers: dict[tuple[str, str, str], str | None] = {}
        self._cookie_headers_at = 0.0
        self._closed = False

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
        self._closed = True
        idle = [conn for conns in self._idle.values() for conn in conns]
        self._idle.clear()
        with anyio.move_on_after(5, shield=True):
            for conn in idle:
                await anyio.aclose_forcefully(conn.stream)

    # ------------------------------------------------------------ cookies

    def cookie(self, name: str) -> str | None:
        """The value of cookie ``name`` in the jar, whatever its domain; None when absent."""
        for item in self._cookies.jar:
            if item.name == name and item.value is not None:
                return item.value
        return None

    def set_cookie(self, name: str, value: str, domain: str = "") -> None:
        self._cookies.set(name, value, domain=domain)
        self._cookie_headers.clear()

    def drop_cookie(self, name: str) -> None:
        """Forget every cookie called ``name`` (e.g. an expired ttwid)."""
        for item in list(self._cookies.jar):
            if item.name == name:
                self._cookies.jar.clear(item.domain, item.path, item.name)
        self._cookie_headers.clear()

    def _jar_header(self, url: str, target: _Target) -> str | None:
        """The jar's ``Cookie`` header for ``url``, cached per scheme/host/path."""
        now = time.monotonic()
        if now - self._cookie_headers_at > COOKIE_CACHE_SECONDS:
            self._cookie_headers.clear()  # let expiries take effect
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

    def _store_cookies(self, url: str, method: str, received: _Received) -> None:
        response = httpx.Response(
            received.status_code, headers=received.headers, request=httpx.Request(method, url)
        )
        self._cookies.extract_cookies(response)
        self._cookie_headers.clear()

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
        deadline = _Deadline(self._timeout)
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
        deadline: _Deadline,
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
        self, url: str, method: str, headers: Mapping[str, str] | None, deadline: _Deadline
    ) -> HttpResponse:
        where = f"{method} {redact_url(url)}"
        target = _split_url(url, where)
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
            raise TransportError(f"{where}: invalid request: {exc}") from None
        received = await self._exchange(target, request, where, deadline)
        if any(name == b"set-cookie" for name, _ in received.headers):
            self._store_cookies(url, method, received)
        return HttpResponse(
            status_code=received.status_code,
            url=url,
            headers=_header_map(received.headers),
            body=received.body,
        )

    async def _exchange(
        self, target: _Target, request: h11.Request, where: str, deadline: _Deadline
    ) -> _Received:
        """One request/response on a pooled connection (a fresh one if a reused one was stale)."""
        try:
            self._slots.acquire_nowait()  # no checkpoint when a connection slot is free
        except anyio.WouldBlock:
            deadline.start("PoolTimeout")
            await self._slots.acquire()
        try:
            conn = await self._take_idle(target.origin)
            if conn is not None:
                try:
                    return await self._round_trip(conn, target, request, where, deadline, True)
                except _StaleConnection:
                    pass  # the server closed it while idle: once more on a new connection
            conn = await self._connect(target, where, deadline)
            return await self._round_trip(conn, target, request, where, deadline, False)
        finally:
            self._slots.release()

    async def _take_idle(self, origin: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if now - conn.idle_since < KEEPALIVE_EXPIRY:
                return conn
            await anyio.aclose_forcefully(conn.stream)
        return None

    def _put_idle(self, origin: tuple[str, str, int], conn: _Connection) -> None:
        conn.protocol.start_next_cycle()
        conn.idle_since = time.monotonic()
        self._idle.setdefault(origin, []).append(conn)

    async def _connect(self, target: _Target, where: str, deadline: _Deadline) -> _Connection:
        deadline.start("ConnectTimeout")
        try:
            stream: anyio.abc.ByteStream
            if target.scheme == "https":
                if self._ssl_context is None:
                    self._ssl_context = httpx.create_ssl_context(trust_env=False)
                stream = await anyio.connect_tcp(
                    target.host,
                    target.port,
                    ssl_context=self._ssl_context,
                    tls_hostname=target.host,
                    tls_standard_compatible=False,  # Content-Length framing; no close_notify
                )
            else:
                stream = await anyio.connect_tcp(target.host, target.port)
        except (OSError, ssl.SSLError, anyio.BrokenResourceError) as exc:
            raise TransportError(f"{where}: ConnectError: {exc}") from None
        return _Connection(stream)

    async def _round_trip(
        self,
        conn: _Connection,
        target: _Target,
        request: h11.Request,
        where: str,
        deadline: _Deadline,
        reused: bool,
    ) -> _Received:
        done = False
        try:
            received = await self._send_and_receive(conn, request, where, deadline, reused)
            done = True
            return received
        finally:
            if done and conn.reusable() and not self._closed:
                self._put_idle(target.origin, conn)
            else:  # cancelled, failed, or the server will close it: never reused
                await anyio.aclose_forcefully(conn.stream)

    async def _send_and_receive(
        self, conn: _Connection, request: h11.Request, where: str, deadline: _Deadline, reused: bool
    ) -> _Received:
        protocol = conn.protocol
        data = protocol.send(request) + (protocol.send(h11.EndOfMessage()) or b"")
        deadline.start("WriteTimeout")
        try:
            await conn.stream.send(data)
        except _CONNECTION_ERRORS as exc:
            if reused:
                raise _StaleConnection from None
            raise TransportError(f"{where}: WriteError: {exc}") from None
        status_code = 0
        headers: list[tuple[bytes, bytes]] = []
        body: _BodyReader | None = None
        got_bytes = False
        while True:
            try:
                event = protocol.next_event()
            except h11.RemoteProtocolError as exc:
                raise TransportError(f"{where}: RemoteProtocolError: {exc}") from None
            if event is h11.NEED_DATA:
                deadline.start("ReadTimeout")
                chunk = await _receive(conn, where, stale_possible=reused and not got_bytes)
                got_bytes = True
                protocol.receive_data(chunk)
            elif isinstance(event, h11.Response):
                status_code = event.status_code
                headers = list(event.headers)
                encoding = next((v for n, v in headers if n == b"content-encoding"), b"")
                body = _BodyReader(encoding.strip().lower(), self._max_body, where)
            elif isinstance(event, h11.Data):
                assert body is not None
                body.add(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                assert body is not None
                return _Received(status_code, headers, body.finish())
            elif isinstance(event, h11.ConnectionClosed):
                raise TransportError(f"{where}: RemoteProtocolError: connection closed")
            # InformationalResponse (1xx): keep reading

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


async def _receive(conn: _Connection, where: str, *, stale_possible: bool) -> bytes:
    try:
        chunk = await conn.stream.receive(_READ_SIZE)
    except anyio.EndOfStream:
        chunk = b""
    except _CONNECTION_ERRORS as exc:
        if stale_possible:
            raise _StaleConnection from None
        raise TransportError(f"{where}: ReadError: {exc}") from None
    if not chunk and stale_possible:
        raise _StaleConnection
    return chunk
