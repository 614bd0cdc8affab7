"""Frozen values and enums shared by every layer (no I/O, no protobuf).

What lives here is the vocabulary the layers exchange: the row types of the dataset, the
reasons a session ends, the states of a watched broadcaster, and the parsed live status of a
room with its stream URLs per quality. Typed events are each platform's
(``platforms/<name>/messages.py``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from dylived.errors import UpstreamError


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
    # The broadcaster's public handle on the platform, the one its live URL names (for the
    # first platform, the web_rid of its live URL).
    handle: str | None = None
    title: str = ""
    nickname: str = ""
    user_id: str | None = None
    viewers: int | None = None
    viewers_text: str = ""
    # Keyed by quality name (QUALITIES, and the legacy keys when only those are present).
    streams: Mapping[str, StreamVariant] = field(default_factory=dict)
    server_time_ms: int | None = None
    # Platform-owned values with no shared meaning, read only by that platform's package
    # (e.g. a "sec_uid").
    extra: Mapping[str, str] = field(default_factory=dict)
    # Live, but the broadcaster paused it (the session and its recording go on).
    paused: bool = False
    # The configured login cookie as the platform took it: True logged in, False refused (the
    # answer was for a logged-out viewer: expired or revoked), None when no login cookie is
    # configured or the answer did not say. ``cookie_problem`` says why when False.
    cookie_accepted: bool | None = None
    cookie_problem: str = ""


class StreamChoice(NamedTuple):
    """The stream picked for a wanted quality, and whether it is a different quality."""

    variant: StreamVariant
    fell_back: bool


def _rank(quality: str) -> int | None:
    canonical = LEGACY_QUALITIES.get(quality, quality)
    return QUALITIES.index(canonical) if canonical in QUALITIES else None


def select_stream(status: LiveStatus, wanted_quality: str) -> StreamChoice:
    """The variant of ``wanted_quality``, or the nearest available one.

    Qualities are ordered origin, uhd, hd, sd, ld, md; a legacy name counts as the quality it
    maps to (LEGACY_QUALITIES). Between two equally near qualities the better one wins, so a
    fallback never records worse than it must.

    Raises:
        ValueError: ``wanted_quality`` is not a known quality name.
        UpstreamError: the status has no stream with a usable URL.
    """
    wanted_rank = _rank(wanted_quality)
    if wanted_rank is None:
        raise ValueError(f"unknown video quality {wanted_quality!r}")
    candidates = [
        (abs(rank - wanted_rank), rank, variant)
        for variant in status.streams.values()
        if (rank := _rank(variant.quality)) is not None
    ]
    if not candidates:
        raise UpstreamError("the room is live but its status lists no stream URL")
    distance, _, variant = min(candidates, key=lambda c: (c[0], c[1]))
    return StreamChoice(variant, fell_back=distance != 0)


def lower_quality(status: LiveStatus, quality: str) -> str | None:
    """The best quality ``status`` offers below ``quality`` (the recorder's step down after
    repeated failures), or None when it offers nothing lower."""
    rank = _rank(quality)
    lower = [
        (r, variant.quality)
        for variant in status.streams.values()
        if (r := _rank(variant.quality)) is not None and rank is not None and r > rank
    ]
    return min(lower)[1] if lower else None
