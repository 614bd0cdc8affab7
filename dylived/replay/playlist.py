"""A session as an HLS playlist, and serving its segment files safely (pure, plus one reader).

``render`` writes the HLS media playlist of a session's closed segments in ``seq`` order: a
VOD playlist (``#EXT-X-ENDLIST``) once the session has ended, an EVENT playlist while it is
live, ``#EXT-X-DISCONTINUITY`` at every segment boundary (each file's timestamps start
again) and ``#EXT-X-PROGRAM-DATE-TIME`` before each (its wall-clock start, UTC, from
the segment's stored ``started_at_ms``). Segment URIs are relative
(``../../segments/<session>-<seq>.<ext>``), so the playlist works wherever the control API is
served; the extension is there because ffmpeg's HLS demuxer checks it.

``confine`` resolves a stored segment path and refuses anything outside ``recordings_dir``
(``..``, symlinks out); ``parse_range`` reads one ``Range: bytes=`` header; ``file_chunks``
streams a byte range of a file in bounded chunks.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anyio


CONTENT_TYPES = {".ts": "video/mp2t", ".mp4": "video/mp4", ".mkv": "video/x-matroska"}
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
CHUNK_BYTES = 64 * 1024
_SEGMENT_ID = re.compile(r"(\d{1,18})-(\d{1,9})(\.[a-z0-9]{1,5})?")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True, slots=True)
class PlaylistSegment:
    """What the playlist needs of one ``segments`` row."""

    session_id: int
    seq: int
    path: str
    state: str
    media_duration_s: float | None
    started_at_ms: int | None = None  # its wall-clock start: EXT-X-PROGRAM-DATE-TIME


class RangeNotSatisfiable(ValueError):
    """A well-formed ``Range`` that selects no byte of the file (answer 416)."""


def segment_id(session_id: int, seq: int) -> str:
    return f"{session_id}-{seq}"


def parse_segment_id(raw: str) -> tuple[int, int, str | None] | None:
    """``"12-3"`` or ``"12-3.ts"`` → ``(12, 3, ".ts")``; None for anything else."""
    m = _SEGMENT_ID.fullmatch(raw)
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2)), m.group(3)


def content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def program_date_time(ms: int) -> str:
    """``2026-12-02T03:24:24.123Z``: an ISO 8601 UTC time to the millisecond (RFC 8216 §4.3.2.6)."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _playable(seg: PlaylistSegment) -> bool:
    return seg.state == "closed" and bool(seg.media_duration_s and seg.media_duration_s > 0)


def render(segments: Sequence[PlaylistSegment], *, ended: bool) -> str:
    """The playlist text of a session's segments (any order, any state; closed ones are listed).

    ``#EXT-X-DISCONTINUITY`` precedes every segment but the first: the recorder cuts with
    ``-reset_timestamps 1`` (``record/argv.py``), so each file's timestamps start again, which
    RFC 8216 §4.3.2.3 says must be marked. Media gaps (an ffmpeg restart) and frame-size
    changes only ever happen at such a boundary, so they are marked with it.
    """
    playable = sorted((s for s in segments if _playable(s)), key=lambda s: s.seq)
    target = max((math.ceil(s.media_duration_s or 0) for s in playable), default=1)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}"]
    lines += ["#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-DISCONTINUITY-SEQUENCE:0"]
    lines.append("#EXT-X-PLAYLIST-TYPE:" + ("VOD" if ended else "EVENT"))
    for n, seg in enumerate(playable):
        if n:
            lines.append("#EXT-X-DISCONTINUITY")
        if seg.started_at_ms is not None:
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{program_date_time(seg.started_at_ms)}")
        ext = Path(seg.path).suffix.lower()
        lines.append(f"#EXTINF:{seg.media_duration_s:.3f},")
        lines.append(f"../../segments/{segment_id(seg.session_id, seg.seq)}{ext}")
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def confine(recordings_dir: Path, stored: str) -> Path | None:
    """The real path of a stored segment path when it is inside ``recordings_dir``, else None.

    A relative stored path is taken from ``recordings_dir``; symlinks are resolved first, so
    a link inside the directory that points out of it is refused like ``../x``.
    """
    root = Path(os.path.realpath(recordings_dir))
    real = Path(os.path.realpath(root / stored))
    if real == root or not real.is_relative_to(root):
        return None
    return real


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` inclusive for a single ``bytes=`` range; None = the whole file.

    ``a-b``, ``a-`` and ``-n`` (the last n bytes). A malformed header or several ranges are
    ignored (the whole file, as RFC 9110 allows); a range past the end raises
    ``RangeNotSatisfiable``.
    """
    if header is None:
        return None
    m = _RANGE.fullmatch(header.strip())
    if m is None or (not m.group(1) and not m.group(2)):
        return None
    if not m.group(1):
        n = int(m.group(2))
        if n == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - n), size - 1
    first = int(m.group(1))
    if m.group(2) and int(m.group(2)) < first:
        return None
    if first >= size:
        raise RangeNotSatisfiable(header)
    last = int(m.group(2)) if m.group(2) else size - 1
    return first, min(last, size - 1)


async def file_chunks(path: Path, first: int, last: int) -> AsyncIterator[bytes]:
    """Bytes ``first..last`` (inclusive) of ``path``, at most ``CHUNK_BYTES`` at a time."""
    async with await anyio.open_file(path, "rb") as f:
        await f.seek(first)
        left = last - first + 1
        while left > 0:
            data = await f.read(min(CHUNK_BYTES, left))
            if not data:
                return
            left -= len(data)
            yield data
