"""The pieces of the status snapshot the façade (``dylived/app/facade.py``) assembles.

Component blocks (``capture``, ``recording``) from a watch's statistics, the recording's
current segment and rate (``recording_block``), each platform's gate for status
(``platform_block``) and ``/metrics`` (``platform_metrics``), JSON-ready values, free disk.
Reads the file system only to stat a segment being written and the recordings' disk.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from dylived.control.api import JsonObject, PlatformMetrics
from dylived.watch.broadcaster import WatchStatistics, recorder_running
from dylived.watch.watchlist import GateStatistics


__all__ = [
    "IDENTITY_FIELDS",
    "RATE_WINDOW_S",
    "component_block",
    "free_disk",
    "is_recording",
    "jsonable",
    "platform_block",
    "platform_metrics",
    "recording_block",
]


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


def platform_block(gate: GateStatistics) -> JsonObject:
    """One platform's gate in ``status`` (``daemon.platforms.<name>``, control/api.py)."""
    breaker = gate.breaker
    return {
        "broadcasters": gate.broadcasters,
        "in_flight": gate.budget.in_flight,
        "max_in_flight": gate.max_in_flight,
        "max_in_flight_seen": gate.budget.max_in_flight_seen,
        "waiting": gate.budget.waiting,
        "requests": gate.requests,
        "risk_signals": gate.risk_signals,
        "breaker": {
            "state": breaker.state.value,
            "open_until_ms": gate.open_until_ms,
            "times_opened": breaker.times_opened,
            "last_reason": breaker.last_reason,
        },
    }


def platform_metrics(gate: GateStatistics) -> PlatformMetrics:
    return PlatformMetrics(
        platform=gate.platform,
        breaker=gate.breaker.state.value,
        breaker_opened=gate.breaker.times_opened,
        in_flight=gate.budget.in_flight,
        requests=gate.requests,
        risk_signals=gate.risk_signals,
    )


def is_recording(s: WatchStatistics) -> bool:
    return recorder_running(s.components)


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
