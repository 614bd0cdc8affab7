"""TikTok's push envelope: the fetch result (``ProtoMessageFetchResult``) and the three frames a
client sends (enter room, heartbeat, ack).

A TikTok WebSocket binary message is a ``PushFrame`` with Douyin's field numbers, so incoming
frames are parsed (and gunzipped, capped) by the shared :func:`dylived.wire.frames.parse_frame`.
What differs is here: the Response of a ``msg`` frame, which is also the first body a signing
server returns (fields 11-13 are ``is_first``, ``history_comment_cursor``, ``history_no_more``;
``Message`` 6 is ``is_history``), and the client frames, which carry ``payload_encoding "pb"``
and protobuf payloads that Douyin's do not (protocol.md §3.2 items 3-5: TikTokLive and
TikTok-Live-Connector send ``im_enter_room``, then ``hb`` with a room id and a packet sequence
number; the ack's payload is the Response's ``internal_ext``, ``"-"`` when it is empty).

Pure: no sockets, files, clocks, anyio or asyncio. Every malformed input raises
:class:`~dylived.errors.RemoteProtocolError` and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.platforms.tiktok.common import parse
from dylived.wire.frames import PushSchema, RawMessage


PAYLOAD_ENCODING = "pb"
PAYLOAD_TYPE_ENTER_ROOM = "im_enter_room"
PAYLOAD_TYPE_ENTER_ROOM_RESPONSE = "im_enter_room_resp"
PAYLOAD_TYPE_HEARTBEAT = "hb"
PAYLOAD_TYPE_ACK = "ack"
LIVE_ID = 12  # TikTok LIVE's live_id in im_enter_room and the WebSocket query
# The shared framing's view of TikTok's envelope (incoming frames; this module builds the
# frames a TikTok client sends, whose heartbeat carries the room id, so ``heartbeat`` is unused).
SCHEMA = PushSchema(push_frame=pb.PushFrame, response=pb.Response, ack_encoding=PAYLOAD_ENCODING)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A decoded TikTok Response: what a client needs to ack, resume and align times."""

    cursor: str
    internal_ext: str
    now_ms: int
    fetch_interval_ms: int
    heartbeat_duration: int
    need_ack: bool
    push_server: str
    route_params: Mapping[str, str]
    is_first: bool
    history_no_more: bool
    messages: tuple[RawMessage, ...]


def parse_fetch_result(payload: bytes) -> FetchResult:
    """Parse a (decompressed) ``msg`` frame payload or a signing server's first body.

    Raises:
        RemoteProtocolError: the bytes are not a Response.
    """
    response = parse(pb.Response, payload, "TikTok Response")
    return FetchResult(
        cursor=response.cursor,
        internal_ext=response.internal_ext,
        now_ms=response.now,
        fetch_interval_ms=response.fetch_interval,
        heartbeat_duration=response.heartbeat_duration,
        need_ack=response.need_ack,
        push_server=response.push_server,
        route_params=dict(response.route_params),
        is_first=response.is_first,
        history_no_more=response.history_no_more,
        messages=tuple(RawMessage(m.method, m.msg_id, m.payload) for m in response.messages),
    )


def _frame(payload_type: str, payload: bytes, log_id: int = 0) -> bytes:
    frame = pb.PushFrame(
        log_id=log_id,
        payload_encoding=PAYLOAD_ENCODING,
        payload_type=payload_type,
        payload=payload,
    )
    return frame.SerializeToString()


def build_enter_room(room_id: int, enter_unique_id: int, cursor: str = "") -> bytes:
    """The ``im_enter_room`` frame sent once after the WebSocket opens (before any ``hb``).

    ``enter_unique_id`` is the caller's random number (wire has no randomness of its own).
    """
    enter = pb.ImEnterRoomMessage(
        room_id=room_id,
        live_id=LIVE_ID,
        identity="audience",
        cursor=cursor,
        enter_unique_id=enter_unique_id,
        filter_welcome_msg="0",
    )
    return _frame(PAYLOAD_TYPE_ENTER_ROOM, enter.SerializeToString())


def build_heartbeat(room_id: int, send_packet_seq_id: int) -> bytes:
    """The ``hb`` frame: the room id and this connection's packet counter (1, 2, 3, ...)."""
    beat = pb.HeartBeatMessage(room_id=room_id, send_packet_seq_id=send_packet_seq_id)
    return _frame(PAYLOAD_TYPE_HEARTBEAT, beat.SerializeToString())


def build_ack(log_id: int, internal_ext: str) -> bytes:
    """The ack of a ``msg`` frame whose Response had ``need_ack``: the frame's ``log_id`` and
    the Response's ``internal_ext`` (``"-"`` when empty, as TikTokLive sends)."""
    return _frame(PAYLOAD_TYPE_ACK, (internal_ext or "-").encode(), log_id)
