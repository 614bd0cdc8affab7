"""The Simulator: one loopback port serving the status API, media, the push WebSocket and /_sim.

Routing and the HTTP-level behaviour of the real service live here (ttwid cookie, empty 200
bodies without it, request faults, the share-link redirect, the push upgrade and its
rejections); rooms (``sim/room.py``), media (``sim/streams.py``) and push connections
(``sim/push.py``) do the rest. The public API is documented in ``dylived/sim/__init__.py``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import secrets
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
from anyio.abc import SocketAttribute

from dylived.sim import http
from dylived.sim.http import HttpRequest, Reply, Upgrade
from dylived.sim.media import MediaLibrary
from dylived.sim.observe import HttpRequestRecord, Observations, PushConnectionRecord, SentEvent
from dylived.sim.push import PushSession
from dylived.sim.room import SimRoom
from dylived.sim.scenario import FaultSpec, RoomSpec, Scenario
from dylived.sim.signature import signature_matches
from dylived.sim.status import reflow_body, web_enter_body
from dylived.sim.streams import StreamService


PUSH_PATH = "/webcast/im/push/v2/"
REFLOW_STALE_SECONDS = 60.0  # reflow keeps saying status 2 this long after an end (real quirk)
HTML = "text/html; charset=utf-8"


class Simulator:
    """A faithful Douyin on 127.0.0.1; see dylived/sim/__init__.py for the guide."""

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        media: MediaLibrary | None = None,
        media_cache_dir: Path | None = None,
        record_frames: bool = True,
    ) -> None:
        if host != "127.0.0.1":
            raise ValueError("the simulator only listens on 127.0.0.1")
        self.scenario = scenario or Scenario()
        self.host = host
        self.port = port
        self.observed = Observations()
        self.media = media or MediaLibrary(cache_dir=media_cache_dir)
        self.record_frames = record_frames
        self.ttwids: set[str] = set()
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
        return f"{self.ws_base}{PUSH_PATH}"

    def room(self, web_rid: str) -> SimRoom:
        return self.rooms[web_rid]

    def add_room(self, spec: RoomSpec) -> SimRoom:
        """Add a room at runtime (its schedule and faults start now)."""
        room = self._make_room(spec)
        if self._task_group is not None:
            self._task_group.start_soon(room.run)
        return room

    def room_by_id(self, room_id: str) -> SimRoom | None:
        for room in self.rooms.values():
            if room.room_id == room_id and room_id:
                return room
        return None

    def ws_url(self, room_id: str, **params: str) -> str:
        """A push URL with the parameters the real endpoint requires (signature not computed)."""
        query = {
            "app_name": "douyin_web",
            "version_code": "180800",
            "webcast_sdk_version": "1.0.14-beta.0",
            "update_version_code": "1.0.14-beta.0",
            "compress": "gzip",
            "device_platform": "web",
            "host": "https://live.douyin.com",
            "aid": "6383",
            "live_id": "1",
            "did_rule": "3",
            "endpoint": "live_pc",
            "support_wrds": "1",
            "user_unique_id": "7319483754668557238",
            "im_path": "/webcast/im/fetch/",
            "identity": "audience",
            "need_persist_msg_count": "15",
            "room_id": room_id,
            "heartbeatDuration": "0",
            "signature": "00000000deadbeef",
            **params,
        }
        return f"{self.push_url}?{urllib.parse.urlencode(query)}"

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
        room = SimRoom(
            spec,
            self.scenario,
            msg_ids=self._msg_ids,
            room_ids=self._room_ids,
            links=lambda r: self._require_streams().links(r),
        )
        self.rooms[spec.web_rid] = room
        return room

    def _require_streams(self) -> StreamService:
        if self._streams is None:
            raise RuntimeError("the simulator is not serving yet")
        return self._streams

    async def _connection(self, stream: anyio.abc.SocketStream) -> None:
        await http.serve_connection(stream, self._route, self._record)

    def _record(self, request: HttpRequest, status: int, body_bytes: int) -> None:
        self.observed.requests.append(
            HttpRequestRecord(
                at=time.time(),
                method=request.method,
                target=request.target,
                endpoint=endpoint_of(request.path),
                status=status,
                query=dict(request.query),
                headers=dict(request.headers),
                cookies=dict(request.cookies),
                body_bytes=body_bytes,
            )
        )

    async def _route(self, request: HttpRequest) -> http.Answer:
        endpoint = endpoint_of(request.path)
        if endpoint == "home":
            return self._home()
        if endpoint == "web_enter":
            return self._web_enter(request)
        if endpoint == "reflow":
            return self._reflow(request)
        if endpoint == "ws_push":
            return self._push_upgrade(request)
        if endpoint in ("flv", "hls_playlist", "hls_segment"):
            return await self._require_streams().answer(request)
        if endpoint == "sim_control":
            return await self._control(request)
        if endpoint == "reflow_page":
            return Reply(200, b"<html><body>reflow</body></html>", content_type=HTML)
        if endpoint == "profile_page":
            return self._profile_page(request)
        code = request.path.strip("/")
        for room in self.rooms.values():
            if code and code == room.spec.share_code:
                return self._redirect(
                    f"{self.web_base}/douyin/webcast/reflow/{room.room_id or '0'}?"
                    + urllib.parse.urlencode(
                        {"u_code": "0", "did": "0", "sec_user_id": room.sec_uid, "share_type": "0"}
                    )
                )
            if code and code == room.spec.profile_code:
                return self._redirect(
                    f"{self.web_base}/share/user/{room.sec_uid}?"
                    + urllib.parse.urlencode({"sec_uid": room.sec_uid})
                )
        return Reply(404, b'{"status_code":404}')

    def _home(self) -> Reply:
        ttwid = "1%7C" + secrets.token_urlsafe(32) + "%7C" + str(int(time.time()))
        self.ttwids.add(ttwid)
        cookie = f"ttwid={ttwid}; Path=/; Max-Age=31536000; HttpOnly"
        body = (
            "<!DOCTYPE html><html><head><title>抖音直播</title></head><body></body></html>".encode()
        )
        return Reply(200, body, headers=(("Set-Cookie", cookie),), content_type=HTML)

    def _redirect(self, location: str) -> Reply:
        return Reply(302, b"", headers=(("Location", location),), content_type="text/html")

    def _fault_reply(self, room: SimRoom | None) -> Reply | None:
        if room is None:
            return None
        fault = room.take_fault(("http_5xx", "http_429", "risk_control"))
        if fault is None:
            return None
        return fault_reply(fault)

    def _web_enter(self, request: HttpRequest) -> Reply:
        room = self.rooms.get(request.query.get("web_rid", ""))
        faulted = self._fault_reply(room)
        if faulted is not None:
            return faulted
        ttwid = request.cookies.get("ttwid", "")
        if not ttwid or (self.scenario.strict_ttwid and ttwid not in self.ttwids):
            return Reply(200, b"")  # the real service: HTTP 200, empty body
        body = web_enter_body(room.view() if room is not None else None)
        return _json(body)

    def _reflow(self, request: HttpRequest) -> Reply:
        sec_uid = request.query.get("sec_user_id", "")
        room = next((r for r in self.rooms.values() if r.sec_uid == sec_uid), None)
        faulted = self._fault_reply(room)
        if faulted is not None:
            return faulted
        if room is None or not room.room_id:
            return _json(reflow_body(None))
        stale = (
            not room.live
            and room.finished_at > 0
            and time.time() - room.finished_at < self.scenario.wall(REFLOW_STALE_SECONDS)
        )
        return _json(reflow_body(room.view(), stale_replay=stale))

    def _profile_page(self, request: HttpRequest) -> Reply:
        sec_uid = request.path.rstrip("/").rsplit("/", 1)[-1]
        room = next((r for r in self.rooms.values() if r.sec_uid == sec_uid), None)
        if room is None:
            return Reply(404, b"", content_type=HTML)
        data: dict[str, dict[str, Any]] = {
            "user": {
                "uid": str(room.uid),
                "secUid": room.sec_uid,
                "nickname": room.nickname,
                "unique_id": room.web_rid,
            }
        }
        if room.live:
            data["user"]["web_rid"] = room.web_rid
            data["user"]["roomData"] = {"room_id": room.room_id, "status": 2}
        render = urllib.parse.quote(json.dumps(data, ensure_ascii=False))
        page = (
            f'<html><body><script id="RENDER_DATA" type="application/json">{render}</script>'
            "</body></html>"
        )
        return Reply(200, page.encode(), content_type=HTML)

    def _push_upgrade(self, request: HttpRequest) -> http.Answer:
        if not request.wants_websocket:
            return Reply(400, b"websocket upgrade required", content_type="text/plain")
        room_id = request.query.get("room_id", "")
        signature = request.query.get("signature", "")
        if not room_id or not signature:
            return Reply(400, b'{"status_code":10011,"message":"params error"}')
        room = self.room_by_id(room_id)
        if room is None:
            return Reply(404, b'{"status_code":4001038}')
        fault = room.take_fault(("ws_reject",))
        bad_signature = self.scenario.check_signature and not signature_matches(
            signature, request.query
        )
        if fault is not None or bad_signature:
            message = "signature verify failed" if bad_signature else "reject by risk control"
            self.observed.rejected_upgrades.append(
                HttpRequestRecord(
                    time.time(),
                    request.method,
                    request.target,
                    "ws_push",
                    200,
                    dict(request.query),
                    dict(request.headers),
                    dict(request.cookies),
                    0,
                )
            )
            return Reply(
                200, b"", headers=(("Handshake-Msg", message), ("Handshake-Status", "403"))
            )
        return Upgrade(lambda stream, initial: self._serve_push(room, request, stream, initial))

    async def _serve_push(
        self, room: SimRoom, request: HttpRequest, stream: anyio.abc.ByteStream, initial: bytes
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
            heartbeat_timeout=scenario.heartbeat_timeout or float("inf"),
            ping_interval=scenario.ping_interval,
            ping_timeout=scenario.ping_timeout or float("inf"),
            on_sent=self._sent,
            record_frames=self.record_frames,
        )
        current = room.live and room.room_id == record.room_id
        if current and room.script is not None:
            room.sessions.add(session)
            session.offer(
                [room.script.make_event("room_stats"), room.script.make_event("viewer_count")]
            )
        else:
            session.end("room_not_live", control=None)
        try:
            await session.run(stream, initial)
        finally:
            room.sessions.discard(session)

    def _sent(self, events: Sequence[SentEvent]) -> None:
        self.observed.sent_events.extend(events)

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


def fault_reply(fault: FaultSpec) -> Reply:
    if fault.kind == "http_429":
        return Reply(
            429,
            b'{"status_code":429,"message":"too many requests"}',
            headers=(("Retry-After", str(fault.retry_after)),),
        )
    if fault.kind == "risk_control":
        return Reply(200, b"")
    return Reply(fault.status, b"<html><body>upstream error</body></html>", content_type=HTML)


def _json(body: dict[str, Any]) -> Reply:
    return Reply(200, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())


def endpoint_of(path: str) -> str:
    """The name of the endpoint a path belongs to (the key of request counts)."""
    if path == "/":
        return "home"
    if path.startswith("/webcast/room/web/enter"):
        return "web_enter"
    if path.startswith("/webcast/room/reflow/info"):
        return "reflow"
    if path.startswith(PUSH_PATH.rstrip("/")):
        return "ws_push"
    if path.startswith("/thirdgame/"):
        if path.endswith(".flv"):
            return "flv"
        if path.endswith(".m3u8"):
            return "hls_playlist"
        return "hls_segment"
    if path.startswith("/_sim/"):
        return "sim_control"
    if path.startswith("/douyin/webcast/reflow/"):
        return "reflow_page"
    if path.startswith(("/share/user/", "/user/")):
        return "profile_page"
    return "share" if path.count("/") <= 2 else "not_found"
