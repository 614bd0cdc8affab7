"""Douyin's event connection: the push URL, its handshake, the envelope schema, events → rows.

Owns :class:`DouyinPush`, the ``EventSource`` of ``platforms/base.py`` for Douyin
(protocol.md §2.1–2.4). **URL**: the configured ``[douyin] ws_hosts`` in order — a host without
a path gets ``/webcast/im/push/v2/`` — with every query parameter and the native
``signature`` (``sign.build_push_url``; its counter is the connection's number, as JW does).
**user_unique_id**: the configured ``[douyin] user_unique_id`` when set, otherwise a fresh
random 19-digit id in [7.3e18, 8.0e18) for every connection (BU's range; SR regenerates per
retry because an id "may be expired"). **Handshake**: the ttwid cookie and the user agent of
the status calls; ``Origin`` = ``web_base`` and ``Referer`` = ``web_base/`` as BU sends them.
The optional im/fetch bootstrap is not used: cursor and internal_ext are the browser's
fallbacks. Each connection's session uses :data:`SCHEMA` and ``messages.decode_message``;
rows are ``rows.build_row`` with the broadcaster's web_rid (``LiveStatus.handle``), and a
session's ``room_info`` row is ``rows.build_room_info_row``.
"""

from __future__ import annotations

import random
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dylived.errors import UpstreamError
from dylived.model import LiveStatus
from dylived.platforms.base import EventConnection, Row
from dylived.platforms.douyin._pb import douyin_pb2 as pb
from dylived.platforms.douyin.messages import ControlEvent, WireEvent, decode_message
from dylived.platforms.douyin.rows import build_room_info_row, build_row
from dylived.platforms.douyin.sign import SignatureRandomness, build_push_url
from dylived.wire.frames import PushSchema
from dylived.wire.session import DedupWindow, WebcastSession


PUSH_PATH = "/webcast/im/push/v2/"
USER_UNIQUE_ID_RANGE = (7_300_000_000_000_000_000, 8_000_000_000_000_000_000)
SCHEMA = PushSchema(push_frame=pb.PushFrame, response=pb.Response)


def push_endpoint(host: str) -> str:
    """The push endpoint of a configured host: ``/webcast/im/push/v2/`` unless it has a path."""
    parts = urllib.parse.urlsplit(host)
    if parts.path in ("", "/"):
        return urllib.parse.urlunsplit(parts._replace(path=PUSH_PATH))
    return host


def push_headers(origin: str, cookie: str) -> list[tuple[str, str]]:
    """The extra handshake headers, as the browser sends them (the cookie first, when any)."""
    headers = [
        ("Referer", origin + "/"),
        ("Accept-Language", "zh-CN,zh;q=0.9"),
        ("Cache-Control", "no-cache"),
        ("Pragma", "no-cache"),
    ]
    if cookie:
        headers.insert(0, ("Cookie", cookie))
    return headers


def choose_user_unique_id(configured: str, rng: random.Random) -> str:
    """The configured id, else a random 19-digit id in [7.3e18, 8.0e18)."""
    return configured or str(rng.randrange(*USER_UNIQUE_ID_RANGE))


class DouyinCodec:
    """Douyin's frames and events without a connection (the ``EventCodec`` of base.py)."""

    __slots__ = ()

    def new_session(self, dedup: DedupWindow | None = None) -> WebcastSession[WireEvent]:
        return WebcastSession(SCHEMA, decode_message, dedup=dedup)

    def row_type(self, event: object) -> str:
        row_type: str = event.row_type  # type: ignore[attr-defined]  # every decoded value has one
        return row_type

    def ends_stream(self, event: object) -> bool:
        return isinstance(event, ControlEvent) and event.stream_ended

    def event_row(
        self,
        event: object,
        status: LiveStatus,
        *,
        received_at_ms: int | None,
        stream_offset_s: float | None,
    ) -> Row:
        return build_row(
            event,  # type: ignore[arg-type]  # a value of messages.decode_message
            web_rid=status.handle,
            received_at_ms=received_at_ms,
            stream_offset_s=stream_offset_s,
            room_id=status.room_id,
        )

    def room_info_row(self, status: LiveStatus, *, raw_url: str, received_at_ms: int) -> Row:
        return build_room_info_row(status, raw_url=raw_url, received_at_ms=received_at_ms)


CODEC = DouyinCodec()


@dataclass(frozen=True, slots=True)
class DouyinPush(DouyinCodec):
    """Douyin's event source for one session (see the module docstring)."""

    ws_hosts: tuple[str, ...]
    user_agent: str
    origin: str = "https://live.douyin.com"
    user_unique_id: str = ""  # "" = a random id per connection
    cookie_header: Callable[[], str] = str

    @classmethod
    def from_section(cls, section: Any, cookie_header: Callable[[], str] = str) -> DouyinPush:
        """From the ``[douyin]`` section (``ws_hosts``, ``user_agent``, ``web_base``, …)."""
        return cls(
            ws_hosts=tuple(section.ws_hosts),
            user_agent=section.user_agent,
            origin=str(section.web_base).rstrip("/"),
            user_unique_id=section.user_unique_id,
            cookie_header=cookie_header,
        )

    @property
    def hosts(self) -> tuple[str, ...]:
        return self.ws_hosts

    def statistics(self) -> dict[str, Any]:
        return {}  # no signing server, nothing beside the capture's own counters

    async def connection(
        self, status: LiveStatus, *, host_index: int, number: int, rng: random.Random
    ) -> EventConnection:
        if not status.room_id:
            raise UpstreamError("the live status has no room_id")
        host = self.ws_hosts[host_index % len(self.ws_hosts)]
        url = build_push_url(
            push_endpoint(host),
            room_id=status.room_id,
            user_unique_id=choose_user_unique_id(self.user_unique_id, rng),
            now_ms=time.time_ns() // 1_000_000,
            randomness=SignatureRandomness.draw(rng, counter=number),
            user_agent=self.user_agent,
        )
        return EventConnection(
            url=url,
            user_agent=self.user_agent,
            origin=self.origin,
            headers=tuple(push_headers(self.origin, self.cookie_header())),
            host=urllib.parse.urlsplit(host).netloc,
        )
