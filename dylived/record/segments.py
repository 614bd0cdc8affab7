"""Segment bookkeeping of one recording: what ffmpeg wrote, when, and what it holds.

Owns: reading the ``-segment_list`` CSV that ffmpeg appends to when it closes a segment, the
``.part`` → final rename, the per-segment row (seq, path, wall times, media duration, bytes,
quality, width × height, codec), the parsing of ffmpeg's stderr lines that matter here
("Opening '…' for writing", the input's "Stream #0:0: Video: h264 …, 1280x720", a refused URL
or protocol) anchored to ffmpeg's own log prefixes so stream metadata cannot forge them,
reading the media duration of an mpegts file from its PTS (there is no ffprobe), and finalising the
leftover ``.part`` files of a crashed session.

Pure parsing functions plus small synchronous file operations; no anyio, no subprocesses.
"""

from __future__ import annotations

import errno
import logging
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from dylived.record.mpegts import TsInfo, scan_file, split_at, sps_size


logger = logging.getLogger(__name__)

PART_SUFFIX = ".part"


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """The video stream ffmpeg reported for its input."""

    codec: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One line of the segment list CSV: a segment that ffmpeg has closed."""

    name: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class SegmentRecord:
    """One finished segment file (the row the store keeps and the manifest lists)."""

    seq: int
    path: Path
    started_at_ms: int
    ended_at_ms: int
    duration_s: float
    bytes: int
    quality: str
    width: int | None
    height: int | None
    codec: str | None
    complete: bool  # False: the file ends where ffmpeg was killed (playable up to there)


@dataclass(frozen=True, slots=True)
class SegmentOpened:
    """ffmpeg opened a segment file: the store keeps a ``writing`` row for it until it closes.

    ``seq`` is the seq its (first) SegmentRecord will have, so that record replaces the row; a
    daemon killed before then leaves the row for the start-up recovery (record/recovery.py).
    """

    seq: int
    path: Path  # the .part file
    started_at_ms: int
    quality: str


@dataclass(frozen=True, slots=True)
class SegmentAbandoned:
    """An announced segment that left no file (ffmpeg died before writing a packet)."""

    seq: int
    path: Path


@dataclass(frozen=True, slots=True)
class GapRecord:
    """A hole in the recording, between two wall times (ms), and why it happened."""

    from_ms: int
    to_ms: int
    cause: str  # restart | stall | url_refresh | crash | disk | stream_change

    @property
    def seconds(self) -> float:
        return max(0, self.to_ms - self.from_ms) / 1000


class RunObserver(Protocol):
    """Told at once (synchronously) what the segment rows say only later: the session's
    ``RecordingTimeline`` (dylived/watch/session.py) implements it."""

    def segment_started(self, seq: int, started_at_ms: int) -> None:
        """The wall start of the segment being written, once ffmpeg's progress anchors it."""

    def recording_paused(self) -> None:
        """The ffmpeg run ended: no segment is being written until the next one opens."""


# ---------------------------------------------------------------- stderr and CSV parsing

# ffmpeg's own log prefixes: "[segment @ 0x55…] " for a line of a component, then, with
# ``-loglevel level+…`` (record/argv.py), the level tag "[info] " (alone on a line of the CLI).
# Every pattern is anchored at the start of the line and after these prefixes: text a stream
# carries (a title in the metadata dump, even one holding newlines) is printed after an indent
# and "  <key>: ", so it can never pass for one of these lines.
_LEVEL = r"(?:\[(?:panic|fatal|error|warning|info|verbose|debug|trace)\] )?"


def _of(component: str) -> str:
    return rf"^\[{component} @ 0x[0-9a-fA-F]+\] {_LEVEL}"


_VIDEO_LINE = re.compile(
    rf"^{_LEVEL}  Stream #\d+:\d+\S*: Video: (\w+).*?, (\d{{2,5}})x(\d{{2,5}})\b"
)
_OPENING_LINE = re.compile(_of("segment") + r"Opening '(.+)' for writing$")
_REFUSED_LINE = re.compile(
    _of("(?:https?|tcp|tls)")
    + r"(?:HTTP error 40[134]\b|Connection to \S+ failed: Connection refused$)"
)
_BLOCKED_LINE = re.compile(_of(r"\w+") + r"Protocol '([^']*)' not on whitelist '[^']*'!$")
# a write error of ffmpeg's own: "[error] " (with or without a component) starts the line
_DISK_FULL_LINE = re.compile(
    r"^(?:\[[^\]@]+ @ 0x[0-9a-fA-F]+\] )?\[(?:error|fatal|panic)\] .*No space left on device"
)


def parse_video_line(line: str) -> VideoInfo | None:
    """The codec and size of a ``Stream #0:0: Video: h264 …, 1280x720`` line, else None."""
    match = _VIDEO_LINE.match(line)
    if match is None:
        return None
    codec = {"hevc": "h265"}.get(match.group(1), match.group(1))
    return VideoInfo(codec, int(match.group(2)), int(match.group(3)))


def parse_opening_line(line: str) -> str | None:
    """The file a ``[segment @ …] Opening 'X' for writing`` line names, else None."""
    match = _OPENING_LINE.match(line)
    return match.group(1) if match else None


def is_refused_line(line: str) -> bool:
    """True for stderr lines that mean the URL was refused (expired, forbidden, gone)."""
    return _REFUSED_LINE.match(line) is not None


def is_disk_full_line(line: str) -> bool:
    """True for ffmpeg's own error line of a write that met ENOSPC."""
    return _DISK_FULL_LINE.match(line) is not None


def parse_blocked_protocol(line: str) -> str | None:
    """The protocol of a ``[file @ …] Protocol 'file' not on whitelist '…'!`` line, else None.

    ffmpeg's ``-protocol_whitelist`` refused a URL the input named (an HLS segment or key, a
    redirect): the stream asked for something other than http(s).
    """
    match = _BLOCKED_LINE.match(line)
    return match.group(1) if match else None


def parse_list_line(line: str) -> ListEntry | None:
    """A ``name,start,end`` CSV line of the segment list; None for anything malformed.

    ffmpeg quotes a name containing a comma or a quote (CSV rules, segment.c).
    """
    line = line.rstrip("\r\n")
    if not line:
        return None
    name, sep, times = line.rpartition(",")
    name, sep2, start = name.rpartition(",")
    if not sep or not sep2:
        return None
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('""', '"')
    try:
        return ListEntry(name, float(start), float(times))
    except ValueError:
        return None


class SegmentListTail:
    """Reads the lines ffmpeg appends to a segment list CSV, each complete line once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._pending = b""

    def read_new(self) -> list[ListEntry]:
        """The entries appended since the last call (a missing file has none yet)."""
        try:
            with self.path.open("rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except FileNotFoundError:
            return []
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                # Out of file descriptors for now (a client flood): nothing is lost, the
                # lines are read on a later call.
                logger.debug("segment list %s not readable now: %s", self.path, exc)
                return []
            raise
        self._offset += len(chunk)
        data = self._pending + chunk
        *lines, self._pending = data.split(b"\n")
        entries = []
        for raw in lines:
            entry = parse_list_line(raw.decode("utf-8", "replace"))
            if entry is not None:
                entries.append(entry)
        return entries


# ---------------------------------------------------------------- files


def final_path(part: Path) -> Path:
    """Where a ``.part`` file goes when closed: the same name without ``.part``.

    When that name exists already (a restarted run reused a seq), a ``-N`` suffix is added
    before the extension rather than overwriting a finished segment.
    """
    target = part.with_name(part.name.removesuffix(PART_SUFFIX))
    n = 1
    while target.exists():
        stem, dot, ext = part.name.removesuffix(PART_SUFFIX).rpartition(".")
        target = part.with_name(f"{stem}-{n}.{ext}" if dot else f"{ext}-{n}")
        n += 1
    return target


def finalize_part(part: Path) -> Path:
    """Rename a closed ``.part`` segment to its final name; returns the final path."""
    if not part.name.endswith(PART_SUFFIX):
        return part
    target = final_path(part)
    os.replace(part, target)
    return target


def mpegts_duration(path: Path) -> float | None:
    """Media duration of an mpegts file from its video PTS (also of a file cut mid-packet)."""
    return scan_file(path).duration_s


def leftover_parts(root: Path) -> list[Path]:
    """Every ``.part`` file under ``root`` (the segments a crashed daemon left open)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob(f"*{PART_SUFFIX}") if p.is_file())


def recover_leftover_parts(root: Path) -> list[Path]:
    """Finalise the ``.part`` files of crashed sessions (playable mpegts up to the kill).

    Empty files (ffmpeg died before writing a packet) are removed instead. Returns the final
    paths of the recovered files.
    """
    return list(recover_parts(root).values())


def recover_parts(root: Path) -> dict[Path, Path]:
    """``recover_leftover_parts``, as a map from each ``.part`` path to its final path."""
    recovered: dict[Path, Path] = {}
    if root.is_dir():
        for stale_list in root.rglob(".*.csv"):  # segment lists of runs that never ended
            stale_list.unlink(missing_ok=True)
    for part in leftover_parts(root):
        if part.stat().st_size == 0:
            part.unlink()
            continue
        target = finalize_part(part)
        logger.warning("recovered the partial segment %s of a crashed session", target)
        recovered[part] = target
    return recovered


# ---------------------------------------------------------------- one ffmpeg run


@dataclass(frozen=True, slots=True)
class RunContext:
    """What is constant during one ffmpeg run."""

    directory: Path  # where the segment pattern's files appear (names in the CSV are relative)
    quality: str

    def is_ours(self, printed: str) -> bool:
        """Whether a file ffmpeg says it opened is one of this run's segments (a ``.part`` in
        ``directory``), not the segment list nor a name from anywhere else."""
        return printed.endswith(PART_SUFFIX) and Path(printed).parent == self.directory


class RunSegments:
    """Turns one ffmpeg run's stderr lines and segment-list entries into SegmentRecords.

    The wall time of media time 0 (``anchor_ms``) is the earliest of what ffmpeg's output
    proves: every ``-progress`` report (its wall clock minus its ``out_time``) and every closed
    segment (the wall clock when the CSV line is read minus its media end) give an upper bound,
    since media cannot be written before it arrived. The first report alone is not enough: a
    live input starts with a backlog (a CDN's GOP burst, an HLS playlist's last segments),
    and ffmpeg 5.1 prints its first report with an ``out_time`` of a few µs before muxing it,
    which put every segment of the run seconds in the future. Segment wall times are the
    anchor plus the CSV's media times, never before the end of the run's previous segment
    (a start learnt better later does not make two segments overlap): no record of a run
    ends after the moment it was made.

    An mpegts segment whose frame size changes at a keyframe (in-band, as FLV sources do) is
    split there into two files, so no file mixes two resolutions. Record ``seq`` numbers are
    this recording's own count (ffmpeg's file numbers stay in the names); a split-off piece is
    named ``<name>-1.ts``. ``on_closed``/``on_exit`` read whole files: call them off the event
    loop (``anyio.to_thread``).
    """

    def __init__(self, context: RunContext, first_seq: int) -> None:
        self.context = context
        self.next_seq = first_seq
        self.last_file_number = 0
        self.video: VideoInfo | None = None
        self.anchor_ms: int | None = None
        self.media_end_s = 0.0  # CSV end of the last closed segment
        self.last_end_ms: int | None = None  # wall end of the run's last record
        self.open_name: str | None = None
        self.records: list[SegmentRecord] = []

    def on_stderr_line(self, line: str) -> None:
        if self.video is None:
            self.video = parse_video_line(line)
        opened = parse_opening_line(line)
        if opened is not None and self.context.is_ours(opened):
            self.open_name = Path(opened).name  # the CSV lists base names

    def open_started_at_ms(self, now_ms: int) -> int:
        """The wall start of the segment ffmpeg has open: the anchor plus the media end of the
        last closed one (the ``started_at_ms`` its record will have); ``now_ms`` while the
        anchor is unknown."""
        if self.anchor_ms is None:
            return now_ms if self.last_end_ms is None else self.last_end_ms
        start = self.anchor_ms + round(self.media_end_s * 1000)
        return start if self.last_end_ms is None else max(start, self.last_end_ms)

    def _bound_anchor(self, now_ms: int, media_s: float) -> None:
        """``media_s`` of media had been written by wall ``now_ms``: media time 0 was at
        ``now_ms - media_s`` at the latest."""
        bound = now_ms - round(media_s * 1000)
        self.anchor_ms = bound if self.anchor_ms is None else min(self.anchor_ms, bound)

    def on_progress(self, now_ms: int, out_time_us: int) -> None:
        if out_time_us > 0:
            self._bound_anchor(now_ms, out_time_us / 1e6)

    def _note_file_number(self, name: str) -> None:
        digits = re.findall(r"(\d+)", name.removesuffix(PART_SUFFIX))
        if digits:
            self.last_file_number = max(self.last_file_number, int(digits[-1]))

    def _records(
        self, final: Path, start_s: float, duration_s: float, now_ms: int, complete: bool
    ) -> list[SegmentRecord]:
        self._bound_anchor(now_ms, start_s + duration_s)
        anchor = self.anchor_ms if self.anchor_ms is not None else now_ms
        started = anchor + round(start_s * 1000)
        info = scan_file(final) if final.suffix == ".ts" else None
        pieces = self._split(final, info, duration_s) if info is not None else []
        if not pieces:
            pieces = [
                (final, 0.0, duration_s, info.keyframes[0].sps if info and info.keyframes else None)
            ]
        out = []
        for path, offset_s, piece_s, sps in pieces:
            size = sps_size(sps) if sps is not None else None
            video = self.video
            width, height = (
                size if size else ((video.width, video.height) if video else (None, None))
            )
            begin = started + round(offset_s * 1000)
            end = begin + round(piece_s * 1000)
            if self.last_end_ms is not None:
                begin = max(begin, self.last_end_ms)
            end = max(begin, end)
            self.last_end_ms = end
            record = SegmentRecord(
                seq=self.next_seq,
                path=path,
                started_at_ms=begin,
                ended_at_ms=end,
                duration_s=round(piece_s, 3),
                bytes=path.stat().st_size,
                quality=self.context.quality,
                width=width,
                height=height,
                codec=video.codec if video else ("h264" if sps else None),
                complete=complete,
            )
            self.next_seq += 1
            self.records.append(record)
            out.append(record)
        return out

    @staticmethod
    def _split(
        final: Path, info: TsInfo, duration_s: float
    ) -> list[tuple[Path, float, float, bytes | None]]:
        """Cut ``final`` where the frame size changes; (path, offset s, duration s, sps)."""
        changes = info.changes()
        if not changes or info.first_pts is None:
            return []
        stem, _, ext = final.name.rpartition(".")
        names = [final.with_name(f"{stem}-{i}.{ext}") for i in range(1, len(changes) + 1)]
        split_at(final, [c.offset for c in changes], info.header_end, names)
        starts = [0.0] + [((c.pts or info.first_pts) - info.first_pts) / 90_000 for c in changes]
        ends = [*starts[1:], duration_s]
        first_sps = info.keyframes[0].sps if info.keyframes else None
        spss = [first_sps, *(c.sps for c in changes)]
        paths = [final, *names]
        logger.info("segment %s changes frame size: split into %d files", final, len(paths))
        return [
            (p, a, max(0.0, b - a), sps)
            for p, a, b, sps in zip(paths, starts, ends, spss, strict=True)
        ]

    def on_closed(self, entry: ListEntry, now_ms: int) -> list[SegmentRecord]:
        """Rename the segment the CSV says is closed; its records (split if it must be)."""
        part = self.context.directory / entry.name
        self._note_file_number(entry.name)
        if not part.exists():
            logger.warning("segment %s listed as closed but missing", part)
            return []
        final = finalize_part(part)
        self.media_end_s = entry.end_s
        return self._records(final, entry.start_s, entry.end_s - entry.start_s, now_ms, True)

    def on_exit(self, now_ms: int, last_media_s: float | None = None) -> list[SegmentRecord]:
        """After ffmpeg is reaped: finalise a segment it left open (killed mid-segment).

        The duration is read from the file's PTS (mpegts); for other containers it is the
        last ``-progress`` media time (``last_media_s``) minus the previous segment's end.
        """
        name, self.open_name = self.open_name, None
        if name is None:
            return []
        part = self.context.directory / name
        if not part.exists():  # closed and renamed already
            return []
        self._note_file_number(name)
        if part.stat().st_size == 0 or not self._holds_video(part):
            logger.info("removed %s: ffmpeg was stopped before it wrote a video frame", name)
            part.unlink()
            return []
        final = finalize_part(part)
        duration = scan_file(final).duration_s if final.suffix == ".ts" else None
        if duration is None:
            duration = max(0.0, (last_media_s or 0.0) - self.media_end_s)
        return self._records(final, self.media_end_s, duration, now_ms, False)

    def _holds_video(self, part: Path) -> bool:
        """Whether a killed mpegts part has a video frame to play (other containers: assumed).

        A run stopped seconds after it opened its first segment (a stall right after a
        reconnect) can leave a file with the PAT/PMT and a little audio but no picture: not a
        segment anyone can watch, so it is removed rather than recorded.
        """
        if not part.name.removesuffix(PART_SUFFIX).endswith(".ts"):
            return True
        info = scan_file(part)
        return info.frames > 0 or (self.video is None and info.header_end > 0)


def with_path(record: SegmentRecord, path: Path) -> SegmentRecord:
    """The same record pointing at another file (after a remux or a move)."""
    return replace(record, path=path)
