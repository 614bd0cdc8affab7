"""The ffmpeg command line of one recording run: pure, no I/O, never a shell.

Owns which options dylived passes to ffmpeg and in which order: global options
(``-loglevel level+…``: every line ffmpeg logs starts with its level tag, which the stderr
parsers anchor on), the input options before ``-i`` (``-protocol_whitelist`` so neither the
stream URL nor an HLS playlist, a redirect or a key URI can make ffmpeg open anything but
http(s); ``-rw_timeout`` in µs so a stalled input ends instead of hanging; ``-user_agent`` and
``-referer``, which the HLS demuxer hands to every playlist and segment request), ``-map 0:v?
-map 0:a?`` (video and audio, never data or subtitle streams a segment container could refuse),
``-c copy``, and the segment muxer: ``-segment_time`` from ``segment_minutes``,
``-reset_timestamps 1``, mpegts by default (matroska, or fragmented MP4 with
``movflags=+frag_keyframe+empty_moov+default_base_moof`` so a killed ffmpeg still leaves a
playable file), ``flush_packets=1`` for the inner muxer (every packet written through, so a
killed ffmpeg loses nothing it had), ``-segment_start_number`` and ``-segment_list`` as CSV so
the supervisor learns the moment each segment closes, and ``-progress pipe:1 -nostats`` for
liveness. Output names end in ``.part`` until the supervisor renames them, and every ``%`` of
the output path is doubled (the muxer formats the whole path with the segment number).
``-nostdin`` is never used: the stop ladder writes ``q`` to stdin.

Nothing secret goes into the argv (every local user can read ``/proc/PID/cmdline``, and ffmpeg
sends its headers to whatever host a redirect or a playlist names): no login cookie, no
``Authorization``; the pull URLs are signed and need none. A proxy (``http://`` only, which is
all ffmpeg speaks to a proxy; net/proxy.py) is therefore given as the ``http_proxy`` variable of
ffmpeg's environment (:func:`ffmpeg_environment`; readable by the daemon's user only), which
ffmpeg reads exactly as its ``-http_proxy`` option (absolute URIs for http inputs, CONNECT through
its ``httpproxy`` protocol for https ones, which the whitelist then allows); ``no_proxy`` is
removed so it applies to every host, and without a configured proxy ``http_proxy`` is removed
too: the daemon's proxies are its config's, never its environment's. Only ``http://`` and ``https://``
stream URLs are accepted (:func:`stream_url_problem`).

Every option used exists in ffmpeg 5.1 (Debian bookworm) and 9.0 (ecosystem.md §7); the tests
check them against the installed ffmpeg's ``-h`` output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Literal

from dylived.net.proxy import ProxyUrl
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
# What HTTP-FLV and HLS over http(s) need, and nothing else: http and https (https is http over
# tls over tcp), and crypto for AES-128 HLS segments (``crypto+https://…``). Checked with
# ffmpeg 5.1 and 9.0: without tls an https input fails, without crypto an encrypted playlist
# does; file, concat, subfile, data, udp, rtp… are refused ("Protocol 'file' not on whitelist").
PROTOCOL_WHITELIST = "http,https,tcp,tls,crypto"
# With a proxy, https goes tls → httpproxy (a CONNECT tunnel) → tcp (ffmpeg 5.1 and 9.0 alike).
PROXIED_WHITELIST = PROTOCOL_WHITELIST + ",httpproxy"
_PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY")
STREAM_URL_PREFIXES = ("http://", "https://")
# Headers that carry credentials: never given to ffmpeg (see the module docstring).
SECRET_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization"})


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
    headers: Mapping[str, str] = field(default_factory=dict)  # never a secret (SECRET_HEADERS)
    loglevel: str = "warning"
    proxied: bool = False  # an http_proxy is in ffmpeg's environment (ffmpeg_environment)


def _check_header_text(text: str, what: str) -> str:
    # A CR or LF would let a value inject further request headers.
    if "\r" in text or "\n" in text or "\0" in text:
        raise ValueError(f"{what} must not contain CR, LF or NUL")
    return text


def stream_url_problem(url: str) -> str | None:
    """Why ffmpeg must not be given ``url`` as its input (None: an http(s) URL it may open).

    Only ``http://`` and ``https://`` (lower case, as ffmpeg matches protocol names) with a
    host; no whitespace or control character (ffmpeg would print it raw into its log).
    """
    if not url.startswith(STREAM_URL_PREFIXES):
        return "only http:// and https:// URLs are recorded"
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        return "it contains whitespace or a control character"
    if not url.partition("//")[2].partition("/")[0].strip("@:"):
        return "it names no host"
    return None


def shown_url(url: str, limit: int = 120) -> str:
    """A URL for a log line: quoted, and cut after ``limit`` characters."""
    return repr(url if len(url) <= limit else url[:limit] + "…")


def _escape_percent(text: str) -> str:
    return text.replace("%", "%%")


def output_pattern(output_dir: Path, stem: str, container: Container = "ts") -> Path:
    """The segment muxer's output pattern, ``<dir>/<stem>_%04d.<ext>.part``.

    Every ``%`` of the directory and the stem is doubled: the muxer formats the whole path with
    the segment number, so a folder named ``100%`` would otherwise make it refuse the pattern.
    """
    if "/" in stem or not stem:
        raise ValueError(f"a file stem must be one non-empty component: {stem!r}")
    pattern = f"{_escape_percent(stem)}_%04d.{container}{PART_SUFFIX}"
    return Path(_escape_percent(str(output_dir))) / pattern


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
        if name.strip().lower() in SECRET_HEADERS:
            raise ValueError(f"{name} is a credential: it is never passed to ffmpeg")
        lines.append(f"{name}: {_check_header_text(value, f'header {name}')}\r\n")
    return "".join(lines)


def build_record_argv(ffmpeg: str, command: RecordCommand) -> list[str]:
    """The argv (no shell) that records ``command.url`` into rotating segments."""
    if command.segment_seconds <= 0:
        raise ValueError("segment_seconds must be positive")
    if command.rw_timeout_s <= 0:
        raise ValueError("rw_timeout_s must be positive: without it a stall hangs forever")
    problem = stream_url_problem(command.url)
    if problem is not None:
        raise ValueError(f"refusing the stream URL {shown_url(command.url)}: {problem}")
    argv = [ffmpeg, "-hide_banner", "-loglevel", f"level+{command.loglevel}", "-nostats", "-y"]
    argv += ["-progress", "pipe:1"]
    # input options: before -i, they apply to the input (and every URL it opens in turn)
    argv += ["-protocol_whitelist", PROXIED_WHITELIST if command.proxied else PROTOCOL_WHITELIST]
    argv += ["-rw_timeout", str(round(command.rw_timeout_s * 1_000_000))]
    if command.user_agent:
        argv += ["-user_agent", _check_header_text(command.user_agent, "user_agent")]
    if command.referer:
        argv += ["-referer", _check_header_text(command.referer, "referer")]
    if command.headers:
        argv += ["-headers", header_block(command.headers)]
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

    The job's headers map onto ``-user_agent``, ``-referer`` and ``-headers`` (the rest, less
    any credential such as Cookie, which is dropped); the container follows the output pattern's
    extension, whose ``%%`` are undone into the directory and stem.
    """
    pattern = job.output_pattern
    suffix = f"_%04d.{container_of(pattern)}{PART_SUFFIX}"
    if not pattern.name.endswith(suffix):
        raise ValueError(f"output pattern must end in {suffix!r}: {pattern}")
    user_agent = referer = None
    others: dict[str, str] = {}
    for name, value in job.headers:
        lowered = name.strip().lower()
        if lowered == "user-agent":
            user_agent = value
        elif lowered == "referer":
            referer = value
        elif lowered not in SECRET_HEADERS:  # a credential is dropped, never handed on
            others[name] = value
    return RecordCommand(
        url=job.url,
        output_dir=Path(str(pattern.parent).replace("%%", "%")),
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
        proxied=job.http_proxy is not None,
    )


def ffmpeg_environment(base: Mapping[str, str], proxy: ProxyUrl | None) -> dict[str, str]:
    """ffmpeg's environment: ``base`` without proxy variables, plus ``http_proxy`` when given.

    Raises:
        ValueError: ``proxy`` is not an ``http://`` proxy (ffmpeg could not use it).
    """
    env = {name: value for name, value in base.items() if name not in _PROXY_VARIABLES}
    if proxy is not None:
        if problem := proxy.ffmpeg_problem():
            raise ValueError(problem)
        env["http_proxy"] = proxy.reveal()
    return env


def argv_for_job(ffmpeg: str, job: FfmpegJob) -> list[str]:
    """An ``ArgvBuilder`` for the supervisor: ``build_record_argv`` of the job.

    ``loglevel`` is ``level+info``: the supervisor reads the stream description (resolution,
    codec) and the segments opened from ffmpeg's stderr, which ``warning`` would hide.
    """
    return build_record_argv(ffmpeg, command_from_job(job, loglevel="info"))
