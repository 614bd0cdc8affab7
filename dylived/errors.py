"""The one exception tree of dylived, and the retry policy as data.

Foreign exceptions (httpx, websockets, aiosqlite, OSError from ffmpeg) are translated into
these once, at the edge that calls the foreign library (``net/``, ``store/``, ``record/``).

::

    DylivedError
    ├── ConfigError                  the config file is invalid (carries every problem); exit 78
    ├── ProtocolError                bytes from the platform broke the webcast wire format
    │   ├── RemoteProtocolError      the peer sent something malformed (bad frame, gzip bomb)
    │   └── LocalProtocolError       we tried something the protocol state forbids
    ├── PlatformError                the platform answered, but not with what we need
    │   ├── RoomNotFound             the target does not exist (or cannot be resolved)
    │   │   └── RoomListEmpty        web/enter listed no room (wire/status.py)
    │   ├── RiskControl              blocked: empty 200 body, 403/412, handshake refused;
    │   │   │                        carries retry_after when the platform said so (429)
    │   │   ├── RateLimited          asked to wait (a 429, a used-up daily budget): retry
    │   │   │                        after ``retry_after``; not a refusal
    │   │   ├── BlockedResponse      an HTTP answer that means "blocked" (net/http.py)
    │   │   └── HandshakeRejected    the push upgrade was refused (net/ws.py)
    │   ├── RestrictedRoom           the room is restricted (age, followers): needs a login
    │   │                            cookie; ``needs`` names the key to configure
    │   ├── StatusUncertain          an answer that proves nothing either way (an account
    │   │                            "not found" while live): not the end of a session
    │   ├── CookieRejected           the configured login cookie was refused (sign in again)
    │   ├── UpstreamError            5xx, malformed JSON, unexpected shape; retryable
    │   └── EventsUnavailable        no event stream as configured (no signing server, a plan
    │                                without the feature, a refused key): nothing to retry
    ├── TransportError               the network failed (connect, timeout, reset); retryable
    │   └── PushClosed               an open push connection ended (net/ws.py)
    ├── RecorderError                ffmpeg could not be found, started or kept running
    │   └── FfmpegUnusable           no usable ffmpeg (missing, too old, lacks a muxer)
    ├── StoreError                   the database could not be opened, migrated or written
    │   ├── DiskFull                 writes failed because the disk is full
    │   └── SessionNotFound          no such session (store/db.py; also a LookupError)
    ├── ControlError                 the control socket could not be served or reached
    │   ├── SocketInUse              another daemon already answers on the control socket
    │   ├── DaemonUnreachable        dylivectl found no daemon on the socket (control/client.py)
    │   └── DaemonReplyError         the daemon answered with an error (control/client.py)
    └── CheckSkipped                 a status check was not made (breaker open; watch/)

Subclasses that belong to one edge live in that edge's module, named above; everything else
catches the classes defined here.
"""

from __future__ import annotations

from collections.abc import Sequence


class DylivedError(Exception):
    """Base class of every error dylived raises on purpose."""


class ConfigError(DylivedError):
    """The configuration is invalid; ``problems`` lists every one, each with its dotted path."""

    def __init__(self, problems: Sequence[str], source: str = "") -> None:
        self.problems = tuple(problems)
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{len(self.problems)} problem(s) in the configuration")

    def __str__(self) -> str:
        head = super().__str__()
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


class ProtocolError(DylivedError):
    """The webcast wire format was violated."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that are not a valid frame (or decompress past the cap)."""


class LocalProtocolError(ProtocolError):
    """We attempted an action the protocol state does not allow."""


class PlatformError(DylivedError):
    """The platform answered, but not with what we need."""


class RoomNotFound(PlatformError):
    """The target does not exist, or could not be resolved to a room."""


class RiskControl(PlatformError):
    """The platform is refusing us (risk control). ``retry_after`` in seconds when it said so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RestrictedRoom(PlatformError):
    """The room is restricted (age, followers only, private); ``needs`` says what to configure."""

    def __init__(self, message: str, needs: str = "") -> None:
        super().__init__(message)
        self.needs = needs


class StatusUncertain(PlatformError):
    """An answer that proves nothing (e.g. "user not found" about a user who was just live)."""


class CookieRejected(PlatformError):
    """The platform refused the configured login cookie with an error (expired, revoked).

    A refusal that still answers (a logged-out viewer's status) is ``LiveStatus.cookie_accepted
    = False`` instead; both become one ``cookie_invalid`` alert (``alerts/sources.py``).
    """


class UpstreamError(PlatformError):
    """A server-side failure or a body of an unexpected shape; usually passes."""


class RateLimited(RiskControl):
    """Asked to wait (HTTP 429, a daily budget used up): try again after ``retry_after``
    seconds; not a refusal, so it never counts towards giving up."""


class EventsUnavailable(PlatformError):
    """The event stream cannot be had as configured (no signing server, a plan without the
    feature, a key refused): trying again changes nothing until the configuration does."""


class TransportError(DylivedError):
    """The network failed: connect error, timeout, reset."""


class RecorderError(DylivedError):
    """ffmpeg could not be started or kept running."""


class FfmpegUnusable(RecorderError):
    """No usable ffmpeg: missing, too old, or lacking a demuxer, muxer or protocol we need."""


class StoreError(DylivedError):
    """The database could not be opened, migrated or written."""


class DiskFull(StoreError):
    """A write failed because the file system is full."""


class ControlError(DylivedError):
    """The control socket could not be served."""


class SocketInUse(ControlError):
    """Another daemon already answers on the control socket; we refuse to unlink it."""


def is_retryable(exc: BaseException) -> bool:
    """True when trying the same thing again later may succeed.

    Risk control is retryable, but only after the circuit breaker's pause; callers read
    ``RiskControl.retry_after`` for the delay the platform asked for.
    """
    return isinstance(exc, TransportError | UpstreamError | RiskControl | RemoteProtocolError)
