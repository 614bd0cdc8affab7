"""TikTok's event codec and a placeholder event source (the signing-server connection is
being built; until then a TikTok broadcaster is recorded without events).

:class:`TikTokCodec` is the ``EventCodec`` of ``platforms/base.py``: a shared
``wire.session.WebcastSession`` over TikTok's envelope schema (``envelope.SCHEMA``) whose
decoder is ``decode.decode_message`` (one row per message; a payload that does not parse is an
``UndecodableMessage``), and rows that get the broadcaster's handle, the room id, the arrival
time and the recording offset filled in. :class:`TikTokPush` is the session's ``EventSource``;
its ``connection`` raises ``UpstreamError`` because the connection needs a signing server
(tiktok.md §3), which this build does not speak yet.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from dylived.errors import RemoteProtocolError, UpstreamError
from dylived.model import LiveStatus
from dylived.net.http import HttpClient
from dylived.platforms.base import EventConnection, Row
from dylived.platforms.tiktok.common import PLATFORM
from dylived.platforms.tiktok.decode import decode_message
from dylived.platforms.tiktok.envelope import SCHEMA
from dylived.wire.frames import UndecodableMessage
from dylived.wire.session import DedupWindow, WebcastSession


def _decode(method: str, msg_id: int, payload: bytes, server_now_ms: int) -> Row | Any:
    try:
        return decode_message(method, payload, msg_id=msg_id, server_now_ms=server_now_ms)
    except RemoteProtocolError as exc:
        return UndecodableMessage(method, msg_id, payload, str(exc), server_now_ms)


class TikTokCodec:
    """TikTok's frames and events without a connection (the ``EventCodec`` of base.py)."""

    __slots__ = ()

    def new_session(self, dedup: DedupWindow | None = None) -> WebcastSession[Any]:
        return WebcastSession(SCHEMA, _decode, dedup=dedup)

    def row_type(self, event: object) -> str:
        if isinstance(event, dict):
            return str(event["type"])
        return str(getattr(event, "row_type", "unknown"))

    def ends_stream(self, event: object) -> bool:
        return isinstance(event, dict) and event["type"] == "control" and event["stream_ended"]

    def event_row(
        self,
        event: object,
        status: LiveStatus,
        *,
        received_at_ms: int | None,
        stream_offset_s: float | None,
    ) -> Row:
        if isinstance(event, dict):
            row: Row = dict(event)
        else:  # an UndecodableMessage of the shared session
            row = {
                "type": self.row_type(event),
                "method": getattr(event, "method", ""),
                "msg_id": str(getattr(event, "msg_id", 0) or "") or None,
                "error": getattr(event, "error", None),
                "server_time_ms": getattr(event, "server_time_ms", None) or None,
            }
        row["platform"] = PLATFORM
        row["room_id"] = row.get("room_id") or status.room_id
        row["handle"] = row.get("handle") or status.handle
        row["received_at_ms"] = received_at_ms
        row["stream_offset_s"] = stream_offset_s
        return row

    def room_info_row(self, status: LiveStatus, *, raw_url: str, received_at_ms: int) -> Row:
        return {
            "type": "room_info",
            "platform": PLATFORM,
            "room_id": status.room_id,
            "handle": status.handle,
            "broadcaster": {
                "nickname": status.nickname,
                "user_id": status.user_id,
                "unique_id": status.handle,
                "sec_uid": status.extra.get("sec_uid"),
            },
            "title": status.title,
            "user_count_text": status.viewers_text or None,
            "raw_url": raw_url,
            "live": status.live,
            "stream_qualities": list(status.streams),
            "server_time_ms": status.server_time_ms,
            "received_at_ms": received_at_ms,
        }


CODEC = TikTokCodec()


@dataclass(frozen=True, slots=True)
class TikTokPush(TikTokCodec):
    """TikTok's event source for one session: no connection without a signing server."""

    sign_server: str = ""

    @property
    def hosts(self) -> tuple[str, ...]:
        return (self.sign_server or "tiktok-signing-server",)

    async def connection(
        self, status: LiveStatus, *, host_index: int, number: int, rng: random.Random
    ) -> EventConnection:
        raise UpstreamError("TikTok events need a signing server: not built yet")


def event_source(http: HttpClient, section: Any) -> TikTokPush:
    """The event source of one session from the current ``[tiktok]`` section."""
    del http  # the signing-server client will use it
    return TikTokPush(sign_server=str(section.sign_server))
