"""The Simulator: one loopback port serving every personality's routes, media, push and /_sim.

Routing lives here: ``/_sim/…`` (``sim/control.py``) and the media paths (``sim/streams.py``)
are the core's; a path under a personality's ``push_path`` is its push upgrade (the core serves
the accepted connection, ``sim/push.py``); any other path goes to the first personality that
names it (``Personality.endpoint_of``), else 404. Each room has its platform's personality
(``RoomSpec.platform``; see ``sim/personality.py``). Request faults are answered here
(``request_fault``). The public API is documented in ``dylived/sim/__init__.py``.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
from anyio.abc import SocketAttribute

from dylived.sim import http
from dylived.sim.http import HTML, HttpRequest, Reply, Upgrade
from dylived.sim.media import MediaLibrary
from dylived.sim.observe import HttpRequestRecord, Observations, PushConnectionRecord, SentEvent
from dylived.sim.personality import Personality, default_platform, registered, resolve
from dylived.sim.push import PushSession
from dylived.sim.room import SimRoom
from dylived.sim.scenario import FaultSpec, RoomSpec, Scenario
from dylived.sim.streams import StreamService


class Simulator:
    """Faithful platforms on 127.0.0.1, one personality each; see dylived/sim/__init__.py."""

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        media: MediaLibrary | None = None,
        media_cache_dir: Path | None = None,
        record_frames: bool = True,
        personalities: Iterable[Personality] = (),
    ) -> None:
        if host != "127.0.0.1":
            raise ValueError("the simulator only listens on 127.0.0.1")
        self.scenario = scenario or Scenario()
        self.host = host
        self.port = port
        self.observed = Observations()
        self.media = media or MediaLibrary(cache_dir=media_cache_dir)
        self.record_frames = record_frames
        self.personalities: Mapping[str, Personality] = {
            **registered(),
            **{p.platform: p for p in personalities},
        }
        self.default_platform = default_platform(self.personalities)
        self.ttwids: set[str] = set()  # the ttwid cookies personalities issued (ByteDance's)
        # True: a login cookie (e.g. a sessionid) is answered as a logged-out viewer's, as the
        # real services do once it expired (``POST /_sim/login {"refused": true}``)
        self.logins_refused = False
        self.rooms: dict[str, SimRoom] = {}
        self._msg_ids = itertools.count(7_390_000_000_000_000_001)
        self._room_ids = itertools.count(7_480_000_000_000_000_001 + self.scenario.seed * 10**6)
        self._conn_ids = itertools.count(1)
        self._task_group: anyio.abc.TaskGroup | None = None
        self._streams: StreamService | None = None
        for spec in self.scenario.rooms:
            self._make_room(spec)

    # ------------------------------------------------------------ public API

    @property
    def web_base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def push_url(self) -> str:
        """The push endpoint of the default platform."""
        return f"{self.ws_base}{self.personalities[self.default_platform].push_path}"

    def room(self, web_rid: str) -> SimRoom:
        return self.rooms[web_rid]

    def room_of(self, platform: str, web_rid: str) -> SimRoom | None:
        """The room ``web_rid`` if ``platform``'s personality serves it."""
        room = self.rooms.get(web_rid)
        return room if room is not None and room.platform == platform else None

    def rooms_of(self, platform: str) -> dict[str, SimRoom]:
        """The rooms (by web_rid) that ``platform``'s personality serves."""
        return {key: room for key, room in self.rooms.items() if room.platform == platform}

    def add_room(self, spec: RoomSpec) -> SimRoom:
        """Add a room at runtime (its schedule and faults start now)."""
        room = self._make_room(spec)
        if self._task_group is not None:
            self._task_group.start_soon(room.run)
        return room

    def room_by_id(self, room_id: str, *, platform: str | None = None) -> SimRoom | None:
        """The room now (or last) broadcasting as ``room_id``, of ``platform`` if given."""
        for room in self.rooms.values():
            if room.room_id == room_id and room_id and platform in (None, room.platform):
                return room
        return None

    def ws_url(self, room_id: str, **params: str) -> str:
        """A push URL with the parameters the room's platform requires (signature not computed).

        A room_id no room has gets the default platform's URL.
        """
        room = self.room_by_id(room_id)
        platform = room.platform if room is not None else self.default_platform
        return self.personalities[platform].push_url(self.ws_base, room_id, **params)

    def request_fault(self, room: SimRoom | None) -> Reply | None:
        """The answer of a pending request fault (http_5xx, http_429, risk_control, waf_page)."""
        if room is None:
            return None
        fault = room.take_fault(("http_5xx", "http_429", "risk_control", "waf_page"))
        return fault_reply(fault) if fault is not None else None

    def record_rejected_upgrade(self, request: HttpRequest) -> None:
        """Note a push upgrade a personality refused the way its platform does."""
        self.observed.rejected_upgrades.append(self._request_record(request, "ws_push", 200, 0))

    def endpoint_of(self, path: str) -> str:
        """The name of the endpoint a path belongs to (the key of request counts)."""
        return endpoint_of(path, self.personalities.values())

    async def wait_until(
        self,
        predicate: Callable[[], object],
        timeout: float = 5.0,  # noqa: ASYNC109 - a polling helper for tests: timeout is the API
        interval: float = 0.02,
    ) -> None:
        """Wait until ``predicate()`` is true; TimeoutError after ``timeout`` seconds."""
        with anyio.fail_after(timeout):
            while not predicate():  # noqa: ASYNC110 - predicates are arbitrary, so we poll
                await anyio.sleep(interval)

    async def serve(
        self, *, task_status: anyio.abc.TaskStatus[Simulator] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen, run every room, and report ready (with ``self``) once the port is bound."""
        listener = await anyio.create_tcp_listener(local_host=self.host, local_port=self.port)
        self.port = listener.extra(SocketAttribute.local_port)
        self._streams = StreamService(
            base=self.web_base,
            secret=secrets.token_bytes(16),
            url_lifetime=self.scenario.url_lifetime,
            media=self.media,
            observed=self.observed,
            rooms_by_stream=_StreamIndex(self.rooms),
        )
        async with listener, anyio.create_task_group() as tg:
            self._task_group = tg
            for room in self.rooms.values():
                tg.start_soon(room.run)
            task_status.started(self)
            await listener.serve(self._connection, task_group=tg)

    @classmethod
    @contextlib.asynccontextmanager
    async def running(
        cls, scenario: Scenario | None = None, **options: Any
    ) -> AsyncIterator[Simulator]:
        """``async with Simulator.running(scenario) as sim:`` — serving until the block ends."""
        simulator = cls(scenario, **options)
        async with anyio.create_task_group() as tg:
            await tg.start(simulator.serve)
            try:
                yield simulator
            finally:
                tg.cancel_scope.cancel()

    # ------------------------------------------------------------ internals

    def _make_room(self, spec: RoomSpec) -> SimRoom:
        if spec.web_rid in self.rooms:
            raise ValueError(f"duplicate room {spec.web_rid}")
        personality = resolve(spec.platform, self.personalities, f"room {spec.web_rid}")
        room = SimRoom(
            spec,
            personality.platform,
            self.scenario,
            msg_ids=self._msg_ids,
            room_ids=self._room_ids,
            links=lambda r: self._require_streams().links(r),
            kinds=getattr(personality, "event_kinds", None),  # its own kinds, if any
        )
        self.rooms[spec.web_rid] = room
        return room

    def _require_streams(self) -> StreamService:
        if self._streams is None:
            raise RuntimeError("the simulator is not serving yet")
        return self._streams

    async def _connection(self, stream: anyio.abc.SocketStream) -> None:
        await http.serve_connection(stream, self._route, self._record)

    def _request_record(
        self, request: HttpRequest, endpoint: str, status: int, body_bytes: int
    ) -> HttpRequestRecord:
        return HttpRequestRecord(
            at=time.time(),
            method=request.method,
            target=request.target,
            endpoint=endpoint,
            status=status,
            query=dict(request.query),
            headers=dict(request.headers),
            cookies=dict(request.cookies),
            body_bytes=body_bytes,
        )

    def _record(self, request: HttpRequest, status: int, body_bytes: int) -> None:
        self.observed.requests.append(
            self._request_record(request, self.endpoint_of(request.path), status, body_bytes)
        )

    def _push_owner(self, path: str) -> Personality | None:
        for personality in self.personalities.values():
            if path.startswith(personality.push_path.rstrip("/")):
                return personality
        return None

    async def _route(self, request: HttpRequest) -> http.Answer:
        endpoint = self.endpoint_of(request.path)
        if endpoint in ("flv", "hls_playlist", "hls_segment"):
            return await self._require_streams().answer(request)
        if endpoint == "sim_control":
            return await self._control(request)
        if endpoint == "ws_push":
            owner = self._push_owner(request.path)
            assert owner is not None  # endpoint_of said it is a push path
            return self._push_upgrade(owner, request)
        for personality in self.personalities.values():
            if personality.endpoint_of(request.path) == endpoint:
                return await personality.answer(endpoint, request, self)
        return Reply(404, b'{"status_code":404}')

    def _push_upgrade(self, personality: Personality, request: HttpRequest) -> http.Answer:
        if not request.wants_websocket:
            return Reply(400, b"websocket upgrade required", content_type="text/plain")
        verdict = personality.accept_push(request, self)
        if isinstance(verdict, Reply):
            return verdict
        room = verdict
        return Upgrade(
            lambda stream, initial: self._serve_push(room, personality, request, stream, initial)
        )

    async def _serve_push(
        self,
        room: SimRoom,
        personality: Personality,
        request: HttpRequest,
        stream: anyio.abc.ByteStream,
        initial: bytes,
    ) -> None:
        record = PushConnectionRecord(
            conn_id=next(self._conn_ids),
            web_rid=room.web_rid,
            room_id=request.query.get("room_id", ""),
            query=dict(request.query),
            headers=dict(request.headers),
            opened_at=time.time(),
        )
        self.observed.push_connections.append(record)
        scenario = self.scenario
        session = PushSession(
            record=record,
            room_id=int(record.room_id),
            framing=personality.framing,
            heartbeat_timeout=scenario.heartbeat_timeout or float("inf"),
            ping_interval=scenario.ping_interval,
            ping_timeout=scenario.ping_timeout or float("inf"),
            on_sent=self._sent,
            record_frames=self.record_frames,
            on_bulk=self._sent_bulk,
        )
        current = room.live and room.room_id == record.room_id
        if current and room.script is not None:
            room.sessions.add(session)
            session.offer([room.script.make_event(k) for k in personality.opening_events])
        else:
            session.end("room_not_live", control=None)
        try:
            await session.run(stream, initial)
        finally:
            room.sessions.discard(session)

    def _sent(self, events: Sequence[SentEvent]) -> None:
        self.observed.sent_events.extend(events)

    def _sent_bulk(self, count: int) -> None:
        self.observed.bulk_events += count

    async def _control(self, request: HttpRequest) -> Reply:
        from dylived.sim.control import handle_control

        return await handle_control(self, request)


class _StreamIndex(dict[str, SimRoom]):
    """stream_id → room, computed from the live rooms on each lookup."""

    def __init__(self, rooms: dict[str, SimRoom]) -> None:
        super().__init__()
        self._rooms = rooms

    def get(self, key: str, default: Any = None) -> Any:
        for room in self._rooms.values():
            if room.stream_id == key:
                return room
        return default


# A WAF interstitial as TikTok's and Douyin's edges serve it: HTML, no data, a captcha script.
WAF_PAGE = (
    b"<!DOCTYPE html><html><head><title>Please wait...</title></head><body>"
    b'<div id="captcha_container">Please wait... verifying your browser</div>'
    b'<script src="/_sim/waf/captcha.js"></script></body></html>'
)


def fault_reply(fault: FaultSpec) -> Reply:
    if fault.kind == "http_429":
        return Reply(
            429,
            b'{"status_code":429,"message":"too many requests"}',
            headers=(("Retry-After", str(fault.retry_after)),),
        )
    if fault.kind == "risk_control":
        return Reply(200, b"")
    if fault.kind == "waf_page":
        return Reply(200, WAF_PAGE, content_type=HTML)
    return Reply(fault.status, b"<html><body>upstream error</body></html>", content_type=HTML)


def endpoint_of(path: str, personalities: Iterable[Personality] | None = None) -> str:
    """The name of the endpoint a path belongs to (the key of request counts).

    The core's own paths first, then each personality's push path and routes, in order.
    """
    if path.startswith("/thirdgame/"):
        if path.endswith(".flv"):
            return "flv"
        if path.endswith(".m3u8"):
            return "hls_playlist"
        return "hls_segment"
    if path.startswith("/_sim/"):
        return "sim_control"
    chosen = tuple(registered().values() if personalities is None else personalities)
    if any(path.startswith(p.push_path.rstrip("/")) for p in chosen):
        return "ws_push"
    for personality in chosen:
        endpoint = personality.endpoint_of(path)
        if endpoint is not None:
            return endpoint
    return "not_found"
