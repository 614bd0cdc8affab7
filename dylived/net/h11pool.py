"""HTTP/1.1 exchanges on h11 over anyio streams, with a pool of keep-alive connections.

Owns :class:`ConnectionPool` (``exchange(target, request, deadline) -> Received``, ``aclose``),
:func:`split_url` (a URL → :class:`Target`: origin, ``Host`` and request target) and
:class:`Deadline` (the one cancel scope of a request: the whole-request deadline, or that of
the phase under way — waiting for a connection, connect, write, read — when sooner). It is the
transport under :class:`dylived.net.http.HttpClient`, which owns headers, cookies, redirects
and the meaning of status codes; here a failure is a ``TransportError`` (the network, the
protocol) or an ``UpstreamError`` (a body too large or undecodable).

Why not httpx/httpcore: a thousand broadcasters mean a status GET every ~30 ms, and httpx's
per-request machinery (URL model, cookie shims, redirect and auth layers, httpcore's per-call
async-library sniffing, which repeats a failing ``import sniffio``) cost ~1.2 ms of CPU per
request against ~0.2 ms for the same exchange here (bench/RESULTS.md ``## poll_scale``). h11
(httpcore's own parser) frames the messages; this module adds what the daemon needs: idle
connections per origin, dropped after ``KEEPALIVE_EXPIRY`` (one retry on a new connection when
a reused one turns out closed before any byte of the answer — the requests are GETs), TLS
through anyio with httpx's trust store, gzip/deflate bodies and a body size cap.
"""

from __future__ import annotations

import re
import ssl
import time
import zlib
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import anyio
import anyio.abc
import h11
import httpx

from dylived.errors import TransportError, UpstreamError


__all__ = [
    "KEEPALIVE_EXPIRY",
    "ConnectionPool",
    "Deadline",
    "Received",
    "Target",
    "redact_url",
    "split_url",
]

KEEPALIVE_EXPIRY = 5.0  # seconds an idle connection is kept (as httpx does)
_READ_SIZE = 65536
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"
_NEEDS_QUOTING = re.compile(r"[^\x21-\x7e]")  # what a request target may not contain as is
_AUTHORITY_END = re.compile(r"[/?#]")
_CONNECTION_ERRORS = (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)
_ORIGIN_CACHE_SIZE = 64

Origin = tuple[str, str, int]


def redact_url(url: str) -> str:
    """``scheme://host/path`` of a URL: what may appear in logs and error messages."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


@dataclass(frozen=True, slots=True)
class Target:
    """A request's URL split into what a connection and a request line need."""

    method: str
    url: str
    scheme: str
    host: str
    port: int
    authority: str  # the Host header
    target: str  # path and query, ready for the request line

    @property
    def origin(self) -> Origin:
        return (self.scheme, self.host, self.port)

    @property
    def where(self) -> str:
        """``METHOD scheme://host/path`` for messages (never the query)."""
        return f"{self.method} {redact_url(self.url)}"


@dataclass(frozen=True, slots=True)
class _OriginParts:
    scheme: str
    host: str
    port: int
    authority: str


_origins: dict[str, _OriginParts] = {}


def _origin_parts(prefix: str, method: str, url: str) -> _OriginParts:
    """The origin of ``prefix`` (``scheme://authority``), validated; cached by prefix."""
    known = _origins.get(prefix)
    if known is not None:
        return known
    where = f"{method} {redact_url(url)}"
    try:
        parts = urlsplit(prefix)
        port = parts.port
    except ValueError as exc:
        raise TransportError(f"{where}: InvalidURL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise TransportError(f"{where}: UnsupportedProtocol: {scheme or 'no'} scheme")
    if not parts.hostname:
        raise TransportError(f"{where}: InvalidURL: no host")
    known = _OriginParts(
        scheme, parts.hostname, port or _DEFAULT_PORTS[scheme], parts.netloc.rpartition("@")[2]
    )
    if len(_origins) >= _ORIGIN_CACHE_SIZE:
        _origins.clear()
    _origins[prefix] = known
    return known


def split_url(method: str, url: str) -> Target:
    """Split ``url`` for a request (the origin part is parsed once per distinct origin).

    Raises:
        TransportError: not an http(s) URL with a host, or a malformed port.
    """
    start = url.find("://")
    end = _AUTHORITY_END.search(url, start + 3) if start > 0 else None
    cut = end.start() if end is not None else len(url)
    origin = _origin_parts(url[:cut], method, url)
    target = url[cut:].partition("#")[0]
    if not target.startswith("/"):
        target = f"/{target}"
    if _NEEDS_QUOTING.search(target):
        target = quote(target, safe=_TARGET_SAFE)
    return Target(method, url, origin.scheme, origin.host, origin.port, origin.authority, target)


class Deadline:
    """The one cancel scope of a request (see the module docstring); ``scope`` is entered by
    the caller, ``start(phase)`` is called before each wait."""

    __slots__ = ("phase", "scope", "timeout", "whole")

    def __init__(self, timeout: float, whole: float) -> None:
        self.timeout = timeout
        self.whole = anyio.current_time() + whole
        self.scope = anyio.CancelScope(deadline=self.whole)
        self.phase = ""

    def start(self, phase: str) -> None:
        self.phase = phase
        self.scope.deadline = min(self.whole, anyio.current_time() + self.timeout)

    def message(self) -> str:
        """What timed out, once ``scope`` caught its own cancellation."""
        if self.scope.deadline >= self.whole:
            return "no complete response in time"
        return f"timed out ({self.phase})"


@dataclass(frozen=True, slots=True)
class Received:
    """A whole response: status, raw headers (names lower-case, as h11 gives them), body."""

    status_code: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


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


class _BodyReader:
    """Collects a body, decoding gzip/deflate, refusing more than ``limit`` bytes of it."""

    def __init__(self, encoding: bytes, limit: int, target: Target) -> None:
        self._limit = limit
        self._target = target
        self._chunks: list[bytes] = []
        self._size = 0
        self._decoder: zlib._Decompress | None = None
        self._raw_deflate_tried = False
        if encoding == b"gzip":
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == b"deflate":
            self._decoder = zlib.decompressobj()
        elif encoding not in (b"", b"identity"):
            raise UpstreamError(
                f"{target.where}: unsupported content-encoding {encoding.decode('latin-1')!r}"
            )

    def add(self, data: bytes) -> None:
        if self._decoder is not None:
            data = self._decode(data, self._decoder)
        self._keep(data)

    def finish(self) -> bytes:
        if self._decoder is not None:
            self._keep(self._decoder.flush())
        return b"".join(self._chunks)

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            raise UpstreamError(f"{self._target.where}: body larger than {self._limit} bytes")
        self._chunks.append(data)

    def _decode(self, data: bytes, decoder: zlib._Decompress) -> bytes:
        try:
            # At most one byte over the cap: a compressed bomb is refused, not inflated.
            return decoder.decompress(data, self._limit + 1 - self._size)
        except zlib.error:
            if self._raw_deflate_tried or self._chunks:
                raise UpstreamError(f"{self._target.where}: undecodable compressed body") from None
            self._raw_deflate_tried = True  # some servers send deflate without the zlib header
            self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._decode(data, self._decoder)


class ConnectionPool:
    """Keep-alive HTTP/1.1 connections, at most ``max_connections`` busy at a time.

    Args:
        max_body: the largest (decoded) body accepted.
        max_connections: requests on the wire at the same time, over all origins.
        ssl_context: for https (default: httpx's, i.e. the certifi trust store).
    """

    def __init__(
        self, *, max_body: int, max_connections: int, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._max_body = max_body
        self._slots = anyio.Semaphore(max_connections, fast_acquire=True)
        self._ssl_context = ssl_context
        self._idle: dict[Origin, list[_Connection]] = {}
        self._closed = False
        self.connections_opened = 0  # statistics and tests: keep-alive at work

    async def aclose(self) -> None:
        """Close every idle connection (bounded and shielded: safe from a cancelled scope)."""
        self._closed = True
        idle = [conn for conns in self._idle.values() for conn in conns]
        self._idle.clear()
        with anyio.move_on_after(5, shield=True):
            for conn in idle:
                await anyio.aclose_forcefully(conn.stream)

    async def exchange(self, target: Target, request: h11.Request, deadline: Deadline) -> Received:
        """Send ``request`` and read the whole response on a pooled connection.

        Raises:
            TransportError, UpstreamError (see the module docstring). A timeout cancels
            ``deadline.scope``; the caller reads ``deadline.message()``.

        Cancel safety: the connection in use is closed, never reused.
        """
        try:
            self._slots.acquire_nowait()  # no loop pass when a connection slot is free
        except anyio.WouldBlock:
            deadline.start("PoolTimeout")
            await self._slots.acquire()
        try:
            conn = await self._take_idle(target.origin)
            if conn is not None:
                try:
                    return await self._round_trip(conn, target, request, deadline, reused=True)
                except _StaleConnection:
                    pass  # the server closed it while idle: once more on a new connection
            conn = await self._connect(target, deadline)
            return await self._round_trip(conn, target, request, deadline, reused=False)
        finally:
            self._slots.release()

    async def _take_idle(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if now - conn.idle_since < KEEPALIVE_EXPIRY:
                return conn
            await anyio.aclose_forcefully(conn.stream)
        return None

    async def _connect(self, target: Target, deadline: Deadline) -> _Connection:
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
                    tls_standard_compatible=False,  # bodies are framed; no close_notify wait
                )
            else:
                stream = await anyio.connect_tcp(target.host, target.port)
        except (OSError, ssl.SSLError, anyio.BrokenResourceError) as exc:
            raise TransportError(f"{target.where}: ConnectError: {exc}") from None
        self.connections_opened += 1
        return _Connection(stream)

    async def _round_trip(
        self,
        conn: _Connection,
        target: Target,
        request: h11.Request,
        deadline: Deadline,
        *,
        reused: bool,
    ) -> Received:
        done = False
        try:
            received = await self._send_and_receive(conn, target, request, deadline, reused)
            done = True
            return received
        finally:
            if done and conn.reusable() and not self._closed:
                conn.protocol.start_next_cycle()
                conn.idle_since = time.monotonic()
                self._idle.setdefault(target.origin, []).append(conn)
            else:  # cancelled, failed, or the server will close it: never reused
                await anyio.aclose_forcefully(conn.stream)

    async def _send_and_receive(
        self,
        conn: _Connection,
        target: Target,
        request: h11.Request,
        deadline: Deadline,
        reused: bool,
    ) -> Received:
        protocol = conn.protocol
        data = protocol.send(request) + (protocol.send(h11.EndOfMessage()) or b"")
        deadline.start("WriteTimeout")
        try:
            await conn.stream.send(data)
        except _CONNECTION_ERRORS as exc:
            if reused:
                raise _StaleConnection from None
            raise TransportError(f"{target.where}: WriteError: {exc}") from None
        status_code = 0
        headers: list[tuple[bytes, bytes]] = []
        body: _BodyReader | None = None
        got_bytes = False
        while True:
            try:
                event = protocol.next_event()
            except h11.RemoteProtocolError as exc:
                raise TransportError(f"{target.where}: RemoteProtocolError: {exc}") from None
            if event is h11.NEED_DATA:
                deadline.start("ReadTimeout")
                chunk = await _receive(conn, target, stale_possible=reused and not got_bytes)
                got_bytes = True
                protocol.receive_data(chunk)
            elif isinstance(event, h11.Response):
                status_code = event.status_code
                headers = list(event.headers)
                encoding = next((v for n, v in headers if n == b"content-encoding"), b"")
                body = _BodyReader(encoding.strip().lower(), self._max_body, target)
            elif isinstance(event, h11.Data):
                assert body is not None
                body.add(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                assert body is not None
                return Received(status_code, headers, body.finish())
            elif isinstance(event, h11.ConnectionClosed):
                raise TransportError(f"{target.where}: RemoteProtocolError: connection closed")
            # InformationalResponse (1xx): keep reading


async def _receive(conn: _Connection, target: Target, *, stale_possible: bool) -> bytes:
    try:
        chunk = await conn.stream.receive(_READ_SIZE)
    except anyio.EndOfStream:
        chunk = b""
    except _CONNECTION_ERRORS as exc:
        if stale_possible:
            raise _StaleConnection from None
        raise TransportError(f"{target.where}: ReadError: {exc}") from None
    if not chunk and stale_possible:
        raise _StaleConnection
    return chunk
