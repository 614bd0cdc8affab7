"""The TikTok push WebSocket of the simulator: its framing, its URL checks, its rules.

**Framing** (:class:`TikTokFraming`, TikTok's envelope field names and numbers: PushFrame
``headers`` 5, Response ``messages`` 1 … ``push_server`` 10, ``is_first`` 11): server frames are
``msg`` frames with a gzipped Response (``need_ack`` set, ``internal_ext``, ``cursor``,
``heartbeat_duration`` 10000 ms); client frames are classified as ``enter`` (an
``im_enter_room`` whose ImEnterRoomMessage names a room), ``heartbeat`` (``hb``; *exact* when its
HeartBeatMessage carries a room id and a packet number, TikTok's rule), ``ack`` or ``other``.
**Rules**: nothing is pushed before the client's ``im_enter_room`` (answered with
``im_enter_room_resp``; ``sim/push.py`` holds the events meanwhile); heartbeats keep the
connection (the scenario's ``heartbeat_timeout``); acks are recorded with whether they match a
frame sent.

**URL checks** (:func:`accept_push`): ``room_id``, ``cursor``, ``internal_ext`` and the route
parameter ``wrss`` are required (HTTP 400 without them); an unknown room → 404; a ``wrss`` that
is not the one the signing server issued for that room and the ``ttwid`` of the request's
cookie (``X-Set-TT-Cookie``) → HTTP 200 with ``Handshake-Msg`` (the real refusal), as is a
``ws_reject`` fault.
"""

from __future__ import annotations

import gzip
import hashlib
import urllib.parse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.sim.framing import ClientFrame, FrameContext, FrameSchema, Framing
from dylived.sim.http import HttpRequest, Reply
from dylived.sim.script import ScriptedEvent
from dylived.sim.tiktok.messages import encode_event


if TYPE_CHECKING:
    from dylived.sim.room import SimRoom
    from dylived.sim.server import Simulator


PUSH_PATH = "/webcast/im/ws_proxy/ws_reuse_supplement/"
HEARTBEAT_DURATION_MS = 10_000
REQUIRED = ("room_id", "cursor", "internal_ext", "wrss")


def route_token(ttwid: str, room_id: str) -> str:
    """The ``wrss`` route parameter the signing server issues for a ttwid and a room."""
    return hashlib.sha256(f"{ttwid}|{room_id}".encode()).hexdigest()[:24]


def _enter_reply(room_id: int) -> bytes:
    del room_id  # the real answer carries nothing a client reads
    frame = pb.PushFrame(payload_encoding="pb", payload_type="im_enter_room_resp")
    return bytes(frame.SerializeToString())


def response(events: Sequence[ScriptedEvent], ctx: FrameContext, **extra: object) -> pb.Response:
    """A TikTok Response (``ProtoMessageFetchResult``) carrying ``events``."""
    return pb.Response(
        messages=[
            pb.Message(method=e.method, payload=encode_event(e), msg_id=e.msg_id) for e in events
        ],
        cursor=ctx.cursor,
        fetch_interval=1000,
        now=ctx.now_ms,
        internal_ext=ctx.internal_ext,
        fetch_type=1,
        heartbeat_duration=HEARTBEAT_DURATION_MS,
        need_ack=ctx.need_ack,
        **extra,  # type: ignore[arg-type]  # the fetch result's push_server, route_params, ...
    )


class TikTokFraming(Framing):
    """TikTok's push envelope, server side (see the module docstring)."""

    def encode_frame(self, events: Sequence[ScriptedEvent], ctx: FrameContext) -> bytes:
        payload = gzip.compress(response(events, ctx).SerializeToString(), mtime=0)
        frame = pb.PushFrame(
            seq_id=ctx.seq_id,
            log_id=ctx.log_id,
            headers=[
                pb.PushHeader(key="compress_type", value="gzip"),
                pb.PushHeader(key="im-cursor", value=ctx.cursor),
                pb.PushHeader(key="im-now", value=str(ctx.now_ms)),
            ],
            payload_encoding="pb",
            payload_type="msg",
            payload=payload,
        )
        return bytes(frame.SerializeToString())

    def parse_client_frame(self, data: bytes) -> ClientFrame:
        frame = pb.PushFrame()
        try:
            frame.ParseFromString(data)
            if frame.payload_type == "im_enter_room":
                enter = pb.ImEnterRoomMessage.FromString(frame.payload)
                if enter.room_id:
                    return ClientFrame("enter", payload=frame.payload, payload_type="enter")
            if frame.payload_type == "hb":
                beat = pb.HeartBeatMessage.FromString(frame.payload)
                exact = bool(beat.room_id and beat.send_packet_seq_id)
                return ClientFrame("heartbeat", payload_type="hb", exact_heartbeat=exact)
        except Exception:  # protobuf raises DecodeError; any failure means garbage
            return ClientFrame("garbage", payload=data)
        if frame.payload_type == "ack":
            return ClientFrame(
                "ack", log_id=frame.log_id, payload=frame.payload, payload_type="ack"
            )
        return ClientFrame(
            "other", log_id=frame.log_id, payload=frame.payload, payload_type=frame.payload_type
        )


SCHEMA = FrameSchema(
    push_frame=pb.PushFrame,
    headers=pb.PushHeader,
    response=pb.Response,
    message=pb.Message,
    service=0,
    method=0,
)
FRAMING = TikTokFraming(SCHEMA, encode_event, enter_reply=_enter_reply)


def push_url(ws_base: str, room_id: str, **params: str) -> str:
    """A push URL with the parameters the endpoint demands (its ``wrss`` not a valid one)."""
    query = {"room_id": room_id, "cursor": "0", "internal_ext": "-", "wrss": "0", **params}
    return f"{ws_base}{PUSH_PATH}?{urllib.parse.urlencode(query)}"


def _cookie(request: HttpRequest, name: str) -> str:
    return str(request.cookies.get(name, ""))


def accept_push(request: HttpRequest, sim: Simulator, platform: str) -> SimRoom | Reply:
    """The room a TikTok push upgrade is for, or the refusal (see the module docstring)."""
    query = request.query
    if any(not query.get(name) for name in REQUIRED):
        return Reply(400, b'{"status_code":10011,"message":"params error"}')
    room = sim.room_by_id(query["room_id"], platform=platform)
    if room is None:
        return Reply(404, b'{"status_code":4001038}')
    fault = room.take_fault(("ws_reject",))
    ttwid = _cookie(request, "ttwid")
    issued = ttwid in sim.ttwids and query["wrss"] == route_token(ttwid, query["room_id"])
    if fault is None and issued:
        return room
    message = "reject by risk control" if fault is not None else "invalid wrss or cookie"
    sim.record_rejected_upgrade(request)
    return Reply(200, b"", headers=(("Handshake-Msg", message), ("Handshake-Status", "403")))
