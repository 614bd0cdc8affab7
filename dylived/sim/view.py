"""What a personality renders a room from: the quality ladder, stream links and ``RoomView`` (pure).

The media server (``sim/streams.py``) serves one stream per rung of ``QUALITY_LADDER``; a
personality's status JSON (e.g. the Douyin personality's web/enter) names them with its own keys.
``RoomView`` is a room at one moment, as ``SimRoom.view()`` takes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Quality:
    sdk_key: str
    name: str  # the display name status JSON gives it
    suffix: str  # stream name suffix, e.g. "_or4"
    level: int
    width: int
    height: int
    bitrate: int


# Best first; frame sizes are kept small so many rooms stay cheap, and all differ.
QUALITY_LADDER: tuple[Quality, ...] = (
    Quality("origin", "原画", "_or4", 5, 1280, 720, 1_500_000),
    Quality("uhd", "蓝光", "_uhd", 4, 1024, 576, 1_000_000),
    Quality("hd", "超清", "_hd", 3, 960, 540, 800_000),
    Quality("sd", "高清", "_sd", 2, 854, 480, 600_000),
    Quality("ld", "标清", "_ld", 1, 640, 360, 400_000),
    Quality("md", "流畅", "_md", 0, 426, 240, 250_000),
)
QUALITY_BY_KEY: Mapping[str, Quality] = {q.sdk_key: q for q in QUALITY_LADDER}
QUALITY_BY_SUFFIX: Mapping[str, Quality] = {q.suffix: q for q in QUALITY_LADDER}
FPS = 25


@dataclass(frozen=True, slots=True)
class StreamLinks:
    """Where one quality can be pulled, and the frame size it has right now."""

    flv: str
    hls: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class RoomView:
    """What the status endpoints need to know about a room at one moment."""

    web_rid: str
    uid: int
    sec_uid: str
    nickname: str
    title: str
    live: bool
    room_id: str  # current room id, or the last one, or "" if never live
    stream_id: str
    viewers: int
    total_users: int
    now_ms: int
    ended_style: str = "status"
    links: Mapping[str, StreamLinks] = field(default_factory=dict)
    session_id: str = ""
    create_time: int = 0
    finish_time: int = 0
    modes: frozenset[str] = frozenset()  # SimRoom.modes: platform states to render
