"""A small counting forward proxy on 127.0.0.1 for the proxy tests (HTTP, and SOCKS5).

:class:`CountingProxy` speaks HTTP/1.1 as a forward proxy: ``CONNECT host:port`` opens a tunnel
(its first request line is kept, so a test sees the WebSocket upgrade that went through it),
and an absolute-URI request (``GET http://host:port/path``) is sent on in origin form over a
connection to that host, the response relayed as it comes (keep-alive works: the client's next
request on the same connection goes the same way). With ``socks=True`` it is a SOCKS5 proxy
instead (RFC 1928, CONNECT only, by domain name or IPv4); with ``tls`` (a server context) an
HTTP proxy is an ``https://`` one (TLS from the client to it). With ``credentials`` it asks for
them (``Proxy-Authorization: Basic``, or the SOCKS5 user/password method) and refuses a client
without them (407, or SOCKS auth failure), counting the refusals.

It only ever connects to 127.0.0.1 (any other target is refused and counted in ``refused``):
tests never touch another address. Every request is kept in ``seen`` as :class:`Seen`.
"""

from __future__ import annotations

import base64
import ipaddress
import ssl
import struct
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.abc
from anyio.streams.buffered import BufferedByteReceiveStream
from anyio.streams.tls import TLSListener


__all__ = ["CountingProxy", "Seen"]

MAX_HEAD = 64 * 1024
_GONE = (
    anyio.EndOfStream,
    anyio.IncompleteRead,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    OSError,
)
_LOOPBACK = frozenset({"127.0.0.1", "localhost"})


@dataclass(frozen=True, slots=True)
class Seen:
    """One request the proxy took: ``CONNECT`` (``path``: the tunnel's first request line's
    path, ``""`` when it sent none) or a forwarded method with its origin-form path."""

    method: str
    host: str
    port: int
    path: str
    query: str = ""
    upgrade: bool = False  # the tunnel's first request asked for a WebSocket upgrade


class CountingProxy:
    """Run with ``async with CountingProxy.running() as proxy``; ``proxy.url`` to configure."""

    def __init__(
        self,
        *,
        socks: bool = False,
        credentials: tuple[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
    ):
        self.socks = socks
        self.tls = tls
        self.credentials = credentials
        self.port = 0
        self.seen: list[Seen] = []
        self.refused: list[str] = []
        self.unauthorized = 0

    @property
    def url(self) -> str:
        scheme = "socks5h" if self.socks else "https" if self.tls else "http"
        user = f"{self.credentials[0]}:{self.credentials[1]}@" if self.credentials else ""
        return f"{scheme}://{user}127.0.0.1:{self.port}"

    def kinds(self, classify: Callable[[Seen], str]) -> Counter[str]:
        """How many requests of each kind (``classify`` names the kind of one)."""
        return Counter(classify(seen) for seen in self.seen)

    @classmethod
    @asynccontextmanager
    async def running(cls, **options: object) -> AsyncIterator[CountingProxy]:
        proxy = cls(**options)  # type: ignore[arg-type]
        tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        proxy.port = tcp.extra(anyio.abc.SocketAttribute.local_port)
        listener: anyio.abc.Listener[Any] = tcp
        if proxy.tls is not None:
            listener = TLSListener(tcp, proxy.tls, standard_compatible=False)
        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, proxy._client)
            try:
                yield proxy
            finally:
                tg.cancel_scope.cancel()

    # ------------------------------------------------------------ one client

    async def _client(self, client: anyio.abc.ByteStream) -> None:
        async with client:
            reader = BufferedByteReceiveStream(client)
            try:
                if self.socks:
                    await self._socks(client, reader)
                else:
                    await self._http(client, reader)
            except _GONE:
                pass  # the client or the target went away: that connection ends

    def _allowed(self, host: str, port: int) -> bool:
        if host in _LOOPBACK:
            return True
        self.refused.append(f"{host}:{port}")
        return False

    async def _http(self, client: anyio.abc.ByteStream, reader: BufferedByteReceiveStream) -> None:
        upstream: anyio.abc.ByteStream | None = None
        authority: tuple[str, int] | None = None
        async with anyio.create_task_group() as tg:
            try:
                while True:
                    head = await reader.receive_until(b"\r\n\r\n", MAX_HEAD)
                    lines = head.decode("latin-1").split("\r\n")
                    method, target, version = lines[0].split(" ", 2)
                    headers = [line for line in lines[1:] if line]
                    if not self._authorized(headers):
                        await client.send(
                            b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                            b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n'
                            b"Connection: close\r\n\r\n"
                        )
                        return
                    if method == "CONNECT":
                        await self._tunnel(client, reader, target)
                        return
                    parts = urlsplit(target)
                    host, port = parts.hostname or "", parts.port or 80
                    if not self._allowed(host, port):
                        await client.send(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                        return
                    path = parts.path or "/"
                    self.seen.append(Seen(method, host, port, path, parts.query))
                    if upstream is None or authority != (host, port):
                        if upstream is not None:
                            await upstream.aclose()
                        upstream = await anyio.connect_tcp("127.0.0.1", port)
                        authority = (host, port)
                        tg.start_soon(_relay, upstream, client)
                    kept = [h for h in headers if not h.lower().startswith("proxy-")]
                    origin_form = path + (f"?{parts.query}" if parts.query else "")
                    request = "\r\n".join([f"{method} {origin_form} {version}", *kept, "", ""])
                    await upstream.send(request.encode("latin-1"))
                    sized = [h for h in kept if h.lower().startswith("content-length:")]
                    if length := int(sized[0].split(":", 1)[1]) if sized else 0:
                        await upstream.send(await reader.receive_exactly(length))
            except _GONE:
                pass  # the client or the target went away: that connection ends
            finally:
                tg.cancel_scope.cancel()
                if upstream is not None:
                    with anyio.move_on_after(1, shield=True):
                        await upstream.aclose()

    def _authorized(self, headers: list[str]) -> bool:
        if self.credentials is None:
            return True
        expected = base64.b64encode(":".join(self.credentials).encode()).decode()
        for line in headers:
            name, _, value = line.partition(":")
            if (
                name.strip().lower() == "proxy-authorization"
                and value.strip() == f"Basic {expected}"
            ):
                return True
        self.unauthorized += 1
        return False

    async def _tunnel(
        self, client: anyio.abc.ByteStream, reader: BufferedByteReceiveStream, target: str
    ) -> None:
        host, _, port_text = target.rpartition(":")
        host = host.strip("[]")
        if not self._allowed(host, int(port_text)):
            await client.send(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        upstream = await anyio.connect_tcp("127.0.0.1", int(port_text))
        reply = b"HTTP/1.1 200 Connection established\r\n\r\n"
        await self._splice(client, reader, upstream, reply, ("CONNECT", host, int(port_text)))

    async def _splice(
        self,
        client: anyio.abc.ByteStream,
        reader: BufferedByteReceiveStream,
        upstream: anyio.abc.ByteStream,
        reply: bytes,
        where: tuple[str, str, int],
    ) -> None:
        """Answer ``reply``, then relay both ways; the tunnel's first bytes are read first to
        note its request (``where``: method, host and port, for ``seen``)."""
        method, host, port = where
        async with upstream:
            await client.send(reply)
            first = await reader.receive()  # what it buffered, else the next bytes
            text = first.decode("latin-1", "replace")
            request_line = text.split("\r\n", 1)[0].split(" ")
            path, _, query = (request_line[1] if len(request_line) == 3 else "").partition("?")
            upgrade = "upgrade: websocket" in text.lower()
            self.seen.append(Seen(method, host, port, path, query, upgrade))
            await upstream.send(first)
            async with anyio.create_task_group() as tg:
                tg.start_soon(_relay, upstream, client)
                await _relay(reader, upstream)
                tg.cancel_scope.cancel()

    # ------------------------------------------------------------ SOCKS5

    async def _socks(self, client: anyio.abc.ByteStream, reader: BufferedByteReceiveStream) -> None:
        version, count = await reader.receive_exactly(2)
        methods = await reader.receive_exactly(count)
        wanted = 2 if self.credentials else 0
        if version != 5 or wanted not in methods:
            await client.send(b"\x05\xff")
            return
        await client.send(bytes([5, wanted]))
        if self.credentials:
            _, ulen = await reader.receive_exactly(2)
            user = (await reader.receive_exactly(ulen)).decode()
            (plen,) = await reader.receive_exactly(1)
            password = (await reader.receive_exactly(plen)).decode()
            ok = (user, password) == self.credentials
            await client.send(b"\x01\x00" if ok else b"\x01\x01")
            if not ok:
                self.unauthorized += 1
                return
        _, command, _, address_type = await reader.receive_exactly(4)
        if address_type == 3:
            (length,) = await reader.receive_exactly(1)
            host = (await reader.receive_exactly(length)).decode()
        elif address_type == 1:
            host = str(ipaddress.IPv4Address(await reader.receive_exactly(4)))
        else:
            await client.send(b"\x05\x08\x00\x01" + bytes(6))  # address type not supported
            return
        (port,) = struct.unpack("!H", await reader.receive_exactly(2))
        if command != 1 or not self._allowed(host, port):
            await client.send(b"\x05\x02\x00\x01" + bytes(6))  # not allowed
            return
        upstream = await anyio.connect_tcp("127.0.0.1", port)
        reply = b"\x05\x00\x00\x01" + bytes(4) + struct.pack("!H", port)
        await self._splice(client, reader, upstream, reply, ("SOCKS", host, port))


async def _relay(source: anyio.abc.ByteReceiveStream, sink: anyio.abc.ByteStream) -> None:
    try:
        while True:
            await sink.send(await source.receive())
    except _GONE:
        pass
    finally:
        with anyio.move_on_after(1, shield=True):
            with suppress(*_GONE, NotImplementedError, TypeError):  # TLS: no half-close
                await sink.send_eof()
