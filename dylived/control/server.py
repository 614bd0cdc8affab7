"""The control server: HTTP/1.1 (h11) on an anyio Unix-socket listener, plus optional TCP
listeners: ``/metrics`` alone, and ``[web]`` (every control route and the web pages of
``dylived/web/``, each request first through ``web/access.py``: the token, read-only without
one; keep-alive like the socket, with its own client limit).

Owns the socket file (directory, mode, group, refusing to steal a live daemon's socket,
removing a stale one), the per-connection HTTP state machine, the limits (body size, header
size and count, time per request, concurrent clients), the peer-credential audit log line of
every state-changing request, and streaming responses (chunked, or of a known length when the
route gives a ``content-length``, as a segment file does). What a route means is
``control/routes.py``; what it does is the daemon's ``DaemonFacade``.

The accept loops never end the server on a failed ``accept``: out of file descriptors
(EMFILE/ENFILE) or another transient error is logged (at most every 10 s, with the count) and
retried after a growing pause (50 ms to 1 s), so a flood of clients cannot stop the daemon and
its recordings. The TCP ``/metrics`` listener has its own small client limit (apart from the
Unix socket's, so TCP clients cannot lock operators out), a 2 s read timeout and one response
per connection. ``control.group`` is applied with chown only when the socket does not have
that group already; one the daemon cannot use is a ``ConfigError`` (exit 78, not restarted).

The per-connection handler is a supervision boundary (house style §6.6): any exception from a
facade call is logged and answered with a 500; it never stops the server.
"""

from __future__ import annotations

import errno
import grp
import logging
import os
import socket
import stat
import struct
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.abc
import h11
from anyio.abc import SocketAttribute
from anyio.streams.stapled import MultiListener

from dylived.config.values import is_loopback_host
from dylived.control.api import DaemonFacade
from dylived.control.routes import (
    ROUTES,
    STATE_CHANGING_METHODS,
    Request,
    Response,
    StreamResponse,
    dispatch,
    error_response,
)
from dylived.errors import ConfigError, ControlError, SocketInUse
from dylived.web.access import WebAccess
from dylived.web.pages import WEB_ROUTES


logger = logging.getLogger(__name__)

SERVER_HEADER = "dylived"
_CLEANUP_TIMEOUT_S = 2.0
_ACCEPT_BACKOFF_S = (0.05, 1.0)  # first and longest pause after a failed accept
_ACCEPT_LOG_EVERY_S = 10.0
_FD_EXHAUSTION = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_Kind = Literal["unix", "metrics", "web"]  # which listener a connection came from


@dataclass(frozen=True, slots=True)
class ControlSettings:
    """Where and how the control API listens, and its limits (daemon config maps onto it)."""

    socket_path: Path
    socket_mode: int = 0o660
    socket_group: str | int | None = None  # chown the socket to this group when set
    directory_mode: int = 0o750  # for the socket's directory when it has to be created
    max_body_bytes: int = 64 * 1024
    max_header_bytes: int = 16 * 1024  # h11 max_incomplete_event_size: request line + headers
    max_headers: int = 64
    request_timeout_s: float = 10.0  # to receive one whole request (and idle keep-alive wait)
    handler_timeout_s: float = 60.0  # for a non-streaming facade call (reload may take a while)
    send_timeout_s: float = 30.0  # for each write to a slow client
    max_clients: int = 64  # on the Unix socket
    metrics_port: int | None = None  # None = no TCP listener; 0 = any free port
    metrics_host: str = "127.0.0.1"  # must be a loopback address
    max_metrics_clients: int = 8  # on the TCP listener, apart from max_clients
    metrics_request_timeout_s: float = 2.0  # to receive the one request of a TCP connection
    web_port: int | None = None  # [web]: every route and the pages on TCP; None = off, 0 = any
    web_host: str = "127.0.0.1"  # not loopback only with a web_token (config/load.py checks)
    web_token: str = ""  # "" = none: read-only routes, loopback Host only (web/access.py)
    max_web_clients: int = 32  # on the web listener, apart from the others


@dataclass(frozen=True, slots=True)
class BoundControl:
    """What ``serve`` reports through ``task_status.started()`` once it is listening."""

    socket_path: Path
    metrics_address: tuple[str, int] | None
    web_address: tuple[str, int] | None = None


@dataclass(frozen=True, slots=True)
class PeerCredentials:
    """SO_PEERCRED of a Unix-socket client, as the kernel reported it."""

    pid: int
    uid: int
    gid: int


class _RejectRequest(Exception):
    """The request broke a limit; answer with this status and close the connection."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def peer_credentials(stream: anyio.abc.SocketStream) -> PeerCredentials | None:
    """The kernel-verified pid/uid/gid of the peer of a Unix stream, None for other sockets."""
    raw = stream.extra(SocketAttribute.raw_socket)
    if raw.family != socket.AF_UNIX:
        return None
    size = struct.calcsize("3i")
    pid, uid, gid = struct.unpack("3i", raw.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, size))
    return PeerCredentials(pid, uid, gid)


def _existing_socket(path: Path, directory_mode: int) -> bool:
    """Create the socket's directory; True when a socket file is already at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=directory_mode)
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    if not stat.S_ISSOCK(st.st_mode):
        raise ControlError(f"{path} exists and is not a socket; refusing to replace it")
    return True


def _remove_stale_socket(path: Path) -> None:
    logger.info("removing stale control socket %s (nobody answers on it)", path)
    path.unlink(missing_ok=True)


async def _prepare_socket_path(path: Path, directory_mode: int) -> None:
    """Create the directory; refuse a live socket (SocketInUse); remove a stale one."""
    if not _existing_socket(path, directory_mode):
        return
    try:
        with anyio.fail_after(2.0):
            probe = await anyio.connect_unix(path)
    except (ConnectionRefusedError, FileNotFoundError):
        _remove_stale_socket(path)
        return
    except TimeoutError as exc:
        raise SocketInUse(f"{path}: a process owns this socket but does not answer") from exc
    except OSError as exc:
        raise ControlError(f"cannot check the control socket {path}: {exc}") from exc
    await probe.aclose()
    raise SocketInUse(f"another daemon already answers on {path}")


_GROUP_HINT = (
    "the daemon's user must be a member of that group; under systemd/dylived.service that is "
    "SupplementaryGroups= and PrivateUsers=no in a drop-in (README, control.group), or leave "
    "control.group empty and add operators to the service's own group"
)


def _resolve_group(group: str | int) -> int:
    if isinstance(group, int):
        return group
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise ConfigError([f"control.group: group {group!r} does not exist"]) from None


def _give_socket_to_group(path: Path, group: str | int) -> None:
    """chown the socket to ``group``; a ConfigError (exit 78, no restart) when it cannot be.

    Nothing is called when the socket already has that group (the daemon's own group, or
    the group of a setgid directory), so ``control.group`` naming the service's group works
    even where chown is filtered out.
    """
    gid = _resolve_group(group)
    if path.stat().st_gid == gid:
        return
    if os.geteuid() != 0 and gid not in (os.getegid(), *os.getgroups()):
        raise ConfigError(
            [
                f"control.group: this process (uid {os.geteuid()}) is not in group {group!r}; "
                f"{_GROUP_HINT}"
            ]
        )
    try:
        os.chown(path, -1, gid)
    except OSError as exc:
        raise ConfigError(
            [f"control.group: cannot give {path} to group {group!r}: {exc.strerror}; {_GROUP_HINT}"]
        ) from None


class ControlServer:
    """Serves the control API for one daemon. Use ``serve()`` inside the daemon's task group."""

    def __init__(self, facade: DaemonFacade, settings: ControlSettings) -> None:
        self.facade = facade
        self.settings = settings
        self._limiter = anyio.CapacityLimiter(settings.max_clients)
        self._metrics_limiter = anyio.CapacityLimiter(settings.max_metrics_clients)
        self._web_limiter = anyio.CapacityLimiter(settings.max_web_clients)
        self.web_access = WebAccess(settings.web_token)
        self.accept_failures = 0  # accepts that failed (out of descriptors, ...) and were retried
        self._accept_logged_at = -_ACCEPT_LOG_EVERY_S
        self._accept_unlogged = 0

    async def serve(
        self, *, task_status: anyio.abc.TaskStatus[BoundControl] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Bind, report ``BoundControl`` via ``task_status``, then serve until cancelled.

        Raises ``SocketInUse`` when another daemon answers on the socket, ``ControlError`` when
        the socket cannot be set up. On exit (cancellation) the listeners are closed and the
        socket file is removed if it is still ours.

        Cancel safety: cancelling stops serving; connections in progress are cancelled.
        """
        settings = self.settings
        path = settings.socket_path
        await _prepare_socket_path(path, settings.directory_mode)
        try:
            unix_listener = await anyio.create_unix_listener(path, mode=settings.socket_mode)
        except OSError as exc:
            raise ControlError(f"cannot listen on {path}: {exc}") from exc
        our_inode = path.stat().st_ino
        tcp_listener: MultiListener[anyio.abc.SocketStream] | None = None
        web_listener: MultiListener[anyio.abc.SocketStream] | None = None
        try:
            if settings.socket_group is not None:
                _give_socket_to_group(path, settings.socket_group)
            metrics_address = web_address = None
            if settings.metrics_port is not None:
                tcp_listener, metrics_address = await self._open_tcp_listener(
                    settings.metrics_host, settings.metrics_port, "/metrics", loopback_only=True
                )
            if settings.web_port is not None:
                web_listener, web_address = await self._open_tcp_listener(
                    settings.web_host,
                    settings.web_port,
                    "the web pages",
                    loopback_only=not settings.web_token,
                )
            logger.info(
                "control API listening on %s (mode %o)%s%s",
                path,
                settings.socket_mode,
                f", /metrics on http://{_url_host(metrics_address)}" if metrics_address else "",
                f", web pages on http://{_url_host(web_address)}/web/" if web_address else "",
            )
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._accept_loop, unix_listener, self._handle_unix, tg)
                for tcp, handler in (
                    (tcp_listener, self._handle_tcp),
                    (web_listener, self._handle_web),
                ):
                    for listener in tcp.listeners if tcp is not None else ():
                        assert isinstance(listener, anyio.abc.SocketListener)
                        tg.start_soon(self._accept_loop, listener, handler, tg)
                task_status.started(BoundControl(path, metrics_address, web_address))
        finally:
            with anyio.move_on_after(_CLEANUP_TIMEOUT_S, shield=True):
                await unix_listener.aclose()
                for tcp in (tcp_listener, web_listener):
                    if tcp is not None:
                        await tcp.aclose()
            try:
                if path.stat().st_ino == our_inode:
                    path.unlink()
            except FileNotFoundError:
                pass

    async def _accept_loop(
        self,
        listener: anyio.abc.SocketListener,
        handler: Callable[[anyio.abc.SocketStream], Coroutine[Any, Any, None]],
        tg: anyio.abc.TaskGroup,
    ) -> None:
        """Accept until cancelled; a failed accept is logged, paused on and retried.

        Out of descriptors the listening socket stays readable, so retrying at once would
        spin: the pause doubles from 50 ms up to 1 s and resets after a good accept.
        """
        pause = _ACCEPT_BACKOFF_S[0]
        while True:
            try:
                stream = await listener.accept()
            except (OSError, anyio.BrokenResourceError) as exc:
                # anyio wraps the accept(2) error of a Unix listener in BrokenResourceError.
                cause = exc if isinstance(exc, OSError) else exc.__cause__
                self._accept_failed(
                    cause if isinstance(cause, OSError) else OSError(str(exc)), pause
                )
                await anyio.sleep(pause)
                pause = min(pause * 2, _ACCEPT_BACKOFF_S[1])
                continue
            pause = _ACCEPT_BACKOFF_S[0]
            tg.start_soon(handler, stream)

    def _accept_failed(self, exc: OSError, pause: float) -> None:
        self.accept_failures += 1
        now = time.monotonic()
        if now - self._accept_logged_at < _ACCEPT_LOG_EVERY_S:
            self._accept_unlogged += 1
            return
        why = (
            "out of file descriptors"
            if exc.errno in _FD_EXHAUSTION
            else f"{errno.errorcode.get(exc.errno or 0, 'error')}"
        )
        since = (
            f" ({self._accept_unlogged} more since the last report)"
            if self._accept_unlogged
            else ""
        )
        logger.warning(
            "control: accepting a client failed (%s: %s)%s; retrying in %.2f s",
            why,
            exc.strerror or exc,
            since,
            pause,
        )
        self._accept_logged_at = now
        self._accept_unlogged = 0

    async def _open_tcp_listener(
        self, host: str, port: int, what: str, *, loopback_only: bool
    ) -> tuple[MultiListener[anyio.abc.SocketStream], tuple[str, int]]:
        host = host.strip("[]")
        if loopback_only and not is_loopback_host(host):
            raise ControlError(
                f"the listener for {what} must be on a loopback address, not {host!r}"
            )
        try:
            listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
        except OSError as exc:
            raise ControlError(f"cannot listen for {what} on {host}: {exc}") from exc
        sock_name = listener.listeners[0].extra(SocketAttribute.local_address)
        return listener, (str(sock_name[0]), int(sock_name[1]))

    async def _handle_unix(self, stream: anyio.abc.SocketStream) -> None:
        await self._handle(stream, "unix")

    async def _handle_tcp(self, stream: anyio.abc.SocketStream) -> None:
        await self._handle(stream, "metrics")

    async def _handle_web(self, stream: anyio.abc.SocketStream) -> None:
        await self._handle(stream, "web")

    async def _handle(self, stream: anyio.abc.SocketStream, kind: _Kind) -> None:
        limiter = {"unix": self._limiter, "metrics": self._metrics_limiter}.get(
            kind, self._web_limiter
        )
        try:
            try:
                limiter.acquire_nowait()
            except anyio.WouldBlock:
                await _Connection(self, stream, None, kind).refuse_busy()
                return
            try:
                peer = peer_credentials(stream) if kind == "unix" else None
                await _Connection(self, stream, peer, kind).run()
            finally:
                limiter.release()
        except Exception:
            # Supervision boundary: one client's failure never stops the server.
            logger.exception("control connection failed")
        finally:
            with anyio.move_on_after(_CLEANUP_TIMEOUT_S, shield=True):
                await stream.aclose()


class _Connection:
    """One client connection: a loop of h11 request/response cycles (keep-alive)."""

    def __init__(
        self,
        server: ControlServer,
        stream: anyio.abc.SocketStream,
        peer: PeerCredentials | None,
        kind: _Kind,
    ) -> None:
        self.server = server
        self.settings = server.settings
        self.stream = stream
        self.peer = peer
        self.metrics_only = kind == "metrics"
        self.web = kind == "web"
        self._head_request = False
        raw = stream.extra(SocketAttribute.raw_socket)
        self._raw_unix = raw if raw.family == socket.AF_UNIX else None
        self.conn = h11.Connection(
            h11.SERVER, max_incomplete_event_size=self.settings.max_header_bytes
        )

    async def refuse_busy(self) -> None:
        await self._send_response(
            error_response(503, "busy", "too many control clients; try again"), close=True
        )

    async def run(self) -> None:
        timeout = (
            self.settings.metrics_request_timeout_s
            if self.metrics_only
            else self.settings.request_timeout_s
        )
        while True:
            try:
                with anyio.fail_after(timeout):
                    request = await self._read_request()
            except TimeoutError:
                if self.conn.their_state is h11.SEND_BODY or self._mid_request():
                    await self._send_error(408, "timeout", "the request took too long to arrive")
                return
            except h11.RemoteProtocolError as exc:
                await self._send_error(exc.error_status_hint, "bad_request", str(exc))
                return
            except _RejectRequest as exc:
                await self._send_error(exc.status, exc.code, exc.message)
                return
            if request is None:
                return
            if not await self._respond(request):
                return
            if self.metrics_only:
                return  # one response per TCP connection
            if self.conn.our_state is not h11.DONE or self.conn.their_state is not h11.DONE:
                return
            self.conn.start_next_cycle()

    def _mid_request(self) -> bool:
        return self.conn.their_state is not h11.IDLE or bool(self.conn.trailing_data[0])

    async def _receive(self) -> bytes:
        """Up to 64 KiB from the client; b"" at EOF or on a broken connection.

        On Unix sockets this reads the raw socket after ``anyio.wait_readable``: anyio 4.16's
        ``UNIXSocketStream.receive`` registers ``future.set_result`` as the loop's reader, and
        when a pending receive is cancelled in the same loop iteration as the socket turns
        readable, asyncio reports ``InvalidStateError`` from that callback. Cancelling a
        pending read is how this server stops keep-alive and streaming connections, so it
        uses ``wait_readable``, which tolerates that race. TCP streams (asyncio transports)
        read through the stream as usual.
        """
        if self._raw_unix is None:
            try:
                return await self.stream.receive(65536)
            except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError):
                return b""
        while True:
            try:
                return self._raw_unix.recv(65536)
            except BlockingIOError:
                await anyio.wait_readable(self._raw_unix)
            except OSError:
                return b""

    async def _receive_some(self) -> None:
        self.conn.receive_data(await self._receive())

    async def _read_request(self) -> Request | None:
        settings = self.settings
        head: h11.Request | None = None
        body = bytearray()
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                if self.conn.they_are_waiting_for_100_continue:
                    await self._send(h11.InformationalResponse(status_code=100, headers=[]))
                await self._receive_some()
            elif isinstance(event, h11.Request):
                head = event
                self._head_request = event.method == b"HEAD"
                if event.http_version not in (b"1.0", b"1.1"):
                    raise _RejectRequest(400, "bad_request", "only HTTP/1.0 and HTTP/1.1")
                if len(event.headers) > settings.max_headers:
                    raise _RejectRequest(
                        431, "too_many_headers", f"more than {settings.max_headers} headers"
                    )
                for name, value in event.headers:
                    if name == b"content-length" and int(value) > settings.max_body_bytes:
                        raise _RejectRequest(
                            413,
                            "body_too_large",
                            f"the body may be at most {settings.max_body_bytes} bytes",
                        )
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > settings.max_body_bytes:
                    raise _RejectRequest(
                        413,
                        "body_too_large",
                        f"the body may be at most {settings.max_body_bytes} bytes",
                    )
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                try:
                    target = head.target.decode("ascii")
                except UnicodeDecodeError as exc:
                    raise _RejectRequest(400, "bad_request", "the target is not ASCII") from exc
                headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers)
                method = head.method.decode("ascii").upper()
                return Request(method, target, bytes(body), headers)
            elif isinstance(event, h11.ConnectionClosed):
                return None
            # h11.PAUSED cannot happen here: we start the next cycle only after DONE/DONE.

    async def _respond(self, request: Request) -> bool:
        """Answer one request; False when the connection must be dropped."""
        try:
            with anyio.fail_after(self.settings.handler_timeout_s):
                response = await self._route(request)
        except TimeoutError:
            logger.warning("control %s %s timed out", request.method, request.path)
            response = error_response(504, "timeout", "the daemon did not answer in time")
        except Exception:
            logger.exception("control %s %s failed", request.method, request.path)
            response = error_response(500, "internal", "internal error; see the daemon log")
        if isinstance(response, StreamResponse):
            return await self._send_stream(response)
        await self._send_response(response, close=self.metrics_only)
        return True

    async def _route(self, request: Request) -> Response | StreamResponse:
        """The web listener's access check (web/access.py), the audit line, then the route."""
        refused = await self.server.web_access.check(request) if self.web else None
        if refused is not None:
            return refused
        if request.method in STATE_CHANGING_METHODS:
            self._audit(request)
        return await dispatch(
            self.server.facade,
            request,
            metrics_only=self.metrics_only,
            routes=WEB_ROUTES if self.web else ROUTES,
        )

    def _audit(self, request: Request) -> None:
        """The log line of a state-changing request: who sent it (credentials, or address)."""
        peer = self.peer
        if peer is None and self.web:
            remote = self.stream.extra(SocketAttribute.remote_address, ("?", 0))
            logger.info("control %s %s from tcp %s (token)", request.method, request.path, remote)
            return
        logger.info(
            "control %s %s from pid=%s uid=%s gid=%s",
            request.method,
            request.path,
            peer.pid if peer else "?",
            peer.uid if peer else "?",
            peer.gid if peer else "?",
        )

    async def _send(self, event: h11.Event) -> None:
        data = self.conn.send(event)
        if data:
            with anyio.fail_after(self.settings.send_timeout_s):
                await self.stream.send(data)

    def _headers(
        self, content_type: str, extra: tuple[tuple[str, str], ...], close: bool
    ) -> list[tuple[str, str]]:
        headers = [("content-type", content_type), ("server", SERVER_HEADER), *extra]
        if close:
            headers.append(("connection", "close"))
        return headers

    async def _send_response(self, response: Response, *, close: bool) -> None:
        if self.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        headers = self._headers(response.content_type, response.headers, close)
        headers.append(("content-length", str(len(response.body))))
        try:
            await self._send(h11.Response(status_code=response.status, headers=headers))
            # h11 frames a response to HEAD with an empty body; sending ours would be an error.
            if response.body and not self._head_request:
                await self._send(h11.Data(data=response.body))
            await self._send(h11.EndOfMessage())
        except (
            anyio.BrokenResourceError,
            anyio.ClosedResourceError,
            ConnectionError,
            TimeoutError,
        ):
            logger.debug("control client went away before the response was sent")

    async def _send_error(self, status: int, code: str, message: str) -> None:
        await self._send_response(error_response(status, code, message), close=True)

    async def _send_stream(self, response: StreamResponse) -> bool:
        """Send a chunked response; stop early when the client goes away. False = drop."""
        headers = self._headers(response.content_type, response.headers, close=False)
        completed = False
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._cancel_on_disconnect, tg.cancel_scope)
                await self._send(h11.Response(status_code=response.status, headers=headers))
                async for chunk in response.chunks:
                    if chunk:
                        await self._send(h11.Data(data=chunk))
                await self._send(h11.EndOfMessage())
                completed = True
                tg.cancel_scope.cancel()
        except Exception as exc:  # the task group wraps what the send raised in a group
            if _went_away(exc):
                logger.debug("control client went away during a streamed response")
            else:
                # Headers are out: the only honest signal left is an unterminated chunked body.
                logger.exception("control stream failed mid-response")
        finally:
            await _aclose_quietly(response.chunks)
        return completed

    async def _cancel_on_disconnect(self, scope: anyio.CancelScope) -> None:
        """While streaming, read from the client: EOF (or a flood) cancels the stream."""
        limit = self.settings.max_header_bytes + self.settings.max_body_bytes
        while True:
            data = await self._receive()
            if not data or len(self.conn.trailing_data[0]) + len(data) > limit:
                scope.cancel()
                return
            self.conn.receive_data(data)


def _url_host(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


_GONE = (anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError, TimeoutError)


def _went_away(exc: BaseException) -> bool:
    """True when ``exc`` (or every exception of a group) says the client went away."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_went_away(inner) for inner in exc.exceptions)
    return isinstance(exc, _GONE)


async def _aclose_quietly(chunks: AsyncIterator[bytes]) -> None:
    closer = getattr(chunks, "aclose", None)
    if closer is None:
        return
    with anyio.move_on_after(_CLEANUP_TIMEOUT_S, shield=True):
        try:
            await closer()
        except Exception:
            logger.exception("closing a streamed response failed")


async def serve(
    facade: DaemonFacade,
    settings: ControlSettings,
    *,
    task_status: anyio.abc.TaskStatus[BoundControl] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the control API until cancelled (``await tg.start(serve, facade, settings)``)."""
    await ControlServer(facade, settings).serve(task_status=task_status)
