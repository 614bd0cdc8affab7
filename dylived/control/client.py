"""The control API client: httpx over the daemon's Unix socket (sync and async).

Owns the mapping of what can go wrong talking to the daemon onto two errors: the daemon is not
reachable (``DaemonUnreachable``, naming the socket path) or it answered with an error body
(``DaemonReplyError``, carrying its code, message and details). Used by ``dylivectl`` and by
tests; knows the routes only as paths.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from dylived.errors import ControlError


DEFAULT_SOCKET = "/run/dylived/control.sock"
_BASE_URL = "http://localhost"  # the host is ignored over a Unix socket; curl uses the same
# Plain HTTP over a local socket: no TLS, no proxies. verify=False skips loading the CA bundle
# (~35 ms of every dylivectl run); trust_env=False keeps HTTP(S)_PROXY from applying.


class DaemonUnreachable(ControlError):
    """Nothing answers on the control socket (not running, no permission, connection lost)."""

    def __init__(self, socket_path: str, reason: str) -> None:
        super().__init__(f"daemon not reachable at {socket_path}: {reason}")
        self.socket_path = socket_path
        self.reason = reason


class DaemonReplyError(ControlError):
    """The daemon answered with an error status and the JSON error body."""

    def __init__(
        self, status: int, code: str, message: str, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details: Mapping[str, Any] = details or {}


def _reason(exc: httpx.TransportError) -> str:
    cause: BaseException = exc
    while (inner := cause.__cause__ or cause.__context__) is not None:
        cause = inner
    if isinstance(cause, FileNotFoundError):
        return "no such socket (is dylived running?)"
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused (is dylived running?)"
    if isinstance(cause, PermissionError):
        return "permission denied (are you in the socket's group?)"
    return str(exc) or type(exc).__name__


def reply_error(status: int, content: bytes) -> DaemonReplyError:
    """Turn an error response into ``DaemonReplyError`` (tolerating a non-JSON body)."""
    try:
        body = json.loads(content)
        error = body["error"]
        code = str(error.get("code", "error"))
        message = str(error.get("message", ""))
        details = {k: v for k, v in error.items() if k not in ("code", "message")}
    except (ValueError, KeyError, TypeError, AttributeError):
        text = content.decode(errors="replace").strip()
        return DaemonReplyError(status, "http_error", f"HTTP {status}: {text[:200]}")
    return DaemonReplyError(status, code, message or f"HTTP {status}", details)


def _decode(response: httpx.Response, accept: tuple[int, ...]) -> Any:
    if response.status_code >= 400 and response.status_code not in accept:
        raise reply_error(response.status_code, response.content)
    if not response.content:
        return None
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    return response.text


class ControlClient:
    """A synchronous client; one keep-alive connection reused across calls."""

    def __init__(self, socket_path: str | Path = DEFAULT_SOCKET, *, timeout: float = 90.0) -> None:
        self.socket_path = str(socket_path)
        self._client = httpx.Client(
            transport=httpx.HTTPTransport(uds=self.socket_path, verify=False, trust_env=False),
            trust_env=False,
            base_url=_BASE_URL,
            timeout=timeout,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        accept: tuple[int, ...] = (),
    ) -> Any:
        """One call; the decoded JSON (or text). ``accept`` lists error statuses to return."""
        try:
            response = self._client.request(method, path, params=params, json=body)
        except httpx.TransportError as exc:
            raise DaemonUnreachable(self.socket_path, _reason(exc)) from exc
        return _decode(response, accept)

    @contextmanager
    def stream(
        self, path: str, params: Mapping[str, str | int] | None = None
    ) -> Iterator[httpx.Response]:
        """A streamed GET (no read timeout); raises the mapped errors before yielding."""
        try:
            with self._client.stream(
                "GET", path, params=params, timeout=httpx.Timeout(10.0, read=None)
            ) as response:
                if response.status_code >= 400:
                    raise reply_error(response.status_code, response.read())
                yield response
        except httpx.TransportError as exc:
            raise DaemonUnreachable(self.socket_path, _reason(exc)) from exc

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncControlClient:
    """The async twin of ``ControlClient`` (for ``tail`` and for tests inside an event loop)."""

    def __init__(self, socket_path: str | Path = DEFAULT_SOCKET, *, timeout: float = 90.0) -> None:
        self.socket_path = str(socket_path)
        self._client = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=self.socket_path, verify=False, trust_env=False),
            trust_env=False,
            base_url=_BASE_URL,
            timeout=timeout,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        accept: tuple[int, ...] = (),
    ) -> Any:
        """One call; the decoded JSON (or text). Cancel safety: safe, nothing is buffered."""
        try:
            response = await self._client.request(method, path, params=params, json=body)
        except httpx.TransportError as exc:
            raise DaemonUnreachable(self.socket_path, _reason(exc)) from exc
        return _decode(response, accept)

    @asynccontextmanager
    async def stream(
        self, path: str, params: Mapping[str, str | int] | None = None
    ) -> AsyncIterator[httpx.Response]:
        """A streamed GET (no read timeout); raises the mapped errors before yielding."""
        try:
            async with self._client.stream(
                "GET", path, params=params, timeout=httpx.Timeout(10.0, read=None)
            ) as response:
                if response.status_code >= 400:
                    raise reply_error(response.status_code, await response.aread())
                yield response
        except httpx.TransportError as exc:
            raise DaemonUnreachable(self.socket_path, _reason(exc)) from exc

    async def follow_events(
        self, session_id: int, *, after_seq: int = 0, follow: bool = True
    ) -> AsyncIterator[dict[str, Any]]:
        """The NDJSON event rows of a session, stored then live (with ``follow``)."""
        params: dict[str, str | int] = {"after": after_seq, "follow": int(follow)}
        async with self.stream(f"/v1/sessions/{session_id}/events", params) as response:
            try:
                async for line in response.aiter_lines():
                    if line.strip():
                        yield json.loads(line)
            except httpx.TransportError as exc:
                raise DaemonUnreachable(self.socket_path, _reason(exc)) from exc

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
