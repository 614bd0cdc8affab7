"""The simulator's HTTP/1.1 server: h11 over anyio, with streaming bodies and WebSocket upgrades.

One TCP port serves everything. A route (a coroutine given an ``HttpRequest``) answers with
``Reply`` (a whole body), ``StreamingReply`` (headers now, body written by a producer as the
media plays; chunked on HTTP/1.1) or ``Upgrade`` (101 Switching Protocols, then the raw stream
and any bytes already read go to the WebSocket handler). Keep-alive is honoured, so clients that
pool connections (httpx) see a normal server. ``Close`` drops the connection without answering.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import anyio
import anyio.abc
import h11


READ_SIZE = 65536
HTML = "text/html; charset=utf-8"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    target: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names; repeated headers joined with ", "
    cookies: Mapping[str, str]
    http_version: str
    body: bytes = b""

    @property
    def wants_websocket(self) -> bool:
        return (
            self.headers.get("upgrade", "").lower() == "websocket"
            and "upgrade" in self.headers.get("connection", "").lower()
        )


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json; charset=utf-8"


def json_reply(body: Mapping[str, Any], status: int = 200) -> Reply:
    """A compact JSON body (no spaces, UTF-8 text as is), as the real services send."""
    return Reply(status, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())


class BodyWriter:
    """Given to a StreamingReply producer: ``await write(data)`` sends a chunk."""

    def __init__(self, stream: anyio.abc.ByteStream, conn: h11.Connection) -> None:
        self._stream = stream
        self._conn = conn
        self.bytes_sent = 0
        self.aborted = False

    def abort(self) -> None:
        """End the response by dropping the connection (no terminating chunk)."""
        self.aborted = True

    async def write(self, data: bytes) -> None:
        if data:
            out = self._conn.send(h11.Data(data=data))
            if out:
                await self._stream.send(out)
            self.bytes_sent += len(data)


@dataclass(frozen=True, slots=True)
class StreamingReply:
    status: int
    producer: Callable[[BodyWriter], Awaitable[None]]
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/octet-stream"
    abort_at_end: bool = False  # close the TCP connection instead of ending the body cleanly


@dataclass(frozen=True, slots=True)
class Upgrade:
    handler: Callable[[anyio.abc.ByteStream, bytes], Awaitable[None]]
    headers: tuple[tuple[str, str], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Close:
    """Drop the connection without a response."""


Answer = Reply | StreamingReply | Upgrade | Close
Route = Callable[[HttpRequest], Awaitable[Answer]]
Recorder = Callable[[HttpRequest, int, int], None]  # request, status, body bytes


def parse_cookies(header: str) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            cookies[name] = value
    return cookies


def _to_request(event: h11.Request) -> HttpRequest:
    headers: dict[str, str] = {}
    for raw_name, raw_value in event.headers:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    target = event.target.decode("latin-1")
    split = urllib.parse.urlsplit(target)
    query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
    return HttpRequest(
        method=event.method.decode("ascii"),
        target=target,
        path=urllib.parse.unquote(split.path),
        query=query,
        headers=headers,
        cookies=parse_cookies(headers.get("cookie", "").replace(", ", "; ")),
        http_version=event.http_version.decode("ascii"),
    )


def websocket_accept(key: str) -> str:
    digest = hashlib.sha1((key + WS_GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def _encode_headers(headers: tuple[tuple[str, str], ...]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("utf-8")) for name, value in headers]


def _server_headers() -> tuple[tuple[str, str], ...]:
    return (
        ("Server", "Tengine"),
        ("Date", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())),
    )


async def serve_connection(stream: anyio.abc.ByteStream, route: Route, record: Recorder) -> None:
    """Serve HTTP requests on one connection until either side closes it."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
    try:
        while True:
            request = await _read_request(stream, conn)
            if request is None:
                return
            answer = await route(request)
            if isinstance(answer, Close):
                record(request, 0, 0)
                return
            if isinstance(answer, Upgrade):
                key = request.headers.get("sec-websocket-key", "")
                headers = (
                    ("Upgrade", "websocket"),
                    ("Connection", "Upgrade"),
                    ("Sec-WebSocket-Accept", websocket_accept(key)),
                    *_server_headers(),
                    *answer.headers,
                )
                out = conn.send(
                    h11.InformationalResponse(status_code=101, headers=_encode_headers(headers))
                )
                record(request, 101, 0)
                if out:
                    await stream.send(out)
                trailing, _closed = conn.trailing_data
                await answer.handler(stream, bytes(trailing))
                return
            if isinstance(answer, Reply):
                await _send_whole(stream, conn, answer)
                record(request, answer.status, len(answer.body))
            else:
                record(request, answer.status, 0)
                completed = await _send_streaming(stream, conn, answer)
                if not completed:
                    return
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            try:
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                return
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream):
        return
    except h11.RemoteProtocolError:
        return
    finally:
        with anyio.CancelScope(shield=True):
            await stream.aclose()


async def _read_request(stream: anyio.abc.ByteStream, conn: h11.Connection) -> HttpRequest | None:
    request: HttpRequest | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                data = await stream.receive(READ_SIZE)
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                data = b""
            conn.receive_data(data)
            continue
        if event is h11.PAUSED:
            return request
        if isinstance(event, h11.Request):
            request = _to_request(event)
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            if request is not None and body:
                request = dataclasses.replace(request, body=bytes(body))
            return request
        elif isinstance(event, h11.ConnectionClosed):
            return None


async def _send_whole(stream: anyio.abc.ByteStream, conn: h11.Connection, reply: Reply) -> None:
    headers = (
        *_server_headers(),
        ("Content-Type", reply.content_type),
        ("Content-Length", str(len(reply.body))),
        *reply.headers,
    )
    data = conn.send(h11.Response(status_code=reply.status, headers=_encode_headers(headers)))
    if reply.body:
        data = (data or b"") + (conn.send(h11.Data(data=reply.body)) or b"")
    data = (data or b"") + (conn.send(h11.EndOfMessage()) or b"")
    await stream.send(data)


async def _send_streaming(
    stream: anyio.abc.ByteStream, conn: h11.Connection, reply: StreamingReply
) -> bool:
    """Send a streaming body; False when the connection must not be reused."""
    headers = (*_server_headers(), ("Content-Type", reply.content_type), *reply.headers)
    out = conn.send(h11.Response(status_code=reply.status, headers=_encode_headers(headers)))
    if out:
        await stream.send(out)
    writer = BodyWriter(stream, conn)
    await reply.producer(writer)
    if reply.abort_at_end or writer.aborted:
        return False
    out = conn.send(h11.EndOfMessage())
    if out:
        await stream.send(out)
    return True


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
