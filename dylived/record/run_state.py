"""The recorder's value types: its settings, its statistics and the state of one ffmpeg run.

``RecorderSettings`` (how one recording runs), ``RecorderStatistics`` (what ``Recorder``
reports), ``RunState`` (the mutable facts of the current ffmpeg run: its segments, media
progress, stop reason, the lock over its segment books) and ``parse_out_time_us`` (ffmpeg's
``-progress`` lines, read for the stall watchdog). No I/O; used by ``record.supervisor``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import anyio

from dylived.net.proxy import ProxyUrl
from dylived.record.argv import Container
from dylived.record.policy import ExitKind, RecorderState, RestartPolicy
from dylived.record.process import StopLadder
from dylived.record.segments import RunSegments, SegmentOpened


__all__ = ["RecorderSettings", "RecorderStatistics", "RunState", "parse_out_time_us"]


@dataclass(frozen=True, slots=True)
class RecorderSettings:
    """How one recording runs (from the broadcaster's effective config)."""

    ffmpeg: str
    directory: Path  # where this session's segments go
    file_stem: str  # segment file names: {file_stem}_{seq:04d}.{container}
    container: Container = "ts"
    quality: str = "origin"
    segment_seconds: float = 60.0
    stall_timeout: float = 15.0
    rw_timeout: float = 10.0
    status_timeout: float = 15.0
    stop_q_wait: float = 5.0  # a healthy ffmpeg finishes on 'q' in ~0.2 s
    stop_int_wait: float = 3.0
    stop_kill_wait: float = 2.0
    hls_after_flv_failures: int = 3
    step_down_after_failures: int = 4  # failed starts at one quality before the next lower one
    headers: tuple[tuple[str, str], ...] = ()
    http_proxy: ProxyUrl | None = None  # an http:// proxy for ffmpeg (record/argv.py)
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    stderr_lines: int = 200
    die_with_parent: bool = True  # SIGINT to ffmpeg if the daemon dies (see the launcher)

    @property
    def ladder(self) -> StopLadder:
        return StopLadder(self.stop_q_wait, self.stop_int_wait, self.stop_kill_wait)


@dataclass(frozen=True, slots=True)
class RecorderStatistics:
    state: RecorderState
    runs: int
    segments: int
    bytes: int
    duration_s: float
    gaps: int
    gap_seconds: float
    disk_low: bool
    quality: str | None
    source_kind: str | None
    last_exit: str | None
    stop_reason: str | None
    rejected_urls: int = 0  # stream URLs refused: not http(s), in the status or named by a stream


class RunState:
    """Mutable facts about the current ffmpeg run."""

    def __init__(self, segments: RunSegments, started: float) -> None:
        self.segments = segments
        self.spawned = started
        self.first_progress: float | None = None
        self.last_advance = started
        self.out_time_us = 0
        self.refused = False
        self.stop_reason: ExitKind | None = None
        self.stop_requested = anyio.Event()
        # Held while segment-list entries become records and while a newly opened segment
        # is announced, so the announced seq is the one its record will get.
        self.books = anyio.Lock()
        self.announced: SegmentOpened | None = None

    def advance(self, out_time_us: int, now: float, now_ms: int) -> bool:
        """ffmpeg reported media time ``out_time_us``; True at the run's first progress."""
        if out_time_us <= self.out_time_us:
            return False
        self.out_time_us = out_time_us
        self.last_advance = now
        self.segments.on_progress(now_ms, out_time_us)
        if self.first_progress is not None:
            return False
        self.first_progress = now
        return True

    @property
    def progressed_s(self) -> float:
        """Seconds of wall time between the first and the latest media progress."""
        return 0.0 if self.first_progress is None else self.last_advance - self.first_progress


def parse_out_time_us(line: str) -> int | None:
    """The ``out_time_us`` of one ``-progress`` line (None for every other line)."""
    key, _, value = line.partition("=")
    return int(value) if key == "out_time_us" and value.isdigit() else None
