"""The ByteDance push framing, server side: events → PushFrame bytes, client frames classified.

Shared by every personality whose push speaks PushFrame (e.g. the Douyin personality): the
envelope looks like the real 2022 capture: ``service``/``method`` from the schema, headers
``compress_type=gzip``, ``im-internal_ext``, ``im-cursor``, ``im-now``, ``im-live_cursor``;
payload_encoding ``pb``, payload_type ``msg``; payload = gzip(Response{need_ack,
heartbeat_duration, internal_ext, …}). A ``FrameSchema`` names the generated message classes
(the field numbers are the platform's), and ``Framing`` pairs it with the personality's encoder
of one event into its message payload. Built with generated code only, never with
``dylived.wire`` logic, so an encoder bug here and a decoder bug there cannot cancel out.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dylived.sim.script import ScriptedEvent


@dataclass(frozen=True, slots=True)
class FrameSchema:
    """A platform's generated classes for the envelope, and the PushFrame service/method."""

    push_frame: Any  # PushFrame: seq_id, log_id, service, method, headers_list, payload_*
    headers: Any  # HeadersList: key, value
    response: Any  # Response: messages_list, cursor, now, internal_ext, need_ack, …
    message: Any  # Message: method, payload, msg_id
    service: int
    method: int


@dataclass(frozen=True, slots=True)
class FrameContext:
    """What the frame envelope carries besides the events."""

    room_id: int
    seq_id: int
    log_id: int
    now_ms: int
    user_unique_id: str = "7300000000000000000"
    heartbeat_duration: int = 0
    need_ack: bool = True

    @property
    def internal_ext(self) -> str:
        return (
            f"internal_src:pushserver|wss_push_room_id:{self.room_id}"
            f"|wss_push_did:{self.user_unique_id}|wss_push_log_id:{self.log_id}"
            f"|wss_push_ms:{self.now_ms}|wss_msg_type:r|wrds_v:{self.seq_id}"
        )

    @property
    def cursor(self) -> str:
        return f"t-{self.now_ms}_r-{self.seq_id}_d-1_u-1_fh-{self.log_id}"


@dataclass(frozen=True, slots=True)
class ClientFrame:
    """What a client sent: ``kind`` is "heartbeat", "ack" or "other" ("garbage" if unparsable)."""

    kind: str
    log_id: int = 0
    payload: bytes = b""
    payload_type: str = ""
    exact_heartbeat: bool = False


@dataclass(frozen=True, slots=True)
class Framing:
    """One platform's push framing: its schema and its event → message payload encoder.

    ``enter_reply`` (room id → the frame that answers a client's ``"enter"`` frame) is for a
    platform whose clients must enter the room first: nothing is pushed to a client before it
    did. A personality with other envelope field names subclasses this and overrides
    ``encode_frame`` / ``parse_client_frame``.
    """

    schema: FrameSchema
    encode_event: Callable[[ScriptedEvent], bytes]
    enter_reply: Callable[[int], bytes] | None = None

    @property
    def heartbeat_bytes(self) -> bytes:
        """The exact heartbeat a client should send: a PushFrame with payload_type "hb" only."""
        return bytes(self.schema.push_frame(payload_type="hb").SerializeToString())

    def encode_frame(self, events: Sequence[ScriptedEvent], ctx: FrameContext) -> bytes:
        """A complete server→client WebSocket binary message carrying ``events``."""
        schema = self.schema
        messages = schema.response(
            messages_list=[
                schema.message(
                    method=event.method, payload=self.encode_event(event), msg_id=event.msg_id
                )
                for event in events
            ]
        )
        return self.wrap(bytes(messages.SerializeToString()), ctx)

    def wrap(self, messages: bytes, ctx: FrameContext, compresslevel: int = 6) -> bytes:
        """The PushFrame around a Response whose encoded ``messages`` field entries are given:
        the Response's other fields (cursor, now, internal_ext, need_ack …) are appended to
        them (protobuf fields may come in any order), gzip'd, with the frame's headers."""
        schema = self.schema
        envelope = schema.response(
            cursor=ctx.cursor,
            fetch_interval=1000,
            now=ctx.now_ms,
            internal_ext=ctx.internal_ext,
            fetch_type=1,
            heartbeat_duration=ctx.heartbeat_duration,
            need_ack=ctx.need_ack,
            live_cursor="d-1_u-1",
        )
        response = messages + bytes(envelope.SerializeToString())
        payload = gzip.compress(response, compresslevel=compresslevel, mtime=0)
        frame = schema.push_frame(
            seq_id=ctx.seq_id,
            log_id=ctx.log_id,
            service=schema.service,
            method=schema.method,
            headers_list=[
                schema.headers(key="compress_type", value="gzip"),
                schema.headers(key="im-internal_ext", value=ctx.internal_ext),
                schema.headers(key="im-cursor", value=ctx.cursor),
                schema.headers(key="im-now", value=str(ctx.now_ms)),
                schema.headers(key="im-live_cursor", value="d-1_u-1"),
            ],
            payload_encoding="pb",
            payload_type="msg",
            payload=payload,
        )
        return bytes(frame.SerializeToString())

    def parse_client_frame(self, data: bytes) -> ClientFrame:
        """Classify one binary message from a client."""
        frame = self.schema.push_frame()
        try:
            frame.ParseFromString(data)
        except Exception:  # protobuf raises DecodeError; any failure means garbage
            return ClientFrame("garbage", payload=data)
        if frame.payload_type == "hb":
            exact = data == self.heartbeat_bytes
            return ClientFrame("heartbeat", payload_type="hb", exact_heartbeat=exact)
        if frame.payload_type == "ack":
            return ClientFrame(
                "ack", log_id=frame.log_id, payload=frame.payload, payload_type="ack"
            )
        return ClientFrame(
            "other", log_id=frame.log_id, payload=frame.payload, payload_type=frame.payload_type
        )
