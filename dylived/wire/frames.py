"""The ByteDance webcast envelope: PushFrame parse/build, capped gunzip, heartbeat, ack, Response.

Every WebSocket binary message, in both directions, is a ``PushFrame`` (protocol.md §2.5–2.6).
This module turns those bytes into frozen values (:class:`Frame`, :class:`PushResponse`) and
builds the two frames a client sends (heartbeat, ack). It is shared by the platforms that speak
this protocol: each passes its :class:`PushSchema` (its generated PushFrame and Response
classes; their field numbers differ above 10, protocol.md §3.3) and keeps its event messages in
its own package (``platforms/<name>/messages.py``). Callers only see dataclasses, and the two
values a message decoder returns when it cannot type a message (:class:`UnknownMessage`,
:class:`UndecodableMessage`).

Pure: no sockets, files, clocks, anyio or asyncio. Every malformed input (bad protobuf, bad
gzip, a payload that decompresses past the cap) raises :class:`RemoteProtocolError` and
nothing else.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from google.protobuf.message import DecodeError

from dylived.errors import RemoteProtocolError


# 8 MiB: a real Response with 20 messages is a few KiB; anything this big is hostile.
DEFAULT_MAX_PAYLOAD_SIZE = 8 * 1024 * 1024

# PushFrame{payload_type: "hb"}; matches a browser capture (protocol.md §2.5).
HEARTBEAT_FRAME = b"\x3a\x02\x68\x62"

GZIP_MAGIC = b"\x1f\x8b\x08"

# Message.msg_id is int64 on the wire but every other id is uint64: read it as unsigned.
UINT64_MASK = (1 << 64) - 1

PAYLOAD_TYPE_MSG = "msg"
PAYLOAD_TYPE_HEARTBEAT = "hb"
PAYLOAD_TYPE_ACK = "ack"
PAYLOAD_TYPE_CLOSE = "close"


@dataclass(frozen=True, slots=True)
class PushSchema:
    """A platform's generated envelope classes and the frames its clients send.

    ``push_frame`` and ``response`` are protobuf message classes with the PushFrame fields
    1–8 and the Response fields 1–10 under the names of protocol.md §2.6; the Response fields a
    platform's schema does not have (``push_server_v2``, ``proxy_server``, ``live_cursor``)
    read as empty; PushFrame's field 5 (the headers) and Response's field 1 (the messages) are
    found by number, since the schemas name them differently (Douyin ``headers_list`` and
    ``messages_list``, TikTok ``headers`` and ``messages``). ``heartbeat`` is the exact
    client heartbeat frame; ``ack_encoding`` the ``payload_encoding`` of an ack ("" leaves the
    field unset).
    """

    push_frame: Any
    response: Any
    heartbeat: bytes = HEARTBEAT_FRAME
    ack_encoding: str = ""
    headers_field: str = field(init=False)
    messages_field: str = field(init=False)
    # Which of the optional Response text fields this schema has (looked up once, not per frame).
    optional_fields: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        name = self.push_frame.DESCRIPTOR.fields_by_number[5].name
        object.__setattr__(self, "headers_field", name)
        messages = self.response.DESCRIPTOR.fields_by_number[1].name
        object.__setattr__(self, "messages_field", messages)
        present = _OPTIONAL_RESPONSE_FIELDS & set(self.response.DESCRIPTOR.fields_by_name)
        object.__setattr__(self, "optional_fields", frozenset(present))


# The Response text fields not every platform's schema has (see PushSchema).
_OPTIONAL_RESPONSE_FIELDS = frozenset({"push_server_v2", "proxy_server", "live_cursor"})


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
    """One ``Message`` of a Response, not yet decoded: its method name, id and payload.

    Built once per message (a Response carries about 20), so its ``__init__`` is written out:
    it sets the three slots through their own descriptors, as the dataclass one would through
    ``object.__setattr__``, for 60 % of the cost (0.26 against 0.42 µs; ``@dataclass`` keeps
    an ``__init__`` the class defines). Frozen, compared, hashed and shown as any frozen dataclass.
    """

    method: str
    msg_id: int
    payload: bytes

    def __init__(self, method: str, msg_id: int, payload: bytes) -> None:
        _set_method, _set_msg_id, _set_payload = _RAW_MESSAGE_SLOTS
        _set_method(self, method)
        _set_msg_id(self, msg_id)
        _set_payload(self, payload)


# The slot descriptors' setters of RawMessage (the class @dataclass(slots=True) returned).
_RAW_MESSAGE_SLOTS: tuple[Callable[[RawMessage, Any], None], ...] = tuple(
    getattr(RawMessage, name).__set__ for name in ("method", "msg_id", "payload")
)


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
class UnknownMessage:
    """A message whose method this build does not decode; kept raw for diagnosis."""

    row_type: ClassVar[str] = "unknown"

    method: str
    msg_id: int
    payload: bytes
    server_time_ms: int


@dataclass(frozen=True, slots=True)
class UndecodableMessage:
    """A known method whose payload did not parse; kept raw, with the parser's error."""

    row_type: ClassVar[str] = "undecodable"

    method: str
    msg_id: int
    payload: bytes
    error: str
    server_time_ms: int


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


def parse_frame(
    data: bytes, schema: PushSchema, *, max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE
) -> Frame:
    """Parse one WebSocket binary message into a :class:`Frame`.

    The payload is gunzipped when the ``compress_type`` header says gzip or the payload starts
    with the gzip magic ``1f 8b 08`` (implementations disagree on the rule, protocol.md §5;
    accepting either is the robust choice).

    Raises:
        RemoteProtocolError: the bytes are not a PushFrame, or the payload is bad gzip or
            inflates past ``max_payload_size``.
    """
    frame = schema.push_frame()
    try:
        frame.ParseFromString(data)
    except DecodeError as exc:
        raise RemoteProtocolError(f"not a PushFrame: {exc}") from exc
    headers = {header.key: header.value for header in getattr(frame, schema.headers_field)}
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


def _optional_text(message: Any, name: str, present: frozenset[str]) -> str:
    """A string field the platform's Response may not have ("" when it has none)."""
    return str(getattr(message, name)) if name in present else ""


def read_response(payload: bytes, schema: PushSchema) -> tuple[ResponseMeta, Iterable[Any]]:
    """:func:`parse_response` without the :class:`RawMessage` values: the metadata, and the
    Response's messages as the generated objects (``method``, ``msg_id`` as the wire's signed
    int64, ``payload``), in order.

    For :class:`~dylived.wire.session.WebcastSession`, which reads each message's three
    fields once and hands them to the decoder; building a value per message in between was
    a tenth of the decode pipeline's own work (bench/RESULTS.md, decode).

    Raises:
        RemoteProtocolError: the bytes are not a Response.
    """
    response = schema.response()
    try:
        response.ParseFromString(payload)
    except DecodeError as exc:
        raise RemoteProtocolError(f"not a Response: {exc}") from exc
    present = schema.optional_fields
    meta = ResponseMeta(
        cursor=response.cursor,
        internal_ext=response.internal_ext,
        now_ms=response.now,
        fetch_interval_ms=response.fetch_interval,
        heartbeat_duration=response.heartbeat_duration,
        need_ack=response.need_ack,
        push_server=response.push_server,
        push_server_v2=_optional_text(response, "push_server_v2", present),
        proxy_server=_optional_text(response, "proxy_server", present),
        live_cursor=_optional_text(response, "live_cursor", present),
        route_params=dict(response.route_params),
    )
    messages: Iterable[Any] = getattr(response, schema.messages_field)
    return meta, messages


def parse_response(payload: bytes, schema: PushSchema) -> PushResponse:
    """Parse the (decompressed) payload of a ``msg`` frame into a :class:`PushResponse`.

    Raises:
        RemoteProtocolError: the bytes are not a Response.
    """
    meta, messages = read_response(payload, schema)
    return PushResponse(
        meta,
        tuple(
            RawMessage(message.method, message.msg_id & UINT64_MASK, message.payload)
            for message in messages
        ),
    )


def build_heartbeat(schema: PushSchema) -> bytes:
    """The schema's client heartbeat frame (by default ``3a 02 68 62``, PushFrame{payload_type:
    "hb"}, as a browser sends it)."""
    return schema.heartbeat


def build_ack(log_id: int, internal_ext: str, schema: PushSchema) -> bytes:
    """The ack of a ``msg`` frame whose Response had ``need_ack``.

    ``PushFrame{log_id: <the incoming frame's log_id>, payload_type: "ack",
    payload: UTF-8 of the Response's internal_ext}``, and the schema's ``ack_encoding``
    (none by default, protocol.md §2.5).
    """
    frame = schema.push_frame(log_id=log_id, payload_type=PAYLOAD_TYPE_ACK)
    if schema.ack_encoding:
        frame.payload_encoding = schema.ack_encoding
    frame.payload = internal_ext.encode()
    return bytes(frame.SerializeToString())
