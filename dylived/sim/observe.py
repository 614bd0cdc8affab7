"""What the simulator observed, for tests to assert on the client's behaviour.

Every HTTP request (with the endpoint it hit and the status it got), every push connection
(heartbeats, acks, pongs, pings, the frames and events sent to it, how it ended), every media
connection, and every event sent with its msg_id and send time. Records are appended by the
server as things happen; tests read them (the lists only grow) or wait for a condition with
``Simulator.wait_until``. Times are wall-clock Unix seconds (``time.time()``).
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class HttpRequestRecord:
    """One HTTP request; ``endpoint`` names the route (see ENDPOINTS in sim/__init__)."""

    at: float
    method: str
    target: str
    endpoint: str
    status: int
    query: Mapping[str, str]
    headers: Mapping[str, str]
    cookies: Mapping[str, str]
    body_bytes: int


@dataclass(frozen=True, slots=True)
class AckRecord:
    at: float
    log_id: int
    payload: bytes
    matched: bool  # the log_id is one of a msg frame sent on this connection


@dataclass(frozen=True, slots=True)
class SentEvent:
    """One event sent on one push connection."""

    conn_id: int
    room_id: str
    web_rid: str
    type: str
    method: str
    msg_id: int
    sent_at: float
    log_id: int  # of the frame that carried it


@dataclass(slots=True)
class PushConnectionRecord:
    """One WebSocket push connection, from upgrade to close."""

    conn_id: int
    web_rid: str
    room_id: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    opened_at: float
    closed_at: float | None = None
    close_reason: str = ""  # e.g. "client_closed", "stream_ended", "ws_drop", "heartbeat_timeout"
    heartbeats: list[float] = field(default_factory=list)
    exact_heartbeats: int = 0  # heartbeats that were exactly 3a 02 68 62
    acks: list[AckRecord] = field(default_factory=list)
    pings_sent: list[float] = field(default_factory=list)
    pongs: list[float] = field(default_factory=list)
    other_frames: list[bytes] = field(default_factory=list)
    frames_sent: list[bytes] = field(default_factory=list)  # every binary message sent, in order
    events: list[SentEvent] = field(default_factory=list)
    msg_log_ids: set[int] = field(default_factory=set)
    entered_at: float | None = None  # the client's enter-room frame (personalities that ask one)
    heartbeats_before_enter: int = 0  # heartbeats a client sent before it entered the room
    bulk_events: int = 0  # events sent from templates (``pump = "templates"``), not in events

    @property
    def open(self) -> bool:
        return self.closed_at is None


@dataclass(slots=True)
class MediaConnectionRecord:
    """One FLV connection, or one HLS playlist/segment request."""

    conn_id: int
    web_rid: str
    kind: str  # "flv", "hls_playlist", "hls_segment"
    quality: str
    opened_at: float
    closed_at: float | None = None
    bytes_sent: int = 0
    frame_sizes: list[tuple[int, int]] = field(default_factory=list)
    close_reason: str = ""


@dataclass(slots=True)
class Observations:
    """Everything seen so far; tests read these lists (they only grow)."""

    requests: list[HttpRequestRecord] = field(default_factory=list)
    push_connections: list[PushConnectionRecord] = field(default_factory=list)
    media_connections: list[MediaConnectionRecord] = field(default_factory=list)
    sent_events: list[SentEvent] = field(default_factory=list)
    rejected_upgrades: list[HttpRequestRecord] = field(default_factory=list)
    bulk_events: int = 0  # events sent from templates (``pump = "templates"``): counted only

    def requests_to(self, endpoint: str) -> list[HttpRequestRecord]:
        return [r for r in self.requests if r.endpoint == endpoint]

    def request_counts(self) -> collections.Counter[str]:
        return collections.Counter(r.endpoint for r in self.requests)

    def push_for(self, web_rid: str) -> list[PushConnectionRecord]:
        return [c for c in self.push_connections if c.web_rid == web_rid]

    def events_for(self, web_rid: str) -> list[SentEvent]:
        return [e for e in self.sent_events if e.web_rid == web_rid]

    def acks(self) -> list[AckRecord]:
        return [a for c in self.push_connections for a in c.acks]

    def heartbeats(self) -> list[float]:
        return [h for c in self.push_connections for h in c.heartbeats]

    def pongs(self) -> list[float]:
        return [p for c in self.push_connections for p in c.pongs]
