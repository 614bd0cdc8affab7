"""The webcast envelope: PushFrame parse/build, capped gunzip, heartbeat, ack, Response.

Every WebSocket binary message, in both directions, is a ``PushFrame`` (protocol.md §2.5–2.6).
This module turns those bytes into frozen values (:class:`Frame`, :class:`PushResponse`) and
builds the two frames a client sends (heartbeat, ack). Protobuf types stay inside this module
for the envelope and inside ``wire/messages.py`` for events; callers only see dataclasses.

Pure: no sockets, files, clocks, anyio or asyncio. Every malformed input (bad protobuf, bad
gzip, a payload that decompresses past the cap) raises :class:`RemoteProtocolError` and
nothing else.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from dylived.errors import RemoteProtocolError
from dylived.wire._pb import douyin_pb2 as pb


# 8 MiB: a real Response with 20 messages is a few KiB; anything this big is hostile.
DEFAULT_MAX_PAYLOAD_SIZE = 8 * 1024 * 1024

# PushFrame{payload_type: "hb"}; matches a browser capture (protocol.md §2.5, JW douyin_test.go).
HEARTBEAT_FRAME = b"\x3a\x02\x68\x62"

GZIP_MAGIC = b"\x1f\x8b\x08"

# Message.msg_id is int64 on the wire but every other id is uint64: read it as unsigned.
_UINT64_MASK = (1 << 64) - 1

PAYLOAD_TYPE_MSG = "msg"
PAYLOAD_TYPE_HEARTBEAT = "hb"
PAYLOAD_TYPE_ACK = "ack"
PAYLOAD_TYPE_CLOSE = "close"


@dataclass(frozen=True, slots=True)
class Frame:
    """One parsed PushFrame; ``payload`` is already decompressed when it was gzip."""

    seq_id: int
    log_id: int
    service: int
    method: int
    headers: Mapping[str, str]
    payload_encoding: str
    payload_type: str
    payload: bytes
    was_compressed: bool


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One ``Message`` of a Response, not yet decoded: its method name, id and payload."""

    method: str
    msg_id: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class ResponseMeta:
    """The metadata of a Response that a client needs to ack, reconnect and align times."""

    cursor: str
    internal_ext: str
    now_ms: int
    fetch_interval_ms: int
    heartbeat_duration: int
    need_ack: bool
    push_server: str
    push_server_v2: str
    proxy_server: str
    live_cursor: str
    route_params: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class PushResponse:
    """A decoded Response: its metadata and its messages in order."""

    meta: ResponseMeta
    messages: tuple[RawMessage, ...]


def gunzip_capped(data: bytes, max_size: int = DEFAULT_MAX_PAYLOAD_SIZE) -> bytes:
    """Decompress one gzip member, refusing to produce more than ``max_size`` bytes.

    Raises:
        RemoteProtocolError: not gzip, truncated, or larger than ``max_size`` once inflated.
    """
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        # max_length bounds the memory: a bomb stops at max_size + 1 bytes.
        out = inflater.decompress(data, max_size + 1)
    except zlib.error as exc:
        raise RemoteProtocolError(f"bad gzip payload: {exc}") from exc
    if len(out) > max_size:
        raise RemoteProtocolError(f"gzip payload inflates past the {max_size}-byte cap")
    if not inflater.eof:
        raise RemoteProtocolError("truncated gzip payload")
    return out


def parse_frame(data: bytes, *, max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE) -> Frame:
    """Parse one WebSocket binary message into a :class:`Frame`.

    The payload is gunzipped when the ``compress_type`` header says gzip or the payload starts
    with the gzip magic ``1f 8b 08`` (implementations disagree on the rule, protocol.md §5;
    accepting either is the robust choice).

    Raises:
        RemoteProtocolError: the bytes are not a PushFrame, or the payload is bad gzip or
            inflates past ``max_payload_size``.
    """
    frame = pb.PushFrame()
    try:
        frame.ParseFromString(data)
    except DecodeError as exc:
        raise RemoteProtocolError(f"not a PushFrame: {exc}") from exc
    headers = {header.key: header.value for header in frame.headers_list}
    payload = frame.payload
    compressed = payload.startswith(GZIP_MAGIC) or (
        bool(payload) and headers.get("compress_type") == "gzip"
    )
    if compressed:
        payload = gunzip_capped(payload, max_payload_size)
    return Frame(
        seq_id=frame.seq_id,
        log_id=frame.log_id,
        service=frame.service,
        method=frame.method,
        headers=headers,
        payload_encoding=frame.payload_encoding,
        payload_type=frame.payload_type,
        payload=payload,
        was_compressed=compressed,
    )


def parse_response(payload: bytes) -> PushResponse:
    """Parse the (decompressed) payload of a ``msg`` frame into a :class:`PushResponse`.

    Raises:
        RemoteProtocolError: the bytes are not a Response.
    """
    response = pb.Response()
    try:
        response.ParseFromString(payload)
    except DecodeError as exc:
        raise RemoteProtocolError(f"not a Response: {exc}") from exc
    meta = ResponseMeta(
        cursor=response.cursor,
        internal_ext=response.internal_ext,
        now_ms=response.now,
        fetch_interval_ms=response.fetch_interval,
        heartbeat_duration=response.heartbeat_duration,
        need_ack=response.need_ack,
        push_server=response.push_server,
        push_server_v2=response.push_server_v2,
        proxy_server=response.proxy_server,
        live_cursor=response.live_cursor,
        route_params=dict(response.route_params),
    )
    messages = tuple(
        RawMessage(message.method, message.msg_id & _UINT64_MASK, message.payload)
        for message in response.messages_list
    )
    return PushResponse(meta, messages)


def build_heartbeat() -> bytes:
    """The client heartbeat frame: exactly ``3a 02 68 62`` (PushFrame{payload_type: "hb"})."""
    return HEARTBEAT_FRAME


def build_ack(log_id: int, internal_ext: str) -> bytes:
    """The ack of a ``msg`` frame whose Response had ``need_ack``.

    ``PushFrame{log_id: <the incoming frame's log_id>, payload_type: "ack",
    payload: UTF-8 of the Response's internal_ext}``, no payload_encoding (protocol.md §2.5).
    """
    frame = pb.PushFrame(log_id=log_id, payload_type=PAYLOAD_TYPE_ACK)
    frame.payload = internal_ext.encode()
    return frame.SerializeToString()
