"""The pieces of the status snapshot the façade (``dylived/app/facade.py``) assembles.

Component blocks (``capture``, ``recording``) from a watch's statistics, the recording's
current segment and rate (``recording_block``), JSON-ready values, free disk. Reads the file
system only to stat a segment being written and the recordings' disk.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from dylived.control.api import JsonObject
from dylived.watch.broadcaster import WatchStatistics


__all__ = [
    "IDENTITY_FIELDS",
    "RATE_WINDOW_S",
    "component_block",
    "free_disk",
    "is_recording",
    "jsonable",
    "recording_block",
    "vars_of",
]


def vars_of(obj: object) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in getattr(obj, "__slots__", ())}


# BroadcasterConfig fields that are the broadcaster's identity or state (shown as top-level
# fields of its JSON), not the effective options a user can override.
IDENTITY_FIELDS = frozenset(
    {"key", "target", "target_text", "platform", "enabled", "paused", "origin"}
)


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def is_recording(s: WatchStatistics) -> bool:
    recorder = s.components.get("recorder")
    return recorder is not None and recorder.state == "running"


def component_block(s: WatchStatistics | None, name: str) -> JsonObject | None:
    if s is None or s.session_id is None:
        return None
    health = s.components.get(name)
    if health is None:
        return None
    return {"state": health.state, "detail": health.detail, **jsonable(dict(health.details))}


RATE_WINDOW_S = 2.0  # a current segment younger than this gives no rate of its own


def recording_block(block: JsonObject | None, now_ms: int) -> JsonObject | None:
    """The recorder's health details plus what ``dylivectl`` shows of a recording.

    ``current_segment`` (``{"path", "seq", "since_ms", "bytes"}`` or None): the segment ffmpeg
    is writing, with its size on disk now. ``bytes_per_second``: that size over the segment's
    age, or, for a segment younger than ``RATE_WINDOW_S``, the finished segments' bytes over
    their media seconds; None before either is known.
    """
    if block is None:
        return None
    current = block.get("current_segment")
    rate: float | None = None
    if isinstance(current, dict):
        size = _file_size(str(current.get("path", "")))
        current = {**current, "bytes": size}
        age_s = (now_ms - int(current.get("since_ms") or now_ms)) / 1000
        if size is not None and age_s >= RATE_WINDOW_S:
            rate = size / age_s
    else:
        current = None
    finished_s = block.get("duration_s") or 0
    if rate is None and finished_s > 0:
        rate = float(block.get("bytes") or 0) / finished_s
    return {
        **block,
        "current_segment": current,
        "bytes_per_second": None if rate is None else round(rate, 1),
    }


def _file_size(path: str) -> int | None:
    try:
        return os.stat(path).st_size if path else None
    except OSError:  # renamed at its close, or not created yet
        return None


def free_disk(path: Path) -> int:
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free
    except OSError:
        return 0
