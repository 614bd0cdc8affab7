"""The Platform seam: what a live platform gives the daemon, and nothing the daemon does.

A platform package (``platforms/<name>/``) provides one :class:`PlatformSpec` (registered in
``platforms/registry.py``): which target strings are its own and how they parse, the defaults
of its config section, and how to make its :class:`Platform` on the daemon's HTTP client. The
:class:`Platform` resolves a target, fetches live status and stream URLs, says which headers
the media pull sends, and gives the :class:`EventSource` of a session's event capture: the
push connection (URL, headers, cookies — asynchronous, since a platform may ask a signing
server), a fresh sans-I/O ``wire.session.WebcastSession`` with its schema and message decoder
for each connection, and the mapping of its decoded events to dataset rows.

Everything here is a protocol or a frozen value: no I/O, and no platform named.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dylived.model import LiveStatus
from dylived.net.http import HttpClient
from dylived.wire.frames import PushSchema
from dylived.wire.session import DedupWindow, SessionStatistics


Row = dict[str, Any]
Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Target:
    """What a configured ``target`` names on its platform: a platform-defined ``kind`` (for
    Douyin a ``TargetKind`` value: web_rid, share_url, sec_uid, user_id) and its ``value``."""

    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class EventConnection:
    """What one push WebSocket connection needs: where, and the handshake it sends.

    ``headers`` are the extra handshake headers in order (the ``Cookie`` among them when the
    platform has one); ``host`` is the endpoint's ``host[:port]`` as health shows it.
    """

    url: str
    user_agent: str
    origin: str
    headers: Headers
    host: str


class EventSession(Protocol):
    """The sans-I/O session of one push connection, as capture drives it (the shape of
    ``wire.session.WebcastSession``; a platform with rules of its own wraps its session in it).

    ``opening_frame``: the bytes the session's opening events came from — events it holds
    before the first frame (a signing server's first fetch result), which the capture takes
    as soon as the connection opened — ``b""`` when it has none. ``finish()``: the events it
    still holds when the capture (or the decoded input) ends, e.g. gift streaks whose closing
    message never came; ``[]`` for a platform that holds none.
    """

    opening_frame: bytes
    schema: PushSchema  # its frames' envelope (``dylived decode`` reads the acks with it)

    @property
    def next_heartbeat_at(self) -> float | None: ...

    @property
    def close_requested(self) -> bool: ...

    def receive_data(self, data: bytes) -> None: ...

    def events_received(self) -> list[Any]: ...

    def finish(self) -> list[Any]: ...

    def data_to_send(self) -> list[bytes]: ...

    def heartbeat_due(self, now: float) -> bool: ...

    def heartbeat(self, now: float) -> None: ...

    def statistics(self) -> SessionStatistics: ...


class EventCodec(Protocol):
    """How a platform's push frames decode and its events become rows (no connection)."""

    def new_session(self, dedup: DedupWindow | None = None) -> EventSession:
        """A sans-I/O session for one connection, sharing the broadcast's msg_id window."""
        ...

    def row_type(self, event: object) -> str:
        """The dataset row type of a typed event the session decoded."""
        ...

    def ends_stream(self, event: object) -> bool:
        """True when the event says the broadcaster ended the stream."""
        ...

    def event_row(
        self,
        event: object,
        status: LiveStatus,
        *,
        received_at_ms: int | None,
        stream_offset_s: float | None,
    ) -> Row:
        """The dataset row of one decoded event (typed, unknown or undecodable)."""
        ...

    def room_info_row(self, status: LiveStatus, *, raw_url: str, received_at_ms: int) -> Row:
        """The ``room_info`` row of a session (the first row of its export)."""
        ...


class EventSource(EventCodec, Protocol):
    """A platform's event stream for one session (made per session: config reloads apply)."""

    @property
    def hosts(self) -> tuple[str, ...]:
        """The push endpoints, tried in order (at least one)."""
        ...

    def statistics(self) -> Mapping[str, Any]:
        """What the capture's health shows of the source beside its own counters (e.g. a
        signing server's calls and the day's budget left); JSON values."""
        ...

    async def connection(
        self, status: LiveStatus, *, host_index: int, number: int, rng: random.Random
    ) -> EventConnection:
        """The connection to open: ``host_index`` picks the host, ``number`` counts from 1.

        Raises:
            UpstreamError: the status lacks what the connection needs (its room id).
            RateLimited: asked to wait (``retry_after``); RiskControl: refused;
            EventsUnavailable: no connection can be had as configured (capture stops trying).
        """
        ...


class Platform(Protocol):
    """One platform on the daemon's HTTP client (see the module docstring)."""

    @property
    def name(self) -> str: ...

    async def resolve(self, target: str) -> object:
        """Resolve a configured target; the value is what :meth:`fetch_status` takes.

        Raises:
            RoomNotFound, RiskControl, TransportError, UpstreamError; ValueError for a target
            that is not one of this platform's forms.
        """
        ...

    async def fetch_status(self, resolved: Any) -> LiveStatus:
        """The live status (and stream URLs) of a resolved target."""
        ...

    async def refresh_stream_urls(self, resolved: Any) -> LiveStatus:
        """Fresh stream URLs (a new status), when a pull URL expired."""
        ...

    def media_headers(self) -> Headers:
        """The headers the media pull (ffmpeg) sends; never a cookie."""
        ...

    def event_source(self, section: Any) -> EventSource:
        """The event source of one session, from the platform's current config section."""
        ...


@dataclass(frozen=True, slots=True)
class PlatformSpec:
    """A platform as the registry knows it.

    ``claims(text)``: does this target string belong to the platform (by its form alone)?
    ``parse_target(text)``: the classified target (``ValueError`` listing the accepted forms).
    ``target_problem(target)``: why a parsed target cannot be watched (the config refuses the
    broadcaster with that message), or None. ``section``: its config section ``[<name>]``, a
    frozen dataclass whose fields are the section's keys with the platform's defaults (a
    ``proxy`` and a ``user_agent`` field among them: the broadcasters' default proxy and the
    HTTP client's User-Agent). ``options``: each key's converter (the value, or ``ValueError``
    with the message). ``create(http, section, state_dir)``: the :class:`Platform`
    (``state_dir``: where it may keep small reference files, e.g. a gift catalogue; None:
    nowhere). ``codec``: its frames and events without a connection (``dylived decode``).
    """

    name: str
    claims: Callable[[str], bool]
    parse_target: Callable[[str], Target]
    target_problem: Callable[[Target], str | None]
    section: type[Any]
    options: Mapping[str, Callable[[Any], Any]]
    create: Callable[[HttpClient, Any, Path | None], Platform]
    codec: EventCodec
