"""Frozen values and enums shared by every layer (no I/O, no protobuf).

What lives here is the vocabulary the layers exchange: the row types of the dataset, the
reasons a session ends, the states of a watched broadcaster, and the parsed live status of a
room with its stream URLs per quality. Wire-level typed events live in ``wire/messages.py``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class Platform(enum.StrEnum):
    DOUYIN = "douyin"
    TIKTOK = "tiktok"


# The 13 event row types of shared/design/dataset.md, in the order the dataset lists them.
EVENT_TYPES: tuple[str, ...] = (
    "chat",
    "gift",
    "like",
    "member",
    "social",
    "viewer_count",
    "fansclub",
    "emoji_chat",
    "room_stats",
    "room_rank",
    "room_message",
    "stream_adaptation",
    "control",
)


class ExitReason(enum.StrEnum):
    """``reason_for_exit`` of a session summary (dataset.md)."""

    STREAM_ENDED = "stream_ended"
    RUNTIME_CAP = "runtime_cap"
    RECORDER_FAILED = "recorder_failed"
    DISCONNECT_UNRECOVERABLE = "disconnect_unrecoverable"
    TRANSPORT_CLOSED = "transport_closed"
    DAEMON_STOPPED = "daemon_stopped"
    DISK_FULL = "disk_full"


class WatchState(enum.StrEnum):
    """The state of one watched broadcaster: OFFLINE → LIVE → GRACE → OFFLINE."""

    OFFLINE = "offline"
    LIVE = "live"
    GRACE = "grace"
    PAUSED = "paused"


# Quality names, best first. ``origin`` … ``md`` are the keys of
# live_core_sdk_data.pull_data.stream_data; the legacy FULL_HD1/HD1/SD1/SD2 keys of
# flv_pull_url map to them as in the 2026 capture (protocol.md §1.2: SD2 is better than SD1).
QUALITIES: tuple[str, ...] = ("origin", "uhd", "hd", "sd", "ld", "md")
LEGACY_QUALITIES: Mapping[str, str] = {"FULL_HD1": "uhd", "HD1": "hd", "SD2": "sd", "SD1": "ld"}


@dataclass(frozen=True, slots=True)
class StreamVariant:
    """One quality of a live stream: where to pull it and what it is."""

    quality: str
    flv_url: str | None = None
    hls_url: str | None = None
    codec: str | None = None  # "h264" / "h265" when the platform says
    width: int | None = None
    height: int | None = None
    bitrate: int | None = None


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """What a room-status request said about one broadcaster at one moment."""

    live: bool
    room_id: str | None = None
    web_rid: str | None = None
    title: str = ""
    nickname: str = ""
    sec_uid: str | None = None
    user_id: str | None = None
    viewers: int | None = None
    viewers_text: str = ""
    # Keyed by quality name (QUALITIES, and the legacy keys when only those are present).
    streams: Mapping[str, StreamVariant] = field(default_factory=dict)
    server_time_ms: int | None = None
