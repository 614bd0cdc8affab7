"""The ffmpeg command line of one recording run: pure, no I/O, never a shell.

Owns which options dylived passes to ffmpeg and in which order: global options, the input
options before ``-i`` (``-rw_timeout`` in µs so a stalled input ends instead of hanging,
``-user_agent``, ``-referer``, and ``-headers`` carrying the cookie; the HLS demuxer hands
the same options to every playlist and segment request), ``-map 0:v? -map 0:a?`` (video and
audio, never data or subtitle streams a segment container could refuse), ``-c copy``, and the
segment muxer: ``-segment_time`` from ``segment_minutes``, ``-reset_timestamps 1``, mpegts by
default (matroska, or fragmented MP4 with ``movflags=+frag_keyframe+empty_moov+
default_base_moof`` so a killed ffmpeg still leaves a playable file), ``flush_packets=1`` for
the inner muxer (every packet written through, so a killed ffmpeg loses nothing it had),
``-segment_start_number``
and ``-segment_list`` as CSV so the supervisor learns the moment each segment closes, and
``-progress pipe:1 -nostats`` for liveness. Output names end in ``.part`` until the
supervisor renames them. ``-nostdin`` is never used: the stop ladder writes ``q`` to stdin.

Every option used exists in ffmpeg 5.1 (Debian bookworm) and 9.0 (ecosystem.md §7); the tests
check them against the installed ffmpeg's ``-h`` output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Literal

from dylived.record.policy import FfmpegJob


Container = Literal["ts", "mkv", "mp4"]
PART_SUFFIX = ".part"

SEGMENT_FORMATS: Mapping[Container, str] = {"ts": "mpegts", "mkv": "matroska", "mp4": "mp4"}
# Fragmented MP4: each keyframe starts a fragment, so a SIGKILL loses at most one fragment
# (a plain MP4 without its moov atom does not play at all: ecosystem.md §7.3).
FRAGMENTED_MP4 = "movflags=+frag_keyframe+empty_moov+default_base_moof"
# The segment's inner muxer writes every packet through to the file. Without it the muxer keeps
# a buffer of a few hundred kB, and a low-bitrate stream's open segment stays 0 bytes on disk for
# seconds: a SIGKILL (OOM killer, power loss) would lose it all. (Verified with ffmpeg 9.0.2
# against the simulator's 290 kbit/s stream.)
FLUSH_PER_PACKET = "flush_packets=1"


@dataclass(frozen=True, slots=True)
class RecordCommand:
    """One ffmpeg run: where to read, where and how to write segments."""

    url: str
    output_dir: Path
    stem: str  # file name stem; ffmpeg appends _<seq>.<ext>.part
    segment_list: Path
    segment_seconds: float
    container: Container = "ts"
    start_number: int = 0
    rw_timeout_s: float = 10.0
    user_agent: str | None = None
    referer: str | None = None
    cookies: str | None = None  # a secret: only ever in argv, never logged by us
    headers: Mapping[str, str] = field(default_factory=dict)
    loglevel: str = "warning"


def _check_header_text(text: str, what: str) -> str:
    # A CR or LF would let a value inject further request headers.
    if "\r" in text or "\n" in text or "\0" in text:
        raise ValueError(f"{what} must not contain CR, LF or NUL")
    return text


def output_pattern(output_dir: Path, stem: str, container: Container = "ts") -> Path:
    """The segment muxer's output pattern, ``<dir>/<stem>_%04d.<ext>.part``.

    A ``%`` in the stem is doubled: the muxer formats the pattern with the segment number.
    """
    if "/" in stem or not stem:
        raise ValueError(f"a file stem must be one non-empty component: {stem!r}")
    safe_stem = stem.replace("%", "%%")
    return output_dir / f"{safe_stem}_%04d.{container}{PART_SUFFIX}"


def part_name(stem: str, seq: int, container: Container = "ts") -> str:
    """The file name ffmpeg writes for segment ``seq`` (what the pattern expands to)."""
    return f"{stem}_{seq:04d}.{container}{PART_SUFFIX}"


def header_block(headers: Mapping[str, str]) -> str:
    """``Name: value\\r\\n`` lines, as ffmpeg's ``-headers`` wants them (trailing CRLF)."""
    lines = []
    for name, value in headers.items():
        _check_header_text(name, "a header name")
        if ":" in name or not name.strip():
            raise ValueError(f"invalid header name {name!r}")
        lines.append(f"{name}: {_check_header_text(value, f'header {name}')}\r\n")
    return "".join(lines)


def build_record_argv(ffmpeg: str, command: RecordCommand) -> list[str]:
    """The argv (no shell) that records ``command.url`` into rotating segments."""
    if command.segment_seconds <= 0:
        raise ValueError("segment_seconds must be positive")
    if command.rw_timeout_s <= 0:
        raise ValueError("rw_timeout_s must be positive: without it a stall hangs forever")
    argv = [ffmpeg, "-hide_banner", "-loglevel", command.loglevel, "-nostats", "-y"]
    argv += ["-progress", "pipe:1"]
    # input options: before -i, they apply to the input
    argv += ["-rw_timeout", str(round(command.rw_timeout_s * 1_000_000))]
    if command.user_agent:
        argv += ["-user_agent", _check_header_text(command.user_agent, "user_agent")]
    if command.referer:
        argv += ["-referer", _check_header_text(command.referer, "referer")]
    extra = dict(command.headers)
    if command.cookies:
        extra["Cookie"] = command.cookies
    if extra:
        argv += ["-headers", header_block(extra)]
    argv += ["-i", command.url]
    # output: copy video and audio into the segment muxer
    argv += ["-map", "0:v?", "-map", "0:a?", "-c", "copy"]
    argv += ["-f", "segment", "-segment_time", f"{command.segment_seconds:g}"]
    argv += ["-reset_timestamps", "1"]
    argv += ["-segment_format", SEGMENT_FORMATS[command.container]]
    inner_options = [FRAGMENTED_MP4] if command.container == "mp4" else []
    argv += ["-segment_format_options", ":".join([*inner_options, FLUSH_PER_PACKET])]
    argv += ["-segment_start_number", str(command.start_number)]
    argv += ["-segment_list", str(command.segment_list), "-segment_list_type", "csv"]
    argv.append(str(output_pattern(command.output_dir, command.stem, command.container)))
    return argv


def container_of(pattern: PurePath) -> Container:
    """The container an output pattern names (``…_%04d.mkv.part`` → ``mkv``); ts by default."""
    name = pattern.name.removesuffix(PART_SUFFIX)
    extension = name.rpartition(".")[2].lower()
    if extension in ("mkv", "mp4"):
        return "mkv" if extension == "mkv" else "mp4"
    return "ts"


def command_from_job(job: FfmpegJob, *, loglevel: str = "warning") -> RecordCommand:
    """The supervisor's FfmpegJob (record/policy.py) as a RecordCommand.

    The job's headers map onto ``-user_agent``, ``-referer`` and ``-headers`` (Cookie and the
    rest); the container follows the output pattern's extension.
    """
    pattern = job.output_pattern
    suffix = f"_%04d.{container_of(pattern)}{PART_SUFFIX}"
    if not pattern.name.endswith(suffix):
        raise ValueError(f"output pattern must end in {suffix!r}: {pattern}")
    user_agent = referer = None
    others: dict[str, str] = {}
    for name, value in job.headers:
        lowered = name.lower()
        if lowered == "user-agent":
            user_agent = value
        elif lowered == "referer":
            referer = value
        else:
            others[name] = value
    return RecordCommand(
        url=job.url,
        output_dir=pattern.parent,
        stem=pattern.name.removesuffix(suffix).replace("%%", "%"),
        segment_list=job.segment_list,
        segment_seconds=job.segment_seconds,
        container=container_of(pattern),
        start_number=job.start_number,
        rw_timeout_s=job.rw_timeout_s,
        user_agent=user_agent,
        referer=referer,
        headers=others,
        loglevel=loglevel,
    )


def argv_for_job(ffmpeg: str, job: FfmpegJob) -> list[str]:
    """An ``ArgvBuilder`` for the supervisor: ``build_record_argv`` of the job.

    ``loglevel`` is ``info``: the supervisor reads the stream description (resolution,
    codec) from ffmpeg's stderr, which ``warning`` would hide.
    """
    return build_record_argv(ffmpeg, command_from_job(job, loglevel="info"))
