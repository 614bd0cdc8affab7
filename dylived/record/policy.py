"""Pure decisions of the ffmpeg supervisor: states, transitions, exits, restarts, sources.

Owns: the recorder state enum and its transition table, the classification of an ended ffmpeg
run, the bounded restart policy with backoff, the choice of stream URL (quality with nearest
fallback; FLV, or HLS for H.265, after FLV failed repeatedly, or when ffmpeg cannot follow a
frame-size change inside FLV) and the description of one ffmpeg run (``FfmpegJob``) with the
default argv builder. No I/O, no anyio, no clocks.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dylived.model import LiveStatus, select_stream
from dylived.net.proxy import ProxyUrl


# ---------------------------------------------------------------- states (pure)


class RecorderState(enum.StrEnum):
    STARTING = "starting"  # ffmpeg spawned, no media yet
    RUNNING = "running"  # media time advancing
    BACKOFF = "backoff"  # between two ffmpeg runs (or waiting for disk space)
    STOPPING = "stopping"  # the stop ladder is running
    EXITED = "exited"  # no ffmpeg and none wanted
    FATAL = "fatal"  # gave up: too many failed starts


class RecorderEvent(enum.StrEnum):
    START = "start"
    PROGRESS = "progress"
    STOP = "stop"
    PROCESS_EXIT = "process_exit"
    RETRY = "retry"
    GIVE_UP = "give_up"
    FINISH = "finish"


S, E = RecorderState, RecorderEvent
TRANSITIONS: dict[tuple[RecorderState, RecorderEvent], RecorderState] = {
    (S.EXITED, E.START): S.STARTING,
    (S.STARTING, E.PROGRESS): S.RUNNING,
    (S.RUNNING, E.PROGRESS): S.RUNNING,
    (S.STOPPING, E.PROGRESS): S.STOPPING,
    (S.STARTING, E.STOP): S.STOPPING,
    (S.RUNNING, E.STOP): S.STOPPING,
    (S.STOPPING, E.STOP): S.STOPPING,
    (S.STARTING, E.PROCESS_EXIT): S.BACKOFF,
    (S.RUNNING, E.PROCESS_EXIT): S.BACKOFF,
    (S.STOPPING, E.PROCESS_EXIT): S.BACKOFF,
    (S.BACKOFF, E.RETRY): S.STARTING,
    (S.BACKOFF, E.GIVE_UP): S.FATAL,
    (S.BACKOFF, E.FINISH): S.EXITED,
    (S.EXITED, E.FINISH): S.EXITED,
}
del S, E


def next_state(state: RecorderState, event: RecorderEvent) -> RecorderState:
    """The state after ``event``; ValueError for an event the state does not allow."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise ValueError(f"recorder event {event} is not allowed in state {state}") from None


class ExitKind(enum.StrEnum):
    """Why an ffmpeg run ended, which decides what comes next."""

    STOPPED = "stopped"  # we stopped it for good (session over, record stop)
    STALL = "stall"  # we stopped it: no media progress for stall_timeout
    DISK = "disk"  # we stopped it: free space (nearly) under min_free, or ffmpeg met ENOSPC
    STREAM_CHANGE = "stream_change"  # we stopped it: resolution or codec changed
    REFUSED = "url_refresh"  # the URL was refused (403/404, expired)
    ENDED = "ended"  # exit 0 by itself: the stream ended, or dropped
    CRASHED = "crash"  # any other exit


def classify_exit(returncode: int, stop_reason: ExitKind | None, refused: bool) -> ExitKind:
    """Pure: what an ended run means. A reason we stopped it for wins over its exit code."""
    if stop_reason is not None:
        return stop_reason
    if refused:
        return ExitKind.REFUSED
    return ExitKind.ENDED if returncode == 0 else ExitKind.CRASHED


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """Bounded restarts with backoff; pure.

    A run that made media progress for ``start_secs`` is a good run and resets the count; a
    run that died sooner is a failed start. After ``start_retries`` failed starts in a row the
    recorder gives up (FATAL). Delays grow through ``delays`` and stay at the last one.
    """

    start_secs: float = 5.0
    start_retries: int = 6
    delays: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)

    def is_failed_start(self, progressed_for_s: float) -> bool:
        return progressed_for_s < self.start_secs

    def delay(self, failed_starts: int) -> float | None:
        """Seconds to wait before the next start; None: give up."""
        if failed_starts > self.start_retries:
            return None
        return self.delays[min(failed_starts, len(self.delays) - 1)]


@dataclass(frozen=True, slots=True)
class FfmpegJob:
    """Everything the argv builder needs for one ffmpeg run."""

    url: str
    kind: str  # "flv" | "hls"
    output_pattern: Path  # e.g. …/name_%04d.ts.part
    segment_list: Path
    start_number: int
    segment_seconds: float
    rw_timeout_s: float
    headers: tuple[tuple[str, str], ...] = ()
    http_proxy: ProxyUrl | None = None  # an http:// proxy, given in ffmpeg's environment


ArgvBuilder = Callable[[str, FfmpegJob], list[str]]


@dataclass(frozen=True, slots=True)
class Source:
    url: str
    kind: str
    quality: str
    codec: str | None
    width: int | None
    height: int | None
    fell_back: bool


def choose_source(
    status: LiveStatus, quality: str, flv_failures: int, max_flv: int, *, prefer_hls: bool = False
) -> Source:
    """Pure: the URL to record. FLV unless the codec is H.265, FLV failed repeatedly, or
    ``prefer_hls`` (an ffmpeg that loses a frame-size change inside FLV: record.sizechange)."""
    choice = select_stream(status, quality)
    variant = choice.variant
    want_hls = prefer_hls or variant.codec == "h265" or flv_failures >= max_flv
    if variant.hls_url and (want_hls or not variant.flv_url):
        url, kind = variant.hls_url, "hls"
    elif variant.flv_url:
        url, kind = variant.flv_url, "flv"
    else:
        raise ValueError(f"quality {variant.quality} has no URL")
    return Source(
        url, kind, variant.quality, variant.codec, variant.width, variant.height, choice.fell_back
    )
