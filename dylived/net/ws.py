"""The webcast WebSocket client (websockets, asyncio), and the one place its errors are mapped.

Owns :func:`open_push_connection` (an async context manager yielding a :class:`PushConnection`)
and the translation of websockets' exceptions into :mod:`dylived.errors`:

- the upgrade answered with anything but 101 — a platform's block can be **HTTP 200** with a
  ``Handshake-Msg`` header (protocol.md §2.5, sim ``ws_reject``), a bad signature or an unknown
  room a 4xx — → :class:`HandshakeRejected` (a ``RiskControl``; ``status_code``, ``message``);
  a 5xx → ``UpstreamError``
- refused/reset connections, handshake timeouts, EOF during the handshake → ``TransportError``
- the connection closing after it opened → :class:`PushClosed` (a ``TransportError``) with
  the close code and whether a close frame was received (``clean``)

Keep-alive (ecosystem.md §4, protocol.md §2.5): the server's WebSocket pings are answered by
websockets automatically (the server drops clients that do not pong); our own keepalive pings
are off (``ping_interval=None``) because the protocol's keepalive is the binary ``hb`` frame,
which the caller (``capture/component.py``) sends. Proxies: only the one the caller passes
(``proxy``, a ``net.proxy.ProxyUrl``), never one from the environment; websockets opens the
tunnel itself (HTTP CONNECT for ws:// and wss://, TLS to an https:// proxy with the same trust
store as net/http.py, SOCKS5 through python-socks). Knows nothing of the webcast protocol
itself (that is ``wire/``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidProxy,
    InvalidStatus,
    InvalidURI,
)
from websockets.typing import Origin

from dylived.errors import RiskControl, TransportError, UpstreamError
from dylived.net.http import parse_retry_after, redact_url, trust_store
from dylived.net.proxy import ProxyUrl


__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "HandshakeRejected",
    "PushClosed",
    "PushConnectOptions",
    "PushConnection",
    "open_push_connection",
]

logger = logging.getLogger(__name__)

# One WebSocket message is one PushFrame, its payload usually gzipped; a frame is a few KB,
# a burst of a busy room some hundred KB. 8 MiB matches wire.frames' decompressed cap.
DEFAULT_MAX_MESSAGE_SIZE = 8 * 1024 * 1024
CLOSE_TIMEOUT = 2.0  # seconds a close handshake may take (bounded, shielded)


class HandshakeRejected(RiskControl):
    """The push server refused the upgrade (HTTP 200 = blocked, or a 4xx); not a network error.

    Retrying soon rarely helps: the caller counts these and gives the event stream up after a
    bounded number of attempts. ``message`` is the server's ``Handshake-Msg`` when it sent one.
    """

    def __init__(
        self, status_code: int, message: str = "", retry_after: float | None = None
    ) -> None:
        detail = f": {message}" if message else ""
        super().__init__(f"push upgrade refused with HTTP {status_code}{detail}", retry_after)
        self.status_code = status_code
        self.message = message


class PushClosed(TransportError):
    """An open push connection ended; ``clean`` when a close frame arrived (``code``)."""

    def __init__(self, code: int | None, reason: str, *, clean: bool) -> None:
        what = f"closed by the server ({code}{' ' + reason if reason else ''})" if clean else ""
        super().__init__(what or "connection lost (no close frame)")
        self.code = code
        self.reason = reason
        self.clean = clean


@dataclass(frozen=True, slots=True)
class PushConnectOptions:
    """How to open one push connection.

    Args:
        url: the signed ``ws://``/``wss://`` push URL (the platform's ``EventSource``).
        user_agent: the ``User-Agent`` (the same as the status calls).
        headers: extra request headers, e.g. ``Cookie``, ``Referer``, ``Accept-Language``.
        origin: the ``Origin`` header (a browser sends the platform's web origin).
        open_timeout: seconds for TCP connect + upgrade.
        max_size: the largest message accepted (bytes).
        proxy: the proxy to connect through, or None for a direct connection.
        compression: ``"deflate"`` offers permessage-deflate as browsers do; None disables it.
    """

    url: str
    user_agent: str
    headers: Sequence[tuple[str, str]] = ()
    origin: str | None = None
    open_timeout: float = 10.0
    max_size: int = DEFAULT_MAX_MESSAGE_SIZE
    proxy: ProxyUrl | None = None
    compression: str | None = "deflate"


class PushConnection:
    """One open push connection: binary messages in and out. Made by open_push_connection."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self.text_messages_ignored = 0

    async def receive(self) -> bytes:
        """The next binary message (text messages are counted and skipped).

        Cancel safety: safe; a message is either returned or left for the next call.

        Raises:
            PushClosed: the connection ended.
        """
        while True:
            try:
                message = await self._ws.recv()
            except ConnectionClosed as exc:
                raise _closed(exc) from exc
            if isinstance(message, bytes):
                return message
            self.text_messages_ignored += 1

    async def send(self, data: bytes) -> None:
        """Send one binary message. Cancel safety: a cancelled send may have been sent or not.

        Raises:
            PushClosed: the connection ended.
        """
        try:
            await self._ws.send(data)
        except ConnectionClosed as exc:
            raise _closed(exc) from exc

    async def aclose(self) -> None:
        """Close politely (close frame), within CLOSE_TIMEOUT, shielded; never raises."""
        with anyio.move_on_after(CLOSE_TIMEOUT, shield=True):
            try:
                await self._ws.close()
            except Exception as exc:  # a close of a broken connection: nothing left to do
                logger.debug("push close: %s", exc)
        self._ws.transport.abort()


def _closed(exc: ConnectionClosed) -> PushClosed:
    received = exc.rcvd
    if received is not None:
        return PushClosed(int(received.code), received.reason, clean=True)
    return PushClosed(None, "", clean=False)


def _rejected(exc: InvalidStatus) -> Exception:
    response = exc.response
    status = response.status_code
    message = response.headers.get("Handshake-Msg", "") or ""
    retry_after = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
    if status >= 500:
        return UpstreamError(f"push upgrade failed with HTTP {status}")
    return HandshakeRejected(status, message, retry_after)


@asynccontextmanager
async def open_push_connection(options: PushConnectOptions) -> AsyncIterator[PushConnection]:
    """Open a push connection; it is closed (bounded, shielded) when the block ends.

    Cancel safety: safe; a cancelled open leaves no connection behind.

    Raises:
        HandshakeRejected: the upgrade was refused (HTTP 200 or 4xx).
        UpstreamError: the upgrade failed with a 5xx.
        TransportError: the network failed (refused, reset, timeout, EOF in the handshake).
    """
    where = redact_url(options.url)
    proxy = options.proxy
    through: dict[str, Any] = {}  # TLS to an https:// proxy: our trust store, not the default
    if proxy is not None and proxy.scheme == "https":
        through["proxy_ssl"] = trust_store()
    try:
        ws = await connect(
            options.url,
            origin=Origin(options.origin) if options.origin else None,
            additional_headers=list(options.headers),
            user_agent_header=options.user_agent,
            compression=options.compression,
            proxy=None if proxy is None else proxy.reveal(),
            open_timeout=options.open_timeout,
            ping_interval=None,  # the protocol heartbeat is the binary hb frame
            ping_timeout=None,
            close_timeout=CLOSE_TIMEOUT,
            max_size=options.max_size,
            **through,
        )
    except InvalidStatus as exc:
        raise _rejected(exc) from exc
    except InvalidURI as exc:
        raise TransportError(f"bad push URL {where}: {exc}") from exc
    except InvalidProxy:  # never quoted: the message holds the proxy's password
        raise TransportError(f"push connection to {where}: the proxy is unusable") from None
    except (InvalidHandshake, OSError, TimeoutError, EOFError) as exc:
        raise TransportError(f"push connection to {where} failed: {exc!r}") from exc
    connection = PushConnection(ws)
    try:
        yield connection
    finally:
        await connection.aclose()
